//! JUnit XML for acceptance checks, in the shape common CI parsers read (GitHub test reporters,
//! GitLab, Jenkins): a `<testsuites>` root holding one `<testsuite>`, one `<testcase>` per check with
//! its `time`, `<failure>` (message attribute, reason code as type and body) or `<skipped>`, and the
//! captured output excerpt in `<system-out>`.
//!
//! Everything is escaped. Characters XML 1.0 forbids (most C0 controls, lone surrogates cannot occur
//! in Rust strings, U+FFFE/U+FFFF) are replaced with U+FFFD and the document says so in a
//! `<property name="wrkr.replaced_invalid_xml_chars">` so nothing is silently altered.

use std::fmt::Write;

/// The result of one check, as the report needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
    pub seconds: f64,
    /// An excerpt of what the check printed (bounded by the caller).
    pub output: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    Failed { message: String, reason_code: String },
    Skipped { message: String },
}

/// Render the suite. `suite` names it (`wrkr-accept`), `classname` each case (`wrkr.accept`).
pub fn render(suite: &str, classname: &str, cases: &[Case]) -> String {
    let mut replaced = 0usize;
    let mut esc = |s: &str| escape(s, &mut replaced);
    let failures = cases.iter().filter(|c| matches!(c.outcome, Outcome::Failed { .. })).count();
    let skipped = cases.iter().filter(|c| matches!(c.outcome, Outcome::Skipped { .. })).count();
    let total: f64 = cases.iter().map(|c| c.seconds).sum();
    let mut body = String::new();
    for case in cases {
        let _ = writeln!(
            body,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
            esc(classname),
            esc(&case.name),
            case.seconds
        );
        match &case.outcome {
            Outcome::Passed => {}
            Outcome::Failed { message, reason_code } => {
                let _ = writeln!(
                    body,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    esc(message),
                    esc(reason_code),
                    esc(reason_code)
                );
            }
            Outcome::Skipped { message } => {
                let _ = writeln!(body, "      <skipped message=\"{}\"></skipped>", esc(message));
            }
        }
        if !case.output.is_empty() {
            let _ = writeln!(body, "      <system-out>{}</system-out>", esc(&case.output));
        }
        body.push_str("    </testcase>\n");
    }
    let counts = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\"",
        cases.len()
    );
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let suite = escape(suite, &mut replaced);
    let _ = writeln!(out, "<testsuites name=\"{suite}\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"{suite}\" {counts}>");
    if replaced > 0 {
        let _ = writeln!(
            out,
            "    <properties>\n      <property name=\"wrkr.replaced_invalid_xml_chars\" value=\"{replaced}\"></property>\n    </properties>"
        );
    }
    out.push_str(&body);
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escape for both text and attribute values; replace characters XML 1.0 does not allow.
fn escape(s: &str, replaced: &mut usize) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept as character references so attribute-value normalisation does not turn them into spaces.
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if allowed_in_xml(c) => out.push(c),
            _ => {
                *replaced += 1;
                out.push('\u{fffd}');
            }
        }
    }
    out
}

/// XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_counts() {
        let cases = vec![
            Case { name: "schema_validity".into(), outcome: Outcome::Passed, seconds: 0.0015, output: String::new() },
            Case {
                name: "test_command".into(),
                outcome: Outcome::Failed {
                    message: "command failed (exit=1): <boom> & \"x\"".into(),
                    reason_code: "E_ACCEPT_TEST_FAIL".into(),
                },
                seconds: 1.25,
                output: "line1\nline2\u{1b}[31m".into(),
            },
            Case {
                name: "lint_command".into(),
                outcome: Outcome::Skipped { message: "not configured".into() },
                seconds: 0.0,
                output: String::new(),
            },
        ];
        let xml = render("wrkr-accept", "wrkr.accept", &cases);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"wrkr-accept\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"1.252\">"));
        assert!(xml.contains("<failure message=\"command failed (exit=1): &lt;boom&gt; &amp; &quot;x&quot;\" type=\"E_ACCEPT_TEST_FAIL\">E_ACCEPT_TEST_FAIL</failure>"));
        assert!(xml.contains("<system-out>line1&#10;line2\u{fffd}[31m</system-out>"));
        assert!(xml.contains("<property name=\"wrkr.replaced_invalid_xml_chars\" value=\"1\">"));
        assert!(xml.contains("<skipped message=\"not configured\"></skipped>"));
        assert!(xml.ends_with("  </testsuite>\n</testsuites>\n"));
    }
}
