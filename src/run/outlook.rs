//! A job's outlook: where it is and what a person does next, in the way `git status` says it.
//!
//! The facts (the current step i/N, its attempt and how it ended, the time since the job was
//! created and the time it spent running, the latest progress note, the decisions waiting for
//! approval, why the job is blocked) are folded into the job's state as its ledger is applied
//! (`job::outlook_facts`), so they come with the snapshot cache: reading them costs what
//! `Store::state` costs, not a pass over the ledger. From them, [`Outlook::next_commands`] names
//! the exact commands (real job id, real checkpoint id) that move the job on.

use serde_json::{Map, Value, json};

use crate::contract::Result;
use crate::contract::time::Timestamp;
use crate::job::outlook_facts::OutlookFacts;
pub use crate::job::outlook_facts::PendingDecision;
use crate::job::{JobState, Status};
use crate::run::attempts::Attempt;
use crate::store::{JobId, Store};

pub struct Outlook {
    pub job: JobId,
    status: Status,
    facts: OutlookFacts,
    current: Option<Attempt>,
    /// When the job's first event was recorded.
    pub created_at: Option<Timestamp>,
    /// Oldest first.
    pub pending: Vec<PendingDecision>,
    /// The reason codes of the latest checkpoint (why a blocked job is blocked).
    pub latest_reason_codes: Vec<String>,
    /// A job made by `wrkr wrap`: its command ran once and nothing resumes it.
    wrapped: bool,
    /// Queued for workers (`submit --queue`): a `wrkr worker` runs it on, not `resume`.
    pub queued_for_workers: bool,
}

impl Outlook {
    pub fn load(store: &dyn Store, job: &JobId) -> Result<Outlook> {
        Ok(Outlook::of(job, store.state(job)?))
    }

