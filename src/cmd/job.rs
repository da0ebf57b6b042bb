//! wrkr job inspect|diff: look at packs without trusting them (digest 2.9).
//!
//! `inspect PACK` prints the job's timeline (events, checkpoints, approvals, by time); `diff A B`
//! compares two packs file by file (their manifests' hashes) and record by record (which events and
//! checkpoints were added, removed or changed). Neither verifies: run `wrkr verify` for that.
//! `inspect JOB_ID` (an argument that is not a file and is a valid job id) builds the same view
//! from the store, without exporting; `diff` packs a job id into a temp file first (the bytes
//! `wrkr export` would write), so two runs of one spec can be compared without exporting them.

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::job::Status;
use crate::pack::export::job_argument;
use crate::pack::inspect;
use crate::pack::source;
use crate::pack::zipread::DEFAULT_MAX_ENTRY_BYTES;
use crate::tools::verify::MAX_ENTRY_BYTES;

const EXIT_CODE: Flag = Flag {
    long: "exit-code",
    short: None,
    value: None,
    help: "diff: exit 1 when the packs differ (files, events or checkpoints), 0 when they do not",
    long_help: "As `git diff --exit-code`: for scripts that only need to know whether anything changed.",
};

pub const COMMAND: Command = Command {
    name: "job",
    kind: Kind::Command,
    about: "Inspect a jobpack's timeline, or diff two jobpacks",
    usage: "inspect PACK|JOB_ID | diff PACK_A|JOB_A PACK_B|JOB_B [--exit-code]",
    long_about: "`wrkr job inspect PACK`: `job_id=<id> status=<s> events=<n> checkpoints=<n> approvals=<n>`, then one \
                 line per timeline item, `<time> <kind> <id> <summary>`, sorted by time, kind and id. Events \
                 show their type in words (status changed), checkpoints `<type>, <status in words>` (decision-needed, \
                 waiting for a decision), approvals the checkpoint they approve. With --json: {job_id, status, \
                 event_count, checkpoint_count, approval_count, timeline}, summaries as the ledger names them \
                 (status_changed, decision-needed:blocked_decision).\n\n\
                 `wrkr job diff A B`: `job_a=.. job_b=.. added=N removed=N changed=N` for the declared files, \
                 then the same counts for events and checkpoints. With --json: {job_id_a, job_id_b, added, \
                 removed, changed, records: {events, checkpoints}}, each list sorted; text mode names each \
                 file and record (+ added, - removed, ~ changed). Records are compared by their canonical \
                 content without what differs between any two runs: producer_version, job_id, timestamps \
                 (keys ending in _at) and measured wall time. A JOB_ID is packed from the store first.\n\n\
                 Neither command verifies the packs (wrkr verify does); both refuse unsafe zips. \
                 `inspect JOB_ID` reads the job from the store instead (an argument that is not an existing \
                 file is a job id).",
    flags: &[&MAX_ENTRY_BYTES, &EXIT_CODE],
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
        ["diff", a, b] => run_diff(&args, io, [a, b], max),
        ["inspect", ..] => Err(Error::invalid_input("usage: wrkr job inspect PACK")),
        ["diff", ..] => Err(Error::invalid_input("usage: wrkr job diff PACK_A|JOB_A PACK_B|JOB_B (exactly two)")),
        [other, ..] => Err(crate::cli::suggest::unknown_verb("job", other, &["inspect", "diff"])),
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
        "job_id={} status={} events={} checkpoints={} approvals={}",
        view.job_id, view.status, view.event_count, view.checkpoint_count, view.approval_count
    ))?;
    for item in &view.timeline {
        let summary = summary_in_words(item.kind, &item.summary);
        io.line(&format!("{} {} {} {}", item.at, item.kind, item.id, truncate(&summary, 160)))?;
    }
    Ok(())
}

/// A timeline summary for people: Go's line (`AT KIND ID SUMMARY`) is kept, but the summary says
/// `status changed` for `status_changed` and `decision-needed, waiting for a decision` for
/// `decision-needed:blocked_decision`. `--json` keeps the ledger's names.
fn summary_in_words(kind: &str, summary: &str) -> String {
    match kind {
        // `x-` marks wrkr's own event types in the ledger; people need not see it.
        "event" => summary.strip_prefix("x-").unwrap_or(summary).replace('_', " "),
        "checkpoint" => match summary.split_once(':') {
            Some((cp_type, status)) => {
                let status = Status::parse(status).map_or_else(|| status.replace('_', " "), |s| s.plain().to_owned());
                format!("{cp_type}, {status}")
            }
            None => summary.to_owned(),
        },
        _ => summary.to_owned(),
    }
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

fn run_diff(args: &Args, io: &mut Io, targets: [&str; 2], max: u64) -> Result<()> {
    let [a, b] = targets.map(|t| open_pack(args, t));
    let d = inspect::diff(a?, b?, max)?;
    if io.json {
        io.pretty(&d)?;
    } else {
        io.line(&format!(
            "job_a={} job_b={} added={} removed={} changed={}",
            d.job_id_a,
            d.job_id_b,
            d.added.len(),
            d.removed.len(),
            d.changed.len()
        ))?;
        changed_lines(io, &d.added, &d.removed, &d.changed)?;
        for (kind, c) in [("events", &d.records.events), ("checkpoints", &d.records.checkpoints)] {
            io.line(&format!(
                "{kind}: added={} removed={} changed={}",
                c.added.len(),
                c.removed.len(),
                c.changed.len()
            ))?;
            changed_lines(io, &c.added, &c.removed, &c.changed)?;
        }
    }
    let c = (&d.records.events, &d.records.checkpoints);
    let same = [&d.added, &d.removed, &d.changed, &c.0.added, &c.0.removed, &c.0.changed, &c.1.added]
        .iter()
        .chain([&c.1.removed, &c.1.changed].iter())
        .all(|list| list.is_empty());
    if args.switch(EXIT_CODE.long) && !same {
        io.flush()?;
        return Err(Error::generic(format!("{} and {} differ", targets[0], targets[1])).with_exit_code(1));
    }
    Ok(())
}

/// `  + name` for each added, `  - name` removed, `  ~ name` changed.
fn changed_lines(io: &mut Io, added: &[String], removed: &[String], changed: &[String]) -> Result<()> {
    for (mark, names) in [("+", added), ("-", removed), ("~", changed)] {
        for name in names {
            io.line(&format!("  {mark} {name}"))?;
        }
    }
    Ok(())
}

/// A pack file, or a job id packed from the store into a temp file (what `wrkr export` writes).
fn open_pack(args: &Args, target: &str) -> Result<std::fs::File> {
    let Some(job) = job_argument(target) else { return source::open(target) };
    let mut file = tempfile::tempfile().map_err(|e| Error::io("create a temp file for the pack", e))?;
    {
        let mut out = std::io::BufWriter::new(&mut file);
        crate::pack::export::pack_job(&args.store()?, &job, Default::default(), &mut out)?;
        std::io::Write::flush(&mut out).map_err(|e| Error::io("write the temp pack", e))?;
    }
    Ok(file)
}
