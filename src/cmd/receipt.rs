//! wrkr receipt: the ticket footer of a pack, or a check of a footer line (digest 2.6).
//!
//! `receipt PACK` verifies the pack (a footer for a pack that does not verify would be a false
//! receipt) and prints `WRKR job_id=<id> manifest=sha256:<hex> verify="wrkr verify <id>"`; with
//! --json `{footer, job_id, manifest_sha256}`. `receipt --parse LINE` checks a footer line: exit 0
//! with its parts as JSON, or exit 6. Receipts for a job id (reusing an up-to-date pack) come with
//! the store.

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
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
    usage: "PACK | --parse LINE",
    long_about: "The footer is one line, exactly `WRKR job_id=<id> manifest=sha256:<hash> verify=\"wrkr verify <id>\"`, \
                 to paste into a ticket or PR. The pack is verified first. With --parse, LINE is checked \
                 against the footer format and its job_id, manifest_sha256 and verify target are printed as \
                 JSON (one line; pretty with --json).",
    flags: &[&PARSE],
    examples: &[
        Example { command: "wrkr receipt ./wrkr-out/jobpacks/jobpack_job_x.zip", what: "The footer line." },
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
    let [pack] = words.as_slice() else {
        return Err(Error::invalid_input("usage: wrkr receipt PACK | wrkr receipt --parse LINE"));
    };
    let report = verify::verify(source::open(pack)?, &Options::default())?;
    let line = footer::format(&report.job_id, &report.manifest_sha256);
    if io.json {
        io.pretty(&json!({"footer": line, "job_id": report.job_id, "manifest_sha256": report.manifest_sha256}))
    } else {
        io.line(&line)
    }
}
