//! The GitHub step summary of a jobpack: `wrkr.github_summary` JSON and its markdown.
//!
//! Built only from what the pack holds, so the same pack always gives the same bytes (the
//! `created_at` is the pack's, never the clock). Where the Go implementation misled, this says what
//! is true: acceptance that never ran is "not run", not "passed (0/0)"; checks are listed with their
//! real outcome, skipped included; artifacts carry their content hashes; decisions say who approved
//! what and why; budgets show use against limits. The markdown stays under GitHub's 1 MiB step-summary
//! limit: past it, it is cut at a line boundary with a note.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::contract::{PRODUCER_VERSION, SCHEMA_VERSION};

/// GitHub rejects step summaries over 1 MiB; keep a margin for the truncation note.
pub const MAX_MARKDOWN_BYTES: usize = 1024 * 1024 - 1024;
/// Artifacts and failures listed before "and K more".
pub const TOP_N: usize = 10;

/// One acceptance check as the last `accept run` recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRow {
    pub name: String,
    /// `passed`, `failed` or `skipped`.
    pub status: String,
    pub message: String,
}

/// A budget line: name, used, limit (0 = none).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetRow {
    pub name: &'static str,
    pub used: String,
    pub limit: String,
}

/// What the summary is made from: the records of one jobpack.
#[derive(Clone, Debug, Default)]
pub struct PackView {
    pub created_at: Option<String>,
    pub job: Value,
    pub checkpoints: Vec<Value>,
    pub approvals: Vec<Value>,
    pub accept: Option<Value>,
    pub checks: Vec<CheckRow>,
    /// (path, sha256) from artifacts_manifest.json.
    pub artifacts: Vec<(String, String)>,
    pub budgets: Vec<BudgetRow>,
}

