//! Man pages (roff), rendered from the command table: `wrkr(1)` plus one `wrkr-<name>(1)` per tool
//! and command. The pages carry no build date, so regenerating them is byte-stable.

use roff::{Roff, bold, italic, roman};

use crate::cli::help::{flag_synopsis, paragraphs, synopses};
use crate::cli::spec::{Command, Flag, GLOBAL_FLAGS, Kind};
use crate::cli::table;
use crate::contract::{PRODUCER_VERSION, ReasonCode};

/// The date in each page's header: the date of this version's contract, not of the build.
const PAGE_DATE: &str = "2026-11-24";

/// (file name, contents) for every page.
pub fn pages() -> Vec<(String, String)> {
    let mut pages = vec![("wrkr.1".to_owned(), overview_page())];
    for cmd in table::all() {
        pages.push((format!("{}.1", cmd.page_name()), command_page(cmd)));
    }
    pages
}

fn header(roff: &mut Roff, name: &str) {
    let upper = name.to_uppercase();
    let source = format!("wrkr {PRODUCER_VERSION}");
    roff.control("TH", [upper.as_str(), "1", PAGE_DATE, source.as_str(), "wrkr manual"]);
}

fn command_page(cmd: &Command) -> String {
    let mut r = Roff::new();
    header(&mut r, &cmd.page_name());
    r.control("SH", ["NAME"]);
    r.text([roman(format!("{} - {}", cmd.page_name(), cmd.about))]);
    r.control("SH", ["SYNOPSIS"]);
    for (i, (program, usage)) in synopses(cmd).into_iter().enumerate() {
        if i > 0 {
            r.control("br", []);
        }
        r.text([bold(program), roman(" "), italic(usage)]);
    }
    r.control("SH", ["DESCRIPTION"]);
    text(&mut r, cmd.about);
    for para in paragraphs(cmd.long_about) {
        r.control("PP", []);
        text(&mut r, &para);
    }
    if !cmd.flags.is_empty() {
        r.control("SH", ["OPTIONS"]);
        flags(&mut r, cmd.flags);
    }
    r.control("SH", ["GLOBAL OPTIONS"]);
    flags(&mut r, GLOBAL_FLAGS);
    if !cmd.examples.is_empty() {
        r.control("SH", ["EXAMPLES"]);
        for ex in cmd.examples {
            r.control("TP", []);
            r.text([bold(ex.command)]);
            text(&mut r, ex.what);
        }
    }
    exit_status(&mut r);
    r.control("SH", ["SEE ALSO"]);
    r.text([bold("wrkr"), roman("(1)")]);
    r.render()
}

fn overview_page() -> String {
    let mut r = Roff::new();
    header(&mut r, "wrkr");
    r.control("SH", ["NAME"]);
    r.text([roman("wrkr - durable, supervised, reviewable jobs for long-running agent work")]);
    r.control("SH", ["SYNOPSIS"]);
    r.text([bold("wrkr"), roman(" "), italic("command"), roman(" ["), italic("args"), roman("]...")]);
    r.control("br", []);
    r.text([bold("wrkr-"), italic("tool"), roman(" ["), italic("args"), roman("]...")]);
    r.control("SH", ["DESCRIPTION"]);
    text(
        &mut r,
        "wrkr turns long-running agent work into durable, supervised, reviewable jobs. It is one binary \
         that acts as many small tools: called through a link named wrkr-<tool> it is that tool; called as \
         wrkr, the first word picks the tool or command. Pipe tools read and write JSONL on stdin and stdout; \
         diagnostics go to stderr.",
    );
    for (title, kind) in [("PIPE TOOLS", Kind::Tool), ("COMMANDS", Kind::Command)] {
        r.control("SH", [title]);
        for cmd in table::all().iter().filter(|c| c.kind == kind) {
            r.control("TP", []);
            r.text([bold(cmd.name)]);
            text(&mut r, &format!("{}.", cmd.about));
            r.text([roman("See "), bold(cmd.page_name()), roman("(1).")]);
        }
    }
    r.control("SH", ["GLOBAL OPTIONS"]);
    for (flag, help) in table::WRKR_ONLY_FLAGS {
        r.control("TP", []);
        r.text([bold(*flag)]);
        text(&mut r, help);
    }
    flags(&mut r, GLOBAL_FLAGS);
    exit_status(&mut r);
    r.render()
}

fn flags(r: &mut Roff, flags: &[&Flag]) {
    for flag in flags {
        r.control("TP", []);
        r.text([bold(flag_synopsis(flag))]);
        text(r, flag.help);
        if !flag.long_help.is_empty() {
            r.control("PP", []);
            text(r, &paragraphs(flag.long_help).join(" "));
        }
    }
}

fn exit_status(r: &mut Roff) {
    r.control("SH", ["EXIT STATUS"]);
    r.text([roman("0 on success. Otherwise the exit code of the failure's reason code:")]);
    for code in ReasonCode::ALL {
        r.control("TP", []);
        r.text([bold(code.exit_code().to_string())]);
        r.text([roman(code.as_str())]);
    }
}

/// Filled text as source lines of at most ~70 characters (roff joins them again when it fills),
/// so the page source stays readable and `mandoc -T lint` has nothing to say about long lines.
fn text(r: &mut Roff, paragraph: &str) {
    let mut line = String::new();
    for word in paragraph.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > 70 {
            r.text([roman(std::mem::take(&mut line))]);
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        r.text([roman(line)]);
    }
}