    /// The outlook of a job in `state`.
    pub fn of(job: &JobId, state: JobState) -> Outlook {
        let mut facts = state.outlook;
        let wrapped = facts.latest_attempt.as_ref().is_some_and(|a| a.wrap);
        Outlook {
            wrapped,
            job: job.clone(),
            status: state.status,
            current: facts.latest_attempt.take(),
            created_at: facts.created_at,
            pending: std::mem::take(&mut facts.pending),
            latest_reason_codes: state.last_reason_codes,
            queued_for_workers: facts.queued_for_workers,
            facts,
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// The step the job is on: the attempt that started last.
    pub fn current(&self) -> Option<&Attempt> {
        self.current.as_ref()
    }

    fn step_total(&self) -> usize {
        self.facts.step_total
    }

    fn active_seconds(&self, now: Timestamp) -> u64 {
        self.facts.active.seconds(now)
    }

    fn latest_note(&self) -> Option<&(String, String)> {
        self.facts.latest_note.as_ref()
    }

    /// The commands that move the job on from where it is, in the order to run them.
    pub fn next_commands(&self) -> Vec<String> {
        let job = self.job.as_str();
        let resume = format!("wrkr resume {job}");
        let blocked_by = |code: &str| self.latest_reason_codes.iter().any(|c| c == code);
        // `resume` is gated on the latest decision only, so that is the one to approve.
        let unapproved = self.facts.unapproved_decision();
        let mut next = match self.status() {
            Status::BlockedDecision | Status::Paused | Status::BlockedError | Status::BlockedBudget
                if unapproved.is_some() =>
            {
                let cp = unapproved.unwrap_or_default();
                vec![format!("wrkr approve {job} --checkpoint {cp} --reason TEXT"), resume]
            }
            Status::BlockedError if blocked_by("E_ENV_FINGERPRINT_MISMATCH") => {
                vec![format!("wrkr resume {job} --force-env --reason TEXT")]
            }
            Status::BlockedError => match self.current().filter(|a| a.failed()) {
                Some(failed) => vec![format!("wrkr logs {job} {} --failed", failed.step_id), resume],
                None => vec![resume],
            },
            Status::BlockedBudget => vec![
                format!("wrkr budget show {job}"),
                format!("wrkr budget raise {job} --max-... N --reason TEXT"),
                resume,
            ],
            Status::BlockedDecision | Status::Paused => vec![resume],
            Status::Running => vec![format!("wrkr logs {job} --follow")],
            Status::Completed => vec![format!("wrkr export {job}")],
            Status::Queued | Status::Canceled => Vec::new(),
        };
        if self.queued_for_workers && self.status() == Status::BlockedDecision {
            // A worker claims a queued job once its decision is approved (`store::queue`); a
            // `resume` here would run it outside the workers and their labels.
            for command in next.iter_mut().filter(|c| c.starts_with("wrkr resume ")) {
                *command = "wrkr worker".to_owned();
            }
        }
        if self.wrapped {
            // The wrapped command ran once and is over: `resume` refuses such a job, so what is
            // left is recording the decision and exporting the evidence.
            next.retain(|c| !c.starts_with("wrkr resume "));
            let export = format!("wrkr export {job}");
            if !matches!(self.status(), Status::Running | Status::Queued | Status::Canceled) && !next.contains(&export)
            {
                next.push(export);
            }
        }
        next
    }

    /// The outlook as optional `wrkr.status_response` fields (declared in its schema).
    pub fn json_fields(&self, now: Timestamp) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(step) = self.current() {
            let mut current = json!({"step_id": step.step_id, "step_index": step.step_index, "attempt": step.attempt,
                                     "started_at": step.started_at});
            if self.step_total() > 0 {
                current["step_total"] = json!(self.step_total());
            }
            if let Some(outcome) = &step.outcome {
                current["outcome"] = json!(outcome);
            }
            if let Some(code) = step.exit_code {
                current["exit_code"] = json!(code);
            }
            out.insert("current_step".into(), current);
        }
        if let Some(created) = self.created_at {
            out.insert("elapsed_seconds".into(), json!(now.seconds_since(created)));
        }
        out.insert("active_seconds".into(), json!(self.active_seconds(now)));
        if let Some((note, at)) = self.latest_note() {
            out.insert("latest_note".into(), json!({"note": note, "created_at": at}));
        }
        if !self.pending.is_empty() {
            let pending: Vec<Value> = self
                .pending
                .iter()
                .map(|p| {
                    let mut v = json!({"checkpoint_id": p.checkpoint_id, "summary": p.summary});
                    if let Some(action) = &p.required_action {
                        v["required_action"] = action.clone();
                    }
                    v
                })
                .collect();
            out.insert("pending_checkpoints".into(), json!(pending));
        }
        out.insert("next_commands".into(), json!(self.next_commands()));
        out
    }

    /// The outlook for people: a few `label: value` lines under the status line.
    pub fn text_lines(&self, now: Timestamp) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(step) = self.current() {
            let position = match self.step_total() {
                0 => format!("{}", step.step_index + 1),
                total => format!("{}/{total}", step.step_index + 1),
            };
            let state = match &step.outcome {
                Some(_) => step.ending(),
                None if self.status() == Status::Running => match Timestamp::parse(&step.started_at) {
                    Some(at) => format!("running for {}", duration(now.seconds_since(at))),
                    None => "running".to_owned(),
                },
                None => "no end recorded".to_owned(),
            };
            lines.push(format!("step: {position} {}, attempt {}, {state}", step.step_id, step.attempt));
        }
        if let Some(created) = self.created_at {
            lines.push(format!(
                "elapsed: {} since submitted, {} running",
                duration(now.seconds_since(created)),
                duration(self.active_seconds(now))
            ));
        }
        if let Some((note, at)) = self.latest_note() {
            let ago = Timestamp::parse(at).map(|t| format!(" ({} ago)", duration(now.seconds_since(t))));
            lines.push(format!("note: {note}{}", ago.unwrap_or_default()));
        }
        for p in &self.pending {
            lines.push(format!("waiting for: {} decision-needed: {}", p.checkpoint_id, p.summary));
        }
        for command in self.next_commands() {
            lines.push(format!("next: {command}"));
        }
        lines
    }
}

/// `45s`, `3m05s`, `2h03m`: short, for people.
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(185), "3m05s");
        assert_eq!(duration(7380), "2h03m");
    }
}
