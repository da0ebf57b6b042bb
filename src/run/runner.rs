//! The runner: drives a submitted job's steps under a fenced lease until it completes or stops.
//!
//! Crash safety and exactly-once, in ledger terms:
//! - Before a step runs, its attempt is durable (`adapter_step` with `attempt` and the idempotency
//!   key `job:step:attempt`). After it, its end is durable (`x-step_finished`) in the same batch as
//!   its counters and checkpoint. A step whose end is recorded as succeeded is never run again; an
//!   attempt with no recorded end was interrupted (crash, kill -9): the next runner records
//!   `x-step_interrupted` and runs the step again as a new attempt.
//! - Every append carries the runner's lease epoch and is fenced: once another worker takes the
//!   lease over, nothing this runner writes is accepted, and its heartbeat thread notices and stops
//!   the running step.
//! - Status changes and the checkpoints that announce them are appended in one batch, so a
//!   checkpoint's status label is never a lie.
//!
//! Budgets are checked before each step (would it exceed the step or tool-call limit?), during it
//! (the wall-time deadline kills the process group; reported tool calls, tokens and cost stop it as
//! they arrive) and after it. A failing step is retried while the job's retry count stays within
//! `max_retries`. Pause and cancel from other processes are honoured within one poll.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::budget::{Limits, Usage};
use crate::job::checkpoint::Checkpoint;
use crate::job::jobspec::{self, AdapterKind, JobSpec, Step};
use crate::job::{JobState, NewEvent, Status, lease};
use crate::run::heartbeat::Heartbeat;
use crate::run::history::History;
use crate::run::interrupt::{Forwarder, Interrupts, signal_name};
use crate::run::log::{DEFAULT_LOG_CAP, StreamDigest};
use crate::run::process::{self, Ending, Program, StepCommand, StepOutcome, Supervisor};
use crate::run::step_group;
use crate::run::watch::{DRAINED, StepWatch, UNREACHABLE};
use crate::run::watchdog::Watchdog;
use crate::run::{evidence, expected_artifacts, failure_hint, outage};
use crate::store::{JobId, Store, local};

pub struct Options {
    pub worker: String,
    pub ttl: Duration,
    pub heartbeat: Duration,
    /// Between SIGTERM and SIGKILL when a step is stopped.
    pub grace: Duration,
    pub log_cap: u64,
    /// Copy step output to our stdout/stderr.
    pub tee: bool,
    /// Handle SIGINT and SIGTERM (`wrkr submit`/`resume` in a terminal): stop the step's group,
    /// record the interruption, leave the job `paused` and release the lease (see [`drive`]).
    pub interruptible: bool,
    /// The epoch of a lease the caller already holds for `worker` (`wrkr worker` claimed the job):
    /// the run takes no lease of its own.
    pub claimed: Option<u64>,
    /// Raised when the run should stop before its next step (a draining `wrkr worker`): the step
    /// running now finishes, the job stays `running` and its lease is released, so another worker
    /// continues it.
    pub drain: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Raised when a draining worker's grace deadline passed: the running step is stopped, its
    /// end recorded as `interrupted`, and the run stops as for `drain`.
    pub drain_stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Options {
    pub fn new(ttl: Duration) -> Options {
        Options {
            worker: format!("dispatch-{}", std::process::id()),
            ttl,
            heartbeat: (ttl / 3).max(Duration::from_millis(200)),
            grace: Duration::from_secs(2),
            log_cap: DEFAULT_LOG_CAP,
            tee: false,
            interruptible: false,
            claimed: None,
            drain: None,
            drain_stop: None,
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options::new(lease::DEFAULT_TTL)
    }
}

/// Where a run stopped without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Waiting for `wrkr approve` on a decision-needed checkpoint.
    BlockedDecision,
    Paused,
    Canceled,
    /// Stopped before a step for a draining worker; still `running`, lease released.
    Drained,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub outcome: Outcome,
    pub status: Status,
    pub checkpoint_id: Option<String>,
    /// The adapter that ran (Go's `resume --json` reports it).
    pub adapter: &'static str,
    /// The first step not yet done when the run stopped (Go's cursor; the step count when complete).
    pub next_step_index: usize,
    /// Expected artifacts the workspace lacked when the job completed.
    pub missing_artifacts: Vec<String>,
}

impl Report {
    /// Add the outcome's facts to a JSON reply: status, the checkpoint, missing expected artifacts.
    pub fn add_to(&self, out: &mut Value) {
        out["status"] = json!(self.status.as_str());
        if let Some(cp) = &self.checkpoint_id {
            out["checkpoint_id"] = json!(cp);
        }
        if !self.missing_artifacts.is_empty() {
            out["missing_artifacts"] = json!(self.missing_artifacts);
        }
    }

