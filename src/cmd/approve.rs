//! wrkr approve: a human's decision on a decision-needed checkpoint, recorded once.
//!
//! Only a `decision-needed` checkpoint can be approved; the reason is required; `approved_by` comes
//! from `--approved-by`, `$WRKR_APPROVED_BY` or the OS account (`job::approver`). The approval record
//! is a closed v1 schema, so where the name came from travels beside it: an `x-approval_identity`
//! event in the same batch (in the jobpack's events.jsonl), and `approved_by_source` in `--json`. A second approval of the same checkpoint is
//! refused (exit 6): the check and the append happen under the job's lock (an idempotency key per
//! checkpoint), so two people approving at once cannot both be recorded.

use serde_json::{Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::checkpoint;
use crate::cmd::resume::{APPROVED_BY, approver};
use crate::cmd::status::one_job;
use crate::contract::time::Timestamp;
use crate::contract::{Error, PRODUCER_VERSION, Result, SCHEMA_VERSION};
use crate::job::NewEvent;
use crate::job::approver::Approver;
use crate::run::outlook::Outlook;
use crate::store::{AppendOptions, JobId, Store};

const CHECKPOINT: Flag = Flag {
    long: "checkpoint",
    short: Some('c'),
    value: Some("CP"),
    help: "The decision-needed checkpoint (cp_<n>) [default: the one waiting, when exactly one is]",
    long_help: "",
};
const REASON: Flag =
    Flag { long: "reason", short: Some('r'), value: Some("TEXT"), help: "Why (required)", long_help: "" };

pub const COMMAND: Command = Command {
    name: "approve",
    kind: Kind::Command,
    about: "Approve a decision-needed checkpoint",
    usage: "JOB [--checkpoint CP] --reason TEXT [--approved-by USER]",
    long_about: "Records a wrkr.approval_record for the checkpoint. `wrkr resume JOB` then continues the job. \
                 Without --checkpoint, approves the one decision waiting for approval; when there are none \
                 or several, it refuses (exit 6) and lists them.",
    flags: &[&CHECKPOINT, &REASON, &APPROVED_BY],
    examples: &[Example {
        command: "wrkr approve job_1 --checkpoint cp_11 --reason 'plan reviewed'",
        what: "Then: wrkr resume job_1.",
    }],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let job = one_job(&args, "approve")?;
    let reason = args
        .value(REASON.long)
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Error::invalid_input("approval reason is required").with_hint("pass --reason TEXT"))?;
    let store = args.store()?;
    let cp_id = match args.value(CHECKPOINT.long) {
        Some(cp) => cp.to_owned(),
        None => the_pending_decision(store.as_ref(), &job)?,
    };
    let by = approver(&args);
    let mut record = approve(&store, &job, &cp_id, reason, &by)?;
    if io.json {
        record["approved_by_source"] = json!(by.source);
        io.pretty(&record)
    } else {
        io.line(&format!("job_id={job} approved checkpoint={cp_id} approved_by={}", by.name))?;
        // What status would say now (a wrapped job has nothing to resume).
        let outlook = Outlook::load(store.as_ref(), &job)?;
        if outlook.queued_for_workers && outlook.next_commands().iter().any(|c| c == "wrkr worker") {
            io.line("queued for workers: a running `wrkr worker` on this store picks the job up now")?;
        }
        for command in outlook.next_commands() {
            io.line(&format!("next: {command}"))?;
        }
        Ok(())
    }
}

/// The one decision-needed checkpoint of `job` waiting for approval; none or several is an error
/// that lists them (the caller then names one with --checkpoint).
fn the_pending_decision(store: &dyn Store, job: &JobId) -> Result<String> {
    let pending = Outlook::load(store, job)?.pending;
    match pending.as_slice() {
        [one] => Ok(one.checkpoint_id.clone()),
        [] => Err(Error::invalid_input(format!("job {} has no decision waiting for approval", job.as_str()))
            .with("job_id", job.as_str())
            .with_hint(format!("wrkr checkpoint list {} shows its checkpoints", job.as_str()))),
        several => {
            let listed: Vec<String> = several
                .iter()
                .map(|p| format!("{} ({})", p.checkpoint_id, p.summary.chars().take(60).collect::<String>()))
                .collect();
            let ids: Vec<&str> = several.iter().map(|p| p.checkpoint_id.as_str()).collect();
            Err(Error::invalid_input(format!(
                "job {} has {} decisions waiting for approval: {}",
                job.as_str(),
                several.len(),
                listed.join(", ")
            ))
            .with("job_id", job.as_str())
            .with("pending", ids.clone())
            .with_hint(format!(
                "name one: wrkr approve {} --checkpoint {} --reason TEXT",
                job.as_str(),
                ids[ids.len() - 1]
            )))
        }
    }
}

/// Record the approval of decision-needed checkpoint `cp_id` (once), returning the
/// `wrkr.approval_record`. `reason` must be non-blank.
pub fn approve(store: &dyn Store, job: &JobId, cp_id: &str, reason: &str, by: &Approver) -> Result<Value> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid_input("approval reason is required").with_hint("pass --reason TEXT"));
    }
    let cp = checkpoint::find(store, job, cp_id)?;
    if cp["type"] != "decision-needed" {
        return Err(Error::invalid_input(format!("checkpoint {cp_id} is {}, not decision-needed", cp["type"]))
            .with("checkpoint_id", cp_id)
            .with("type", cp["type"].clone()));
    }
    let record = json!({
        "schema_id": "wrkr.approval_record",
        "schema_version": SCHEMA_VERSION,
        "created_at": Timestamp::now().to_string(),
        "producer_version": PRODUCER_VERSION,
        "job_id": job.as_str(),
        "checkpoint_id": cp_id,
        "reason": reason,
        "approved_by": by.name,
    });
    let identity = json!({"checkpoint_id": cp_id, "approved_by": by.name, "approved_by_source": by.source});
    let key = format!("approval:{cp_id}");
    store.append(job, AppendOptions::default(), &mut |state| {
        if state.idempotency_keys.contains_key(&key) {
            return Err(
                Error::invalid_input(format!("checkpoint {cp_id} is already approved")).with("checkpoint_id", cp_id)
            );
        }
        Ok(vec![
            NewEvent::new("approval_recorded", record.clone()),
            NewEvent::new("idempotency_recorded", json!({"key": key})),
            NewEvent::new("x-approval_identity", identity.clone()),
        ])
    })?;
    Ok(record)
}
