//! `wrkr fsck`: findings as JSON lines, exit 3 while a repair is needed, `--repair` fixes torn
//! tails, snapshots and stale temp files without deleting a complete record, and a ledger with a
//! damaged complete line is reported (exit 1, E_STORE_CORRUPT) and left alone.

mod support;

use std::fs::{File, FileTimes};
use std::io::Write;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use support::Sandbox;

fn findings(stdout: &[u8]) -> Vec<Value> {
    stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
}

fn checks(found: &[Value]) -> Vec<String> {
    let mut checks: Vec<String> = found.iter().map(|f| f["check"].as_str().unwrap().to_owned()).collect();
    checks.sort();
    checks
}

fn job(sb: &Sandbox, id: &str) {
    sb.program("wrkr-events")
        .args(["--append", "--create", id])
        .write_stdin("{\"type\":\"x-note\",\"payload\":{\"n\":1}}\n")
        .assert()
        .success();
    sb.program("wrkr-lease").args(["acquire", id, "--worker", "w"]).assert().success();
    sb.program("wrkr-lease").args(["release", id, "--worker", "w"]).assert().success();
}

#[test]
fn clean_store_is_exit_0() {
    let sb = Sandbox::new();
    job(&sb, "job_ok");
    let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn repairable_damage_is_exit_3_then_repaired_without_losing_a_record() {
    let sb = Sandbox::new();
    job(&sb, "job_d");
    job(&sb, "job_ok");
    let dir = sb.home().join("jobs/job_d");
    let records_before = std::fs::read(dir.join("events.jsonl")).unwrap();
    // A torn tail, a snapshot that lies about the state, a killed writer's temp file.
    File::options().append(true).open(dir.join("events.jsonl")).unwrap().write_all(b"{\"seq\":6,\"crea").unwrap();
    let mut snapshot: Value = serde_json::from_slice(&std::fs::read(dir.join("snapshot.json")).unwrap()).unwrap();
    snapshot["state"]["status"] = "completed".into();
    std::fs::write(dir.join("snapshot.json"), serde_json::to_vec(&snapshot).unwrap()).unwrap();
    let temp = File::create(dir.join(".tmp-snapshot.json-4242-1")).unwrap();
    // 0600, as the store makes its temp files (a 0644 one would add a `permissions` finding).
    temp.set_permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600)).unwrap();
    let minute_ago = SystemTime::now() - Duration::from_secs(60);
    temp.set_times(FileTimes::new().set_modified(minute_ago)).unwrap();

    let before = support::tree(sb.home());
    let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "needs repair: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(support::envelope(&out.stderr)["details"]["needs_repair"], 3);
    let found = findings(&out.stdout);
    assert_eq!(checks(&found), ["snapshot", "temp_file", "torn_tail"]);
    assert!(found.iter().all(|f| f["job_id"] == "job_d" && f["repairable"] == true && f.get("repaired").is_none()));
    assert_eq!(support::tree(sb.home()), before, "fsck without --repair changes nothing");

    let out = sb.wrkr().args(["fsck", "job_d", "--repair", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let repaired = findings(&out.stdout);
    assert_eq!(checks(&repaired), ["snapshot", "temp_file", "torn_tail"]);
    assert!(repaired.iter().all(|f| f["repaired"] == true && f["action"].is_string()), "{repaired:?}");

    let out = sb.wrkr().args(["fsck"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "clean after repair: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(std::fs::read(dir.join("events.jsonl")).unwrap(), records_before, "every complete record kept");
    let status: Value =
        serde_json::from_slice(&sb.wrkr().args(["status", "job_d", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(status["status"], "queued", "the rebuilt snapshot tells the truth");
}

#[test]
fn damaged_complete_line_is_exit_1_and_never_repaired() {
    let sb = Sandbox::new();
    job(&sb, "job_bad");
    let path = sb.home().join("jobs/job_bad/events.jsonl");
    let mut ledger = std::fs::read(&path).unwrap();
    let second = ledger.iter().position(|&b| b == b'\n').unwrap() + 1;
    ledger[second + 2] = b'#'; // line 2 no longer parses
    std::fs::write(&path, &ledger).unwrap();
    for args in [&["fsck", "--json"][..], &["fsck", "--repair", "--json"]] {
        let out = sb.wrkr().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(support::envelope(&out.stderr)["code"], "E_STORE_CORRUPT");
        let found = findings(&out.stdout);
        assert_eq!(checks(&found), ["ledger_corrupt"]);
        assert_eq!(found[0]["details"]["line"], 2);
        assert_eq!(std::fs::read(&path).unwrap(), ledger, "a complete record is never deleted");
    }
}

/// A running job whose lease expired is a warning naming the resume command, not a repair.
#[test]
fn expired_lease_of_a_running_job_is_a_stale_runner_warning() {
    let sb = Sandbox::new();
    job(&sb, "job_run");
    sb.program("wrkr-lease").args(["acquire", "job_run", "--worker", "w", "--ttl", "1"]).assert().success();
    sb.program("wrkr-events")
        .args(["--append", "job_run"])
        .write_stdin("{\"type\":\"status_changed\",\"payload\":{\"from\":\"queued\",\"to\":\"running\"}}\n")
        .assert()
        .success();
    std::thread::sleep(Duration::from_millis(1200));
    let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "a warning is not damage: {}", String::from_utf8_lossy(&out.stderr));
    let found = findings(&out.stdout);
    assert_eq!(checks(&found), ["stale_runner"]);
    assert_eq!(found[0]["details"]["resume_command"], "wrkr resume job_run");
}

/// Was: fsck looked for temp files only in job directories, so the `.wrkr-tmp-*` file each killed
/// `export` (or `report`) leaves under `wrkr-out/` was never found or removed. Now a whole-store
/// fsck checks `<out>/jobpacks` and `<out>/reports` (`--out-dir`, default `./wrkr-out`), and
/// `--repair` removes the stale ones; a live writer's temp file and the packs stay.
#[test]
fn stale_output_temp_files_are_found_and_repaired() {
    let sb = Sandbox::new();
    job(&sb, "job_ok");
    let out = sb.work().join("wrkr-out");
    std::fs::create_dir_all(out.join("jobpacks")).unwrap();
    std::fs::create_dir_all(out.join("reports")).unwrap();
    let minute_ago = SystemTime::now() - Duration::from_secs(60);
    for stale in ["jobpacks/.wrkr-tmp-killed1", "reports/.wrkr-tmp-killed2"] {
        File::create(out.join(stale)).unwrap().set_times(FileTimes::new().set_modified(minute_ago)).unwrap();
    }
    std::fs::write(out.join("jobpacks/jobpack_job_ok.zip"), "a pack").unwrap();
    let live = File::create(out.join("jobpacks/.wrkr-tmp-live")).unwrap();
    live.try_lock().unwrap(); // a writer still at work (store::atomic::hold)
    live.set_times(FileTimes::new().set_modified(minute_ago)).unwrap();

    let out_json = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out_json.status.code(), Some(3), "{}", String::from_utf8_lossy(&out_json.stderr));
    let found = findings(&out_json.stdout);
    assert_eq!(checks(&found), ["output_temp_file", "output_temp_file"]);
    assert!(found.iter().all(|f| f["job_id"].is_null() && f["repairable"] == true), "{found:?}");
    let named: Vec<&str> = found.iter().map(|f| f["details"]["path"].as_str().unwrap()).collect();
    assert!(named[0].ends_with("wrkr-out/jobpacks/.wrkr-tmp-killed1"), "{named:?}");
    assert!(named[1].ends_with("wrkr-out/reports/.wrkr-tmp-killed2"), "{named:?}");
    let one_job = sb.wrkr().args(["fsck", "job_ok", "--json"]).output().unwrap();
    assert_eq!(one_job.status.code(), Some(0), "named jobs only: the out dir needs --out-dir");

    let repaired = sb.wrkr().args(["fsck", "--repair", "--json"]).output().unwrap();
    assert_eq!(repaired.status.code(), Some(0), "{}", String::from_utf8_lossy(&repaired.stderr));
    assert!(findings(&repaired.stdout).iter().all(|f| f["repaired"] == true));
    let mut left: Vec<String> = std::fs::read_dir(out.join("jobpacks"))
        .unwrap()
        .chain(std::fs::read_dir(out.join("reports")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".wrkr-tmp-live", "jobpack_job_ok.zip"]);

    drop(live);
    let elsewhere = sb.work().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("reports")).unwrap();
    File::create(elsewhere.join("reports/.wrkr-tmp-x"))
        .unwrap()
        .set_times(FileTimes::new().set_modified(minute_ago))
        .unwrap();
    let other = sb.wrkr().args(["fsck", "job_ok", "--out-dir", "elsewhere", "--json"]).output().unwrap();
    assert_eq!(other.status.code(), Some(3));
    assert_eq!(checks(&findings(&other.stdout)), ["output_temp_file"]);
}

/// What a submit that failed before its first record was durable leaves (a write error, a full
/// disk): `jobs/<id>/` with an `events.jsonl` of 0 bytes and the pending-batch record of the batch
/// that never landed in `ledger.lock`, written a while ago.
fn failed_first_submit(sb: &Sandbox, id: &str) -> std::path::PathBuf {
    let dir = sb.home().join("jobs").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let minute_ago = SystemTime::now() - Duration::from_secs(60);
    let files = [("events.jsonl", ""), ("ledger.lock", "00000000000000000000 00000000000000001337\n")];
    for (name, bytes) in files {
        let file = File::create(dir.join(name)).unwrap();
        file.set_permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600)).unwrap();
        (&file).write_all(bytes.as_bytes()).unwrap();
        file.set_times(FileTimes::new().set_modified(minute_ago)).unwrap();
    }
    std::fs::set_permissions(&dir, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700))
        .unwrap();
    File::open(&dir).unwrap().set_times(FileTimes::new().set_modified(minute_ago)).unwrap();
    dir
}

