//! wrkr checkpoint list|show|emit: a job's typed supervision points.
//!
//! `list` and `show` render `checkpoint_emitted` events as `wrkr.checkpoint` records (the same
//! rendering the jobpack uses). `emit` appends one: the summary is 1..2000 bytes (longer is an
//! error, never a dropped checkpoint), `decision-needed` needs a required action, and the status
//! label is the job's real status (`--status`, when given, must agree). A `decision-needed`
//! checkpoint emitted while a job runs stops it after the current step (`blocked_decision`).

use serde_json::{Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::checkpoint::{self, Checkpoint};
use crate::job::projection::render_checkpoint;
use crate::run::history::History;
use crate::store::{AppendOptions, JOBSPEC_EVENT, JobId, Store};

const TYPE: Flag = Flag {
    long: "type",
    short: Some('t'),
    value: Some("TYPE"),
    help: "plan, progress, decision-needed, blocked or completed",
    long_help: "",
};
const SUMMARY: Flag = Flag {
    long: "summary",
    short: Some('s'),
    value: Some("TEXT"),
    help: "What happened (1..2000 bytes)",
    long_help: "",
};
const STATUS: Flag = Flag {
    long: "status",
    short: None,
    value: Some("STATUS"),
    help: "Must equal the job's status (checkpoints never lie about it)",
    long_help: "",
};
const REQUIRED_KIND: Flag = Flag {
    long: "required-kind",
    short: None,
    value: Some("KIND"),
    help: "The action a human must take (decision-needed)",
    long_help: "",
};
const REQUIRED_INSTRUCTIONS: Flag =
    Flag { long: "required-instructions", short: None, value: Some("TEXT"), help: "How to take it", long_help: "" };
const REASON_CODE: Flag =
    Flag { long: "reason-code", short: None, value: Some("CODE"), help: "A reason code (repeatable)", long_help: "" };
const ADDED: Flag = Flag {
    long: "added",
    short: None,
    value: Some("PATH"),
    help: "An artifact path added (repeatable)",
    long_help: "",
};
const CHANGED: Flag = Flag {
    long: "changed",
    short: None,
    value: Some("PATH"),
    help: "An artifact path changed (repeatable)",
    long_help: "",
};
const REMOVED: Flag = Flag {
    long: "removed",
    short: None,
    value: Some("PATH"),
    help: "An artifact path removed (repeatable)",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "checkpoint",
    kind: Kind::Command,
    about: "List, show or emit a job's checkpoints",
    usage: "list JOB | show JOB CHECKPOINT | emit JOB --type TYPE --summary TEXT [OPTIONS]",
    long_about: "Checkpoints are typed supervision points: plan, progress, decision-needed, blocked, completed. \
                 Their id is cp_<seq>, the ledger seq of their event. A step can emit one itself with \
                 `wrkr checkpoint emit \"$WRKR_JOB_ID\" ...`; a decision-needed one stops the job after that step \
                 until `wrkr approve` and `wrkr resume`. Text output of list and show keeps the Go line format \
                 (checkpoint=.. type=.. status=.. summary=..); on a terminal a job_id=JOB line comes first.",
    flags: &[
        &TYPE,
        &SUMMARY,
        &STATUS,
        &REQUIRED_KIND,
        &REQUIRED_INSTRUCTIONS,
        &REASON_CODE,
        &ADDED,
        &CHANGED,
        &REMOVED,
    ],
    examples: &[
        Example { command: "wrkr checkpoint list job_1", what: "Every checkpoint of job_1." },
        Example {
            command: "wrkr checkpoint emit job_1 --type decision-needed --summary 'merge?' --required-kind approval",
            what: "Ask a human.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    if let Some(verb) = words.first().filter(|w| !["list", "show", "emit"].contains(&w.as_str())) {
        return Err(crate::cli::suggest::unknown_verb("checkpoint", verb, &["list", "show", "emit"]));
    }
    let store = args.store()?;
    match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["list", job] => {
            let job = JobId::parse(job)?;
            if io.json {
                return list_json(io, &store, &job);
            }
            // The header only once the job is known to exist (a missing job prints nothing).
            let mut first = true;
            for_each_checkpoint(&store, &job, &mut |cp| {
                if std::mem::take(&mut first) {
                    job_header(io, job.as_str())?;
                }
                let text = |k: &str| cp.get(k).and_then(Value::as_str).unwrap_or_default();
                let summary: String = text("summary").chars().take(160).collect();
                io.line(&format!(
                    "checkpoint={} type={} status={} summary={summary}",
                    text("checkpoint_id"),
                    text("type"),
                    text("status")
                ))
            })?;
            if first {
                job_header(io, job.as_str())?;
            }
            Ok(())
        }
        ["show", job, id] => {
            let cp = find(&store, &JobId::parse(job)?, id)?;
            if io.json {
                return io.pretty(&cp);
            }
            job_header(io, job)?;
            let text = |k: &str| cp.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            io.line(&format!("checkpoint={} type={} status={}", text("checkpoint_id"), text("type"), text("status")))?;
            io.line(&format!("summary={}", text("summary")))?;
            let codes: Vec<&str> =
                cp["reason_codes"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            if !codes.is_empty() {
                io.line(&format!("reason_codes={}", codes.join(",")))?;
            }
            show_action_and_artifacts(io, &cp)
        }
        ["emit", job] => {
            let cp = emit_from_args(&store, &JobId::parse(job)?, &args)?;
            if io.json {
                io.pretty(&cp)
            } else {
                io.line(&format!(
                    "checkpoint={} type={}",
                    cp["checkpoint_id"].as_str().unwrap_or_default(),
                    cp["type"].as_str().unwrap_or_default()
                ))
            }
        }
        _ => Err(Error::invalid_input(
            "usage: wrkr checkpoint list JOB | show JOB CHECKPOINT | emit JOB --type TYPE --summary TEXT",
        )
        .with_hint("wrkr checkpoint --help")),
    }
}

/// On a terminal, `job_id=JOB` above the checkpoint lines, so a person sees whose they are. Not
/// in a pipe: there the lines keep Go's format (`checkpoint=.. type=.. status=.. summary=..`,
/// one per checkpoint), which scripts read line by line, and the caller named the job anyway.
fn job_header(io: &mut Io, job: &str) -> Result<()> {
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) { io.line(&format!("job_id={job}")) } else { Ok(()) }
}

/// `checkpoint show` in text: what a person must do (and how), and the artifacts it names.
fn show_action_and_artifacts(io: &mut Io, cp: &Value) -> Result<()> {
    let action = |k: &str| cp.pointer(&format!("/required_action/{k}")).and_then(Value::as_str).unwrap_or_default();
    if !action("kind").is_empty() {
        io.line(&format!("required_action={}", action("kind")))?;
    }
    if !action("instructions").is_empty() {
        io.line(&format!("instructions={}", action("instructions")))?;
    }
    for change in ["added", "changed", "removed"] {
        let paths: Vec<&str> = cp
            .pointer(&format!("/artifacts_delta/{change}"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !paths.is_empty() {
            io.line(&format!("artifacts_{change}={}", paths.join(",")))?;
        }
    }
    Ok(())
}

/// Every checkpoint of a job, rendered as `wrkr.checkpoint`.
pub fn checkpoints(store: &dyn Store, job: &JobId) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for_each_checkpoint(store, job, &mut |cp| {
        out.push(cp);
        Ok(())
    })?;
    Ok(out)
}

/// Each checkpoint of a job, rendered, in ledger order, as it is read: a listing holds one at a
/// time, and the recorded JobSpec (megabytes as a document) is never parsed whole (issue 16).
pub fn for_each_checkpoint(store: &dyn Store, job: &JobId, visit: &mut dyn FnMut(Value) -> Result<()>) -> Result<()> {
    store.read_events_lean(job, 1, &[JOBSPEC_EVENT], &mut |record, _| {
        if record.event_type != "checkpoint_emitted" {
            return Ok(());
        }
        let payload = record.payload.as_ref().unwrap_or(&Value::Null);
        let delta = ["added", "changed", "removed"].map(|k| {
            payload
                .get("artifacts_delta")
                .and_then(|d| d.get(k))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        });
        visit(render_checkpoint(job.as_str(), record.seq, &record.created_at, payload, delta))
    })?;
    Ok(())
}

/// `checkpoint list --json`: the pretty array `io.pretty` would print, written one checkpoint at
/// a time (each element is its pretty form indented one level: JSON strings hold no raw newline).
fn list_json(io: &mut Io, store: &dyn Store, job: &JobId) -> Result<()> {
    let mut count = 0usize;
    let (mut element, mut indented) = (Vec::new(), Vec::new());
    for_each_checkpoint(store, job, &mut |cp| {
        element.clear();
        serde_json::to_writer_pretty(&mut element, &cp)
            .map_err(|e| Error::generic(format!("render a checkpoint: {e}")))?;
        indented.clear();
        indented.extend_from_slice(if count == 0 { b"[\n  " } else { b",\n  " });
        for &byte in &element {
            indented.push(byte);
            if byte == b'\n' {
                indented.extend_from_slice(b"  ");
            }
        }
        count += 1;
        io.write(&indented)
    })?;
    io.write(if count == 0 { b"[]\n" } else { b"\n]\n" })
}

/// One checkpoint by id (`cp_<positive integer>`).
pub fn find(store: &dyn Store, job: &JobId, id: &str) -> Result<Value> {
    if !id.strip_prefix("cp_").is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n > 0)) {
        return Err(Error::invalid_input(format!("invalid checkpoint id {id:?}"))
            .with("checkpoint_id", id)
            .with_hint("ids look like cp_12"));
    }
    checkpoints(store, job)?.into_iter().find(|c| c["checkpoint_id"] == id).ok_or_else(|| {
        Error::not_found("checkpoint not found")
            .with("job_id", job.as_str())
            .with("checkpoint_id", id)
            .with_hint(format!("wrkr checkpoint list {}", job.as_str()))
    })
}

