//! Watching a running step: what it reports (the adapter protocol) and what happens around it.
//!
//! Protocol records are validated and turned into ledger events; they are appended in one fenced
//! batch per poll (at most ten a second), not one fsync per record, so a chatty agent costs little.
//! Every poll also tails the ledger, so requests from other processes (`wrkr cancel`, `wrkr pause
//! --now`, `wrkr budget report`, `wrkr checkpoint emit`) are seen while the step runs, and the
//! budgets that reported usage counts against (tool calls, tokens, cost) stop the step the moment
//! they are exceeded. A rejected record is appended as `x-adapter_record_rejected` with its reason.
//!
//! A store that does not answer (a cut link, a server restart: `run::outage`) does not stop the
//! step at once: the records wait and the next poll tries again, until the store has been
//! unreachable for `self_fence_after` (half the lease TTL), when the step is stopped before
//! another worker may take the job over. A draining worker past its grace deadline raises
//! `drain_stop`, which stops the step too. A batch whose commit lost its answer may have landed:
//! before appending again the watch looks for it (`outage::landed`, as the runner's `commit`
//! does), so no protocol record lands twice (nor a tool call count twice against its budget).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::contract::Error;
use crate::contract::time::Timestamp;
use crate::job::budget::Limits;
use crate::job::checkpoint::Checkpoint;
use crate::job::{NewEvent, Status};
use crate::run::channel::ProtocolLine;
use crate::run::history::History;
use crate::run::process::Supervisor;
use crate::run::protocol::{self, Change, Record};
use crate::store::{AppendOptions, JobId, Store};

/// How many rejected records a step reports on stderr (the ledger has every one).
const REJECTED_ON_STDERR: u64 = 10;
/// How much of a rejected line is kept in the ledger.
const REJECTED_PREFIX_BYTES: usize = 512;

/// The stop reason of a step stopped for a draining worker at its grace deadline.
pub const DRAINED: &str = "worker draining: grace deadline passed";
/// The start of the stop reason of a step stopped because the store stopped answering.
pub const UNREACHABLE: &str = "store unreachable";

pub struct StepWatch<'a> {
    pub store: &'a dyn Store,
    pub job: &'a JobId,
    pub epoch: u64,
    pub history: &'a mut History,
    pub limits: Limits,
    pub lease_lost: Arc<AtomicBool>,
    /// Artifacts the step reported, for its checkpoint.
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// A decision-needed checkpoint was emitted while the step ran.
    pub decision_emitted: bool,
    /// The first store failure; the step is stopped and the runner reports it.
    pub failure: Option<Error>,
    /// Stop the step when the store has not answered for this long (None: at its first failure).
    pub self_fence_after: Option<Duration>,
    /// Raised by a draining worker whose grace deadline passed: stop the step.
    pub drain_stop: Option<Arc<AtomicBool>>,
    /// When the store last answered a poll.
    last_contact: Instant,
    /// The outage the store is in now was reported on stderr (once per outage).
    outage_reported: bool,
    pending: Vec<NewEvent>,
    /// The last append broke with the connection, its fate unknown: the seq it followed, and how
    /// many of `pending` (the first ones) it carried.
    unacknowledged: Option<(u64, usize)>,
    seen_decisions: usize,
    /// Records rejected so far (the first few are also reported on stderr).
    rejected: u64,
}

