//! Mutual exclusion of ledger writers does not depend on the lock file staying put.
//!
//! Regression (issue 14, fix-first 1): the lock was an `flock` on `ledger.lock`; an operator who
//! deleted that file (the Go implementation taught people to remove stale lock files) let two
//! writers hold "the lock" on different inodes at once, and acknowledged appends were lost (2 to 5
//! of 300) or the ledger was corrupted (E_STORE_CORRUPT).

mod support;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use support::{EnvClearButCoverage, Sandbox};

const APPENDS_PER_WRITER: usize = 150;

/// One `wrkr-events --append JOB` of one event; returns the acknowledged seq, or the error text.
fn append_one(sandbox: &Sandbox, job: &str, writer: usize, i: usize) -> Result<u64, String> {
    let mut child = Command::new(support::bin())
        .arg0("wrkr-events")
        .args(["--append", job])
        .env_clear_but_coverage()
        .env("WRKR_HOME", sandbox.home())
        .env("WRKR_LOCK_TIMEOUT_MS", "60000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wrkr-events");
    let line = format!("{{\"type\":\"x-lock\",\"payload\":{{\"writer\":{writer},\"i\":{i}}}}}\n");
    child.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let ack: Value = serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap_or_default())
        .map_err(|e| format!("unparsable acknowledgement: {e}"))?;
    ack["seq"].as_u64().ok_or_else(|| format!("acknowledgement without seq: {ack}"))
}

/// Two append loops and a loop deleting `ledger.lock`: every acknowledged append is in the
/// ledger at the seq it was acknowledged with, seqs are contiguous, no append fails.
#[test]
fn deleting_ledger_lock_loses_no_acknowledged_append() {
    let sandbox = Sandbox::new();
    let job = "job_lockdel";
    sandbox.program("wrkr-events").args(["--append", "--create", job]).write_stdin("").assert().success();
    let lock_path = sandbox.home().join("jobs").join(job).join("ledger.lock");
    let done = AtomicBool::new(false);
    let mut deletions = 0u64;
    let results: Vec<Vec<(usize, Result<u64, String>)>> = std::thread::scope(|scope| {
        let deleter = scope.spawn(|| {
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                if std::fs::remove_file(&lock_path).is_ok() {
                    n += 1;
                }
                std::thread::yield_now();
            }
            n
        });
        let writers: Vec<_> = (0..2)
            .map(|writer| {
                let sandbox = &sandbox;
                scope.spawn(move || {
                    (0..APPENDS_PER_WRITER).map(|i| (i, append_one(sandbox, job, writer, i))).collect::<Vec<_>>()
                })
            })
            .collect();
        let results = writers.into_iter().map(|w| w.join().unwrap()).collect();
        done.store(true, Ordering::Relaxed);
        deletions = deleter.join().unwrap();
        results
    });
    println!("{deletions} deletions of ledger.lock");
    assert!(deletions > 0, "the lock file was never deleted: the test proved nothing");
    let records = sandbox.ledger(job);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["seq"], i as u64 + 1, "seqs are contiguous");
    }
    for (writer, appends) in results.iter().enumerate() {
        for (i, result) in appends {
            let seq = result.as_ref().unwrap_or_else(|e| panic!("writer {writer} append {i} failed: {e}"));
            let record = &records[(*seq - 1) as usize];
            assert_eq!(
                (&record["payload"]["writer"], &record["payload"]["i"]),
                (&Value::from(writer), &Value::from(*i)),
                "acknowledged seq {seq} holds writer {writer}'s append {i}"
            );
        }
    }
    assert_eq!(records.len(), 1 + 2 * APPENDS_PER_WRITER);
}

/// The same through the runner: steps that emit checkpoints (each one an append by another
/// process) while the runner appends its own events and `ledger.lock` is deleted in a loop. The job
/// completes, every emitted checkpoint is in the ledger, and the ledger reads back whole (it used
/// to end in E_STORE_CORRUPT after 7 to 87 deletions).
#[test]
fn deleting_ledger_lock_under_the_runner_and_checkpoint_emit() {
    const STEPS: usize = 4;
    const EMITS: usize = 30;
    let sandbox = Sandbox::new();
    let bin_dir = support::bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    // Two emit loops at once in each step, so that three processes (and the runner's heartbeat)
    // contend for the lock.
    let emit = format!(
        "emit() {{ for i in $(seq 1 {EMITS}); do wrkr checkpoint emit \"$WRKR_JOB_ID\" --type progress --summary \"emit-$1-$i\" >/dev/null || exit 1; done; }}; emit a & a=$!; emit b; wait $a"
    );
    let steps: String =
        (0..STEPS).map(|s| format!("    - {{id: s{s}, summary: step {s}, command: {emit:?}}}\n")).collect();
    let spec = format!(
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: test\nname: t\nobjective: test job\n\
         adapter: {{name: reference}}\ninputs:\n  workspace: .\n  steps:\n{steps}\n\
         budgets: {{max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}}\n\
         checkpoint_policy: {{min_interval_seconds: 1}}\nenvironment_fingerprint: {{rules: [os]}}\n"
    );
    std::fs::write(sandbox.work().join("spec.yaml"), spec).unwrap();
    let job = "job_lockrun";
    let lock_path = sandbox.home().join("jobs").join(job).join("ledger.lock");
    let done = AtomicBool::new(false);
    let (out, deletions) = std::thread::scope(|scope| {
        let deleter = scope.spawn(|| {
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                if std::fs::remove_file(&lock_path).is_ok() {
                    n += 1;
                }
                std::thread::yield_now();
            }
            n
        });
        let out = sandbox
            .wrkr()
            .env("PATH", &path)
            .env("WRKR_LOCK_TIMEOUT_MS", "60000")
            .args(["submit", "spec.yaml", "--job-id", job, "--lease-ttl", "1", "--json"])
            .output()
            .unwrap();
        done.store(true, Ordering::Relaxed);
        (out, deleter.join().unwrap())
    });
    if out.status.code() != Some(0) {
        // What the failing step's `checkpoint emit` said (its stderr is the step's log): this has
        // failed twice under heavy load without saying why.
        let logs = sandbox.wrkr().args(["logs", job, "--failed"]).output().unwrap();
        panic!(
            "submit failed: {}\nthe failed step's output:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&logs.stdout)
        );
    }
    println!("{deletions} deletions of ledger.lock");
    assert!(deletions > 0, "the lock file was never deleted: the test proved nothing");
    let records = sandbox.ledger(job);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["seq"], i as u64 + 1, "seqs are contiguous");
    }
    let emitted = records
        .iter()
        .filter(|r| r["type"] == "checkpoint_emitted")
        .filter(|r| r["payload"]["summary"].as_str().is_some_and(|s| s.starts_with("emit-")))
        .count();
    assert_eq!(emitted, 2 * STEPS * EMITS, "every acknowledged checkpoint emit is in the ledger");
    let status = sandbox.wrkr().args(["status", job, "--json"]).output().unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["status"], "completed");
}
