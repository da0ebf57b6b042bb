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
    r.control("SH", ["ENVIRONMENT"]);
    environment(&mut r, SHORT_ENVIRONMENT);
    r.control("PP", []);
    text(&mut r, "wrkr(1) lists every variable wrkr reads.");
    files(&mut r);
    see_also(&mut r, cmd);
    r.render()
}

/// `wrkr(1)` and every command the page's own text mentions (`wrkr approve`, `wrkr-verify`).
fn see_also(r: &mut Roff, cmd: &Command) {
    let mentioned =
        format!("{} {}", cmd.long_about, cmd.examples.iter().map(|e| e.command).collect::<Vec<_>>().join(" "));
    let words: Vec<&str> = mentioned.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).collect();
    let mut related: Vec<String> = Vec::new();
    let family = RELATED.iter().filter(|group| group.contains(&cmd.name)).flat_map(|group| group.iter());
    for name in family.copied().filter_map(table::find).filter(|c| c.name != cmd.name) {
        if !related.contains(&name.page_name()) {
            related.push(name.page_name());
        }
    }
    for pair in words.windows(2) {
        let named = match pair {
            ["wrkr", next] => Some(*next),
            [word, _] => word.strip_prefix("wrkr-"),
            _ => None,
        };
        if let Some(other) = named.and_then(table::find).filter(|c| c.name != cmd.name)
            && !related.contains(&other.page_name())
        {
            related.push(other.page_name());
        }
    }
    related.sort();
    r.control("SH", ["SEE ALSO"]);
    let mut refs = vec![bold("wrkr"), roman("(1)")];
    for page in related {
        refs.push(roman(", "));
        refs.push(bold(page));
        refs.push(roman("(1)"));
    }
    r.text(refs);
}

/// Commands that are used together, beyond those a page's text names.
const RELATED: &[&[&str]] = &[
    &["submit", "status", "logs", "resume", "jobs"],
    &["status", "approve", "checkpoint", "resume", "logs"],
    &["pause", "cancel", "resume", "status"],
    &["export", "verify", "receipt", "accept", "report"],
    &["budget", "resume", "status"],
    &["events", "lease", "pack", "verify", "jcs", "schema"],
];

/// Every environment variable wrkr reads, with what it changes (wrkr(1) lists them all).
const ENVIRONMENT: &[(&str, &str)] = &[
    ("WRKR_HOME", "The store root (the default of --store). Unset or empty: ~/.wrkr, under HOME."),
    ("HOME", "Where the default store lives when WRKR_HOME is not set."),
    (
        "WRKR_APPROVED_BY",
        "Who approves (approve, resume --force-env) when --approved-by is not given; else the OS account.",
    ),
    ("WRKR_STORE", "The store: a directory, or a postgres:// URL for the PostgreSQL store (before WRKR_HOME)."),
    (
        "PGHOST, PGPORT, PGUSER, PGPASSWORD, PGPASSFILE, PGDATABASE, PGAPPNAME, PGCONNECT_TIMEOUT, PGSSLMODE, PGSSLROOTCERT",
        "libpq's variables: fill in what a postgres:// store URL leaves out. Steps get the store URL \
         without its password and PGPASSFILE, a 0600 password file of the job's, never PGPASSWORD.",
    ),
    (
        "WRKR_FOLLOW_POLL_MS",
        "wrkr-events --follow on PostgreSQL: the polling fallback when no NOTIFY arrives [default: 2000].",
    ),
    (
        "WRKR_WORKER_POLL_MS",
        "wrkr worker: how often an idle worker looks for work when no NOTIFY arrives [default: 1000].",
    ),
    (
        "WRKR_WORKER_LISTEN",
        "wrkr worker: 0 (or off) polls only, without LISTEN: behind a pooler in transaction mode [default: on].",
    ),
    (
        "WRKR_STATEMENT_TIMEOUT_MS",
        "PostgreSQL store: the server-side bound of one statement, never below the lock timeout + 5 s [default: 60000].",
    ),
    ("WRKR_LOCK_TIMEOUT_MS", "How long to wait for a job's ledger lock before E_LEASE_CONFLICT [default: 10000]."),
    (
        "WRKR_SIGNING_KEY_PATH",
        "doctor --production-readiness: the signing key to check when --signing-key is not given.",
    ),
    (
        "WRKR_SIGNING_MODE",
        "doctor --production-readiness: ed25519 means signing is asked for, so a key must be configured.",
    ),
    (
        "WRKR_RETENTION_DAYS",
        "doctor --production-readiness: the job retention in days that store prune applies (checked, never acted on).",
    ),
    (
        "WRKR_OUTPUT_RETENTION_DAYS",
        "doctor --production-readiness: the jobpack and report retention in days (checked, never acted on).",
    ),
    (
        "WRKR_ALLOW_UNSAFE",
        "doctor --production-readiness reports it, and any other WRKR_*UNSAFE* switch that is on, as critical.",
    ),
    ("NO_COLOR", "When set and not empty, the progress line on a terminal has no colour."),
    ("GITHUB_STEP_SUMMARY", "report github and accept --ci append their markdown summary to this file."),
    ("WRKR_SERVE_LISTEN", "serve: the address to listen on (the default of --listen)."),
    ("WRKR_SERVE_TOKEN", "serve: the bearer token clients must send."),
    ("WRKR_SERVE_TOKEN_FILE", "serve: a file holding the bearer token."),
    ("WRKR_SERVE_MAX_BODY_BYTES", "serve: the largest request body accepted."),
    ("WRKR_SERVE_MAX_CONNECTIONS", "serve: how many connections are served at once."),
    ("WRKR_SERVE_ALLOW_NON_LOOPBACK", "serve: 1, true or yes allows listening beyond loopback."),
    ("HOSTNAME", "Read by the host rule of a job's environment fingerprint (env:NAME rules read NAME)."),
    (
        "WRKR_JOB_ID, WRKR_STEP_ID, WRKR_STEP_ATTEMPT, WRKR_LEASE_EPOCH, WRKR_EVENTS_FD, WRKR_EVENTS_PATH",
        "Set by the runner for each step it starts (with WRKR_HOME), so the step can report through the adapter \
         protocol and call wrkr checkpoint emit \"$WRKR_JOB_ID\".",
    ),
];

