//! The jobpack test vectors: every folder under `tests/fixtures/jobpacks/` holds `pack.zip` and a
//! `header` (`expect`, `exit`, `code`, optional exact `message`, `files` for passes, `why`). One
//! test runs them all through `wrkr-verify --json` and reports every mismatch at once.
//! Regenerate them with `python3 scripts/make_jobpack_vectors.py` (deterministic).

mod support;

use std::collections::BTreeMap;
use std::fs;

fn header(text: &str) -> BTreeMap<String, String> {
    text.lines().filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

#[test]
fn jobpack_vectors() {
    let root = support::fixture("jobpacks");
    let mut dirs: Vec<_> = fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    assert!(dirs.len() >= 30, "expected at least 30 vectors, found {}", dirs.len());
    let sandbox = support::Sandbox::new();
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let h = header(&fs::read_to_string(dir.join("header")).unwrap());
        let out = sandbox.program("wrkr-verify").arg("--json").arg(dir.join("pack.zip")).output().unwrap();
        let exit: i32 = h["exit"].parse().unwrap();
        if out.status.code() != Some(exit) {
            problems.push(format!("{name}: exit {:?}, expected {exit} ({})", out.status.code(), h["why"]));
            continue;
        }
        if h["expect"] == "pass" {
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            if let Some(files) = h.get("files")
                && report["files_verified"].as_u64() != files.parse().ok()
            {
                problems.push(format!("{name}: files_verified {}, expected {files}", report["files_verified"]));
            }
            continue;
        }
        let env = support::envelope(&out.stderr);
        if env["code"] != h["code"].as_str() || env["exit_code"] != exit {
            problems
                .push(format!("{name}: code {} exit_code {}, expected {}", env["code"], env["exit_code"], h["code"]));
        }
        if let Some(message) = h.get("message")
            && env["message"] != message.as_str()
        {
            problems.push(format!("{name}: message {}, expected {message:?}", env["message"]));
        }
        if !out.stdout.is_empty() {
            problems.push(format!("{name}: a failing verify wrote to stdout"));
        }
    }
    assert!(problems.is_empty(), "{} of {} vectors failed:\n{}", problems.len(), dirs.len(), problems.join("\n"));
}
