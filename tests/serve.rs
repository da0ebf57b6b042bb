//! `wrkr serve` through the real binary over HTTP: the whole journey (submit → status →
//! checkpoints → emit → approve → resume → export → verify → accept → report), the route table
//! against the served OpenAPI document, the start-up JSON, the request log, and `wrkr doctor`.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::Sandbox;
use support::http::Server;

fn sandbox_with_spec() -> Sandbox {
    let sb = Sandbox::new();
    sb.wrkr().args(["init"]).assert().success();
    sb
}

fn wait_for_status(server: &Server, job: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = server.get(&format!("/v1/jobs/{job}:status")).json();
        if status["status"] == want || Instant::now() > deadline {
            assert_eq!(status["status"], want, "{status}");
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn journey_over_http() {
    let sb = sandbox_with_spec();
    let server = Server::start(&sb, &[], &[]);
    assert_eq!(server.started["auth_enabled"], false);
    assert_eq!(server.started["max_body_bytes"], 1_048_576);

    let submitted = server.post("/v1/jobs:submit", r#"{"jobspec_path": "jobspec.yaml", "job_id": "web_1"}"#);
    assert_eq!(submitted.status, 202, "{:?}", String::from_utf8_lossy(&submitted.body));
    assert_eq!(submitted.json()["job_id"], "web_1");
    let status = wait_for_status(&server, "web_1", "blocked_decision");
    assert_eq!(status["schema_id"], "wrkr.status_response");

    let cps = server.get("/v1/jobs/web_1/checkpoints").json();
    let decision = cps.as_array().unwrap().iter().rev().find(|c| c["type"] == "decision-needed").unwrap().clone();
    let cp_id = decision["checkpoint_id"].as_str().unwrap();
    let one = server.get(&format!("/v1/jobs/web_1/checkpoints/{cp_id}"));
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), decision);
    assert_eq!(server.get("/v1/jobs/web_1/checkpoints/cp_99999").status, 404);

    let emitted = server.post("/v1/jobs/web_1/checkpoints", r#"{"type": "progress", "summary": "reviewer looked"}"#);
    assert_eq!(emitted.status, 201);
    assert_eq!(emitted.json()["status"], "blocked_decision");

    let early = server.post("/v1/jobs/web_1:resume", "");
    assert_eq!(early.status, 409);
    assert_eq!(early.json()["code"], "E_CHECKPOINT_APPROVAL_REQUIRED");

    let blank = server.post("/v1/jobs/web_1:approve", &format!(r#"{{"checkpoint_id": "{cp_id}", "reason": " "}}"#));
    assert_eq!(blank.status, 400);
    let approved = server.post(
        "/v1/jobs/web_1:approve",
        &format!(r#"{{"checkpoint_id": "{cp_id}", "reason": "plan reviewed", "approved_by": "ann"}}"#),
    );
    assert_eq!(approved.status, 200);
    assert_eq!(approved.json()["schema_id"], "wrkr.approval_record");
    assert_eq!(approved.json()["approved_by"], "ann");

    let resumed = server.post("/v1/jobs/web_1:resume", r#"{"wait": true}"#);
    assert_eq!(resumed.status, 200, "{}", String::from_utf8_lossy(&resumed.body));
    assert_eq!(resumed.json()["status"], "completed");

    let exported = server.post("/v1/jobs/web_1:export", "").json();
    let keys: Vec<&str> = exported.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["job_id", "path", "manifest_sha256", "footer"]);
    assert!(exported["path"].as_str().unwrap().ends_with("wrkr-out/jobpacks/jobpack_web_1.zip"));
    let verified = server.post("/v1/jobs/web_1:verify", "{}").json();
    assert_eq!(verified["manifest_sha256"], exported["manifest_sha256"]);
    assert!(verified["files_verified"].as_u64().unwrap() >= 4);

    sb.wrkr().args(["accept", "init"]).assert().success();
    let accepted = server.post("/v1/jobs/web_1:accept", "{}");
    assert_eq!(accepted.status, 200, "{}", String::from_utf8_lossy(&accepted.body));
    let accepted = accepted.json();
    assert_eq!(accepted["accept_result"]["schema_id"], "wrkr.accept_result");
    assert!(accepted["checks"].is_array());
    let report = server.post("/v1/jobs/web_1:report-github", r#"{"out_dir": "wrkr-out"}"#);
    assert_eq!(report.status, 200, "{}", String::from_utf8_lossy(&report.body));
    let report = report.json();
    assert_eq!(report["summary"]["schema_id"], "wrkr.github_summary");
    assert!(std::path::Path::new(report["summary_markdown_path"].as_str().unwrap()).is_file());

    let events = server.get("/v1/jobs/web_1/events?from_seq=2");
    assert_eq!(events.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> =
        String::from_utf8(events.body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["seq"], 2);
    assert!(lines.windows(2).all(|w| w[1]["seq"].as_u64() == w[0]["seq"].as_u64().map(|s| s + 1)));
    let pack = server.get("/v1/jobs/web_1/jobpack");
    assert_eq!(pack.header("content-type"), Some("application/zip"));
    assert_eq!(&pack.body[..2], b"PK");

    let cancel = server.post("/v1/jobs/web_1:cancel", "");
    assert_eq!(cancel.status, 409);
    assert_eq!(cancel.json()["code"], "E_INVALID_STATE_TRANSITION");
    let list = server.get("/v1/jobs").json();
    assert_eq!(list["jobs"][0]["job_id"], "web_1");

    let log = server.stop();
    let first: Value = serde_json::from_str(log.lines().find(|l| l.contains("\"route\"")).unwrap()).unwrap();
    assert_eq!(first["route"], "/v1/jobs:submit");
    assert_eq!(first["status"], 202);
    assert!(first["duration_ms"].is_number());
}

#[test]
fn submit_wait_pause_cancel() {
    let sb = sandbox_with_spec();
    let server = Server::start(&sb, &[], &[]);
    let done = server.post("/v1/jobs:submit", r#"{"jobspec_path": "jobspec.yaml", "job_id": "w2", "wait": true}"#);
    assert_eq!(done.status, 200);
    assert_eq!(done.json()["status"], "blocked_decision");
    assert!(done.json()["checkpoint_id"].is_string());
    let again = server.post("/v1/jobs:submit", r#"{"jobspec_path": "jobspec.yaml", "job_id": "w2"}"#);
    assert_eq!(again.status, 400);
    assert_eq!(server.post("/v1/jobs/w2:pause", "").status, 409);
    let canceled = server.post("/v1/jobs/w2:cancel", "{}");
    assert_eq!(canceled.status, 200);
    assert_eq!(canceled.json()["status"], "canceled");
    let missing = server.get("/v1/jobs/nope:status");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "E_INVALID_INPUT_SCHEMA");
    let unknown = server.post("/v1/jobs:submit", r#"{"jobspec_path": "jobspec.yaml", "extra": 1}"#);
    assert_eq!(unknown.status, 400);
    assert!(unknown.json()["details"]["error"].as_str().unwrap().contains("unknown field"));
    assert_eq!(server.post("/v1/jobs:submit", "").status, 400);
    assert_eq!(server.post("/v1/jobs:submit", "{not json").status, 400);
    // Only an empty body stands for `{}` on an optional-body route; whitespace is no JSON document.
    let whitespace = server.post("/v1/jobs/w2:report-github", "\r");
    assert_eq!(whitespace.status, 400);
    assert_eq!(whitespace.json()["message"], "invalid request json");
    assert_eq!(whitespace.json()["code"], "E_INVALID_INPUT_SCHEMA");
    assert_ne!(server.post("/v1/jobs/w2:report-github", "").status, 400);
}

/// Every operation of the served document is answered by a route (not 404/405), an unknown path is
/// 404, a wrong method is 405 with `Allow` (the unit test in src/serve/routes.rs checks the table).
#[test]
fn served_document_matches_routes() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[], &[]);
    let served = server.get("/v1/openapi.json");
    assert_eq!(served.status, 200);
    let doc = served.json();
    assert_eq!(doc, serde_json::from_str::<Value>(include_str!("../schemas/v1/serve/api.openapi.json")).unwrap());
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{job_id}", "nope").replace("{checkpoint_id}", "cp_1");
        for method in item.as_object().unwrap().keys() {
            let resp = support::http::request(server.addr, &method.to_uppercase(), &concrete, &[], Some(b"{}"));
            assert!(resp.status != 405, "{method} {path}");
            if resp.status == 404 {
                assert_ne!(resp.json()["message"], "unknown endpoint", "{method} {path}");
            }
            operations += 1;
        }
    }
    assert_eq!(operations, 18);
    let unknown = server.get("/v1/nothing");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["message"], "unknown endpoint");
    let wrong = support::http::request(server.addr, "PUT", "/v1/jobs/x:status", &[], None);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET"));
    assert_eq!(server.get("/v1/").status, 404);
    assert_eq!(server.get("/").status, 404);
}

#[test]
fn non_loopback_needs_three_flags() {
    let sb = Sandbox::new();
    for args in [
        vec!["serve", "--listen", "0.0.0.0:0"],
        vec!["serve", "--listen", "0.0.0.0:0", "--allow-non-loopback"],
        vec!["serve", "--listen", "0.0.0.0:0", "--allow-non-loopback", "--auth-token", "t0ken-t0ken-t0ken"],
        vec!["serve", "--listen", ":0", "--auth-token", "t0ken-t0ken-t0ken", "--max-body-bytes", "10"],
    ] {
        let out = sb.wrkr().args(&args).arg("--json").timeout(Duration::from_secs(10)).output().unwrap();
        assert_eq!(out.status.code(), Some(8), "{args:?}");
        assert!(out.stdout.is_empty());
        let env = support::envelope(&out.stderr);
        assert_eq!(env["code"], "E_UNSAFE_OPERATION");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("t0ken"));
    }
}

#[test]
fn doctor_reports_unsafe_settings() {
    let sb = Sandbox::new();
    let out = sb.wrkr().args(["doctor", "--json", "--listen", "0.0.0.0:9488"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["profile"], "serve");
    assert_eq!(report["ok"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false && c["severity"] == "critical")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["listen_loopback", "auth_token", "max_body_bytes"]);
    let ok = sb.wrkr().args(["doctor", "--json"]).env("WRKR_SERVE_TOKEN", "0123456789abcdef0123").output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert!(!String::from_utf8_lossy(&ok.stdout).contains("0123456789abcdef0123"));
    assert_eq!(support::tree(sb.work()).len(), 0, "doctor wrote files");
    assert!(!sb.home().join("jobs").exists());
}
