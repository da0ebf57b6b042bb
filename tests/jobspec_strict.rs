//! Strict JobSpecs through the real binary: unknown keys, every finding at once, `wrkr validate`,
//! `submit --explain`, `-` for stdin, and hostile input. Every rejection is exit 6 with
//! `E_INVALID_INPUT_SCHEMA` and leaves the store without a job.

mod support;

use std::path::Path;

use support::Sandbox;

const TYPOS: &str = "jobspecs/typos.yaml";

fn template(sb: &Sandbox) -> String {
    let out = sb.wrkr().args(["init", "-"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn no_jobs(sb: &Sandbox) {
    let jobs = sb.home().join("jobs");
    let count = std::fs::read_dir(&jobs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count, 0, "a rejected spec created a job under {}", jobs.display());
}

fn copy_fixture(sb: &Sandbox, rel: &str) -> String {
    let name = Path::new(rel).file_name().unwrap().to_str().unwrap().to_owned();
    std::fs::copy(support::fixture(rel), sb.work().join(&name)).unwrap();
    name
}

/// Go (and wrkr before this) dropped `max_tokns` and `comand` silently: the budget vanished and the
/// step ran nothing. Now every finding is reported at once, in file order, with line and column.
#[test]
fn validate_reports_every_finding_with_line_and_column() {
    let sb = Sandbox::new();
    let spec = copy_fixture(&sb, TYPOS);
    let out = sb.wrkr().args(["validate", &spec]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let golden = std::fs::read_to_string(support::fixture("jobspecs/typos.validate.txt")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), golden);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "E_INVALID_INPUT_SCHEMA: 1 of 1 JobSpec invalid\n");
    no_jobs(&sb);
}

/// The bug as a user met it: `max_tokns: 100` was dropped, the job ran with no token budget. Now
/// the spec is refused before the job exists, with the key it meant; the same in a JSON spec.
#[test]
fn misspelt_budget_key_is_refused_not_dropped() {
    let sb = Sandbox::new();
    let yaml = [
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: t\nname: n\nobjective: o\n",
        "adapter: {name: noop}\nbudgets:\n  max_wall_time_seconds: 60\n  max_step_count: 5\n",
        "  max_tool_calls: 5\n  max_tokns: 100\ncheckpoint_policy: {min_interval_seconds: 1}\n",
        "environment_fingerprint: {rules: []}\n",
    ]
    .concat();
    std::fs::write(sb.work().join("spec.yaml"), yaml).unwrap();
    let out = sb.wrkr().args(["submit", "spec.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "E_INVALID_INPUT_SCHEMA: spec.yaml:11:3: /budgets/max_tokns: unknown key \"max_tokns\"; did you mean \
         \"max_tokens\"?\nhint: keys are exact (lowercase); `x-` keys are free for your own use\n"
    );
    no_jobs(&sb);
    let json = r#"{"schema_id": "wrkr.jobspec", "schema_version": "v1", "producer_version": "t", "name": "n",
  "objective": "o", "adapter": {"name": "noop"},
  "budgets": {"max_wall_time_seconds": 60, "max_step_count": 5, "max_tool_calls": 5, "max_tokns": 100},
  "checkpoint_policy": {"min_interval_seconds": 1}, "environment_fingerprint": {"rules": []}}"#;
    std::fs::write(sb.work().join("spec.json"), json).unwrap();
    let out = sb.wrkr().args(["--json", "submit", "spec.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let finding = &support::envelope(&out.stderr)["details"]["findings"][0];
    assert_eq!((finding["line"].as_u64(), finding["column"].as_u64()), (Some(3), Some(86)), "{finding}");
    assert_eq!(finding["suggestion"], "max_tokens");
    no_jobs(&sb);
}

#[test]
fn validate_json_findings_use_the_schema_tool_shape() {
    let sb = Sandbox::new();
    let spec = copy_fixture(&sb, TYPOS);
    let out = sb.wrkr().args(["validate", "--json", &spec]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let findings: Vec<serde_json::Value> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 5, "{findings:?}");
    let first = &findings[0];
    assert_eq!(first["input"], "typos.yaml");
    assert_eq!(first["schema_id"], "wrkr.jobspec");
    assert_eq!(first["pointer"], "/inputs/steps/0/comand");
    assert_eq!(first["suggestion"], "command");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(11), Some(7)));
    assert_eq!(support::envelope(&out.stderr)["code"], "E_INVALID_INPUT_SCHEMA");
}

#[test]
fn validate_many_specs_and_stdin() {
    let sb = Sandbox::new();
    let good = template(&sb);
    std::fs::write(sb.work().join("good.yaml"), &good).unwrap();
    let spec = copy_fixture(&sb, TYPOS);
    let out = sb.wrkr().args(["validate", "good.yaml", &spec, "missing.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("good.yaml: ok\ntypos.yaml:11:7: "), "{stdout}");
    assert!(stdout.ends_with("missing.yaml: no such file\n"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 3 JobSpecs invalid"));
    sb.wrkr().args(["validate", "-"]).write_stdin(good).assert().success().stdout("stdin: ok\n");
    sb.wrkr().args(["validate"]).assert().code(6);
}

#[test]
fn submit_reports_every_finding_and_creates_nothing() {
    let sb = Sandbox::new();
    let spec = copy_fixture(&sb, TYPOS);
    let out = sb.wrkr().args(["--json", "submit", &spec]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let env = support::envelope(&out.stderr);
    assert_eq!(env["code"], "E_INVALID_INPUT_SCHEMA");
    assert_eq!(env["details"]["findings"].as_array().map(Vec::len), Some(5), "{env}");
    assert!(env["message"].as_str().unwrap().starts_with("5 problems in jobspec typos.yaml:"), "{env}");
    no_jobs(&sb);
}

#[test]
fn x_keys_are_free() {
    let sb = Sandbox::new();
    let spec = template(&sb).replace("name: demo_refactor_job", "name: demo\nx-owner: me\nx-notes: {any: thing}");
    sb.wrkr().args(["validate", "-"]).write_stdin(spec).assert().success();
}

#[test]
fn submit_explain_shows_the_plan_and_creates_nothing() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), template(&sb)).unwrap();
    let out = sb.wrkr().args(["submit", "spec.yaml", "--explain", "--job-id", "demo-1"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("job_id=demo-1 adapter=reference (explain: nothing was created)\n"), "{text}");
    assert!(text.contains("step 1/3 plan: runs sh -c \"mkdir -p reports && echo plan > reports/plan.md\"\n"), "{text}");
    assert!(text.contains("step 2/3 review: recorded, not run; then waits for approval (approve)\n"), "{text}");
    assert!(text.contains("expected artifacts (checked at completion): reports/result.md"), "{text}");
    no_jobs(&sb);
    let out = sb.wrkr().args(["--json", "--explain", "submit", "spec.yaml"]).output().unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["created"], false);
    assert_eq!(plan["steps"][2]["id"], "finalize");
    assert_eq!(plan["budgets"]["max_step_count"], 20);
    no_jobs(&sb);
    let spec = copy_fixture(&sb, TYPOS);
    sb.wrkr().args(["submit", "--explain", &spec]).assert().code(6);
    no_jobs(&sb);
}

#[test]
fn submit_reads_stdin() {
    let sb = Sandbox::new();
    let spec = template(&sb).replace("executed: false", "executed: false\n      decision_needed: false");
    let spec = spec.replace(
        "      decision_needed: true          # the job stops here until `wrkr approve` + `wrkr resume`\n",
        "",
    );
    sb.wrkr()
        .args(["submit", "-", "--job-id", "from-stdin"])
        .write_stdin(spec)
        .assert()
        .success()
        .stdout("job_id=from-stdin status=completed adapter=reference\n");
    assert!(sb.work().join("reports/result.md").is_file());
}

#[test]
fn init_dash_writes_the_template_to_stdout() {
    let sb = Sandbox::new();
    let text = template(&sb);
    assert!(text.contains("wrkr validate jobspec.yaml"));
    assert!(!text.contains("ignored;"), "the template no longer says unknown keys are ignored");
    assert!(!sb.work().join("-").exists());
}

/// Hostile and malformed input: an error with a reason, never a panic or a job.
#[test]
fn hostile_specs_are_refused() {
    let sb = Sandbox::new();
    let deep = format!("a: {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..20 {
        let prev = if i == 0 { "a".to_owned() } else { format!("l{}", i - 1) };
        bomb.push_str(&format!(
            "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("deep.yaml", deep.into_bytes(), "invalid YAML"),
        ("bomb.yaml", bomb.into_bytes(), "invalid YAML"),
        ("binary.yaml", vec![0xff, 0xfe, 0x00, 0x41], "not UTF-8"),
        ("list.yaml", b"- a\n- b\n".to_vec(), "expected a mapping"),
        ("empty.yaml", Vec::new(), ""),
        ("big.yaml", vec![b' '; (16 << 20) + 1], "byte limit"),
        ("dup.json", br#"{"name": "a", "name": "b"}"#.to_vec(), "invalid JSON"),
    ];
    for (name, bytes, why) in cases {
        std::fs::write(sb.work().join(name), &bytes).unwrap();
        for args in [vec!["--json", "submit", name], vec!["--json", "validate", name]] {
            let out = sb.wrkr().args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(6), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(all.contains("E_INVALID_INPUT_SCHEMA") && all.contains(why), "{args:?}: {all}");
        }
    }
    no_jobs(&sb);
}

/// wrkr-schema read only JSON Lines; a YAML JobSpec was "not JSON". Now a `.yaml` file goes through
/// the JobSpec loader and its findings come out in the tool's own shape; a valid one passes through.
#[test]
fn schema_tool_checks_yaml_jobspecs() {
    let sb = Sandbox::new();
    let spec = copy_fixture(&sb, TYPOS);
    let out = sb.program("wrkr-schema").args(["--json", &spec]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(out.stdout.is_empty(), "an invalid spec does not pass through");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first: serde_json::Value = serde_json::from_str(stderr.lines().next().unwrap()).unwrap();
    assert_eq!(first["pointer"], "/inputs/steps/0/comand");
    assert_eq!(first["line"], 11);
    let good = template(&sb);
    std::fs::write(sb.work().join("good.yml"), &good).unwrap();
    sb.program("wrkr-schema").arg("good.yml").assert().success().stdout(good.clone());
    sb.wrkr().args(["schema", "--doc", "--schema", "jobspec", "-"]).write_stdin(good).assert().success();
    sb.wrkr().args(["schema", "--schema", "job", "good.yml"]).assert().code(6);
}
