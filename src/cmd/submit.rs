//! wrkr submit: record a JobSpec as a new job and run it (or hand it to a background runner).
//!
//! Everything that can be wrong with the spec is found before the job exists (the loader checks
//! schema, adapter, steps and fingerprint rules), so a rejected spec leaves no job directory. The
//! job is created with its spec, its workspace and its environment fingerprint in one durable
//! batch, refused atomically if the id is taken. Then the runner takes the lease and runs the
//! steps; `--detach` instead starts `wrkr resume JOB` in the background (its output goes to the
//! job's `runner.log`) and returns at once.

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
use crate::run::runner::{self, Options, Report};
use crate::store::{AppendOptions, FsStore, JobId, Store};

const JOB_ID: Flag = Flag {
    long: "job-id",
    short: None,
    value: Some("ID"),
    help: "The job id [default: <name>_<unix seconds>]",
    long_help: "",
};
const DETACH: Flag = Flag {
    long: "detach",
    short: Some('d'),
    value: None,
    help: "Return at once; a background runner runs the job",
    long_help: "",
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
    usage: "SPEC [--job-id ID] [--detach]",
    long_about: "Validates the JobSpec (YAML, or JSON by extension), creates the job with its spec, workspace \
                 and environment fingerprint, then runs its steps under a lease: each in its own process group, \
                 with budgets enforced before, during and after it. Stops at a decision-needed checkpoint \
                 (exit 0, status blocked_decision: `wrkr approve`, then `wrkr resume`), on a budget \
                 (E_BUDGET_EXCEEDED) or a failing step (E_ADAPTER_FAIL), both exit 1 and recorded. Ctrl-C \
                 (SIGINT) or SIGTERM stops the running step's process group, records the interruption, \
                 pauses the job and releases its lease (exit 1; `wrkr resume JOB` continues it).",
    flags: &[&JOB_ID, &DETACH, &LEASE_TTL],
    examples: &[
        Example { command: "wrkr submit jobspec.yaml", what: "Run a job in the foreground." },
        Example {
            command: "wrkr submit jobspec.yaml --job-id refactor-1 --detach",
            what: "Start it in the background.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    let [path] = words.as_slice() else {
        return Err(Error::invalid_input("submit takes exactly one JobSpec path").with_hint("wrkr init writes one"));
    };
    let spec = jobspec::load(Path::new(path))?;
    let now = Timestamp::now();
    let job = JobId::parse(&match args.value(JOB_ID.long) {
        Some(id) => jobspec::normalize_job_id(id),
        None => jobspec::infer_job_id(&spec.name, now),
    })?;
    let store = args.file_store()?;
    create(&store, &job, &spec, Path::new(path))?;
    let ttl = lease_ttl(&args)?;
    if args.switch(DETACH.long) {
        let pid = detach(&store, &job, ttl)?;
        let out = json!({"job_id": job.as_str(), "status": "queued", "detached": true, "runner_pid": pid,
                         "log": store.job_dir(&job).join("runner.log").display().to_string()});
        return if io.json {
            io.pretty(&out)
        } else {
            io.line(&format!("job_id={} status=queued detached=true", job.as_str()))
        };
    }
    // In a terminal, Ctrl-C pauses the job (recorded, lease released) instead of killing wrkr.
    let opts = Options { interruptible: true, ..Options::new(ttl) };
    let report = runner::drive(&store, &job, &opts)?;
    print_report(io, &job, &report, &spec, path)
}

pub fn lease_ttl(args: &Args) -> Result<Duration> {
    let secs = args.u64_or(&LEASE_TTL, crate::job::lease::DEFAULT_TTL.as_secs())?;
    if secs == 0 {
        return Err(Error::invalid_input("--lease-ttl must be at least 1 second"));
    }
    Ok(Duration::from_secs(secs))
}

/// Create the job: spec, workspace and fingerprint in one batch; refused if the id exists.
pub fn create(store: &FsStore, job: &JobId, spec: &JobSpec, spec_path: &Path) -> Result<()> {
    let workspace = workspace(spec)?;
    let fp = fingerprint::capture(&spec.environment_rules)?;
    let spec_path = std::path::absolute(spec_path).unwrap_or_else(|_| spec_path.to_path_buf());
    let recorded = NewEvent::new(
        "x-jobspec_recorded",
        json!({"jobspec": spec.document, "spec_path": spec_path.display().to_string(), "workspace": workspace.display().to_string(),
               "adapter": spec.adapter.as_str()}),
    );
    let fingerprint = NewEvent::new("env_fingerprint_set", fp.to_json());
    store.append(job, AppendOptions { create: true, fence: None }, &mut |state| {
        if state.last_applied_seq > 0 {
            return Err(Error::invalid_input("job already exists")
                .with("job_id", job.as_str())
                .with_hint("pick another --job-id"));
        }
        Ok(vec![recorded.clone(), fingerprint.clone()])
    })?;
    Ok(())
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

/// Start `wrkr resume JOB` in its own session, output to the job's runner.log.
fn detach(store: &FsStore, job: &JobId, ttl: Duration) -> Result<u32> {
    let exe = std::env::current_exe().map_err(|e| Error::io("find the wrkr binary", e))?;
    let log_path = store.job_dir(job).join("runner.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io("open runner.log", e))?;
    let err = log.try_clone().map_err(|e| Error::io("open runner.log", e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--store").arg(store.root()).args([
        "resume",
        job.as_str(),
        "--json",
        "--lease-ttl",
        &ttl.as_secs().to_string(),
    ]);
    cmd.stdin(std::process::Stdio::null()).stdout(log).stderr(err);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().map_err(|e| Error::io("start the background runner", e))?;
    Ok(child.id())
}

fn print_report(io: &mut Io, job: &JobId, report: &Report, spec: &JobSpec, spec_path: &str) -> Result<()> {
    if io.json {
        let mut out = json!({"job_id": job.as_str(), "status": report.status.as_str(), "adapter": spec.adapter.as_str(),
                             "spec_name": spec.name, "objective": spec.objective, "spec_path": spec_path});
        if let Some(cp) = &report.checkpoint_id {
            out["checkpoint_id"] = json!(cp);
        }
        io.pretty(&out)
    } else {
        let mut line = format!("job_id={} status={} adapter={}", job.as_str(), report.status, spec.adapter.as_str());
        if let Some(cp) = &report.checkpoint_id
            && report.status.as_str() == "blocked_decision"
        {
            line.push_str(&format!(" checkpoint={cp}"));
        }
        io.line(&line)
    }
}
