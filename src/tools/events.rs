//! wrkr-events: a job's ledger out as JSONL, or event requests in as one durable batch.
//!
//! Reading streams the ledger lines exactly as stored (`--from-seq`, `--follow` until the job
//! reaches a terminal status); memory is one line. Appending (`--append`) reads every request
//! from stdin first — a bad line anywhere means nothing is appended (exit 6) — then appends them
//! as one batch under the job's lock, and prints one line per appended event only after the
//! batch is durable. A printed seq is therefore a promise: it is in the ledger, whatever happens
//! to this process or the machine after it is printed.
//!
//! `--import` creates a job from a whole ledger on stdin, byte for byte (`store::import`): piping
//! `wrkr-events J` of one store into `wrkr-events --import J` of another moves a job.
//!
//! `--records` writes the job's pack records instead (see `pack::records`): the input of
//! `wrkr-pack`, so that `wrkr-events --records J | wrkr-pack` is `wrkr export J`, byte for byte.
//! Artifacts missing from the workspace are named on stderr. With `--unsafe-capture-raw` each found
//! artifact also goes out as one `wrkr.raw_artifact` record (its bytes in base64): that one record
//! is held in memory, everything else streams.

use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use serde_json::json;

use crate::cli::args::Args;
use std::io::Read;

use crate::cli::io::{Io, diag};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::job::event::parse_request;
use crate::job::{NewEvent, Status};
use crate::jsonl::{JsonlReader, is_blank};
use crate::pack::raw;
use crate::pack::records::{self, Record};
use crate::store::{AppendOptions, JOBSPEC_EVENT, JobId, Store, import};
use crate::tools::pack::{self, CAPTURE, UNSAFE_CAPTURE_RAW};

const APPEND: Flag = Flag {
    long: "append",
    short: Some('a'),
    value: None,
    help: "Append the {\"type\", \"payload\"} lines on stdin as one durable batch",
    long_help: "All lines are checked before anything is written; the batch is all or nothing. Known \
                 event types must carry their payload shape; other types must be named x-<name>. \
                 job_initialized and lease events are written only by wrkr itself.",
};
const CREATE: Flag = Flag {
    long: "create",
    short: None,
    value: None,
    help: "With --append: create the job (status queued) if it does not exist",
    long_help: "",
};
const EPOCH: Flag = Flag {
    long: "epoch",
    short: None,
    value: Some("N"),
    help: "With --append: fence the batch with lease epoch N; refused (exit 1) if a newer lease exists",
    long_help: "",
};
const IMPORT: Flag = Flag {
    long: "import",
    short: None,
    value: None,
    help: "Create JOB from a whole ledger on stdin (as wrkr-events JOB prints it), byte for byte",
    long_help: "How a job moves between stores: wrkr-events --store A JOB | wrkr-events --store B --import JOB. \
                Every line is checked first (records parse, seqs 1, 2, ..., the replay is valid); then all \
                are written as one durable batch, so the moved job exports the same jobpack. Refused (exit 6) \
                when the target already has JOB. Per-job files (runtime config, acceptance result) do not move.",
};
const FROM_SEQ: Flag =
    Flag { long: "from-seq", short: None, value: Some("N"), help: "Start at seq N [default: 1]", long_help: "" };
