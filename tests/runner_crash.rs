//! A runner that dies or is interrupted mid-step, through real processes and real signals: the
//! step never overlaps its re-run, and the job says truthfully where it is.

mod support;

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Sandbox;

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

/// A step that writes `start ATTEMPT NANOS` and, `seconds` later, `end ATTEMPT NANOS` to `marks`
/// (outside the store), so that overlapping attempts show in the file.
fn marked_step(id: &str, seconds: u32) -> String {
    step(
        id,
        &format!(
            "echo \"start $WRKR_STEP_ATTEMPT $(date +%s%N)\" >> marks; sleep {seconds}; echo \"end $WRKR_STEP_ATTEMPT $(date +%s%N)\" >> marks"
        ),
    )
}

/// `wrkr ARGS` as a child process under the sandbox (so that it can be signalled).
fn spawn_wrkr(sb: &Sandbox, args: &[&str]) -> Child {
    Command::new(support::bin())
        .args(args)
        .current_dir(sb.work())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("WRKR_HOME", sb.home())
        .env("HOME", sb.home())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wrkr")
}

/// `(attempt, start, end)` for each attempt in `marks`, in nanoseconds.
fn attempts(sb: &Sandbox) -> Vec<(u64, u128, Option<u128>)> {
    let text = fs::read_to_string(sb.work().join("marks")).unwrap_or_default();
    let mut out: Vec<(u64, u128, Option<u128>)> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (attempt, at): (u64, u128) = (words[1].parse().unwrap(), words[2].parse().unwrap());
        match words[0] {
            "start" => out.push((attempt, at, None)),
            _ => out.iter_mut().find(|a| a.0 == attempt).unwrap().2 = Some(at),
        }
    }
    out
}

fn wait_for_start(sb: &Sandbox, attempt: u64) {
    let started = Instant::now();
    while !attempts(sb).iter().any(|a| a.0 == attempt) {
        assert!(started.elapsed() < Duration::from_secs(30), "attempt {attempt} never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn events(sb: &Sandbox, job: &str) -> Vec<Value> {
    let out = sb.wrkr().args(["events", job]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Regression (issue 14, fix-first 2): after a SIGKILL of the runner, its step ran on, and the
/// runner that took the expired lease over ran the step again at the same time (about 1.1 s of
/// two attempts at once). Now the takeover stops the previous attempt's group first.
#[test]
fn sigkilled_runner_step_never_overlaps_its_rerun() {
    let sb = Sandbox::new();
    fs::write(sb.work().join("spec.yaml"), spec(&marked_step("slow", 3))).unwrap();
    let mut runner = spawn_wrkr(&sb, &["submit", "spec.yaml", "--job-id", "k", "--lease-ttl", "1"]);
    wait_for_start(&sb, 1);
    runner.kill().unwrap(); // SIGKILL: no cleanup, no lease release
    runner.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let resumed = loop {
        let out = sb.wrkr().args(["resume", "k", "--lease-ttl", "1", "--json"]).output().unwrap();
        if out.status.success() {
            break out;
        }
        let envelope = support::envelope(&out.stderr);
        assert_eq!(envelope["code"], "E_LEASE_CONFLICT", "only the unexpired lease may refuse the resume");
        assert!(Instant::now() < deadline, "the lease never expired");
        std::thread::sleep(Duration::from_millis(100));
    };
    let result: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(result["status"], "completed");
    std::thread::sleep(Duration::from_millis(3500)); // long enough for a surviving first attempt to finish
    let runs = attempts(&sb);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (first, second) = (&runs[0], &runs[1]);
    assert_eq!((first.0, second.0), (1, 2));
    assert!(second.2.is_some(), "the re-run finished: {runs:?}");
    assert!(first.2.is_none_or(|end| end < second.1), "attempt 1 still ran when attempt 2 started: {runs:?}");
    let interrupted: Vec<Value> = events(&sb, "k").into_iter().filter(|e| e["type"] == "x-step_interrupted").collect();
    assert_eq!(interrupted.len(), 1);
    assert_eq!(interrupted[0]["payload"]["stopped_process_group"]["epoch"], 1, "the ledger says what was stopped");
}
