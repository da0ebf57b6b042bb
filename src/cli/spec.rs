//! What a tool or command *is*, as data: its name, flags, help and examples.
//!
//! Each tool module declares one `Command` constant. The argument parser, `--help`, the man pages
//! and the shell completions are all rendered from these declarations, so they cannot disagree
//! with each other or with what the parser accepts (the ripgrep approach).

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::contract::Result;

/// One command-line flag.
pub struct Flag {
    /// Long name without dashes (`max-line-bytes`).
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's name in help (`N`, `FILE`); `None` for a switch.
    pub value: Option<&'static str>,
    /// One line, no trailing period.
    pub help: &'static str,
    /// Optional paragraph for `--help` and the man page.
    pub long_help: &'static str,
}

pub struct Example {
    pub command: &'static str,
    pub what: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A pipe tool: reachable as `wrkr-<name>` (a link to the binary) and as `wrkr <name>`.
    Tool,
    /// A `wrkr <name>` command.
    Command,
}

pub struct Command {
    /// Short name (`jcs`); tools are also known by `wrkr-<name>`.
    pub name: &'static str,
    pub kind: Kind,
    /// One line: what it does (also the `--explain` intent).
    pub about: &'static str,
    /// Arguments after the program name, e.g. `[OPTIONS] [FILE]...`.
    pub usage: &'static str,
    /// Paragraphs separated by blank lines.
    pub long_about: &'static str,
    pub flags: &'static [&'static Flag],
    pub examples: &'static [Example],
    pub run: fn(Args, &mut Io) -> Result<()>,
}

impl Command {
    /// `wrkr-jcs` for a tool, `wrkr version` for a command.
    pub fn display_name(&self) -> String {
        match self.kind {
            Kind::Tool => format!("wrkr-{}", self.name),
            Kind::Command => format!("wrkr {}", self.name),
        }
    }

    /// The man page / link name: `wrkr-<name>` for both kinds.
    pub fn page_name(&self) -> String {
        format!("wrkr-{}", self.name)
    }

    pub fn flag(&self, long: &str) -> Option<&'static Flag> {
        self.flags.iter().copied().chain(GLOBAL_FLAGS.iter().copied()).find(|f| f.long == long)
    }

    pub fn flag_by_short(&self, short: char) -> Option<&'static Flag> {
        self.flags.iter().copied().chain(GLOBAL_FLAGS.iter().copied()).find(|f| f.short == Some(short))
    }
}

pub const JSON: Flag = Flag {
    long: "json",
    short: None,
    value: None,
    help: "Machine-readable output; errors become a wrkr.error_envelope on stderr",
    long_help: "Accepted anywhere before `--`; after it, `--json` belongs to the wrapped command. Pipe tools always write JSONL data; \
                --json changes how errors are reported.",
};

pub const HELP: Flag = Flag { long: "help", short: Some('h'), value: None, help: "Print help and exit", long_help: "" };

pub const EXPLAIN: Flag = Flag {
    long: "explain",
    short: None,
    value: None,
    help: "Print what the command would do, without running it",
    long_help: "",
};

pub const STORE: Flag = Flag {
    long: "store",
    short: None,
    value: Some("DIR|URL"),
    help: "Store: DIR or postgres:// URL [default: $WRKR_STORE, else $WRKR_HOME, else ~/.wrkr]",
    long_help: "Accepted anywhere before `--`. A directory is a file store (one directory per job under DIR/jobs/); \
                a postgres:// or postgresql:// URL is a PostgreSQL store (libpq's PG* variables fill in what the \
                URL leaves out; `wrkr store migrate` creates its schema).",
};

pub const VERSION: Flag = Flag {
    long: "version",
    short: Some('V'),
    value: None,
    help: "Print the version and exit",
    long_help: "Anywhere before `--`, as --help: `wrkr-jcs --version` is `wrkr version`.",
};

/// Flags every tool and command accepts.
pub const GLOBAL_FLAGS: &[&Flag] = &[&JSON, &STORE, &EXPLAIN, &HELP, &VERSION];
