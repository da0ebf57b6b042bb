//! wrkr resume: continue a job from its durable cursor.
//!
//! Gates, in order: the job must not be finished; the latest decision-needed checkpoint must be
//! approved (exit 4 `E_CHECKPOINT_APPROVAL_REQUIRED` otherwise); the environment must match the
//! job's fingerprint (a mismatch blocks the job with `E_ENV_FINGERPRINT_MISMATCH`, exit 1, unless
//! `--force-env --reason TEXT` records an override). Then the runner takes the lease (exit 1
//! `E_LEASE_CONFLICT` while a live runner holds it; after a crash, once the dead runner's lease
//! expires) and continues: completed steps are never re-run, an interrupted one is.

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::status::one_job;
use crate::cmd::submit::{LEASE_TTL, lease_ttl};
use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::checkpoint::Checkpoint;
use crate::job::{NewEvent, Status, fingerprint};
use crate::run::history::History;
use crate::run::runner::{self, Options};
use crate::store::{AppendOptions, FsStore, JobId, Store};

const FORCE_ENV: Flag = Flag {
    long: "force-env",
    short: None,
    value: None,
    help: "Continue despite an environment fingerprint mismatch (needs --reason; recorded)",
    long_help: "",
};
const REASON: Flag = Flag {
    long: "reason",
    short: None,
    value: Some("TEXT"),
    help: "Why the override is safe (with --force-env)",
    long_help: "",
};
pub const APPROVED_BY: Flag = Flag {
    long: "approved-by",
    short: None,
    value: Some("USER"),
    help: "Who decides [default: $WRKR_APPROVED_BY, else $USER]",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "resume",
    kind: Kind::Command,
    about: "Continue a job from its last durable step",
    usage: "JOB [--force-env --reason TEXT] [--approved-by USER]",
    long_about: "Continues a paused or blocked job (or one whose runner died) from its durable cursor: completed \
                 steps are never re-run, an interrupted step runs again as a new attempt. Refuses with exit 4 \
                 while the latest decision-needed checkpoint is unapproved, and with exit 1 E_LEASE_CONFLICT \
                 while another runner's lease is live. A runner that takes over an expired lease first stops \
                 the step its predecessor left running. Ctrl-C (SIGINT) or SIGTERM pauses the job as in \
                 `wrkr submit`.",
    flags: &[&FORCE_ENV, &REASON, &APPROVED_BY, &LEASE_TTL],
    examples: &[
        Example { command: "wrkr resume job_1", what: "Continue after `wrkr approve`." },
        Example {
            command: "wrkr resume job_1 --force-env --reason 'moved to a new runner host'",
            what: "Accept a changed environment.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let job = one_job(&args, "resume")?;
    if args.switch(FORCE_ENV.long) && args.value(REASON.long).is_none_or(|r| r.trim().is_empty()) {
        return Err(
            Error::invalid_input("--force-env needs --reason TEXT").with_hint("say why the new environment is safe")
        );
    }
    let store = args.file_store()?;
    let force = args.switch(FORCE_ENV.long).then(|| EnvOverride {
        reason: args.value(REASON.long).unwrap_or_default().trim().to_owned(),
        approved_by: approver(&args),
    });
    gate(&store, &job, force.as_ref())?;
    // In a terminal, Ctrl-C pauses the job (recorded, lease released) instead of killing wrkr.
    let opts = Options { interruptible: true, ..Options::new(lease_ttl(&args)?) };
    let report = runner::drive(&store, &job, &opts)?;
    if io.json {
        let mut out = json!({"job_id": job.as_str(), "status": report.status.as_str()});
        if let Some(cp) = &report.checkpoint_id {
            out["checkpoint_id"] = json!(cp);
        }
        io.pretty(&out)
    } else {
        io.line(&format!("job_id={} status={}", job.as_str(), report.status))
    }
}

/// An accepted environment change: why, and who decided.
#[derive(Clone, Debug)]
pub struct EnvOverride {
    pub reason: String,
    pub approved_by: String,
}

/// The gates before a job may continue: not finished, the latest decision approved, the
/// environment unchanged (or `force` recorded). A mismatch without `force` blocks the job.
pub fn gate(store: &FsStore, job: &JobId, force: Option<&EnvOverride>) -> Result<()> {
    let history = History::load(store, job)?;
    if matches!(history.status, Status::Completed | Status::Canceled) {
        return Err(Error::new(
            ReasonCode::InvalidStateTransition,
            format!("job is {}; there is nothing to resume", history.status),
        )
        .with("from", history.status.as_str())
        .with("to", "running"));
    }
    if let Some(cp) = history.latest_decision()
        && !history.is_approved(&cp.id())
    {
        return Err(Error::new(ReasonCode::CheckpointApprovalRequired, "checkpoint approval required")
            .with("job_id", job.as_str())
            .with("checkpoint_id", cp.id())
            .with_hint(format!("wrkr approve {} --checkpoint {} --reason TEXT", job.as_str(), cp.id())));
    }
    check_environment(store, job, &history, force)
}

/// Who is deciding: the flag, else `$WRKR_APPROVED_BY`, else `$USER`, else `unknown`.
pub fn approver(args: &Args) -> String {
    args.value(APPROVED_BY.long)
        .map(str::to_owned)
        .or_else(|| std::env::var("WRKR_APPROVED_BY").ok())
        .or_else(|| std::env::var("USER").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Compare the environment with the job's baseline; block, or record the override.
fn check_environment(store: &FsStore, job: &JobId, history: &History, force: Option<&EnvOverride>) -> Result<()> {
    let Some(expected) = history.env_hash.clone() else { return Ok(()) };
    let now = fingerprint::capture(&history.env_rules)?;
    if now.hash == expected {
        return Ok(());
    }
    if let Some(force) = force {
        let mut payload = now.to_json();
        payload["expected_hash"] = json!(expected);
        payload["actual_hash"] = json!(now.hash);
        payload["reason"] = json!(force.reason);
        payload["approved_by"] = json!(force.approved_by);
        if let Some(map) = payload.as_object_mut() {
            map.remove("hash");
        }
        let event = NewEvent::new("env_override_recorded", payload);
        store.append(job, AppendOptions::default(), &mut |_| Ok(vec![event.clone()]))?;
        return Ok(());
    }
    let usage = history.usage(Timestamp::now());
    store.append(job, AppendOptions::default(), &mut |s| {
        let blocked = s.status.check_transition(Status::BlockedError).is_ok();
        let label = if blocked { Status::BlockedError } else { s.status };
        let cp = Checkpoint::new("blocked", "environment fingerprint mismatch; resume blocked", label, usage.clone())
            .reason("E_ENV_FINGERPRINT_MISMATCH");
        let mut events = Vec::new();
        if blocked {
            events.push(NewEvent::status_changed(s.status, Status::BlockedError));
        }
        events.push(cp.event());
        Ok(events)
    })?;
    Err(Error::new(ReasonCode::EnvFingerprintMismatch, "environment fingerprint mismatch")
        .with("job_id", job.as_str())
        .with("expected_hash", expected)
        .with("actual_hash", now.hash)
        .with_hint("resume where the job started, or pass --force-env --reason TEXT"))
}
