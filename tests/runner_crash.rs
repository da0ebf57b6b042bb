//! A runner that dies or is interrupted mid-step, through real processes and real signals: the
//! step never overlaps its re-run, and the job says truthfully where it is.

mod support;

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{EnvClearButCoverage, Sandbox, step};

fn spec(steps: &str) -> String {
    support::jobspec(steps, "", "os")
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
        .env_clear_but_coverage()
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

fn watchdog_of(runner: &Child) -> i32 {
    support::watchdog_of(runner.id()).expect("the runner has a watchdog")
}

/// SIGKILL the runner's watchdog.
fn kill_watchdog(runner: &Child) {
    let watchdog = watchdog_of(runner);
    rustix::process::kill_process(rustix::process::Pid::from_raw(watchdog).unwrap(), rustix::process::Signal::KILL)
        .unwrap();
}

/// Regression (found by `make test-hardening`'s I/O-error suite): the watchdog is forked from the
/// runner and kept its copies of the runner's open files, among them the ledger the store keeps
/// open between appends. A `flock` belongs to the open file, so after an append failed the runner's
/// close did not release its lock, and its next append waited out the 10 s lock timeout. The
/// watchdog now holds nothing of the store open.
#[test]
fn the_watchdog_holds_no_file_of_the_store_open() {
    let sb = Sandbox::new();
    let body = "sleep 30 & echo $! > sleep.pid; wait";
    fs::write(sb.work().join("spec.yaml"), spec(&step("slow", body))).unwrap();
    let mut runner = spawn_wrkr(&sb, &["submit", "spec.yaml", "--job-id", "w"]);
    let sleep_pid = wait_for_pid(&sb, "sleep.pid");
    let watchdog = watchdog_of(&runner);
    let runner_files: Vec<_> = fs::read_dir(format!("/proc/{}/fd", runner.id()))
        .unwrap()
        .filter_map(|e| fs::read_link(e.unwrap().path()).ok())
        .filter(|target| target.starts_with(sb.home()))
        .collect();
    assert!(!runner_files.is_empty(), "the runner itself has store files open (the check can fail)");
    let held: Vec<_> = fs::read_dir(format!("/proc/{watchdog}/fd"))
        .unwrap()
        .filter_map(|e| fs::read_link(e.unwrap().path()).ok())
        .filter(|target| target.starts_with(sb.home()))
        .collect();
    runner.kill().unwrap();
    runner.wait().unwrap();
    assert!(held.is_empty(), "the watchdog holds store files open: {held:?}");
    assert!(!alive(sleep_pid), "the step outlived its runner");
}

/// The step dies with its runner: a SIGKILLed runner's step is stopped at once by the watchdog,
/// long before its lease expires (it used to run on until it finished).
#[test]
fn step_dies_with_its_sigkilled_runner() {
    let sb = Sandbox::new();
    let body = "sleep 30 & echo $! > sleep.pid; wait";
    fs::write(sb.work().join("spec.yaml"), spec(&step("slow", body))).unwrap();
    let mut runner = spawn_wrkr(&sb, &["submit", "spec.yaml", "--job-id", "d"]);
    let sleep_pid = wait_for_pid(&sb, "sleep.pid");
    runner.kill().unwrap();
    runner.wait().unwrap();
    assert!(!alive(sleep_pid), "the step outlived its runner");
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
    // As on a platform where the step cannot die with its runner: the watchdog goes first, so that
    // only the takeover can stop the first attempt.
    kill_watchdog(&runner);
    runner.kill().unwrap(); // SIGKILL: no cleanup, no lease release
    runner.wait().unwrap();
    // Issue 12 W3: once the lease expired, `status` and `jobs` say the runner is gone, not `running`.
    std::thread::sleep(Duration::from_millis(1300));
    let text = sb.wrkr().args(["status", "k"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(" runner=stale stale_for="), "{text}");
    assert!(text.contains(" resume=\"wrkr resume k\""), "{text}");
    let json: Value =
        serde_json::from_slice(&sb.wrkr().args(["status", "k", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!((&json["status"], &json["runner"]["state"]), (&Value::from("running"), &Value::from("stale")));
    assert_eq!(json["resume_command"], "wrkr resume k");
    let row: Value = serde_json::from_slice(&sb.wrkr().args(["jobs", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!((&row["stale"], &row["resume_command"]), (&Value::from(true), &Value::from("wrkr resume k")));
    let listed = String::from_utf8(sb.wrkr().arg("jobs").output().unwrap().stdout).unwrap();
    assert!(listed.contains("stale: runner gone") && listed.contains("resume: wrkr resume k"), "{listed}");
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

/// The pid a step wrote to `file`, once it is there.
fn wait_for_pid(sb: &Sandbox, file: &str) -> i32 {
    let started = Instant::now();
    loop {
        if let Ok(text) = fs::read_to_string(sb.work().join(file))
            && text.ends_with('\n')
        {
            return text.trim().parse().unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, signal: rustix::process::Signal) {
    rustix::process::kill_process(rustix::process::Pid::from_child(child), signal).unwrap();
}

/// Waits for `child` (at most 20 s) and returns its output.
fn finish(child: Child) -> std::process::Output {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    rx.recv_timeout(Duration::from_secs(20)).expect("the interrupted runner exits")
}

/// Whether `pid` still runs (a zombie waiting for init to reap it does not), after up to 10 s: the
/// watchdog that stops a dead runner's step reacts in milliseconds, but under heavy load it once
/// took longer than 2 s (the step sleeps 30 s, so the bound still tells "stopped" from "ran on").
fn alive(pid: i32) -> bool {
    let started = Instant::now();
    loop {
        let running = fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')));
        if !running || started.elapsed() > Duration::from_secs(10) {
            return running;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Regression (issue 12 W3): Ctrl-C during `submit` (or SIGTERM during `resume`) killed wrkr and
/// left the job `running` forever, its lease held until expiry and its step running on. Now the
/// step's group is stopped, the interruption recorded, the job paused and the lease released:
/// `status` and `jobs` name the resume command, and `resume` continues at once.
#[test]
fn ctrl_c_during_submit_and_sigterm_during_resume_pause_the_job() {
    let sb = Sandbox::new();
    // Attempts 1 and 2 wait for a signal (the step's pid is the sleep's parent shell); 3 finishes.
    let body = "echo \"$WRKR_STEP_ATTEMPT\" >> attempts; if [ \"$WRKR_STEP_ATTEMPT\" -le 2 ]; then sleep 30 & echo $! > sleep.pid; wait; fi";
    fs::write(sb.work().join("spec.yaml"), spec(&[step("first", "true"), step("slow", body)].concat())).unwrap();

    // Exit 128 + the signal, as a shell reports a death by it (it was exit 1, a failure, and two
    // lines); for a person one line, for `--json` the envelope.
    for (args, sig, name, exit) in [
        (vec!["submit", "spec.yaml", "--job-id", "i"], rustix::process::Signal::INT, "SIGINT", 130),
        (vec!["resume", "i", "--json"], rustix::process::Signal::TERM, "SIGTERM", 143),
    ] {
        let _ = fs::remove_file(sb.work().join("sleep.pid"));
        let runner = spawn_wrkr(&sb, &args);
        let sleep_pid = wait_for_pid(&sb, "sleep.pid");
        signal(&runner, sig); // as a terminal's Ctrl-C: to wrkr only, not to the step's own group
        let out = finish(runner);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(exit), "{err}");
        if args.contains(&"--json") {
            let envelope = support::envelope(&out.stderr);
            assert_eq!(envelope["details"]["signal"], name);
            assert_eq!(envelope["details"]["resume_command"], "wrkr resume i");
            assert_eq!(envelope["exit_code"], exit);
        } else {
            let last = err.lines().last().unwrap_or_default();
            assert!(
                last.contains(&format!("interrupted by {name}: job i is paused; `wrkr resume i` continues it")),
                "one line says what happened and what next: {err}"
            );
            assert_eq!(err.lines().filter(|l| l.contains("wrkr resume i")).count(), 1, "{err}");
        }
        assert!(!alive(sleep_pid), "the step's process group was stopped");

        let status: Value =
            serde_json::from_slice(&sb.wrkr().args(["status", "i", "--json"]).output().unwrap().stdout).unwrap();
        assert_eq!(status["status"], "paused");
        assert_eq!(status["resume_command"], "wrkr resume i");
        assert!(status.get("lease").is_none(), "the lease was released: {status}");
        let row: Value = serde_json::from_slice(&sb.wrkr().args(["jobs", "--json"]).output().unwrap().stdout).unwrap();
        assert_eq!((&row["status"], &row["resume_command"]), (&Value::from("paused"), &Value::from("wrkr resume i")));
        let ledger = events(&sb, "i");
        let note = ledger.iter().rev().find(|e| e["type"] == "x-runner_interrupted").unwrap();
        assert_eq!(note["payload"]["signal"], name);
        let end = ledger.iter().rev().find(|e| e["type"] == "x-step_finished").unwrap();
        assert_eq!(
            (&end["payload"]["step_id"], &end["payload"]["outcome"]),
            (&Value::from("slow"), &Value::from("interrupted"))
        );
    }
    let out = sb.wrkr().args(["resume", "i", "--json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "resumes at once, no lease to wait for: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let attempts = fs::read_to_string(sb.work().join("attempts")).unwrap();
    assert_eq!(attempts, "1\n2\n3\n", "the interrupted step ran again, the completed one did not");
}
