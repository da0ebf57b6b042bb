//! `GET /v1/jobs/{job_id}:status` is answered from memory while the job's ledger is unchanged
//! (`serve::status_cache`, issue 16); these tests hold it to always being the job's current
//! status: after every append (from another process, as a runner or `wrkr lease` makes them),
//! when the lease expires with no append at all, and when the job leaves the store.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::Sandbox;
use support::http::Server;

fn status(server: &Server, job: &str) -> Value {
    let resp = server.get(&format!("/v1/jobs/{job}:status"));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.body.last(), Some(&b'\n'), "the body ends with a newline");
    resp.json()
}

/// The status without its `created_at`, which is the time of the answer.
fn timeless(mut status: Value) -> Value {
    let created_at = status.as_object_mut().and_then(|o| o.remove("created_at"));
    assert!(created_at.is_some_and(|c| c.is_string()), "created_at is a timestamp");
    status
}

fn lease(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb.wrkr().arg("lease").args(args).output().unwrap();
    assert!(out.status.success(), "wrkr lease {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    support::stdout_json(&out)
}

fn append(sb: &Sandbox, job: &str, event: &Value) {
    sb.wrkr().args(["events", "--append", job]).write_stdin(format!("{event}\n")).assert().success();
}

// Each round changes what the status shows (the lease's holder and epoch, then no lease, then the
// reason codes of a checkpoint) from another process, and asks twice: the first answer must show
// the change, the second (from the cache) must be the same answer.
#[test]
fn a_status_after_an_append_shows_it() {
    let sb = Sandbox::new();
    sb.create_job("polled");
    let server = Server::start(&sb, &[], &[]);
    let first = timeless(status(&server, "polled"));
    assert_eq!(first["status"], "queued");
    assert_eq!(timeless(status(&server, "polled")), first, "the second answer is the first");
    for round in 1..=8u64 {
        let worker = format!("w{round}");
        let held = lease(&sb, &["acquire", "polled", "--worker", &worker, "--ttl", "600"]);
        let seen = timeless(status(&server, "polled"));
        assert_eq!(seen["lease"]["worker_id"], worker.as_str(), "round {round}: {seen}");
        assert_eq!(seen["lease"]["epoch"], held["epoch"], "round {round}");
        assert_eq!(seen["lease"]["expired"], false);
        assert_eq!(timeless(status(&server, "polled")), seen, "round {round}: asked again");

        let epoch = held["epoch"].to_string();
        lease(&sb, &["release", "polled", "--worker", &worker, "--epoch", &epoch]);
        let released = timeless(status(&server, "polled"));
        assert!(released.get("lease").is_none(), "round {round}: the lease was released: {released}");

        let code = format!("E_ROUND_{round}");
        let checkpoint = json!({"type": "checkpoint_emitted",
                                "payload": {"type": "progress", "summary": "round", "status": "completed",
                                            "reason_codes": [code]}});
        append(&sb, "polled", &checkpoint);
        let seen = timeless(status(&server, "polled"));
        assert_eq!(seen["reason_codes"], json!([code]), "round {round}: {seen}");
        // An event the status does not show changes nothing in it.
        append(&sb, "polled", &json!({"type": "x-note", "payload": {"round": round}}));
        assert_eq!(timeless(status(&server, "polled")), seen, "round {round}: after a note");
    }
}

// The body depends on the time as well as the ledger: a lease expires with no append at all.
#[test]
fn a_lease_expires_without_an_append() {
    let sb = Sandbox::new();
    sb.create_job("expiring");
    let server = Server::start(&sb, &[], &[]);
    lease(&sb, &["acquire", "expiring", "--worker", "w", "--ttl", "1"]);
    assert_eq!(status(&server, "expiring")["lease"]["expired"], false);
    assert_eq!(status(&server, "expiring")["lease"]["expired"], false, "asked again");
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(status(&server, "expiring")["lease"]["expired"], true, "the lease expired meanwhile");
}

// A job that leaves the store is not found, whether it was deleted or only moved out of `jobs/`
// (an interrupted `wrkr prune` leaves it in the trash with its ledger intact).
#[test]
fn a_job_that_left_the_store_is_not_found() {
    let sb = Sandbox::new();
    for job in ["deleted", "moved"] {
        sb.create_job(job);
    }
    let server = Server::start(&sb, &[], &[]);
    for job in ["deleted", "moved"] {
        status(&server, job);
        status(&server, job);
    }
    let jobs = sb.home().join("jobs");
    std::fs::remove_dir_all(jobs.join("deleted")).unwrap();
    std::fs::rename(jobs.join("moved"), sb.home().join("moved-away")).unwrap();
    for job in ["deleted", "moved"] {
        let resp = server.get(&format!("/v1/jobs/{job}:status"));
        assert_eq!(resp.status, 404, "{job}: {}", String::from_utf8_lossy(&resp.body));
        assert_eq!(resp.json()["code"], "E_INVALID_INPUT_SCHEMA", "{job}");
    }
}
