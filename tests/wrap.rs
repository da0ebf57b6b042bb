//! `wrkr wrap` through the binary: exit codes, bounded memory on a 200 MB stream, the wall-time
//! budget, Ctrl-C forwarding, workspace change detection, and adapter-protocol records.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::Sandbox;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn wrap(sb: &Sandbox, flags: &[&str], cmd: &[&str]) -> std::process::Output {
    sb.wrkr().arg("wrap").args(flags).arg("--json").arg("--").args(cmd).output().unwrap()
}

fn verify(sb: &Sandbox, pack: &str) {
    sb.wrkr().args(["verify", pack]).assert().success();
}

fn events(sb: &Sandbox, job: &str) -> Vec<Value> {
    let path = sb.home().join("jobs").join(job).join("events.jsonl");
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

#[test]
fn success_records_plan_progress_completed_and_exports() {
    let sb = Sandbox::new();
    let out = wrap(&sb, &["--job-id", "w1"], &["sh", "-c", "echo hello; echo oops >&2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["adapter_result"]["status"], "completed");
    assert_eq!(v["adapter_result"]["exit_code"], 0);
    assert_eq!(v["job_id"], "w1");
    assert_eq!(v["stdout"]["bytes"], 6);
    assert!(String::from_utf8_lossy(&out.stderr).contains("hello"), "with --json, stdout is teed to stderr");
    assert!(v["footer"].as_str().unwrap().starts_with("WRKR job_id=w1 manifest=sha256:"));
    verify(&sb, v["jobpack_path"].as_str().unwrap());
    let evs = events(&sb, "w1");
    let kinds: Vec<&str> =
        of_type(&evs, "checkpoint_emitted").iter().map(|e| e["payload"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["plan", "progress", "completed"]);
    assert_eq!(of_type(&evs, "x-wrap_recorded")[0]["payload"]["argv"][0], "sh");
    // The same id again is refused: wrap never appends to an existing job.
    let again = wrap(&sb, &["--job-id", "w1"], &["true"]);
    assert_eq!(again.status.code(), Some(6));
}

/// Regression (found by the I/O-error suite, scripts/chaos): a command that could not start said
/// only "wrap command failed"; the cause (here ENOENT) was dropped. The error now carries it.
#[test]
fn command_that_cannot_start_says_why() {
    let sb = Sandbox::new();
    let out = wrap(&sb, &["--job-id", "job_nostart"], &["/nonexistent/wrkr-test-command"]);
    assert_eq!(out.status.code(), Some(1));
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["code"], "E_ADAPTER_FAIL");
    let message = envelope["message"].as_str().unwrap();
    assert!(message.contains("could not start") && message.contains("No such file"), "{message}");
    assert_eq!(json(&out)["adapter_result"]["exit_code"], 127);
    verify(&sb, json(&out)["jobpack_path"].as_str().unwrap());
}

#[test]
fn failure_is_exit_1_adapter_fail_and_exit_code_child_passes_through() {
    let sb = Sandbox::new();
    let out = wrap(&sb, &[], &["sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["adapter_result"]["exit_code"], 3);
    assert_eq!(v["adapter_result"]["status"], "blocked_error");
    assert_eq!(support::envelope(&out.stderr)["code"], "E_ADAPTER_FAIL");
    verify(&sb, v["jobpack_path"].as_str().unwrap());

    let out = wrap(&sb, &["--exit-code", "child"], &["sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(support::envelope(&out.stderr)["code"], "E_ADAPTER_FAIL");
    // No `--`: refused.
    sb.wrkr().args(["wrap", "true"]).assert().code(6);
}

#[test]
fn two_hundred_megabytes_stay_bounded_and_are_hashed_in_full() {
    let sb = Sandbox::new();
    const N: u64 = 200_000_000;
    let started = Instant::now();
    let mut child = std::process::Command::new(support::bin());
    child
        .args(["wrap", "--job-id", "big", "--json", "--", "head", "-c", &N.to_string(), "/dev/zero"])
        .env("WRKR_HOME", sb.home())
        .current_dir(sb.work())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = child.spawn().unwrap();
    let pid = child.id();
    let watcher = std::thread::spawn(move || {
        let mut peak = 0u64;
        while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kb) = status.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                peak = peak.max(kb.trim().trim_end_matches("kB").trim().parse().unwrap_or(0));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    // The 200 MB go through the tee to our pipe: drain it so the child is not blocked.
    let out = child.wait_with_output().unwrap();
    let peak_kb = watcher.join().unwrap();
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.len() as u64 >= N, "with --json the output is teed to stderr");
    let v = json(&out);
    let mut hasher = Sha256::new();
    let zeros = vec![0u8; 1 << 20];
    let mut left = N;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        hasher.update(&zeros[..n]);
        left -= n as u64;
    }
    let expected: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["stdout"]["sha256"], expected);
    assert_eq!(v["stdout"]["bytes"], N);
    assert_eq!(v["stdout"]["truncated"], true);
    let log = sb.home().join("jobs/big/logs/wrap.stdout.log");
    assert!(std::fs::metadata(&log).unwrap().len() < 64 << 20, "the log is bounded");
    eprintln!("wrap of 200 MB: peak RSS {peak_kb} kB, {elapsed:?}");
    assert!(peak_kb > 0 && peak_kb < 64 * 1024, "peak RSS {peak_kb} kB");
}

#[test]
fn wall_time_budget_kills_the_command() {
    let sb = Sandbox::new();
    let started = Instant::now();
    let out = wrap(&sb, &["--budget-wall-time", "1"], &["sleep", "30"]);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["adapter_result"]["status"], "blocked_budget");
    assert_eq!(support::envelope(&out.stderr)["code"], "E_BUDGET_EXCEEDED");
    verify(&sb, v["jobpack_path"].as_str().unwrap());
}

/// The copy of the command's output to ours must not hold up supervision: with nobody reading
/// wrap's stderr (where the command's stdout goes with --json), an endless writer is still
/// stopped at its wall-time budget and the job is recorded; wrap then finishes once read.
#[test]
fn a_reader_that_stops_reading_does_not_stall_the_budget() {
    let sb = Sandbox::new();
    let started = Instant::now();
    let mut child = spawn_wrap(&sb, &["--job-id", "stall", "--budget-wall-time", "1", "--json", "--", "yes"]);
    // Read nothing until the job is recorded as stopped (wrap's own last words then wait for a reader).
    let status = || {
        let out = sb.wrkr().args(["status", "stall", "--json"]).output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout).map(|v| v["status"].clone()).unwrap_or(Value::Null)
    };
    while status() != "blocked_budget" {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("wrap did not stop the command while its output was not read");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["adapter_result"]["status"], "blocked_budget");
    // The command's output (`y` lines) came first on stderr; wrap's error envelope ends it.
    let at = out.stderr.windows(2).rposition(|w| w == b"\n{").expect("an envelope after the output") + 1;
    assert_eq!(support::envelope(&out.stderr[at..])["code"], "E_BUDGET_EXCEEDED");
    sb.wrkr().args(["verify", json(&out)["jobpack_path"].as_str().unwrap()]).assert().success();
}

/// `wrkr wrap ARGS` started in the background with its output piped and unread.
fn spawn_wrap(sb: &Sandbox, args: &[&str]) -> std::process::Child {
    std::process::Command::new(support::bin())
        .arg("wrap")
        .args(args)
        .env("WRKR_HOME", sb.home())
        .current_dir(sb.work())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn ctrl_c_is_forwarded_and_the_job_is_recorded_as_interrupted() {
    let sb = Sandbox::new();
    let marker = sb.work().join("started");
    let script = format!(
        "trap 'echo got-int > {0}.int; exit 130' INT; touch {0}; while :; do sleep 0.1; done",
        marker.display()
    );
    let child = spawn_wrap(&sb, &["--job-id", "intr", "--json", "--", "sh", "-c", &script]);
    let start = Instant::now();
    while !marker.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "the wrapped command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    // Only wrkr's own pid: the test's process group is never signalled.
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(sb.work().join("started.int").exists(), "the command got the SIGINT");
    let v = json(&out);
    assert_eq!(v["adapter_result"]["outcome"], "interrupted");
    assert_eq!(v["adapter_result"]["status"], "blocked_error");
    let evs = events(&sb, "intr");
    assert_eq!(of_type(&evs, "x-wrap_finished")[0]["payload"]["signal"], "SIGINT");
    verify(&sb, v["jobpack_path"].as_str().unwrap());
}

#[test]
fn workspace_changes_are_detected() {
    let sb = Sandbox::new();
    let ws = sb.work().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(ws.join("src/keep.txt"), "same").unwrap();
    std::fs::write(ws.join("src/edit.txt"), "before").unwrap();
    std::fs::write(ws.join("gone.txt"), "bye").unwrap();
    let script = "echo after > src/edit.txt; rm gone.txt; echo new > src/new.txt";
    let out = sb
        .wrkr()
        .args(["wrap", "--workspace", "ws", "--artifact", "report.md", "--json", "--", "sh", "-c"])
        .arg(format!("cd ws && {script}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["artifacts"]["added"], serde_json::json!(["report.md", "src/new.txt"]));
    assert_eq!(v["artifacts"]["changed"], serde_json::json!(["src/edit.txt"]));
    assert_eq!(v["artifacts"]["removed"], serde_json::json!(["gone.txt"]));
}

#[test]
fn gitignore_is_honoured_in_a_git_work_tree() {
    let git_ok = std::process::Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success());
    if !git_ok {
        eprintln!("git not installed: skipped");
        return;
    }
    let sb = Sandbox::new();
    let ws = sb.work();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git").args(args).current_dir(ws).output().unwrap().status.success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    std::fs::write(ws.join(".gitignore"), "build/\n").unwrap();
    let out = sb
        .wrkr()
        .args([
            "wrap",
            "--workspace",
            ".",
            "--json",
            "--",
            "sh",
            "-c",
            "mkdir -p build && echo x > build/out.o && echo y > main.c",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["artifacts"]["added"], serde_json::json!(["main.c"]));
}

#[test]
fn tool_call_budget_stops_the_command_mid_run() {
    let sb = Sandbox::new();
    let script = "for i in 1 2 3 4 5; do echo '{\"type\":\"tool_call\",\"name\":\"edit\"}' >&3; done; sleep 30";
    let started = Instant::now();
    let out = wrap(&sb, &["--budget-tool-calls", "3"], &["sh", "-c", script]);
    assert!(started.elapsed() < Duration::from_secs(15), "stopped mid-run, not after sleep 30");
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["adapter_result"]["status"], "blocked_budget");
    let env = support::envelope(&out.stderr);
    assert_eq!(env["code"], "E_BUDGET_EXCEEDED");
    assert_eq!(env["details"]["violations"][0], "tool_call_count>3");
}

#[test]
fn decision_needed_record_blocks_the_job() {
    let sb = Sandbox::new();
    let record = r#"{"type":"checkpoint","checkpoint_type":"decision-needed","summary":"ship it?","required_action":{"kind":"approval"}}"#;
    let out = wrap(&sb, &["--job-id", "dec"], &["sh", "-c", &format!("echo '{record}' >&3")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["adapter_result"]["status"], "blocked_decision");
    let st = sb.wrkr().args(["status", "dec", "--json"]).output().unwrap();
    assert_eq!(json(&st)["status"], "blocked_decision");
}

#[test]
fn garbage_records_are_rejected_without_crashing() {
    let sb = Sandbox::new();
    let script = "echo 'not json' >&3; echo '{\"type\":\"nope\"}' >&3; head -c 70000 /dev/zero | tr '\\0' x >&3; echo >&3; echo '{\"type\":\"progress\",\"note\":\"ok\"}' >&3";
    let out = wrap(&sb, &["--job-id", "junk"], &["sh", "-c", script]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let evs = events(&sb, "junk");
    assert_eq!(of_type(&evs, "x-adapter_record_rejected").len(), 3);
    assert_eq!(of_type(&evs, "x-progress").len(), 1);
    verify(&sb, json(&out)["jobpack_path"].as_str().unwrap());
}

/// Regression: a heartbeat (same lease id and epoch) was refused as "lease epoch does not
/// increase", so every runner lost its lease a third of the TTL into any step.
#[test]
fn heartbeat_renewal_keeps_the_lease() {
    let sb = Sandbox::new();
    let out = wrap(&sb, &["--job-id", "hb", "--lease-ttl", "1"], &["sleep", "1.5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let renewals = of_type(&events(&sb, "hb"), "lease_set").len();
    assert!(renewals >= 3, "acquire plus heartbeats, got {renewals}");
}
