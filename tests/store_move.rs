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