const FOLLOW: Flag = Flag {
    long: "follow",
    short: Some('f'),
    value: None,
    help: "Keep printing new events until the job is completed or canceled",
    long_help: "Also ends, with exit 0, as soon as the reader of stdout goes away (`| head`, a closed \
                socket), even while the job is idle. With --until-blocked it ends at a blocked or paused \
                state as well.",
};
const UNTIL_BLOCKED: Flag = Flag {
    long: "until-blocked",
    short: None,
    value: None,
    help: "With --follow: also stop when the job is blocked (decision, budget, error) or paused",
    long_help: "For scripts that wait for a job to need someone: `wrkr-events --follow --until-blocked JOB` \
                returns once the job stops running for any reason; `wrkr status JOB` then says which.",
};
const RECORDS: Flag = Flag {
    long: "records",
    short: Some('r'),
    value: None,
    help: "Write the job's pack records (the input of wrkr-pack) instead of its ledger",
    long_help: "wrkr.event for every ledger event, wrkr.checkpoint and wrkr.approval_record as they occur, then \
                wrkr.job, wrkr.artifacts_manifest (artifact content hashes from the job's workspace) and \
                wrkr.accept_result when acceptance ran. Artifacts missing from the workspace are hashed by \
                reference and named on stderr.",
};
const MAX_LINE_BYTES: Flag = Flag {
    long: "max-line-bytes",
    short: None,
    value: Some("N"),
    help: "With --append: longest accepted input line, in bytes [default: 16777216]",
    long_help: "",
};

pub const TOOL: Command = Command {
    name: "events",
    kind: Kind::Tool,
    about: "Stream a job's ledger as JSONL, or append events durably",
    usage: "[OPTIONS] JOB",
    long_about: "Without --append, writes the ledger lines of JOB ({\"seq\", \"created_at\", \"type\", \
                 \"payload\"}) exactly as stored, one per line; a ledger line that does not parse or \
                 breaks the seq order is E_STORE_CORRUPT (exit 1) naming its line.\n\n\
                 With --append, reads {\"type\": T, \"payload\": {...}} lines from stdin, appends them \
                 as one batch (one write, one fdatasync) and then prints {\"seq\", \"created_at\", \
                 \"type\"} for each appended event. Status changes are checked against the transition \
                 table (E_INVALID_STATE_TRANSITION, exit 1). A job that does not exist is exit 6 \
                 unless --create is given.",
    flags: &[
        &APPEND,
        &CREATE,
        &EPOCH,
        &IMPORT,
        &FROM_SEQ,
        &FOLLOW,
        &UNTIL_BLOCKED,
        &MAX_LINE_BYTES,
        &RECORDS,
        &CAPTURE,
        &UNSAFE_CAPTURE_RAW,
    ],
    examples: &[
        Example {
            command: "echo '{\"type\":\"x-note\",\"payload\":{\"text\":\"hi\"}}' | wrkr-events --append --create job_1",
            what: "Create job_1 and append one event; prints seq 1 (job_initialized) and seq 2.",
        },
        Example { command: "wrkr-events --from-seq 10 job_1", what: "The ledger from seq 10 on." },
        Example {
            command: "wrkr-events job_1 | wrkr-events --store postgres:///wrkr --import job_1",
            what: "Move job_1 from the file store to a PostgreSQL store (and back the same way).",
        },
        Example { command: "wrkr events --follow job_1", what: "Tail the ledger until the job ends." },
        Example {
            command: "wrkr-events --follow --until-blocked job_1",
            what: "Tail it until the job ends or waits (for a decision, a budget raise, a fix).",
        },
        Example { command: "wrkr-events --records job_1 | wrkr-pack > jobpack_job_1.zip", what: "Pack a job." },
    ],
    run,
};

