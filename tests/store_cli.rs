//! Leases, status, pause/cancel/jobs and hostile input, through the real binary.

mod support;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{EnvClearButCoverage, Sandbox};

/// Two workers race for the lease: exactly one wins, the other gets E_LEASE_CONFLICT naming the
/// holder. After the TTL the lease shows as expired; the loser takes over with a higher epoch;
/// the old holder's fenced append and its heartbeat are refused.
#[test]
fn lease_race_takeover_and_fencing() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_l");
    let children: Vec<_> = ["w1", "w2"]
        .iter()
        .map(|w| {
            Command::new(support::bin())
                .arg0("wrkr-lease")
                .args(["--json", "acquire", "job_l", "--worker", w, "--ttl", "1"])
                .env_clear_but_coverage()
                .env("WRKR_HOME", sandbox.home())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let winners: Vec<usize> = (0..2).filter(|&i| outs[i].status.success()).collect();
    assert_eq!(winners.len(), 1, "exactly one acquire wins");
    let (win, lose) = (winners[0], 1 - winners[0]);
    let (winner, loser) = (["w1", "w2"][win], ["w1", "w2"][lose]);
    assert_eq!(outs[lose].status.code(), Some(1));
    let envelope = support::envelope(&outs[lose].stderr);
    assert_eq!(envelope["code"], "E_LEASE_CONFLICT");
    assert_eq!(envelope["details"]["existing_worker_id"], winner);
    let lease = support::stdout_json(&outs[win]);
    assert_eq!((lease["epoch"].as_u64(), lease["state"].as_str()), (Some(1), Some("held")));

    std::thread::sleep(Duration::from_millis(1100));
    let shown = support::stdout_json(&sandbox.program("wrkr-lease").args(["show", "job_l"]).output().unwrap());
    assert_eq!((shown["state"].as_str(), shown["expired"].as_bool()), (Some("expired"), Some(true)));
    let status = support::stdout_json(&sandbox.wrkr().args(["--json", "status", "job_l"]).output().unwrap());
    assert_eq!(status["lease"]["expired"], true);
    assert_eq!(status["lease"]["epoch"], 1);

    let out =
        sandbox.program("wrkr-lease").args(["acquire", "job_l", "--worker", loser, "--ttl", "30"]).output().unwrap();
    assert!(out.status.success());
    let taken = support::stdout_json(&out);
    assert_eq!((taken["epoch"].as_u64(), taken["worker_id"].as_str()), (Some(2), Some(loser)));

    let fenced = sandbox
        .program("wrkr-events")
        .args(["--json", "--append", "job_l", "--epoch", "1"])
        .write_stdin("{\"type\":\"x-late\",\"payload\":{}}\n")
        .output()
        .unwrap();
    assert_eq!(fenced.status.code(), Some(1));
    assert_eq!(support::envelope(&fenced.stderr)["code"], "E_LEASE_CONFLICT");
    let beat =
        sandbox.program("wrkr-lease").args(["--json", "heartbeat", "job_l", "--worker", winner]).output().unwrap();
    assert_eq!(beat.status.code(), Some(1));
    assert_eq!(support::envelope(&beat.stderr)["code"], "E_LEASE_CONFLICT");
    // The new holder's fenced append goes through; its release ends the lease.
    sandbox
        .program("wrkr-events")
        .args(["--append", "job_l", "--epoch", "2"])
        .write_stdin("{\"type\":\"x-ok\",\"payload\":{}}\n")
        .assert()
        .success();
    let released = support::stdout_json(
        &sandbox.program("wrkr-lease").args(["release", "job_l", "--worker", loser]).output().unwrap(),
    );
    assert_eq!(released["state"], "released");
    let ledger = sandbox.program("wrkr-events").arg("job_l").output().unwrap();
    let text = String::from_utf8(ledger.stdout).unwrap();
    assert!(!text.contains("x-late"), "the fenced append left no trace");
    assert_eq!(text.matches("\"type\":\"lease_set\"").count(), 2);
}

/// Status, pause, cancel and jobs on a small store.
#[test]
fn status_pause_cancel_and_jobs() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_a");
    std::thread::sleep(Duration::from_millis(5));
    sandbox.create_job("job_b");
    let out = sandbox.wrkr().args(["status", "job_a"]).output().unwrap();
    // The status line, then the outlook (a queued job has only its elapsed time and nothing to run).
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("job_id=job_a status=queued\nelapsed: ") && stdout.lines().count() == 2, "{stdout}");
    let out = sandbox.wrkr().args(["pause", "job_a"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "queued -> paused is not a transition");
    sandbox
        .program("wrkr-events")
        .args(["--append", "job_a"])
        .write_stdin("{\"type\":\"status_changed\",\"payload\":{\"from\":\"queued\",\"to\":\"running\"}}\n")
        .assert()
        .success();
    sandbox.wrkr().args(["pause", "job_a"]).assert().success().stdout("job_id=job_a status=paused\n");
    let state = support::stdout_json(&sandbox.wrkr().args(["--json", "cancel", "job_a"]).output().unwrap());
    assert_eq!(state["status"], "canceled");
    let out = sandbox.wrkr().args(["--json", "cancel", "job_a"]).output().unwrap();
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["code"], "E_INVALID_STATE_TRANSITION");
    assert_eq!(envelope["message"], "invalid status transition \"canceled\" -> \"canceled\"");
    assert_eq!(
        (envelope["details"]["from"].as_str(), envelope["details"]["to"].as_str()),
        (Some("canceled"), Some("canceled"))
    );

    let response = support::stdout_json(&sandbox.wrkr().args(["--json", "status", "job_a"]).output().unwrap());
    sandbox.program("wrkr-schema").write_stdin(response.to_string() + "\n").assert().success();

    let out = sandbox.wrkr().args(["--json", "jobs"]).output().unwrap();
    let rows: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r["job_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["job_b", "job_a"], "newest first");
    let out = sandbox.wrkr().args(["--json", "jobs", "--status", "canceled"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);

    // --store overrides WRKR_HOME, anywhere before `--`.
    let other = tempfile::TempDir::new().unwrap();
    sandbox
        .program("wrkr-events")
        .arg("--store")
        .arg(other.path())
        .args(["--append", "--create", "job_c"])
        .write_stdin("")
        .assert()
        .success();
    assert!(other.path().join("jobs/job_c/events.jsonl").is_file());
    sandbox.wrkr().arg(format!("--store={}", other.path().display())).args(["status", "job_c"]).assert().success();
    sandbox.wrkr().args(["status", "job_c"]).assert().code(6);
}

/// A missing job matches Go's envelope (exit 6, "job not found", {job_id}) plus a hint.
#[test]
fn missing_job_envelope_matches_go() {
    let sandbox = Sandbox::new();
    let go: Value =
        serde_json::from_slice(&std::fs::read(support::fixture("go-wrkr/error_envelope_job_not_found.json")).unwrap())
            .unwrap();
    let out = sandbox.wrkr().args(["--json", "status", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let ours = support::envelope(&out.stderr);
    for key in ["schema_id", "schema_version", "code", "message", "exit_code"] {
        assert_eq!(ours[key], go[key], "{key}");
    }
    assert_eq!(ours["details"]["job_id"], go["details"]["job_id"]);
    assert!(ours["details"]["hint"].is_string());
}

/// Hostile input: each is refused with its documented exit and reason code, and the store is
/// byte-for-byte unchanged.
#[test]
fn hostile_input_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_h");
    let huge = format!("{{\"type\":\"x-big\",\"payload\":{{\"s\":\"{}\"}}}}\n", "a".repeat(100 << 20));
    let stdin_cases: Vec<(&str, Vec<u8>, i32, &str)> = vec![
        ("malformed JSONL", b"{\"type\":\"x-a\",\"payload\":{}}\n{not json\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("100 MB line", huge.into_bytes(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("array payload", b"{\"type\":\"x-a\",\"payload\":[1]}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("string payload", b"{\"type\":\"x-a\",\"payload\":\"s\"}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("null payload", b"{\"type\":\"x-a\",\"payload\":null}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("not an object", b"[1,2]\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        (
            "duplicate key",
            b"{\"type\":\"x-a\",\"type\":\"x-b\",\"payload\":{}}\n".to_vec(),
            6,
            "E_INVALID_INPUT_SCHEMA",
        ),
        ("unnamespaced type", b"{\"type\":\"note\",\"payload\":{}}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("hand-written lease", b"{\"type\":\"lease_set\",\"payload\":{}}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        (
            "bad transition",
            b"{\"type\":\"status_changed\",\"payload\":{\"from\":\"queued\",\"to\":\"completed\"}}\n".to_vec(),
            1,
            "E_INVALID_STATE_TRANSITION",
        ),
    ];
    let before = support::tree(sandbox.home());
    for (what, stdin, code, reason) in stdin_cases {
        let out =
            sandbox.program("wrkr-events").args(["--json", "--append", "job_h"]).write_stdin(stdin).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(support::envelope(&out.stderr)["code"], reason, "{what}");
        assert!(out.stdout.is_empty(), "{what}: nothing acknowledged");
        assert!(support::tree(sandbox.home()) == before, "{what}: the store changed");
    }
    let long = "j".repeat(300);
    for bad in ["../x", "a/b", "", long.as_str(), "..", "a b"] {
        for argv in [
            vec!["wrkr-events", "--append", "--create", bad],
            vec!["wrkr-events", bad],
            vec!["wrkr-lease", "acquire", bad, "--worker", "w"],
            vec!["wrkr", "status", bad],
            vec!["wrkr", "cancel", bad],
        ] {
            let out = sandbox.program(argv[0]).arg("--json").args(&argv[1..]).write_stdin("").output().unwrap();
            assert_eq!(out.status.code(), Some(6), "{argv:?}");
            assert_eq!(support::envelope(&out.stderr)["code"], "E_INVALID_INPUT_SCHEMA", "{argv:?}");
            assert!(support::tree(sandbox.home()) == before, "{argv:?}: the store changed");
        }
    }
    // Appending to a job that does not exist creates nothing.
    let out = sandbox
        .program("wrkr-events")
        .args(["--append", "job_new"])
        .write_stdin("{\"type\":\"x-a\",\"payload\":{}}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(support::tree(sandbox.home()) == before);
}
