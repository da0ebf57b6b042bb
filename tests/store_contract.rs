//! The store contract, run unchanged against both backends: every test below is one function of a
//! sandbox, instantiated once on a file store (`file::`) and once on a fresh PostgreSQL database
//! (`postgres::`, skipped with a printed reason when no server can start here, failed under
//! `CI=true`). Everything goes through the real binary.

#[macro_use]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Sandbox;

on_both_backends!(
    appends_batches_and_reads,
    hostile_input_changes_nothing,
    lease_race_takeover_and_fencing,
    transitions_pause_cancel_and_jobs,
    concurrent_writers_give_contiguous_seqs,
    follow_tails_until_terminal,
    export_verifies_and_matches_the_pipeline,
    supervision_commands,
);

fn notes(writer: usize, from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("{{\"type\":\"x-note\",\"payload\":{{\"writer\":{writer},\"i\":{i}}}}}\n"))
        .collect()
}

/// Create makes seq 1 (job_initialized); a batch is acknowledged seq by seq; reads from a seq give
/// exactly the lines after it; appending to a missing job is exit 6 and creates nothing.
fn appends_batches_and_reads(sandbox: &Sandbox) {
    let out = sandbox
        .program("wrkr-events")
        .args(["--append", "--create", "job_a"])
        .write_stdin(notes(0, 0, 3))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let acks = support::json_lines(&out.stdout);
    assert_eq!(acks.iter().map(|a| a["seq"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(acks[0]["type"], "job_initialized");
    let out =
        sandbox.program("wrkr-events").args(["--append", "job_a"]).write_stdin(notes(0, 3, 200)).output().unwrap();
    assert_eq!(support::json_lines(&out.stdout).last().unwrap()["seq"], 204);
    let all = sandbox.ledger("job_a");
    assert_eq!(all.len(), 204);
    let tail = sandbox.program("wrkr-events").args(["--from-seq", "200", "job_a"]).output().unwrap();
    let tail = support::json_lines(&tail.stdout);
    assert_eq!(tail, all[199..].to_vec());
    let status = support::stdout_json(&sandbox.wrkr().args(["--json", "status", "job_a"]).output().unwrap());
    assert_eq!(status["status"], "queued");
    let out = sandbox
        .program("wrkr-events")
        .args(["--json", "--append", "nope"])
        .write_stdin(notes(0, 0, 1))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(support::envelope(&out.stderr)["details"]["job_id"], "nope");
    let out = sandbox.program("wrkr-events").args(["--json", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
}

/// Each bad request is refused with its documented exit and reason code, and the store is
/// unchanged, byte for byte.
fn hostile_input_changes_nothing(sandbox: &Sandbox) {
    sandbox.create_job("job_h");
    let huge = format!("{{\"type\":\"x-big\",\"payload\":{{\"s\":\"{}\"}}}}\n", "a".repeat(20 << 20));
    let cases: Vec<(&str, Vec<u8>, i32, &str)> = vec![
        ("malformed JSONL", b"{\"type\":\"x-a\",\"payload\":{}}\n{not json\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("20 MB line", huge.into_bytes(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("array payload", b"{\"type\":\"x-a\",\"payload\":[1]}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("unnamespaced type", b"{\"type\":\"note\",\"payload\":{}}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        ("hand-written lease", b"{\"type\":\"lease_set\",\"payload\":{}}\n".to_vec(), 6, "E_INVALID_INPUT_SCHEMA"),
        (
            "bad transition after a good event",
            b"{\"type\":\"x-a\",\"payload\":{}}\n{\"type\":\"status_changed\",\"payload\":{\"from\":\"queued\",\"to\":\"completed\"}}\n".to_vec(),
            1,
            "E_INVALID_STATE_TRANSITION",
        ),
    ];
    let before = sandbox.store_contents();
    for (what, stdin, code, reason) in cases {
        let out =
            sandbox.program("wrkr-events").args(["--json", "--append", "job_h"]).write_stdin(stdin).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(support::envelope(&out.stderr)["code"], reason, "{what}");
        assert!(out.stdout.is_empty(), "{what}: nothing acknowledged");
        assert!(sandbox.store_contents() == before, "{what}: the store changed");
    }
    for argv in
        [vec!["wrkr-events", "--append", "--create", "../x"], vec!["wrkr-lease", "acquire", "a b", "--worker", "w"]]
    {
        let out = sandbox.program(argv[0]).arg("--json").args(&argv[1..]).write_stdin("").output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{argv:?}");
        assert!(sandbox.store_contents() == before, "{argv:?}: the store changed");
    }
    let out =
        sandbox.program("wrkr-events").args(["--append", "job_new"]).write_stdin(notes(0, 0, 1)).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(sandbox.store_contents() == before, "appending to a missing job created it");
}

/// Two workers race for the lease: exactly one wins. After the TTL the loser takes over with a
/// higher epoch; the old holder's fenced append and heartbeat are refused and leave no trace.
fn lease_race_takeover_and_fencing(sandbox: &Sandbox) {
    sandbox.create_job("job_l");
    let children: Vec<_> = ["w1", "w2"]
        .iter()
        .map(|w| {
            sandbox
                .command("wrkr-lease")
                .args(["--json", "acquire", "job_l", "--worker", w, "--ttl", "1"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let winners: Vec<usize> = (0..2).filter(|&i| outs[i].status.success()).collect();
    assert_eq!(winners.len(), 1, "exactly one acquire wins");
    let (win, lose) = (winners[0], 1 - winners[0]);
    let (winner, loser) = (["w1", "w2"][win], ["w1", "w2"][lose]);
    let envelope = support::envelope(&outs[lose].stderr);
    assert_eq!(envelope["code"], "E_LEASE_CONFLICT");
    assert_eq!(envelope["details"]["existing_worker_id"], winner);
    assert_eq!(support::stdout_json(&outs[win])["epoch"], 1);

    std::thread::sleep(Duration::from_millis(1100));
    let shown = support::stdout_json(&sandbox.program("wrkr-lease").args(["show", "job_l"]).output().unwrap());
    assert_eq!(shown["state"], "expired");
    let taken = support::stdout_json(
        &sandbox.program("wrkr-lease").args(["acquire", "job_l", "--worker", loser, "--ttl", "30"]).output().unwrap(),
    );
    assert_eq!((taken["epoch"].as_u64(), taken["worker_id"].as_str()), (Some(2), Some(loser)));

    let before = sandbox.store_contents();
    let fenced = sandbox
        .program("wrkr-events")
        .args(["--json", "--append", "job_l", "--epoch", "1"])
        .write_stdin("{\"type\":\"x-late\",\"payload\":{}}\n")
        .output()
        .unwrap();
    assert_eq!(fenced.status.code(), Some(1));
    let envelope = support::envelope(&fenced.stderr);
    assert_eq!(
        (envelope["code"].as_str(), envelope["details"]["current_epoch"].as_u64()),
        (Some("E_LEASE_CONFLICT"), Some(2))
    );
    let beat =
        sandbox.program("wrkr-lease").args(["--json", "heartbeat", "job_l", "--worker", winner]).output().unwrap();
    assert_eq!(support::envelope(&beat.stderr)["code"], "E_LEASE_CONFLICT");
    assert!(sandbox.store_contents() == before, "refused appends leave no trace");
    sandbox
        .program("wrkr-events")
        .args(["--append", "job_l", "--epoch", "2"])
        .write_stdin("{\"type\":\"x-ok\",\"payload\":{}}\n")
        .assert()
        .success();
    let released = support::stdout_json(
        &sandbox.program("wrkr-lease").args(["release", "job_l", "--worker", loser]).output().unwrap(),
    );
    assert_eq!(released["state"], "released");
    let types: Vec<String> = sandbox.ledger("job_l").iter().map(|r| r["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, ["job_initialized", "lease_set", "lease_set", "x-ok", "lease_released"]);
}

/// Status transitions are checked under the lock; pause, cancel and jobs see the same store.
fn transitions_pause_cancel_and_jobs(sandbox: &Sandbox) {
    sandbox.create_job("job_a");
    std::thread::sleep(Duration::from_millis(5));
    sandbox.create_job("job_b");
    // The first line is the status; the lines after it say what is next (issue 12 U4).
    sandbox
        .wrkr()
        .args(["status", "job_a"])
        .assert()
        .success()
        .stdout(predicates::str::starts_with("job_id=job_a status=queued\n"));
    sandbox.wrkr().args(["pause", "job_a"]).assert().code(1);
    sandbox
        .program("wrkr-events")
        .args(["--append", "job_a"])
        .write_stdin("{\"type\":\"status_changed\",\"payload\":{\"from\":\"queued\",\"to\":\"running\"}}\n")
        .assert()
        .success();
    sandbox.wrkr().args(["pause", "job_a"]).assert().success().stdout("job_id=job_a status=paused\n");
    assert_eq!(
        support::stdout_json(&sandbox.wrkr().args(["--json", "cancel", "job_a"]).output().unwrap())["status"],
        "canceled"
    );
    let out = sandbox.wrkr().args(["--json", "cancel", "job_a"]).output().unwrap();
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["code"], "E_INVALID_STATE_TRANSITION");
    assert_eq!(
        (envelope["details"]["from"].as_str(), envelope["details"]["to"].as_str()),
        (Some("canceled"), Some("canceled"))
    );
    let rows = support::json_lines(&sandbox.wrkr().args(["--json", "jobs"]).output().unwrap().stdout);
    let ids: Vec<&str> = rows.iter().map(|r| r["job_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["job_b", "job_a"], "newest first");
    let out = sandbox.wrkr().args(["--json", "jobs", "--status", "canceled"]).output().unwrap();
    assert_eq!(support::json_lines(&out.stdout).len(), 1);
}

/// 6 processes appending 10 batches of 20 events each to one job end with contiguous seqs,
/// each writer's events whole and in its own order.
fn concurrent_writers_give_contiguous_seqs(sandbox: &Sandbox) {
    sandbox.create_job("job_many");
    std::thread::scope(|scope| {
        for writer in 0..6 {
            scope.spawn(move || {
                for round in 0..10 {
                    let out = sandbox
                        .program("wrkr-events")
                        .args(["--append", "job_many"])
                        .env("WRKR_LOCK_TIMEOUT_MS", "60000")
                        .write_stdin(notes(writer, round * 20, 20))
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                }
            });
        }
    });
    let records = sandbox.ledger("job_many");
    assert_eq!(records.len(), 1 + 6 * 200);
    for writer in 0..6u64 {
        let is: Vec<u64> = records
            .iter()
            .filter(|r| r["payload"]["writer"] == writer)
            .map(|r| r["payload"]["i"].as_u64().unwrap())
            .collect();
        assert_eq!(is, (0..200).collect::<Vec<u64>>());
    }
}

/// A follower sees events appended after it started, in order, and stops at a terminal status.
fn follow_tails_until_terminal(sandbox: &Sandbox) {
    sandbox.program("wrkr-events").args(["--append", "--create", "f"]).write_stdin(notes(0, 1, 1)).assert().success();
    let mut child = sandbox
        .command("wrkr")
        .args(["events", "--follow", "f"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || -> Value { serde_json::from_str(&out.next().unwrap().unwrap()).unwrap() };
    assert_eq!(next()["type"], "job_initialized");
    assert_eq!(next()["payload"]["i"], 1);
    sandbox.program("wrkr-events").args(["--append", "f"]).write_stdin(notes(0, 2, 1)).assert().success();
    let third = next();
    assert_eq!((third["seq"].as_u64(), third["payload"]["i"].as_u64()), (Some(3), Some(2)));
    let started = Instant::now();
    sandbox.wrkr().args(["cancel", "f"]).assert().success();
    assert_eq!(next()["payload"]["to"], "canceled");
    assert!(child.wait().unwrap().success());
    assert!(started.elapsed() < Duration::from_secs(5), "the follower stopped by itself at the terminal status");
}

/// Export makes a pack that verifies, and `wrkr-events --records | wrkr-pack` gives the same bytes.
fn export_verifies_and_matches_the_pipeline(sandbox: &Sandbox) {
    sandbox.create_job("job_x");
    sandbox.program("wrkr-events").args(["--append", "job_x"]).write_stdin(notes(0, 0, 2)).assert().success();
    let out_dir = sandbox.work().join("out");
    sandbox.wrkr().args(["export", "job_x", "--out-dir"]).arg(&out_dir).assert().success();
    let pack = std::fs::read(out_dir.join("jobpacks/jobpack_job_x.zip")).unwrap();
    sandbox.program("wrkr-verify").arg(out_dir.join("jobpacks/jobpack_job_x.zip")).assert().success();
    let records = sandbox.program("wrkr-events").args(["--records", "job_x"]).output().unwrap();
    assert!(records.status.success(), "{}", String::from_utf8_lossy(&records.stderr));
    let mut packer = sandbox.command("wrkr-pack").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    packer.stdin.take().unwrap().write_all(&records.stdout).unwrap();
    assert!(packer.wait_with_output().unwrap().stdout == pack, "the pipeline gives the export's bytes");
}

/// The supervision commands on the store: a decision-needed checkpoint, its approval (and a second
/// approval refused), the budget view, inspect and the receipt footer.
fn supervision_commands(sandbox: &Sandbox) {
    sandbox
        .program("wrkr-events")
        .args(["--append", "--create", "job_s"])
        .write_stdin("{\"type\":\"status_changed\",\"payload\":{\"from\":\"queued\",\"to\":\"running\"}}\n")
        .assert()
        .success();
    let emit = ["--json", "checkpoint", "emit", "job_s", "--type", "decision-needed", "--summary", "merge?"];
    let cp = support::stdout_json(&sandbox.wrkr().args(emit).args(["--required-kind", "approval"]).output().unwrap());
    let cp_id = cp["checkpoint_id"].as_str().unwrap().to_owned();
    let list = support::stdout_json(&sandbox.wrkr().args(["--json", "checkpoint", "list", "job_s"]).output().unwrap());
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Without --checkpoint: the one pending decision, found through the store on either backend.
    let approval = sandbox.wrkr().args(["--json", "approve", "job_s", "--reason", "ok"]).output().unwrap();
    assert!(approval.status.success(), "{}", String::from_utf8_lossy(&approval.stderr));
    assert_eq!(support::stdout_json(&approval)["checkpoint_id"], cp_id.as_str());
    let missing = sandbox
        .wrkr()
        .args(["--json", "approve", "job_s", "--checkpoint", "cp_99", "--reason", "ok"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("E_INVALID_INPUT_SCHEMA"));
    sandbox.wrkr().args(["budget", "show", "job_s"]).assert().success();
    let inspect = sandbox.wrkr().args(["job", "inspect", "job_s"]).output().unwrap();
    let inspect = String::from_utf8_lossy(&inspect.stdout).into_owned();
    assert!(
        inspect.starts_with("job_id=job_s status=") && inspect.contains(" checkpoints=1 approvals=1\n"),
        "{inspect}"
    );
    let receipt = sandbox.wrkr().args(["receipt", "job_s"]).output().unwrap();
    assert!(String::from_utf8_lossy(&receipt.stdout).starts_with("WRKR job_id=job_s manifest=sha256:"));
}

/// What only the PostgreSQL store has: a schema, and a URL.
mod postgres_only {
    use super::*;

    /// A database without the schema is refused by every command with a hint naming the fix;
    /// `wrkr store migrate` (run twice at once: the advisory lock serialises them) creates it, and
    /// a second run applies nothing.
    #[test]
    fn unmigrated_store_is_refused_naming_the_fix() {
        let Some(sandbox) = Sandbox::postgres_unmigrated() else { return };
        for argv in [
            vec!["wrkr", "status", "job_1"],
            vec!["wrkr-events", "--append", "--create", "job_1"],
            vec!["wrkr", "jobs"],
        ] {
            let out = sandbox.program(argv[0]).arg("--json").args(&argv[1..]).write_stdin("").output().unwrap();
            assert_eq!(out.status.code(), Some(6), "{argv:?}");
            let envelope = support::envelope(&out.stderr);
            assert_eq!(envelope["code"], "E_INVALID_INPUT_SCHEMA");
            assert_eq!(envelope["details"]["schema_version"], 0);
            let hint = envelope["details"]["hint"].as_str().unwrap();
            assert!(hint.starts_with("run: wrkr store migrate --store postgres:///"), "{hint}");
        }
        let version = support::stdout_json(&sandbox.wrkr().args(["--json", "store", "version"]).output().unwrap());
        assert_eq!((version["schema_version"].as_i64(), version["required_version"].as_i64()), (Some(0), Some(2)));
        let migrations: Vec<_> = (0..2)
            .map(|_| {
                sandbox.command("wrkr").args(["--json", "store", "migrate"]).stdout(Stdio::piped()).spawn().unwrap()
            })
            .collect();
        let reports: Vec<Value> =
            migrations.into_iter().map(|c| support::stdout_json(&c.wait_with_output().unwrap())).collect();
        let applied: usize = reports.iter().map(|r| r["applied"].as_array().unwrap().len()).sum();
        assert_eq!(applied, 2, "each of the two migrations was applied by exactly one run: {reports:?}");
        let again = support::stdout_json(&sandbox.wrkr().args(["--json", "store", "migrate"]).output().unwrap());
        assert_eq!((again["from_version"].as_i64(), again["applied"].as_array().map(Vec::len)), (Some(2), Some(0)));
        sandbox.create_job("job_1");
    }

    /// TLS that cannot be verified as asked (a verify mode without a CA file) is refused before
    /// connecting, not sent unverified; a command that does not run on PostgreSQL yet says so;
    /// the password never shows.
    #[test]
    fn refusals_are_clear() {
        let sandbox = Sandbox::new();
        let out = sandbox
            .wrkr()
            .args(["--json", "status", "j", "--store", "postgres://u:secret@db.invalid/x?sslmode=verify-full"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6));
        let envelope = support::envelope(&out.stderr);
        assert!(envelope["message"].as_str().unwrap().contains("sslmode=verify-full"));
        assert_eq!(envelope["details"]["store"], "postgres://u:***@db.invalid/x?sslmode=verify-full");
        let out = sandbox
            .wrkr()
            .args(["--json", "demo"])
            .env("WRKR_STORE", "postgres://u:secret@db.invalid/x")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6));
        let envelope = support::envelope(&out.stderr);
        assert_eq!(
            envelope["message"],
            "wrkr demo does not run on a PostgreSQL store yet: it writes its sample job into a file store"
        );
        assert_eq!(envelope["details"]["command"], "wrkr demo");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("secret"));
    }

    /// A follower on PostgreSQL is woken by the append's NOTIFY: with its poll fallback set to
    /// 20 s it still sees each new record within a few seconds (the bound is for a loaded machine).
    #[test]
    fn follow_is_woken_by_notify() {
        let Some(sandbox) = Sandbox::postgres() else { return };
        sandbox.create_job("f");
        let mut child = sandbox
            .command("wrkr-events")
            .args(["--follow", "f"])
            .env("WRKR_FOLLOW_POLL_MS", "20000")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(out.next().unwrap().unwrap().contains("job_initialized"));
        // The follower reads, LISTENs, reads again and then waits: give it that moment.
        std::thread::sleep(Duration::from_millis(500));
        for i in 0..3 {
            let appended = Instant::now();
            sandbox.program("wrkr-events").args(["--append", "f"]).write_stdin(notes(0, i, 1)).assert().success();
            let line: Value = serde_json::from_str(&out.next().unwrap().unwrap()).unwrap();
            assert_eq!(line["payload"]["i"], i as u64);
            assert!(appended.elapsed() < Duration::from_secs(5), "woken after {:?}", appended.elapsed());
        }
        sandbox.wrkr().args(["cancel", "f"]).assert().success();
        assert!(child.wait().unwrap().success());
    }

    /// A job moves file -> PostgreSQL -> file by a pipe of wrkr-events, byte for byte: the same
    /// ledger, the same jobpack from each store. A second import, or a ledger with a gap, is
    /// refused (exit 6) and changes nothing.
    #[test]
    fn moving_a_job_between_stores_keeps_its_pack() {
        let Some(pg) = Sandbox::postgres() else { return };
        let file = Sandbox::new();
        file.create_job("job_m");
        file.program("wrkr-events").args(["--append", "job_m"]).write_stdin(notes(0, 0, 5)).assert().success();
        file.program("wrkr-lease").args(["acquire", "job_m", "--worker", "w"]).assert().success();
        file.wrkr().args(["cancel", "job_m"]).assert().success();
        let ledger = file.program("wrkr-events").arg("job_m").output().unwrap().stdout;

        let pack_of = |sandbox: &Sandbox| {
            let out_dir = sandbox.work().join("out");
            sandbox.wrkr().args(["export", "job_m", "--out-dir"]).arg(&out_dir).assert().success();
            std::fs::read(out_dir.join("jobpacks/jobpack_job_m.zip")).unwrap()
        };
        let original = pack_of(&file);
        let imported =
            pg.program("wrkr-events").args(["--import", "job_m"]).write_stdin(ledger.clone()).output().unwrap();
        assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
        assert_eq!(support::stdout_json(&imported)["last_seq"], 8);
        assert!(
            pg.program("wrkr-events").arg("job_m").output().unwrap().stdout == ledger,
            "the ledger moved byte for byte"
        );
        assert!(pack_of(&pg) == original, "PostgreSQL exports the file store's jobpack");
        assert_eq!(
            support::stdout_json(&pg.wrkr().args(["--json", "status", "job_m"]).output().unwrap())["status"],
            "canceled"
        );

        let back = Sandbox::new();
        let from_pg = pg.program("wrkr-events").arg("job_m").output().unwrap().stdout;
        back.program("wrkr-events").args(["--import", "job_m"]).write_stdin(from_pg).assert().success();
        assert!(back.program("wrkr-events").arg("job_m").output().unwrap().stdout == ledger);
        assert!(pack_of(&back) == original, "and back: the same jobpack");

        let text = String::from_utf8(ledger.clone()).unwrap();
        let gap: String = text.lines().filter(|l| !l.contains("\"seq\":4,")).map(|l| format!("{l}\n")).collect();
        for (sandbox, input, what) in
            [(&pg, ledger.clone(), "again"), (&back, ledger.clone(), "again"), (&pg, gap.clone().into_bytes(), "gap")]
        {
            let before = sandbox.store_contents();
            let job = if what == "gap" { "job_gap" } else { "job_m" };
            let out =
                sandbox.program("wrkr-events").args(["--json", "--import", job]).write_stdin(input).output().unwrap();
            assert_eq!(out.status.code(), Some(6), "{what}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(sandbox.store_contents() == before, "{what}: the store changed");
        }
    }
}
