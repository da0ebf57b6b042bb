//! wrkr version: the binary's version, and the commit and date it was built from when known.

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::contract::{PRODUCER_VERSION, Result};

pub const COMMAND: Command = Command {
    name: "version",
    kind: Kind::Command,
    about: "Print the version of wrkr",
    usage: "",
    long_about: "Text: `wrkr <version> (commit=<commit> date=<date>)`. With --json, one compact object \
                 {\"commit\", \"date\", \"version\"}. The commit and date are set at build time through the \
                 WRKR_COMMIT and WRKR_BUILD_DATE environment variables; they read `none` and `unknown` \
                 otherwise.",
    flags: &[],
    examples: &[Example { command: "wrkr --json version", what: "The version as JSON." }],
    run,
};

const COMMIT: &str = match option_env!("WRKR_COMMIT") {
    Some(c) => c,
    None => "none",
};
const DATE: &str = match option_env!("WRKR_BUILD_DATE") {
    Some(d) => d,
    None => "unknown",
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    if let Some(extra) = args.positionals.first() {
        return Err(crate::contract::Error::invalid_input(format!("version takes no arguments (got {extra:?})")));
    }
    if io.json {
        io.record(&json!({"commit": COMMIT, "date": DATE, "version": PRODUCER_VERSION}))
    } else {
        io.line(&format!("wrkr {PRODUCER_VERSION} (commit={COMMIT} date={DATE})"))
    }
}
