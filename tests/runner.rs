//! The runner through the real binary: the approval journey, crash recovery with lease expiry,
//! budgets (mid-step wall time, steps, reported tool calls), counted retries, and raising a budget.

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Sandbox, step};

/// A JobSpec with `steps` (YAML list items, indented under `steps:`) and budget overrides.
fn spec(steps: &str, budgets: &str) -> String {
    support::jobspec(steps, budgets, "os")
}

/// A sandbox whose steps can call `wrkr` (the binary's directory is on PATH).
fn sandbox() -> Sandbox {
    Sandbox::new()
}

fn wrkr(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.wrkr();
    let dir = support::bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path);
    cmd
}

fn events(sb: &Sandbox, job: &str) -> Vec<Value> {
    let out = wrkr(sb).args(["events", job]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn status(sb: &Sandbox, job: &str) -> String {
    let out = wrkr(sb).args(["status", job, "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["status"].as_str().unwrap().to_owned()
}

fn checkpoint_types(sb: &Sandbox, job: &str) -> Vec<String> {
    let out = wrkr(sb).args(["checkpoint", "list", job, "--json"]).output().unwrap();
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter().map(|c| c["type"].as_str().unwrap().to_owned()).collect()
}

fn envelope(out: &std::process::Output) -> Value {
    support::envelope(&out.stderr)
}

fn lines(sb: &Sandbox, file: &str) -> Vec<String> {
    fs::read_to_string(sb.work().join(file)).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[test]
fn approval_journey() {
    let sb = sandbox();
    wrkr(&sb).arg("init").assert().success();
    let out = wrkr(&sb).args(["submit", "jobspec.yaml", "--job-id", "j", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], "blocked_decision");
    let cp = result["checkpoint_id"].as_str().unwrap().to_owned();
    assert_eq!(checkpoint_types(&sb, "j"), ["plan", "progress", "decision-needed"]);

    let refused = wrkr(&sb).args(["resume", "j", "--json"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(4));
    assert_eq!(envelope(&refused)["code"], "E_CHECKPOINT_APPROVAL_REQUIRED");
    assert_eq!(envelope(&refused)["details"]["checkpoint_id"], cp.as_str());

    let no_reason = wrkr(&sb).args(["approve", "j", "--checkpoint", &cp, "--json"]).output().unwrap();
    assert_eq!(no_reason.status.code(), Some(6));
    wrkr(&sb)
        .args(["approve", "j", "--checkpoint", &cp, "--reason", "plan reviewed", "--approved-by", "ana"])
        .assert()
        .success();
    let twice = wrkr(&sb).args(["approve", "j", "--checkpoint", &cp, "--reason", "again", "--json"]).output().unwrap();
    assert_eq!(twice.status.code(), Some(6), "a second approval is refused");
    let plan_cp = wrkr(&sb).args(["checkpoint", "list", "j", "--json"]).output().unwrap();
    let first: Vec<Value> = serde_json::from_slice(&plan_cp.stdout).unwrap();
    let not_decision = wrkr(&sb)
        .args(["approve", "j", "--checkpoint", first[0]["checkpoint_id"].as_str().unwrap(), "--reason", "x", "--json"])
        .output()
        .unwrap();
    assert_eq!(not_decision.status.code(), Some(6), "only decision-needed checkpoints can be approved");

    wrkr(&sb).args(["resume", "j"]).assert().success().stdout("job_id=j status=completed\n");
    assert_eq!(checkpoint_types(&sb, "j"), ["plan", "progress", "decision-needed", "progress", "completed"]);
    assert_eq!(status(&sb, "j"), "completed");
    let approvals: Vec<Value> = events(&sb, "j").into_iter().filter(|e| e["type"] == "approval_recorded").collect();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["payload"]["approved_by"], "ana");
    assert!(sb.work().join("reports/result.md").exists());
    let again = wrkr(&sb).args(["resume", "j", "--json"]).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(envelope(&again)["code"], "E_INVALID_STATE_TRANSITION");
}

#[test]
fn crash_mid_step_then_resume_after_lease_expiry() {
    let sb = sandbox();
    let steps = [
        step("one", "echo one >> runs.log"),
        step("two", "echo two >> runs.log; if [ ! -f started ]; then touch started; echo $$ > step.pid; sleep 30; fi"),
        step("three", "echo three >> runs.log"),
    ]
    .concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "")).unwrap();
    let mut runner = std::process::Command::new(support::bin());
    runner
        .args(["submit", "spec.yaml", "--job-id", "c", "--lease-ttl", "2"])
        .current_dir(sb.work())
        .env("WRKR_HOME", sb.home())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = runner.spawn().unwrap();
    let started = Instant::now();
    let pid_file = sb.work().join("step.pid");
    while !fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n')) {
        assert!(started.elapsed() < Duration::from_secs(20), "step two never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup, no lease release
    child.wait().unwrap();
    // The orphaned step's group would finish its sleep; end it as a real crash would leave it.
    let pgid: i32 = fs::read_to_string(sb.work().join("step.pid")).unwrap().trim().parse().unwrap();
    assert!(pgid > 1, "the step's own process group, never ours or init's");
    if let Some(group) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }

    let early = wrkr(&sb).args(["resume", "c", "--json", "--lease-ttl", "2"]).output().unwrap();
    assert_eq!(early.status.code(), Some(1), "{}", String::from_utf8_lossy(&early.stderr));
    assert_eq!(envelope(&early)["code"], "E_LEASE_CONFLICT");

    std::thread::sleep(Duration::from_millis(2500));
    let out = wrkr(&sb).args(["resume", "c", "--lease-ttl", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(&sb, "c"), "completed");
    assert_eq!(lines(&sb, "runs.log"), ["one", "two", "two", "three"], "completed steps never ran twice");
    let ledger = events(&sb, "c");
    let interrupted: Vec<&Value> = ledger.iter().filter(|e| e["type"] == "x-step_interrupted").collect();
    assert_eq!(interrupted.len(), 1);
    assert_eq!(interrupted[0]["payload"]["step_id"], "two");
    assert_eq!(interrupted[0]["payload"]["attempt"], 1);
    let epochs: Vec<u64> =
        ledger.iter().filter(|e| e["type"] == "lease_set").filter_map(|e| e["payload"]["epoch"].as_u64()).collect();
    assert!(
        epochs.windows(2).all(|w| w[0] <= w[1]) && epochs.last() > epochs.first(),
        "takeover got a higher epoch: {epochs:?}"
    );
}

#[test]
fn wall_time_budget_kills_a_long_step() {
    let sb = sandbox();
    fs::write(
        sb.work().join("spec.yaml"),
        spec(&step("slow", "sleep 100"), "").replace("max_wall_time_seconds: 600", "max_wall_time_seconds: 1"),
    )
    .unwrap();
    let started = Instant::now();
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "w", "--json"]).output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the step was killed, not waited for: {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(envelope(&out)["code"], "E_BUDGET_EXCEEDED");
    assert_eq!(status(&sb, "w"), "blocked_budget");
    let finished: Vec<Value> = events(&sb, "w").into_iter().filter(|e| e["type"] == "x-step_finished").collect();
    assert_eq!(finished[0]["payload"]["outcome"], "timed_out");
}

#[test]
fn step_count_budget_then_raise_and_resume() {
    let sb = sandbox();
    let steps =
        [step("a", "echo a >> runs.log"), step("b", "echo b >> runs.log"), step("c", "echo c >> runs.log")].concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "").replace("max_step_count: 50", "max_step_count: 2"))
        .unwrap();
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "s", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let env = envelope(&out);
    assert_eq!(env["code"], "E_BUDGET_EXCEEDED");
    assert_eq!(env["details"]["violations"][0], "step_count>2");
    assert_eq!(lines(&sb, "runs.log"), ["a", "b"], "the step over the limit did not run");
    assert_eq!(status(&sb, "s"), "blocked_budget");
    assert_eq!(checkpoint_types(&sb, "s").last().unwrap(), "blocked");

    let no_reason = wrkr(&sb).args(["budget", "raise", "s", "--max-step-count", "5", "--json"]).output().unwrap();
    assert_eq!(no_reason.status.code(), Some(6));
    wrkr(&sb)
        .args(["budget", "raise", "s", "--max-step-count", "5", "--reason", "three steps needed"])
        .assert()
        .success();
    wrkr(&sb).args(["resume", "s"]).assert().success();
    assert_eq!(lines(&sb, "runs.log"), ["a", "b", "c"]);
    assert_eq!(status(&sb, "s"), "completed");
    let show = wrkr(&sb).args(["budget", "show", "s", "--json"]).output().unwrap();
    let view: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(view["limits"]["step_count"], 5);
    assert_eq!(view["usage"]["step_count"], 3);
}

#[test]
fn reported_tool_calls_stop_the_step_mid_run() {
    let sb = sandbox();
    // One through the CLI, then the adapter protocol pushes the count over the limit of 3.
    let command =
        r#"wrkr budget report "$WRKR_JOB_ID" --tool-calls 1; echo '{"type":"tool_call","count":5}' >&3; sleep 100"#;
    fs::write(
        sb.work().join("spec.yaml"),
        spec(&step("agent", command), "").replace("max_tool_calls: 50", "max_tool_calls: 3"),
    )
    .unwrap();
    let started = Instant::now();
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "t", "--json"]).output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(envelope(&out)["code"], "E_BUDGET_EXCEEDED");
    let ledger = events(&sb, "t");
    let finished = ledger.iter().find(|e| e["type"] == "x-step_finished").unwrap();
    assert_eq!(finished["payload"]["outcome"], "stopped_budget");
    let sources: Vec<&str> = ledger
        .iter()
        .filter(|e| e["type"] == "x-usage_reported")
        .filter_map(|e| e["payload"]["source"].as_str())
        .collect();
    assert_eq!(sources, ["budget report", "adapter"]);
}

