//! Moving a job between stores is a pipe of existing tools:
//! `wrkr-events --store A JOB | wrkr-events --store B --import JOB`. Both ways (file -> PostgreSQL
//! -> file, and PostgreSQL -> file), with the job's workspace deleted before the move: the packs
//! exported from every store are byte-identical, because the ledger moves byte for byte and the
//! artifact hashes ride in it (`run::evidence`).

mod support;

use std::process::{Command, Stdio};

use support::Sandbox;

/// A sandbox on the file store under `home`, or on `url`.
fn on(home: &Sandbox, url: Option<&str>) -> Command {
    let mut cmd = home.command("wrkr-events");
    cmd.env_remove("WRKR_STORE");
    if let Some(url) = url {
        cmd.env("WRKR_STORE", url);
    }
    cmd
}

/// `wrkr-events JOB` in `from` piped into `wrkr-events --import JOB` in `to`.
fn pipe(from: Command, to: Command, job: &str) {
    let (mut from, mut to) = (from, to);
    let mut reader = from.arg(job).stdout(Stdio::piped()).spawn().unwrap();
    let status = to.args(["--import", job]).stdin(reader.stdout.take().unwrap()).output().unwrap();
    assert!(reader.wait().unwrap().success());
    assert!(status.status.success(), "import: {}", String::from_utf8_lossy(&status.stderr));
}

/// A wrapped job with artifacts in a workspace that is deleted afterwards.
fn wrapped_job(sb: &Sandbox, job: &str) {
    let workspace = tempfile::tempdir().unwrap();
    let script =
        format!("cd '{}' && mkdir -p out && echo moved > out/a.txt && echo log line", workspace.path().display());
    let out = sb
        .wrkr()
        .args(["wrap", "--job-id", job, "--workspace"])
        .arg(workspace.path())
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn export(sb: &Sandbox, url: Option<&str>, job: &str) -> Vec<u8> {
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = sb.command("wrkr");
    cmd.env_remove("WRKR_STORE");
    if let Some(url) = url {
        cmd.env("WRKR_STORE", url);
    }
    let out = cmd.args(["export", job, "--out-dir"]).arg(out_dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(out_dir.path().join(format!("jobpacks/jobpack_{job}.zip"))).unwrap();
    use sha2::Digest;
    let content: String = sha2::Sha256::digest(b"moved\n").iter().map(|b| format!("{b:02x}")).collect();
    assert!(bytes.windows(64).any(|w| w == content.as_bytes()), "the artifact's content hash is in the manifest");
    bytes
}

#[test]
fn file_to_postgres_to_file_gives_the_same_pack() {
    let Some(pg) = Sandbox::postgres() else { return };
    let url = pg.store.clone();
    let (source, target) = (Sandbox::new(), Sandbox::new());
    wrapped_job(&source, "m1");
    let original = export(&source, None, "m1");

    pipe(on(&source, None), on(&pg, url.as_deref()), "m1");
    assert_eq!(export(&pg, url.as_deref(), "m1"), original, "file -> PostgreSQL");

    pipe(on(&pg, url.as_deref()), on(&target, None), "m1");
    assert_eq!(export(&target, None, "m1"), original, "PostgreSQL -> file");
    target.wrkr().args(["export", "m1"]).assert().success();
    target.wrkr().args(["verify", "m1"]).assert().success();
}

#[test]
fn postgres_to_file_gives_the_same_pack() {
    let Some(pg) = Sandbox::postgres() else { return };
    let url = pg.store.clone();
    wrapped_job(&pg, "m2");
    let original = export(&pg, url.as_deref(), "m2");
    let target = Sandbox::new();
    pipe(on(&pg, url.as_deref()), on(&target, None), "m2");
    assert_eq!(export(&target, None, "m2"), original, "PostgreSQL -> file");

    // A second import is refused (exit 6) and changes nothing.
    let mut again = on(&pg, url.as_deref());
    let mut reader = again.arg("m2").stdout(Stdio::piped()).spawn().unwrap();
    let out = on(&target, None).args(["--import", "m2"]).stdin(reader.stdout.take().unwrap()).output().unwrap();
    reader.wait().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(export(&target, None, "m2"), original);
}

/// Was: `--import` on PostgreSQL left `queue_labels` NULL, so a job queued with labels on one
/// store was never claimed by a worker on the other. Now it keeps its labels: a worker without
/// them leaves it, one with them runs it.
#[test]
fn a_queued_job_keeps_its_labels_when_it_moves() {
    let Some(pg) = Sandbox::postgres() else { return };
    let url = pg.store.clone();
    let source = Sandbox::new();
    std::fs::create_dir_all(source.work().join("ws")).unwrap();
    std::fs::write(
        source.work().join("q.yaml"),
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: test\nname: q\nobjective: queued\n\
         adapter: {name: reference}\ninputs:\n  workspace: ws\n  steps:\n    - {id: s0, summary: s0, command: \"true\"}\n\
         budgets: {max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}\n\
         checkpoint_policy: {min_interval_seconds: 1}\nenvironment_fingerprint: {rules: [os]}\n",
    )
    .unwrap();
    let out = source
        .wrkr()
        .args(["submit", "q.yaml", "--queue", "--job-id", "q1", "--label", "gpu", "--label", "linux"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    pipe(on(&source, None), on(&pg, url.as_deref()), "q1");
    let database = support::pg::database_of(url.as_deref().unwrap());
    let labels =
        support::pg::cluster().unwrap().psql(database, "SELECT queue_labels FROM wrkr_jobs WHERE job_id = 'q1'");
    assert_eq!(labels.trim(), "{gpu,linux}");

    let idle = pg.wrkr().args(["worker", "--once", "--label", "gpu"]).output().unwrap();
    assert!(idle.status.success(), "{}", String::from_utf8_lossy(&idle.stderr));
    let status = pg.wrkr().args(["status", "q1", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["status"], "queued", "a worker without the labels leaves it: {status:#}");
    let ran = pg.wrkr().args(["worker", "--once", "--label", "gpu", "--label", "linux"]).output().unwrap();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let status = pg.wrkr().args(["status", "q1", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["status"], "completed", "{status:#}");
}