/// A checkpoint to emit, as typed data (from flags or a request body).
#[derive(Clone, Debug, Default)]
pub struct Emit {
    pub kind: String,
    pub summary: String,
    /// Must equal the job's status when given.
    pub status: Option<String>,
    pub required_kind: Option<String>,
    pub required_instructions: Option<String>,
    pub reason_codes: Vec<String>,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

fn emit_from_args(store: &dyn Store, job: &JobId, args: &Args) -> Result<Value> {
    let strings = |flag: &Flag| args.values(flag.long).into_iter().map(str::to_owned).collect::<Vec<_>>();
    let request = Emit {
        kind: args.value(TYPE.long).ok_or_else(|| Error::invalid_input("emit needs --type TYPE"))?.to_owned(),
        summary: args.value(SUMMARY.long).ok_or_else(|| Error::invalid_input("emit needs --summary TEXT"))?.to_owned(),
        status: args.value(STATUS.long).map(str::to_owned),
        required_kind: args.value(REQUIRED_KIND.long).map(str::to_owned),
        required_instructions: args.value(REQUIRED_INSTRUCTIONS.long).map(str::to_owned),
        reason_codes: strings(&REASON_CODE),
        added: strings(&ADDED),
        changed: strings(&CHANGED),
        removed: strings(&REMOVED),
    };
    emit(store, job, &request)
}

/// Append one checkpoint and return it rendered as `wrkr.checkpoint`.
pub fn emit(store: &dyn Store, job: &JobId, request: &Emit) -> Result<Value> {
    let kind = checkpoint::kind(&request.kind)?;
    let summary = checkpoint::summary(&request.summary)?;
    let mut action = serde_json::Map::new();
    for (value, key) in [(&request.required_kind, "kind"), (&request.required_instructions, "instructions")] {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            action.insert(key.into(), json!(v));
        }
    }
    if kind == "decision-needed" && action.is_empty() {
        return Err(Error::invalid_input(
            "a decision-needed checkpoint needs --required-kind or --required-instructions",
        ));
    }
    let history = History::load(store, job)?;
    if let Some(label) = &request.status
        && label != history.status.as_str()
    {
        return Err(Error::invalid_input(format!("--status {label} is not the job's status ({})", history.status))
            .with("status", history.status.as_str())
            .with_hint("omit --status: a checkpoint is labelled with the job's real status"));
    }
    let strings =
        |list: &[String]| list.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    let usage = history.usage(Timestamp::now());
    let codes = strings(&request.reason_codes);
    let (added, changed, removed) = (strings(&request.added), strings(&request.changed), strings(&request.removed));
    let done = store.append(job, AppendOptions::default(), &mut |s| {
        let mut cp = Checkpoint::new(kind, summary.clone(), s.status, usage.clone());
        cp.required_action = (!action.is_empty()).then(|| Value::Object(action.clone()));
        cp.reason_codes = codes.clone();
        cp.added = added.clone();
        cp.changed = changed.clone();
        cp.removed = removed.clone();
        Ok(vec![cp.event()])
    })?;
    let record = done.records.last().ok_or_else(|| Error::generic("checkpoint was not appended"))?;
    let payload = record.payload.clone().unwrap_or(Value::Null);
    Ok(render_checkpoint(job.as_str(), record.seq, &record.created_at, &payload, [added, changed, removed]))
}
