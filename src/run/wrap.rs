//! Wrap mode: put any command under supervision as a one-step job (`wrkr wrap -- CMD ARGS...`).
//!
//! The sequence, each line one durable, fenced batch:
//! 1. the job is created with what is wrapped (`x-wrap_recorded`: argv, cwd, workspace, budgets,
//!    the `--artifact` list) and the environment fingerprint; an existing id is refused (exit 6),
//!    where Go silently appended to the old job;
//! 2. the lease is acquired (heartbeat thread), the job goes `running` with its `plan` checkpoint;
//! 3. the command runs directly (no shell) in its own process group, output teed to the terminal
//!    and to bounded, fully hashed logs in the job; adapter-protocol records are applied as they
//!    arrive (`StepWatch`); the wall-time budget is its deadline; SIGINT/SIGTERM to wrkr are
//!    forwarded to the command's group (`run::interrupt`);
//! 4. `x-wrap_finished` (outcome, exit code, stream hashes), the step counter, the `progress`
//!    checkpoint with the artifact delta, and the end: `completed`, `blocked_decision` (a
//!    decision-needed record), `blocked_budget` (E_BUDGET_EXCEEDED) or `blocked_error`
//!    (E_ADAPTER_FAIL: the command failed, could not start, or was interrupted);
//! 5. the lease is released; the jobpack is exported and verified, whatever the outcome.
//!
//! An interrupted command is recorded as `blocked_error` with outcome `interrupted` and the signal,
//! not `canceled`: the person stopped *this run*, the job did not finish, and `canceled` would claim
//! a decision about the job that nobody made. A wrap job has no JobSpec, so `wrkr resume` never
//! re-runs it (as in Go); its record is the evidence.
//!
//! Artifacts: the `--artifact` paths (relative to the workspace), the files the command created,
//! changed or removed in the workspace (`run::workspace`), and those it reported itself.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::budget::Limits;
use crate::job::checkpoint::Checkpoint;
use crate::job::projection::Capture;
use crate::job::{JobState, NewEvent, Status, fingerprint, lease};
use crate::pack::export::{ExportOptions, Exported, export_job};
use crate::pack::records::WRAP_EVENT;
use crate::pack::verify;
use crate::run::heartbeat::Heartbeat;
use crate::run::history::History;
use crate::run::interrupt::{Forwarder, Interrupts, signal_name};
use crate::run::log::{DEFAULT_LOG_CAP, StreamDigest};
use crate::run::process::{self, Ending, Program, StepCommand, StepOutcome, Supervisor};
use crate::run::progress::{Display, Progress};
use crate::run::watch::StepWatch;
use crate::run::workspace::{Delta, Snapshot};
use crate::store::job_id::claim_fresh;
use crate::store::{AppendOptions, JobId, Location, Store};

/// The base name of a wrapped command's logs (`logs/wrap.stdout.log`).
pub const WRAP_LOG_NAME: &str = "wrap";

/// The longest checkpoint summary (bytes).
const SUMMARY_MAX: usize = 2000;

pub struct WrapOptions {
    /// `None`: `job_wrap_<unix seconds>`, with a suffix when taken.
    pub job: Option<JobId>,
    pub argv: Vec<OsString>,
    /// Relative to the workspace.
    pub artifacts: Vec<String>,
    /// Watched for changes when given; artifacts are relative to it (else to `cwd`).
    pub workspace: Option<PathBuf>,
    pub cwd: PathBuf,
    pub limits: Limits,
    pub out_dir: PathBuf,
    pub capture: Capture,
    pub ttl: Duration,
    pub grace: Duration,
    pub log_cap: u64,
    pub tee: bool,
    /// Our stdout carries a JSON result: the command's stdout is copied to our stderr instead.
    pub json: bool,
    /// Give the command pseudo-terminals for its output (`--tty`, `run::pty`).
    pub tty: bool,
    /// The live progress line on stderr (`run::progress`); `None`: none.
    pub display: Option<Display>,
}

