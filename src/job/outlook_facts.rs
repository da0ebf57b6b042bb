//! The facts `wrkr status` shows about where a job is (its current step, its times, its latest
//! note, the decisions waiting for approval), kept current record by record inside [`JobState`].
//!
//! They used to be gathered by replaying the whole ledger on every `wrkr status`, which made status
//! cost O(ledger) (about a second for a 1,000-step job in a debug build). Folded into the state,
//! they travel with the snapshot cache, so status costs the snapshot plus at most
//! `SNAPSHOT_EVERY` records, whatever the ledger's length; both backends get them for free.
//!
//! What is kept is bounded by what status prints: one attempt (the latest), one note, the pending
//! decisions, and the few approvals that name a checkpoint the ledger has not reached yet (only a
//! hand-written ledger has those). The attempt is a `run::attempts::Attempt`, started and finished
//! by that type's own constructors, and each other rule here is the rule `run::attempts` and
//! `run::history` apply when they replay, so that the folded answer is the replayed one
//! (tests/status_outlook.rs compares them). One deliberate difference: an `adapter_step` repeating the (index, attempt) of
//! an attempt *older than the latest* (a ledger no runner writes) becomes the latest attempt here,
//! while the full list in `run::attempts` drops it; keeping every pair would make the cache grow
//! with the ledger.
//!
//! [`JobState`]: crate::job::JobState

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::time::Timestamp;
use crate::job::budget::ActiveTime;
use crate::pack::records::WRAP_EVENT;
use crate::run::attempts::Attempt;
use crate::store::ledger::EventRecord;

/// A decision-needed checkpoint nobody has approved yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingDecision {
    pub checkpoint_id: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_action: Option<Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutlookFacts {
    /// `created_at` of the first record.
    pub created_at: Option<Timestamp>,
    /// Time spent `running`.
    pub active: ActiveTime,
    /// How many steps the recorded JobSpec has (0 for a wrapped command or before it is seen).
    pub step_total: usize,
    /// The attempt that started last.
    pub latest_attempt: Option<Attempt>,
    /// The latest `x-progress` note, with the ledger time it was recorded.
    pub latest_note: Option<(String, String)>,
    /// Oldest first.
    pub pending: Vec<PendingDecision>,
    /// The seq of the latest decision-needed checkpoint, and whether any approval names it.
    pub latest_decision: Option<u64>,
    pub latest_decision_approved: bool,
    /// Seqs of checkpoints approved before the ledger reached them (so not yet decisions).
    pub approved_ahead: BTreeSet<u64>,
    /// Queued for workers (`submit --queue`, `store::queue`): a worker runs it on, not `resume`.
    /// Required when read, like the rest, so an older snapshot is rebuilt from the ledger.
    pub queued_for_workers: bool,
}

impl OutlookFacts {
    /// Take in one record (in seq order; `JobState::apply` calls this).
    pub fn apply(&mut self, record: &EventRecord) {
        let empty = Map::new();
        let p = record.payload.as_ref().and_then(Value::as_object).unwrap_or(&empty);
        let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let number = |k: &str| p.get(k).and_then(Value::as_u64);
        if self.created_at.is_none() {
            self.created_at = Timestamp::parse(&record.created_at);
        }
        match record.event_type.as_str() {
            "status_changed" => {
                if let Some(to) = crate::job::Status::parse(&text("to")) {
                    let running = to == crate::job::Status::Running;
                    self.active.status_changed(running, Timestamp::parse(&record.created_at));
                }
            }
            "x-jobspec_recorded" => {
                self.step_total = p
                    .get("jobspec")
                    .and_then(|j| j.pointer("/inputs/steps"))
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
            }
            "adapter_step" => {
                let Some(started) = Attempt::step_started(record) else { return };
                if !self.latest_is(started.step_index, started.attempt) {
                    self.latest_attempt = Some(started);
                }
            }
            "x-step_finished" => {
                let (Some(index), Some(attempt)) = (number("step_index"), number("attempt")) else { return };
                if self.latest_is(index, attempt) {
                    self.finish_latest(p);
                }
            }
            WRAP_EVENT => self.latest_attempt = Some(Attempt::wrap_started(record)),
            "x-wrap_finished" if self.latest_attempt.as_ref().is_some_and(|a| a.wrap) => self.finish_latest(p),
            "x-progress" => self.latest_note = Some((text("note"), record.created_at.clone())),
            crate::store::queue::QUEUED_EVENT => self.queued_for_workers = true,
            "checkpoint_emitted" if text("type") == "decision-needed" => {
                self.pending.push(PendingDecision {
                    checkpoint_id: format!("cp_{}", record.seq),
                    summary: text("summary"),
                    required_action: p.get("required_action").cloned(),
                });
                self.latest_decision = Some(record.seq);
                self.latest_decision_approved = self.approved_ahead.remove(&record.seq);
                // Approvals of seqs passed by now can never name a later decision.
                self.approved_ahead = self.approved_ahead.split_off(&record.seq);
            }
            "approval_recorded" => {
                let id = text("checkpoint_id");
                self.pending.retain(|pending| pending.checkpoint_id != id);
                match checkpoint_seq(&id) {
                    Some(seq) if Some(seq) == self.latest_decision => self.latest_decision_approved = true,
                    Some(seq) if seq > record.seq => {
                        self.approved_ahead.insert(seq);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The latest decision-needed checkpoint's id when no approval names it.
    pub fn unapproved_decision(&self) -> Option<String> {
        self.latest_decision.filter(|_| !self.latest_decision_approved).map(|seq| format!("cp_{seq}"))
    }

    /// Whether the attempt that started last is attempt `attempt` of step `index` (a wrapped run
    /// counts as attempt 1 of step 0, as `run::attempts` matches it).
    fn latest_is(&self, index: u64, attempt: u64) -> bool {
        self.latest_attempt.as_ref().is_some_and(|a| a.step_index == index && a.attempt == attempt)
    }

    fn finish_latest(&mut self, p: &Map<String, Value>) {
        if let Some(latest) = &mut self.latest_attempt {
            latest.finish(Some(p));
        }
    }
}

/// `cp_<seq>` exactly as checkpoint ids are written (so `cp_07` names no checkpoint).
fn checkpoint_seq(id: &str) -> Option<u64> {
    let seq: u64 = id.strip_prefix("cp_")?.parse().ok()?;
    (format!("cp_{seq}") == id).then_some(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_ids_are_exact() {
        assert_eq!(checkpoint_seq("cp_12"), Some(12));
        assert_eq!(checkpoint_seq("cp_012"), None);
        assert_eq!(checkpoint_seq("cp_+1"), None);
        assert_eq!(checkpoint_seq("12"), None);
    }
}