    /// For people: the expected artifacts a completed job lacks, if any.
    pub fn warning(&self, job: &JobId) -> Option<String> {
        (!self.missing_artifacts.is_empty()).then(|| {
            format!(
                "warning: job {} completed without expected artifacts: {} (recorded in its ledger and checkpoint)",
                job.as_str(),
                self.missing_artifacts.join(", ")
            )
        })
    }
}

/// Run `job` from where its ledger says it is. Errors are the job's blocking failures
/// (`E_BUDGET_EXCEEDED`, `E_ADAPTER_FAIL`, `E_LEASE_CONFLICT`), recorded before they are returned.
///
/// With `opts.interruptible`, a SIGINT or SIGTERM is handled as `wrkr wrap` handles it: the signal
/// is forwarded to the running step's process group (a second one, or the grace period running
/// out, stops the group), the step's end is recorded as `interrupted`, the job moves to `paused`
/// with an `x-runner_interrupted` event naming the signal, the lease is released, and the error
/// says how to resume. A signal between steps stops before the next one.
pub fn drive(store: &dyn Store, job: &JobId, opts: &Options) -> Result<Report> {
    let interrupts = match opts.interruptible {
        true => Some(Interrupts::install().map_err(|e| Error::io("install the Ctrl-C handler", e))?),
        false => None,
    };
    let mut history = History::load(store, job)?;
    // The typed steps, read from the recorded line; never the whole document (issue 16).
    let taken = history.take_spec();
    let recorded = history.spec.clone().ok_or_else(|| {
        Error::invalid_input("this job was not submitted from a JobSpec; there is nothing to run")
            .with("job_id", job.as_str())
    })?;
    let spec = taken.unwrap_or_else(|| jobspec::from_document(Value::Null))?;
    release_freed_memory();
    let location = store.location();
    // Logs, the step group record, the watchdog: on this host's disk (`store::local`).
    let job_dir = local::job_dir(&location, job)?;
    crate::store::fs::private_dir_all(&job_dir).map_err(|e| Error::io(format!("create {}", job_dir.display()), e))?;
    // Before the lease: a password file that cannot be written leaves nothing to release.
    let store_env = local::store_env(&location, &job_dir)?;
    let lease = match opts.claimed {
        Some(epoch) => ClaimedLease { epoch },
        None => ClaimedLease { epoch: store.acquire_lease(job, &opts.worker, opts.ttl)?.epoch },
    };
    // Before anything runs: a step a previous runner left running must not overlap its re-run.
    let stopped_previous = step_group::stop_previous(&job_dir, job.as_str(), lease.epoch, opts.grace);
    if let Some(stopped) = stopped_previous.as_ref().filter(|s| !s.gone) {
        store.release_lease_or_warn(job, &opts.worker, Some(lease.epoch));
        return Err(Error::generic(format!(
            "the previous runner's step (process group {}) did not stop; not running it a second time",
            stopped.group
        ))
        .with("job_id", job.as_str())
        .with("process_group", stopped.group)
        .with_hint("stop that process group (kill -KILL -- -GROUP), then run `wrkr resume` again"));
    }
    // Descriptor 3 first: steps start by `posix_spawn` only while wrkr holds it (`run::channel`),
    // and the record file would otherwise take it.
    crate::run::channel::reserve_slot();
    let step_groups = step_group::StepGroupRecord::open(&job_dir).ok();
    // A foreground runner's step dies with it (`run::watchdog`); before the heartbeat thread.
    let _watchdog = match opts.interruptible {
        true => Watchdog::start(job_dir.clone(), job.as_str().to_owned(), lease.epoch, opts.grace),
        false => None,
    };
    // The heartbeat opens its own handle (and reopens it after a broken connection).
    let heartbeat =
        Heartbeat::start_at(location.clone(), job.clone(), opts.worker.clone(), lease.epoch, opts.ttl, opts.heartbeat);
    let mut runner = Runner {
        store,
        job,
        epoch: lease.epoch,
        job_dir,
        store_env,
        history,
        spec,
        workspace: PathBuf::from(recorded.workspace),
        opts,
        heartbeat: &heartbeat,
        decisions_at_start: 0,
        prestarted: None,
        step_groups: step_groups.as_ref(),
        stopped_previous,
        interrupts: interrupts.as_ref(),
    };
    let result = runner.run().and_then(|mut report| {
        // Filled here, once, rather than at each place a run can stop.
        report.adapter = runner.spec.adapter.as_str();
        runner.history.catch_up(store, job)?;
        report.next_step_index = runner.history.cursor(runner.spec.steps.len());
        Ok(report)
    });
    let lost = heartbeat.lost();
    drop(heartbeat);
    if !lost {
        // Best effort: an unreleased lease only delays the next runner until it expires.
        store.release_lease_or_warn(job, &opts.worker, Some(lease.epoch));
    }
    result.map_err(|e| e.with("job_id", job.as_str()))
}

/// The lease a run holds: taken by [`drive`], or by the worker that claimed the job.
struct ClaimedLease {
    epoch: u64,
}

struct Runner<'a> {
    store: &'a dyn Store,
    job: &'a JobId,
    epoch: u64,
    /// This host's directory for the job's logs (`store::local`).
    job_dir: PathBuf,
    /// `WRKR_HOME`, or `WRKR_STORE` (and `PGPASSFILE`): the store a step's own `wrkr` calls go to.
    store_env: Vec<(String, String)>,
    history: History,
    spec: JobSpec,
    workspace: PathBuf,
    opts: &'a Options,
    heartbeat: &'a Heartbeat,
    decisions_at_start: usize,
    /// A step whose attempt is already durable: its `adapter_step` rode in the previous step's
    /// end batch, so starting it costs no fsync of its own.
    prestarted: Option<usize>,
    /// Where each step's process group is recorded (see `run::step_group`).
    step_groups: Option<&'a step_group::StepGroupRecord>,
    /// The previous runner's step that was stopped before this run, reported with the interruption.
    stopped_previous: Option<step_group::Stopped>,
    /// SIGINT/SIGTERM handling, when the run is interruptible.
    interrupts: Option<&'a Interrupts>,
}