impl WrapOptions {
    pub fn new(argv: Vec<OsString>, cwd: PathBuf) -> WrapOptions {
        WrapOptions {
            job: None,
            argv,
            artifacts: Vec::new(),
            workspace: None,
            cwd,
            limits: Limits::default(),
            out_dir: PathBuf::from("wrkr-out"),
            capture: Capture::default(),
            ttl: lease::DEFAULT_TTL,
            grace: Duration::from_secs(2),
            log_cap: DEFAULT_LOG_CAP,
            tee: true,
            json: false,
            display: None,
            tty: false,
        }
    }
}

/// What a wrap did: how the command ended, and the exported pack.
pub struct WrapReport {
    pub ended: Ended,
    pub exported: Exported,
}

/// How the wrapped command and its job ended. `failure` is the job's blocking error, recorded in
/// the ledger and returned after the caller has printed the rest.
pub struct Ended {
    pub job_id: String,
    pub status: Status,
    /// `succeeded`, `failed`, `interrupted`, `timed_out`, `stopped_budget`, `canceled`, `paused`.
    pub outcome: &'static str,
    /// The v1 exit code: the command's own, -1 when it did not exit by itself, 127 when it could
    /// not start.
    pub exit_code: i32,
    /// What `--exit-code child` exits with: the command's code, or 128 + the signal that ended it.
    pub child_exit: Option<u8>,
    pub signal: Option<i32>,
    pub artifacts: Delta,
    pub stdout: Option<StreamDigest>,
    pub stderr: Option<StreamDigest>,
    pub failure: Option<Error>,
}

/// Run the whole sequence. An `Err` means the job could not be made or recorded (exit 6 for an
/// existing id); a command that failed is `Ok` with `failure` set.
pub fn wrap(location: &Location, opts: &WrapOptions) -> Result<WrapReport> {
    let argv: Vec<OsString> = opts.argv.iter().filter(|a| !a.is_empty()).cloned().collect();
    if argv.is_empty() {
        return Err(Error::invalid_input("wrap needs a command after --").with_hint("wrkr wrap -- CMD ARGS..."));
    }
    let store = crate::store::open_at(location)?;
    let store: &dyn Store = &store;
    let base = opts.workspace.clone().unwrap_or_else(|| opts.cwd.clone());
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut skip = vec![absolute(&opts.out_dir)];
    if let Location::Dir(root) = location {
        skip.push(absolute(root));
    }
    let before = opts.workspace.as_ref().map(|ws| Snapshot::take(ws, &skip));
    let job = create(store, opts, &argv, &base)?;
    let worker = format!("wrap-{}", std::process::id());
    let granted = store.acquire_lease(&job, &worker, opts.ttl)?;
    let epoch = granted.epoch;
    // Logs go to the job's directory in a file store; elsewhere (PostgreSQL) to a directory of
    // this host's that lives as long as the wrap: their tails are recorded in the store.
    let scratch;
    let log_dir = match store.local_job_dir(&job) {
        Some(dir) => dir.join("logs"),
        None => {
            scratch = tempfile::tempdir().map_err(|e| Error::io("create a directory for the logs", e))?;
            scratch.path().to_path_buf()
        }
    };
    let heartbeat = Heartbeat::start_at(
        location.clone(),
        job.clone(),
        worker.clone(),
        epoch,
        opts.ttl,
        (opts.ttl / 3).max(Duration::from_millis(200)),
    );
    let interrupts = Interrupts::install().map_err(|e| Error::io("install the Ctrl-C handler", e))?;
    let mut run = Run { store, location, log_dir, job: &job, epoch, history: History::load(store, &job)? };
    let progress = opts
        .display
        .map(|display| Progress::start_for_command(store, &job, display, label(&argv), opts.limits.clone()));
    let result = run.execute(opts, &argv, &heartbeat, &interrupts, before.as_ref(), &skip);
    if let Some(progress) = progress {
        progress.stop();
    }
    let lost = heartbeat.lost();
    drop(heartbeat);
    if !lost {
        store.release_lease_or_warn(&job, &worker, Some(epoch));
    }
    let ended = result?;
    let exported = export_job(store, &job, &opts.out_dir, &ExportOptions { capture: opts.capture, sign: None })?;
    let file =
        std::fs::File::open(&exported.path).map_err(|e| Error::io(format!("open {}", exported.path.display()), e))?;
    verify::verify(file, &verify::Options::default())?;
    drop(interrupts);
    Ok(WrapReport { ended, exported })
}

