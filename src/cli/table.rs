//! The command table: every tool and command wrkr knows, in the order help lists them.
//! Adding a tool is adding its module and one line here; dispatch, help, man pages and
//! completions follow from it.

use crate::cli::spec::Command;
use crate::{cmd, tools};

static ALL: &[&Command] = &[
    &tools::accept::TOOL,
    &tools::events::TOOL,
    &tools::jcs::TOOL,
    &tools::lease::TOOL,
    &tools::pack::TOOL,
    &tools::schema::TOOL,
    &tools::verify::TOOL,
    &cmd::init::COMMAND,
    &cmd::submit::COMMAND,
    &cmd::validate::COMMAND,
    &cmd::status::COMMAND,
    &cmd::jobs::COMMAND,
    &cmd::logs::COMMAND,
    &cmd::checkpoint::COMMAND,
    &cmd::approve::COMMAND,
    &cmd::resume::COMMAND,
    &cmd::pause::COMMAND,
    &cmd::cancel::COMMAND,
    &cmd::worker::COMMAND,
    &cmd::budget::COMMAND,
    &cmd::export::COMMAND,
    &cmd::job::COMMAND,
    &cmd::receipt::COMMAND,
    &cmd::report::COMMAND,
    &cmd::bridge::COMMAND,
    &cmd::serve::COMMAND,
    &cmd::store::COMMAND,
    &cmd::doctor::COMMAND,
    &cmd::fsck::COMMAND,
    &cmd::keygen::COMMAND,
    &cmd::wrap::COMMAND,
    &cmd::demo::COMMAND,
    &cmd::version::COMMAND,
    &cmd::help::COMMAND,
];

pub fn all() -> &'static [&'static Command] {
    ALL
}

/// Commands whose `--explain` is their own dry run (what they would do with these arguments, after
/// checking them) rather than the one-line intent every other command prints.
pub const EXPLAINS_ITSELF: &[&str] = &["submit"];

/// Find a tool or command by short name (`jcs`) or full name (`wrkr-jcs`).
pub fn find(name: &str) -> Option<&'static Command> {
    let short = name.strip_prefix("wrkr-").unwrap_or(name);
    ALL.iter().copied().find(|c| c.name == short)
}

/// The tool named by a program's basename: the longest `wrkr-<tool>` the basename ends with
/// (so `wrkr-verify`, `/usr/local/bin/wrkr-verify` and `x-wrkr-verify` are all wrkr-verify).
pub fn tool_for_program(basename: &str) -> Option<&'static Command> {
    ALL.iter()
        .copied()
        .filter(|c| c.kind == crate::cli::spec::Kind::Tool && basename.ends_with(&c.page_name()))
        .max_by_key(|c| c.name.len())
}

/// Flags only the bare `wrkr` understands (as its first word), for help and man pages.
pub const WRKR_ONLY_FLAGS: &[(&str, &str)] = &[
    ("--list", "Print the name of every pipe tool (wrkr-<tool>), one per line"),
    ("-V, --version", "Print the version (also: wrkr version)"),
    ("--generate <man|completions> <DIR>", "Write the man pages or the bash, zsh and fish completions into DIR"),
];
