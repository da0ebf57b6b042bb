//! The eight job statuses and the transitions between them (digest 7.4), the one table the whole
//! program consults.
//!
//! A transition is checked by the store *under the job's lock*, against the state replayed from
//! the ledger, in the same critical section that appends the `status_changed` event: there is no
//! window in which two writers can both see `running` and both move it somewhere else.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::contract::{Error, ReasonCode, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Queued,
    Running,
    Paused,
    BlockedDecision,
    BlockedBudget,
    BlockedError,
    Completed,
    Canceled,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Queued,
        Status::Running,
        Status::Paused,
        Status::BlockedDecision,
        Status::BlockedBudget,
        Status::BlockedError,
        Status::Completed,
        Status::Canceled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::BlockedDecision => "blocked_decision",
            Status::BlockedBudget => "blocked_budget",
            Status::BlockedError => "blocked_error",
            Status::Completed => "completed",
            Status::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The status in plain words, for messages people read.
    pub fn plain(self) -> &'static str {
        match self {
            Status::Queued => "queued (not started)",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::BlockedDecision => "waiting for a decision",
            Status::BlockedBudget => "stopped by a budget",
            Status::BlockedError => "stopped by an error",
            Status::Completed => "completed",
            Status::Canceled => "canceled",
        }
    }

    /// Completed and canceled jobs never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Canceled)
    }

    /// The statuses this one may move to. Self-transitions are never allowed.
    pub fn allowed_targets(self) -> &'static [Status] {
        use Status::*;
        match self {
            Queued => &[Running, Canceled],
            Running => &[Paused, BlockedDecision, BlockedBudget, BlockedError, Completed, Canceled],
            Paused | BlockedDecision | BlockedBudget => &[Running, BlockedError, Canceled],
            BlockedError => &[Running, Canceled],
            Completed | Canceled => &[],
        }
    }

    /// `Ok` when `self -> to` is allowed, else `E_INVALID_STATE_TRANSITION` with `{from, to}`.
    pub fn check_transition(self, to: Status) -> Result<()> {
        if self.allowed_targets().contains(&to) {
            return Ok(());
        }
        Err(invalid_transition(self.as_str(), to.as_str()))
    }
}

/// The transition table as a mermaid state diagram: docs/concepts/states.md embeds this text, and
/// a test keeps the two equal, so the documented state machine is the one the store enforces.
pub fn state_diagram() -> String {
    let mut out = String::from("stateDiagram-v2\n    [*] --> queued\n");
    for from in Status::ALL {
        for to in from.allowed_targets() {
            out.push_str(&format!("    {from} --> {to}\n"));
        }
        if from.is_terminal() {
            out.push_str(&format!("    {from} --> [*]\n"));
        }
    }
    out
}

/// The message is Go's (`invalid status transition "a" -> "b"`); the hint says it in plain words.
pub fn invalid_transition(from: &str, to: &str) -> Error {
    let plain = |s: &str| Status::parse(s).map_or_else(|| format!("{s:?}"), |st| st.plain().to_owned());
    let hint = match Status::parse(from) {
        Some(st) if st.is_terminal() => format!("the job is {}; a finished job never changes again", plain(from)),
        _ => format!("a job that is {} cannot become {}", plain(from), plain(to)),
    };
    Error::new(ReasonCode::InvalidStateTransition, format!("invalid status transition {from:?} -> {to:?}"))
        .with("from", from)
        .with("to", to)
        .with_hint(hint)
}

/// The text-mode message of a refused transition, in words (`the job is completed and cannot
/// become paused`). The envelope keeps Go's message and the raw names in `details.from`/`to`.
pub fn transition_in_words(err: &Error) -> Option<String> {
    if err.code != ReasonCode::InvalidStateTransition {
        return None;
    }
    let status = |key: &str| Status::parse(err.details.get(key)?.as_str()?);
    let (from, to) = (status("from")?, status("to")?);
    // The sentence names the job, so that a refusal read out of context says which one.
    let job = match err.details.get("job_id").and_then(serde_json::Value::as_str) {
        Some(id) => format!("job {id}"),
        None => "the job".to_owned(),
    };
    match from == to {
        true => Some(format!("{job} is already {}", from.plain())),
        false => Some(format!("{job} is {} and cannot become {}", from.plain(), to.plain())),
    }
}

/// How a step attempt ended, in words: the ledger's outcome names are for programs.
pub fn outcome_in_words(outcome: &str) -> String {
    match outcome {
        "not_executed" => "not run (recorded only)".to_owned(),
        "timed_out" => "timed out".to_owned(),
        "stopped_budget" => "stopped by a budget".to_owned(),
        other => other.replace('_', " "),
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_table_and_nothing_else() {
        let allowed: usize = Status::ALL.iter().map(|s| s.allowed_targets().len()).sum();
        assert_eq!(allowed, 2 + 6 + 3 + 3 + 3 + 2);
        for from in Status::ALL {
            assert!(from.check_transition(from).is_err(), "self-transition {from}");
        }
        assert!(Status::Queued.check_transition(Status::Running).is_ok());
        assert!(Status::Paused.check_transition(Status::Completed).is_err());
        let err = Status::Completed.check_transition(Status::Running).unwrap_err();
        assert_eq!(err.message, "invalid status transition \"completed\" -> \"running\"");
        assert_eq!(err.details["from"], "completed");
        assert_eq!(err.details["to"], "running");
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn the_documented_state_machine_is_the_enforced_one() {
        let page = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/concepts/states.md");
        let text = std::fs::read_to_string(page).unwrap();
        let block = text.split("```mermaid\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap_or("");
        assert_eq!(
            block,
            state_diagram(),
            "docs/concepts/states.md drifted from the transition table; paste the diagram above"
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Status::parse("done"), None);
    }
}
