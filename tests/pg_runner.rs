//! The runner on either store: the same multi-step JobSpec (a step that writes a file, a decision
//! gate, a step that calls `wrkr` itself) is submitted, approved and resumed on a file store and on
//! a PostgreSQL store. The two ledgers are the same record for record once the values that only
//! time and process ids decide are masked, and the PostgreSQL job's pack is byte-identical to the
//! pack of its ledger moved into a file store. Skipped with a printed reason when no PostgreSQL
//! server can start here (failed under `CI=true`).

mod support;

use serde_json::Value;
use support::Sandbox;

/// The job both backends run.
fn spec() -> String {
    let steps = concat!(
        "    - {id: build, summary: build it, command: \"echo built > built.txt; echo out; echo err >&2\"}\n",
        "    - {id: gate, summary: review, command: \"\", executed: false, decision_needed: true, required_action: approve}\n",
        "    - {id: ship, summary: ship it, command: \"wrkr checkpoint emit $WRKR_JOB_ID --type progress --summary from-step >/dev/null && cat built.txt\"}\n",
    );
    support::jobspec(steps, "", "os")
}

/// Values that time, process ids and temp dirs decide: masked before two runs are compared.
const VOLATILE: [&str; 11] = [
    "created_at",
    "started_at",
    "captured_at",
    "acquired_at",
    "heartbeat_at",
    "expires_at",
    "worker_id",
    "lease_id",
    "duration_ms",
    "wall_time_seconds",
    "spec_path",
];

/// `wrkr ARGS...` whose steps can call `wrkr`; on PostgreSQL the store is given by `--store` only
/// (no `WRKR_STORE`), so a step's own `wrkr` finds it only if the runner tells it.
fn wrkr(sandbox: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sandbox.wrkr();
    let dir = support::bin().parent().unwrap().to_path_buf();
    cmd.env("PATH", format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
    if let Some(url) = &sandbox.store {
        cmd.env_remove("WRKR_STORE").args(["--store", url]);
    }
    cmd
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Submit (stops at the gate), approve, resume (completes); returns the ledger's bytes.
fn journey(sandbox: &Sandbox) -> Vec<u8> {
    std::fs::write(sandbox.work().join("spec.yaml"), spec()).unwrap();
    let submitted = json(&wrkr(sandbox).args(["--json", "submit", "spec.yaml", "--job-id", "j1"]).output().unwrap());
    assert_eq!(submitted["status"], "blocked_decision");
    wrkr(sandbox).args(["approve", "j1", "--reason", "ok"]).assert().success();
    let resumed = json(&wrkr(sandbox).args(["--json", "resume", "j1"]).output().unwrap());
    assert_eq!(resumed["status"], "completed");
    assert_eq!(std::fs::read_to_string(sandbox.work().join("built.txt")).unwrap(), "built\n");
    let out = sandbox.program("wrkr-events").arg("j1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn masked(ledger: &[u8], workspace: &std::path::Path) -> Vec<Value> {
    fn mask(value: &mut Value, workspace: &str) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if VOLATILE.contains(&key.as_str()) && !value.is_null() {
                        *value = Value::from("~");
                    } else if key == "workspace" && value.as_str() == Some(workspace) {
                        *value = Value::from("WORKSPACE");
                    } else {
                        mask(value, workspace);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| mask(v, workspace)),
            _ => {}
        }
    }
    let workspace = workspace.canonicalize().unwrap().display().to_string();
    let mut records: Vec<Value> =
        serde_json::Deserializer::from_slice(ledger).into_iter().map(Result::unwrap).collect();
    records.iter_mut().for_each(|r| mask(r, &workspace));
    records
}

fn export(sandbox: &Sandbox, job: &str) -> Vec<u8> {
    let out_dir = sandbox.work().join("out");
    sandbox.wrkr().args(["export", job, "--out-dir"]).arg(&out_dir).assert().success();
    let pack = out_dir.join(format!("jobpacks/jobpack_{job}.zip"));
    sandbox.program("wrkr-verify").arg(&pack).assert().success();
    std::fs::read(pack).unwrap()
}

/// Before: `submit` refused a PostgreSQL store ("does not run on a PostgreSQL store yet").
#[test]
fn same_spec_same_ledger_and_pack_on_both_backends() {
    let Some(pg) = Sandbox::postgres() else { return };
    let file = Sandbox::new();
    let from_file = masked(&journey(&file), file.work());
    let pg_ledger = journey(&pg);
    assert_eq!(masked(&pg_ledger, pg.work()), from_file, "the runner writes the same records on both stores");

    // The step's log is on this host's disk, under WRKR_HOME, not in the store's tables.
    let logs: Vec<_> =
        walk(&pg.home().join("pg")).into_iter().filter(|p| p.ends_with("00000-build-1.stdout.log")).collect();
    assert_eq!(logs.len(), 1, "one local stdout log of the build step: {logs:?}");
    assert_eq!(std::fs::read_to_string(&logs[0]).unwrap(), "out\n");
    assert!(!pg.home().join("jobs").exists(), "nothing of a PostgreSQL job in a file store");

    // The PostgreSQL job's pack is the pack of the same ledger on a file store, byte for byte.
    let moved = Sandbox::new();
    moved.program("wrkr-events").args(["--import", "j1"]).write_stdin(pg_ledger).assert().success();
    assert!(export(&pg, "j1") == export(&moved, "j1"), "packs differ across backends");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
