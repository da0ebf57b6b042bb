//! `wrkr status` answers from the snapshot cache (issue 16): the outlook facts (current step,
//! times, note, pending decisions, next commands) are folded into the job's state, so status costs
//! O(1) in ledger length instead of a replay of the whole ledger.
//!
//! Checked three ways: a property test holds the fold to the replay implementations the runner and
//! `wrkr logs` use (`run::history`, `run::attempts`); through the binary, the answer from a
//! snapshot at any point equals the answer from a full replay, and a snapshot written before the
//! fold existed is rebuilt; and status reads nothing before a proven snapshot.

mod support;

use proptest::prelude::*;
use serde_json::{Value, json};
use support::Sandbox;
use wrkr::contract::time::Timestamp;
use wrkr::job::JobState;
use wrkr::run::attempts::Attempts;
use wrkr::run::history::History;
use wrkr::run::outlook::Outlook;
use wrkr::store::{EventRecord, JobId};

fn append(sb: &Sandbox, job: &str, events: &[Value]) {
    let stdin: String = events.iter().map(|e| format!("{e}\n")).collect();
    sb.wrkr().args(["events", "--append", "--create", job]).write_stdin(stdin).assert().success();
}

/// `wrkr --json status JOB` without the fields that move with the clock (times counted up to now).
fn status(sb: &Sandbox, job: &str) -> Value {
    let out = sb.wrkr().args(["--json", "status", job]).output().unwrap();
    assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut value: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fields = value.as_object_mut().unwrap();
    fields.remove("created_at");
    fields.remove("elapsed_seconds");
    if fields["status"] == "running" {
        fields.remove("active_seconds");
        fields.remove("runner");
    }
    value
}

fn snapshot_path(sb: &Sandbox, job: &str) -> std::path::PathBuf {
    sb.home().join("jobs").join(job).join("snapshot.json")
}

fn notes(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"type": "x-note", "payload": {"n": i}})).collect()
}

/// A job that ran a step, failed one, and waits on a decision: every outlook fact is set.
fn eventful() -> Vec<Vec<Value>> {
    let steps: Vec<Value> = (0..3).map(|i| json!({"id": format!("s{i}"), "command": "true"})).collect();
    let batches = vec![
        vec![json!({"type": "x-jobspec_recorded", "payload": {"jobspec": {"inputs": {"steps": steps}}}})],
        vec![json!({"type": "status_changed", "payload": {"from": "queued", "to": "running"}})],
        vec![json!({"type": "adapter_step", "payload": {"step_id": "s0", "step_index": 0, "attempt": 1}})],
        vec![json!({"type": "x-progress", "payload": {"note": "half way"}})],
        vec![
            json!({"type": "x-step_finished", "payload": {"step_index": 0, "attempt": 1, "outcome": "succeeded", "exit_code": 0}}),
        ],
        vec![json!({"type": "adapter_step", "payload": {"step_id": "s1", "step_index": 1, "attempt": 1}})],
        vec![
            json!({"type": "x-step_finished", "payload": {"step_index": 1, "attempt": 1, "outcome": "failed", "exit_code": 3}}),
        ],
        vec![json!({"type": "checkpoint_emitted", "payload": {"type": "decision-needed", "summary": "ship it?",
                    "status": "blocked_decision", "reason_codes": ["E_CHECKPOINT_APPROVAL_REQUIRED"]}})],
        vec![json!({"type": "status_changed", "payload": {"from": "running", "to": "blocked_decision"}})],
    ];
    batches
}

