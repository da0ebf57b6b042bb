//! wrkr logs: a job's step output, from the store, the way `gh run view --log` shows a run's.
//!
//! Every attempt of every step (or of one STEP) in the order they started, each stream under a
//! `==> STEP attempt N STREAM (ENDING) <==` header, as `tail` separates files. `--failed` keeps the
//! attempts that failed, timed out or hit a budget; `--tail N` the last N lines of each stream
//! (found by reading backwards, so it costs what it prints). `--follow` keeps printing what running
//! steps write, and new attempts as they start, until the job stops running.
//!
//! Output is copied from the log files as it is (bytes, not re-encoded text). The logs hold the
//! tail of each stream when a step printed more than the log cap (see `run::log`); the ledger's
//! sha256 and byte count cover the whole stream. A store that does not keep jobs in directories
//! (PostgreSQL) holds each stream's last 64 KiB as a job file (`run::evidence`): those are shown.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::{Io, diag};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::job::Status;
use crate::run::attempts::{Attempt, Attempts, STREAMS, copy_stream, tail_start};
use crate::run::evidence::tail_file_name;
use crate::store::{JobId, Store};

const FOLLOW: Flag = Flag {
    long: "follow",
    short: Some('f'),
    value: None,
    help: "Keep printing output as running steps write it, until the job stops running",
    long_help: "",
};
const FAILED: Flag = Flag {
    long: "failed",
    short: None,
    value: None,
    help: "Only attempts that failed, timed out or hit a budget",
    long_help: "",
};
const TAIL: Flag = Flag {
    long: "tail",
    short: Some('n'),
    value: Some("N"),
    help: "Only the last N lines of each stream",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "logs",
    kind: Kind::Command,
    about: "Print a job's step output",
    usage: "JOB [STEP] [--failed] [--tail N] [--follow]",
    long_about: "Prints the output each step attempt wrote (stdout, then stderr), in the order the attempts \
                 started, each under a `==> STEP attempt N STREAM (ENDING) <==` line (without the ending with --follow). The output is kept in \
                 the job's logs/ directory in a file store; a stream longer than the log cap keeps its tail. On \
                 PostgreSQL the store holds the last 64 KiB of each stream, recorded when the step ends (--follow \
                 needs a file store). With \
                 --json, one compact {\"step_id\", \"step_index\", \"attempt\", \"outcome\", \"exit_code\", \
                 \"stream\", \"text\"} per stream. A job or STEP that does not exist is exit 6.",
    flags: &[&FAILED, &TAIL, &FOLLOW],
    examples: &[
        Example { command: "wrkr logs job_1 --failed", what: "The output of the step that failed." },
        Example { command: "wrkr logs job_1 build --tail 20", what: "The last 20 lines of step build." },
        Example { command: "wrkr logs job_1 --follow", what: "Watch a running job's output." },
    ],
    run,
};

/// How often `--follow` looks for new output.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

struct Selection {
    step: Option<String>,
    failed: bool,
    tail: Option<u64>,
}