#[test]
fn failing_step_is_retried_and_counted() {
    let sb = sandbox();
    fs::write(
        sb.work().join("spec.yaml"),
        spec(&step("flaky", "if [ -f fixed ]; then exit 0; fi; echo try >> runs.log; exit 3"), "")
            .replace("max_retries: 0", "max_retries: 2"),
    )
    .unwrap();
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "r", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let env = envelope(&out);
    assert_eq!(env["code"], "E_ADAPTER_FAIL", "the real code, not E_GENERIC_FAILURE");
    assert_eq!(env["details"]["exit_code"], 3);
    assert_eq!(lines(&sb, "runs.log").len(), 3, "one attempt and two retries");
    assert_eq!(status(&sb, "r"), "blocked_error");
    let show = wrkr(&sb).args(["budget", "show", "r", "--json"]).output().unwrap();
    let view: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(view["usage"]["retry_count"], 2);

    // Fix the cause; resume runs the step again as a new attempt.
    fs::write(sb.work().join("fixed"), "").unwrap();
    wrkr(&sb).args(["resume", "r"]).assert().success();
    assert_eq!(status(&sb, "r"), "completed");
    let ledger = events(&sb, "r");
    let attempts: Vec<u64> = ledger
        .iter()
        .filter(|e| e["type"] == "adapter_step")
        .filter_map(|e| e["payload"]["attempt"].as_u64())
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
}

