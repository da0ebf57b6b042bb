//! `wrkr doctor --production-readiness` through the real binary: each finding with its severity
//! and remedy, exit 1 on a critical one, and a probe that leaves the store as it found it.

mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use support::Sandbox;

fn doctor(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = sandbox.wrkr();
    cmd.args(["--json", "doctor", "--production-readiness"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.code(), serde_json::from_slice(&out.stdout).expect("the report is on stdout even on exit 1"))
}

fn find<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}"))
}

const RETENTION: [(&str, &str); 2] = [("WRKR_RETENTION_DAYS", "30"), ("WRKR_OUTPUT_RETENTION_DAYS", "14")];

#[test]
fn a_production_ready_setup_passes_and_the_probe_leaves_nothing() {
    let sandbox = Sandbox::new();
    sandbox.wrkr().args(["keygen", "--out"]).arg(sandbox.work()).assert().success();
    let key = sandbox.work().join("wrkr_ed25519.key");
    let mut env = RETENTION.to_vec();
    env.push(("WRKR_SERVE_TOKEN", "0123456789abcdef0123456789abcdef"));
    let (code, report) = doctor(&sandbox, &env, &["--signing-key", key.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!((report["profile"].as_str(), report["ok"].as_bool()), (Some("production-readiness"), Some(true)));
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for name in [
        "store_root_writable",
        "store_lockable",
        "store_format",
        "disk_space",
        "signing_key",
        "retention_configured",
        "unsafe_env",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(find(&report, "signing_key")["details"].as_str().unwrap().contains("valid ed25519 private key, mode 600"));
    assert!(find(&report, "store_format")["details"].as_str().unwrap().contains("schema_version v1"));
    // Go's doctor left a `_doctor_probe` job behind; this probe leaves the store root empty.
    assert_eq!(std::fs::read_dir(sandbox.home()).unwrap().count(), 0);
}

#[test]
fn a_missing_store_root_is_critical_with_its_remedy() {
    let sandbox = Sandbox::new();
    let missing = sandbox.work().join("no/such/store");
    let (code, report) = doctor(&sandbox, &RETENTION, &["--store", missing.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let probe = find(&report, "store_root_writable");
    assert_eq!((probe["ok"].as_bool(), probe["severity"].as_str()), (Some(false), Some("critical")));
    assert!(probe["remediation"].as_str().unwrap().contains("mkdir -p"));
    assert!(!missing.exists(), "doctor creates nothing");
}

#[test]
fn unsafe_switches_in_the_environment_are_critical() {
    let sandbox = Sandbox::new();
    let mut env = RETENTION.to_vec();
    env.push(("WRKR_ALLOW_UNSAFE", "1"));
    let (code, report) = doctor(&sandbox, &env, &[]);
    assert_eq!(code, Some(1));
    let check = find(&report, "unsafe_env");
    assert_eq!((check["ok"].as_bool(), check["details"].as_str()), (Some(false), Some("WRKR_ALLOW_UNSAFE=1")));
    // Off is off.
    let mut env = RETENTION.to_vec();
    env.push(("WRKR_ALLOW_UNSAFE", "false"));
    let (code, report) = doctor(&sandbox, &env, &[]);
    assert_eq!((code, find(&report, "unsafe_env")["ok"].as_bool()), (Some(0), Some(true)));
}

#[test]
fn signing_asked_for_needs_a_private_readable_valid_key() {
    let sandbox = Sandbox::new();
    let mut env = RETENTION.to_vec();
    env.push(("WRKR_SIGNING_MODE", "ed25519"));
    let (code, report) = doctor(&sandbox, &env, &[]);
    assert_eq!(code, Some(1));
    assert!(find(&report, "signing_key")["remediation"].as_str().unwrap().contains("wrkr keygen"));

    sandbox.wrkr().args(["keygen", "--out"]).arg(sandbox.work()).assert().success();
    let key = sandbox.work().join("wrkr_ed25519.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut env = RETENTION.to_vec();
    let key_text = key.to_str().unwrap().to_owned();
    env.push(("WRKR_SIGNING_KEY_PATH", &key_text));
    let (code, report) = doctor(&sandbox, &env, &[]);
    assert_eq!(code, Some(1));
    assert!(find(&report, "signing_key")["remediation"].as_str().unwrap().contains("chmod 600"));

    std::fs::write(sandbox.work().join("bad.key"), "not a key").unwrap();
    let bad = sandbox.work().join("bad.key");
    let (code, report) = doctor(&sandbox, &RETENTION, &["--signing-key", bad.to_str().unwrap()]);
    assert_eq!((code, find(&report, "signing_key")["severity"].as_str()), (Some(1), Some("critical")));
}

#[test]
fn missing_retention_is_a_warning_not_a_failure_and_plain_doctor_is_unchanged() {
    let sandbox = Sandbox::new();
    let (code, report) = doctor(&sandbox, &[("WRKR_RETENTION_DAYS", "soon")], &[]);
    assert_eq!(code, Some(0));
    let check = find(&report, "retention_configured");
    assert_eq!((check["ok"].as_bool(), check["severity"].as_str()), (Some(false), Some("warning")));
    assert!(check["details"].as_str().unwrap().contains("\"soon\" is not a positive number of days"));

    let out = sandbox.wrkr().args(["--json", "doctor"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["profile"], "serve");
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["name"] != "store_root_writable"));
}
