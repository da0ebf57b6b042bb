//! The work item a blocked or decision-needed checkpoint becomes in an issue tracker
//! (`wrkr.work_item`), and its GitHub and Jira markdown templates (digest 10.1).
//!
//! Deterministic: `created_at` is the checkpoint's, lists are trimmed, deduplicated and sorted, and
//! the next commands are fixed text. Only `blocked` and `decision-needed` checkpoints make work items.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::contract::{Error, PRODUCER_VERSION, Result, SCHEMA_VERSION};

/// The payload for `checkpoint` (a `wrkr.checkpoint` record) of `job_id`.
pub fn work_item(job_id: &str, checkpoint: &Value) -> Result<Value> {
    let text = |k: &str| checkpoint.get(k).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    let kind = text("type");
    if kind != "blocked" && kind != "decision-needed" {
        return Err(Error::invalid_input(format!("checkpoint type {kind:?} does not make a work item"))
            .with("type", kind.as_str())
            .with_hint("only blocked and decision-needed checkpoints do"));
    }
    let cp = text("checkpoint_id");
    let action = |k: &str| {
        checkpoint
            .pointer(&format!("/required_action/{k}"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let required_action = action("kind")
        .or_else(|| action("instructions"))
        .unwrap_or(if kind == "decision-needed" { "approval" } else { "resume" })
        .to_owned();
    let list = |ptrs: &[&str]| -> Vec<String> {
        let set: BTreeSet<String> = ptrs
            .iter()
            .filter_map(|p| checkpoint.pointer(p).and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        set.into_iter().collect()
    };
    let mut next = Vec::new();
    if kind == "decision-needed" {
        next.push(format!("wrkr approve {job_id} --checkpoint {cp} --reason \"approved\""));
    }
    next.extend([
        format!("wrkr resume {job_id}"),
        format!("wrkr export {job_id}"),
        format!("wrkr accept run {job_id} --json"),
    ]);
    let mut payload = json!({
        "schema_id": "wrkr.work_item",
        "schema_version": SCHEMA_VERSION,
        "created_at": text("created_at"),
        "producer_version": PRODUCER_VERSION,
        "job_id": job_id,
        "checkpoint_id": cp,
        "checkpoint_type": kind,
        "required_action": required_action,
        "reason_codes": list(&["/reason_codes"]),
        "next_commands": next,
    });
    let pointers = list(&["/artifacts_delta/added", "/artifacts_delta/changed", "/artifacts_delta/removed"]);
    if !pointers.is_empty() {
        payload["artifact_pointers"] = json!(pointers);
    }
    Ok(payload)
}

/// The markdown for a template (`github` or `jira`; case-insensitive), with a trailing newline.
/// Beyond Go's layout it carries the checkpoint's summary and instructions (the payload schema is
/// closed, so they live only here), and leaves out `Reason codes:` when there are none.
pub fn template(payload: &Value, checkpoint: &Value, template: &str) -> String {
    let text = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default();
    let strings = |k: &str| -> Vec<&str> {
        payload
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let mut commands: String = strings("next_commands").iter().map(|c| format!("- {c}\n")).collect();
    if commands.is_empty() {
        commands = "- (none)\n".to_owned();
    }
    let mut details = String::new();
    for (label, pointer) in [("Checkpoint summary", "/summary"), ("Instructions", "/required_action/instructions")] {
        if let Some(value) =
            checkpoint.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty())
        {
            details.push_str(&format!("{label}: {value}\n\n"));
        }
    }
    let codes = strings("reason_codes").join(", ");
    if !codes.is_empty() {
        details.push_str(&format!("Reason codes: {codes}\n\n"));
    }
    let (job, cp, kind, action) =
        (text("job_id"), text("checkpoint_id"), text("checkpoint_type"), text("required_action"));
    let body = if template.eq_ignore_ascii_case("jira") {
        format!("# JIRA Work Item\n\nSummary: `{job}/{cp}` requires `{action}`\n\n{details}Next commands:\n{commands}")
    } else {
        format!(
            "# GitHub Work Item\n\nJob `{job}` checkpoint `{cp}` (`{kind}`) requires `{action}`.\n\n{details}Next commands:\n{commands}"
        )
    };
    format!("{}\n", body.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Go fixture: `bridge work-item job_j --checkpoint cp_11 --dry-run`.
    #[test]
    fn matches_the_go_fixture_payload() {
        let go: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/go-wrkr/bridge_work_item_dry_run.json")).unwrap();
        let cp = json!({"checkpoint_id": "cp_11", "created_at": "2026-11-24T01:47:13.409670973Z", "type": "decision-needed",
            "summary": "manager approval", "required_action": {"kind": "approve", "instructions": "review and approve step review"},
            "reason_codes": [], "artifacts_delta": {"added": [], "changed": [], "removed": []}});
        let ours = work_item("job_j", &cp).unwrap();
        let mut expected = go["payload"].clone();
        expected["producer_version"] = json!(PRODUCER_VERSION);
        assert_eq!(ours, expected);
        assert!(crate::contract::schema::find("wrkr.work_item").unwrap().violations(&ours).is_empty());
    }

    #[test]
    fn templates_and_rules() {
        let cp = json!({"checkpoint_id": "cp_7", "created_at": "2026-02-13T18:00:00Z", "type": "blocked",
            "reason_codes": ["E_BUDGET_EXCEEDED", " E_BUDGET_EXCEEDED"], "artifacts_delta": {"added": ["b", "a"], "changed": [], "removed": ["a"]}});
        let p = work_item("j", &cp).unwrap();
        assert_eq!(p["required_action"], "resume");
        assert_eq!(p["reason_codes"], json!(["E_BUDGET_EXCEEDED"]));
        assert_eq!(p["artifact_pointers"], json!(["a", "b"]));
        assert_eq!(
            template(&p, &cp, "JIRA"),
            "# JIRA Work Item\n\nSummary: `j/cp_7` requires `resume`\n\nReason codes: E_BUDGET_EXCEEDED\n\nNext commands:\n- wrkr resume j\n- wrkr export j\n- wrkr accept run j --json\n"
        );
        assert!(
            template(&p, &cp, "github")
                .starts_with("# GitHub Work Item\n\nJob `j` checkpoint `cp_7` (`blocked`) requires `resume`.")
        );
        let decision = json!({"checkpoint_id": "cp_2", "type": "decision-needed", "summary": "ship it?",
            "required_action": {"kind": "approve", "instructions": "read the plan"}, "reason_codes": []});
        let md = template(&work_item("j", &decision).unwrap(), &decision, "github");
        assert!(
            md.contains("\n\nCheckpoint summary: ship it?\n\nInstructions: read the plan\n\nNext commands:"),
            "{md}"
        );
        assert!(!md.contains("Reason codes:"), "no empty reason codes line: {md}");
        let progress = json!({"checkpoint_id": "cp_1", "type": "progress"});
        assert_eq!(work_item("j", &progress).unwrap_err().exit_code(), 6);
    }
}
