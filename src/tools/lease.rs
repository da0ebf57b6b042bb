//! wrkr-lease: acquire, renew, release or show a job's lease; one JSON line out.
//!
//! Each operation is one fenced append under the job's lock (see `job::lease`): acquiring gives a
//! new, strictly higher epoch; a conflict is `E_LEASE_CONFLICT` (exit 1) naming the holder. The
//! printed record's `state` is `held`, `expired`, `released` or `none`, and `expired` says whether
//! the lease had lapsed when it was read — a lapsed lease is never shown as held.

use std::time::Duration;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cli::suggest;
use crate::contract::{Error, Result};
use crate::job::lease::DEFAULT_TTL;
use crate::store::{JobId, Store};

const WORKER: Flag = Flag {
    long: "worker",
    short: Some('w'),
    value: Some("W"),
    help: "The worker id (required for acquire, heartbeat and release)",
    long_help: "",
};
const TTL: Flag = Flag {
    long: "ttl",
    short: None,
    value: Some("SECONDS"),
    help: "Lease time to live for acquire and heartbeat, in seconds (fractions allowed) [default: 30]",
    long_help: "",
};
const EPOCH: Flag = Flag {
    long: "epoch",
    short: None,
    value: Some("N"),
    help: "For heartbeat and release: the epoch the worker holds; refused if the lease moved on",
    long_help: "",
};

pub const TOOL: Command = Command {
    name: "lease",
    kind: Kind::Tool,
    about: "Acquire, renew, release or show a job's fenced lease",
    usage: "<acquire|heartbeat|release|show> JOB [--worker W] [--ttl SECONDS] [--epoch N]",
    long_about: "Prints the lease as one JSON line: {\"job_id\", \"state\", \"epoch\", \"worker_id\", \
                 \"lease_id\", \"acquired_at\", \"heartbeat_at\", \"expires_at\", \"expired\"}. acquire \
                 succeeds when no other worker holds an unexpired lease, and always gives a new epoch \
                 higher than any before it; once a lease expires any worker may take it over. A conflict \
                 is E_LEASE_CONFLICT (exit 1) with the holder in the details. Appends made for the \
                 holder pass the epoch (wrkr-events --append --epoch N) and are refused once another \
                 worker has acquired the lease.",
    flags: &[&WORKER, &TTL, &EPOCH],
    examples: &[
        Example { command: "wrkr-lease acquire job_1 --worker w1 --ttl 30", what: "Take the lease for 30 s." },
        Example { command: "wrkr-lease heartbeat job_1 --worker w1 --epoch 3", what: "Renew epoch 3's lease." },
        Example { command: "wrkr-lease show job_1", what: "Who holds the lease, and whether it expired." },
    ],
    run,
};

/// The operations, in the order the usage names them.
const OPERATIONS: &[&str] = &["acquire", "heartbeat", "release", "show"];

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    if let Some(op) = words.first().filter(|op| !OPERATIONS.contains(&op.as_str())) {
        return Err(suggest::unknown_verb("lease", op, OPERATIONS));
    }
    let [op, job] = words.try_into().map_err(|given: Vec<String>| {
        Error::invalid_input(format!("expected an operation and a JOB, got {} arguments", given.len()))
            .with_hint("wrkr-lease --help shows the usage")
    })?;
    let job = JobId::parse(&job)?;
    let ttl = match args.value(TTL.long) {
        None => DEFAULT_TTL,
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                Error::invalid_input(format!("--ttl: expected a positive number of seconds, got {v:?}"))
                    .with("flag", "--ttl")
            })?,
    };
    let epoch = match args.value(EPOCH.long) {
        Some(_) => Some(args.u64_or(&EPOCH, 0)?),
        None => None,
    };
    let worker = || {
        args.value(WORKER.long).filter(|w| !w.is_empty()).ok_or_else(|| {
            Error::invalid_input(format!("{op} needs --worker W")).with_hint("name the worker: --worker w1")
        })
    };
    let store = args.store()?;
    let view = match op.as_str() {
        "acquire" => store.acquire_lease(&job, worker()?, ttl)?,
        "heartbeat" => store.heartbeat_lease(&job, worker()?, epoch, ttl)?,
        "release" => store.release_lease(&job, worker()?, epoch)?,
        "show" => store.show_lease(&job)?,
        other => return Err(suggest::unknown_verb("lease", other, OPERATIONS)),
    };
    io.record(&view)
}
