//! wrkr job inspect|diff: look at packs without trusting them (digest 2.9).
//!
//! `inspect PACK` prints the job's timeline (events, checkpoints, approvals, by time); `diff A B`
//! compares two packs file by file (their manifests' hashes) and record by record (which events and
//! checkpoints were added, removed or changed). Neither verifies: run `wrkr verify` for that.
//! `inspect JOB_ID` (an argument that is not a file and is a valid job id) builds the same view
//! from the store, without exporting.

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::contract::{Error, Result};
use crate::pack::export::job_argument;
use crate::pack::inspect;
use crate::pack::source;
use crate::pack::zipread::DEFAULT_MAX_ENTRY_BYTES;
use crate::tools::verify::MAX_ENTRY_BYTES;

pub const COMMAND: Command = Command {
    name: "job",
    kind: Kind::Command,
    about: "Inspect a jobpack's timeline, or diff two jobpacks",
    usage: "inspect PACK|JOB_ID | diff PACK_A PACK_B",
    long_about: "`wrkr job inspect PACK`: `job=<id> status=<s> events=<n> checkpoints=<n> approvals=<n>`, then one \
                 line per timeline item, `<time> <kind> <id> <summary>`, sorted by time, kind and id. Events \
                 show their type, checkpoints `<type>:<status>`, approvals the checkpoint they approve. With \
                 --json: {job_id, status, event_count, checkpoint_count, approval_count, timeline}.\n\n\
                 `wrkr job diff A B`: `job_a=.. job_b=.. added=N removed=N changed=N` for the declared files, \
                 then the same counts for events and checkpoints. With --json: {job_id_a, job_id_b, added, \
                 removed, changed, records: {events, checkpoints}}, each list sorted. Records are compared by \
                 their canonical content without producer_version.\n\n\
                 Neither command verifies the packs (wrkr verify does); both refuse unsafe zips. \
                 `inspect JOB_ID` reads the job from the store instead (an argument that is not an existing \
                 file is a job id).",
    flags: &[&MAX_ENTRY_BYTES],
    examples: &[
        Example { command: "wrkr job inspect jobpack_job_x.zip", what: "The timeline of a pack." },
        Example { command: "wrkr job inspect job_x", what: "The timeline of job_x, from the store." },
        Example { command: "wrkr --json job diff before.zip after.zip", what: "What changed between two packs." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    let max = args.u64_or(&MAX_ENTRY_BYTES, DEFAULT_MAX_ENTRY_BYTES)?;
    match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["inspect", target] => run_inspect(&args, io, target, max),
        ["diff", a, b] => run_diff(io, a, b, max),
        ["inspect", ..] => Err(Error::invalid_input("usage: wrkr job inspect PACK")),
        ["diff", ..] => Err(Error::invalid_input("usage: wrkr job diff PACK_A PACK_B (exactly two)")),
        [other, ..] => Err(Error::invalid_input(format!("unknown job subcommand {other:?}"))
            .with_hint("wrkr job inspect PACK | wrkr job diff A B")),
        [] => {
            Err(Error::invalid_input("wrkr job needs a subcommand")
                .with_hint("wrkr job inspect PACK | wrkr job diff A B"))
        }
    }
}

fn run_inspect(args: &Args, io: &mut Io, target: &str, max: u64) -> Result<()> {
    let view = match job_argument(target) {
        Some(job) => inspect::inspect_job(&args.store()?, &job)?,
        None => inspect::inspect(source::open(target)?, max)?,
    };
    if io.json {
        return io.pretty(&view);
    }
    io.line(&format!(
        "job={} status={} events={} checkpoints={} approvals={}",
        view.job_id, view.status, view.event_count, view.checkpoint_count, view.approval_count
    ))?;
    for item in &view.timeline {
        io.line(&format!("{} {} {} {}", item.at, item.kind, item.id, truncate(&item.summary, 160)))?;
    }
    Ok(())
}

/// At most `max` bytes, cut on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn run_diff(io: &mut Io, a: &str, b: &str, max: u64) -> Result<()> {
    let d = inspect::diff(source::open(a)?, source::open(b)?, max)?;
    if io.json {
        return io.pretty(&d);
    }
    io.line(&format!(
        "job_a={} job_b={} added={} removed={} changed={}",
        d.job_id_a,
        d.job_id_b,
        d.added.len(),
        d.removed.len(),
        d.changed.len()
    ))?;
    for (kind, c) in [("events", &d.records.events), ("checkpoints", &d.records.checkpoints)] {
        io.line(&format!("{kind}: added={} removed={} changed={}", c.added.len(), c.removed.len(), c.changed.len()))?;
        for (mark, ids) in [("+", &c.added), ("-", &c.removed), ("~", &c.changed)] {
            for id in ids {
                io.line(&format!("  {mark} {id}"))?;
            }
        }
    }
    Ok(())
}