// Before the fold, status replayed the whole ledger: a damaged line far before a proven snapshot
// made it fail (E_STORE_CORRUPT), which shows it read that far. Now it reads from the snapshot on.
#[test]
fn status_reads_nothing_before_a_proven_snapshot() {
    let sb = Sandbox::new();
    append(&sb, "job_long", &notes(300));
    append(&sb, "job_long", &[json!({"type": "status_changed", "payload": {"from": "queued", "to": "running"}})]);
    let before = status(&sb, "job_long");
    let snapshot: Value = serde_json::from_slice(&std::fs::read(snapshot_path(&sb, "job_long")).unwrap()).unwrap();
    assert_eq!(snapshot["last_seq"], 302, "the status change refreshed the snapshot");
    // Damage line 2 (seq 2), keeping its length: only a reader of the whole ledger can notice.
    let ledger = sb.home().join("jobs/job_long/events.jsonl");
    let bytes = std::fs::read(&ledger).unwrap();
    let first = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    let second = first + bytes[first..].iter().position(|b| *b == b'\n').unwrap();
    let mut damaged = bytes.clone();
    damaged[first..second].fill(b'x');
    std::fs::write(&ledger, &damaged).unwrap();
    assert_eq!(status(&sb, "job_long"), before);
    assert_eq!(before["status"], "running");
    assert_eq!(before["next_commands"], json!(["wrkr logs job_long --follow"]));
    // The damage is still there for the commands that read everything.
    sb.wrkr()
        .args(["events", "job_long"])
        .assert()
        .failure()
        .code(1)
        .stderr(predicates::str::contains("E_STORE_CORRUPT"));
}

// The answer with the snapshot the store left after each append equals the answer from a full
// replay (snapshot removed), at every point of an eventful job.
#[test]
fn outlook_from_the_snapshot_equals_a_full_replay() {
    let sb = Sandbox::new();
    let snapshot = snapshot_path(&sb, "job_e");
    for batch in eventful() {
        append(&sb, "job_e", &batch);
        let cached = status(&sb, "job_e");
        if snapshot.exists() {
            std::fs::remove_file(&snapshot).unwrap();
        }
        assert_eq!(status(&sb, "job_e"), cached, "after {batch:?}");
    }
    let last = status(&sb, "job_e");
    assert_eq!(last["current_step"]["step_id"], "s1");
    assert_eq!(last["current_step"]["step_total"], 3);
    assert_eq!(last["current_step"]["exit_code"], 3);
    assert_eq!(last["latest_note"]["note"], "half way");
    assert_eq!(last["pending_checkpoints"][0]["checkpoint_id"], "cp_9");
    assert_eq!(last["next_commands"][0], "wrkr approve job_e --checkpoint cp_9 --reason TEXT");
}

// A snapshot written by a wrkr before the fold has no `outlook`: it is not trusted (its facts
// would all be empty), the state is replayed, and the rebuilt snapshot carries the facts again.
#[test]
fn snapshot_without_outlook_is_rebuilt() {
    let sb = Sandbox::new();
    append(&sb, "job_o", &notes(200));
    for batch in eventful() {
        append(&sb, "job_o", &batch);
    }
    let fresh = status(&sb, "job_o");
    let path = snapshot_path(&sb, "job_o");
    let mut snapshot: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(snapshot["state"]["outlook"].is_object(), "{snapshot}");
    snapshot["state"].as_object_mut().unwrap().remove("outlook");
    std::fs::write(&path, serde_json::to_vec_pretty(&snapshot).unwrap()).unwrap();
    assert_eq!(status(&sb, "job_o"), fresh);
    let rebuilt: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(rebuilt["state"]["outlook"]["latest_attempt"].is_object(), "{rebuilt}");
    assert_eq!(status(&sb, "job_o"), fresh);
}

