//! wrkr resume: continue a job from its durable cursor.
//!
//! Gates, in order: the job must not be finished; the latest decision-needed checkpoint must be
//! approved (exit 4 `E_CHECKPOINT_APPROVAL_REQUIRED` otherwise); the environment must match the
//! job's fingerprint (a mismatch blocks the job with `E_ENV_FINGERPRINT_MISMATCH`, exit 1, unless
//! `--force-env --reason TEXT` records an override). Then the runner takes the lease (exit 1
//! `E_LEASE_CONFLICT` while a live runner holds it; after a crash, once the dead runner's lease
//! expires) and continues: completed steps are never re-run, an interrupted one is. A job the Go
//! implementation submitted continues from the cursor of its `runtime_config.json`
//! (`run::go_import`).

use serde_json::{Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::status::one_job;
use crate::cmd::submit::{
    DETACH, LEASE_TTL, QUIET, VERBOSE, detach, drive_with_progress, lease_ttl, tell_how_to_watch,
};
use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::approver::{self, Approver};
use crate::job::checkpoint::Checkpoint;
use crate::job::{NewEvent, Status, fingerprint};
use crate::run::go_import;
use crate::run::history::History;
use crate::store::{AppendOptions, FsStore, JobId, Location, Store};

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
    help: "Who decides [default: $WRKR_APPROVED_BY, else the OS account name]",
    long_help: "Recorded with where it came from (approved_by_source: flag, env, os_account or os_uid); the \
                account is looked up with getpwuid, never taken from $USER.",
};

pub const COMMAND: Command = Command {
    name: "resume",
    kind: Kind::Command,
    about: "Continue a job from its last durable step",
    usage: "JOB [--force-env --reason TEXT] [--approved-by USER] [--detach] [-q|-v]",
    long_about: "Continues a paused or blocked job (or one whose runner died) from its durable cursor: completed \
                 steps are never re-run, an interrupted step runs again as a new attempt. Refuses with exit 4 \
                 while the latest decision-needed checkpoint is unapproved, and with exit 1 E_LEASE_CONFLICT \
                 while another runner's lease is live. A runner that takes over an expired lease first stops \
                 the step its predecessor left running. Ctrl-C (SIGINT) or SIGTERM pauses the job as in \
                 `wrkr submit`. With --detach, the gates are checked here and a background runner continues \
                 the job (output in the job's runner.log); `wrkr logs JOB --follow` watches it. Progress on \
                 a terminal as for `wrkr submit` (-q, -v, NO_COLOR).",
    flags: &[&FORCE_ENV, &REASON, &APPROVED_BY, &LEASE_TTL, &DETACH, &QUIET, &VERBOSE],
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
    let store = args.store()?;
    let force = args.switch(FORCE_ENV.long).then(|| EnvOverride {
        reason: args.value(REASON.long).unwrap_or_default().trim().to_owned(),
        approved_by: approver(&args),
    });
    gate(&store, &job, force.as_ref())?;
    // A job the Go implementation submitted: its runtime_config.json becomes our record, once.
    // (Our jobs have no such file, so they pay no second replay of the ledger.)
    // (Go wrote only file stores: a job moved to PostgreSQL was moved with its ledger.)
    if let Location::Dir(root) = store.location() {
        let fs = FsStore::new(root);
        if fs.job_dir(&job).join(go_import::RUNTIME_CONFIG).is_file() {
            go_import::adopt(&fs, &job, &History::load(&fs, &job)?)?;
        }
    }
    if args.switch(DETACH.long) {
        return resume_in_background(io, &store, &job, lease_ttl(&args)?);
    }
    let report = drive_with_progress(&args, io, &store, &job, lease_ttl(&args)?)?;
    if io.json {
        // `adapter` and `next_step_index` are Go's keys (digest 8.2), kept for its consumers.
        let mut out = json!({"job_id": job.as_str()});
        report.add_to(&mut out);
        out["adapter"] = json!(report.adapter);
        out["next_step_index"] = json!(report.next_step_index);
        io.pretty(&out)
    } else {
        if let Some(warning) = report.warning(&job) {
            crate::cli::io::diag(&warning);
        }
        let mut line = format!("job_id={} status={}", job.as_str(), report.status);
        if report.status.as_str() != "blocked_decision" {
            return io.line(&line);
        }
        // As `submit` and `status` say it: which checkpoint waits, and the commands that continue.
        if let Some(cp) = &report.checkpoint_id {
            line.push_str(&format!(" checkpoint={cp}"));
        }
        io.line(&line)?;
        crate::cmd::status::print_next_commands(io, &store, &job)
    }
}

/// `--detach`: the gates passed here (so a refusal is seen at once, and an environment override is
/// recorded once); a background `wrkr resume` runs the job, its output in the job's runner.log.
fn resume_in_background(io: &mut Io, store: &dyn Store, job: &JobId, ttl: std::time::Duration) -> Result<()> {
    let (pid, log) = detach(store, job, ttl)?;
    let log = log.display().to_string();
    if io.json {
        return io.pretty(&json!({"job_id": job.as_str(), "detached": true, "runner_pid": pid, "log": log}));
    }
    io.line(&format!("job_id={} detached=true", job.as_str()))?;
    tell_how_to_watch(job);
    Ok(())
}

/// An accepted environment change: why, and who decided.
#[derive(Clone, Debug)]
pub struct EnvOverride {
    pub reason: String,
    pub approved_by: Approver,
}

/// The gates before a job may continue: not finished, the latest decision approved, the
/// environment unchanged (or `force` recorded). A mismatch without `force` blocks the job.
pub fn gate(store: &dyn Store, job: &JobId, force: Option<&EnvOverride>) -> Result<()> {
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

/// Who is deciding: the flag, else `$WRKR_APPROVED_BY`, else the OS account ([`approver::resolve`]).
pub fn approver(args: &Args) -> Approver {
    approver::resolve(args.value(APPROVED_BY.long))
}

/// Compare the environment with the job's baseline; block, or record the override.
fn check_environment(store: &dyn Store, job: &JobId, history: &History, force: Option<&EnvOverride>) -> Result<()> {
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
        payload["approved_by"] = json!(force.approved_by.name);
        payload["approved_by_source"] = json!(force.approved_by.source);
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
    // Name each rule whose value changed, with the old and the new value.
    let changed: Vec<Value> = history
        .env_rules
        .iter()
        .filter_map(|rule| {
            let (was, is) = (history.env_values.get(rule), now.values.get(rule));
            (was != is).then(|| json!({"rule": rule, "was": was, "now": is}))
        })
        .collect();
    let said: Vec<String> = changed
        .iter()
        .map(|c| {
            format!(
                "{} was {} and is now {}",
                c["rule"].as_str().unwrap_or_default(),
                shown(&c["was"]),
                shown(&c["now"])
            )
        })
        .collect();
    let message = match said.is_empty() {
        true => "environment fingerprint mismatch".to_owned(),
        false => format!("environment fingerprint mismatch: {}", said.join("; ")),
    };
    Err(Error::new(ReasonCode::EnvFingerprintMismatch, message)
        .with("job_id", job.as_str())
        .with("expected_hash", expected)
        .with("actual_hash", now.hash)
        .with("changed", changed)
        .with_hint(format!(
            "resume where the job started, or accept the change: wrkr resume {job} --force-env --reason TEXT"
        )))
}

/// A fingerprint value for a message: quoted, or `unset`.
fn shown(value: &Value) -> String {
    value.as_str().map_or_else(|| "unset".to_owned(), |s| format!("{s:?}"))
}
