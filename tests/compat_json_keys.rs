//! Go consumers read our `--json` output with Go's field names. For every command of the Go CLI
//! map (digest 8.2), the key paths Go prints are checked in (`tests/fixtures/go-wrkr/json_keys.json`,
//! from the digest and the Go-made outputs beside it); one journey through the real binary prints
//! ours, and ours must hold every one of Go's (additive fields are fine, renamed or dropped ones
//! are not). Regression: `bridge work-item` printed `work_item_path` without Go's `json_path`,
//! `resume` dropped `adapter` and `next_step_index`, `accept init` printed `path` for `config_path`,
//! and `budget check` did not exist.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use support::{Sandbox, fixture};

/// Every key path of `value`: `a`, `a.b`, `a[].b`, `[].k` (lists: the union over their items).
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}{k}");
                out.insert(path.clone());
                paths(v, &format!("{path}."), out);
            }
        }
        Value::Array(items) => {
            let list_prefix = format!("{}[].", prefix.strip_suffix('.').unwrap_or(prefix));
            for item in items {
                paths(item, &list_prefix, out);
            }
        }
        _ => {}
    }
}

/// Commands of Go's CLI map we do not have; the test proves they are still refused (exit 6), so
/// whoever adds one is sent here to check its keys.
/// (None now: `store prune` was the last, and runs below.)
const NOT_IMPLEMENTED: [(&str, &[&str]); 0] = [];

struct Journey {
    sb: Sandbox,
    ours: BTreeMap<String, Value>,
}

impl Journey {
    /// `wrkr --json ARGS` must succeed (or exit `code`); its stdout is our output for `label`.
    fn run(&mut self, label: &str, args: &[&str], code: i32) -> Value {
        let out = self.sb.wrkr().arg("--json").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{label}: {}", String::from_utf8_lossy(&out.stderr));
        let value: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{label}: stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
        self.ours.insert(label.to_owned(), value.clone());
        value
    }
}

#[test]
fn json_outputs_hold_every_go_key() {
    let go: BTreeMap<String, Value> =
        serde_json::from_slice(&std::fs::read(fixture("go-wrkr/json_keys.json")).unwrap()).unwrap();
    let mut j = Journey { sb: Sandbox::new(), ours: BTreeMap::new() };
    let work = j.sb.work().to_path_buf();
    for name in ["journey.jobspec.yaml", "journey.accept.yaml"] {
        std::fs::copy(fixture(&format!("go-wrkr/{name}")), work.join(name)).unwrap();
    }
    j.run("demo", &["demo"], 0);
    j.run("init", &["init"], 0);
    let submitted = j.run("submit", &["submit", "journey.jobspec.yaml", "--job-id", "jb"], 0);
    let cp = submitted["checkpoint_id"].as_str().expect("submit names the decision checkpoint").to_owned();
    j.run("status", &["status", "jb"], 0);
    j.run("checkpoint list", &["checkpoint", "list", "jb"], 0);
    j.run("checkpoint show", &["checkpoint", "show", "jb", &cp], 0);
    j.run("bridge work-item --dry-run", &["bridge", "work-item", "jb", "--checkpoint", &cp, "--dry-run"], 0);
    j.run("bridge work-item", &["bridge", "work-item", "jb", "--checkpoint", &cp], 0);
    j.run("checkpoint emit", &["checkpoint", "emit", "jb", "--type", "progress", "--summary", "halfway"], 0);
    j.run("approve", &["approve", "jb", "--checkpoint", &cp, "--reason", "ok"], 0);
    j.run("resume", &["resume", "jb"], 0);
    j.run("budget check", &["budget", "check", "jb", "--max-step-count", "100"], 0);
    j.run("export", &["export", "jb"], 0);
    j.run("verify", &["verify", "jb"], 0);
    j.run("job inspect", &["job", "inspect", "jb"], 0);
    j.run("receipt", &["receipt", "jb"], 0);
    j.run("accept init", &["accept", "init"], 0);
    j.run("accept run", &["accept", "run", "jb", "--config", "journey.accept.yaml"], 0);
    j.run("accept run --ci", &["accept", "run", "jb", "--config", "journey.accept.yaml", "--ci"], 0);
    let pack = work.join("wrkr-out/jobpacks/jobpack_jb.zip").display().to_string();
    j.run("job diff", &["job", "diff", &pack, &pack], 0);
    j.run("wrap", &["wrap", "--", "true"], 0);
    j.run("version", &["version"], 0);
    j.run("--explain", &["--explain", "submit"], 0);
    j.run("doctor", &["doctor"], 0);
    // Pause wants a running job without a runner; cancel any live one.
    let running = [
        json!({"type": "env_fingerprint_set", "payload": {"rules": ["arch", "os"], "values": {"arch": "arm64", "os": "darwin"},
            "hash": "cacf3b8e0a13e5dbcb04dd3e74db1e1ec50bca3ac7952d270ee01b40136db450", "captured_at": "2026-02-13T18:00:00Z"}}),
        json!({"type": "status_changed", "payload": {"from": "queued", "to": "running"}}),
    ];
    let stdin: String = running.iter().map(|e| format!("{e}\n")).collect();
    j.sb.program("wrkr-events").args(["--append", "--create", "jr"]).write_stdin(stdin).assert().success();
    j.run("pause", &["pause", "jr"], 0);
    j.run("cancel", &["cancel", "jr"], 0);
    // report github with GITHUB_STEP_SUMMARY set, as Go's step_summary_path needs.
    let out =
        j.sb.wrkr()
            .env("GITHUB_STEP_SUMMARY", work.join("step_summary.md"))
            .args(["--json", "report", "github", "jb"])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    j.ours.insert("report github".into(), serde_json::from_slice(&out.stdout).unwrap());
    let server = support::http::Server::start(&j.sb, &[], &[]);
    j.ours.insert("serve".into(), server.started.clone());
    server.stop();
    j.run("store prune", &["store", "prune", "--dry-run", "--job-max-age", "1h"], 0);
    let out = j.sb.wrkr().args(["--json", "status", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    j.ours.insert("error envelope".into(), support::envelope(&out.stderr));

    let mut problems = Vec::new();
    for (label, args) in NOT_IMPLEMENTED {
        let out = j.sb.wrkr().arg("--json").args(args).output().unwrap();
        if out.status.code() != Some(6) {
            problems.push(format!("{label}: now answers (exit {:?}): add its keys to this test", out.status.code()));
        }
    }
    for (label, expected) in &go {
        if label.starts_with('_') || NOT_IMPLEMENTED.iter().any(|(l, _)| l == label) {
            continue;
        }
        let Some(ours) = j.ours.get(label) else {
            problems.push(format!("{label}: in the Go map but not run by this test"));
            continue;
        };
        let mut have = BTreeSet::new();
        paths(ours, "", &mut have);
        let missing: Vec<&str> =
            expected.as_array().unwrap().iter().filter_map(Value::as_str).filter(|k| !have.contains(*k)).collect();
        if !missing.is_empty() {
            problems.push(format!("{label}: missing Go keys {missing:?}"));
        }
    }
    for label in j.ours.keys() {
        if !go.contains_key(label) {
            problems.push(format!("{label}: run here but has no Go key set in json_keys.json"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
