//! wrkr submit: record a JobSpec as a new job and run it (or hand it to a background runner).
//!
//! Everything that can be wrong with the spec is found before the job exists (the loader checks
//! schema, adapter, steps and fingerprint rules), so a rejected spec leaves no job directory. The
//! job is created with its spec, its workspace and its environment fingerprint in one durable
//! batch, refused atomically if the id is taken. Then the runner takes the lease and runs the
//! steps; `--detach` instead starts `wrkr resume JOB` in the background (its output goes to the
//! job's `runner.log`) and returns at once.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::jobspec::{self, JobSpec};
use crate::job::{NewEvent, fingerprint};
use crate::run::failure_hint::shown_command;
use crate::run::progress::{Display, Progress, Verbosity};
use crate::run::runner::{self, Options, Report};
use crate::store::{AppendOptions, JobId, Location, Store, local};

const JOB_ID: Flag = Flag {
    long: "job-id",
    short: None,
    value: Some("ID"),
    help: "The job id [default: <name>_<unix seconds>]",
    long_help: "Used exactly as given (ids are case-sensitive); one that does not match ^[A-Za-z0-9._-]+$ is \
                refused (exit 6) with a valid id suggested. The default takes a _N suffix when another job of \
                the same name started in the same second.",
};
pub const DETACH: Flag = Flag {
    long: "detach",
    short: Some('d'),
    value: None,
    help: "Return at once; a background runner runs the job",
    long_help: "",
};
pub const QUIET: Flag = Flag {
    long: "quiet",
    short: Some('q'),
    value: None,
    help: "No progress line, no failing step's output: only the result",
    long_help: "",
};
pub const VERBOSE: Flag = Flag {
    long: "verbose",
    short: Some('v'),
    value: None,
    help: "Also a line on stderr per finished step (terminal or not)",
    long_help: "",
};
const QUEUE: Flag = Flag {
    long: "queue",
    short: None,
    value: None,
    help: "Record the job as queued for `wrkr worker`; do not run it here",
    long_help: "The job is created as usual (spec checked, workspace and fingerprint recorded) with an \
                x-job_queued record naming its labels, and left `queued`: a `wrkr worker` on this store \
                (PostgreSQL, or this file store on this host) whose labels include all of the job's claims and \
                runs it. Not with --detach.",
};
pub const LABEL: Flag = Flag {
    long: "label",
    short: None,
    value: Some("LABEL"),
    help: "With --queue: only a worker with this label may run the job (repeatable)",
    long_help: "A label is 1 to 64 of A-Z a-z 0-9 . _ : - (for example gpu, linux-x86_64, team:infra).",
};
pub const LEASE_TTL: Flag = Flag {
    long: "lease-ttl",
    short: None,
    value: Some("SECONDS"),
    help: "The runner's lease time to live [default: 30]; heartbeats every third of it",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "submit",
    kind: Kind::Command,
    about: "Submit a JobSpec and run it",
    usage: "SPEC [--job-id ID] [--detach | --queue [--label L]...] [--explain] [-q|-v]",
    long_about: "Validates the JobSpec (YAML, or JSON by extension; `-` reads it from stdin), reporting every \
                 problem at once (exit 6, no job created), creates the job with its spec, workspace \
                 and environment fingerprint, then runs its steps under a lease: each in its own process group, \
                 with budgets enforced before, during and after it. Stops at a decision-needed checkpoint \
                 (exit 0, status blocked_decision: `wrkr approve`, then `wrkr resume`), on a budget \
                 (E_BUDGET_EXCEEDED) or a failing step (E_ADAPTER_FAIL), both exit 1 and recorded. Ctrl-C \
                 (SIGINT) or SIGTERM stops the running step's process group, records the interruption, \
                 pauses the job and releases its lease (exit 128 + the signal, as a shell reports it: 130 \
                 for SIGINT, 143 for SIGTERM; `wrkr resume JOB` continues it).\n\n\
                 On a terminal, one line on stderr shows the current step (i/N, id, elapsed), its latest \
                 progress note and usage against the budgets, and a failing step's last lines of output are \
                 shown before the error. When stderr is not a terminal (or with --json) nothing extra is \
                 printed. NO_COLOR turns colour off.\n\n\
                 With --explain, nothing is created: the spec is checked as above and the job id, workspace, \
                 each step's command, the budgets and the expected artifacts are printed (--json: one object).",
    flags: &[&JOB_ID, &DETACH, &QUEUE, &LABEL, &QUIET, &VERBOSE, &LEASE_TTL],
    examples: &[
        Example { command: "wrkr submit jobspec.yaml", what: "Run a job in the foreground." },
        Example {
            command: "wrkr submit jobspec.yaml --job-id refactor-1 --detach",
            what: "Start it in the background.",
        },
        Example { command: "wrkr submit --explain jobspec.yaml", what: "Check it and show what would run." },
        Example {
            command: "wrkr submit jobspec.yaml --queue --label gpu",
            what: "Queue it for a `wrkr worker --label gpu`.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    if args.explain && words.is_empty() {
        // No spec to check: the one-line intent every command gives (Go's `wrkr --explain submit`).
        return if io.json {
            io.record(&json!({"command": COMMAND.name, "intent": COMMAND.about}))
        } else {
            io.line(&format!("wrkr {}: {}", COMMAND.name, COMMAND.about))
        };
    }
    let [path] = words.as_slice() else {
        return Err(Error::invalid_input("submit takes exactly one JobSpec path").with_hint("wrkr init writes one"));
    };
    let mut spec = jobspec::load(Path::new(path))?;
    let now = Timestamp::now();
    if args.explain {
        // The id is shown as it would be used: as given, never rewritten, or the spec's default.
        let job = JobId::parse(&match args.value(JOB_ID.long) {
            Some(id) => id.to_owned(),
            None => jobspec::infer_job_id(&spec.name, now),
        })?;
        return explain(io, &job, &spec);
    }
    let queue = queue_request(&args)?;
    let store = args.store()?;
    let job = match args.value(JOB_ID.long) {
        Some(id) => {
            let job = JobId::parse(id)?;
            create_queued(&store, &job, &mut spec, Path::new(path), queue.as_ref())?;
            job
        }
        None => {
            let base = jobspec::infer_job_id(&spec.name, now);
            create_fresh_queued(&store, &base, &mut spec, Path::new(path), queue.as_ref())?
        }
    };
    // The runner reads its steps from the ledger: this process keeps only what the report names,
    // so a 25,000-step spec is not held twice while it runs (peak RSS, issue 16).
    spec.steps = jobspec::Steps::default();
    if let Some(queued) = &queue {
        let labels = queued.payload.get("labels").cloned().unwrap_or_default();
        return if io.json {
            io.pretty(&json!({"job_id": job.as_str(), "status": "queued", "queued": true, "labels": labels}))
        } else {
            io.line(&format!("job_id={} status=queued queued=true", job.as_str()))
        };
    }
    let ttl = lease_ttl(&args)?;
    if args.switch(DETACH.long) {
        let (pid, log) = detach(&store, &job, ttl)?;
        let out = json!({"job_id": job.as_str(), "status": "queued", "detached": true, "runner_pid": pid,
                         "log": log.display().to_string()});
        return if io.json {
            io.pretty(&out)
        } else {
            io.line(&format!("job_id={} status=queued detached=true", job.as_str()))?;
            tell_how_to_watch(&job);
            Ok(())
        };
    }
    let report = drive_with_progress(&args, io, &store, &job, ttl)?;
    print_report(io, &store, &job, &report, &spec, path)
}

/// Run the job in the foreground, with the progress display `-q`/`-v` and the terminal ask for.
pub fn drive_with_progress(args: &Args, io: &Io, store: &dyn Store, job: &JobId, ttl: Duration) -> Result<Report> {
    let verbosity = if args.switch(QUIET.long) {
        Verbosity::Quiet
    } else if args.switch(VERBOSE.long) {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let progress = Progress::start(store, job, Display::detect(verbosity, io.json));
    // In a terminal, Ctrl-C pauses the job (recorded, lease released) instead of killing wrkr.
    let opts = Options { interruptible: true, ..Options::new(ttl) };
    let result = runner::drive(store, job, &opts);
    progress.finish(&result);
    result
}

/// `--queue` and its labels, as the `x-job_queued` event to record; `None` without `--queue`.
fn queue_request(args: &Args) -> Result<Option<NewEvent>> {
    let labels: Vec<String> = args.values(LABEL.long).into_iter().map(str::to_owned).collect();
    if !args.switch(QUEUE.long) {
        if !labels.is_empty() {
            return Err(Error::invalid_input("--label goes with --queue").with_hint("add --queue"));
        }
        return Ok(None);
    }
    if args.switch(DETACH.long) {
        return Err(Error::invalid_input("--queue and --detach do not go together")
            .with_hint("--queue leaves the job to a `wrkr worker`; --detach runs it here in the background"));
    }
    crate::store::queue::queued_event(&labels).map(Some)
}

pub fn lease_ttl(args: &Args) -> Result<Duration> {
    let secs = args.u64_or(&LEASE_TTL, crate::job::lease::DEFAULT_TTL.as_secs())?;
    if secs == 0 {
        return Err(Error::invalid_input("--lease-ttl must be at least 1 second"));
    }
    Ok(Duration::from_secs(secs))
}

/// Create the job: spec, workspace and fingerprint in one batch; refused if the id exists.
/// The spec's document moves into the ledger's batch (it is megabytes for a long job, and one
/// copy is enough): `spec.document` is `null` afterwards.
pub fn create(store: &dyn Store, job: &JobId, spec: &mut JobSpec, spec_path: &Path) -> Result<()> {
    create_queued(store, job, spec, spec_path, None)
}

/// [`create`]; with `queued`, the job's `x-job_queued` record rides in the same batch.
fn create_queued(
    store: &dyn Store,
    job: &JobId,
    spec: &mut JobSpec,
    spec_path: &Path,
    queued: Option<&NewEvent>,
) -> Result<()> {
    let mut batch = Some(creation_batch(spec, spec_path, queued)?);
    if try_create(store, job, &mut batch)? {
        return Ok(());
    }
    Err(Error::invalid_input("job already exists").with("job_id", job.as_str()).with_hint(format!(
        "pick another --job-id, or leave it out for a fresh one; wrkr status {job} shows the existing job"
    )))
}

/// Create the job under `base` or the next free `base_N` (a default id: never collides). As
/// [`create`], `spec.document` moves into the ledger.
pub fn create_fresh(store: &dyn Store, base: &str, spec: &mut JobSpec, spec_path: &Path) -> Result<JobId> {
    create_fresh_queued(store, base, spec, spec_path, None)
}

fn create_fresh_queued(
    store: &dyn Store,
    base: &str,
    spec: &mut JobSpec,
    spec_path: &Path,
    queued: Option<&NewEvent>,
) -> Result<JobId> {
    let mut batch = Some(creation_batch(spec, spec_path, queued)?);
    crate::store::job_id::claim_fresh(base, &mut |job| try_create(store, job, &mut batch))
}

/// The job's first batch: its spec (the document moved out of `spec`), workspace and fingerprint,
/// and the queue record when there is one.
fn creation_batch(spec: &mut JobSpec, spec_path: &Path, queued: Option<&NewEvent>) -> Result<Vec<NewEvent>> {
    let workspace = workspace(spec)?;
    let fp = fingerprint::capture(&spec.environment_rules)?;
    // `-` (stdin) is recorded as given: there is no file to point back to.
    let spec_path = if spec_path.as_os_str() == "-" {
        spec_path.to_path_buf()
    } else {
        std::path::absolute(spec_path).unwrap_or_else(|_| spec_path.to_path_buf())
    };
    // Written, not built: the spec's document moves out of `spec` straight into the line's bytes
    // (a long job's steps are never one `Value`, issue 16). The bytes are serde_json's for
    // {"jobspec", "spec_path", "workspace", "adapter"}, in that order.
    let mut recorded = b"{\"jobspec\":".to_vec();
    let step_count = spec.write_document(&mut recorded);
    for (key, value) in [
        ("spec_path", spec_path.display().to_string()),
        ("workspace", workspace.display().to_string()),
        ("adapter", spec.adapter.as_str().to_owned()),
    ] {
        recorded.extend_from_slice(format!(",\"{key}\":").as_bytes());
        // A string into a Vec: cannot fail.
        let _ = serde_json::to_writer(&mut recorded, &value);
    }
    recorded.push(b'}');
    // What the job's state reads of this record (the number of steps), as a stand-in payload.
    let read_by_state = json!({"jobspec": {"inputs": {"steps": vec![serde_json::Value::Null; step_count]}}});
    let recorded = NewEvent::written("x-jobspec_recorded", recorded, read_by_state);
    let fingerprint = NewEvent::new("env_fingerprint_set", fp.to_json());
    Ok([recorded, fingerprint].into_iter().chain(queued.cloned()).collect())
}

/// Create the job with `batch` (taken from it once the append goes ahead); `Ok(false)` when the
/// id is already taken, leaving `batch` for the next id.
fn try_create(store: &dyn Store, job: &JobId, batch: &mut Option<Vec<NewEvent>>) -> Result<bool> {
    let mut taken = false;
    let created = store.append(job, AppendOptions { create: true, fence: None }, &mut |state| {
        if state.last_applied_seq > 0 {
            taken = true;
            return Err(Error::invalid_input("job already exists").with("job_id", job.as_str()));
        }
        // Each store plans an append once; a second plan would be a store bug, not a retry.
        batch.take().ok_or_else(|| Error::generic("the job's first batch was planned twice"))
    });
    match created {
        Ok(_) => Ok(true),
        Err(_) if taken => Ok(false),
        Err(err) => Err(err),
    }
}

/// The spec's `inputs.workspace`, relative to the current directory, which must exist.
fn workspace(spec: &JobSpec) -> Result<PathBuf> {
    let given = spec.workspace.as_deref().unwrap_or(".");
    let path = std::path::absolute(given).map_err(|e| Error::io("resolve the workspace", e))?;
    match std::fs::canonicalize(&path) {
        Ok(p) if p.is_dir() => Ok(p),
        _ => Err(Error::invalid_input(format!("workspace {given:?} is not a directory"))
            .with("pointer", "/inputs/workspace")),
    }
}

/// Start `wrkr resume JOB` in its own session, output to the job's runner.log (on this host:
/// `store::local`). Returns the runner's pid and the log's path.
pub fn detach(store: &dyn Store, job: &JobId, ttl: Duration) -> Result<(u32, PathBuf)> {
    let exe = std::env::current_exe().map_err(|e| Error::io("find the wrkr binary", e))?;
    let location = store.location();
    let job_dir = local::job_dir(&location, job)?;
    crate::store::fs::private_dir_all(&job_dir).map_err(|e| Error::io(format!("create {}", job_dir.display()), e))?;
    let log_path = job_dir.join("runner.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| Error::io("open runner.log", e))?;
    let err = log.try_clone().map_err(|e| Error::io("open runner.log", e))?;
    let mut cmd = std::process::Command::new(exe);
    match &location {
        Location::Dir(root) => {
            cmd.arg("--store").arg(root);
        }
        // In the environment, not on the command line: the URL may hold a password.
        Location::Postgres(url) => {
            cmd.env("WRKR_STORE", url);
        }
    }
    cmd.args(["resume", job.as_str(), "--json", "--lease-ttl", &ttl.as_secs().to_string()]);
    cmd.stdin(std::process::Stdio::null()).stdout(log).stderr(err);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().map_err(|e| Error::io("start the background runner", e))?;
    Ok((child.id(), log_path))
}

/// After `--detach`: how to watch the background runner (on stderr: stdout is the result).
pub fn tell_how_to_watch(job: &JobId) {
    let job = job.as_str();
    crate::cli::io::diag(&format!("watch it: wrkr logs {job} --follow   (where it is: wrkr status {job})"));
}

/// `submit --explain`: what would run, from the checked spec; nothing is written.
fn explain(io: &mut Io, job: &JobId, spec: &JobSpec) -> Result<()> {
    spec.warnings().iter().for_each(|w| crate::cli::io::diag(w));
    let workspace = workspace(spec)?;
    let steps: Vec<serde_json::Value> = spec
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"index": i + 1, "id": s.id, "summary": s.summary, "command": s.command,
                   "runs": s.executed && !s.command.trim().is_empty(), "decision_needed": s.decision_needed,
                   "required_action": s.required_action})
        })
        .collect();
    let budgets = serde_json::to_value(&spec.budgets).unwrap_or_default();
    if io.json {
        return io.pretty(&json!({"job_id": job.as_str(), "adapter": spec.adapter.as_str(), "created": false,
                                 "workspace": workspace.display().to_string(), "steps": steps, "budgets": budgets,
                                 "expected_artifacts": spec.expected_artifacts}));
    }
    let mut out = vec![
        format!("job_id={} adapter={} (explain: nothing was created)", job.as_str(), spec.adapter.as_str()),
        format!("workspace: {}", workspace.display()),
    ];
    let total = spec.steps.len();
    for (i, step) in spec.steps.iter().enumerate() {
        let what = if step.executed && !step.command.trim().is_empty() {
            format!("runs sh -c {}", shown_command(&step.command))
        } else {
            "recorded, not run".to_owned()
        };
        let gate = if step.decision_needed {
            format!("; then waits for approval ({})", step.required_action.as_deref().unwrap_or("approval"))
        } else {
            String::new()
        };
        out.push(format!("step {}/{total} {}: {what}{gate}", i + 1, step.id));
    }
    let limits = budgets.as_object().map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>());
    out.push(format!("budgets: {}", limits.unwrap_or_default().join(" ")));
    if !spec.expected_artifacts.is_empty() {
        out.push(format!("expected artifacts (checked at completion): {}", spec.expected_artifacts.join(", ")));
    }
    io.line(&out.join("\n"))
}

fn print_report(
    io: &mut Io,
    store: &dyn Store,
    job: &JobId,
    report: &Report,
    spec: &JobSpec,
    spec_path: &str,
) -> Result<()> {
    if io.json {
        let mut out = json!({"job_id": job.as_str(), "status": report.status.as_str(), "adapter": spec.adapter.as_str(),
                             "spec_name": spec.name, "objective": spec.objective, "spec_path": spec_path});
        report.add_to(&mut out);
        io.pretty(&out)
    } else {
        if let Some(warning) = report.warning(job) {
            crate::cli::io::diag(&warning);
        }
        let mut line = format!("job_id={} status={} adapter={}", job.as_str(), report.status, spec.adapter.as_str());
        if let Some(cp) = &report.checkpoint_id
            && report.status.as_str() == "blocked_decision"
        {
            line.push_str(&format!(" checkpoint={cp}"));
        }
        io.line(&line)?;
        if report.status.as_str() == "blocked_decision" {
            crate::cmd::status::print_next_commands(io, store, job)?;
        }
        Ok(())
    }
}
