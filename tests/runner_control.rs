//! Controlling jobs from outside: pause, pause --now and cancel against a detached runner; the
//! environment fingerprint gate; and hostile JobSpecs that must create nothing.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Sandbox, step};

fn spec(steps: &str, rules: &str) -> String {
    support::jobspec(steps, "", rules)
}

fn status(sb: &Sandbox, job: &str) -> String {
    let out = sb.wrkr().args(["status", job, "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["status"].as_str().unwrap_or_default().to_owned()
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The runner's lease is released when it stops: the background runner is gone.
fn wait_runner_gone(sb: &Sandbox, job: &str) {
    wait_for("the runner to release its lease", Duration::from_secs(15), || {
        let out = sb.program("wrkr-lease").args(["show", job, "--json"]).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        v["state"] != "held"
    });
}

/// Processes in group `pgid` that are not zombies (a killed process stays a zombie until its new
/// parent reaps it, which is not ours to wait for).
fn live_members(pgid: i32) -> usize {
    let Ok(entries) = fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter_map(|e| fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid pgrp ...: split after the last ')' (comm may contain spaces).
            let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z"
        })
        .count()
}

fn lines(sb: &Sandbox, file: &str) -> Vec<String> {
    fs::read_to_string(sb.work().join(file)).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[test]
fn cancel_stops_a_detached_job_within_a_poll() {
    let sb = Sandbox::new();
    let steps = [step("long", "echo $$ > step.pid; sleep 60"), step("never", "echo never >> runs.log")].concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "os")).unwrap();
    let out = sb.wrkr().args(["submit", "spec.yaml", "--job-id", "d", "--detach", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let started: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(started["detached"], true);
    wait_for("the step to start", Duration::from_secs(15), || {
        fs::read_to_string(sb.work().join("step.pid")).is_ok_and(|s| s.ends_with('\n'))
    });
    let asked = Instant::now();
    sb.wrkr().args(["cancel", "d"]).assert().success();
    wait_runner_gone(&sb, "d");
    assert!(asked.elapsed() < Duration::from_secs(5), "cancel took {:?}", asked.elapsed());
    let pgid: i32 = fs::read_to_string(sb.work().join("step.pid")).unwrap().trim().parse().unwrap();
    assert!(pgid > 1);
    wait_for("the step's process group to stop", Duration::from_secs(5), || live_members(pgid) == 0);
    assert_eq!(status(&sb, "d"), "canceled");
    assert!(lines(&sb, "runs.log").is_empty());
}

#[test]
fn pause_lets_the_step_finish_and_resume_continues() {
    let sb = Sandbox::new();
    let steps =
        [step("one", "touch one.started; sleep 1; echo one >> runs.log"), step("two", "echo two >> runs.log")].concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "os")).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "p", "--detach"]).assert().success();
    wait_for("step one", Duration::from_secs(15), || sb.work().join("one.started").exists());
    sb.wrkr().args(["pause", "p"]).assert().success().stdout("job_id=p status=paused\n");
    wait_runner_gone(&sb, "p");
    assert_eq!(lines(&sb, "runs.log"), ["one"], "the running step finished, the next did not start");
    assert_eq!(status(&sb, "p"), "paused");
    sb.wrkr().args(["resume", "p"]).assert().success();
    assert_eq!(lines(&sb, "runs.log"), ["one", "two"]);
    assert_eq!(status(&sb, "p"), "completed");
}

#[test]
fn pause_now_interrupts_and_resume_reruns_the_step() {
    let sb = Sandbox::new();
    let command = "echo run >> runs.log; if [ ! -f again ]; then touch again; sleep 60; fi";
    fs::write(sb.work().join("spec.yaml"), spec(&step("long", command), "os")).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "n", "--detach"]).assert().success();
    wait_for("the step", Duration::from_secs(15), || sb.work().join("again").exists());
    let asked = Instant::now();
    sb.wrkr().args(["pause", "n", "--now"]).assert().success();
    wait_runner_gone(&sb, "n");
    assert!(asked.elapsed() < Duration::from_secs(5), "pause --now took {:?}", asked.elapsed());
    assert_eq!(status(&sb, "n"), "paused");
    sb.wrkr().args(["resume", "n"]).assert().success();
    assert_eq!(lines(&sb, "runs.log"), ["run", "run"], "the interrupted step ran again");
    assert_eq!(status(&sb, "n"), "completed");
}

