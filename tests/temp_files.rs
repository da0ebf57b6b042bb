//! Temp files of killed writers do not pile up, and a live writer's temp file is never removed.
//!
//! Regression (issue 14, fix-first 3): every killed export left a `.wrkr-tmp-*` file under
//! `wrkr-out/jobpacks/` that no later export removed, and killed runners left
//! `.tmp-snapshot.json-*` files in job directories. Now the next writer in that directory removes
//! the stale ones: those whose writer is gone (their `flock` is free) and that are older than 2 s.

mod support;

use std::fs::{File, FileTimes};
use std::path::Path;
use std::time::{Duration, SystemTime};

use support::Sandbox;

/// A leftover as a killed writer leaves it: a temp file nobody holds, last written a minute ago.
fn leftover(path: &Path) {
    let file = File::create(path).unwrap();
    let minute_ago = SystemTime::now() - Duration::from_secs(60);
    file.set_times(FileTimes::new().set_modified(minute_ago).set_accessed(minute_ago)).unwrap();
}

/// A live writer's temp file: as old, but its writer (this test) holds the lock.
fn live(path: &Path) -> File {
    leftover(path);
    let file = File::open(path).unwrap();
    file.lock().unwrap();
    file
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn next_export_removes_a_killed_exports_temp_file_but_not_a_live_one() {
    let sb = Sandbox::new();
    sb.program("wrkr-events").args(["--append", "--create", "job_t"]).write_stdin("").assert().success();
    let packs = sb.work().join("wrkr-out/jobpacks");
    std::fs::create_dir_all(&packs).unwrap();
    leftover(&packs.join(".wrkr-tmp-killed1"));
    leftover(&packs.join(".wrkr-tmp-killed2"));
    let _held = live(&packs.join(".wrkr-tmp-writing"));
    // Just created by a writer that has not taken its lock yet: too young to judge.
    File::create(packs.join(".wrkr-tmp-fresh")).unwrap();

    let out = sb.wrkr().args(["export", "job_t", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(names(&packs), [".wrkr-tmp-fresh", ".wrkr-tmp-writing", "jobpack_job_t.zip"]);
}

#[test]
fn next_snapshot_write_removes_a_killed_runners_temp_file_but_not_a_live_one() {
    let sb = Sandbox::new();
    sb.program("wrkr-events").args(["--append", "--create", "job_s"]).write_stdin("").assert().success();
    let dir = sb.home().join("jobs/job_s");
    leftover(&dir.join(".tmp-snapshot.json-4242-1"));
    let _held = live(&dir.join(".tmp-snapshot.json-4243-2"));

    // A lease change refreshes the snapshot: the next writer in the job directory.
    sb.program("wrkr-lease").args(["acquire", "job_s", "--worker", "w"]).assert().success();
    let temps: Vec<String> = names(&dir).into_iter().filter(|n| n.starts_with(".tmp-")).collect();
    assert_eq!(temps, [".tmp-snapshot.json-4243-2"]);
    assert!(dir.join("snapshot.json").is_file());
}