impl<'a> StepWatch<'a> {
    pub fn new(
        store: &'a dyn Store,
        job: &'a JobId,
        epoch: u64,
        history: &'a mut History,
        limits: Limits,
        lease_lost: Arc<AtomicBool>,
    ) -> StepWatch<'a> {
        let seen_decisions = history.decision_count;
        StepWatch {
            store,
            job,
            epoch,
            history,
            limits,
            lease_lost,
            added: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
            decision_emitted: false,
            failure: None,
            self_fence_after: None,
            drain_stop: None,
            last_contact: Instant::now(),
            outage_reported: false,
            pending: Vec::new(),
            unacknowledged: None,
            seen_decisions,
            rejected: 0,
        }
    }

    fn event(&self, event_type: &str, payload: serde_json::Value) -> NewEvent {
        let mut event = NewEvent::new(event_type, payload);
        event.payload.insert("epoch".into(), json!(self.epoch));
        event
    }

    /// Append what is pending (one fenced batch) and read what others appended.
    fn flush(&mut self) -> Result<(), Error> {
        if let Some((before, count)) = self.unacknowledged {
            if !crate::run::outage::landed(self.store, self.job, self.epoch, before)?.is_empty() {
                self.pending.drain(..count.min(self.pending.len()));
                // Applied in seq order, before any later batch of ours is.
                self.history.catch_up(self.store, self.job)?;
            }
            self.unacknowledged = None;
        }
        if !self.pending.is_empty() {
            // Kept pending until appended: an outage must not lose them.
            let batch = self.pending.clone();
            let (epoch, before) = (self.epoch, self.history.last_seq);
            let appended =
                self.store.append(self.job, AppendOptions { create: false, fence: Some(epoch) }, &mut |state| {
                    // Tool-call counts are absolute in the ledger: add to the count under the lock.
                    let mut batch = batch.clone();
                    let mut tool_calls = state.tool_call_count;
                    for event in batch.iter_mut().filter(|e| e.event_type == "counters_updated") {
                        tool_calls += event.payload.remove("add_tool_calls").and_then(|v| v.as_u64()).unwrap_or(0);
                        event.payload.insert("retry_count".into(), json!(state.retry_count));
                        event.payload.insert("step_count".into(), json!(state.step_count));
                        event.payload.insert("tool_call_count".into(), json!(tool_calls));
                    }
                    Ok(batch)
                });
            let done = appended.inspect_err(|err| {
                if crate::run::outage::is_outage(err) {
                    self.unacknowledged = Some((before, self.pending.len()));
                }
            })?;
            self.pending.clear();
            self.history.apply_appended(self.store, self.job, &done.records);
        }
        self.history.catch_up(self.store, self.job)?;
        self.last_contact = Instant::now();
        self.outage_reported = false;
        Ok(())
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// After the step ended: append the records an outage held back, riding it out.
    pub fn flush_held_back(&mut self) -> Result<(), Error> {
        let mut outage = crate::run::outage::Outage::default();
        while !self.pending.is_empty() {
            match self.flush() {
                Ok(()) => {}
                Err(err) if outage.retry(self.job, "append the step's records", &err) => {}
                Err(err) => {
                    if crate::run::outage::is_fenced(&err) {
                        crate::run::outage::refused(self.job, self.epoch, "adapter records", &err);
                    }
                    return Err(err);
                }
            }
        }
        if self.history.decision_count > self.seen_decisions {
            self.decision_emitted = true;
        }
        Ok(())
    }

    fn accept(&mut self, record: Record) {
        match record {
            Record::ToolCall { name, count } => {
                let mut counters = self.event("counters_updated", json!({"add_tool_calls": count}));
                counters.payload.insert("source".into(), json!("adapter"));
                self.pending.push(counters);
                self.pending.push(
                    self.event("x-usage_reported", json!({"tool_calls": count, "name": name, "source": "adapter"})),
                );
            }
            Record::Tokens { count } => {
                self.pending.push(self.event("x-usage_reported", json!({"tokens": count, "source": "adapter"})))
            }
            Record::Cost { usd } => {
                self.pending.push(self.event("x-usage_reported", json!({"cost": usd, "source": "adapter"})))
            }
            Record::Artifact { path, change } => {
                let list = match change {
                    Change::Added => &mut self.added,
                    Change::Changed => &mut self.changed,
                    Change::Removed => &mut self.removed,
                };
                if !list.contains(&path) {
                    list.push(path.clone());
                }
                self.pending.push(self.event("x-adapter_record", json!({"record": "artifact", "path": path})));
            }
            Record::Checkpoint { checkpoint_type, summary, required_action, reason_codes } => {
                let Ok(kind) = crate::job::checkpoint::kind(&checkpoint_type) else { return };
                let mut cp = Checkpoint::new(kind, summary, self.history.status, self.history.usage(Timestamp::now()));
                cp.required_action = required_action;
                cp.reason_codes = reason_codes;
                let mut event = cp.event();
                event.payload.insert("epoch".into(), json!(self.epoch));
                self.pending.push(event);
            }
            Record::Progress { note } => self.pending.push(self.event("x-progress", json!({"note": note}))),
        }
    }

    fn reject(&mut self, reason: String, line: &[u8]) {
        let mut prefix = String::from_utf8_lossy(&line[..line.len().min(REJECTED_PREFIX_BYTES)]).into_owned();
        if line.len() > REJECTED_PREFIX_BYTES {
            prefix.push('…');
        }
        // Also on stderr: whoever runs the step should see why its reports are ignored. Bounded,
        // so a step that writes garbage to its channel cannot flood the terminal.
        self.rejected += 1;
        if self.rejected <= REJECTED_ON_STDERR {
            crate::cli::io::diag(&format!("wrkr: adapter record rejected: {reason}: {prefix}"));
        } else if self.rejected == REJECTED_ON_STDERR + 1 {
            crate::cli::io::diag(
                "wrkr: more adapter records rejected; the ledger has each (x-adapter_record_rejected)",
            );
        }
        self.pending.push(self.event("x-adapter_record_rejected", json!({"reason": reason, "line": prefix})));
    }
}