#[test]
fn protocol_decision_and_garbage() {
    let sb = sandbox();
    let command = r#"echo 'not json' >&3; echo '{"type":"artifact","path":"out.txt"}' >&3; echo hi > out.txt; echo '{"type":"checkpoint","checkpoint_type":"decision-needed","summary":"ship it?","required_action":{"kind":"approval"}}' >&3"#;
    let steps = [step("agent", command), step("after", "echo after >> runs.log")].concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "")).unwrap();
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "p", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(&sb, "p"), "blocked_decision", "a decision-needed record really blocks the job");
    assert!(lines(&sb, "runs.log").is_empty(), "the next step waits for approval");
    let ledger = events(&sb, "p");
    let rejected: Vec<&Value> = ledger.iter().filter(|e| e["type"] == "x-adapter_record_rejected").collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["payload"]["line"], "not json");
    let progress =
        ledger.iter().find(|e| e["type"] == "checkpoint_emitted" && e["payload"]["type"] == "progress").unwrap();
    assert_eq!(progress["payload"]["artifacts_delta"]["added"][0], "out.txt");
}

/// wrkr starts steps by `posix_spawn` while it holds descriptor 3 itself. When its parent passed a
/// descriptor 3 down (`time -o FILE`, `3>FILE`), wrkr moves that one out of the way (kept open)
/// and takes the slot, so steps still start the fast way and work the same: records reach the
/// runner and nothing the step writes to its descriptor 3 reaches the inherited one.
#[test]
fn records_arrive_when_the_runner_inherited_descriptor_3() {
    let sb = sandbox();
    let report = r#"echo '{"type":"artifact","path":"a.txt"}' >&3; echo a > a.txt"#;
    // The runner's own descriptor 3, once it is idle again after this step's spawn: its /dev/null
    // slot, and the parent's file still open at another descriptor.
    let look = r#"for i in $(seq 50); do [ "$(readlink /proc/$PPID/fd/3)" = /dev/null ] && break; sleep 0.1; done; readlink /proc/$PPID/fd/3 > fd3.txt; ls -l /proc/$PPID/fd | grep -c held-by-parent > kept.txt"#;
    let steps =
        [step("one", report), step("two", "echo '{\"type\":\"tool_call\",\"count\":2}' >&3"), step("three", look)]
            .concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "")).unwrap();
    let held = sb.work().join("held-by-parent.txt");
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", r#"exec 3>>"$1"; shift; exec "$@""#, "sh"])
        .arg(&held)
        .arg(support::bin())
        .args(["submit", "spec.yaml", "--job-id", "fd3", "--json"])
        .env("WRKR_HOME", sb.home())
        .env("PATH", format!("{}:{}", support::bin().parent().unwrap().display(), std::env::var("PATH").unwrap()))
        .current_dir(sb.work())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(&sb, "fd3"), "completed");
    assert_eq!(fs::read(&held).unwrap(), b"", "the step's records went to its own channel");
    let ledger = events(&sb, "fd3");
    let progress =
        ledger.iter().find(|e| e["type"] == "checkpoint_emitted" && e["payload"]["type"] == "progress").unwrap();
    assert_eq!(progress["payload"]["artifacts_delta"]["added"][0], "a.txt");
    let show = wrkr(&sb).args(["budget", "show", "fd3", "--json"]).output().unwrap();
    let view: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(view["usage"]["tool_call_count"], 5, "3 commands + 2 reported tool calls");
    if Path::new("/proc/self/fd").exists() {
        assert_eq!(fs::read_to_string(sb.work().join("fd3.txt")).unwrap().trim(), "/dev/null");
        assert_eq!(fs::read_to_string(sb.work().join("kept.txt")).unwrap().trim(), "1");
    }
}

