//! `wrkr-events --follow`: a reader sees events appended after it started, in order, and stops by
//! itself when the job reaches a terminal status.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Sandbox;

#[test]
fn follow_tails_until_terminal() {
    let sb = Sandbox::new();
    sb.program("wrkr-events")
        .args(["--append", "--create", "f"])
        .write_stdin("{\"type\":\"x-note\",\"payload\":{\"n\":1}}\n")
        .assert()
        .success();
    let mut child = std::process::Command::new(support::bin())
        .args(["events", "--follow", "f"])
        .env("WRKR_HOME", sb.home())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["type"], "job_initialized");
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(second["payload"]["n"], 1);
    // Appended after the follower has caught up.
    sb.program("wrkr-events")
        .args(["--append", "f"])
        .write_stdin("{\"type\":\"x-note\",\"payload\":{\"n\":2}}\n")
        .assert()
        .success();
    let third: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(third["payload"]["n"], 2);
    assert_eq!(third["seq"], 3);
    let started = Instant::now();
    sb.wrkr().args(["cancel", "f"]).assert().success();
    let rest: Vec<Value> = lines.map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect();
    assert_eq!(rest.last().unwrap()["payload"]["to"], "canceled");
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(5), "the follower stopped by itself at the terminal status");
}
