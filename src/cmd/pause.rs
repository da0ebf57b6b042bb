//! wrkr pause: ask a job to pause, by recording the status change `-> paused`.
//!
//! This records the request (checked against the transition table under the job's lock); the
//! runner notices it within one poll: it lets the current step finish and stops before the next,
//! or, with `--now`, stops the step's process group at once and records the attempt as
//! interrupted, so `wrkr resume` runs that step again. Output is the job's state
//! after the change (Go's runner-state object), or `job_id=<id> status=<status>`.

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::status::one_job;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::{NewEvent, Status};
use crate::store::{AppendOptions, JobId, Store};

const NOW: Flag = Flag {
    long: "now",
    short: None,
    value: None,
    help: "Stop the running step at once (it runs again on resume)",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "pause",
    kind: Kind::Command,
    about: "Ask a running job to pause",
    usage: "JOB",
    long_about: "Records the status change to paused; only a running job can be paused \
                 (E_INVALID_STATE_TRANSITION, exit 1, otherwise). The running step stops cooperatively.",
    flags: &[&NOW],
    examples: &[
        Example {
            command: "wrkr pause job_1",
            what: "Pause after the current step; prints job_id=job_1 status=paused.",
        },
        Example { command: "wrkr pause job_1 --now", what: "Stop the current step too." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    if !args.switch(NOW.long) {
        return request_status(args, io, "pause", Status::Paused);
    }
    let job = one_job(&args, "pause")?;
    let done = args
        .store()?
        .append(&job, AppendOptions::default(), &mut |s| {
            Ok(vec![
                NewEvent::status_changed(s.status, Status::Paused),
                NewEvent::new("x-pause_requested", serde_json::json!({"now": true})),
            ])
        })
        .map_err(|err| refused(err, &job, Status::Paused))?;
    let state = done.state;
    if io.json { io.pretty(&state) } else { io.line(&format!("job_id={} status={}", state.job_id, state.status)) }
}

/// Record a status change and print the resulting state (shared by pause and cancel).
pub fn request_status(args: Args, io: &mut Io, command: &str, to: Status) -> Result<()> {
    let job = one_job(&args, command)?;
    let state = args.store()?.change_status(&job, to, None).map_err(|err| refused(err, &job, to))?;
    if io.json { io.pretty(&state) } else { io.line(&format!("job_id={} status={}", state.job_id, state.status)) }
}

/// A refused pause or cancel names the job and says, in words, why there is nothing to do and
/// what to do instead. The code (E_INVALID_STATE_TRANSITION, exit 1, as in Go) is kept.
fn refused(err: Error, job: &JobId, to: Status) -> Error {
    let from = err.details.get("from").and_then(|v| v.as_str()).and_then(Status::parse);
    let Some(from) = from.filter(|_| err.code == ReasonCode::InvalidStateTransition) else { return err };
    let id = job.as_str();
    let verb = if to == Status::Canceled { "cancel" } else { "pause" };
    let hint = match from {
        _ if from == to => format!("it is already {}: there is nothing to {verb}", from.plain()),
        Status::Completed | Status::Canceled => {
            format!(
                "it has finished ({}): there is nothing to {verb}; wrkr status {id} shows how it ended",
                from.plain()
            )
        }
        Status::Queued => format!("it has not started: there is nothing to {verb} yet; wrkr cancel {id} drops it"),
        _ => format!(
            "it is not running ({}): there is nothing to {verb}; wrkr status {id} says what is next",
            from.plain()
        ),
    };
    err.with("job_id", id).with_hint(hint)
}
