//! What a job's ledger says happened, as the runner needs it: the recorded JobSpec, each step's
//! attempts, usage against budgets, checkpoints and approvals, and requests made from outside.
//!
//! Built by replaying the ledger once, then kept current by applying new records as they appear
//! (the runner tails the ledger while a step runs, so a `wrkr pause`, `wrkr cancel`, `wrkr budget
//! report` or `wrkr checkpoint emit` from another process is seen within one poll). Records with a
//! seq already applied are ignored, so applying the runner's own appends and then tailing is safe.
//!
//! Wall time is *active* time: the sum of the intervals the job spent `running`, so a job that
//! waited two days for an approval has not used two days of its budget.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::contract::Result;
use crate::contract::time::Timestamp;
use crate::job::Status;
use crate::job::budget::{Limits, Usage};
use crate::store::{EventRecord, JobId, Store};

/// A step's attempts so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepProgress {
    pub attempts: u64,
    /// An attempt that started and has no recorded end (its runner died, or is running it now).
    pub open_attempt: Option<u64>,
    /// Completed (succeeded, or recorded as not executed): never run again.
    pub done: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointInfo {
    pub seq: u64,
    pub kind: String,
    pub status: String,
    pub summary: String,
}

impl CheckpointInfo {
    pub fn id(&self) -> String {
        format!("cp_{}", self.seq)
    }
}

/// The `x-jobspec_recorded` payload.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedSpec {
    pub document: Value,
    pub spec_path: String,
    pub workspace: String,
}

#[derive(Clone, Debug)]
pub struct History {
    pub job_id: String,
    pub last_seq: u64,
    pub status: Status,
    pub spec: Option<RecordedSpec>,
    pub steps: BTreeMap<u64, StepProgress>,
    pub retry_count: u64,
    pub step_count: u64,
    pub tool_call_count: u64,
    pub tokens: u64,
    pub cost: f64,
    /// Limits changed by `wrkr budget raise`, by key (`max_step_count`, ...).
    pub raised: Map<String, Value>,
    pub checkpoints: Vec<CheckpointInfo>,
    /// Approvals per checkpoint id.
    pub approvals: BTreeMap<String, u64>,
    /// `wrkr pause --now` since the job last started running.
    pub pause_now: bool,
    pub env_hash: Option<String>,
    pub env_rules: Vec<String>,
    running_since: Option<Timestamp>,
    running_seconds: u64,
}

impl History {
    pub fn new(job_id: &str) -> History {
        History {
            job_id: job_id.to_owned(),
            last_seq: 0,
            status: Status::Queued,
            spec: None,
            steps: BTreeMap::new(),
            retry_count: 0,
            step_count: 0,
            tool_call_count: 0,
            tokens: 0,
            cost: 0.0,
            raised: Map::new(),
            checkpoints: Vec::new(),
            approvals: BTreeMap::new(),
            pause_now: false,
            env_hash: None,
            env_rules: Vec::new(),
            running_since: None,
            running_seconds: 0,
        }
    }

    /// Replay the whole ledger.
    pub fn load(store: &dyn Store, job: &JobId) -> Result<History> {
        let mut history = History::new(job.as_str());
        history.catch_up(store, job)?;
        Ok(history)
    }

    /// Apply the records appended since the last one seen.
    pub fn catch_up(&mut self, store: &dyn Store, job: &JobId) -> Result<()> {
        store.read_events(job, self.last_seq + 1, &mut |record, _| {
            self.apply(record);
            Ok(())
        })?;
        Ok(())
    }

