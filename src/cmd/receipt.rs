//! wrkr receipt: the ticket footer of a pack, or a check of a footer line (digest 2.6).
//!
//! `receipt PACK` verifies the pack (a footer for a pack that does not verify would be a false
//! receipt) and prints `WRKR job_id=<id> manifest=sha256:<hex> verify="wrkr verify <id>"`; with
//! --json `{footer, job_id, manifest_sha256}`. `receipt --parse LINE` checks a footer line: exit 0
//! with its parts as JSON, or exit 6.
//!
//! `receipt JOB_ID` (an argument that is not an existing file) uses the job's pack in
//! `<out-dir>/jobpacks/` when it is up to date (it verifies and holds the ledger's last event and
//! the store's accept result), and exports it otherwise (`pack::export::receipt`): asking twice
//! for an unchanged job gives the same footer without rewriting anything. Go always re-exported.

use std::path::Path;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::export::{DEFAULT_OUT_DIR, OUT_DIR};
use crate::contract::{Error, Result};
use crate::pack::export::{self, ExportOptions, job_argument};
use crate::pack::verify::{self, Options};
use crate::pack::{footer, source};

const PARSE: Flag = Flag {
    long: "parse",
    short: None,
    value: Some("LINE"),
    help: "Check that LINE is a valid footer and print its parts as JSON (exit 6 if not)",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "receipt",
    kind: Kind::Command,
    about: "Print the ticket footer of a jobpack, or validate a footer line",
    usage: "PACK|JOB_ID | --parse LINE",
    long_about: "The footer is one line, exactly `WRKR job_id=<id> manifest=sha256:<hash> verify=\"wrkr verify <id>\"`, \
                 to paste into a ticket or PR; for a JOB_ID its verify command works as printed: a pack \
                 outside ./wrkr-out/jobpacks/ (--out-dir) is named by its absolute path (`verify=\"wrkr verify /abs/jobpack_<id>.zip\"`). \
                 The pack is verified first. With --parse, LINE is checked \
                 against the footer format and its job_id, manifest_sha256 and verify target are printed as \
                 JSON (one line; pretty with --json).\n\n\
                 For a JOB_ID (an argument that is not an existing file), the pack \
                 DIR/jobpacks/jobpack_<id>.zip is reused when it is up to date with the store (it verifies \
                 and holds the job's last event and accept result), so the footer is stable; otherwise the \
                 job is exported first. An existing pack that fails verification is an error, not \
                 overwritten.",
    flags: &[&PARSE, &OUT_DIR],
    examples: &[
        Example { command: "wrkr receipt ./wrkr-out/jobpacks/jobpack_job_x.zip", what: "The footer line." },
        Example { command: "wrkr receipt job_x", what: "The footer of job_x's pack, exporting it if stale." },
        Example {
            command: "wrkr receipt --parse \"$(tail -1 ticket.txt)\"",
            what: "Check a footer copied from a ticket.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    if let Some(line) = args.value(PARSE.long) {
        if !words.is_empty() {
            return Err(Error::invalid_input("--parse takes the line; no PACK with it"));
        }
        let parsed = footer::parse(line)?;
        return if io.json { io.pretty(&parsed) } else { io.record(&parsed) };
    }
    let [target] = words.as_slice() else {
        return Err(Error::invalid_input("usage: wrkr receipt PACK|JOB_ID | wrkr receipt --parse LINE"));
    };
    let (job_id, manifest_sha256, line) = match job_argument(target) {
        Some(job) => {
            let out_dir = Path::new(args.value(OUT_DIR.long).unwrap_or(DEFAULT_OUT_DIR));
            let e = export::receipt(&args.store()?, &job, out_dir, &ExportOptions::default())?;
            (e.job_id, e.manifest_sha256, e.footer)
        }
        None => {
            let report = verify::verify(source::open(target)?, &Options::default())?;
            // A pack named by the caller gets the v1 footer, as Go printed it: the caller knows
            // where the file is; only the packs wrkr places itself are named by path.
            let line = footer::format(&report.job_id, &report.manifest_sha256);
            (report.job_id, report.manifest_sha256, line)
        }
    };
    if io.json {
        io.pretty(&json!({"footer": line, "job_id": job_id, "manifest_sha256": manifest_sha256}))
    } else {
        io.line(&line)
    }
}
