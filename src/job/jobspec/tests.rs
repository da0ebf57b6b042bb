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
    assert_eq!(spec.steps.get(0).unwrap().artifacts, ["reports/plan.md"]);
    assert!(spec.steps.get(1).unwrap().decision_needed && !spec.steps.get(1).unwrap().executed);
    assert_eq!(spec.steps.get(1).unwrap().required_action.as_deref(), Some("approve"));
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

/// Go dropped unknown keys: `max_tokns` silently removed the token budget, `comand` made a step do
/// nothing. Now each is a finding with the key it probably meant, all in one error.
#[test]
fn unknown_keys_are_findings_with_suggestions() {
    let text = minimal(
        "inputs: {steps: [{id: a, comand: 'true'}]}
x-owner: me
",
    )
    .replace("name: noop", "name: reference")
    .replace("max_tool_calls: 5", "max_tool_calls: 5, max_tokns: 9");
    let findings = check(text.as_bytes(), false).unwrap_err().0;
    let got: Vec<(&str, Option<&str>, Option<usize>)> =
        findings.iter().map(|f| (f.pointer.as_str(), f.suggestion.as_deref(), f.line)).collect();
    assert_eq!(
        got,
        [("/budgets/max_tokns", Some("max_tokens"), Some(7)), ("/inputs/steps/0/comand", Some("command"), Some(10))]
    );
    assert_eq!(findings[0].column, Some(76));
    let err = yaml(&text).unwrap_err();
    assert_eq!(err.exit_code(), 6);
    assert!(err.message.starts_with("2 problems in jobspec jobspec:"), "{err}");
    assert!(err.message.contains("did you mean \"max_tokens\"?"), "{err}");
    assert_eq!(err.details["findings"].as_array().map(Vec::len), Some(2));
}

#[test]
fn keys_are_exact_and_x_keys_are_free() {
    let err = yaml(&minimal("").replace("name: t", "Name: t")).unwrap_err();
    assert_eq!(err.details["findings"].as_array().map(Vec::len), Some(1), "no follow-on finding for name: {err}");
    assert!(err.message.contains("unknown key \"Name\"; did you mean \"name\"?"), "{err}");
    let spec = yaml(&minimal(
        "x-team: core
budgets_note: 1
",
    ))
    .unwrap_err();
    assert!(spec.message.contains("/budgets_note"), "{spec}");
    let spec = yaml(&minimal(
        "x-team: core
",
    ))
    .unwrap();
    assert!(spec.document.get("x-team").is_none(), "x- keys are not recorded");
}

#[test]
fn every_finding_at_once() {
    let text = minimal(
        "surprise: 1
",
    )
    .replace("max_step_count: 5", "max_step_count: 0")
    .replace("name: noop", "name: shell")
    .replace("{rules: []}", "{rules: [kernel]}");
    let findings = check(text.as_bytes(), false).unwrap_err().0;
    let pointers: Vec<&str> = findings.iter().map(|f| f.pointer.as_str()).collect();
    assert_eq!(pointers, ["/adapter/name", "/budgets/max_step_count", "/environment_fingerprint/rules", "/surprise"]);
    assert!(findings.iter().all(|f| f.line.is_some() && f.column.is_some()), "{findings:?}");
}

#[test]
fn yes_and_no_stay_strings() {
    let text = minimal("").replace("{name: noop}", "{name: noop, config: {flag: yes, other: NO, on: off}}");
    let spec = yaml(&text).unwrap();
    assert_eq!(spec.document["adapter"]["config"]["flag"], "yes");
    assert_eq!(spec.document["adapter"]["config"]["other"], "NO");
    assert_eq!(spec.document["adapter"]["config"]["on"], "off");
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
    let text =
        minimal("inputs: {steps: [{}, {id: b, artifacts: [' z ', y, y]}]}\n").replace("name: noop", "name: reference");
    let spec = yaml(&text).unwrap();
    assert_eq!(spec.steps.get(0).unwrap().id, "step");
    assert_eq!(spec.steps.get(0).unwrap().summary, "reference adapter step step");
    assert!(spec.steps.get(0).unwrap().executed && !spec.steps.get(0).unwrap().decision_needed);
    assert_eq!(spec.steps.get(1).unwrap().command, "");
    assert_eq!(spec.steps.get(1).unwrap().artifacts, ["y", "z"]);
}

/// Go coerced these silently (`command: 3` ran nothing, `executed: maybe` meant true).
#[test]
fn step_fields_of_the_wrong_type_are_findings() {
    let text = minimal("inputs: {steps: [{id: b, command: 3, executed: maybe, artifacts: [y, 7]}]}\n")
        .replace("name: noop", "name: reference");
    let findings = check(text.as_bytes(), false).unwrap_err().0;
    let pointers: Vec<&str> = findings.iter().map(|f| f.pointer.as_str()).collect();
    assert_eq!(pointers, ["/inputs/steps/0/command", "/inputs/steps/0/executed", "/inputs/steps/0/artifacts/1"]);
}

#[test]
fn job_ids_normalised_like_go() {
    assert_eq!(normalize_job_id("  Foo Bar/1 "), "foo_bar_1");
    assert_eq!(normalize_job_id("..."), "job");
    assert_eq!(normalize_job_id("a..b"), "a..b");
    assert_eq!(normalize_job_id("Ünïcode name!"), "_n_code_name".trim_start_matches('_'));
    assert_eq!(infer_job_id("Refactor Auth", Timestamp::from_unix(1_770_000_000, 0)), "refactor_auth_1770000000");
}

/// Found by a newcomer: a missing top-level object and two missing keys of one object came out
/// one per run (a missing key was reported at its object, and any other finding there hid it).
#[test]
fn every_missing_key_at_once() {
    let text = minimal("").replace("max_step_count: 5, ", "").replace("max_tool_calls: 5", "max_tool_call: 5");
    let text: String = text.lines().filter(|l| !l.starts_with("checkpoint_policy")).map(|l| format!("{l}\n")).collect();
    let findings = check(text.as_bytes(), false).unwrap_err().0;
    let pointers: Vec<&str> = findings.iter().map(|f| f.pointer.as_str()).collect();
    for expected in ["/budgets/max_step_count", "/budgets/max_tool_call", "/checkpoint_policy"] {
        assert!(pointers.contains(&expected), "{expected} missing from {pointers:?}");
    }
    assert!(!pointers.contains(&"/budgets/max_tool_calls"), "the misspelling is the finding: {pointers:?}");
    assert!(findings.iter().all(|f| f.line.is_some()), "{findings:?}");
}