impl Supervisor for StepWatch<'_> {
    fn record(&mut self, line: ProtocolLine) {
        match line {
            ProtocolLine::TooLong => {
                let reason = format!("record longer than {} bytes", protocol::MAX_RECORD_BYTES);
                self.reject(reason, b"");
            }
            ProtocolLine::Line(bytes) => match protocol::parse(&bytes) {
                Ok(record) => self.accept(record),
                Err(reason) => self.reject(reason, &bytes),
            },
        }
    }

    fn should_stop(&mut self) -> Option<String> {
        if self.lease_lost.load(Ordering::SeqCst) {
            return Some("lease lost".to_owned());
        }
        if self.failure.is_some() {
            return Some("store failure".to_owned());
        }
        if self.drain_stop.as_ref().is_some_and(|stop| stop.load(Ordering::SeqCst)) {
            return Some(DRAINED.to_owned());
        }
        if let Err(err) = self.flush() {
            if let Some(after) = self.self_fence_after.filter(|_| crate::run::outage::is_outage(&err)) {
                // Said once, as the runner's own retries say it (`run::outage`): the step runs on.
                if !std::mem::replace(&mut self.outage_reported, true) {
                    crate::cli::io::diag(&format!(
                        "wrkr: job {}: append the step's records: {}; retrying (the step is stopped after {} ms without an answer)",
                        self.job,
                        err.message,
                        after.as_millis()
                    ));
                }
                let away = self.last_contact.elapsed();
                return (away >= after).then(|| format!("{UNREACHABLE} for {} ms", away.as_millis()));
            }
            let lost = err.code == crate::contract::ReasonCode::LeaseConflict;
            if crate::run::outage::is_fenced(&err) {
                crate::run::outage::refused(self.job, self.epoch, "adapter records", &err);
            }
            self.failure = Some(err);
            return Some(if lost { "lease lost" } else { "store failure" }.to_owned());
        }
        if self.history.decision_count > self.seen_decisions {
            self.decision_emitted = true;
        }
        match self.history.status {
            Status::Canceled => return Some("canceled".to_owned()),
            Status::Paused if self.history.pause_now => return Some("paused".to_owned()),
            _ => {}
        }
        let mut usage = self.history.usage(Timestamp::now());
        // Wall time is enforced by the step's deadline; here only what reports can push over.
        usage.wall_time_seconds = 0;
        let over = self.limits.violations(&usage);
        if !over.is_empty() {
            return Some(format!("budget exceeded: {}", over.join(", ")));
        }
        None
    }
}
