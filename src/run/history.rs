//! What a job's ledger says happened, as the runner needs it: the recorded JobSpec, each step's
//! attempts, usage against budgets, checkpoints and approvals, and requests made from outside.
//!
//! Built by replaying the ledger once, then kept current by applying new records as they appear
//! (the runner tails the ledger while a step runs, so a `wrkr pause`, `wrkr cancel`, `wrkr budget
//! report` or `wrkr checkpoint emit` from another process is seen within one poll). Records with a
//! seq already applied are ignored, so applying the runner's own appends and then tailing is safe.
//!
//! Applying a record and every query the runner makes per step are O(1) (amortised): the runner
//! asks them once per step, so anything proportional to the ledger here would make a long job
//! quadratic. Only the latest decision-needed checkpoint is kept, not every checkpoint.
//!
//! Wall time is *active* time: the sum of the intervals the job spent `running`, so a job that
//! waited two days for an approval has not used two days of its budget.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::contract::Result;
use crate::contract::time::Timestamp;
use crate::job::Status;
use crate::job::budget::{ActiveTime, Limits, Usage};
use crate::job::jobspec::{self, JobSpec};
use crate::json::tape::Tape;
use crate::store::{EventRecord, JOBSPEC_EVENT, JobId, Store};

/// The record types a history reads leanly (`Store::read_events_lean`): only the spec.
pub const LEAN: &[&str] = &[JOBSPEC_EVENT];

/// More steps than a JobSpec can hold (16 MiB of YAML cannot describe more).
const MAX_STEPS: usize = 4_000_000;

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
}

impl CheckpointInfo {
    pub fn id(&self) -> String {
        format!("cp_{}", self.seq)
    }
}

/// The `x-jobspec_recorded` payload, without the spec itself until it is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedSpec {
    /// Where the spec is read from, until the runner takes it ([`History::take_spec`]).
    source: Option<SpecSource>,
    /// The spec's `budgets` block, kept for [`History::limits`].
    pub budgets: Value,
    /// How many steps the spec lists (for progress displays).
    pub step_total: usize,
    pub spec_path: String,
    pub workspace: String,
}

/// A 25,000-step spec is about 1 MB as its ledger line and 19 MB as a `serde_json::Value` (an
/// index map per object): the line is what is kept, and the typed steps are read from it once.
#[derive(Clone, Debug, PartialEq)]
enum SpecSource {
    /// The raw ledger line (a lean read: `Store::read_events_lean`).
    Line(Vec<u8>),
    /// The `jobspec` document (a store that hands over full records).
    Document(Value),
}

#[derive(Clone, Debug)]
pub struct History {
    pub job_id: String,
    pub last_seq: u64,
    pub status: Status,
    pub spec: Option<RecordedSpec>,
    /// Indexed by step index.
    pub steps: Vec<StepProgress>,
    /// Every step below this index is done (the cursor never moves back).
    done_prefix: usize,
    pub retry_count: u64,
    pub step_count: u64,
    pub tool_call_count: u64,
    pub tokens: u64,
    pub cost: f64,
    /// Limits changed by `wrkr budget raise`, by key (`max_step_count`, ...).
    pub raised: Map<String, Value>,
    pub checkpoint_count: usize,
    /// How many decision-needed checkpoints the ledger has, and the latest one.
    pub decision_count: usize,
    pub latest_decision: Option<CheckpointInfo>,
    pub has_plan: bool,
    /// Approvals per checkpoint id.
    pub approvals: BTreeMap<String, u64>,
    /// `wrkr pause --now` since the job last started running.
    pub pause_now: bool,
    pub env_hash: Option<String>,
    pub env_rules: Vec<String>,
    /// The baseline's value of each rule, so a mismatch can say what changed.
    pub env_values: BTreeMap<String, String>,
    active: ActiveTime,
}