const DEFAULT_MAX_LINE_BYTES: u64 = 16 << 20;
/// A batch is held in memory before it is written; bound it.
const MAX_BATCH_BYTES: u64 = 64 << 20;
/// An imported ledger is checked whole before it is written; bound it.
const MAX_IMPORT_BYTES: u64 = 1 << 30;
/// How often a follower reads again without news: often on a store that cannot wake it, rarely on
/// one that can (the wait is a fallback there). `WRKR_FOLLOW_POLL_MS` overrides both.
fn follow_poll(notifies: bool) -> Duration {
    let default = if notifies { Duration::from_secs(2) } else { Duration::from_millis(100) };
    std::env::var("WRKR_FOLLOW_POLL_MS").ok().and_then(|v| v.trim().parse().ok()).map_or(default, Duration::from_millis)
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    let [job] = args.positional_strings()?.try_into().map_err(|given: Vec<String>| {
        Error::invalid_input(format!("expected exactly one JOB, got {}", given.len()))
            .with_hint("wrkr-events --help shows the usage")
    })?;
    let job = JobId::parse(&job)?;
    if args.switch(RECORDS.long) {
        for flag in [&APPEND, &CREATE, &EPOCH, &IMPORT, &FROM_SEQ, &FOLLOW, &UNTIL_BLOCKED, &MAX_LINE_BYTES] {
            if args.switch(flag.long) {
                return Err(Error::invalid_input(format!("--{} does not go with --records", flag.long)));
            }
        }
        return write_records(&args, io, &job);
    }
    for flag in [&CAPTURE, &UNSAFE_CAPTURE_RAW] {
        if args.switch(flag.long) {
            return Err(Error::invalid_input(format!("--{} goes with --records", flag.long)));
        }
    }
    if args.switch(IMPORT.long) {
        for flag in [&APPEND, &CREATE, &EPOCH, &FROM_SEQ, &FOLLOW, &MAX_LINE_BYTES] {
            if args.switch(flag.long) {
                return Err(Error::invalid_input(format!("--{} does not go with --import", flag.long)));
            }
        }
        let stdin = std::io::BufReader::with_capacity(256 * 1024, std::io::stdin().lock());
        let ledger = import::read_ledger(stdin, &job, MAX_IMPORT_BYTES)?;
        args.store()?.import_ledger(&job, &ledger)?;
        let last_seq = ledger.state.last_applied_seq;
        return io.record(&json!({"job_id": job.as_str(), "imported": ledger.lines.len(), "last_seq": last_seq}));
    }
    if args.switch(APPEND.long) {
        for flag in [&FROM_SEQ, &FOLLOW, &UNTIL_BLOCKED] {
            if args.switch(flag.long) {
                return Err(Error::invalid_input(format!("--{} does not go with --append", flag.long)));
            }
        }
        let epoch = match args.value(EPOCH.long) {
            Some(_) => Some(args.u64_or(&EPOCH, 0)?),
            None => None,
        };
        let events = read_requests(args.u64_or(&MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES)?)?;
        let store = args.store()?;
        let options = AppendOptions { create: args.switch(CREATE.long), fence: epoch };
        let mut events = Some(events);
        let done = store.append(&job, options, &mut |_| Ok(events.take().unwrap_or_default())).map_err(|err| {
            // Only here is making the job the answer to its absence.
            match crate::store::not_found_job_id(&err) {
                Some(_) => err.with_hint(format!(
                    "wrkr-events --append --create {job} makes one; wrkr jobs lists the jobs in this store"
                )),
                None => err,
            }
        })?;
        for record in &done.records {
            io.record(&json!({"seq": record.seq, "created_at": record.created_at, "type": record.event_type}))?;
        }
        return Ok(());
    }
    for flag in [&CREATE, &EPOCH, &MAX_LINE_BYTES] {
        if args.switch(flag.long) {
            return Err(Error::invalid_input(format!("--{} goes with --append", flag.long)));
        }
    }
    let store = args.store()?;
    let from_seq = args.u64_or(&FROM_SEQ, 1)?.max(1);
    let until_blocked = args.switch(UNTIL_BLOCKED.long);
    if !args.switch(FOLLOW.long) {
        if until_blocked {
            return Err(Error::invalid_input("--until-blocked goes with --follow"));
        }
        // Lean: the lines go out as stored, and the spec line of a long job is megabytes as a document.
        store.read_events_lean(&job, from_seq, &[JOBSPEC_EVENT], &mut |_, line| write_line(io, line))?;
        return Ok(());
    }
    let mut status = store.state(&job)?.status;
    let mut next = from_seq;
    let poll = follow_poll(store.notifies());
    loop {
        let mut latest: Option<Status> = None;
        let last = store.read_events_lean(&job, next, &[JOBSPEC_EVENT], &mut |record, line| {
            if record.event_type == "status_changed"
                && let Some(to) = record.payload.as_ref().and_then(|p| p.get("to")).and_then(|t| t.as_str())
            {
                latest = Status::parse(to);
            }
            write_line(io, line)
        })?;
        io.flush()?;
        status = latest.unwrap_or(status);
        let waiting =
            matches!(status, Status::Paused | Status::BlockedDecision | Status::BlockedBudget | Status::BlockedError);
        if status.is_terminal() || (until_blocked && waiting) || reader_gone() {
            return Ok(());
        }
        next = last + 1;
        store.wait_for_change(&job, poll)?;
    }
}

