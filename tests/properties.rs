//! Property tests (issue 14 item 9): the store, the state machine, JCS, the packer and leases,
//! each against a model or an invariant, over random inputs.
//!
//! Fast by default (a few seconds for the file under `make test`); the nightly lane raises every
//! case count with `PROPTEST_CASES=N`. A failure prints the minimal input; proptest also records
//! its seed under `proptest-regressions/`, so it is replayed first on the next run.

mod support;

use std::io::Write;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use wrkr::contract::ReasonCode;
use wrkr::contract::time::Timestamp;
use wrkr::job::{NewEvent, Status, lease};
use wrkr::store::{AppendOptions, FsStore, JobId, Store};

/// Case count: `PROPTEST_CASES` when set (the nightly lane), else `default`.
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    ProptestConfig { cases: n, failure_persistence: None, ..ProptestConfig::default() }
}

fn note(n: u64) -> NewEvent {
    NewEvent::new("x-note", json!({"n": n}))
}

/// A store in a temp dir, on tmpfs when there is one: these properties are about what a reader
/// sees, not about the disk, and a thousand fsyncs on a shared disk would take most of the time.
fn store() -> (tempfile::TempDir, FsStore, JobId) {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let store = FsStore::new(dir.path().to_path_buf());
    (dir, store, JobId::parse("job_p").unwrap())
}

fn read_all(store: &FsStore, job: &JobId) -> Vec<(u64, String, Option<Value>)> {
    let mut out = Vec::new();
    store
        .read_events(job, 1, &mut |r, _| {
            out.push((r.seq, r.event_type.clone(), r.payload.clone()));
            Ok(())
        })
        .unwrap();
    out
}

proptest! {
    #![proptest_config(cases(24))]

    /// Appends in random batch sizes, with a torn tail (bytes without `\n`, as a killed writer
    /// leaves them) after some batches: a reader sees exactly the acknowledged events in order,
    /// seqs contiguous; the next append cuts the torn bytes and goes on.
    #[test]
    fn ledger_round_trip_under_batches_and_torn_tails(
        batches in prop::collection::vec((1usize..12, prop::option::of("[^\n]{1,40}")), 1..10),
    ) {
        let (dir, store, job) = store();
        let ledger = dir.path().join("jobs/job_p/events.jsonl");
        let mut expected = Vec::new();
        let mut n = 0u64;
        for (i, (size, torn)) in batches.iter().enumerate() {
            let events: Vec<NewEvent> = (0..*size).map(|_| { n += 1; note(n) }).collect();
            let done = store.append(&job, AppendOptions { create: i == 0, fence: None }, &mut |_| Ok(events.clone())).unwrap();
            expected.extend(done.records.iter().map(|r| r.seq));
            prop_assert_eq!(done.records.len(), size + usize::from(i == 0), "job_initialized comes with the first batch");
            if let Some(garbage) = torn {
                let mut f = std::fs::OpenOptions::new().append(true).open(&ledger).unwrap();
                f.write_all(garbage.as_bytes()).unwrap();
            }
            let seen = read_all(&store, &job);
            let seqs: Vec<u64> = seen.iter().map(|r| r.0).collect();
            prop_assert_eq!(&seqs, &(1..=seqs.len() as u64).collect::<Vec<_>>(), "seqs contiguous from 1");
            prop_assert_eq!(&seqs, &expected);
            let notes: Vec<u64> = seen.iter().filter(|r| r.1 == "x-note").map(|r| r.2.as_ref().unwrap()["n"].as_u64().unwrap()).collect();
            prop_assert_eq!(notes, (1..=n).collect::<Vec<_>>(), "payloads in the order appended");
            prop_assert_eq!(FsStore::new(dir.path().to_path_buf()).state(&job).unwrap().last_applied_seq, *expected.last().unwrap());
        }
    }

    /// The status machine against a model written from docs/contracts (not from status.rs): the
    /// store accepts a transition exactly when the model does; a refused one is
    /// E_INVALID_STATE_TRANSITION and changes nothing on disk.
    #[test]
    fn status_machine_matches_the_model(targets in prop::collection::vec(0usize..8, 1..24)) {
        let (dir, store, job) = store();
        store.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![])).unwrap();
        let ledger = dir.path().join("jobs/job_p/events.jsonl");
        let mut model = "queued";
        for t in targets {
            let to = Status::ALL[t];
            let before = std::fs::read(&ledger).unwrap();
            let result = store.change_status(&job, to, None);
            if model_allows(model, to.as_str()) {
                prop_assert!(result.is_ok(), "{} -> {} refused: {:?}", model, to.as_str(), result.err());
                model = to.as_str();
            } else {
                let err = result.expect_err("the model refuses it");
                prop_assert_eq!(err.code, ReasonCode::InvalidStateTransition);
                prop_assert_eq!(std::fs::read(&ledger).unwrap(), before, "a refused transition wrote nothing");
            }
            prop_assert_eq!(store.state(&job).unwrap().status.as_str(), model);
        }
    }

    /// Lease epochs under random acquire / heartbeat / release / clock jumps past the TTL, by
    /// several workers: every grant has an epoch above every epoch before it; a heartbeat keeps
    /// it; an append fenced with an older epoch is refused; never two live holders.
    #[test]
    fn lease_epochs_strictly_increase(ops in prop::collection::vec((0u8..4, 0usize..3), 1..30)) {
        let (_dir, store, job) = store();
        store.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![])).unwrap();
        let ttl = Duration::from_secs(10);
        let mut now = Timestamp::from_unix(1_800_000_000, 0);
        let mut highest = 0u64;
        let mut held: Option<(usize, u64)> = None; // model: (worker, epoch) while live
        for (op, w) in ops {
            let worker = format!("w{w}");
            match op {
                0 => {
                    let r = store.append(&job, AppendOptions::default(), &mut |s| Ok(vec![lease::plan_acquire(s, &worker, ttl, now)?]));
                    match (r, held) {
                        (Ok(done), Some((h, _))) if h != w => prop_assert!(false, "{} took a live lease of w{}: {:?}", worker, h, done.state.lease),
                        (Ok(done), _) => {
                            let epoch = done.state.lease_epoch;
                            prop_assert!(epoch > highest, "grant epoch {} not above {}", epoch, highest);
                            highest = epoch;
                            held = Some((w, epoch));
                        }
                        (Err(e), Some((h, _))) if h != w => prop_assert_eq!(e.code, ReasonCode::LeaseConflict),
                        (Err(e), _) => prop_assert!(false, "acquire refused without a live holder: {}", e.message),
                    }
                }
                1 => {
                    let epoch = held.filter(|(h, _)| *h == w).map(|(_, e)| e);
                    let r = store.append(&job, AppendOptions::default(), &mut |s| Ok(vec![lease::plan_heartbeat(s, &worker, epoch.or(Some(highest)), ttl, now)?]));
                    if let Ok(done) = r {
                        prop_assert_eq!(done.state.lease_epoch, highest, "a heartbeat keeps the epoch");
                        held = Some((w, highest));
                    }
                }
                2 => {
                    let r = store.append(&job, AppendOptions::default(), &mut |s| Ok(lease::plan_release(s, &worker, None)?.into_iter().collect()));
                    if r.is_ok() && held.is_some_and(|(h, _)| h == w) {
                        held = None;
                    }
                }
                _ => {
                    now = now.plus(ttl + Duration::from_secs(1)); // every lease lapses
                    held = None;
                }
            }
            if highest > 1 {
                let stale = store.append(&job, AppendOptions { create: false, fence: Some(highest - 1) }, &mut |_| Ok(vec![note(0)]));
                prop_assert_eq!(stale.map(|_| ()).unwrap_err().code, ReasonCode::LeaseConflict, "older epoch fenced out");
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(512))]

    /// JCS is idempotent: canonical bytes, parsed and canonicalized again, are the same bytes.
    #[test]
    fn jcs_is_idempotent(v in json_value()) {
        let once = wrkr::jcs::value_to_vec(&v);
        let reparsed: Value = serde_json::from_slice(&once).unwrap();
        prop_assert_eq!(wrkr::jcs::value_to_vec(&reparsed), once);
    }
}

