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
                 blocked and decision-needed checkpoints make work items (others: exit 6).\n\n\
                 Prints `job_id=.. checkpoint=.. type=..`, `work_item=<path>` lines and the next commands, or \
                 with --json {payload, work_item_path?, template_path?}.",
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
    let mut out = json!({"payload": payload});
    let mut written: Vec<PathBuf> = Vec::new();
    if !args.switch(DRY_RUN.long) {
        let out_dir = PathBuf::from(args.value(OUT_DIR.long).unwrap_or(crate::cmd::export::DEFAULT_OUT_DIR));
        let dir = publish::reports_dir(&out_dir)?;
        let base = format!("work_item_{job}_{cp_id}");
        let json_path = dir.join(format!("{base}.json"));
        publish::write_file(&json_path, &crate::jcs::to_vec(&payload))?;
        out["work_item_path"] = json!(json_path.display().to_string());
        written.push(json_path);
        if let Some(t) = &template {
            let md_path = dir.join(format!("{base}_{t}.md"));
            publish::write_file(&md_path, bridge::template(&payload, t).as_bytes())?;
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
    for path in &written {
        io.line(&format!("work_item={}", path.display()))?;
    }
    io.line("next_commands:")?;
    for cmd in payload.get("next_commands").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        io.line(&format!("- {cmd}"))?;
    }
    Ok(())
}

/// The checkpoint `cp_id` of `job`, as the jobpack renders it.
fn find_checkpoint(store: &dyn Store, job: &JobId, cp_id: &str) -> Result<Value> {
    store.state(job)?;
    let mut projection = Projection::new(job.as_str());
    let mut found = None;
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
        }
        Ok(())
    })?;
    found.ok_or_else(|| {
        Error::not_found(format!("checkpoint {cp_id} not found in job {job}"))
            .with("checkpoint_id", cp_id)
            .with_hint("wrkr job inspect JOB lists its checkpoints; ids are cp_<seq>")
    })
}
