//! wrkr pause: ask a job to pause, by recording the status change `-> paused`.
//!
//! This only records the request (checked against the transition table under the job's lock);
//! a running step notices it cooperatively — the runner wires that. Output is the job's state
//! after the change (Go's runner-state object), or `job=<id> status=<status>`.

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::cmd::status::one_job;
use crate::contract::Result;
use crate::job::Status;
use crate::store::Store;

pub const COMMAND: Command = Command {
    name: "pause",
    kind: Kind::Command,
    about: "Ask a running job to pause",
    usage: "JOB",
    long_about: "Records the status change to paused; only a running job can be paused \
                 (E_INVALID_STATE_TRANSITION, exit 1, otherwise). The running step stops cooperatively.",
    flags: &[],
    examples: &[Example { command: "wrkr pause job_1", what: "Prints job=job_1 status=paused." }],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    request_status(args, io, "pause", Status::Paused)
}

/// Record a status change and print the resulting state (shared by pause and cancel).
pub fn request_status(args: Args, io: &mut Io, command: &str, to: Status) -> Result<()> {
    let job = one_job(&args, command)?;
    let state = args.store()?.change_status(&job, to, None)?;
    if io.json { io.pretty(&state) } else { io.line(&format!("job={} status={}", state.job_id, state.status)) }
}
