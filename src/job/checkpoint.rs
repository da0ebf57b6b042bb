//! Checkpoint events: the `checkpoint_emitted` payload, in Go's shape, with an honest status label.
//!
//! The label is the job's status *after* the batch the checkpoint is part of: a `decision-needed`
//! checkpoint is appended together with the change to `blocked_decision`, so its label and the job
//! agree (the Go implementation labelled it `blocked_decision` while the job kept running).
//! Summaries are 1..2000 bytes; a longer one is an error, never a silently dropped checkpoint.

use serde_json::{Value, json};

use crate::contract::{Error, PRODUCER_VERSION, Result};
use crate::job::budget::Usage;
use crate::job::jobspec::MAX_SUMMARY_BYTES;
use crate::job::{CHECKPOINT_TYPES, NewEvent, Status};

pub struct Checkpoint {
    pub kind: &'static str,
    pub summary: String,
    pub status: Status,
    pub usage: Usage,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// `{kind?, instructions?}`.
    pub required_action: Option<Value>,
    pub reason_codes: Vec<String>,
}

impl Checkpoint {
    pub fn new(kind: &'static str, summary: impl Into<String>, status: Status, usage: Usage) -> Checkpoint {
        Checkpoint {
            kind,
            summary: summary.into(),
            status,
            usage,
            added: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
            required_action: None,
            reason_codes: Vec::new(),
        }
    }

    pub fn reason(mut self, code: &str) -> Checkpoint {
        self.reason_codes.push(code.to_owned());
        self
    }

    pub fn event(&self) -> NewEvent {
        NewEvent::new(
            "checkpoint_emitted",
            json!({
                "artifacts_delta": {"added": self.added, "changed": self.changed, "removed": self.removed},
                "budget_state": {
                    "wall_time_seconds": self.usage.wall_time_seconds,
                    "retry_count": self.usage.retry_count,
                    "step_count": self.usage.step_count,
                    "tool_call_count": self.usage.tool_call_count,
                },
                "producer_version": PRODUCER_VERSION,
                "reason_codes": self.reason_codes,
                "required_action": self.required_action.clone().unwrap_or(Value::Null),
                "status": self.status.as_str(),
                "summary": self.summary,
                "type": self.kind,
            }),
        )
    }
}

/// The static name of a checkpoint type, or an error naming the accepted ones.
pub fn kind(name: &str) -> Result<&'static str> {
    CHECKPOINT_TYPES.iter().copied().find(|k| *k == name).ok_or_else(|| {
        Error::invalid_input(format!("invalid checkpoint type {name:?}"))
            .with("type", name)
            .with_hint("types: plan, progress, decision-needed, blocked, completed")
    })
}

/// A trimmed summary of 1..2000 bytes.
pub fn summary(text: &str) -> Result<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > MAX_SUMMARY_BYTES {
        return Err(Error::invalid_input(format!(
            "checkpoint summary must be 1..{MAX_SUMMARY_BYTES} bytes, got {}",
            trimmed.len()
        ))
        .with("summary_length", trimmed.len()));
    }
    Ok(trimmed.to_owned())
}
