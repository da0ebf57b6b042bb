//! What acceptance hands to people and CI, through the real binary: JUnit (parsed by Python's
//! xml.etree and validated against tests/fixtures/junit/junit.xsd with lxml), `accept run --ci`,
//! the GitHub summary (golden for Go's journey pack, byte-stable, $GITHUB_STEP_SUMMARY), and the
//! bridge's work items (golden for both templates; --dry-run touches nothing).
//!
//! Golden files live in tests/fixtures/accept/; `WRKR_BLESS=1 cargo test --test accept_report`
//! rewrites them, and the diff is then reviewed like code.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Sandbox, fixture, journey, tree};

fn golden(name: &str, actual: &str) {
    let path = fixture("accept").join(name);
    if std::env::var_os("WRKR_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "golden {name} differs (WRKR_BLESS=1 rewrites it; review the diff)");
}

/// Parse with xml.etree, validate against the XSD with lxml; prints what it checked.
const JUNIT_CHECK: &str = r#"
import sys, xml.etree.ElementTree as ET
path, xsd = sys.argv[1], sys.argv[2]
root = ET.parse(path).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 1
cases = suites[0].findall("testcase")
assert int(suites[0].get("tests")) == len(cases)
assert int(suites[0].get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
assert int(suites[0].get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
for c in cases:
    float(c.get("time"))
print("etree-ok", len(cases))
try:
    from lxml import etree
except ImportError:
    print("xsd-skipped: lxml is not installed (scripts/test-deps.sh installs it)")
    sys.exit(0)
schema = etree.XMLSchema(etree.parse(xsd))
doc = etree.parse(path)
if not schema.validate(doc):
    print(schema.error_log, file=sys.stderr)
    sys.exit(1)
print("xsd-ok")
"#;

fn check_junit(path: &Path) -> String {
    let out = Command::new("python3")
        .args(["-c", JUNIT_CHECK])
        .arg(path)
        .arg(fixture("junit/junit.xsd"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}{stdout}{}",
        std::fs::read_to_string(path).unwrap(),
        String::from_utf8_lossy(&out.stderr)
    );
    if stdout.contains("xsd-skipped") {
        eprintln!("note: {stdout}");
    }
    stdout
}

const CI_CONFIG: &str = "\
required_artifacts: [reports/result.md]
test_command: \"printf 'bad <xml> & \\\"quotes\\\" \\\\001\\\\033[31m'; exit 1\"
lint_command: \"true\"
required_checkpoint_types: [plan]
";

#[test]
fn accept_run_ci_writes_valid_junit_the_summary_and_a_pack_with_the_result() {
    let sb = Sandbox::new();
    journey::create(&sb, &sb.work().join("ws"));
    std::fs::write(sb.work().join("accept.yaml"), CI_CONFIG).unwrap();
    let step_summary = sb.work().join("step_summary.md");
    let out = sb
        .wrkr()
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .args(["--json", "accept", "run", journey::JOB, "--ci", "--out-dir", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let junit = PathBuf::from(json["junit_path"].as_str().unwrap());
    assert_eq!(junit, sb.work().join("out/reports/accept_job_a.junit.xml"));
    let checked = check_junit(&junit);
    assert!(checked.contains("etree-ok 7"), "{checked}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure message=\"command failed (exit=1): [stdout]&#10;bad &lt;xml&gt; &amp; &quot;quotes&quot; \u{fffd}\u{fffd}[31m\" type=\"E_ACCEPT_TEST_FAIL\">"), "{xml}");
    assert!(xml.contains("<property name=\"wrkr.replaced_invalid_xml_chars\" value=\"4\">"), "{xml}");
    assert!(xml.contains("<testcase classname=\"wrkr.accept\" name=\"path_constraints\" time=\"0.000\">\n      <skipped message=\"not configured (path_rules)\"></skipped>"));
    // The re-exported pack carries the result and the checks table reaches the summary.
    let pack = json["jobpack_path"].as_str().unwrap();
    let inspect = sb.wrkr().args(["--json", "job", "inspect", pack]).output().unwrap();
    assert!(String::from_utf8_lossy(&inspect.stdout).contains("x-accept_ran"));
    let md = std::fs::read_to_string(json["summary_markdown_path"].as_str().unwrap()).unwrap();
    assert!(md.contains("- Acceptance: `failed` (4/5 checks)"), "{md}");
    assert!(md.contains("| `test_command` | ❌ failed |"), "{md}");
    assert!(md.contains("| `path_constraints` | ⏭️ skipped | not configured (path_rules) |"), "{md}");
    assert!(
        md.contains("- `cp_8` approve the plan: approved by `alice` at 2026-02-13T18:00:05Z: plan is sound"),
        "{md}"
    );
    assert!(md.contains("| step_count | 2 | 10 |"), "{md}");
    assert_eq!(std::fs::read_to_string(&step_summary).unwrap(), md);
    assert_eq!(json["step_summary_path"], step_summary.display().to_string());
    let v = sb.wrkr().args(["verify", pack]).output().unwrap();
    assert!(v.status.success());
}

/// Our markdown for Go's journey pack, byte for byte; the JSON is the same bytes on every run.
#[test]
fn github_summary_of_the_go_journey_pack_is_golden_and_byte_stable() {
    let sb = Sandbox::new();
    let pack = fixture("go-wrkr/jobpack_journey.zip");
    let run = |dir: &str| {
        let out = sb.wrkr().args(["--json", "report", "github"]).arg(&pack).args(["--out-dir", dir]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(json.get("step_summary_path").is_none());
        let md = std::fs::read_to_string(json["summary_markdown_path"].as_str().unwrap()).unwrap();
        let js = std::fs::read(json["summary_json_path"].as_str().unwrap()).unwrap();
        (md, js)
    };
    let (md, js) = run("a");
    golden("github_summary_journey.md", &md);
    assert_eq!(run("b"), (md.clone(), js.clone()));
    let summary: Value = serde_json::from_slice(&js).unwrap();
    assert_eq!(summary["created_at"], "2026-11-24T01:47:18.028660173Z", "the pack's time, not the clock");
    assert_eq!(summary["acceptance"], serde_json::json!({"checks_run": 5, "checks_passed": 5, "failed": false}));
    assert_eq!(format!("{}\n", summary["markdown"].as_str().unwrap()), md);
}

/// `report github JOB` reuses an up-to-date pack (same footer), says "not run" before acceptance.
#[test]
fn github_summary_of_a_job() {
    let sb = Sandbox::new();
    journey::create(&sb, &sb.work().join("ws"));
    let run = || {
        let out = sb.wrkr().args(["--json", "report", "github", journey::JOB]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read(sb.work().join("wrkr-out/reports/github_summary_job_a.json")).unwrap()
    };
    let first = run();
    let pack = std::fs::read(sb.work().join("wrkr-out/jobpacks/jobpack_job_a.zip")).unwrap();
    assert_eq!(run(), first);
    assert_eq!(std::fs::read(sb.work().join("wrkr-out/jobpacks/jobpack_job_a.zip")).unwrap(), pack);
    let md = std::fs::read_to_string(sb.work().join("wrkr-out/reports/github_summary_job_a.md")).unwrap();
    assert!(md.contains("- Acceptance: `not run`"), "{md}");
}

fn bridge(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    sb.wrkr().args(["bridge", "work-item", journey::JOB]).args(args).output().unwrap()
}

#[test]
fn bridge_work_items_are_golden_for_both_templates() {
    let sb = Sandbox::new();
    journey::create_until_decision(&sb, &sb.work().join("ws"));
    for template in ["github", "jira"] {
        let out = bridge(&sb, &["--checkpoint", "cp_8", "--template", template, "--out-dir", "out"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let md =
            std::fs::read_to_string(sb.work().join(format!("out/reports/work_item_job_a_cp_8_{template}.md"))).unwrap();
        golden(&format!("work_item_{template}.md"), &md);
    }
    // The JSON is JCS; its created_at is the checkpoint's (from the ledger's clock, so normalised here).
    let bytes = std::fs::read(sb.work().join("out/reports/work_item_job_a_cp_8.json")).unwrap();
    let mut payload: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), payload.to_string(), "JCS (sorted keys, compact)");
    payload["created_at"] = "<checkpoint created_at>".into();
    payload["producer_version"] = "<version>".into();
    golden("work_item.json", &format!("{payload:#}\n"));
    // Only blocked and decision-needed checkpoints make work items.
    let out = bridge(&sb, &["--checkpoint", "cp_6", "--out-dir", "out"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not make a work item"));
    assert_eq!(bridge(&sb, &["--checkpoint", "cp_99"]).status.code(), Some(6));
}

#[test]
fn bridge_dry_run_writes_nothing() {
    let sb = Sandbox::new();
    journey::create_until_decision(&sb, &sb.work().join("ws"));
    std::fs::create_dir_all(sb.work().join("out")).unwrap();
    let (work, home) = (tree(sb.work()), tree(sb.home()));
    let out = sb
        .wrkr()
        .args([
            "--json",
            "bridge",
            "work-item",
            journey::JOB,
            "--checkpoint",
            "cp_8",
            "--template",
            "jira",
            "--dry-run",
        ])
        .args(["--out-dir", "out"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["payload"]["checkpoint_type"], "decision-needed");
    assert!(json.get("work_item_path").is_none());
    assert_eq!(tree(sb.work()), work, "the working directory is untouched");
    assert_eq!(tree(sb.home()), home, "the store is untouched");
}