pub fn summary(view: &PackView) -> Value {
    let job_id = view.job.get("job_id").and_then(Value::as_str).unwrap_or_default();
    let status = view.job.get("status").and_then(Value::as_str).unwrap_or_default();
    let (run, passed, failed) = acceptance(view);
    let [added, changed, removed] = delta_counts(&view.checkpoints);
    let created_at = view
        .created_at
        .clone()
        .or_else(|| view.job.get("created_at").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    json!({
        "schema_id": "wrkr.github_summary",
        "schema_version": SCHEMA_VERSION,
        "created_at": created_at,
        "producer_version": PRODUCER_VERSION,
        "job_id": job_id,
        "status": status,
        "acceptance": {"checks_run": run, "checks_passed": passed, "failed": failed},
        "artifact_delta": {"added": added, "changed": changed, "removed": removed},
        "markdown": markdown(view),
    })
}

fn acceptance(view: &PackView) -> (u64, u64, bool) {
    match &view.accept {
        Some(a) => {
            let n = |k: &str| a.get(k).and_then(Value::as_u64).unwrap_or(0);
            let failed = a.get("failures").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
            (n("checks_run"), n("checks_passed"), failed)
        }
        None => (0, 0, false),
    }
}

/// Unique non-blank paths added, changed and removed across all checkpoints.
fn delta_counts(checkpoints: &[Value]) -> [usize; 3] {
    ["added", "changed", "removed"].map(|k| {
        let set: BTreeSet<&str> = checkpoints
            .iter()
            .filter_map(|c| c.pointer(&format!("/artifacts_delta/{k}")).and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        set.len()
    })
}

/// The latest checkpoint: greatest `created_at`, ties broken by the larger `cp_<n>`.
fn final_checkpoint(checkpoints: &[Value]) -> Option<&Value> {
    let ordinal = |c: &Value| {
        c.get("checkpoint_id")
            .and_then(Value::as_str)
            .and_then(|id| id.strip_prefix("cp_"))
            .and_then(|n| n.parse::<u64>().ok())
    };
    let at = |c: &Value| c.get("created_at").and_then(Value::as_str).and_then(crate::contract::time::Timestamp::parse);
    checkpoints.iter().max_by_key(|c| (at(c), ordinal(c)))
}

/// Text safe inside a markdown table cell or code span: one line, no pipes or backticks.
fn cell(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = one_line.chars().take(200).collect();
    let more = if one_line.chars().count() > 200 { "…" } else { "" };
    format!("{}{more}", cut.replace('|', "\\|").replace('`', "'"))
}

pub fn markdown(view: &PackView) -> String {
    let job_id = view.job.get("job_id").and_then(Value::as_str).unwrap_or_default();
    let status = view.job.get("status").and_then(Value::as_str).unwrap_or_default();
    let (run, passed, failed) = acceptance(view);
    let [added, changed, removed] = delta_counts(&view.checkpoints);
    let mut md = String::from("# Wrkr GitHub Summary\n\n");
    let _ = writeln!(md, "- Job: `{}`", cell(job_id));
    let _ = writeln!(md, "- Status: `{}`", cell(status));
    match &view.accept {
        None => md.push_str("- Acceptance: `not run`\n"),
        Some(_) => {
            let verdict = if failed { "failed" } else { "passed" };
            let _ = writeln!(md, "- Acceptance: `{verdict}` ({passed}/{run} checks)");
        }
    }
    let _ = writeln!(md, "- Artifact Delta: added={added} changed={changed} removed={removed}");
    md.push_str("\n## Final Checkpoint\n\n");
    match final_checkpoint(&view.checkpoints) {
        Some(cp) => {
            let _ = writeln!(md, "{}", cell(cp.get("summary").and_then(Value::as_str).unwrap_or_default()));
        }
        None => md.push_str("(none)\n"),
    }
    if !view.checks.is_empty() {
        md.push_str("\n## Acceptance Checks\n\n| Check | Result | Detail |\n|---|---|---|\n");
        for c in &view.checks {
            let icon = match c.status.as_str() {
                "passed" => "✅",
                "failed" => "❌",
                _ => "⏭️",
            };
            let _ = writeln!(md, "| `{}` | {icon} {} | {} |", cell(&c.name), cell(&c.status), cell(&c.message));
        }
    }
    md.push_str("\n## Top Failures\n\n");
    let failures: Vec<&Value> = view
        .accept
        .as_ref()
        .and_then(|a| a.get("failures"))
        .and_then(Value::as_array)
        .map(|f| f.iter().collect())
        .unwrap_or_default();
    if failures.is_empty() {
        md.push_str("- None\n");
    }
    for f in failures.iter().take(TOP_N) {
        let text = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
        let _ = write!(md, "- `{}`: {}", cell(text("check")), cell(text("message")));
        if !text("artifact").is_empty() {
            let _ = write!(md, " (`{}`)", cell(text("artifact")));
        }
        md.push('\n');
    }
    if failures.len() > TOP_N {
        let _ = writeln!(md, "- and {} more", failures.len() - TOP_N);
    }
    md.push_str("\n## Artifacts\n\n");
    if view.artifacts.is_empty() {
        md.push_str("- None\n");
    } else {
        md.push_str("| Path | sha256 |\n|---|---|\n");
        for (path, sha) in view.artifacts.iter().take(TOP_N) {
            let _ = writeln!(md, "| `{}` | `{}` |", cell(path), cell(&sha.chars().take(16).collect::<String>()));
        }
        if view.artifacts.len() > TOP_N {
            let _ = writeln!(md, "\nand {} more", view.artifacts.len() - TOP_N);
        }
    }
    md.push_str("\n## Decisions\n\n");
    let decisions: Vec<&Value> =
        view.checkpoints.iter().filter(|c| c.get("type").and_then(Value::as_str) == Some("decision-needed")).collect();
    if decisions.is_empty() {
        md.push_str("- None\n");
    }
    for cp in decisions {
        let id = cp.get("checkpoint_id").and_then(Value::as_str).unwrap_or_default();
        let summary = cp.get("summary").and_then(Value::as_str).unwrap_or_default();
        let approvals: Vec<&Value> =
            view.approvals.iter().filter(|a| a.get("checkpoint_id").and_then(Value::as_str) == Some(id)).collect();
        if approvals.is_empty() {
            let _ = writeln!(md, "- `{}` {}: awaiting approval", cell(id), cell(summary));
        }
        for a in approvals {
            let text = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default();
            let _ = writeln!(
                md,
                "- `{}` {}: approved by `{}` at {}: {}",
                cell(id),
                cell(summary),
                cell(text("approved_by")),
                cell(text("created_at")),
                cell(text("reason"))
            );
        }
    }
    if !view.budgets.is_empty() {
        md.push_str("\n## Budgets\n\n| Budget | Used | Limit |\n|---|---|---|\n");
        for b in &view.budgets {
            let _ = writeln!(md, "| {} | {} | {} |", b.name, cell(&b.used), cell(&b.limit));
        }
    }
    truncate(md.trim_end().to_owned())
}

/// Keep the markdown under GitHub's limit, cutting at a line boundary with a note.
fn truncate(md: String) -> String {
    if md.len() <= MAX_MARKDOWN_BYTES {
        return md;
    }
    let mut cut = MAX_MARKDOWN_BYTES;
    while !md.is_char_boundary(cut) {
        cut -= 1;
    }
    let end = md[..cut].rfind('\n').unwrap_or(cut);
    format!(
        "{}\n\n_(summary truncated: it exceeded GitHub's 1 MiB step-summary limit; see the jobpack for everything)_",
        &md[..end]
    )
}

#[cfg(test)]
mod tests;