fn model_allows(from: &str, to: &str) -> bool {
    // docs/contracts: queued -> running | canceled; running -> any blocked, paused, completed,
    // canceled; paused and blocked_{decision,budget} -> running, blocked_error, canceled;
    // blocked_error -> running, canceled; completed and canceled are final.
    let allowed: &[&str] = match from {
        "queued" => &["running", "canceled"],
        "running" => &["paused", "blocked_decision", "blocked_budget", "blocked_error", "completed", "canceled"],
        "paused" | "blocked_decision" | "blocked_budget" => &["running", "blocked_error", "canceled"],
        "blocked_error" => &["running", "canceled"],
        _ => &[],
    };
    allowed.contains(&to)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        "\\PC{0,10}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The packer does not depend on record order (wrkr-pack's contract): the records of a real job,
/// shuffled, give the same pack bytes. Through the binary, so it is a few cases, not hundreds.
#[test]
fn pack_bytes_do_not_depend_on_record_order() {
    let sb = support::Sandbox::new();
    support::journey::create(&sb, &sb.work().join("ws"));
    let records = sb.program("wrkr-events").args(["--records", support::journey::JOB]).output().unwrap();
    assert!(records.status.success());
    let lines: Vec<&[u8]> = records.stdout.split_inclusive(|b| *b == b'\n').collect();
    assert!(lines.len() > 10);
    let pack = |input: Vec<u8>| {
        let out = sb.program("wrkr-pack").write_stdin(input).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let reference = pack(records.stdout.clone());
    let mut runner = proptest::test_runner::TestRunner::new(cases(6));
    runner
        .run(&Just(lines.clone()).prop_shuffle(), |shuffled| {
            prop_assert!(pack(shuffled.concat()) == reference, "shuffled records gave other bytes");
            Ok(())
        })
        .unwrap();
}
