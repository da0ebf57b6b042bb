use super::*;
use crate::contract::schema;

fn ev<'a>(seq: u64, t: &'a str, ty: &'a str, payload: &'a Value) -> LedgerEvent<'a> {
    LedgerEvent { seq, created_at: t, event_type: ty, payload: Some(payload) }
}

fn checkpoint_payload(ty: &str, added: &[&str]) -> Value {
    json!({
        "artifacts_delta": {"added": added, "changed": [], "removed": ["gone.txt"]},
        "budget_state": {"wall_time_seconds": 1, "retry_count": 0, "step_count": 1, "tool_call_count": 1},
        "reason_codes": [], "required_action": null, "status": "running", "summary": "did a thing", "type": ty
    })
}

#[test]
fn records_are_schema_valid_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("reports")).unwrap();
    std::fs::write(dir.path().join("reports/plan.md"), "plan\n").unwrap();
    let init = json!({"started_at": "2026-02-13T18:00:00Z", "status": "queued"});
    let running = json!({"from": "queued", "to": "running"});
    let cp = checkpoint_payload("progress", &["reports/plan.md", "reports/missing.md", "../escape"]);
    let counters = json!({"retry_count": 0, "step_count": 1, "tool_call_count": 1});
    let approval = json!({"schema_id": "wrkr.approval_record", "schema_version": "v1", "created_at": "2026-02-13T18:00:03Z",
        "producer_version": "dev", "job_id": "job_x", "checkpoint_id": "cp_3", "reason": "ok", "approved_by": "ana"});
    let scalar = json!(7);
    let run = || {
        let mut p = Projection::new("job_x");
        let mut out = Vec::new();
        for e in [
            ev(1, "2026-02-13T18:00:00Z", "job_initialized", &init),
            ev(2, "2026-02-13T18:00:01Z", "status_changed", &running),
            ev(3, "2026-02-13T18:00:02.5Z", "checkpoint_emitted", &cp),
            ev(4, "2026-02-13T18:00:02.6Z", "counters_updated", &counters),
            ev(5, "2026-02-13T18:00:03Z", "approval_recorded", &approval),
            ev(6, "2026-02-13T18:00:04Z", "x-odd", &scalar),
        ] {
            let r = p.event(&e);
            out.push(r.event);
            out.extend(r.checkpoint);
            out.extend(r.approval);
        }
        let f = p.finish(Some(dir.path()));
        out.push(f.job);
        out.push(f.artifacts_manifest);
        (out, f.missing)
    };
    let (records, missing) = run();
    assert_eq!(run().0, records, "same ledger, same records");
    for r in &records {
        let s = schema::for_instance(r).unwrap();
        assert!(s.violations(r).is_empty(), "{r}: {:?}", s.violations(r));
    }
    let job = records.iter().find(|r| r["schema_id"] == "wrkr.job").unwrap();
    assert_eq!(job["created_at"], "2026-02-13T18:00:04Z");
    assert_eq!(job["status"], "running");
    assert_eq!(job["budgets"], json!({"retry_count": 0, "step_count": 1, "tool_call_count": 1}));
    let cp = records.iter().find(|r| r["schema_id"] == "wrkr.checkpoint").unwrap();
    assert_eq!(cp["checkpoint_id"], "cp_3");
    assert!(cp.get("required_action").is_none(), "null required_action is omitted");
    let odd = records.iter().find(|r| r["type"] == "x-odd").unwrap();
    assert_eq!(odd["payload"], json!({"value": 7}));
    let manifest = records.iter().find(|r| r["schema_id"] == "wrkr.artifacts_manifest").unwrap();
    let arts = manifest["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 3);
    let plan = arts.iter().find(|a| a["path"] == "reports/plan.md").unwrap();
    assert_eq!(plan["sha256"], digest::sha256_hex(b"plan\n"), "a real content hash");
    assert_eq!(missing, ["../escape", "reports/missing.md"]);
    let escape = arts.iter().find(|a| a["path"] == "../escape").unwrap();
    assert_eq!(escape["sha256"], digest::sha256_hex(b"reference:../escape"));
}

#[test]
fn executed_flag_follows_go() {
    let mut p = Projection::new("j");
    let not_run = json!({"executed": false, "step_id": "review"});
    let odd = json!({"executed": "no"});
    assert_eq!(p.event(&ev(1, "2026-02-13T18:00:00Z", "adapter_step", &not_run)).event["executed"], false);
    assert_eq!(p.event(&ev(2, "2026-02-13T18:00:00Z", "adapter_step", &odd)).event["executed"], true);
    let e = p.event(&LedgerEvent {
        seq: 3,
        created_at: "2026-02-13T18:00:00Z",
        event_type: "lease_released",
        payload: None,
    });
    assert_eq!(e.event["payload"], json!({}));
}