/// How one step ended, for the ledger.
enum StepEnd {
    Succeeded,
    NotExecuted,
    Failed(i32),
    TimedOut,
    Canceled,
    Paused,
    OverBudget(String),
    /// SIGINT or SIGTERM reached the runner while the step ran.
    Interrupted(i32),
    /// Stopped by the runner itself: a drain's grace deadline, or the store out of reach for too
    /// long (the reason says which).
    StoppedByRunner(String),
}

impl StepEnd {
    fn name(&self) -> &'static str {
        match self {
            StepEnd::Succeeded => "succeeded",
            StepEnd::NotExecuted => "not_executed",
            StepEnd::Failed(_) => "failed",
            StepEnd::TimedOut => "timed_out",
            StepEnd::Canceled => "canceled",
            StepEnd::Paused | StepEnd::Interrupted(_) | StepEnd::StoppedByRunner(_) => "interrupted",
            StepEnd::OverBudget(_) => "stopped_budget",
        }
    }
}

impl Runner<'_> {
    fn run(&mut self) -> Result<Report> {
        self.history.catch_up(self.store, self.job)?;
        self.start()?;
        self.decisions_at_start = self.count_decisions();
        if self.spec.adapter == AdapterKind::Noop {
            return self.complete("noop adapter completed");
        }
        loop {
            let index = self.history.cursor(self.spec.steps.len());
            if index == self.spec.steps.len() {
                return self.complete("reference adapter completed");
            }
            self.history.catch_up(self.store, self.job)?;
            if let Some((signal, _)) = self.interrupts.and_then(Interrupts::received) {
                self.withdraw_prestart()?;
                return self.interrupted(signal, Vec::new());
            }
            if self.opts.drain.as_ref().is_some_and(|d| d.load(std::sync::atomic::Ordering::SeqCst)) {
                self.withdraw_prestart()?;
                return Ok(self.stopped(Outcome::Drained));
            }
            if let Some(report) = self.between_steps()? {
                self.withdraw_prestart()?;
                return Ok(report);
            }
            let step = &self.step(index);
            let ran = u64::from(step.executed && !step.command.trim().is_empty());
            let mut next = self.usage();
            next.step_count += 1;
            next.tool_call_count += ran;
            let over = self.limits().violations(&next);
            if !over.is_empty() {
                return self.block_budget(over);
            }
            if let Some(report) = self.run_step(index)? {
                return Ok(report);
            }
        }
    }

    /// Step `index`, made from the packed list (`jobspec::Steps`). Every index asked for comes
    /// from the cursor and is below the step count; past it, an empty step would do nothing.
    fn step(&self, index: usize) -> Step {
        self.spec.steps.get(index).unwrap_or_default()
    }

    fn limits(&self) -> Limits {
        self.history.limits().unwrap_or_else(|| self.spec.budgets.clone())
    }

    fn usage(&self) -> Usage {
        self.history.usage(Timestamp::now())
    }

    fn count_decisions(&self) -> usize {
        self.history.decision_count
    }

    /// Append `plan`'s events (each stamped with our epoch) as one fenced batch, riding out a
    /// store outage (`run::outage`).
    fn commit(&mut self, plan: &dyn Fn(&JobState) -> Vec<NewEvent>) -> Result<Vec<u64>> {
        // A Ctrl-C or a drain deadline ends the wait: the person or the supervisor wants out.
        let (interrupts, drain_stop) = (self.interrupts, self.opts.drain_stop.clone());
        let mut outage = outage::Outage::default().abort_when(Box::new(move || {
            interrupts.is_some_and(|i| i.received().is_some())
                || drain_stop.as_ref().is_some_and(|d| d.load(std::sync::atomic::Ordering::SeqCst))
        }));
        loop {
            let before = self.history.last_seq;
            let err = match self.history.append_fenced(self.store, self.job, self.epoch, plan) {
                Ok(seqs) => return Ok(seqs),
                Err(err) => err,
            };
            if outage::is_fenced(&err) {
                outage::refused(self.job, self.epoch, "runner", &err);
            }
            if !outage.retry(self.job, "append", &err) {
                return Err(err);
            }
            // The connection may have broken after the commit reached the server: a batch with
            // our epoch after `before` is this one (only this thread writes such records, besides
            // the heartbeat's `lease_*`), and must not be appended twice.
            if let Ok(seqs) = self.ours_since(before)
                && !seqs.is_empty()
            {
                return Ok(seqs);
            }
        }
    }

    /// The seqs after `before` of records this runner wrote (its epoch, not a lease renewal).
    fn ours_since(&mut self, before: u64) -> Result<Vec<u64>> {
        let seqs = outage::landed(self.store, self.job, self.epoch, before)?;
        self.history.catch_up(self.store, self.job)?;
        Ok(seqs)
    }

    /// Move to `running` (from queued, paused or blocked), and say what the job is for.
    fn start(&mut self) -> Result<()> {
        match self.history.status {
            Status::Running => {}
            Status::Completed | Status::Canceled => {
                let status = self.history.status;
                return Err(Error::new(
                    ReasonCode::InvalidStateTransition,
                    format!("job is {status}; there is nothing to run"),
                )
                .with("from", status.as_str())
                .with("to", "running"));
            }
            _ => {
                self.commit(&|s| vec![NewEvent::status_changed(s.status, Status::Running)])?;
            }
        }
        if !self.history.has_plan {
            let cp = Checkpoint::new("plan", self.spec.objective.clone(), Status::Running, self.usage());
            self.commit(&|_| vec![cp.event()])?;
        }
        Ok(())
    }

    /// A stop with the job's current status and nothing else to report.
    fn stopped(&self, outcome: Outcome) -> Report {
        Report {
            outcome,
            status: self.history.status,
            checkpoint_id: None,
            adapter: "",
            next_step_index: 0,
            missing_artifacts: Vec::new(),
        }
    }

    /// Requests made while the previous step ran: pause, cancel, an emitted decision-needed.
    fn between_steps(&mut self) -> Result<Option<Report>> {
        let status = self.history.status;
        let stop = |outcome| {
            Some(Report {
                outcome,
                status,
                checkpoint_id: None,
                adapter: "",
                next_step_index: 0,
                missing_artifacts: Vec::new(),
            })
        };
        match status {
            Status::Paused => return Ok(stop(Outcome::Paused)),
            Status::Canceled => return Ok(stop(Outcome::Canceled)),
            _ => {}
        }
        if self.count_decisions() > self.decisions_at_start
            && let Some(cp) = self.history.latest_decision().cloned()
            && !self.history.is_approved(&cp.id())
        {
            self.commit(&|s| vec![NewEvent::status_changed(s.status, Status::BlockedDecision)])?;
            return Ok(Some(Report {
                outcome: Outcome::BlockedDecision,
                status: Status::BlockedDecision,
                checkpoint_id: Some(cp.id()),
                adapter: "",
                next_step_index: 0,
                missing_artifacts: Vec::new(),
            }));
        }
        Ok(None)
    }

    /// The `adapter_step` that makes attempt `attempt` of step `index` durable before it runs.
    fn start_event(&self, index: usize, attempt: u64) -> NewEvent {
        let step = &self.step(index);
        let key = format!("{}:{}:{attempt}", self.job.as_str(), step.id);
        NewEvent::new(
            "adapter_step",
            json!({"adapter": "reference", "step_id": step.id, "step_index": index, "summary": step.summary,
                   "command": step.command, "executed": step.executed, "artifacts": step.artifacts,
                   "attempt": attempt, "idempotency_key": key}),
        )
    }

    fn run_step(&mut self, index: usize) -> Result<Option<Report>> {
        let step = self.step(index);
        let progress = self.history.step(index);
        let attempt;
        if self.prestarted.take() == Some(index) && progress.open_attempt == Some(progress.attempts) {
            attempt = progress.attempts;
        } else {
            attempt = progress.attempts + 1;
            let started = self.start_event(index, attempt);
            let stopped = self.stopped_previous.take();
            let interrupted = progress.open_attempt.map(|a| {
                let mut payload = json!({"step_id": step.id, "step_index": index, "attempt": a, "reason": "no end was recorded: its runner stopped mid-step"});
                if let Some(stopped) = &stopped {
                    payload["stopped_process_group"] = json!({"group": stopped.group, "epoch": stopped.epoch});
                }
                NewEvent::new("x-step_interrupted", payload)
            });
            self.commit(&|_| interrupted.iter().cloned().chain([started.clone()]).collect())?;
        }
        let key = format!("{}:{}:{attempt}", self.job.as_str(), step.id);

        let ran = step.executed && !step.command.trim().is_empty();
        let (end, outcome, reported) = if ran {
            self.execute(index, &step.id, &step.command, attempt)?
        } else {
            (StepEnd::NotExecuted, None, Reported::default())
        };
        let mut finished = NewEvent::new(
            "x-step_finished",
            json!({"step_id": step.id, "step_index": index, "attempt": attempt, "idempotency_key": key,
                   "outcome": end.name(), "exit_code": outcome.as_ref().map(StepOutcome::exit_code),
                   "duration_ms": outcome.as_ref().map(|o| o.duration.as_millis() as u64),
                   "stdout": outcome.as_ref().and_then(|o| o.stdout.as_ref()).map(stream_json),
                   "stderr": outcome.as_ref().and_then(|o| o.stderr.as_ref()).map(stream_json)}),
        );
        // What export and acceptance need from this step, into the store before its end is.
        let claimed = [&step.artifacts, &reported.added, &reported.changed, &reported.removed];
        let log_name = crate::run::attempts::log_name(index as u64, &step.id, attempt);
        let log_dir = self.job_dir.join("logs");
        let step_evidence = evidence::StepEvidence {
            workspace: &self.workspace,
            artifacts: claimed.iter().flat_map(|list| list.iter().map(String::as_str)).collect(),
            log_dir: &log_dir,
            log_name: &log_name,
        };
        let mut outage = outage::Outage::default();
        while let Err(err) = evidence::record(self.store, self.job, &step_evidence, &mut finished) {
            if !outage.retry(self.job, "record the step's evidence", &err) {
                return Err(err);
            }
        }
        let tools = u64::from(ran);
        match end {
            StepEnd::Succeeded | StepEnd::NotExecuted => self.step_done(index, finished, tools, reported),
            StepEnd::Failed(code) => {
                let logs_command = format!("wrkr logs {} {} --failed", self.job.as_str(), step.id);
                if self.history.retry_count < self.limits().max_retries {
                    self.commit(&|s| vec![finished.clone(), counters(s, 0, tools, 1)])?;
                    return Ok(None);
                }
                let mut usage = self.usage();
                usage.tool_call_count += tools;
                let cp = Checkpoint::new(
                    "blocked",
                    format!("reference step {} failed (exit={code})", step.id),
                    Status::BlockedError,
                    usage,
                )
                .reason("E_ADAPTER_FAIL");
                self.commit(&|s| {
                    vec![
                        finished.clone(),
                        counters(s, 0, tools, 0),
                        NewEvent::status_changed(s.status, Status::BlockedError),
                        cp.event(),
                    ]
                })?;
                // A step that never started says why (its exit code alone, 127, hides the cause).
                let message = match outcome.as_ref().map(|o| &o.ending) {
                    Some(Ending::FailedToStart(why)) => format!("step {} could not start: {why}", step.id),
                    _ => format!("step {} failed (exit={code})", step.id),
                };
                Err(Error::new(ReasonCode::AdapterFail, message)
                    .with("step_id", step.id.as_str())
                    .with("exit_code", code)
                    .with("status", "blocked_error")
                    .with("logs", logs_command.clone())
                    // The logs command is the `logs` detail, printed on a line of its own.
                    .with_hint(failure_hint::after_failed_step(
                        self.job.as_str(),
                        &step.id,
                        &step.command,
                        self.history.spec.as_ref().map(|s| s.spec_path.as_str()),
                    )))
            }
            StepEnd::TimedOut | StepEnd::OverBudget(_) => {
                self.commit(&|s| vec![finished.clone(), counters(s, 0, tools, 0)])?;
                let mut over = self.limits().violations(&self.usage());
                if over.is_empty() {
                    over = match &end {
                        StepEnd::OverBudget(why) => vec![why.trim_start_matches("budget exceeded: ").to_owned()],
                        _ => vec![format!("wall_time_seconds>{}", self.limits().max_wall_time_seconds)],
                    };
                }
                self.block_budget(over).map(Some)
            }
            StepEnd::Canceled => {
                self.commit(&|_| vec![finished.clone()])?;
                Ok(Some(Report {
                    outcome: Outcome::Canceled,
                    status: Status::Canceled,
                    checkpoint_id: None,
                    adapter: "",
                    next_step_index: 0,
                    missing_artifacts: Vec::new(),
                }))
            }
            StepEnd::Paused => {
                self.commit(&|_| vec![finished.clone()])?;
                Ok(Some(Report {
                    outcome: Outcome::Paused,
                    status: self.history.status,
                    checkpoint_id: None,
                    adapter: "",
                    next_step_index: 0,
                    missing_artifacts: Vec::new(),
                }))
            }
            StepEnd::StoppedByRunner(why) => {
                let mut finished = finished;
                finished.payload.insert("reason".into(), json!(why));
                // Refused (the lease was taken over while the store was away): the run stops
                // with E_LEASE_CONFLICT. Accepted: the lease is still ours.
                self.commit(&|_| vec![finished.clone()])?;
                if why == DRAINED {
                    return Ok(Some(self.stopped(Outcome::Drained)));
                }
                Ok(None)
            }
            StepEnd::Interrupted(signal) => {
                let mut finished = finished;
                finished.payload.insert("signal".into(), json!(signal_name(signal)));
                self.interrupted(signal, vec![finished]).map(Some)
            }
        }
    }

    /// A step completed: its end, counters and checkpoint in one batch (plus the decision gate).
    fn step_done(
        &mut self,
        index: usize,
        finished: NewEvent,
        tools: u64,
        reported: Reported,
    ) -> Result<Option<Report>> {
        let step = &self.step(index);
        let mut usage = self.usage();
        usage.step_count += 1;
        usage.tool_call_count += tools;
        let mut added = step.artifacts.clone();
        added.extend(reported.added.into_iter().filter(|p| !step.artifacts.contains(p)));
        if step.decision_needed {
            let mut cp = Checkpoint::new("decision-needed", step.summary.clone(), Status::BlockedDecision, usage);
            cp.added = added;
            cp.changed = reported.changed;
            cp.removed = reported.removed;
            cp.required_action = Some(json!({
                "kind": step.required_action.clone().unwrap_or_else(|| "approval".to_owned()),
                "instructions": format!("review and approve step {}", step.id),
            }));
            let seqs = self.commit(&|s| {
                vec![
                    finished.clone(),
                    counters(s, 1, tools, 0),
                    NewEvent::status_changed(s.status, Status::BlockedDecision),
                    cp.event(),
                ]
            })?;
            let checkpoint_id = seqs.last().map(|seq| format!("cp_{seq}"));
            return Ok(Some(Report {
                outcome: Outcome::BlockedDecision,
                status: Status::BlockedDecision,
                checkpoint_id,
                adapter: "",
                next_step_index: 0,
                missing_artifacts: Vec::new(),
            }));
        }
        let mut cp = Checkpoint::new("progress", step.summary.clone(), self.history.status, usage.clone());
        cp.added = added;
        cp.changed = reported.changed;
        cp.removed = reported.removed;
        let next = self.next_start(index, &usage, reported.decision);
        let seqs = self.commit(&|s| {
            let mut events = vec![finished.clone(), counters(s, 1, tools, 0), cp.event()];
            // Only a job still running goes on: a pause or cancel recorded meanwhile wins.
            if let Some((_, start)) = next.as_ref().filter(|_| s.status == Status::Running) {
                events.push(start.clone());
            }
            events
        })?;
        if let Some((next_index, _)) = next
            && seqs.len() == 4
        {
            self.prestarted = Some(next_index);
        }
        if reported.decision {
            return self.between_steps();
        }
        let over = self.limits().violations(&self.usage());
        if !over.is_empty() && self.history.cursor(self.spec.steps.len()) < self.spec.steps.len() {
            return self.block_budget(over).map(Some);
        }
        Ok(None)
    }

    /// A step started in advance that will not run now (a pause or cancel came first): say so.
    fn withdraw_prestart(&mut self) -> Result<()> {
        let Some(index) = self.prestarted.take() else { return Ok(()) };
        let step = &self.step(index);
        let attempt = self.history.step(index).attempts;
        let event = NewEvent::new(
            "x-step_finished",
            json!({"step_id": step.id, "step_index": index, "attempt": attempt, "outcome": "not_started",
                   "idempotency_key": format!("{}:{}:{attempt}", self.job.as_str(), step.id)}),
        );
        self.commit(&|_| vec![event.clone()])?;
        Ok(())
    }

    /// The start of the step after `index`, when the job will go straight on to it: not after a
    /// decision, not over budget, and not when that step has an interrupted attempt to record.
    fn next_start(&self, index: usize, usage_after: &Usage, decision: bool) -> Option<(usize, NewEvent)> {
        let next = index + 1;
        let step = &self.spec.steps.get(next)?;
        let progress = self.history.step(next);
        if decision || progress.done || progress.open_attempt.is_some() {
            return None;
        }
        let mut predicted = usage_after.clone();
        predicted.step_count += 1;
        predicted.tool_call_count += u64::from(step.executed && !step.command.trim().is_empty());
        if !self.limits().violations(&predicted).is_empty() {
            return None;
        }
        Some((next, self.start_event(next, progress.attempts + 1)))
    }

    /// Run a step's command under supervision.
    fn execute(
        &mut self,
        index: usize,
        step_id: &str,
        command: &str,
        attempt: u64,
    ) -> Result<(StepEnd, Option<StepOutcome>, Reported)> {
        let limits = self.limits();
        let deadline = (limits.max_wall_time_seconds > 0).then(|| {
            let left = limits.max_wall_time_seconds.saturating_sub(self.usage().wall_time_seconds);
            // Usage violates a limit only when strictly greater, so the last whole second is allowed.
            Instant::now() + Duration::from_secs(left + 1)
        });
        let cmd = StepCommand {
            program: Program::Shell(command.to_owned()),
            cwd: self.workspace.clone(),
            env: [
                ("WRKR_JOB_ID".into(), self.job.as_str().to_owned()),
                ("WRKR_STEP_ID".into(), step_id.to_owned()),
                ("WRKR_STEP_ATTEMPT".into(), attempt.to_string()),
                ("WRKR_LEASE_EPOCH".into(), self.epoch.to_string()),
            ]
            .into_iter()
            .chain(self.store_env.iter().cloned())
            .collect(),
            log_dir: self.job_dir.join("logs"),
            log_name: crate::run::attempts::log_name(index as u64, step_id, attempt),
            log_cap: self.opts.log_cap,
            deadline,
            grace: self.opts.grace,
            tee: self.opts.tee,
            tee_stdout_to_stderr: false,
            protocol: true,
            pass_stdin: false,
            terminal: false,
        };
        let mut watch =
            StepWatch::new(self.store, self.job, self.epoch, &mut self.history, limits, self.heartbeat.lost_flag());
        watch.self_fence_after = Some(self.opts.ttl / 2);
        watch.drain_stop = self.opts.drain_stop.clone();
        let mut recording = step_group::Recording { inner: &mut watch, groups: self.step_groups, epoch: self.epoch };
        let (outcome, signal) = match self.interrupts {
            Some(interrupts) => {
                let mut forwarder = Forwarder::new(recording, interrupts, self.opts.grace);
                let outcome = process::run(&cmd, &mut forwarder)?;
                (outcome, forwarder.signal)
            }
            None => (process::run(&cmd, &mut recording)?, None),
        };
        // Records that arrived as the step ended are appended now.
        let _ = watch.should_stop();
        if let Some(err) = watch.failure.take() {
            return Err(err);
        }
        if watch.has_pending() {
            watch.flush_held_back()?;
        }
        let reported = Reported {
            added: std::mem::take(&mut watch.added),
            changed: std::mem::take(&mut watch.changed),
            removed: std::mem::take(&mut watch.removed),
            decision: watch.decision_emitted,
        };
        drop(watch);
        let end = match (&outcome.ending, signal) {
            // A step that finished its work despite the signal it was forwarded succeeded (the
            // run stops before the next step); any other end was caused by the signal.
            (Ending::Exited(0), _) => StepEnd::Succeeded,
            (_, Some(signal)) => StepEnd::Interrupted(signal),
            (Ending::Exited(code), None) => StepEnd::Failed(*code),
            (Ending::Signaled(_) | Ending::FailedToStart(_), None) => StepEnd::Failed(outcome.exit_code()),
            (Ending::TimedOut, None) => StepEnd::TimedOut,
            (Ending::Stopped(why), None) if why == "canceled" => StepEnd::Canceled,
            (Ending::Stopped(why), None) if why == "paused" => StepEnd::Paused,
            (Ending::Stopped(why), None) if why.starts_with("budget exceeded") => StepEnd::OverBudget(why.clone()),
            (Ending::Stopped(why), None) if why == DRAINED || why.starts_with(UNREACHABLE) => {
                StepEnd::StoppedByRunner(why.clone())
            }
            (Ending::Stopped(why), None) => {
                return Err(Error::new(ReasonCode::LeaseConflict, format!("step {step_id} stopped: {why}"))
                    .with_hint("another worker took over this job's lease; it continues there"));
            }
        };
        Ok((end, Some(outcome), reported))
    }

    /// SIGINT/SIGTERM: record `first` (the step's end, if one ran), the interruption and the move
    /// to `paused` in one batch, and say how to go on. The lease is released by [`drive`].
    fn interrupted(&mut self, signal: i32, first: Vec<NewEvent>) -> Result<Report> {
        let name = signal_name(signal);
        let note = NewEvent::new("x-runner_interrupted", json!({"signal": name, "status": "paused"}));
        self.commit(&|s| {
            let mut events = first.clone();
            events.push(note.clone());
            if s.status == Status::Running {
                events.push(NewEvent::status_changed(s.status, Status::Paused));
            }
            events
        })?;
        let resume = format!("wrkr resume {}", self.job.as_str());
        // One line for whoever pressed Ctrl-C, and a shell's exit for a death by that signal (128
        // + its number: 130 for SIGINT), so a script sees an interruption, not a failure.
        let exit = u8::try_from(128 + signal).unwrap_or(1);
        Err(Error::generic(format!(
            "interrupted by {name}: job {} is paused; `{resume}` continues it (an interrupted step runs again)",
            self.job.as_str()
        ))
        .with("signal", name)
        .with("status", self.history.status.as_str())
        .with("resume_command", resume.as_str())
        .with_exit_code(exit))
    }

    fn block_budget(&mut self, violations: Vec<String>) -> Result<Report> {
        let summary = format!("budget exceeded: {}", violations.join(", "));
        let cp = Checkpoint::new("blocked", summary.clone(), Status::BlockedBudget, self.usage())
            .reason("E_BUDGET_EXCEEDED");
        self.commit(&|s| {
            let mut events = Vec::new();
            if s.status == Status::Running {
                events.push(NewEvent::status_changed(s.status, Status::BlockedBudget));
            }
            let mut cp_event = cp.event();
            cp_event.payload.insert(
                "status".into(),
                json!(if s.status == Status::Running { "blocked_budget" } else { s.status.as_str() }),
            );
            events.push(cp_event);
            events
        })?;
        Err(Error::new(ReasonCode::BudgetExceeded, summary)
            .with("violations", violations)
            .with("status", self.history.status.as_str())
            .with_hint(format!(
                "raise a limit with `wrkr budget raise {job} --max-... N --reason TEXT`, then `wrkr resume {job}`",
                job = self.job
            )))
    }

    /// Complete the job, with the spec's expected artifacts checked in the same batch.
    fn complete(&mut self, summary: &str) -> Result<Report> {
        let expected = expected_artifacts::check(&self.workspace, &self.spec.expected_artifacts);
        let mut cp = Checkpoint::new("completed", expected.summary(summary), Status::Completed, self.usage());
        if !expected.missing.is_empty() {
            cp = cp.reason("E_ACCEPT_MISSING_ARTIFACT");
        }
        let checked = expected.event();
        let seqs = self.commit(&|s| {
            checked.iter().cloned().chain([NewEvent::status_changed(s.status, Status::Completed), cp.event()]).collect()
        })?;
        Ok(Report {
            outcome: Outcome::Completed,
            status: Status::Completed,
            checkpoint_id: seqs.last().map(|s| format!("cp_{s}")),
            adapter: "",
            next_step_index: 0,
            missing_artifacts: expected.missing,
        })
    }
}

/// What a step reported through the adapter protocol.
#[derive(Default)]
struct Reported {
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
    decision: bool,
}

/// Go's absolute counters, incremented from the state under the lock.
fn counters(state: &JobState, steps: u64, tools: u64, retries: u64) -> NewEvent {
    NewEvent::new(
        "counters_updated",
        json!({"retry_count": state.retry_count + retries, "step_count": state.step_count + steps, "tool_call_count": state.tool_call_count + tools}),
    )
}

fn stream_json(d: &StreamDigest) -> Value {
    json!({"sha256": d.sha256, "bytes": d.bytes, "truncated": d.truncated})
}

/// Give the memory freed after parsing a large JobSpec back to the OS: a runner that holds
/// descriptor 3 busy starts its steps with `fork` (`run::channel::spawn`), which copies the page
/// tables of every mapped page, and peak RSS is what a job's owner sees.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the OS; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
