//! wrap, accept, logs and serve on either store, through the real binary: each test below runs
//! once on a file store and once on a fresh PostgreSQL database (skipped with a reason when no
//! server can start here, failed under `CI=true`). Before, all four refused a PostgreSQL store
//! (exit 6, "this command does not run on a PostgreSQL store yet"). What still needs a file store
//! is refused with an error that names the command (`store::location::FILE_STORE_ONLY`).

#[macro_use]
mod support;

use serde_json::Value;
use support::Sandbox;
use support::http::Server;

on_both_backends!(wrap_logs_and_accept, serve_reads_and_exports);

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn wrap(sb: &Sandbox, job: &str, script: &str) -> Value {
    let out = sb.wrkr().args(["wrap", "--job-id", job, "--json", "--", "sh", "-c", script]).output().unwrap();
    json(&out)
}

/// A wrapped command runs, its output is shown by `wrkr logs` (whole and `--tail`), its pack
/// verifies, and acceptance runs on the job and stores its result (the next export carries it).
fn wrap_logs_and_accept(sb: &Sandbox) {
    let wrapped = wrap(sb, "w1", "echo first line; echo second line; echo oops >&2");
    assert_eq!(wrapped["adapter_result"]["status"], "completed", "{wrapped:#}");
    let pack = wrapped["jobpack_path"].as_str().unwrap();
    sb.wrkr().args(["verify", pack]).assert().success();

    let logs = sb.wrkr().args(["logs", "w1"]).output().unwrap();
    assert!(logs.status.success(), "{}", String::from_utf8_lossy(&logs.stderr));
    assert_eq!(
        String::from_utf8_lossy(&logs.stdout),
        "==> wrap attempt 1 stdout (succeeded) <==\nfirst line\nsecond line\n\
         ==> wrap attempt 1 stderr (succeeded) <==\noops\n"
    );
    let tail = sb.wrkr().args(["logs", "w1", "--tail", "1"]).output().unwrap();
    assert!(String::from_utf8_lossy(&tail.stdout).contains("<==\nsecond line\n==>"), "{tail:?}");

    std::fs::write(
        sb.work().join("accept.yaml"),
        "schema_id: wrkr.accept_config\nschema_version: v1\nrequired_checkpoint_types: [plan, completed]\n",
    )
    .unwrap();
    let accepted = json(&sb.wrkr().args(["accept", "run", "w1", "--json"]).output().unwrap());
    assert_eq!(accepted["accept_result"]["checks_passed"], 2, "{accepted:#}");
    assert_eq!(accepted["accept_result"]["checks_run"], 2, "{accepted:#}");
    let records = sb.program("wrkr-events").args(["--records", "w1"]).output().unwrap();
    assert!(String::from_utf8_lossy(&records.stdout).contains("\"schema_id\":\"wrkr.accept_result\""));

    // A failing command: exit 1 with its reason code, and its output is there for `--failed`.
    let out = sb.wrkr().args(["wrap", "--job-id", "w2", "--", "sh", "-c", "echo broken; exit 3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let failed = sb.wrkr().args(["logs", "w2", "--failed"]).output().unwrap();
    assert!(String::from_utf8_lossy(&failed.stdout).contains("broken"), "{failed:?}");
}

/// `wrkr serve` lists, reads and exports jobs from the store; on PostgreSQL the endpoints that
/// run the runner are refused naming what is refused.
fn serve_reads_and_exports(sb: &Sandbox) {
    wrap(sb, "s1", "echo served");
    let mut env = Vec::new();
    if let Some(url) = &sb.store {
        env.push(("WRKR_STORE", url.as_str()));
    }
    let server = Server::start(sb, &[], &env);
    let list = server.get("/v1/jobs");
    assert_eq!(list.status, 200, "{}", String::from_utf8_lossy(&list.body));
    assert_eq!(list.json()["jobs"][0]["job_id"], "s1");
    let status = server.get("/v1/jobs/s1:status");
    assert_eq!(status.json()["status"], "completed");
    let pack = server.get("/v1/jobs/s1/jobpack");
    assert_eq!(pack.status, 200);
    assert_eq!(&pack.body[..2], b"PK");
    if sb.store.is_some() {
        std::fs::write(sb.work().join("spec.yaml"), "x: 1\n").unwrap();
        let refused = server.post("/v1/jobs/s1:resume", "{}");
        let body = refused.json();
        assert_eq!(refused.status, 400, "{body}");
        let text = body.to_string();
        assert!(text.contains("wrkr serve: POST"), "{text}");
        assert!(text.contains("E_INVALID_INPUT_SCHEMA"), "{text}");
    }
    server.stop();
}

/// What still needs a file store says so, naming the command; the store is left as it was.
#[test]
fn file_store_only_commands_name_themselves() {
    let Some(sb) = Sandbox::postgres() else { return };
    wrap(&sb, "f1", "true");
    let before = sb.store_contents();
    for (argv, named) in [
        (vec!["demo"], "wrkr demo does not run on a PostgreSQL store yet"),
        (vec!["logs", "f1", "--follow"], "wrkr logs --follow does not run on a PostgreSQL store yet"),
    ] {
        let out = sb.wrkr().args(&argv).arg("--json").output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
        let envelope = support::envelope(&out.stderr);
        assert_eq!(envelope["code"], "E_INVALID_INPUT_SCHEMA", "{envelope}");
        assert!(envelope.to_string().contains(named), "{argv:?}: {envelope}");
        assert!(!envelope.to_string().contains("password"), "{envelope}");
    }
    assert_eq!(sb.store_contents(), before, "refusals change nothing");
}
