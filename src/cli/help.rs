//! `--help` text and the `wrkr help` command map, rendered from the declarations in `table`.

use std::fmt::Write;

use crate::cli::spec::{Command, Flag, GLOBAL_FLAGS, Kind};
use crate::cli::table;
use crate::contract::PRODUCER_VERSION;

/// The full help of one tool or command.
pub fn command(cmd: &Command) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", cmd.display_name(), PRODUCER_VERSION);
    let _ = writeln!(out, "{}\n", cmd.about);
    let _ = writeln!(out, "USAGE:");
    for (program, usage) in synopses(cmd) {
        let _ = writeln!(out, "{}", format!("    {program} {usage}").trim_end());
    }
    for para in paragraphs(cmd.long_about) {
        let _ = writeln!(out, "\n{}", wrap(&para, 100, ""));
    }
    if !cmd.flags.is_empty() {
        let _ = writeln!(out, "\nOPTIONS:");
        flag_list(&mut out, cmd.flags);
    }
    let _ = writeln!(out, "\nGLOBAL OPTIONS:");
    flag_list(&mut out, GLOBAL_FLAGS);
    if !cmd.examples.is_empty() {
        let _ = writeln!(out, "\nEXAMPLES:");
        for ex in cmd.examples {
            let _ = writeln!(out, "    {}\n        {}", ex.command, ex.what);
        }
    }
    out
}

/// How the command is invoked, as (program words, arguments): both spellings for a tool.
pub fn synopses(cmd: &Command) -> Vec<(String, &'static str)> {
    match cmd.kind {
        Kind::Tool => vec![(cmd.page_name(), cmd.usage), (format!("wrkr {}", cmd.name), cmd.usage)],
        Kind::Command => vec![(format!("wrkr {}", cmd.name), cmd.usage)],
    }
}

/// `wrkr help`: the command map.
pub fn overview() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "wrkr {PRODUCER_VERSION}");
    let _ = writeln!(out, "Durable, supervised, reviewable jobs for long-running agent work.\n");
    let _ = writeln!(
        out,
        "USAGE:\n    wrkr <COMMAND> [ARGS]...\n    wrkr-<TOOL> [ARGS]...      (a link to the same binary)\n"
    );
    let width = table::all().iter().map(|c| c.name.len()).max().unwrap_or(0);
    for (title, kind) in [("PIPE TOOLS (wrkr <name> or wrkr-<name>):", Kind::Tool), ("COMMANDS:", Kind::Command)] {
        let _ = writeln!(out, "{title}");
        for cmd in table::all().iter().filter(|c| c.kind == kind) {
            let _ = writeln!(out, "    {:width$}  {}", cmd.name, cmd.about);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "GLOBAL OPTIONS:");
    for (flag, help) in table::WRKR_ONLY_FLAGS {
        let _ = writeln!(out, "    {flag:26}  {help}");
    }
    flag_list(&mut out, GLOBAL_FLAGS);
    let _ = writeln!(out, "\n'wrkr <command> --help' shows one command; 'man wrkr-<command>' the same as a man page.");
    out
}

fn flag_list(out: &mut String, flags: &[&Flag]) {
    for flag in flags {
        let _ = writeln!(out, "    {:26}  {}", flag_synopsis(flag), flag.help);
        if !flag.long_help.is_empty() {
            let _ = writeln!(out, "{}", wrap(flag.long_help, 100, "                                "));
        }
    }
}

/// `-h, --help` / `--max-line-bytes <N>`.
pub fn flag_synopsis(flag: &Flag) -> String {
    let mut s = match flag.short {
        Some(c) => format!("-{c}, --{}", flag.long),
        None => format!("--{}", flag.long),
    };
    if let Some(v) = flag.value {
        let _ = write!(s, " <{v}>");
    }
    s
}

pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n").map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|p| !p.is_empty()).collect()
}

/// Greedy word wrap with an indent on every line.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}
