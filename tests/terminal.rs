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

// ---- status says what is next; approve the one pending decision (U4) ----------------------------

/// A three-step job: `plan` reports a progress note, `review` needs a decision and names an
/// artifact, `apply` runs after the approval.
fn decision_job(sb: &Sandbox) -> String {
    let steps = step("plan", "echo '{\"type\":\"progress\",\"note\":\"planned 3 things\"}' >&3")
        + "    - {id: review, summary: review the plan, command: \"echo plan > plan.md\", decision_needed: true, artifacts: [plan.md]}\n"
        + &step("apply", "echo applied");
    write_spec(sb, &steps);
    let out = wrkr(sb).args(["submit", "spec.yaml", "--job-id", "d", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    result["checkpoint_id"].as_str().unwrap().to_owned()
}

/// Before: `status` printed only `job=d status=blocked_decision`; what to run next was nowhere.
#[test]
fn status_names_the_step_the_note_and_the_exact_approve_command() {
    let sb = Sandbox::new();
    let cp = decision_job(&sb);
    let out = wrkr(&sb).args(["status", "d"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "job=d status=blocked_decision");
    assert_eq!(lines[1], "step: 2/3 review, attempt 1, succeeded");
    assert!(lines[2].starts_with("elapsed: ") && lines[2].ends_with(" running"), "{lines:?}");
    assert!(lines[3].starts_with("note: planned 3 things ("), "{lines:?}");
    assert_eq!(lines[4], format!("waiting for: {cp} decision-needed: review the plan"));
    assert_eq!(lines[5], format!("next: wrkr approve d --checkpoint {cp} --reason TEXT"));
    assert_eq!(lines[6], "next: wrkr resume d");
    assert_eq!(lines.len(), 7);

    let json = wrkr(&sb).args(["status", "d", "--json"]).output().unwrap();
    fs::write(sb.work().join("status.json"), &json.stdout).unwrap();
    let status: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["current_step"]["step_id"], "review");
    assert_eq!(status["current_step"]["step_total"], 3);
    assert_eq!(status["latest_note"]["note"], "planned 3 things");
    assert_eq!(status["pending_checkpoints"][0]["checkpoint_id"], cp.as_str());
    assert_eq!(
        status["next_commands"],
        serde_json::json!([format!("wrkr approve d --checkpoint {cp} --reason TEXT"), "wrkr resume d"])
    );
    // The additions are declared: the response still validates against its schema.
    wrkr(&sb).args(["schema", "--doc", "--schema", "status_response", "status.json"]).assert().success();
}

#[test]
fn status_after_a_failed_step_names_the_logs_and_resume_commands() {
    let sb = Sandbox::new();
    failing_job(&sb);
    let out = wrkr(&sb).args(["status", "j"]).output().unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\nstep: 2/2 test, attempt 1, failed, exit 3\n"), "{stdout}");
    assert!(stdout.ends_with("next: wrkr logs j test --failed\nnext: wrkr resume j\n"), "{stdout}");
}

/// Before: `approve JOB --reason R` without --checkpoint was refused even with one decision waiting.
#[test]
fn approve_without_checkpoint_takes_the_one_pending_decision() {
    let sb = Sandbox::new();
    let cp = decision_job(&sb);
    // A second decision makes the choice ambiguous: refused, both listed, nothing recorded.
    let second = wrkr(&sb)
        .args(["checkpoint", "emit", "d", "--type", "decision-needed", "--summary", "second thoughts"])
        .args(["--required-kind", "approval", "--json"])
        .output()
        .unwrap();
    let second: Value = serde_json::from_slice(&second.stdout).unwrap();
    let second = second["checkpoint_id"].as_str().unwrap().to_owned();
    let before = support::tree(sb.home());
    let out = wrkr(&sb).args(["approve", "d", "--reason", "ok"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "E_INVALID_INPUT_SCHEMA: job d has 2 decisions waiting for approval: {cp} (review the plan), {second} (second thoughts)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("hint: name one: wrkr approve d --checkpoint {second} --reason TEXT")));
    assert_eq!(support::tree(sb.home()), before);

    wrkr(&sb).args(["approve", "d", "--checkpoint", &second, "--reason", "fine"]).assert().success();
    let out = wrkr(&sb).args(["approve", "d", "--reason", "ok"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("approved checkpoint={cp}\n"));

    let out = wrkr(&sb).args(["approve", "d", "--reason", "again", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["code"], "E_INVALID_INPUT_SCHEMA");
    assert_eq!(envelope["message"], "job d has no decision waiting for approval");
}

/// Before: `checkpoint show` printed only the type, status and summary in text mode.
#[test]
fn checkpoint_show_prints_the_required_action_and_artifacts() {
    let sb = Sandbox::new();
    let cp = decision_job(&sb);
    let out = wrkr(&sb).args(["checkpoint", "show", "d", &cp]).output().unwrap();
    assert_eq!(
        text(&out.stdout),
        format!(
            "checkpoint={cp} type=decision-needed status=blocked_decision\nsummary=review the plan\n\
             required_action=approval\ninstructions=review and approve step review\nartifacts_added=plan.md\n"
        )
    );
}

/// Before: `resume --detach` was an unknown flag.
#[test]
fn resume_detach_runs_in_the_background_and_says_how_to_watch() {
    let sb = Sandbox::new();
    decision_job(&sb);
    // The gates run in the foreground: an unapproved decision is refused at once.
    let refused = wrkr(&sb).args(["resume", "d", "--detach"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(4));
    wrkr(&sb).args(["approve", "d", "--reason", "ok"]).assert().success();
    let out = wrkr(&sb).args(["resume", "d", "--detach"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "job_id=d detached=true\n");
    assert_eq!(text(&out.stderr), "watch it: wrkr logs d --follow   (where it is: wrkr status d)\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = wrkr(&sb).args(["status", "d", "--json"]).output().unwrap();
        let status: Value = serde_json::from_slice(&status.stdout).unwrap();
        if status["status"] == "completed" {
            assert_eq!(status["next_commands"], serde_json::json!(["wrkr export d"]));
            break;
        }
        assert!(Instant::now() < deadline, "the background runner did not finish: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
