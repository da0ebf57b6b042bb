//! Step evidence outlives the worker's disk: a job run in workspace A exports the same pack,
//! verifies, and passes acceptance after A is deleted (file store), and from another process that
//! has no `WRKR_HOME` and no workspace at all (PostgreSQL). Before evidence was recorded at step
//! end, export hashed the workspace: with A gone every artifact became a reference hash, reported
//! missing, and `required_artifacts` failed.

mod support;

use std::path::Path;

use serde_json::Value;
use support::Sandbox;

const ALPHA: &[u8] = b"alpha\n";
const BETA: &[u8] = b"beta beta\n";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn spec(workspace: &Path) -> String {
    format!(
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: test\nname: t\nobjective: evidence\n\
         adapter: {{name: reference}}\ninputs:\n  workspace: {ws}\n  steps:\n\
         \x20   - {{id: one, summary: first, command: \"mkdir -p out && printf 'alpha\\\\n' > out/a.txt && echo said one\", artifacts: [out/a.txt]}}\n\
         \x20   - {{id: two, summary: second, command: \"printf 'beta beta\\\\n' > out/b.txt; echo to-stderr >&2\", artifacts: [out/b.txt, out/never.txt]}}\n\
         budgets: {{max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}}\n\
         checkpoint_policy: {{min_interval_seconds: 1}}\nenvironment_fingerprint: {{rules: [os]}}\n",
        ws = workspace.display()
    )
}

const ACCEPT: &str = "schema_id: wrkr.accept_config\nschema_version: v1\n\
                      required_artifacts: [out/a.txt, out/b.txt]\nrequired_checkpoint_types: [plan, completed]\n";

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Export `job` under `sb`: the pack's bytes and path.
fn export(sb: &Sandbox, job: &str) -> (Vec<u8>, String) {
    let exported = json(&sb.wrkr().args(["export", job, "--json"]).output().unwrap());
    let pack = exported["path"].as_str().or(exported["jobpack_path"].as_str()).unwrap().to_owned();
    (std::fs::read(&pack).unwrap(), pack)
}

/// Export `job`, verify the pack, run acceptance; returns the pack's bytes (as exported, before
/// acceptance adds its result) and the artifacts manifest.
fn export_verify_accept(sb: &Sandbox, job: &str) -> (Vec<u8>, Value) {
    let (bytes, pack) = export(sb, job);
    let out = sb.program("wrkr-events").args(["--records", job]).output().unwrap();
    let manifest = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<Value>(l).unwrap())
        .find(|r| r["schema_id"] == "wrkr.artifacts_manifest")
        .unwrap();
    sb.wrkr().args(["verify", &pack]).assert().success();
    std::fs::write(sb.work().join("accept.yaml"), ACCEPT).unwrap();
    let accepted = json(&sb.wrkr().args(["accept", "run", job, "--json"]).output().unwrap());
    assert_eq!(accepted["accept_result"]["checks_passed"], accepted["accept_result"]["checks_run"], "{accepted:#}");
    assert!(accepted["accept_result"]["checks_run"].as_u64().unwrap() >= 2, "{accepted:#}");
    (bytes, manifest)
}

fn hash_of<'a>(manifest: &'a Value, path: &str) -> &'a str {
    let artifacts = manifest["artifacts"].as_array().unwrap();
    artifacts.iter().find(|a| a["path"] == path).unwrap()["sha256"].as_str().unwrap()
}

#[test]
fn runner_evidence_outlives_the_workspace_on_the_file_store() {
    let sb = Sandbox::new();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(sb.work().join("spec.yaml"), spec(workspace.path())).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "j"]).assert().success();
    let (before, _) = export(&sb, "j");
    drop(workspace);
    let (after, manifest) = export_verify_accept(&sb, "j");
    assert_eq!(before, after, "the same pack with or without the workspace");
    assert_eq!(hash_of(&manifest, "out/a.txt"), sha256(ALPHA), "the hash recorded at step end");
    assert_eq!(hash_of(&manifest, "out/b.txt"), sha256(BETA));
    assert_eq!(hash_of(&manifest, "out/never.txt"), sha256(b"reference:out/never.txt"));
}

#[test]
fn a_later_change_in_the_workspace_does_not_change_the_pack() {
    let sb = Sandbox::new();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(sb.work().join("spec.yaml"), spec(workspace.path())).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "j"]).assert().success();
    std::fs::write(workspace.path().join("out/a.txt"), "edited after the job\n").unwrap();
    let out = sb.program("wrkr-events").args(["--records", "j"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&sha256(ALPHA)), "the manifest keeps what the step left");
}

/// The same evidence for a wrapped command, on PostgreSQL; export, verify and accept from a
/// process with no `WRKR_HOME` (a fresh home, nothing in it) and no workspace.
#[test]
fn wrap_evidence_is_in_postgres_for_another_host() {
    let Some(sb) = Sandbox::postgres() else { return };
    let workspace = tempfile::tempdir().unwrap();
    let out = sb
        .wrkr()
        .args(["wrap", "--job-id", "w", "--workspace"])
        .arg(workspace.path())
        .args(["--json", "--", "sh", "-c"])
        // --workspace is watched; the command runs where wrap was started.
        .arg(format!(
            "cd '{}' && mkdir -p out && printf 'alpha\\n' > out/a.txt && printf 'beta beta\\n' > out/b.txt && echo done",
            workspace.path().display()
        ))
        .output()
        .unwrap();
    let wrapped = json(&out);
    assert_eq!(wrapped["adapter_result"]["status"], "completed", "{wrapped:#}");
    let first = std::fs::read(wrapped["jobpack_path"].as_str().unwrap()).unwrap();
    drop(workspace);

    // "Host B": another home, another working directory; only the store URL is shared.
    let mut other = Sandbox::new();
    other.store = sb.store.clone();
    std::fs::remove_dir_all(other.home()).unwrap();
    let (pack, manifest) = export_verify_accept(&other, "w");
    assert_eq!(hash_of(&manifest, "out/a.txt"), sha256(ALPHA));
    assert_eq!(hash_of(&manifest, "out/b.txt"), sha256(BETA));
    assert_eq!(pack, first, "host B exports the pack the wrapping host exported");
    assert!(!other.home().exists(), "nothing was written to a local store");

    // The log tail is in the store too.
    let logs = other.wrkr().args(["logs", "w"]).output().unwrap();
    assert!(logs.status.success(), "{}", String::from_utf8_lossy(&logs.stderr));
    assert!(String::from_utf8_lossy(&logs.stdout).contains("done"), "{}", String::from_utf8_lossy(&logs.stdout));
}