#[test]
fn demo_runs_exports_verifies_and_prints_a_valid_footer() {
    let sb = sandbox();
    let started = Instant::now();
    let out = wrkr(&sb).args(["demo", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let demo: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(demo["status"], "completed");
    assert_eq!(demo["files_verified"], 4);
    let job = demo["job_id"].as_str().unwrap();
    assert_eq!(checkpoint_types(&sb, job), ["plan", "progress", "progress", "completed"]);
    let pack = demo["jobpack"].as_str().unwrap();
    assert!(pack.ends_with(&format!("wrkr-out/jobpacks/jobpack_{job}.zip")));
    wrkr(&sb).args(["verify", pack]).assert().success();
    let footer = demo["footer"].as_str().unwrap();
    let parsed = wrkr(&sb).args(["receipt", "--parse", footer, "--json"]).output().unwrap();
    assert_eq!(parsed.status.code(), Some(0), "{}", String::from_utf8_lossy(&parsed.stderr));
    let again = wrkr(&sb).args(["export", job, "--json"]).output().unwrap();
    let exported: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(exported["manifest_sha256"], demo["manifest"], "re-exporting the finished job gives the same pack");
}

#[test]
fn step_emitted_decision_blocks_and_oversized_summary_is_refused() {
    let sb = sandbox();
    let ask = r#"wrkr checkpoint emit "$WRKR_JOB_ID" --type decision-needed --summary 'merge the refactor?' --required-kind approval"#;
    let steps = [step("ask", ask), step("after", "echo after >> runs.log")].concat();
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "")).unwrap();
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "q", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(&sb, "q"), "blocked_decision");
    assert!(lines(&sb, "runs.log").is_empty());
    let long = "x".repeat(2001);
    let refused = wrkr(&sb)
        .args(["checkpoint", "emit", "q", "--type", "progress", "--summary", &long, "--json"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(6));
    assert_eq!(envelope(&refused)["details"]["summary_length"], 2001);
    let lying = wrkr(&sb)
        .args(["checkpoint", "emit", "q", "--type", "progress", "--summary", "x", "--status", "completed", "--json"])
        .output()
        .unwrap();
    assert_eq!(lying.status.code(), Some(6), "a checkpoint cannot claim another status than the job's");
    let decision = checkpoint_types(&sb, "q").iter().filter(|t| *t == "decision-needed").count();
    assert_eq!(decision, 1);
    let list = wrkr(&sb).args(["checkpoint", "list", "q", "--json"]).output().unwrap();
    let cps: Vec<Value> = serde_json::from_slice(&list.stdout).unwrap();
    let cp = cps.iter().find(|c| c["type"] == "decision-needed").unwrap()["checkpoint_id"].as_str().unwrap().to_owned();
    wrkr(&sb).args(["approve", "q", "--checkpoint", &cp, "--reason", "yes"]).assert().success();
    wrkr(&sb).args(["resume", "q"]).assert().success();
    assert_eq!(lines(&sb, "runs.log"), ["after"]);
}

