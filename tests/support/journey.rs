//! A small job built through the real binary (`wrkr-events --append --create`) with hand-written,
//! Go-shaped events: plan → progress (adds reports/plan.md) → decision-needed (cp_8) → approval →
//! progress (adds reports/result.md) → completed. Its workspace is a temp dir recorded in an
//! `x-jobspec_recorded` event, with budget limits of 10 steps and 10 tool calls.

use std::path::Path;

use serde_json::{Value, json};

use super::Sandbox;

pub const JOB: &str = "job_a";

fn checkpoint(
    kind: &str,
    status: &str,
    summary: &str,
    added: &[&str],
    steps: u64,
    action: Value,
    codes: &[&str],
) -> Value {
    json!({"type": "checkpoint_emitted", "payload": {
        "artifacts_delta": {"added": added, "changed": [], "removed": []},
        "budget_state": {"retry_count": 0, "step_count": steps, "tool_call_count": steps, "wall_time_seconds": 0},
        "reason_codes": codes, "required_action": action, "status": status, "summary": summary, "type": kind}})
}

fn status(from: &str, to: &str) -> Value {
    json!({"type": "status_changed", "payload": {"from": from, "to": to}})
}

fn counters(steps: u64) -> Value {
    json!({"type": "counters_updated", "payload": {"retry_count": 0, "step_count": steps, "tool_call_count": steps}})
}

/// Create the job in the sandbox's store, with its workspace at `workspace` (files written).
pub fn create(sb: &Sandbox, workspace: &Path) {
    append(sb, workspace, usize::MAX);
}

/// The same job, stopped at its undecided decision checkpoint (cp_8).
pub fn create_until_decision(sb: &Sandbox, workspace: &Path) {
    append(sb, workspace, 7);
}

/// The first `count` records of the journey.
fn append(sb: &Sandbox, workspace: &Path, count: usize) {
    std::fs::create_dir_all(workspace.join("reports")).unwrap();
    std::fs::write(workspace.join("reports/plan.md"), "the plan\n").unwrap();
    std::fs::write(workspace.join("reports/result.md"), "the result\n").unwrap();
    let events = [
        json!({"type": "x-jobspec_recorded", "payload": {"spec_path": "jobspec.yaml",
            "workspace": workspace.display().to_string(),
            "jobspec": {"name": "journey", "budgets": {"max_wall_time_seconds": 3600, "max_retries": 0,
                "max_step_count": 10, "max_tool_calls": 10}}}}),
        status("queued", "running"),
        checkpoint("plan", "running", "the plan", &[], 0, Value::Null, &[]),
        counters(1),
        checkpoint("progress", "running", "write plan", &["reports/plan.md"], 1, Value::Null, &[]),
        status("running", "blocked_decision"),
        checkpoint(
            "decision-needed",
            "blocked_decision",
            "approve the plan",
            &[],
            1,
            json!({"kind": "approve", "instructions": "review the plan"}),
            &["E_CHECKPOINT_APPROVAL_REQUIRED"],
        ),
        json!({"type": "approval_recorded", "payload": {"schema_id": "wrkr.approval_record", "schema_version": "v1",
            "created_at": "2026-02-13T18:00:05Z", "producer_version": "dev", "job_id": JOB, "checkpoint_id": "cp_8",
            "approved_by": "alice", "reason": "plan is sound"}}),
        status("blocked_decision", "running"),
        counters(2),
        checkpoint("progress", "running", "write result", &["reports/result.md"], 2, Value::Null, &[]),
        status("running", "completed"),
        checkpoint("completed", "completed", "done", &[], 2, Value::Null, &[]),
    ];
    let stdin: String = events.iter().take(count).map(|e| format!("{e}\n")).collect();
    sb.program("wrkr-events").args(["--append", "--create", JOB]).write_stdin(stdin).assert().success();
}
