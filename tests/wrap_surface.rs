//! `wrkr wrap` as a newcomer meets it (issue 12, U8): stdin reaches the command, a command that
//! cannot start is an error naming it, and adapter records wrkr rejects are reported on stderr,
//! not only in the ledger. On a terminal it shows the live progress line (U1).

mod support;

use support::Sandbox;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdin was /dev/null for the wrapped command: `echo hi | wrkr wrap -- cat` printed nothing.
#[test]
fn stdin_passes_through_to_the_command() {
    let sb = Sandbox::new();
    let out = sb
        .wrkr()
        .args(["wrap", "--job-id", "cat", "--", "sh", "-c", "read line && test \"$line\" = 'hello there'"])
        .write_stdin("hello there\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A command that cannot start was "E_ADAPTER_FAIL: wrap command failed", naming nothing.
#[test]
fn a_command_that_cannot_start_is_named() {
    let sb = Sandbox::new();
    let out = sb.wrkr().args(["wrap", "--job-id", "nope", "--", "no-such-program-xyz", "--flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("E_ADAPTER_FAIL") && err.contains("\"no-such-program-xyz\" could not start"), "{err}");
    let ledger = std::fs::read_to_string(sb.home().join("jobs/nope/events.jsonl")).unwrap();
    let blocked = ledger.lines().find(|l| l.contains("\"checkpoint_emitted\"") && l.contains("\"blocked\"")).unwrap();
    assert!(blocked.contains("could not start"), "the blocked checkpoint says it too: {blocked}");
}

/// A record the adapter protocol refuses was only in the ledger (`x-adapter_record_rejected`);
/// the person running wrap never saw why their tool's reports were ignored.
#[test]
fn rejected_adapter_records_are_reported_on_stderr() {
    let sb = Sandbox::new();
    let script = r#"echo 'not json' >&"$WRKR_EVENTS_FD"; echo '{"type":"bogus"}' >&"$WRKR_EVENTS_FD""#;
    let out = sb.wrkr().args(["wrap", "--job-id", "rej", "--", "sh", "-c", script]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("adapter record rejected")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains("not json") && lines[1].contains("bogus"), "{err}");
    let ledger = std::fs::read_to_string(sb.home().join("jobs/rej/events.jsonl")).unwrap();
    assert_eq!(ledger.matches("x-adapter_record_rejected").count(), 2);
}

/// The wrapped command's progress note, reported through the adapter protocol, then a pause long
/// enough for a few redraws, with output on both streams around it.
const REPORTING: &str = r#"echo before; sleep 0.5; echo '{"type":"progress","note":"halfway"}' >&"$WRKR_EVENTS_FD"; sleep 0.6; echo after >&2; sleep 0.3"#;

/// Nothing showed while a wrapped command ran (issue 12, U1): submit and resume had a live line,
/// wrap had none. Now the same line, on stderr, stepping aside for the command's own output.
#[test]
fn wrap_on_a_terminal_draws_the_progress_line_between_the_commands_output() {
    let sb = Sandbox::new();
    let wrap = ["wrap", "--job-id", "live", "--budget-wall-time", "60", "--", "sh", "-c", REPORTING];
    let (code, screen) = support::on_a_terminal(&sb, &wrap, &[]);
    assert_eq!(code, Some(0), "{screen:?}");
    // The command (cut to 32 characters), how long it has run, the budgets set.
    let label = "\x1b[1msh -c echo before; sleep 0.5; ec…\x1b[0m";
    assert!(screen.contains(&format!(" {label} 0s · \x1b[2mwall 0s/1m00s\x1b[0m")), "{screen:?}");
    assert!(screen.contains(" · halfway · \x1b[2mwall "), "the command's note: {screen:?}");
    // The command's lines start on a cleared line, never after the progress line.
    for line in ["before\r\n", "after\r\n"] {
        assert!(screen.contains(&format!("\r\x1b[2K{line}")), "{line:?} in {screen:?}");
    }
    assert!(screen.contains("\r\x1b[2Kjob_id=live\r\n"), "erased before the summary: {screen:?}");

    // NO_COLOR: no colour; -q: no line at all, only the command's output and the summary.
    let no_color = ["wrap", "--job-id", "plain", "--", "sh", "-c", REPORTING];
    let (_, plain) = support::on_a_terminal(&sb, &no_color, &[("NO_COLOR", "1")]);
    assert!(plain.contains(" · halfway") && !plain.contains("\x1b[1m"), "{plain:?}");
    let quiet = ["wrap", "-q", "--job-id", "quiet", "--", "sh", "-c", REPORTING];
    let (_, quiet) = support::on_a_terminal(&sb, &quiet, &[]);
    assert!(quiet.starts_with("before\r\nafter\r\njob_id=quiet\r\n"), "{quiet:?}");

    // -v: each progress note also as a permanent line.
    let verbose = ["wrap", "-v", "--job-id", "verbose", "--", "sh", "-c", REPORTING];
    let (_, verbose) = support::on_a_terminal(&sb, &verbose, &[("NO_COLOR", "1")]);
    assert!(verbose.contains("\r\x1b[2K· halfway\r\n"), "{verbose:?}");
}

/// Stdout stays the command's alone, also on a terminal: the line is drawn on stderr only.
#[test]
fn wrap_progress_never_reaches_stdout() {
    let sb = Sandbox::new();
    let script = format!("wrkr wrap --job-id piped -- sh -c '{}' > out.txt", REPORTING.replace('\'', "'\\''"));
    let (code, screen) = support::program_on_a_terminal(&sb, &["sh", "-c", &script], &[]);
    assert_eq!(code, Some(0), "{screen:?}");
    assert!(screen.contains(" · halfway"), "the line is on the terminal: {screen:?}");
    assert_eq!(std::fs::read_to_string(sb.work().join("out.txt")).unwrap(), "before\n");
}

/// A command's unfinished line (a prompt) is not wiped by a redraw.
#[test]
fn wrap_progress_leaves_an_unfinished_line_alone() {
    let sb = Sandbox::new();
    let wrap = ["wrap", "--job-id", "prompt", "--", "sh", "-c", "printf 'name? '; sleep 0.7; echo ok"];
    let (_, screen) = support::on_a_terminal(&sb, &wrap, &[]);
    assert!(screen.contains("name? ok\r\n"), "{screen:?}");
}

/// A wrapped command always wrote to pipes and so lost its colours (issue 12, U8). `--tty` gives
/// each output stream a pseudo-terminal; the bytes, and where they go, are as without it.
#[test]
fn wrap_tty_gives_the_command_a_terminal_and_keeps_its_streams_apart() {
    let sb = Sandbox::new();
    let script = "test -t 1 && echo tty || echo no-tty; test -t 2 && echo err-tty >&2; printf 'a\\nb\\n'";
    let out = sb.wrkr().args(["wrap", "--tty", "--job-id", "tty", "--", "sh", "-c", script]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tty\na\nb\n", "stdout, byte for byte (no \\r added)");
    assert!(stderr(&out).starts_with("err-tty\njob_id=tty\n"), "{}", stderr(&out));
    let log = std::fs::read_to_string(sb.home().join("jobs/tty/logs/wrap.stdout.log")).unwrap();
    assert_eq!(log, "tty\na\nb\n");

    let out = sb.wrkr().args(["wrap", "--job-id", "pipe", "--", "sh", "-c", script]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no-tty\na\nb\n");

    // --json: stdout holds wrkr's result alone; the command's (terminal) output is on stderr.
    let out =
        sb.wrkr().args(["wrap", "--json", "--tty", "--job-id", "json", "--", "sh", "-c", script]).output().unwrap();
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["stdout"]["bytes"], 8);
    let err = stderr(&out);
    assert!(err.contains("tty\na\nb\n") && err.contains("err-tty\n"), "{err}");
}