/// Create the job, refusing an existing id; a default id gets a suffix instead.
fn create(store: &dyn Store, opts: &WrapOptions, argv: &[OsString], base: &std::path::Path) -> Result<JobId> {
    let argv_text: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let recorded = NewEvent::new(
        WRAP_EVENT,
        json!({"argv": argv_text, "cwd": opts.cwd.display().to_string(), "workspace": base.display().to_string(),
               "watch_workspace": opts.workspace.is_some(), "artifacts": opts.artifacts, "budgets": opts.limits}),
    );
    let fp = NewEvent::new("env_fingerprint_set", fingerprint::capture(&fingerprint::DEFAULT_RULES)?.to_json());
    let mut try_create = |job: &JobId| {
        let mut taken = false;
        let created = store.append(job, AppendOptions { create: true, fence: None }, &mut |state| {
            if state.last_applied_seq > 0 {
                taken = true;
                return Err(Error::invalid_input("job already exists")
                    .with("job_id", job.as_str())
                    .with_hint("pick another --job-id (wrap never appends to an existing job)"));
            }
            Ok(vec![recorded.clone(), fp.clone()])
        });
        match created {
            Ok(_) => Ok(true),
            Err(_) if taken && opts.job.is_none() => Ok(false),
            Err(err) => Err(err),
        }
    };
    match &opts.job {
        Some(job) => try_create(job).map(|_| job.clone()),
        None => claim_fresh(&format!("job_wrap_{}", Timestamp::now().unix_seconds()), &mut try_create),
    }
}

struct Run<'a> {
    store: &'a dyn Store,
    location: &'a Location,
    log_dir: PathBuf,
    job: &'a JobId,
    epoch: u64,
    history: History,
}

