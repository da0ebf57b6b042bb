use super::*;

const JOURNEY: &str = include_str!("../../../tests/fixtures/go-wrkr/journey.jobspec.yaml");

fn yaml(text: &str) -> Result<JobSpec> {
    parse(text.as_bytes(), false)
}

/// A minimal valid spec with `extra` lines appended at the top level.
fn minimal(extra: &str) -> String {
    format!(
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: dev\nname: t\nobjective: o\n\
         adapter: {{name: noop}}\n\
         budgets: {{max_wall_time_seconds: 60, max_step_count: 5, max_tool_calls: 5}}\n\
         checkpoint_policy: {{min_interval_seconds: 1}}\nenvironment_fingerprint: {{rules: []}}\n{extra}"
    )
}

#[test]
fn go_journey_fixture_loads() {
    let spec = yaml(JOURNEY).unwrap();
    assert_eq!(spec.name, "journey");
    assert_eq!(spec.adapter, AdapterKind::Reference);
    assert_eq!(spec.steps.len(), 3);
    assert_eq!(spec.steps[0].artifacts, ["reports/plan.md"]);
    assert!(spec.steps[1].decision_needed && !spec.steps[1].executed);
    assert_eq!(spec.steps[1].required_action.as_deref(), Some("approve"));
    assert_eq!(spec.budgets.max_step_count, 20);
    assert_eq!(spec.environment_rules, ["os", "arch"]);
    assert_eq!(spec.document["created_at"], "2026-02-13T00:00:00Z");
}

#[test]
fn minimal_spec_gets_go_defaults() {
    let spec = yaml(&minimal("")).unwrap();
    assert_eq!(spec.document["created_at"], "0001-01-01T00:00:00Z");
    assert_eq!(spec.document["inputs"], json!({}));
    assert_eq!(spec.document["expected_artifacts"], json!([]));
    assert_eq!(spec.document["budgets"]["max_retries"], 0);
    assert_eq!(spec.document["checkpoint_policy"]["required_types"], json!([]));
}

#[test]
fn unknown_keys_are_dropped_and_keys_match_case_insensitively() {
    let spec = yaml(&minimal("surprise: 1\nObjective_Extra: 2\n")).unwrap();
    assert!(spec.document.get("surprise").is_none());
    let spec = yaml(&minimal("").replace("name: t", "Name: t")).unwrap();
    assert_eq!(spec.name, "t");
}

#[test]
fn yes_and_no_stay_strings() {
    let spec = yaml(&minimal("inputs: {flag: yes, other: NO, on: off}\n")).unwrap();
    assert_eq!(spec.document["inputs"]["flag"], "yes");
    assert_eq!(spec.document["inputs"]["other"], "NO");
    assert_eq!(spec.document["inputs"]["on"], "off");
}

#[test]
fn rejections_exit_6_with_field_and_line() {
    let cases: Vec<(String, &str)> = vec![
        (minimal("name: again\n"), "duplicate"),
        (minimal("").replace("environment_fingerprint: {rules: []}\n", ""), "environment_fingerprint is required"),
        (minimal("").replace("{rules: []}", "{rules: null}"), "environment_fingerprint"),
        (minimal("").replace("max_step_count: 5", "max_step_count: 0"), "/budgets/max_step_count"),
        (minimal("").replace("max_step_count: 5", "max_step_count: lots"), "/budgets/max_step_count"),
        (minimal("").replace("name: noop", "name: shell"), "unsupported adapter \"shell\""),
        (minimal("").replace("name: noop", "name: reference"), "inputs.steps"),
        (minimal("inputs: {steps: []}").replace("name: noop", "name: reference"), "inputs.steps is empty"),
        (minimal("inputs: {steps: [3]}").replace("name: noop", "name: reference"), "inputs.steps[0] is not a mapping"),
        (minimal("created_at: 2026-02-13\n"), "not an RFC 3339 timestamp"),
        (minimal("").replace("{rules: []}", "{rules: [kernel]}"), "unsupported environment fingerprint rule"),
        (minimal("").replace("objective: o", &format!("objective: {}", "x".repeat(2001))), "objective is 2001 bytes"),
        ("- just\n- a list\n".to_owned(), "expected a mapping"),
        ("key: [unclosed\n".to_owned(), "invalid YAML"),
        ("a: b: c\n".to_owned(), "invalid YAML"),
    ];
    for (text, want) in cases {
        let err = yaml(&text).expect_err(want);
        assert_eq!(err.exit_code(), 6, "{want}: {err}");
        assert!(err.to_string().contains(want), "expected {want:?} in {err}");
    }
    let err = yaml(&minimal("").replace("max_step_count: 5", "max_step_count: 0")).unwrap_err();
    assert_eq!(err.details["line"], 7, "{err}");
}

#[test]
fn hostile_yaml_is_bounded() {
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(yaml(&format!("a: {deep}\n")).unwrap_err().exit_code(), 6);
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..20 {
        let prev = if i == 0 { "a".to_owned() } else { format!("l{}", i - 1) };
        bomb.push_str(&format!(
            "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    let err = yaml(&bomb).unwrap_err();
    assert_eq!(err.exit_code(), 6, "{err}");
    let big = "x".repeat((MAX_JOBSPEC_BYTES + 1) as usize);
    assert!(yaml(&big).unwrap_err().to_string().contains("limit"));
}

#[test]
fn json_specs_by_extension() {
    let spec = parse(
        br#"{"schema_id":"wrkr.jobspec","schema_version":"v1","producer_version":"dev","name":"j","objective":"o",
            "adapter":{"name":"NOOP"},"budgets":{"max_wall_time_seconds":1,"max_step_count":1,"max_tool_calls":1},
            "checkpoint_policy":{"min_interval_seconds":1},"environment_fingerprint":{"rules":["os"]}}"#,
        true,
    )
    .unwrap();
    assert_eq!(spec.adapter, AdapterKind::Noop);
    assert_eq!(parse(br#"{"name":"a","name":"b"}"#, true).unwrap_err().exit_code(), 6);
}

#[test]
fn step_defaults_follow_go() {
    let text = minimal("inputs: {steps: [{}, {id: b, command: 3, executed: maybe, artifacts: [' z ', y, 7, y]}]}\n")
        .replace("name: noop", "name: reference");
    let spec = yaml(&text).unwrap();
    assert_eq!(spec.steps[0].id, "step");
    assert_eq!(spec.steps[0].summary, "reference adapter step step");
    assert!(spec.steps[0].executed && !spec.steps[0].decision_needed);
    assert_eq!(spec.steps[1].command, "");
    assert!(spec.steps[1].executed, "a non-bool executed means true");
    assert_eq!(spec.steps[1].artifacts, ["y", "z"]);
}

#[test]
fn job_ids_normalised_like_go() {
    assert_eq!(normalize_job_id("  Foo Bar/1 "), "foo_bar_1");
    assert_eq!(normalize_job_id("..."), "job");
    assert_eq!(normalize_job_id("a..b"), "a..b");
    assert_eq!(normalize_job_id("Ünïcode name!"), "_n_code_name".trim_start_matches('_'));
    assert_eq!(infer_job_id("Refactor Auth", Timestamp::from_unix(1_770_000_000, 0)), "refactor_auth_1770000000");
}

#[test]
fn lines_are_located() {
    let text = "a: 1\nbudgets:\n  max_tool_calls: 3\n  max_step_count: 0\n";
    assert_eq!(locate_line(text, "/budgets/max_step_count"), Some(4));
    assert_eq!(locate_line(text, "/budgets"), Some(2));
    assert_eq!(locate_line(text, "/nope"), None);
}