    pub fn apply(&mut self, record: &EventRecord) {
        if record.seq <= self.last_seq {
            return;
        }
        self.last_seq = record.seq;
        let empty = Map::new();
        let p = record.payload.as_ref().and_then(Value::as_object).unwrap_or(&empty);
        let u = |k: &str| p.get(k).and_then(Value::as_u64).unwrap_or(0);
        let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let at = Timestamp::parse(&record.created_at);
        match record.event_type.as_str() {
            "status_changed" => {
                if let Some(to) = Status::parse(&text("to")) {
                    if let (Some(since), Some(now)) = (self.running_since.take(), at) {
                        self.running_seconds += now.seconds_since(since);
                    }
                    if to == Status::Running {
                        self.running_since = at;
                        self.pause_now = false;
                    }
                    self.status = to;
                }
            }
            "counters_updated" => {
                self.retry_count = u("retry_count");
                self.step_count = u("step_count");
                self.tool_call_count = u("tool_call_count");
            }
            "x-usage_reported" => {
                self.tokens += u("tokens");
                self.cost += p.get("cost").and_then(Value::as_f64).unwrap_or(0.0);
            }
            "x-budget_raised" => {
                if let Some(Value::Object(limits)) = p.get("limits") {
                    self.raised.extend(limits.clone());
                }
            }
            "x-jobspec_recorded" => {
                self.spec = Some(RecordedSpec {
                    document: p.get("jobspec").cloned().unwrap_or(Value::Null),
                    spec_path: text("spec_path"),
                    workspace: text("workspace"),
                });
            }
            "adapter_step" => {
                let step = self.steps.entry(u("step_index")).or_default();
                let attempt = u("attempt").max(step.attempts + 1);
                step.attempts = attempt;
                step.open_attempt = Some(attempt);
            }
            "x-step_finished" => {
                let step = self.steps.entry(u("step_index")).or_default();
                step.open_attempt = None;
                if matches!(text("outcome").as_str(), "succeeded" | "not_executed") {
                    step.done = true;
                }
            }
            "x-step_interrupted" => {
                self.steps.entry(u("step_index")).or_default().open_attempt = None;
            }
            "checkpoint_emitted" => self.checkpoints.push(CheckpointInfo {
                seq: record.seq,
                kind: text("type"),
                status: text("status"),
                summary: text("summary"),
            }),
            "approval_recorded" => *self.approvals.entry(text("checkpoint_id")).or_default() += 1,
            "x-pause_requested" => self.pause_now |= p.get("now").and_then(Value::as_bool).unwrap_or(false),
            "env_fingerprint_set" | "env_override_recorded" => {
                let key = if record.event_type == "env_fingerprint_set" { "hash" } else { "actual_hash" };
                self.env_hash = Some(text(key));
                self.env_rules = p
                    .get("rules")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default();
            }
            _ => {}
        }
    }

    /// The first step that is not done (steps run in order).
    pub fn cursor(&self, step_total: usize) -> usize {
        (0..step_total).find(|i| !self.steps.get(&(*i as u64)).is_some_and(|s| s.done)).unwrap_or(step_total)
    }

    /// Seconds spent running, up to `now`.
    pub fn wall_seconds(&self, now: Timestamp) -> u64 {
        self.running_seconds + self.running_since.map_or(0, |since| now.seconds_since(since))
    }

    pub fn usage(&self, now: Timestamp) -> Usage {
        Usage {
            wall_time_seconds: self.wall_seconds(now),
            retry_count: self.retry_count,
            step_count: self.step_count,
            tool_call_count: self.tool_call_count,
            tokens: self.tokens,
            estimated_cost: self.cost,
        }
    }

    /// The JobSpec's budgets with every `wrkr budget raise` applied.
    pub fn limits(&self) -> Option<Limits> {
        let mut budgets = self.spec.as_ref()?.document.get("budgets")?.clone();
        if let Value::Object(map) = &mut budgets {
            map.extend(self.raised.clone());
        }
        serde_json::from_value(budgets).ok()
    }

    pub fn latest_decision(&self) -> Option<&CheckpointInfo> {
        self.checkpoints.iter().rev().find(|c| c.kind == "decision-needed")
    }

    pub fn is_approved(&self, checkpoint_id: &str) -> bool {
        self.approvals.get(checkpoint_id).is_some_and(|n| *n > 0)
    }

    pub fn checkpoint(&self, checkpoint_id: &str) -> Option<&CheckpointInfo> {
        self.checkpoints.iter().find(|c| c.id() == checkpoint_id)
    }
}
