use super::*;
use crate::contract::schema;

fn cp(id: &str, at: &str, ty: &str, summary: &str, added: &[&str]) -> Value {
    json!({"checkpoint_id": id, "created_at": at, "type": ty, "summary": summary,
           "artifacts_delta": {"added": added, "changed": [], "removed": []}})
}

fn view() -> PackView {
    PackView {
        created_at: Some("2026-11-24T01:47:18Z".into()),
        job: json!({"job_id": "job_j", "status": "completed", "created_at": "2026-11-24T01:47:17Z"}),
        checkpoints: vec![
            cp("cp_4", "2026-11-24T01:47:13Z", "plan", "plan it", &[]),
            cp("cp_8", "2026-11-24T01:47:14Z", "progress", "write plan", &["reports/plan.md"]),
            cp("cp_11", "2026-11-24T01:47:15Z", "decision-needed", "manager approval", &[]),
            cp(
                "cp_20",
                "2026-11-24T01:47:16Z",
                "completed",
                "reference adapter completed",
                &["reports/result.md", " "],
            ),
        ],
        approvals: vec![
            json!({"checkpoint_id": "cp_11", "approved_by": "ana", "created_at": "2026-11-24T01:47:15.5Z", "reason": "looks | right"}),
        ],
        accept: None,
        checks: vec![],
        artifacts: vec![("reports/plan.md".into(), "ab".repeat(32))],
        budgets: vec![BudgetRow { name: "steps", used: "3".into(), limit: "20".into() }],
    }
}

#[test]
fn not_run_is_not_passed() {
    let s = summary(&view());
    assert!(schema::find("wrkr.github_summary").unwrap().violations(&s).is_empty());
    let md = s["markdown"].as_str().unwrap();
    assert!(md.contains("- Acceptance: `not run`"), "{md}");
    assert_eq!(s["acceptance"], json!({"checks_run": 0, "checks_passed": 0, "failed": false}));
    assert_eq!(s["artifact_delta"], json!({"added": 2, "changed": 0, "removed": 0}));
    assert_eq!(s["created_at"], "2026-11-24T01:47:18Z");
    assert!(md.contains("## Final Checkpoint\n\nreference adapter completed\n"));
    assert!(md.contains("- `cp_11` manager approval: approved by `ana` at 2026-11-24T01:47:15.5Z: looks \\| right"));
    assert!(md.contains("| `reports/plan.md` | `abababababababab` |"));
    assert!(md.contains("| steps | 3 | 20 |"));
    assert_eq!(summary(&view()), s, "byte-stable");
}

#[test]
fn failures_and_checks_table() {
    let mut v = view();
    v.accept = Some(json!({"checks_run": 3, "checks_passed": 1, "failures": [
        {"check": "required_artifacts", "message": "missing", "artifact": "reports/x.md"},
        {"check": "test_command", "message": "command failed (exit=1): boom"}]}));
    v.checks = vec![
        CheckRow { name: "schema_validity".into(), status: "passed".into(), message: String::new() },
        CheckRow { name: "required_artifacts".into(), status: "failed".into(), message: "missing".into() },
        CheckRow { name: "lint_command".into(), status: "skipped".into(), message: "not configured".into() },
    ];
    let s = summary(&v);
    let md = s["markdown"].as_str().unwrap();
    assert!(md.contains("- Acceptance: `failed` (1/3 checks)"));
    assert!(md.contains("| `lint_command` | ⏭️ skipped | not configured |"));
    assert!(md.contains("- `required_artifacts`: missing (`reports/x.md`)"));
    assert_eq!(s["acceptance"]["failed"], true);
}

#[test]
fn huge_markdown_is_cut_under_the_limit() {
    let mut v = view();
    v.checks = (0..40_000)
        .map(|i| CheckRow { name: format!("check_{i}"), status: "failed".into(), message: "x".repeat(40) })
        .collect();
    let md = markdown(&v);
    assert!(md.len() <= MAX_MARKDOWN_BYTES + 200, "{}", md.len());
    assert!(md.ends_with("see the jobpack for everything)_"));
}