#[test]
fn environment_mismatch_blocks_until_forced_with_a_reason() {
    let sb = Sandbox::new();
    let steps = [
        step("one", "echo one >> runs.log"),
        "    - {id: gate, summary: gate, command: '', executed: false, decision_needed: true}\n".to_owned(),
        step("two", "echo two >> runs.log"),
    ]
    .concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "env:WRKR_TEST_LANE")).unwrap();
    sb.wrkr().env("WRKR_TEST_LANE", "a").args(["submit", "spec.yaml", "--job-id", "e"]).assert().success();
    let list = sb.wrkr().args(["checkpoint", "list", "e", "--json"]).output().unwrap();
    let cps: Vec<Value> = serde_json::from_slice(&list.stdout).unwrap();
    let gate =
        cps.iter().find(|c| c["type"] == "decision-needed").unwrap()["checkpoint_id"].as_str().unwrap().to_owned();
    sb.wrkr().args(["approve", "e", "--checkpoint", &gate, "--reason", "ok"]).assert().success();

    let moved = sb.wrkr().env("WRKR_TEST_LANE", "b").args(["resume", "e", "--json"]).output().unwrap();
    assert_eq!(moved.status.code(), Some(1));
    assert_eq!(support::envelope(&moved.stderr)["code"], "E_ENV_FINGERPRINT_MISMATCH");
    assert_eq!(status(&sb, "e"), "blocked_error");
    let cps = sb.wrkr().args(["checkpoint", "list", "e", "--json"]).output().unwrap();
    let last: Vec<Value> = serde_json::from_slice(&cps.stdout).unwrap();
    assert_eq!(last.last().unwrap()["reason_codes"][0], "E_ENV_FINGERPRINT_MISMATCH");

    let no_reason =
        sb.wrkr().env("WRKR_TEST_LANE", "b").args(["resume", "e", "--force-env", "--json"]).output().unwrap();
    assert_eq!(no_reason.status.code(), Some(6));
    sb.wrkr()
        .env("WRKR_TEST_LANE", "b")
        .args(["resume", "e", "--force-env", "--reason", "lane b is equivalent", "--approved-by", "ops"])
        .assert()
        .success();
    assert_eq!(status(&sb, "e"), "completed");
    let events = sb.wrkr().args(["events", "e"]).output().unwrap();
    let overrides: Vec<Value> = String::from_utf8(events.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "env_override_recorded")
        .collect();
    assert_eq!(overrides.len(), 1);
    assert_eq!(overrides[0]["payload"]["reason"], "lane b is equivalent");
    assert_eq!(overrides[0]["payload"]["approved_by"], "ops");
    assert_ne!(overrides[0]["payload"]["expected_hash"], overrides[0]["payload"]["actual_hash"]);
}

#[test]
fn hostile_jobspecs_create_nothing() {
    let sb = Sandbox::new();
    let good = spec(&step("one", "true"), "os");
    let deep = format!("{}\nx: {}1{}\n", good, "[".repeat(10_000), "]".repeat(10_000));
    let mut bomb = good.clone();
    bomb.push_str("x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
    for i in 1..12 {
        bomb.push_str(&format!(
            "x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("invalid yaml", b"name: [unclosed\n".to_vec(), "invalid YAML"),
        (
            "wrong types",
            good.replace("max_step_count: 50", "max_step_count: many").into_bytes(),
            "/budgets/max_step_count",
        ),
        ("deep nesting", deep.into_bytes(), "invalid YAML"),
        ("alias bomb", bomb.into_bytes(), "invalid YAML"),
        ("50 MB file", vec![b'#'; 50 << 20], "limit"),
        ("unknown adapter", good.replace("name: reference", "name: shell").into_bytes(), "unsupported adapter"),
        ("duplicate key", format!("{good}name: twice\n").into_bytes(), "duplicate"),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01], "UTF-8"),
    ];
    for (what, bytes, want) in cases {
        fs::write(sb.work().join("spec.yaml"), bytes).unwrap();
        let out = sb.wrkr().args(["submit", "spec.yaml", "--job-id", "h", "--json"]).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let env = support::envelope(&out.stderr);
        assert_eq!(env["code"], "E_INVALID_INPUT_SCHEMA", "{what}");
        assert!(env["message"].as_str().unwrap().contains(want), "{what}: {} lacks {want:?}", env["message"]);
        assert!(!sb.home().join("jobs").exists(), "{what}: no job directory");
    }
    let missing = sb.wrkr().args(["submit", "nope.yaml", "--json"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(6));
    fs::write(sb.work().join("spec.yaml"), spec(&step("one", "true"), "os")).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "h"]).assert().success();
    let before = support::tree(sb.home());
    let taken = sb.wrkr().args(["submit", "spec.yaml", "--job-id", "h", "--json"]).output().unwrap();
    assert_eq!(taken.status.code(), Some(6));
    assert_eq!(support::envelope(&taken.stderr)["message"], "job already exists");
    assert_eq!(support::tree(sb.home()), before, "the existing job is untouched");
}
