//! wrkr jobs: the jobs in the store with their status, newest first.
//!
//! Each job's state comes from its snapshot cache, so listing costs a few small reads per job.
//! "Newest" is the job's `started_at` (from `job_initialized`), ties broken by job id. A job whose
//! ledger cannot be read is reported on stderr and listed with status `corrupt`; it never hides
//! the others. A job recorded as `running` whose lease has expired is shown as stale, with how
//! long ago and its resume command (see `cmd::status`); a paused one with its resume command.

use std::io::IsTerminal;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::{Io, diag};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::status;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::Status;
use crate::store::Store;

const STATUS: Flag =
    Flag { long: "status", short: Some('s'), value: Some("S"), help: "Only jobs with status S", long_help: "" };

pub const COMMAND: Command = Command {
    name: "jobs",
    kind: Kind::Command,
    about: "List the jobs in the store, newest first",
    usage: "[--status S]",
    long_about: "Text: one aligned line per job (id, status, when it started and when its last event was \
                 recorded, both RFC 3339 in whole seconds UTC, then seq=<last seq>; a \
                 running job whose runner is gone adds how long ago, a paused or stale one its resume \
                 command), under a header line when stdout is a terminal (none in a pipe). With \
                 --json, one compact {\"job_id\", \"status\", \"started_at\", \"updated_at\", \
                 \"last_seq\"} per line, plus \"stale\", \"stale_for_seconds\" and \"resume_command\" \
                 when they apply.",
    flags: &[&STATUS],
    examples: &[Example { command: "wrkr jobs --status running", what: "The running jobs." }],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    if let Some(extra) = args.positionals.first() {
        return Err(Error::invalid_input(format!("jobs takes no arguments (got {extra:?})")));
    }
    let filter = match args.value(STATUS.long) {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            Error::invalid_input(format!("--status: unknown status {s:?}")).with("status", s).with_hint(
                "queued, running, paused, blocked_decision, blocked_budget, blocked_error, completed, canceled",
            )
        })?),
    };
    let rows = listing(&args.store()?, filter)?;
    if io.json {
        for ((job_id, status, started_at, updated_at, last_seq), next) in &rows {
            let mut row = json!({"job_id": job_id, "status": status, "started_at": started_at, "updated_at": updated_at, "last_seq": last_seq});
            if let Some(seconds) = next.stale_for {
                row["stale"] = json!(true);
                row["stale_for_seconds"] = json!(seconds);
            }
            if let Some(resume) = &next.resume_command {
                row["resume_command"] = json!(resume);
            }
            io.record(&row)?;
        }
        return Ok(());
    }
    let width = rows.iter().map(|r| r.0.0.len()).max().unwrap_or(0).max(3);
    // A header for people at a terminal; a pipe gets the rows alone, one job per line.
    if std::io::stdout().is_terminal() && !rows.is_empty() {
        let header = ("JOB", "STATUS", "STARTED (UTC)", "LAST EVENT (UTC)");
        io.line(&format!("{:width$}  {:16}  {:20}  {:20}  LEDGER", header.0, header.1, header.2, header.3))?;
    }
    for ((job_id, status, started_at, updated_at, last_seq), next) in &rows {
        let started = started_at.as_deref().map_or_else(|| "-".to_owned(), readable_time);
        // When the job last did anything: a job stuck for hours stands out from one busy now.
        let last = updated_at.as_deref().map_or_else(|| "-".to_owned(), readable_time);
        let mut line = format!("{job_id:width$}  {status:16}  {started:20}  {last:20}  seq={last_seq}");
        if let Some(seconds) = next.stale_for {
            line += &format!("  stale: runner gone {seconds}s");
        }
        if let Some(resume) = &next.resume_command {
            line += &format!("  resume: {resume}");
        }
        io.line(&line)?;
    }
    Ok(())
}

/// Whole seconds, UTC (`2026-11-27T15:48:23Z`): the ledger's nanoseconds are noise in a listing.
/// Still RFC 3339 and one word, so a script splitting on whitespace reads it.
fn readable_time(recorded: &str) -> String {
    match Timestamp::parse(recorded) {
        Some(t) => Timestamp::from_unix(t.unix_seconds(), 0).to_string(),
        None => recorded.to_owned(),
    }
}

/// What `jobs` adds to a row: whether the runner is gone and how to continue.
#[derive(Clone, Debug, Default)]
pub struct Next {
    pub stale_for: Option<u64>,
    pub resume_command: Option<String>,
}

/// [`rows`], each with its [`Next`].
pub fn listing(store: &dyn Store, filter: Option<Status>) -> Result<Vec<(Row, Next)>> {
    let now = Timestamp::now();
    let mut rows = Vec::new();
    for (job, result) in store.list_jobs()? {
        match result {
            Ok(state) => {
                let next = Next {
                    stale_for: status::stale_for(&state, now),
                    resume_command: status::resume_command(&state, now),
                };
                let row = (
                    job.as_str().to_owned(),
                    state.status.as_str(),
                    state.started_at,
                    state.updated_at,
                    state.last_applied_seq,
                );
                rows.push((row, next));
            }
            Err(err) => {
                diag(&format!("wrkr jobs: {job}: {err}"));
                rows.push(((job.as_str().to_owned(), "corrupt", None, None, 0), Next::default()));
            }
        }
    }
    rows.retain(|(row, _)| filter.is_none_or(|f| row.1 == f.as_str()));
    let started = |row: &Row| row.2.as_deref().and_then(Timestamp::parse);
    rows.sort_by(|(a, _), (b, _)| started(b).cmp(&started(a)).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}

/// One row per job: (id, status, started_at, updated_at, last_seq), newest first; a job whose
/// ledger cannot be read is named on stderr and listed as `corrupt`.
pub fn rows(store: &dyn Store, filter: Option<Status>) -> Result<Vec<Row>> {
    Ok(listing(store, filter)?.into_iter().map(|(row, _)| row).collect())
}

pub type Row = (String, &'static str, Option<String>, Option<String>, u64);