/// Whether the reader of stdout has gone away. A follower of an idle job writes nothing, so a
/// closed pipe would never meet a write; polling stdout reports it (POLLERR for a pipe whose read
/// end is closed, POLLHUP for a socket). A file or terminal never reports it.
fn reader_gone() -> bool {
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(&stdout, PollFlags::empty())];
    let now = Timespec { tv_sec: 0, tv_nsec: 0 };
    poll(&mut fds, Some(&now)).is_ok_and(|_| fds[0].revents().intersects(PollFlags::ERR | PollFlags::HUP))
}

/// `--records`: the pack record stream, one compact JSON value per line.
fn write_records(args: &Args, io: &mut Io, job: &JobId) -> Result<()> {
    let capture = pack::capture(args)?;
    let store = args.store()?;
    let mut line = Vec::new();
    let streamed = records::stream(&store, job, capture, &mut |record| match record {
        Record::Value(value) => io.record(value),
        Record::Event { event, job_id } => io.record(&event.to_value(job_id)),
        Record::Line { event, job_id } => put_line(io, &mut line, |line| event.write_compact(job_id, line)),
        Record::Big { event, job_id } => put_line(io, &mut line, |line| event.write_compact(job_id, line)),
        Record::LineCheckpoint { checkpoint, job_id } => io.record(&checkpoint.to_value(job_id)?),
        Record::Raw(file) => {
            let mut content = Vec::new();
            records::open_artifact(file)?
                .read_to_end(&mut content)
                .map_err(|e| Error::io(format!("read artifact {}", file.path), e))?;
            io.record(&raw::record(job.as_str(), &file.path, &content))
        }
    })?;
    io.flush()?;
    for path in &streamed.missing {
        diag(&format!("wrkr-events: artifact {path} not found in the workspace; listed with its reference hash"));
    }
    Ok(())
}

/// One record written into `line` by `write`, then out with its `\n`.
fn put_line(io: &mut Io, line: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
    line.clear();
    write(line)?;
    line.push(b'\n');
    io.write(line)
}

fn write_line(io: &mut Io, line: &[u8]) -> Result<()> {
    io.write(line)?;
    io.write(b"\n")
}

/// Every request on stdin, checked; nothing is appended unless all of them are good.
fn read_requests(max_line_bytes: u64) -> Result<Vec<NewEvent>> {
    let stdin = std::io::stdin().lock();
    let mut lines = JsonlReader::new(std::io::BufReader::with_capacity(256 * 1024, stdin), max_line_bytes);
    let mut events = Vec::new();
    let mut total: u64 = 0;
    while let Some(next) = lines.next_line() {
        let (line_no, line) = next.map_err(|e| e.into_error(max_line_bytes).context("stdin"))?;
        if is_blank(line) {
            continue;
        }
        total += line.len() as u64;
        if total > MAX_BATCH_BYTES {
            return Err(Error::invalid_input(format!("batch larger than {MAX_BATCH_BYTES} bytes at line {line_no}"))
                .with("line", line_no)
                .with_hint("split the input into several appends"));
        }
        let value = crate::json::parse(line).map_err(|err| {
            Error::invalid_input(format!("stdin: line {line_no}: {}", crate::json::line_error(&err)))
                .with("line", line_no)
        })?;
        events.push(parse_request(value, line_no)?);
    }
    Ok(events)
}
