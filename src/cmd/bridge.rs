//! wrkr bridge work-item: the tracker work item of a blocked or decision-needed checkpoint
//! (digest 10.1).
//!
//! The checkpoint comes from the job's ledger, rendered exactly as the jobpack renders it
//! (`job::projection`), so the work item matches what the pack shows. Writes
//! `<out>/reports/work_item_<job>_<cp>.json` (JCS) and, with `--template github|jira`,
//! `work_item_<job>_<cp>_<template>.md`. `--dry-run` prints the payload and writes nothing at all
//! (not even the reports directory). No job state changes. Other checkpoint types are exit 6.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::job::projection::{LedgerEvent, Projection};
use crate::report::{bridge, publish};
use crate::store::{JobId, Store};

const CHECKPOINT: Flag =
    Flag { long: "checkpoint", short: None, value: Some("CP"), help: "The checkpoint id (cp_<seq>)", long_help: "" };
const TEMPLATE: Flag = Flag {
    long: "template",
    short: None,
    value: Some("github|jira"),
    help: "Also write the work item as markdown in this layout",
    long_help: "",
};
const DRY_RUN: Flag =
    Flag { long: "dry-run", short: None, value: None, help: "Print the work item; write nothing", long_help: "" };

const OUT_DIR: Flag = Flag {
    long: "out-dir",
    short: None,
    value: Some("DIR"),
    help: "Write DIR/reports/work_item_<id>_<cp>.json (and the template's .md) [default: ./wrkr-out]",
    long_help: "Nothing is written with --dry-run.",
};

pub const COMMAND: Command = Command {
    name: "bridge",
    kind: Kind::Command,
    about: "Make a tracker work item from a blocked or decision checkpoint",
    usage: "work-item JOB --checkpoint CP [--template github|jira] [--dry-run] [--out-dir DIR]",
    long_about: "Builds the wrkr.work_item of the checkpoint: its type, the required action, reason codes, \
                 artifact pointers and the next commands (approve, resume, export, accept run). Deterministic: \
                 created_at is the checkpoint's. Writes DIR/reports/work_item_<job>_<cp>.json (JCS) and, with \
                 --template, DIR/reports/work_item_<job>_<cp>_<template>.md. --dry-run writes nothing. Only \
                 blocked and decision-needed checkpoints make work items (others: exit 6), and only while \
                 undecided: an approved decision, or a blocked checkpoint the job has run on from, is exit 6. \
                 The markdown also carries the checkpoint's summary and instructions.\n\n\
                 Prints `job_id=.. checkpoint=.. type=..`, `summary=`, `instructions=`, `work_item=<path>` lines \
                 and the next commands, or with --json {payload, checkpoint, work_item_path?, json_path?, \
                 template_path?} (json_path is Go's name for work_item_path).",
    flags: &[&CHECKPOINT, &TEMPLATE, &DRY_RUN, &OUT_DIR],
    examples: &[
        Example {
            command: "wrkr bridge work-item job_x --checkpoint cp_11 --template jira",
            what: "A Jira-ready item.",
        },
        Example { command: "wrkr --json bridge work-item job_x --checkpoint cp_11 --dry-run", what: "Just print it." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    if let Some(verb) = words.first().filter(|w| !["work-item"].contains(&w.as_str())) {
        return Err(crate::cli::suggest::unknown_verb("bridge", verb, &["work-item"]));
    }
    let job = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["work-item", job] => JobId::parse(job)?,
        _ => {
            return Err(Error::invalid_input("usage: wrkr bridge work-item JOB --checkpoint CP")
                .with_hint("wrkr bridge --help"));
        }
    };
    let cp_id = args
        .value(CHECKPOINT.long)
        .ok_or_else(|| Error::invalid_input("--checkpoint CP is required").with("flag", "--checkpoint"))?;
    let template = match args.value(TEMPLATE.long).map(str::to_ascii_lowercase) {
        Some(t) if t == "github" || t == "jira" => Some(t),
        Some(t) => {
            return Err(Error::invalid_input(format!("--template: unknown template {t:?}"))
                .with("flag", "--template")
                .with_hint("use github or jira"));
        }
        None => None,
    };
    let store = args.store()?;
    let checkpoint = find_checkpoint(&store, &job, cp_id)?;
    let payload = bridge::work_item(job.as_str(), &checkpoint)?;
    crate::contract::schema::find("wrkr.work_item")
        .ok_or_else(|| Error::generic("schema wrkr.work_item missing"))?
        .check(&payload, "work_item")?;
    // What the closed payload schema cannot hold: the checkpoint's own words.
    let summary = checkpoint.get("summary").and_then(Value::as_str).unwrap_or_default();
    let required_action = checkpoint.get("required_action").cloned().unwrap_or_else(|| json!({}));
    let mut out = json!({"payload": payload, "checkpoint": {"summary": summary, "required_action": required_action}});
    let mut written: Vec<PathBuf> = Vec::new();
    if !args.switch(DRY_RUN.long) {
        let out_dir = PathBuf::from(args.value(OUT_DIR.long).unwrap_or(crate::cmd::export::DEFAULT_OUT_DIR));
        let dir = publish::reports_dir(&out_dir)?;
        let base = format!("work_item_{job}_{cp_id}");
        let json_path = dir.join(format!("{base}.json"));
        publish::write_file(&json_path, &crate::jcs::to_vec(&payload))?;
        // `json_path` and `template_path` ("" without --template) are Go's names (digest 8.2),
        // kept beside ours for v1 consumers.
        out["work_item_path"] = json!(json_path.display().to_string());
        out["json_path"] = json!(json_path.display().to_string());
        out["template_path"] = json!("");
        written.push(json_path);
        if let Some(t) = &template {
            let md_path = dir.join(format!("{base}_{t}.md"));
            publish::write_file(&md_path, bridge::template(&payload, &checkpoint, t).as_bytes())?;
            out["template_path"] = json!(md_path.display().to_string());
            written.push(md_path);
        }
    }
    if io.json {
        return io.pretty(&out);
    }
    let text = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default();
    io.line(&format!(
        "job_id={} checkpoint={} type={}",
        text("job_id"),
        text("checkpoint_id"),
        text("checkpoint_type")
    ))?;
    if !summary.is_empty() {
        io.line(&format!("summary={summary}"))?;
    }
    if let Some(instructions) = required_action.get("instructions").and_then(Value::as_str) {
        io.line(&format!("instructions={instructions}"))?;
    }
    for path in &written {
        io.line(&format!("work_item={}", path.display()))?;
    }
    io.line("next_commands:")?;
    for cmd in payload.get("next_commands").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        io.line(&format!("- {cmd}"))?;
    }
    Ok(())
}