impl Run<'_> {
    /// Append `plan`'s events, stamped with our epoch, as one fenced batch.
    fn commit(&mut self, plan: &dyn Fn(&JobState) -> Vec<NewEvent>) -> Result<()> {
        self.history.append_fenced(self.store, self.job, self.epoch, plan).map(|_| ())
    }

    fn execute(
        &mut self,
        opts: &WrapOptions,
        argv: &[OsString],
        heartbeat: &Heartbeat,
        interrupts: &Interrupts,
        before: Option<&Snapshot>,
        skip: &[PathBuf],
    ) -> Result<Ended> {
        let joined: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let plan = Checkpoint::new(
            "plan",
            clip(format!("wrap mode executing command: {}", joined.join(" "))),
            Status::Running,
            self.history.usage(Timestamp::now()),
        );
        self.commit(&|s| vec![NewEvent::status_changed(s.status, Status::Running), plan.event()])?;

        let cmd = StepCommand {
            program: Program::Argv(argv.to_vec()),
            cwd: opts.cwd.clone(),
            env: [
                ("WRKR_JOB_ID".into(), self.job.as_str().to_owned()),
                ("WRKR_STEP_ID".into(), "wrap".into()),
                ("WRKR_STEP_ATTEMPT".into(), "1".into()),
                ("WRKR_LEASE_EPOCH".into(), self.epoch.to_string()),
            ]
            .into_iter()
            // On PostgreSQL the password file goes into the private log directory, which lives
            // as long as the wrap (`store::local::store_env`).
            .chain(crate::store::local::store_env(self.location, &self.log_dir)?)
            .collect(),
            log_dir: self.log_dir.clone(),
            log_name: WRAP_LOG_NAME.into(),
            log_cap: opts.log_cap,
            deadline: (opts.limits.max_wall_time_seconds > 0)
                .then(|| Instant::now() + Duration::from_secs(opts.limits.max_wall_time_seconds)),
            grace: opts.grace,
            tee: opts.tee,
            tee_stdout_to_stderr: opts.json,
            protocol: true,
            pass_stdin: true,
            terminal: opts.tty,
        };
        let watch = StepWatch::new(
            self.store,
            self.job,
            self.epoch,
            &mut self.history,
            opts.limits.clone(),
            heartbeat.lost_flag(),
        );
        let mut forwarder = Forwarder::new(watch, interrupts, opts.grace);
        let outcome = process::run(&cmd, &mut forwarder)?;
        let signal = forwarder.signal;
        let mut watch = forwarder.inner;
        // Records that arrived as the command ended are appended now.
        let _ = watch.should_stop();
        if let Some(err) = watch.failure.take() {
            return Err(err);
        }
        let decision = watch.decision_emitted;
        let reported = Delta {
            added: std::mem::take(&mut watch.added),
            changed: std::mem::take(&mut watch.changed),
            removed: std::mem::take(&mut watch.removed),
        };
        drop(watch);
        if let Ending::Stopped(why) = &outcome.ending
            && (why == "lease lost" || why == "store failure")
        {
            return Err(Error::new(ReasonCode::LeaseConflict, format!("wrapped command stopped: {why}"))
                .with("job_id", self.job.as_str()));
        }

        let mut artifacts = Delta { added: opts.artifacts.clone(), ..Delta::default() };
        if let (Some(before), Some(ws)) = (before, &opts.workspace) {
            merge(&mut artifacts, before.delta(&Snapshot::take(ws, skip)));
        }
        merge(&mut artifacts, reported);
        self.finish(opts, &joined, outcome, signal, decision, artifacts)
    }

    /// Record how the command ended, the progress checkpoint and the job's end.
    fn finish(
        &mut self,
        opts: &WrapOptions,
        argv: &[String],
        outcome: StepOutcome,
        signal: Option<i32>,
        decision: bool,
        artifacts: Delta,
    ) -> Result<Ended> {
        let exit_code = outcome.exit_code();
        let (name, end) = classify(&outcome.ending, signal, opts);
        let stream = |d: &Option<StreamDigest>| {
            d.as_ref().map(|d| json!({"sha256": d.sha256, "bytes": d.bytes, "truncated": d.truncated}))
        };
        let mut finished = NewEvent::new(
            "x-wrap_finished",
            json!({"outcome": name, "exit_code": exit_code, "signal": signal.map(signal_name),
                   "duration_ms": outcome.duration.as_millis() as u64,
                   "stdout": stream(&outcome.stdout), "stderr": stream(&outcome.stderr)}),
        );
        let workspace = opts.workspace.clone().unwrap_or_else(|| opts.cwd.clone());
        let claimed = [&artifacts.added, &artifacts.changed, &artifacts.removed];
        let step_evidence = crate::run::evidence::StepEvidence {
            workspace: &workspace,
            artifacts: claimed.iter().flat_map(|list| list.iter().map(String::as_str)).collect(),
            log_dir: &self.log_dir,
            log_name: WRAP_LOG_NAME,
        };
        crate::run::evidence::record(self.store, self.job, &step_evidence, &mut finished)?;
        let mut usage = self.history.usage(Timestamp::now());
        usage.step_count += 1;
        let mut progress = Checkpoint::new(
            "progress",
            format!("wrap command finished (exit={exit_code})"),
            self.history.status,
            usage.clone(),
        );
        progress.added = artifacts.added.clone();
        progress.changed = artifacts.changed.clone();
        progress.removed = artifacts.removed.clone();
        // Canceled or paused from outside while it ran: that status stands.
        let (to, last, failure) = match end {
            End::Outside => (None, None, None),
            End::Succeeded if decision => (Some(Status::BlockedDecision), None, None),
            End::Succeeded => (
                Some(Status::Completed),
                Some(Checkpoint::new("completed", "wrap mode completed successfully", Status::Completed, usage)),
                None,
            ),
            End::Budget(violations) => {
                let summary = format!("budget exceeded: {}", violations.join(", "));
                let cp = Checkpoint::new("blocked", summary.clone(), Status::BlockedBudget, usage)
                    .reason("E_BUDGET_EXCEEDED");
                let err = Error::new(ReasonCode::BudgetExceeded, summary).with("violations", violations);
                (Some(Status::BlockedBudget), Some(cp), Some(err))
            }
            End::Failed(summary) => {
                let cp =
                    Checkpoint::new("blocked", summary.clone(), Status::BlockedError, usage).reason("E_ADAPTER_FAIL");
                let err = Error::new(ReasonCode::AdapterFail, summary).with("command", argv.to_vec());
                (Some(Status::BlockedError), Some(cp), Some(err))
            }
        };
        self.commit(&|s| {
            let mut events = vec![finished.clone(), counters(s), progress.event()];
            if let Some(to) = to.filter(|_| s.status == Status::Running) {
                events.push(NewEvent::status_changed(s.status, to));
                events.extend(last.as_ref().map(Checkpoint::event));
            }
            events
        })?;
        let status = self.history.status;
        let failure = failure.map(|e| {
            e.with("job_id", self.job.as_str())
                .with("exit_code", exit_code)
                .with("status", status.as_str())
                .with("outcome", name)
        });
        Ok(Ended {
            job_id: self.job.as_str().to_owned(),
            status,
            outcome: name,
            exit_code,
            child_exit: child_exit(&outcome.ending),
            signal,
            artifacts,
            stdout: outcome.stdout,
            stderr: outcome.stderr,
            failure,
        })
    }
}