impl History {
    pub fn new(job_id: &str) -> History {
        History {
            job_id: job_id.to_owned(),
            last_seq: 0,
            status: Status::Queued,
            spec: None,
            steps: Vec::new(),
            done_prefix: 0,
            retry_count: 0,
            step_count: 0,
            tool_call_count: 0,
            tokens: 0,
            cost: 0.0,
            raised: Map::new(),
            checkpoint_count: 0,
            decision_count: 0,
            latest_decision: None,
            has_plan: false,
            approvals: BTreeMap::new(),
            pause_now: false,
            env_hash: None,
            env_rules: Vec::new(),
            env_values: BTreeMap::new(),
            active: ActiveTime::default(),
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
        // Once the spec is known, a later spec record is rare enough to parse whole (and the
        // runner's per-step reads skip the type check of every line).
        let lean = if self.spec.is_some() { &[][..] } else { LEAN };
        store.read_events_lean(job, self.last_seq + 1, lean, &mut |record, line| {
            self.apply_line(record, line);
            Ok(())
        })?;
        Ok(())
    }

    /// Apply a record from a lean read ([`LEAN`]): a spec record without its payload is read from
    /// its line; only the small parts are taken now (see `SpecSource`).
    pub fn apply_line(&mut self, record: &EventRecord, line: &[u8]) {
        if record.seq > self.last_seq && record.event_type == JOBSPEC_EVENT && record.payload.is_none() {
            let mut tape = Tape::new();
            // The store checked the line with the same parser; a failure here leaves no spec.
            let payload = tape.parse(line).ok().and_then(|()| tape.root()).and_then(|r| r.member("payload"));
            let text =
                |key: &str| payload.and_then(|p| p.member(key)).and_then(|v| v.string()).unwrap_or_default().to_owned();
            let spec = payload.and_then(|p| p.member("jobspec"));
            let steps = spec.and_then(|s| s.member("inputs")).and_then(|i| i.member("steps"));
            self.spec = Some(RecordedSpec {
                budgets: spec.and_then(|s| s.member("budgets")).map_or(Value::Null, |b| b.to_value()),
                step_total: steps.and_then(|s| s.items()).map_or(0, Iterator::count),
                source: Some(SpecSource::Line(line.to_vec())),
                spec_path: text("spec_path"),
                workspace: text("workspace"),
            });
        }
        self.apply(record);
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
                    self.active.status_changed(to == Status::Running, at);
                    if to == Status::Running {
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
            // A lean read leaves the payload out: `apply_line` has recorded the spec already.
            JOBSPEC_EVENT if record.payload.is_some() => {
                let document = p.get("jobspec").cloned().unwrap_or(Value::Null);
                self.spec = Some(RecordedSpec {
                    budgets: document.get("budgets").cloned().unwrap_or(Value::Null),
                    step_total: document.pointer("/inputs/steps").and_then(Value::as_array).map_or(0, Vec::len),
                    source: Some(SpecSource::Document(document)),
                    spec_path: text("spec_path"),
                    workspace: text("workspace"),
                });
            }
            "adapter_step" => {
                let Some(step) = self.step_mut(u("step_index")) else { return };
                let attempt = u("attempt").max(step.attempts + 1);
                step.attempts = attempt;
                step.open_attempt = Some(attempt);
            }
            "x-step_finished" => {
                let Some(step) = self.step_mut(u("step_index")) else { return };
                step.open_attempt = None;
                if matches!(text("outcome").as_str(), "succeeded" | "not_executed") {
                    step.done = true;
                }
            }
            "x-step_interrupted" => {
                if let Some(step) = self.step_mut(u("step_index")) {
                    step.open_attempt = None;
                }
            }
            "checkpoint_emitted" => {
                self.checkpoint_count += 1;
                match text("type").as_str() {
                    "plan" => self.has_plan = true,
                    "decision-needed" => {
                        self.decision_count += 1;
                        self.latest_decision =
                            Some(CheckpointInfo { seq: record.seq, kind: text("type"), status: text("status") });
                    }
                    _ => {}
                }
            }
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
                self.env_values = p
                    .get("values")
                    .and_then(Value::as_object)
                    .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                    .unwrap_or_default();
            }
            _ => {}
        }
    }

    /// The step at `index`, grown on demand. `None` for an index no JobSpec could have (a hostile
    /// ledger must not make us allocate gigabytes).
    fn step_mut(&mut self, index: u64) -> Option<&mut StepProgress> {
        let index = usize::try_from(index).ok().filter(|i| *i < MAX_STEPS)?;
        if self.steps.len() <= index {
            self.steps.resize(index + 1, StepProgress::default());
        }
        self.steps.get_mut(index)
    }

    /// A step's progress (default when it never started).
    pub fn step(&self, index: usize) -> StepProgress {
        self.steps.get(index).cloned().unwrap_or_default()
    }

    /// The first step that is not done (steps run in order).
    pub fn cursor(&mut self, step_total: usize) -> usize {
        while self.done_prefix < step_total && self.steps.get(self.done_prefix).is_some_and(|s| s.done) {
            self.done_prefix += 1;
        }
        self.done_prefix.min(step_total)
    }