/// The variables a command page lists itself.
const SHORT_ENVIRONMENT: &[&str] = &["WRKR_HOME", "NO_COLOR"];

fn environment(r: &mut Roff, names: &[&str]) {
    for (name, what) in ENVIRONMENT.iter().filter(|(n, _)| names.is_empty() || names.contains(n)) {
        r.control("TP", []);
        r.text([bold(*name)]);
        text(r, what);
    }
}

/// Where a store keeps a job's files.
fn files(r: &mut Roff) {
    r.control("SH", ["FILES"]);
    for (path, what) in [
        ("$WRKR_HOME/jobs/JOB/events.jsonl", "The job's ledger: append-only JSONL, the source of truth."),
        ("$WRKR_HOME/jobs/JOB/snapshot.json", "A cache of the job's state, rebuilt from the ledger when stale."),
        ("$WRKR_HOME/jobs/JOB/ledger.lock", "The lock appends take; never removed."),
        (
            "$WRKR_HOME/jobs/JOB/logs/INDEX-STEP-ATTEMPT.{stdout,stderr}.log",
            "Each step attempt's output (the tail, when longer than 8 MiB: older output in .log.1); \
             wrkr logs prints them.",
        ),
        ("$WRKR_HOME/jobs/JOB/logs/wrap.{stdout,stderr}.log", "The output of a wrapped command (wrkr wrap)."),
        ("$WRKR_HOME/jobs/JOB/runner.log", "The output of a background runner (submit --detach, resume --detach)."),
    ] {
        r.control("TP", []);
        r.text([bold(path)]);
        text(r, what);
    }
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
    r.control("SH", ["ENVIRONMENT"]);
    environment(&mut r, &[]);
    files(&mut r);
    r.control("SH", ["SEE ALSO"]);
    let mut refs = Vec::new();
    for (i, cmd) in table::all().iter().enumerate() {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(cmd.page_name()));
        refs.push(roman("(1)"));
    }
    r.text(refs);
    r.render()
}

fn flags(r: &mut Roff, flags: &[&Flag]) {
    for flag in flags {
        r.control("TP", []);
        r.text([bold(flag_synopsis(flag))]);
        text(r, flag.help);
        if !flag.long_help.is_empty() {
            // IP, not PP: the paragraph stays indented under its flag.
            r.control("IP", []);
            text(r, &paragraphs(flag.long_help).join(" "));
        }
    }
}

/// The exit codes in order, each with the reason codes that end with it.
fn exit_status(r: &mut Roff) {
    r.control("SH", ["EXIT STATUS"]);
    r.control("TP", []);
    r.text([bold("0")]);
    text(r, "Success.");
    let mut exits: Vec<u8> = ReasonCode::ALL.iter().map(|c| c.exit_code()).collect();
    exits.sort_unstable();
    exits.dedup();
    for exit in exits {
        let codes: Vec<&str> = ReasonCode::ALL.iter().filter(|c| c.exit_code() == exit).map(|c| c.as_str()).collect();
        r.control("TP", []);
        r.text([bold(exit.to_string())]);
        text(r, &codes.join(", "));
    }
}

/// Filled text as source lines of at most ~70 characters (roff joins them again when it fills),
/// so the page source stays readable and `mandoc -T lint` has nothing to say about long lines.
fn text(r: &mut Roff, paragraph: &str) {
    // Backticks mark code in the command table's Markdown-ish help; a man page shows no literal ones.
    let paragraph = paragraph.replace('`', "");
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
