//! wrkr cancel: ask a job to stop for good, by recording the status change `-> canceled`.
//!
//! Like pause, this records the request under the job's lock; the runner stops the running step
//! cooperatively. Completed and canceled jobs cannot be canceled (exit 1).

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::cmd::pause::request_status;
use crate::contract::Result;
use crate::job::Status;

pub const COMMAND: Command = Command {
    name: "cancel",
    kind: Kind::Command,
    about: "Cancel a job",
    usage: "JOB",
    long_about: "Records the status change to canceled, from any status that is not terminal \
                 (E_INVALID_STATE_TRANSITION, exit 1, otherwise). The running step stops cooperatively.",
    flags: &[],
    examples: &[Example { command: "wrkr --json cancel job_1", what: "The job's state after the change." }],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    request_status(args, io, "cancel", Status::Canceled)
}