    /// Seconds spent running, up to `now`.
    pub fn wall_seconds(&self, now: Timestamp) -> u64 {
        self.active.seconds(now)
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

    /// The recorded JobSpec, typed (its `document` is `null`) and checked as `wrkr submit` checked
    /// it; read once: later calls get `None`. `None` also when the ledger records no spec.
    pub fn take_spec(&mut self) -> Option<Result<JobSpec>> {
        Some(match self.spec.as_mut()?.source.take()? {
            SpecSource::Document(document) => jobspec::from_document(document).map(|mut spec| {
                spec.document = Value::Null;
                spec
            }),
            SpecSource::Line(line) => {
                let mut tape = Tape::new();
                let recorded = tape.parse(&line).ok().and_then(|()| tape.root()).and_then(|r| r.member("payload"));
                match recorded.and_then(|p| p.member("jobspec")) {
                    Some(spec) => jobspec::from_recorded(spec),
                    None => jobspec::from_document(Value::Null),
                }
            }
        })
    }

    /// Drop the recorded spec's text (a display keeps only the budgets and the step count).
    pub fn forget_spec(&mut self) {
        if let Some(spec) = self.spec.as_mut() {
            spec.source = None;
        }
    }

    /// Append `plan`'s events, each stamped with `epoch`, as one batch fenced by it, and apply them
    /// here. The one way a lease holder (runner, wrap) writes. Returns the new seqs.
    pub fn append_fenced(
        &mut self,
        store: &dyn Store,
        job: &JobId,
        epoch: u64,
        plan: &dyn Fn(&crate::job::JobState) -> Vec<crate::job::NewEvent>,
    ) -> Result<Vec<u64>> {
        let fence = crate::store::AppendOptions { create: false, fence: Some(epoch) };
        let done = store.append(job, fence, &mut |state| {
            Ok(plan(state)
                .into_iter()
                .map(|mut e| {
                    e.payload.insert("epoch".into(), serde_json::json!(epoch));
                    e
                })
                .collect())
        })?;
        self.apply_appended(store, job, &done.records);
        Ok(done.records.iter().map(|r| r.seq).collect())
    }

    /// Apply `records`, just appended by this process. Records another writer appended since this
    /// history last looked (a `wrkr pause`, a lease renewal) come before them: they are read
    /// first, or applying ours would move `last_seq` past them and no later read would return
    /// them (a pause that landed between a step's end and its end batch went unseen). Best effort:
    /// when that read fails, ours are applied alone, as before, and the batch stays acknowledged.
    pub fn apply_appended(&mut self, store: &dyn Store, job: &JobId, records: &[EventRecord]) {
        if records.first().is_some_and(|r| r.seq > self.last_seq + 1) {
            let _ = self.catch_up(store, job);
        }
        for record in records {
            self.apply(record);
        }
    }

    /// The JobSpec's budgets with every `wrkr budget raise` applied.
    pub fn limits(&self) -> Option<Limits> {
        let mut budgets = self.spec.as_ref()?.budgets.clone();
        if let Value::Object(map) = &mut budgets {
            map.extend(self.raised.clone());
        }
        serde_json::from_value(budgets).ok()
    }

    pub fn latest_decision(&self) -> Option<&CheckpointInfo> {
        self.latest_decision.as_ref()
    }

    pub fn is_approved(&self, checkpoint_id: &str) -> bool {
        self.approvals.get(checkpoint_id).is_some_and(|n| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::job::NewEvent;
    use crate::store::{AppendOptions, FsStore};

    // A pause that another process appended between the runner's last read and its next append
    // was skipped for good: applying the runner's own records moved `last_seq` past it, so the
    // runner went on starting the steps of a paused job.
    #[test]
    fn a_record_another_writer_appended_before_ours_is_not_skipped() {
        let dir = tempfile::TempDir::new().unwrap();
        let (runner, other) = (FsStore::new(dir.path().into()), FsStore::new(dir.path().into()));
        let job = JobId::parse("job_gap").unwrap();
        runner.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![])).unwrap();
        runner.change_status(&job, Status::Running, None).unwrap();
        let epoch = runner.acquire_lease(&job, "runner", Duration::from_secs(60)).unwrap().epoch;
        let mut history = History::load(&runner, &job).unwrap();
        assert_eq!(history.status, Status::Running);
        other.change_status(&job, Status::Paused, None).unwrap();
        let note = NewEvent::new("x-note", json!({}));
        let seqs = history.append_fenced(&runner, &job, epoch, &|_| vec![note.clone()]).unwrap();
        assert_eq!(history.last_seq, seqs[0]);
        assert_eq!(history.status, Status::Paused, "the pause before our record was applied");
        history.catch_up(&runner, &job).unwrap();
        assert_eq!(history.status, Status::Paused);
    }
}