impl Selection {
    fn wants(&self, attempt: &Attempt) -> bool {
        self.step.as_deref().is_none_or(|s| s == attempt.step_id) && (!self.failed || attempt.failed())
    }
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    let (job, step) = match words.as_slice() {
        [job] => (JobId::parse(job)?, None),
        [job, step] => (JobId::parse(job)?, Some(step.clone())),
        _ => {
            return Err(Error::invalid_input(format!("logs takes JOB [STEP], got {} arguments", words.len()))
                .with_hint("wrkr logs --help shows the usage"));
        }
    };
    let tail = match args.value(TAIL.long) {
        Some(_) => Some(args.u64_or(&TAIL, 0)?),
        None => None,
    };
    let selection = Selection { step, failed: args.switch(FAILED.long), tail };
    let store = args.store()?;
    if args.switch(FOLLOW.long) {
        let Some(job_dir) = store.local_job_dir(&job) else {
            return Err(crate::store::location::not_on_postgres("logs --follow"));
        };
        if io.json {
            return Err(Error::invalid_input("--follow prints text; it cannot be combined with --json")
                .with_hint(format!("wrkr-events --follow {} streams the ledger as JSON", job.as_str())));
        }
        return follow(&*store, &job_dir, &job, &selection, io);
    }
    let mut attempts = Attempts::default();
    store.read_events(&job, 1, &mut |record, _| {
        attempts.observe(record);
        Ok(())
    })?;
    check_step(&job, &attempts, &selection)?;
    let chosen: Vec<&Attempt> = attempts.list.iter().filter(|a| selection.wants(a)).collect();
    if chosen.is_empty() {
        diag(&nothing_to_show(&job, &selection));
        return Ok(());
    }
    // A file store holds the logs in the job's directory; elsewhere the store holds each stream's
    // tail (`run::evidence`), copied to a private temp dir so that both are read the same way.
    let fetched;
    let job_dir = match store.local_job_dir(&job) {
        Some(dir) => dir,
        None => {
            fetched = fetch_tails(&*store, &job, &chosen)?;
            fetched.path().to_path_buf()
        }
    };
    let mut shown = 0;
    for attempt in chosen {
        for stream in STREAMS {
            let files = attempt.log_files(&job_dir, stream);
            if files.is_empty() {
                continue;
            }
            let start = match selection.tail {
                Some(n) => tail_start(&files, n).map_err(|e| Error::io("read step log", e))?,
                None => (0, 0),
            };
            shown += 1;
            if io.json {
                let mut text = Vec::new();
                copy_stream(&files, start, &mut text).map_err(|e| Error::io("read step log", e))?;
                io.record(&json!({"step_id": attempt.step_id, "step_index": attempt.step_index,
                                  "attempt": attempt.attempt, "outcome": attempt.outcome,
                                  "exit_code": attempt.exit_code, "stream": stream,
                                  "text": String::from_utf8_lossy(&text)}))?;
            } else {
                let mut out = LineEnd::new(io.stdout());
                Io::check(header(&mut out, attempt, stream, true))?;
                checked(copy_stream(&files, start, &mut out))?;
                Io::check(out.finish_line())?;
            }
        }
    }
    if shown == 0 {
        diag(&printed_nothing(&job, &selection));
    }
    Ok(())
}

/// The stored log tails of `attempts`, as `<dir>/logs/<log name>.<stream>.log` files.
fn fetch_tails(store: &dyn Store, job: &JobId, attempts: &[&Attempt]) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("create a temp dir for the logs", e))?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).map_err(|e| Error::io("create a temp dir for the logs", e))?;
    for attempt in attempts {
        for stream in STREAMS {
            if let Some(tail) = store.read_job_file(job, &tail_file_name(&attempt.log_name(), stream))? {
                let path = logs.join(format!("{}.{stream}.log", attempt.log_name()));
                std::fs::write(&path, tail).map_err(|e| Error::io("write a log tail", e))?;
            }
        }
    }
    Ok(dir)
}

/// A STEP that the job has never run is an error (a typo should not look like silence).
fn check_step(job: &JobId, attempts: &Attempts, selection: &Selection) -> Result<()> {
    let Some(step) = &selection.step else { return Ok(()) };
    if attempts.list.iter().any(|a| &a.step_id == step) {
        return Ok(());
    }
    let mut known: Vec<&str> = attempts.list.iter().map(|a| a.step_id.as_str()).collect();
    known.dedup();
    let err = Error::not_found(format!("job {} has no attempt of step {step:?}", job.as_str()))
        .with("job_id", job.as_str())
        .with("step_id", step.as_str());
    Err(match crate::cli::suggest::closest(step, known.iter().copied()) {
        Some(best) => err.with_hint(format!("did you mean {best}? steps run so far: {}", known.join(", "))),
        None if known.is_empty() => err.with_hint("no step of this job has started yet"),
        None => err.with_hint(format!("steps run so far: {}", known.join(", "))),
    })
}

fn nothing_to_show(job: &JobId, selection: &Selection) -> String {
    if selection.failed {
        format!("no step of job {} has failed", job.as_str())
    } else {
        format!("no step of job {} has started yet", job.as_str())
    }
}

/// When the chosen attempts have no output at all, say which ones were looked at: "the selected
/// steps" read as if the user had selected some when they had not.
fn printed_nothing(job: &JobId, selection: &Selection) -> String {
    let job = job.as_str();
    match (&selection.step, selection.failed) {
        (Some(step), true) => format!("the failed attempts of step {step} of job {job} printed nothing"),
        (Some(step), false) => format!("step {step} of job {job} printed nothing"),
        (None, true) => format!("the failed steps of job {job} printed nothing"),
        (None, false) => format!("no step of job {job} printed anything"),
    }
}