/// One event of a small alphabet that touches every outlook fact.
fn event() -> impl Strategy<Value = (String, Value)> {
    let status = prop_oneof![Just("running"), Just("paused"), Just("blocked_decision"), Just("blocked_error")];
    prop_oneof![
        (0u64..4, 1u64..3).prop_map(|(i, a)| (
            "adapter_step".into(),
            json!({"step_id": format!("s{i}"), "step_index": i, "attempt": a})
        )),
        (0u64..4, 1u64..3, prop_oneof![Just("succeeded"), Just("failed")], -1i64..3).prop_map(|(i, a, o, code)| {
            (
                "x-step_finished".into(),
                json!({"step_index": i, "attempt": a, "outcome": o, "exit_code": code, "duration_ms": 5}),
            )
        }),
        Just(("x-wrap_recorded".into(), json!({"argv": ["true"]}))),
        (0i64..2).prop_map(|code| ("x-wrap_finished".into(), json!({"outcome": "succeeded", "exit_code": code}))),
        "[a-z]{0,5}".prop_map(|note| ("x-progress".into(), json!({"note": note}))),
        status.prop_map(|to| ("status_changed".into(), json!({"to": to}))),
        (any::<bool>(), "[a-z]{0,5}", any::<bool>()).prop_map(|(decision, summary, action)| {
            let kind = if decision { "decision-needed" } else { "progress" };
            let mut p = json!({"type": kind, "summary": summary, "reason_codes": [summary]});
            if action {
                p["required_action"] = json!({"kind": "approve"});
            }
            ("checkpoint_emitted".into(), p)
        }),
        (1u64..40).prop_map(|k| ("approval_recorded".into(), json!({"checkpoint_id": format!("cp_{k}")}))),
        (0usize..4)
            .prop_map(|n| ("x-jobspec_recorded".into(), json!({"jobspec": {"inputs": {"steps": vec![json!({}); n]}}}))),
    ]
}

/// The events as ledger records, without an `adapter_step` that repeats an attempt older than the
/// latest (no runner writes one; the fold documents that it differs there).
fn records(events: Vec<(String, Value)>) -> Vec<EventRecord> {
    let mut seen = std::collections::BTreeSet::new();
    let mut latest = None;
    let mut out = Vec::new();
    for (event_type, payload) in events {
        let pair = match event_type.as_str() {
            "adapter_step" => Some((payload["step_index"].as_u64().unwrap(), payload["attempt"].as_u64().unwrap())),
            "x-wrap_recorded" => Some((0, 1)),
            _ => None,
        };
        if let Some(pair) = pair {
            if event_type == "adapter_step" && seen.contains(&pair) && latest != Some(pair) {
                continue;
            }
            seen.insert(pair);
            latest = Some(pair);
        }
        let seq = out.len() as u64 + 1;
        let created_at = Timestamp::from_unix(1_770_000_000 + seq as i64 * 7, 0).to_string();
        out.push(EventRecord { seq, created_at, event_type, payload: Some(payload) });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256), failure_persistence: None, ..ProptestConfig::default() })]

    // The fold in the state (what the snapshot carries) says what the replays say.
    #[test]
    fn folded_outlook_equals_the_replays(events in prop::collection::vec(event(), 0..40)) {
        let records = records(events);
        let job = JobId::parse("job_p").unwrap();
        let (mut state, mut history, mut attempts) = (JobState::new("job_p"), History::new("job_p"), Attempts::default());
        let mut pending: Vec<String> = Vec::new();
        for record in &records {
            state.apply(record).unwrap();
            history.apply(record);
            attempts.observe(record);
            let p = record.payload.as_ref().unwrap();
            match record.event_type.as_str() {
                "checkpoint_emitted" if p["type"] == "decision-needed" => pending.push(format!("cp_{}", record.seq)),
                "approval_recorded" => pending.retain(|id| *id != p["checkpoint_id"]),
                _ => {}
            }
        }
        // What the snapshot cache stores and reads back.
        let cached: JobState = serde_json::from_slice(&serde_json::to_vec_pretty(&state).unwrap()).unwrap();
        prop_assert_eq!(&cached, &state);
        let facts = &cached.outlook;
        let now = Timestamp::from_unix(1_770_001_000, 0);
        prop_assert_eq!(facts.active.seconds(now), history.wall_seconds(now));
        prop_assert_eq!(facts.step_total, attempts.step_total);
        prop_assert_eq!(&facts.latest_note, &attempts.latest_note);
        let unapproved = history.latest_decision().map(|cp| cp.id()).filter(|id| !history.is_approved(id));
        prop_assert_eq!(facts.unapproved_decision(), unapproved);
        let outlook = Outlook::of(&job, cached.clone());
        prop_assert_eq!(outlook.current(), attempts.latest());
        prop_assert_eq!(outlook.pending.iter().map(|p| p.checkpoint_id.clone()).collect::<Vec<_>>(), pending);
        prop_assert_eq!(outlook.created_at, records.first().and_then(|r| Timestamp::parse(&r.created_at)));
    }
}