/// The checkpoint `cp_id` of `job`, as the jobpack renders it, refused once it is decided: a
/// decision-needed checkpoint with an approval, or a blocked one the job has since run on from. A
/// work item for it would ask someone to do what is already done (Go makes one anyway).
fn find_checkpoint(store: &dyn Store, job: &JobId, cp_id: &str) -> Result<Value> {
    store.state(job)?;
    let mut projection = Projection::new(job.as_str());
    let mut found = None;
    let mut decided: Option<String> = None;
    store.read_events(job, 1, &mut |record, _| {
        let projected = projection.event(&LedgerEvent {
            seq: record.seq,
            created_at: &record.created_at,
            event_type: &record.event_type,
            payload: record.payload.as_ref(),
        });
        if let Some(cp) = projected.checkpoint
            && cp.get("checkpoint_id").and_then(Value::as_str) == Some(cp_id)
        {
            found = Some(cp);
            return Ok(());
        }
        let Some(cp) = &found else { return Ok(()) };
        let field = |k: &str| record.payload.as_ref().and_then(|p| p.get(k)).and_then(Value::as_str);
        let kind = cp.get("type").and_then(Value::as_str);
        if decided.is_none() {
            decided = match record.event_type.as_str() {
                "approval_recorded" if kind == Some("decision-needed") && field("checkpoint_id") == Some(cp_id) => {
                    Some(format!("approved by {}", field("approved_by").unwrap_or("someone")))
                }
                "status_changed" if kind == Some("blocked") && field("to") == Some("running") => {
                    Some("resolved: the job has run again since".to_owned())
                }
                _ => None,
            };
        }
        Ok(())
    })?;
    let checkpoint = found.ok_or_else(|| {
        Error::not_found(format!("checkpoint {cp_id} not found in job {job}"))
            .with("checkpoint_id", cp_id)
            .with_hint(format!("wrkr checkpoint list {job} lists its checkpoints; ids are cp_<seq>"))
    })?;
    if let Some(how) = decided {
        return Err(Error::invalid_input(format!("checkpoint {cp_id} of job {job} is already decided ({how})"))
            .with("job_id", job.as_str())
            .with("checkpoint_id", cp_id)
            .with("decided", how)
            .with_hint(format!("wrkr status {job} shows what the job waits for now")));
    }
    Ok(checkpoint)
}