/// The line above a stream's output; `--follow` leaves out how the attempt ended, which is not
/// known yet when its output starts.
fn header(out: &mut dyn Write, attempt: &Attempt, stream: &str, with_ending: bool) -> std::io::Result<()> {
    let (step, n) = (&attempt.step_id, attempt.attempt);
    if with_ending {
        writeln!(out, "==> {step} attempt {n} {stream} ({}) <==", attempt.ending())
    } else {
        writeln!(out, "==> {step} attempt {n} {stream} <==")
    }
}

/// `--follow`: print what is there, then what appears, until the job is no longer running.
///
/// The job's status is read *before* each pass over the logs: a step's output is on disk before
/// its end is recorded, so the pass after a status that is no longer running has all of it.
fn follow(store: &dyn Store, job_dir: &std::path::Path, job: &JobId, selection: &Selection, io: &mut Io) -> Result<()> {
    let mut attempts = Attempts::default();
    let mut next_seq = 1;
    // Offset reached in each stream's current `.log` file, by (log name, stream).
    let mut reached: HashMap<(String, &str), u64> = HashMap::new();
    let mut last_header: Option<(String, &str)> = None;
    let mut checked_step = false;
    let mut at_line_start = true;
    loop {
        let status = store.state(job)?.status;
        next_seq = store.read_events(job, next_seq, &mut |record, _| {
            attempts.observe(record);
            Ok(())
        })? + 1;
        let running = matches!(status, Status::Queued | Status::Running);
        if !checked_step && (!running || selection.step.is_none()) {
            check_step(job, &attempts, selection)?;
            checked_step = true;
        } else if !checked_step && attempts.list.iter().any(|a| selection.step.as_deref() == Some(&a.step_id)) {
            checked_step = true;
        }
        let mut out = LineEnd { inner: io.stdout(), at_line_start };
        for attempt in attempts.list.iter().filter(|a| selection.wants(a)) {
            for stream in STREAMS {
                let files = attempt.log_files(job_dir, stream);
                let Some(current) = files.last() else { continue };
                let key = (attempt.log_name(), stream);
                let len = std::fs::metadata(current).map(|m| m.len()).unwrap_or(0);
                let start = match reached.get(&key) {
                    None => match selection.tail {
                        Some(n) => tail_start(&files, n).map_err(|e| Error::io("read step log", e))?,
                        None => (0, 0),
                    },
                    Some(&offset) if offset > len && files.len() == 2 => (0, offset), // rotated meanwhile
                    Some(&offset) => (files.len() - 1, offset),
                };
                let at_end = start.0 == files.len() - 1 && start.1 >= len;
                if at_end {
                    reached.insert(key, len);
                    continue;
                }
                if last_header.as_ref() != Some(&key) {
                    Io::check(out.finish_line())?;
                    Io::check(header(&mut out, attempt, stream, false))?;
                    last_header = Some(key.clone());
                }
                let end = checked(copy_stream(&files, start, &mut out))?;
                reached.insert(key, end);
            }
        }
        if !running {
            Io::check(out.finish_line())?;
            return io.flush();
        }
        at_line_start = out.at_line_start;
        io.flush()?;
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// A stdout write result with a value; a broken pipe ends the process quietly, as in [`Io::check`].
fn checked<T>(result: std::io::Result<T>) -> Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(err) => Err(Io::check(Err(err)).err().unwrap_or_else(|| Error::generic("write stdout"))),
    }
}

/// A writer that remembers whether the last byte written ended a line, so a header never starts
/// in the middle of a line a step left unfinished.
struct LineEnd<'a, W: Write> {
    inner: &'a mut W,
    at_line_start: bool,
}

impl<'a, W: Write> LineEnd<'a, W> {
    fn new(inner: &'a mut W) -> LineEnd<'a, W> {
        LineEnd { inner, at_line_start: true }
    }

    fn finish_line(&mut self) -> std::io::Result<()> {
        if !self.at_line_start {
            self.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<W: Write> Write for LineEnd<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if n > 0 {
            self.at_line_start = buf[n - 1] == b'\n';
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
