//! Findings: everything wrong with a JobSpec, collected so that one run reports all of it.
//!
//! A finding names the field (a JSON Pointer), what is wrong, and where it is written (line and
//! column, filled in from the text once all checks have run). A spec with findings becomes one
//! `E_INVALID_INPUT_SCHEMA` error (exit 6) whose message lists every finding and whose details
//! carry them as data (`details.findings`), so `wrkr validate --json`, `submit --json` and the
//! SDK see the same list a person reads.

use serde_json::{Value, json};

use super::locate::Locations;
use crate::contract::Error;
use crate::contract::schema::pointer_label;

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The field, as a JSON Pointer into the spec as written (`/budgets/max_tokns`).
    pub pointer: String,
    pub message: String,
    /// The known key a misspelt one probably meant.
    pub suggestion: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Finding {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding { pointer: pointer.into(), message: message.into(), suggestion: None, line: None, column: None }
    }

    /// A finding about the file as a whole, at a position the parser reported.
    pub fn at(line: Option<usize>, column: Option<usize>, message: impl Into<String>) -> Finding {
        Finding { line, column, ..Finding::new("", message) }
    }

    /// `LABEL:LINE:COLUMN: POINTER: message` (the compiler convention editors jump to).
    pub fn render(&self, label: &str) -> String {
        let mut out = label.to_owned();
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                out.push_str(&format!(":{column}"));
            }
        }
        if !self.pointer.is_empty() {
            out.push_str(&format!(": {}", pointer_label(&self.pointer)));
        }
        out.push_str(&format!(": {}", self.message));
        out
    }

    /// The `wrkr-schema` finding shape (input, line, schema_id, pointer, message) plus column and
    /// suggestion when known.
    pub fn to_json(&self, label: &str) -> Value {
        let mut out = json!({"input": label, "line": self.line, "column": self.column, "schema_id": "wrkr.jobspec",
                             "pointer": self.pointer, "message": self.message});
        if let Some(s) = &self.suggestion {
            out["suggestion"] = json!(s);
        }
        out
    }
}

/// The findings of one spec, in the order the checks found them.
#[derive(Default, Debug)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn push(&mut self, finding: Finding) {
        self.0.push(finding);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a finding already names `pointer` or a field inside it, so that a later check of
    /// the same field does not say the same thing twice.
    pub fn touches(&self, pointer: &str) -> bool {
        self.0.iter().any(|f| f.pointer == pointer || f.pointer.starts_with(&format!("{pointer}/")))
    }

    /// Fill in line and column from the text, for findings that do not have them yet, and put the
    /// findings in the order they are written (the order a person fixes them in; stable for ties).
    pub fn locate(&mut self, text: &str) {
        if self.0.iter().any(|f| f.line.is_none()) {
            let locations = Locations::index(text);
            for finding in self.0.iter_mut().filter(|f| f.line.is_none()) {
                if let Some(at) = locations.find(&finding.pointer) {
                    finding.line = Some(at.line);
                    finding.column = Some(at.column);
                }
            }
        }
        self.0.sort_by_key(|f| (f.line.is_none(), f.line, f.column));
    }

    /// One error for all findings. `label` names the spec (`jobspec.yaml`, `stdin`) in each line.
    pub fn into_error(self, label: &str) -> Error {
        let findings = self.0;
        let lines: Vec<String> = findings.iter().map(|f| f.render(label)).collect();
        let message = match lines.as_slice() {
            [one] => one.clone(),
            many => format!("{} problems in jobspec {label}:\n  {}", many.len(), many.join("\n  ")),
        };
        let mut err = Error::invalid_input(message)
            .with("findings", findings.iter().map(|f| f.to_json(label)).collect::<Vec<_>>());
        if let Some(first) = findings.first() {
            if !first.pointer.is_empty() {
                err = err.with("pointer", first.pointer.as_str());
            }
            if let Some(line) = first.line {
                err = err.with("line", line);
            }
            if let Some(column) = first.column {
                err = err.with("column", column);
            }
        }
        if findings.iter().any(|f| f.suggestion.is_some()) {
            err = err.with_hint("keys are exact (lowercase); `x-` keys are free for your own use");
        }
        err
    }
}