/// Was: fsck said nothing about the directory a failed first submit leaves (an empty ledger, no
/// job: `status` says "job not found"), and nothing ever removed it. Now it is an `empty_job`
/// warning (exit 3: `--repair` removes it), and `--repair` takes the directory out of the store;
/// the same id submits again.
#[test]
fn empty_job_directory_of_a_failed_submit_is_found_and_removed() {
    let sb = Sandbox::new();
    job(&sb, "job_ok");
    let dir = failed_first_submit(&sb, "job_e");
    let before = support::tree(sb.home());

    let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "needs repair: {}", String::from_utf8_lossy(&out.stderr));
    let found = findings(&out.stdout);
    assert_eq!(checks(&found), ["empty_job"], "litter, not ledger damage: {found:?}");
    assert_eq!(found[0]["job_id"], "job_e");
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["repairable"], true);
    assert_eq!(found[0]["details"]["files"], serde_json::json!(["events.jsonl", "ledger.lock"]));
    assert_eq!(support::tree(sb.home()), before, "fsck without --repair changes nothing");

    let out = sb.wrkr().args(["fsck", "--repair", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let repaired = findings(&out.stdout);
    assert_eq!(repaired[0]["repaired"], true, "{repaired:?}");
    assert!(repaired[0]["action"].as_str().unwrap().contains("removed the empty job directory"), "{repaired:?}");
    assert!(!dir.exists(), "the empty job directory is gone");
    assert!(sb.home().join("jobs/job_ok/events.jsonl").exists(), "the other job stays");
    sb.wrkr().args(["fsck"]).assert().success();
    sb.program("wrkr-events").args(["--append", "--create", "job_e"]).write_stdin(EVENT).assert().success();
    sb.wrkr().args(["fsck"]).assert().success();
}

const EVENT: &str = "{\"type\":\"x-note\",\"payload\":{\"n\":1}}\n";

/// The repair removes a job directory, so it is guarded: not while a writer holds the ledger's
/// lock (a submit at work), not when any file in it holds something (a log, a spec), not when it
/// changed in the last 2 s; each is still reported, with why it stays.
#[test]
fn empty_job_directory_stays_while_locked_written_to_or_holding_content() {
    let sb = Sandbox::new();
    let locked = failed_first_submit(&sb, "job_locked");
    let holder = File::open(locked.join("events.jsonl")).unwrap();
    holder.try_lock().unwrap();
    let content = failed_first_submit(&sb, "job_content");
    std::fs::write(content.join("spec.yaml"), "name: keep me\n").unwrap();
    let fresh = failed_first_submit(&sb, "job_fresh");
    File::create(fresh.join("x")).unwrap();

    let out = sb.wrkr().args(["fsck", "--repair", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "warnings only: {}", String::from_utf8_lossy(&out.stderr));
    let found = findings(&out.stdout);
    assert_eq!(checks(&found), ["empty_job", "empty_job", "empty_job"]);
    let why = |job: &str| {
        let f = found.iter().find(|f| f["job_id"] == job).unwrap();
        assert_eq!(f["repairable"], false, "{f}");
        assert!(f.get("repaired").is_none(), "{f}");
        f["message"].as_str().unwrap().to_owned()
    };
    assert!(why("job_locked").contains("a writer holds its lock"));
    assert!(why("job_content").contains("spec.yaml holds 14 byte(s)"));
    assert!(why("job_fresh").contains("changed in the last 2 s"));
    assert!(locked.exists() && content.exists() && fresh.exists(), "all three stay");

    drop(holder);
    std::fs::remove_file(content.join("spec.yaml")).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let out = sb.wrkr().args(["fsck", "--repair", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(findings(&out.stdout).iter().all(|f| f["repaired"] == true));
    assert!(!locked.exists() && !content.exists() && !fresh.exists(), "removed once nothing holds them");
}

/// An empty directory (created, then creating the ledger failed) is the same litter; a directory
/// with content but no ledger is still `ledger_missing` damage, left for a person.
#[test]
fn job_directory_without_a_ledger_is_litter_only_when_empty() {
    let sb = Sandbox::new();
    let empty = sb.home().join("jobs/job_bare");
    std::fs::create_dir_all(&empty).unwrap();
    let minute_ago = SystemTime::now() - Duration::from_secs(60);
    File::open(&empty).unwrap().set_times(FileTimes::new().set_modified(minute_ago)).unwrap();
    let other = sb.home().join("jobs/job_other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine\n").unwrap();

    let out = sb.wrkr().args(["fsck", "--repair", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let found = findings(&out.stdout);
    assert_eq!(checks(&found), ["empty_job", "ledger_missing"]);
    assert!(!empty.exists(), "the empty directory is removed");
    assert_eq!(std::fs::read(other.join("notes.txt")).unwrap(), b"mine\n", "the other is left alone");
}
