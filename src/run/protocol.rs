//! The adapter protocol: what a running step (or wrapped command) may report about itself.
//!
//! A step writes JSONL records to the file descriptor in `WRKR_EVENTS_FD`, or appends them to the
//! file in `WRKR_EVENTS_PATH` (for tools that cannot keep a descriptor). Each record is one JSON
//! object with a `type`:
//!
//! | type | fields | effect |
//! |---|---|---|
//! | `tool_call` | `name`?, `count`? (default 1) | counts against `max_tool_calls` |
//! | `tokens` | `count` | counts against `max_tokens` |
//! | `cost` | `usd` (≥ 0) | counts against `max_estimated_cost` |
//! | `artifact` | `path`, `change`? (`added`, `changed`, `removed`; default `added`) | artifact delta |
//! | `checkpoint` | `checkpoint_type`, `summary`, `required_action`?, `reason_codes`? | a checkpoint; `decision-needed` stops the job after the step |
//! | `progress` | `note` | recorded |
//!
//! Parsing is strict and bounded: unknown types and fields, wrong types, summaries over 2000 bytes,
//! and lines over 64 KiB are rejected with a reason. A rejected record never stops the step and is
//! never dropped silently: the runner records it as rejected.

use serde_json::{Map, Value};

use crate::job::CHECKPOINT_TYPES;
use crate::job::jobspec::MAX_SUMMARY_BYTES;

/// The longest accepted record line.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Added,
    Changed,
    Removed,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    ToolCall { name: Option<String>, count: u64 },
    Tokens { count: u64 },
    Cost { usd: f64 },
    Artifact { path: String, change: Change },
    Checkpoint { checkpoint_type: String, summary: String, required_action: Option<Value>, reason_codes: Vec<String> },
    Progress { note: String },
}

/// Parse one record line. The error is a reason fit for the ledger.
pub fn parse(line: &[u8]) -> Result<Record, String> {
    let map = crate::json::parse_object(line)?;
    let kind = map.get("type").and_then(Value::as_str).ok_or("missing string field \"type\"")?;
    let fields = Fields { map: &map, kind };
    match kind {
        "tool_call" => {
            fields.only(&["name", "count"])?;
            Ok(Record::ToolCall { name: fields.opt_str("name")?, count: fields.opt_u64("count")?.unwrap_or(1) })
        }
        "tokens" => {
            fields.only(&["count"])?;
            Ok(Record::Tokens { count: fields.opt_u64("count")?.ok_or("tokens: missing \"count\"")? })
        }
        "cost" => {
            fields.only(&["usd"])?;
            let usd = map
                .get("usd")
                .and_then(Value::as_f64)
                .filter(|f| *f >= 0.0)
                .ok_or("cost: \"usd\" must be a number >= 0")?;
            Ok(Record::Cost { usd })
        }
        "artifact" => {
            fields.only(&["path", "change"])?;
            let path = fields.opt_str("path")?.filter(|p| !p.trim().is_empty()).ok_or("artifact: missing \"path\"")?;
            let change = match fields.opt_str("change")?.as_deref() {
                None | Some("added") => Change::Added,
                Some("changed") => Change::Changed,
                Some("removed") => Change::Removed,
                Some(other) => return Err(format!("artifact: unknown change {other:?}")),
            };
            Ok(Record::Artifact { path: path.trim().to_owned(), change })
        }
        "checkpoint" => {
            fields.only(&["checkpoint_type", "summary", "required_action", "reason_codes"])?;
            let checkpoint_type =
                fields.opt_str("checkpoint_type")?.ok_or("checkpoint: missing \"checkpoint_type\"")?;
            if !CHECKPOINT_TYPES.contains(&checkpoint_type.as_str()) {
                return Err(format!("checkpoint: unknown checkpoint_type {checkpoint_type:?}"));
            }
            let summary = fields.opt_str("summary")?.map(|s| s.trim().to_owned()).unwrap_or_default();
            if summary.is_empty() || summary.len() > MAX_SUMMARY_BYTES {
                return Err(format!("checkpoint: summary must be 1..{MAX_SUMMARY_BYTES} bytes"));
            }
            let required_action = match map.get("required_action") {
                None | Some(Value::Null) => None,
                Some(Value::Object(a))
                    if a.keys().all(|k| k == "kind" || k == "instructions") && a.values().all(Value::is_string) =>
                {
                    Some(Value::Object(a.clone()))
                }
                Some(_) => return Err("checkpoint: required_action must be {kind?, instructions?} strings".to_owned()),
            };
            if checkpoint_type == "decision-needed" && required_action.is_none() {
                return Err("checkpoint: decision-needed needs required_action".to_owned());
            }
            let reason_codes = match map.get("reason_codes") {
                None => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|c| c.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("checkpoint: reason_codes must be non-empty strings")?,
                Some(_) => return Err("checkpoint: reason_codes must be a list".to_owned()),
            };
            Ok(Record::Checkpoint { checkpoint_type, summary, required_action, reason_codes })
        }
        "progress" => {
            fields.only(&["note"])?;
            let note = fields.opt_str("note")?.ok_or("progress: missing \"note\"")?;
            if note.len() > MAX_SUMMARY_BYTES {
                return Err(format!("progress: note longer than {MAX_SUMMARY_BYTES} bytes"));
            }
            Ok(Record::Progress { note })
        }
        other => Err(format!("unknown record type {other:?}")),
    }
}

