use serde_json::json;

use super::*;
use crate::job::projection::{LedgerEvent, Projection};

/// A ledger event: seq, `created_at`, type, payload.
type LedgerLine<'a> = (u64, &'a str, &'a str, Value);

/// A job's `wrkr.job` and `wrkr.artifacts_manifest` records (the spill tests use them too).
pub(super) fn job_records(job: &str) -> [Value; 2] {
    let env = |id: &str| json!({"schema_id": id, "schema_version": "v1", "created_at": "2026-02-13T18:00:09Z", "producer_version": "dev", "job_id": job});
    let mut job_record = env("wrkr.job");
    job_record["name"] = json!(job);
    job_record["status"] = json!("completed");
    job_record["budgets"] = json!({"retry_count": 0, "step_count": 1, "tool_call_count": 0});
    let mut artifacts = env("wrkr.artifacts_manifest");
    artifacts["capture_mode"] = json!("reference-only");
    artifacts["artifacts"] = json!([]);
    [job_record, artifacts]
}

/// Feed the same ledger events through `add_event` (export's path) and through `add_record` of
/// the built record (the pipe's path); both must end the same way, to the byte or to the error.
fn both_ways(job: &str, events: &[LedgerLine<'_>]) -> [std::result::Result<Vec<u8>, String>; 2] {
    let run = |fast: bool| {
        let mut packer = Packer::new().unwrap();
        let mut projection = Projection::new(job);
        let mut line = Vec::new();
        let result = (|| {
            for record in job_records("job_a") {
                packer.add_record(&record)?;
            }
            for (seq, at, ty, payload) in events {
                let view = projection.project(&LedgerEvent {
                    seq: *seq,
                    created_at: at,
                    event_type: ty,
                    payload: Some(payload),
                });
                if fast {
                    packer.add_event(&view.event, job, &mut line)?;
                } else {
                    packer.add_record(&view.event.to_value(job))?;
                }
            }
            let mut out = Vec::new();
            packer.finish(&mut out)?;
            Ok(out)
        })();
        result.map_err(|e: Error| format!("{:?}: {} {:?}", e.code, e.message, e.details))
    };
    [run(true), run(false)]
}

#[test]
fn add_event_matches_add_record() {
    let ok = |seq| (seq, "2026-02-13T18:00:01.5Z", "x-step", json!({"b": [1, 2.5], "a": "é\n"}));
    let cases: Vec<(&str, Vec<LedgerLine<'_>>)> = vec![
        ("job_a", vec![ok(1), ok(2), (3, "2026-02-13T18:00:00Z", "status_changed", json!(null))]),
        ("job_b", vec![ok(1)]),
        ("job_a", vec![ok(1), ok(1)]),
        ("job_a", vec![ok(2), ok(1)]),
        ("job_a", vec![ok(1), (2, "yesterday", "x-step", json!({}))]),
        ("job_a", vec![ok(1), (2, "2026-02-13T18:00:00Z", "", json!({}))]),
        ("", vec![ok(1)]),
    ];
    for (job, events) in cases {
        let [fast, slow] = both_ways(job, &events);
        assert_eq!(fast, slow, "job {job:?}, events {events:?}");
    }
    let [first, _] = both_ways("job_a", &[ok(1), ok(2)]);
    assert!(first.is_ok());
}