/// What the progress line calls the command: its program and arguments as typed, cut to leave
/// room on the line for the time, the note and the budgets.
fn label(argv: &[OsString]) -> String {
    const LABEL_MAX: usize = 32;
    let words: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(LABEL_MAX) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// How the job ends, by how the command ended.
enum End {
    Succeeded,
    Failed(String),
    Budget(Vec<String>),
    /// Canceled or paused by another process while it ran.
    Outside,
}

fn classify(ending: &Ending, signal: Option<i32>, opts: &WrapOptions) -> (&'static str, End) {
    if let Some(sig) = signal {
        return ("interrupted", End::Failed(format!("wrap command interrupted ({})", signal_name(sig))));
    }
    match ending {
        Ending::Exited(0) => ("succeeded", End::Succeeded),
        Ending::FailedToStart(err) => {
            let program = opts.argv.first().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            ("failed", End::Failed(format!("wrap command {program:?} could not start: {err}")))
        }
        Ending::Exited(_) | Ending::Signaled(_) => ("failed", End::Failed("wrap command failed".to_owned())),
        Ending::TimedOut => {
            ("timed_out", End::Budget(vec![format!("wall_time_seconds>{}", opts.limits.max_wall_time_seconds)]))
        }
        Ending::Stopped(why) if why == "canceled" => ("canceled", End::Outside),
        Ending::Stopped(why) if why == "paused" => ("paused", End::Outside),
        Ending::Stopped(why) if why.starts_with("interrupted") => {
            ("interrupted", End::Failed(format!("wrap command {why}")))
        }
        Ending::Stopped(why) => (
            "stopped_budget",
            End::Budget(why.trim_start_matches("budget exceeded: ").split(", ").map(str::to_owned).collect()),
        ),
    }
}

/// `--exit-code child`: the command's own code, 128 + signal when a signal ended it, `None` when
/// wrkr stopped it (then wrkr's own code applies).
fn child_exit(ending: &Ending) -> Option<u8> {
    match ending {
        Ending::Exited(code) => Some(u8::try_from(*code & 0xff).unwrap_or(1)),
        Ending::Signaled(sig) if *sig > 0 => Some(u8::try_from((128 + sig) & 0xff).unwrap_or(1)),
        Ending::FailedToStart(_) => Some(127),
        _ => None,
    }
}

/// Go's absolute counters, with this wrap counted as one step.
fn counters(state: &JobState) -> NewEvent {
    NewEvent::new(
        "counters_updated",
        json!({"retry_count": state.retry_count, "step_count": state.step_count + 1, "tool_call_count": state.tool_call_count}),
    )
}

/// Add `more` to `into`, keeping each path once per list.
fn merge(into: &mut Delta, more: Delta) {
    for (list, extra) in
        [(&mut into.added, more.added), (&mut into.changed, more.changed), (&mut into.removed, more.removed)]
    {
        for path in extra {
            if !list.contains(&path) {
                list.push(path);
            }
        }
    }
}

/// A summary cut to the checkpoint limit, on a character boundary.
fn clip(mut text: String) -> String {
    if text.len() > SUMMARY_MAX {
        let mut end = SUMMARY_MAX - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The JSON a stream digest is reported as.
pub fn stream_json(d: &Option<StreamDigest>) -> Value {
    match d {
        Some(d) => json!({"sha256": d.sha256, "bytes": d.bytes, "truncated": d.truncated}),
        None => Value::Null,
    }
}