struct Fields<'a> {
    map: &'a Map<String, Value>,
    kind: &'a str,
}

impl Fields<'_> {
    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.map.keys().find(|k| *k != "type" && !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!("{}: unknown field {k:?}", self.kind)),
            None => Ok(()),
        }
    }
    fn opt_str(&self, key: &str) -> Result<Option<String>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{}: \"{key}\" must be a string", self.kind)),
        }
    }
    fn opt_u64(&self, key: &str) -> Result<Option<u64>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                v.as_u64().map(Some).ok_or_else(|| format!("{}: \"{key}\" must be a non-negative integer", self.kind))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_type() {
        assert_eq!(
            parse(br#"{"type":"tool_call","name":"grep"}"#),
            Ok(Record::ToolCall { name: Some("grep".into()), count: 1 })
        );
        assert_eq!(parse(br#"{"type":"tokens","count":1200}"#), Ok(Record::Tokens { count: 1200 }));
        assert_eq!(parse(br#"{"type":"cost","usd":0.25}"#), Ok(Record::Cost { usd: 0.25 }));
        assert_eq!(
            parse(br#"{"type":"artifact","path":" src/a.rs ","change":"changed"}"#),
            Ok(Record::Artifact { path: "src/a.rs".into(), change: Change::Changed })
        );
        assert!(matches!(
            parse(br#"{"type":"checkpoint","checkpoint_type":"decision-needed","summary":"ok?","required_action":{"kind":"approval"}}"#),
            Ok(Record::Checkpoint { .. })
        ));
        assert_eq!(
            parse(br#"{"type":"progress","note":"half way"}"#),
            Ok(Record::Progress { note: "half way".into() })
        );
    }

    #[test]
    fn rejects_with_a_reason() {
        for (line, want) in [
            (&b"garbage"[..], "expected"),
            (br#"[1]"#, "expected a JSON object"),
            (br#"{"type":"launch"}"#, "unknown record type"),
            (br#"{"type":"tool_call","extra":1}"#, "unknown field"),
            (br#"{"type":"tokens","count":-1}"#, "non-negative integer"),
            (br#"{"type":"cost","usd":"1"}"#, "usd"),
            (br#"{"type":"artifact"}"#, "missing \"path\""),
            (br#"{"type":"checkpoint","checkpoint_type":"decision-needed","summary":"x"}"#, "needs required_action"),
            (br#"{"type":"checkpoint","checkpoint_type":"done","summary":"x"}"#, "unknown checkpoint_type"),
            (br#"{"type":"tool_call","type":"tokens"}"#, "duplicate"),
        ] {
            let err = parse(line).unwrap_err();
            assert!(err.contains(want), "{want:?} in {err}");
        }
        let long = format!(r#"{{"type":"progress","note":"{}"}}"#, "x".repeat(2001));
        assert!(parse(long.as_bytes()).is_err());
    }
}
