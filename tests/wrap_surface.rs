//! `wrkr wrap` as a newcomer meets it (issue 12, U8): stdin reaches the command, a command that
//! cannot start is an error naming it, and adapter records wrkr rejects are reported on stderr,
//! not only in the ledger.

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
