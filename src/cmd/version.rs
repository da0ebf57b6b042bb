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
                 {\"commit\", \"date\", \"source\", \"version\"}. build.rs stamps them at build time: the commit \
                 from git (or WRKR_COMMIT), the date from WRKR_BUILD_DATE, else SOURCE_DATE_EPOCH, else the \
                 commit's date, never the clock, so a rebuild gives the same bytes. A build from a source tree \
                 without git reports commit `none`, date `unknown` (unless SOURCE_DATE_EPOCH is set) and source \
                 `source build without git`.",
    flags: &[],
    examples: &[Example { command: "wrkr --json version", what: "The version as JSON." }],
    run,
};

// Set by build.rs (build/stamp.rs has the rules).
const COMMIT: &str = env!("WRKR_COMMIT");
const DATE: &str = env!("WRKR_BUILD_DATE");
/// `git`, `env` or `source build without git`.
const SOURCE: &str = env!("WRKR_BUILD_SOURCE");

fn run(args: Args, io: &mut Io) -> Result<()> {
    if let Some(extra) = args.positionals.first() {
        return Err(crate::contract::Error::invalid_input(format!("version takes no arguments (got {extra:?})")));
    }
    if io.json {
        io.record(&json!({"commit": COMMIT, "date": DATE, "source": SOURCE, "version": PRODUCER_VERSION}))
    } else if SOURCE == "git" || SOURCE == "env" {
        io.line(&format!("wrkr {PRODUCER_VERSION} (commit={COMMIT} date={DATE})"))
    } else {
        io.line(&format!("wrkr {PRODUCER_VERSION} (commit={COMMIT} date={DATE}; {SOURCE})"))
    }
}