/// Regression (found by the failpoint suites, issue 14): a step that could not be started (here its
/// workspace was removed while the job waited for approval) failed as `step work failed (exit=127)`,
/// the cause dropped. The error now says the step could not start, and why.
#[test]
fn step_that_cannot_start_says_why() {
    let sb = sandbox();
    let gate = "    - {id: gate, summary: gate, command: \"\", executed: false, decision_needed: true, required_action: approve}\n";
    let text = spec(&format!("{gate}{}", step("work", "true")), "").replace("workspace: .", "workspace: ws");
    fs::create_dir(sb.work().join("ws")).unwrap();
    fs::write(sb.work().join("spec.yaml"), text).unwrap();
    wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "ns"]).assert().success();
    assert_eq!(status(&sb, "ns"), "blocked_decision");
    fs::remove_dir(sb.work().join("ws")).unwrap();
    let list = wrkr(&sb).args(["checkpoint", "list", "ns", "--json"]).output().unwrap();
    let list: Vec<Value> = serde_json::from_slice(&list.stdout).unwrap();
    let gate_id =
        list.iter().find(|c| c["type"] == "decision-needed").unwrap()["checkpoint_id"].as_str().unwrap().to_owned();
    wrkr(&sb).args(["approve", "ns", "--checkpoint", &gate_id, "--reason", "ok"]).assert().success();
    let out = wrkr(&sb).args(["resume", "ns", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let env = envelope(&out);
    assert_eq!(env["code"], "E_ADAPTER_FAIL");
    let message = env["message"].as_str().unwrap();
    assert!(message.contains("step work could not start") && message.contains("No such file"), "{message}");
    assert_eq!(status(&sb, "ns"), "blocked_error");
}

/// A lease the store refuses to release is not refused in silence: one warning line names the
/// job, the worker and why (here the job's directory was moved away under the running step, so
/// recording the step's end fails too, and that error is what the command exits with).
#[test]
fn a_refused_lease_release_is_a_warning() {
    let sb = sandbox();
    let steps = step("away", "mv \"$WRKR_HOME/jobs/$WRKR_JOB_ID\" \"$WRKR_HOME/moved\"");
    fs::write(sb.work().join("spec.yaml"), spec(&steps, "")).unwrap();
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "gone1"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning = stderr.lines().find(|l| l.starts_with("warning: lease of job gone1 (worker "));
    let warning = warning.unwrap_or_else(|| panic!("no warning line:\n{stderr}"));
    assert!(warning.contains("not released: ") && warning.ends_with("it expires at its TTL"), "{warning}");
}