/// A hash recorded at step end (`artifact_hashes`) is what the manifest says, with or without the
/// workspace; `null` (not a file when the step ended) falls back to the workspace; raw capture
/// hashes what it packs, the workspace's file.
#[test]
fn recorded_hashes_win_over_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "now\n").unwrap();
    std::fs::write(dir.path().join("b.txt"), "b\n").unwrap();
    let recorded = digest::sha256_hex(b"then\n");
    let cp = checkpoint_payload("progress", &["a.txt", "b.txt", "c.txt"]);
    let finished =
        json!({"step_id": "s", "artifact_hashes": {"a.txt": recorded, "b.txt": null, "c.txt": "not-a-hash"}});
    let manifest = |workspace: Option<&Path>, capture| {
        let mut p = Projection::new("j");
        p.event(&ev(1, "2026-02-13T18:00:00Z", "checkpoint_emitted", &cp));
        p.event(&ev(2, "2026-02-13T18:00:01Z", STEP_FINISHED, &finished));
        let f = p.finish_with(workspace, capture);
        let hashes: Vec<String> = f.artifacts_manifest["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["sha256"].as_str().unwrap().to_owned())
            .collect();
        (hashes, f.missing)
    };
    let (with, missing) = manifest(Some(dir.path()), Capture::ReferenceOnly);
    assert_eq!(with, [recorded.clone(), digest::sha256_hex(b"b\n"), digest::sha256_hex(b"reference:c.txt")]);
    assert_eq!(missing, ["c.txt"]);
    let (without, missing) = manifest(None, Capture::ReferenceOnly);
    assert_eq!(without[0], recorded, "no workspace: the recorded hash");
    assert_eq!(missing, ["b.txt", "c.txt"]);
    let (raw, _) = manifest(Some(dir.path()), Capture::Raw);
    assert_eq!(raw[0], digest::sha256_hex(b"now\n"), "raw capture hashes the bytes it packs");
}

/// Export writes each `wrkr.event` from an [`EventView`] without building the record; its bytes
/// must be the canonical bytes of the record `wrkr-events --records` prints, and schema-valid.
#[test]
fn canonical_event_bytes_are_the_records_jcs() {
    let payloads = [
        json!({"b": 1, "a": {"y": [1.5, -0.0, 1e21], "x": null}, "executed": false, "\u{20ac}": "€", "\u{1f600}": "😀"}),
        json!({"executed": "not a bool", "note": "quote \" backslash \\ newline \n tab \t \u{1}"}),
        json!({}),
        json!(null),
        json!(7),
        json!(["a", "list"]),
        json!("text"),
    ];
    let schema = schema::find("wrkr.event").unwrap();
    let mut p = Projection::new("job.x-1");
    for (i, payload) in payloads.iter().enumerate() {
        for (created_at, ty) in
            [("2026-02-13T18:00:00Z", "x-odd \"type\""), ("2026-02-13T18:00:00.123456789Z", "status_changed")]
        {
            let view = p.project(&ev(i as u64 + 1, created_at, ty, payload));
            let value = view.event.to_value("job.x-1");
            assert_eq!(view.event.to_value("job.x-1"), p.event(&ev(i as u64 + 1, created_at, ty, payload)).event);
            schema.check(&value, "event").unwrap();
            let mut bytes = b"kept".to_vec();
            view.event.write_canonical("job.x-1", &mut bytes);
            assert_eq!(
                String::from_utf8_lossy(&bytes[4..]),
                String::from_utf8_lossy(&crate::jcs::value_to_vec(&value))
            );
        }
    }
    let missing =
        p.project(&LedgerEvent { seq: 9, created_at: "2026-02-13T18:00:00Z", event_type: "t", payload: None });
    let mut bytes = Vec::new();
    missing.event.write_canonical("j", &mut bytes);
    assert_eq!(bytes, crate::jcs::value_to_vec(&missing.event.to_value("j")));
}

/// `project_line` (export's fast path) leaves the projection as `project` does, for every event
/// type the projection reads, with payloads of odd shapes: same job record, same artifacts.
#[test]
fn line_projection_is_the_value_projection() {
    use crate::json::scan::Scan;
    let hash = "ab".repeat(32);
    let events: Vec<(&str, String)> = vec![
        ("job_initialized", r#"{"status":"queued"}"#.into()),
        ("status_changed", r#"{"to":"running"}"#.into()),
        ("counters_updated", r#"{"retry_count":1,"step_count":2.0,"tool_call_count":-3}"#.into()),
        (
            STEP_FINISHED,
            format!(r#"{{"artifact_hashes":{{"a.md":"{hash}","b.md":"nope","c.md":null,"d/e.md":"{hash}"}}}}"#),
        ),
        (
            "checkpoint_emitted",
            r#"{"artifacts_delta":{"added":["a.md","b.md",3," ",""],"changed":["d\/e.md"],"removed":["z.md"]}}"#.into(),
        ),
        ("checkpoint_emitted", r#"{"artifacts_delta":{"added":"x.md","changed":["f.md"]}}"#.into()),
        ("checkpoint_emitted", r#"{"artifacts_delta":["y.md"]}"#.into()),
        (WRAP_FINISHED, format!(r#"{{"artifact_hashes":{{"f.md":"{hash}"}}}}"#)),
        ("x-other", r#"{"to":"paused"}"#.into()),
        ("status_changed", r#""paused""#.into()),
        ("counters_updated", r#"[1]"#.into()),
    ];
    let (mut by_value, mut by_line) = (Projection::new("job_x"), Projection::new("job_x"));
    let mut scan = Scan::new();
    for (seq, (ty, payload)) in (1..).zip(&events) {
        let at = format!("2026-02-13T18:00:{seq:02}Z");
        let value = crate::json::parse(payload.as_bytes()).unwrap();
        by_value.project(&LedgerEvent { seq, created_at: &at, event_type: ty, payload: Some(&value) });
        scan.parse(payload.as_bytes()).unwrap();
        by_line.project_line(&at, ty, scan.root(payload.as_bytes()));
    }
    let (a, b) = (by_value.finish(None), by_line.finish(None));
    assert_eq!(a.job, b.job);
    assert_eq!(a.artifacts_manifest, b.artifacts_manifest);
    assert_eq!(a.missing, b.missing);
    assert!(a.artifacts_manifest["artifacts"].as_array().unwrap().len() == 4, "{}", a.artifacts_manifest);
}
