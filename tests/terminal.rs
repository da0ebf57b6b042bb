//! What a person at a terminal sees, through the real binary: `wrkr logs`, `status` saying what
//! is next, approving the one pending decision, `checkpoint show`, live progress on a terminal
//! (a real pseudo-terminal) and its absence in a pipe, and the bash completions.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Sandbox;

/// A JobSpec with `steps` (YAML list items, indented under `steps:`).
fn spec(steps: &str) -> String {
    format!(
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: test\nname: t\nobjective: test job\n\
         adapter: {{name: reference}}\ninputs:\n  workspace: .\n  steps:\n{steps}\n\
         budgets: {{max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}}\n\
         checkpoint_policy: {{min_interval_seconds: 1}}\nenvironment_fingerprint: {{rules: [os]}}\n"
    )
}

fn step(id: &str, command: &str) -> String {
    format!("    - {{id: {id}, summary: step {id}, command: {command:?}}}\n")
}

fn decision_step(id: &str, command: &str) -> String {
    format!("    - {{id: {id}, summary: review {id}, command: {command:?}, decision_needed: true}}\n")
}

/// `wrkr` with the binary's directory on PATH, so steps can call it.
fn wrkr(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.wrkr();
    let dir = support::bin().parent().unwrap().to_path_buf();
    cmd.env("PATH", format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
    cmd
}

fn write_spec(sb: &Sandbox, steps: &str) {
    fs::write(sb.work().join("spec.yaml"), spec(steps)).unwrap();
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A two-step job whose second step prints five lines and a line on stderr, then fails.
fn failing_job(sb: &Sandbox) -> std::process::Output {
    let steps = step("build", "echo building; echo warn >&2")
        + &step("test", "for i in 1 2 3 4 5; do echo line $i; done; echo boom >&2; exit 3");
    write_spec(sb, &steps);
    wrkr(sb).args(["submit", "spec.yaml", "--job-id", "j"]).output().unwrap()
}

// ---- wrkr logs (U2) -------------------------------------------------------------------------

/// Before: a failing step's output was only in files under the store that no message named.
#[test]
fn failed_step_error_ends_with_the_logs_command() {
    let sb = Sandbox::new();
    let out = failing_job(&sb);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("E_ADAPTER_FAIL: step test failed (exit=3)"), "{stderr}");
    assert!(stderr.trim_end().ends_with("its output: wrkr logs j test --failed"), "{stderr}");
}

#[test]
fn logs_prints_every_attempt_and_stream_in_order() {
    let sb = Sandbox::new();
    failing_job(&sb);
    let out = wrkr(&sb).args(["logs", "j"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "==> build attempt 1 stdout (succeeded) <==\nbuilding\n==> build attempt 1 stderr (succeeded) <==\nwarn\n\
         ==> test attempt 1 stdout (failed, exit 3) <==\nline 1\nline 2\nline 3\nline 4\nline 5\n\
         ==> test attempt 1 stderr (failed, exit 3) <==\nboom\n"
    );
}

#[test]
fn logs_failed_with_tail_shows_the_end_of_the_failing_step() {
    let sb = Sandbox::new();
    failing_job(&sb);
    // The command the failure message printed works as printed.
    let out = wrkr(&sb).args(["logs", "j", "test", "--failed", "--tail", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "==> test attempt 1 stdout (failed, exit 3) <==\nline 4\nline 5\n\
         ==> test attempt 1 stderr (failed, exit 3) <==\nboom\n"
    );
    let json = wrkr(&sb).args(["logs", "j", "--failed", "--json"]).output().unwrap();
    let records: Vec<Value> = text(&json.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["stream"], "stderr");
    assert_eq!(records[1]["text"], "boom\n");
    assert_eq!(records[1]["exit_code"], 3);
}

#[test]
fn logs_refuses_unknown_jobs_steps_and_bad_tail() {
    let sb = Sandbox::new();
    failing_job(&sb);
    let before = support::tree(sb.home());
    for (args, says) in [
        (vec!["logs", "nope"], "job not found"),
        (vec!["logs", "j", "tset"], "job j has no attempt of step \"tset\""),
        (vec!["logs", "j", "--tail", "x"], "--tail: expected a non-negative integer"),
    ] {
        let out = wrkr(&sb).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("E_INVALID_INPUT_SCHEMA: ") && stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = wrkr(&sb).args(["logs", "j", "--follow", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(support::envelope(&out.stderr)["code"], "E_INVALID_INPUT_SCHEMA");
    assert_eq!(support::tree(sb.home()), before, "a refused logs command changes nothing");
}

#[test]
fn logs_follow_prints_output_as_it_comes_and_stops_with_the_job() {
    let sb = Sandbox::new();
    let steps = step("slow", "echo first; sleep 1; echo second") + &step("after", "echo third");
    write_spec(&sb, &steps);
    wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "f", "--detach"]).assert().success();
    let started = Instant::now();
    let out = wrkr(&sb).args(["logs", "f", "--follow"]).timeout(Duration::from_secs(30)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(25));
    assert_eq!(
        text(&out.stdout),
        "==> slow attempt 1 stdout <==\nfirst\nsecond\n==> after attempt 1 stdout <==\nthird\n"
    );
}
