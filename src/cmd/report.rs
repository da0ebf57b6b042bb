//! wrkr report github JOB|PACK: the GitHub step summary of a jobpack (digest 10.2, with our fixes).
//!
//! For a job id, the existing `<out>/jobpacks/jobpack_<id>.zip` is reused when it is up to date
//! (it verifies and holds the ledger's last event and the store's accept result), else the job is
//! exported: so the summary is byte-stable while the job does not change. A pack file is used as
//! it is. Writes `<out>/reports/github_summary_<id>.json` (JCS) and `.md`, and appends the markdown
//! to `$GITHUB_STEP_SUMMARY` when that is set.

use std::path::{Path, PathBuf};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::pack::export::{ExportOptions, job_argument, receipt};
use crate::report::publish;

const OUT_DIR: Flag = Flag {
    long: "out-dir",
    short: None,
    value: Some("DIR"),
    help: "Write DIR/reports/github_summary_<id>.json and .md [default: ./wrkr-out]",
    long_help: "For a JOB, its pack DIR/jobpacks/jobpack_<id>.zip is reused when up to date, else exported there \
                first.",
};

pub const COMMAND: Command = Command {
    name: "report",
    kind: Kind::Command,
    about: "Write the GitHub step summary of a job or jobpack",
    usage: "github JOB|PACK [--out-dir DIR]",
    long_about: "Writes DIR/reports/github_summary_<id>.json (the wrkr.github_summary record, JCS) and \
                 DIR/reports/github_summary_<id>.md, and appends the markdown to $GITHUB_STEP_SUMMARY when \
                 it is set. The markdown says `not run` when acceptance never ran, lists the acceptance checks \
                 with their outcome, the artifacts with their content hashes, who approved which decision and \
                 why, and budget use against limits; it stays under GitHub's 1 MiB limit. Built from the pack \
                 only: the same pack gives the same bytes.\n\n\
                 For a JOB, an up-to-date DIR/jobpacks/jobpack_<id>.zip is reused, else the job is exported. \
                 Prints `summary_json=` and `summary_markdown=` lines, or with --json {summary, \
                 summary_json_path, summary_markdown_path, step_summary_path?}.",
    flags: &[&OUT_DIR],
    examples: &[
        Example { command: "wrkr report github job_x", what: "Summarise a job for a PR." },
        Example { command: "wrkr report github jobpack_job_x.zip --out-dir /tmp/r", what: "Summarise a pack file." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    if let Some(verb) = words.first().filter(|w| !["github"].contains(&w.as_str())) {
        return Err(crate::cli::suggest::unknown_verb("report", verb, &["github"]));
    }
    let target = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["github", target] => (*target).to_owned(),
        _ => {
            return Err(Error::invalid_input("usage: wrkr report github JOB|PACK [--out-dir DIR]")
                .with_hint("wrkr report --help"));
        }
    };
    let out_dir = PathBuf::from(args.value(OUT_DIR.long).unwrap_or(crate::cmd::export::DEFAULT_OUT_DIR));
    let pack = match job_argument(&target) {
        Some(job) => receipt(&args.store()?, &job, &out_dir, &ExportOptions::default())?.path,
        None => PathBuf::from(&target),
    };
    let published = publish::github_summary(Path::new(&pack), &out_dir)?;
    if io.json {
        return io.pretty(&published);
    }
    io.line(&format!("summary_json={}", published.summary_json_path))?;
    io.line(&format!("summary_markdown={}", published.summary_markdown_path))?;
    if let Some(p) = &published.step_summary_path {
        io.line(&format!("step_summary={p}"))?;
    }
    Ok(())
}
