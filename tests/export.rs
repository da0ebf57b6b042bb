//! Export from the store through the real binary: `wrkr-events --records`, `wrkr export`,
//! `wrkr receipt JOB`, `wrkr job inspect JOB`, raw capture, signing, and hostile inputs.
//!
//! Jobs are built the way the runner builds them: `wrkr-events --append --create` with
//! hand-written events, an `x-jobspec_recorded` event pointing at a temp workspace with real files.

mod support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::{Sandbox, envelope, tree};
use wrkr::digest::sha256_hex;
use wrkr::pack::zipread::ZipReader;

fn append(s: &Sandbox, job: &str, events: &[Value]) {
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let out = s.program("wrkr-events").args(["--append", "--create", job]).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

fn checkpoint(kind: &str, added: &[&str], changed: &[&str]) -> Value {
    json!({"type": "checkpoint_emitted", "payload": {
        "type": kind, "summary": format!("{kind} done"), "status": "running",
        "budget_state": {"wall_time_seconds": 3, "retry_count": 0, "step_count": 2, "tool_call_count": 1},
        "artifacts_delta": {"added": added, "changed": changed, "removed": ["old.txt"]},
        "required_action": null, "reason_codes": []}})
}

/// A job `job_e` with a workspace holding `reports/plan.md` and `src/lib.rs`; `missing.md` is
/// declared by a checkpoint but never written.
fn job_with_workspace(s: &Sandbox) -> PathBuf {
    let ws = s.work().join("workspace");
    fs::create_dir_all(ws.join("reports")).unwrap();
    fs::create_dir_all(ws.join("src")).unwrap();
    fs::write(ws.join("reports/plan.md"), "# plan\nstep one\n").unwrap();
    fs::write(ws.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let approval = json!({"schema_id": "wrkr.approval_record", "schema_version": "v1",
        "created_at": "2026-02-13T18:00:03Z", "producer_version": "dev", "job_id": "job_e",
        "checkpoint_id": "cp_6", "reason": "looks right", "approved_by": "ana"});
    append(
        s,
        "job_e",
        &[
            json!({"type": "x-jobspec_recorded", "payload": {"jobspec": {"name": "demo"},
                "spec_path": ws.join("spec.yaml"), "workspace": ws}}),
            json!({"type": "status_changed", "payload": {"from": "queued", "to": "running"}}),
            json!({"type": "adapter_step", "payload": {"step_id": "s1", "step_index": 0, "executed": false}}),
            checkpoint("plan", &["reports/plan.md", "missing.md"], &[]),
            checkpoint("progress", &[], &["src/lib.rs"]),
            json!({"type": "approval_recorded", "payload": approval}),
        ],
    );
    ws
}

fn export(s: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = s.wrkr().arg("export").args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn pack_path(s: &Sandbox, out: &str, job: &str) -> PathBuf {
    s.work().join(out).join("jobpacks").join(format!("jobpack_{job}.zip"))
}

fn entry(path: &Path, name: &str) -> Option<Vec<u8>> {
    let zip = ZipReader::open(fs::File::open(path).unwrap(), 1 << 30).unwrap();
    let e = zip.find(name)?;
    let mut b = Vec::new();
    zip.reader(e).read_to_end(&mut b).unwrap();
    Some(b)
}

fn records(s: &Sandbox, job: &str, extra: &[&str]) -> (Vec<u8>, String) {
    let out = s.program("wrkr-events").arg("--records").args(extra).arg(job).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    (out.stdout, String::from_utf8(out.stderr).unwrap())
}

fn pack_stdin(s: &Sandbox, input: Vec<u8>, extra: &[&str]) -> std::process::Output {
    s.program("wrkr-pack").args(extra).write_stdin(input).output().unwrap()
}

#[test]
fn export_twice_is_byte_identical_and_equals_the_pipeline_in_any_order() {
    let s = Sandbox::new();
    job_with_workspace(&s);
    let (code, stdout, stderr) = export(&s, &["job_e"]);
    assert_eq!(code, 0, "{stderr}");
    let path = pack_path(&s, "wrkr-out", "job_e");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "job_id=job_e");
    assert_eq!(lines[1], format!("jobpack={}", path.display()));
    assert!(lines[2].starts_with("footer=WRKR job_id=job_e manifest=sha256:"), "{stdout}");
    assert!(stderr.contains("missing.md"), "missing artifact reported: {stderr}");
    let first = fs::read(&path).unwrap();
    assert_eq!(export(&s, &["job_e"]).0, 0);
    assert_eq!(fs::read(&path).unwrap(), first, "export twice: identical bytes");

    let (stream, diag) = records(&s, "job_e", &[]);
    assert!(diag.contains("missing.md"), "{diag}");
    let piped = pack_stdin(&s, stream.clone(), &[]);
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(piped.stdout, first, "wrkr-events --records | wrkr-pack == wrkr export");

    let mut shuffled: Vec<&[u8]> = stream.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    shuffled.reverse();
    shuffled.swap(1, 4);
    let input = shuffled.join(&b'\n').into_iter().chain([b'\n']).collect();
    assert_eq!(pack_stdin(&s, input, &[]).stdout, first, "shuffled records, same bytes");

    let kinds: Vec<String> = String::from_utf8(stream)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["schema_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "wrkr.event").count(), 7);
    assert_eq!(kinds.iter().filter(|k| *k == "wrkr.checkpoint").count(), 2);
    assert_eq!(kinds.iter().filter(|k| *k == "wrkr.approval_record").count(), 1);
    assert_eq!(&kinds[kinds.len() - 2..], ["wrkr.job", "wrkr.artifacts_manifest"]);
}

#[test]
fn export_verifies_and_hashes_artifact_content() {
    let s = Sandbox::new();
    let ws = job_with_workspace(&s);
    let out = s.wrkr().args(["--json", "export", "job_e", "--out-dir", "o"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["job_id", "path", "manifest_sha256", "footer", "missing_artifacts"]);
    assert_eq!(e["missing_artifacts"], json!(["missing.md"]));
    let path = pack_path(&s, "o", "job_e");
    assert_eq!(e["path"], path.display().to_string());
    let v = s.wrkr().args(["verify", "job_e", "--out-dir", "o"]).output().unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stderr));
    let am: Value = serde_json::from_slice(&entry(&path, "artifacts_manifest.json").unwrap()).unwrap();
    assert_eq!(am["capture_mode"], "reference-only");
    let hash = |p: &str| am["artifacts"].as_array().unwrap().iter().find(|a| a["path"] == p).unwrap()["sha256"].clone();
    assert_eq!(hash("reports/plan.md"), sha256_hex(&fs::read(ws.join("reports/plan.md")).unwrap()));
    assert_eq!(hash("src/lib.rs"), sha256_hex(&fs::read(ws.join("src/lib.rs")).unwrap()));
    assert_eq!(hash("missing.md"), sha256_hex(b"reference:missing.md"), "missing: Go's reference hash");
    let events = String::from_utf8(entry(&path, "events.jsonl").unwrap()).unwrap();
    assert!(events.contains("\"executed\":false"), "adapter_step executed=false kept");
    assert!(entry(&path, "approvals.jsonl").is_some());
}

#[test]
fn inspect_job_matches_inspect_of_its_pack() {
    let s = Sandbox::new();
    job_with_workspace(&s);
    assert_eq!(export(&s, &["job_e"]).0, 0);
    let from_store = s.wrkr().args(["--json", "job", "inspect", "job_e"]).output().unwrap();
    assert_eq!(from_store.status.code(), Some(0), "{}", String::from_utf8_lossy(&from_store.stderr));
    let path = pack_path(&s, "wrkr-out", "job_e");
    let from_pack = s.wrkr().args(["--json", "job", "inspect", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(from_store.stdout, from_pack.stdout);
    let view: Value = serde_json::from_slice(&from_store.stdout).unwrap();
    assert_eq!((view["status"].as_str(), view["event_count"].as_u64()), (Some("running"), Some(7)));
    assert_eq!((view["checkpoint_count"].as_u64(), view["approval_count"].as_u64()), (Some(2), Some(1)));
    let text = s.wrkr().args(["job", "inspect", "job_e"]).output().unwrap();
    assert!(String::from_utf8(text.stdout).unwrap().starts_with("job_id=job_e status=running events=7 checkpoints=2"));
}

#[test]
fn receipt_reuses_an_up_to_date_pack_and_reexports_a_stale_one() {
    let s = Sandbox::new();
    job_with_workspace(&s);
    let receipt = || {
        let out = s.wrkr().args(["receipt", "job_e"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = receipt();
    let path = pack_path(&s, "wrkr-out", "job_e");
    assert!(path.is_file(), "receipt exports a missing pack");
    let (_, stdout, _) = export(&s, &["job_e"]);
    assert!(stdout.ends_with(&format!("footer={first}")), "same footer as export");
    // Up to date: not rewritten (the inode of an atomic replace would change).
    let before = fs::metadata(&path).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap();
    assert_eq!(receipt(), first);
    assert_eq!(fs::metadata(&path).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap(), before);
    // A new event makes it stale: re-exported, new footer, and stable again after that.
    append(&s, "job_e", &[json!({"type": "x-note", "payload": {"text": "later"}})]);
    let second = receipt();
    assert_ne!(second, first);
    assert_eq!(receipt(), second);
    // A tampered pack is not silently replaced (one byte changed: the zip CRC fails, which is
    // tampering, exit 2; Go said exit 1, see docs/contracts/jobpack.md section 7).
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.windows(6).position(|w| w == b"x-note").unwrap();
    bytes[at] = b'y';
    fs::write(&path, &bytes).unwrap();
    let out = s.wrkr().args(["--json", "receipt", "job_e"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(envelope(&out.stderr)["code"], "E_VERIFY_HASH_MISMATCH");
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn raw_capture_includes_the_files_and_needs_the_flag() {
    let s = Sandbox::new();
    let ws = job_with_workspace(&s);
    for args in [&["job_e", "--capture", "raw"][..], &["--capture", "raw", "job_e"]] {
        let before = tree(s.work());
        let out = s.wrkr().arg("--json").arg("export").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(8));
        assert_eq!(envelope(&out.stderr)["code"], "E_UNSAFE_OPERATION");
        assert_eq!(tree(s.work()), before, "nothing written");
    }
    let out = s.program("wrkr-events").args(["--json", "--records", "--capture", "raw", "job_e"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert_eq!(envelope(&out.stderr)["code"], "E_UNSAFE_OPERATION");

    let (code, _, stderr) = export(&s, &["job_e", "--unsafe-capture-raw"]);
    assert_eq!(code, 0, "{stderr}");
    let path = pack_path(&s, "wrkr-out", "job_e");
    assert_eq!(entry(&path, "artifacts/reports/plan.md").unwrap(), fs::read(ws.join("reports/plan.md")).unwrap());
    assert_eq!(entry(&path, "artifacts/src/lib.rs").unwrap(), fs::read(ws.join("src/lib.rs")).unwrap());
    assert!(entry(&path, "artifacts/missing.md").is_none());
    let am: Value = serde_json::from_slice(&entry(&path, "artifacts_manifest.json").unwrap()).unwrap();
    assert_eq!(am["capture_mode"], "raw");
    let v = s.program("wrkr-verify").arg(&path).output().unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stderr));
    let report: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(report["files_verified"], 7);

    // The pipe: raw records need --unsafe-capture-raw on both sides, and give the same bytes.
    let (stream, _) = records(&s, "job_e", &["--unsafe-capture-raw"]);
    let refused = pack_stdin(&s, stream.clone(), &["--json"]);
    assert_eq!(refused.status.code(), Some(8));
    assert_eq!(envelope(&refused.stderr)["code"], "E_UNSAFE_OPERATION");
    let piped = pack_stdin(&s, stream, &["--unsafe-capture-raw"]);
    assert_eq!(piped.status.code(), Some(0), "{}", String::from_utf8_lossy(&piped.stderr));
    assert_eq!(piped.stdout, fs::read(&path).unwrap());
}

#[test]
fn signed_export_verifies_with_the_key() {
    let s = Sandbox::new();
    job_with_workspace(&s);
    let k = s.wrkr().args(["keygen", "--out", "keys"]).output().unwrap();
    assert_eq!(k.status.code(), Some(0), "{}", String::from_utf8_lossy(&k.stderr));
    let (code, stdout, stderr) = export(&s, &["job_e", "--sign", "keys/wrkr_ed25519.key"]);
    assert_eq!(code, 0, "{stderr}");
    let path = pack_path(&s, "wrkr-out", "job_e");
    let sig = PathBuf::from(format!("{}.sig", path.display()));
    assert!(stdout.contains(&format!("signature={}", sig.display())), "{stdout}");
    assert!(sig.is_file());
    let v = s.wrkr().args(["verify", "job_e", "--pubkey", "keys/wrkr_ed25519.pub"]).output().unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stderr));
    let bad_key = s.wrkr().args(["--json", "export", "job_e", "--sign", "keys/nope.key"]).output().unwrap();
    assert_ne!(bad_key.status.code(), Some(0));
}

#[test]
fn hostile_job_ids_missing_jobs_and_unwritable_out_dirs_change_nothing() {
    let s = Sandbox::new();
    job_with_workspace(&s);
    fs::write(s.work().join("a_file"), "not a directory").unwrap();
    let cases: [(&[&str], i32, &str); 5] = [
        (&["export", "../etc"], 6, "E_INVALID_INPUT_SCHEMA"),
        (&["export", "no_such_job"], 6, "E_INVALID_INPUT_SCHEMA"),
        (&["export", "job_e", "--out-dir", "a_file"], 1, "E_GENERIC_FAILURE"),
        (&["receipt", "no_such_job"], 6, "E_INVALID_INPUT_SCHEMA"),
        (&["job", "inspect", "no_such_job"], 6, "E_INVALID_INPUT_SCHEMA"),
    ];
    for (args, code, reason) in cases {
        let (home, work) = (tree(s.home()), tree(s.work()));
        let out = s.wrkr().arg("--json").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(envelope(&out.stderr)["code"], reason, "{args:?}");
        assert_eq!(tree(s.home()), home, "{args:?}: store unchanged");
        assert_eq!(tree(s.work()), work, "{args:?}: nothing written");
    }
    let out = s.program("wrkr-events").args(["--json", "--records", "no_such_job"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(envelope(&out.stderr)["details"]["job_id"], "no_such_job");
}

#[test]
fn a_job_without_a_workspace_lists_every_artifact_as_missing() {
    let s = Sandbox::new();
    append(&s, "job_n", &[checkpoint("plan", &["a.txt"], &["b.txt"])]);
    let out = s.wrkr().args(["--json", "export", "job_n"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["missing_artifacts"], json!(["a.txt", "b.txt"]));
}

/// Export reads ledger lines on a zero-copy scan and copies payloads that are already canonical;
/// every line it is unsure of (a `\u` escape, `-0`, an integer beyond 2^53, ...) takes the strict
/// parser. Either way the pack must be the bytes the `Value` path made before the scan existed:
/// each golden `<name>.zip` was exported from `<name>.jsonl` by the build before the fast path
/// for its events, and the pipeline must agree with it too. `wrkr-events --records` prints each
/// record as the build before its copying path did (`<name>.records.jsonl`): the packer
/// canonicalizes, so only this golden holds the printed key order and spellings.
/// - `odd_ledger` (events the projection does not read): unsorted keys, escapes, odd numbers,
///   whitespace, null / missing / non-object payloads, non-ASCII key order, a blank line, an extra
///   top-level key;
/// - `odd_checkpoints` (events it reads, now also from the scan: checkpoints, status, counters,
///   step ends): mistyped, missing and non-string members, non-object deltas and budgets, an
///   empty `producer_version`, `required_action` of each shape, escaped keys and paths.
#[test]
fn odd_ledger_lines_export_the_bytes_the_value_path_made() {
    for (name, job) in [("odd_ledger", "job_odd"), ("odd_checkpoints", "job_oddcp")] {
        let s = Sandbox::new();
        let dir = s.home().join("jobs").join(job);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(support::fixture(&format!("export/{name}.jsonl")), dir.join("events.jsonl")).unwrap();
        let golden = fs::read(support::fixture(&format!("export/{name}.zip"))).unwrap();
        let (code, _, stderr) = export(&s, &[job]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let pack = fs::read(pack_path(&s, "wrkr-out", job)).unwrap();
        assert!(pack == golden, "{name}: export differs from the golden pack");
        let (stream, _) = records(&s, job, &[]);
        let printed = fs::read(support::fixture(&format!("export/{name}.records.jsonl"))).unwrap();
        assert!(stream == printed, "{name}: wrkr-events --records differs from its golden");
        let piped = pack_stdin(&s, stream, &[]);
        assert!(piped.stdout == golden, "{name}: wrkr-events --records | wrkr-pack differs from the golden pack");
    }
}

/// The ledger line that claims `a.txt`, the artifact of [`workspace_with_a_txt`].
const CLAIMS_A_TXT: &str = r#"{"seq":2,"created_at":"2026-02-13T18:00:01Z","type":"checkpoint_emitted","payload":{"type":"plan","summary":"s","status":"running","artifacts_delta":{"added":["a.txt"],"changed":[],"removed":[]}}}"#;

/// A workspace named `name` in the sandbox, holding `a.txt`.
fn workspace_with_a_txt(s: &Sandbox, name: &str) -> PathBuf {
    let ws = s.work().join(name);
    fs::create_dir_all(&ws).unwrap();
    fs::write(ws.join("a.txt"), "artifact\n").unwrap();
    ws
}

/// The record stream hashed `a.txt` in its workspace (found, by content).
fn assert_a_txt_hashed(stream: &[u8], stderr: &str) {
    assert!(!stderr.contains("a.txt"), "a.txt is found in the workspace: {stderr}");
    let manifest = stream
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice::<Value>(line).unwrap())
        .find(|record| record["schema_id"] == "wrkr.artifacts_manifest")
        .unwrap();
    assert_eq!(manifest["artifacts"][0]["path"], "a.txt", "{manifest}");
    assert_eq!(manifest["artifacts"][0]["sha256"], sha256_hex(b"artifact\n"), "{manifest}");
}

/// The spec event is read on its scan too (a 25,000-step spec is 1 MB as a line, about 20 MB as a
/// document): its workspace, written with every escape a ledger may hold (`\/`, `\"`, `\\`), is
/// the directory the artifacts are hashed in, by `wrkr export` and by `wrkr-events --records`.
#[test]
fn a_spec_workspace_with_escapes_is_where_artifacts_are_hashed() {
    let s = Sandbox::new();
    let ws = workspace_with_a_txt(&s, "work \"space\" \\ é");
    let escaped = serde_json::to_string(&ws.display().to_string()).unwrap().replace('/', "\\/");
    assert!(escaped.contains("\\/") && escaped.contains("\\\"") && escaped.contains("\\\\"), "{escaped}");
    let dir = s.home().join("jobs").join("job_ws");
    fs::create_dir_all(&dir).unwrap();
    let lines = [
        format!(
            r#"{{"seq":1,"created_at":"2026-02-13T18:00:00Z","type":"x-jobspec_recorded","payload":{{"jobspec":{{"name":"j","inputs":{{"steps":[{{"id":"s1","command":"true"}}]}}}},"spec_path":"spec.yaml","workspace":{escaped}}}}}"#
        ),
        CLAIMS_A_TXT.to_owned(),
    ];
    fs::write(dir.join("events.jsonl"), lines.join("\n") + "\n").unwrap();
    let (stream, stderr) = records(&s, "job_ws", &[]);
    assert_a_txt_hashed(&stream, &stderr);
    let (code, _, stderr) = export(&s, &["job_ws"]);
    assert_eq!(code, 0, "{stderr}");
    let pack = fs::read(pack_path(&s, "wrkr-out", "job_ws")).unwrap();
    assert!(pack_stdin(&s, stream, &[]).stdout == pack, "the pipeline makes the export's bytes");
}

/// A checkpoint that fails its schema fails the export with the error the `Value` path gave
/// (the line path hands such a record back to it), and no pack is written.
#[test]
fn an_invalid_checkpoint_fails_export_as_before() {
    let s = Sandbox::new();
    let dir = s.home().join("jobs").join("job_badcp");
    fs::create_dir_all(&dir).unwrap();
    let first = r#"{"seq":1,"created_at":"2026-02-13T18:00:00Z","type":"x","payload":{}}"#;
    let bad = r#"{"seq":2,"created_at":"2026-02-13T18:00:01Z","type":"checkpoint_emitted","payload":{"type":"bogus","summary":"s","status":"running"}}"#;
    fs::write(dir.join("events.jsonl"), format!("{first}\n{bad}\n")).unwrap();
    let out = s.wrkr().args(["--json", "export", "job_badcp"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let env = envelope(&out.stderr);
    assert_eq!(env["code"], "E_INVALID_INPUT_SCHEMA", "{env}");
    let why = r#""bogus" is not one of "plan", "progress" or 3 other candidates"#;
    assert_eq!(env["message"], format!("checkpoint schema invalid: /type: {why}"), "{env}");
    assert_eq!(env["details"], json!({"schema_id": "wrkr.checkpoint", "pointer": "/type", "error": why}), "{env}");
    assert!(!pack_path(&s, "wrkr-out", "job_badcp").exists(), "no pack from an invalid checkpoint");
}

/// A spec line too big to index (over 64 KiB: a JobSpec of thousands of steps) is read from its
/// bytes, one object at a time: its `wrkr.event` record is the one the `Value` path makes, in the
/// pack (canonical) and in `wrkr-events --records` (as serde_json prints it), and its workspace
/// is where artifacts are hashed. A damaged big spec line is the same corruption error as a small one.
#[test]
fn a_big_spec_line_makes_the_records_the_value_path_makes() {
    let s = Sandbox::new();
    let ws = workspace_with_a_txt(&s, "w\"s");
    let steps: Vec<Value> =
        (0..3000).map(|i| json!({"id": format!("s{i}"), "command": "echo \"é\" / \u{1}", "n": 1.5})).collect();
    let payload =
        json!({"jobspec": {"name": "big", "inputs": {"steps": steps}}, "spec_path": "spec.yaml", "workspace": ws});
    let first = format!(
        r#"{{"seq":1,"created_at":"2026-02-13T18:00:00Z","type":"x-jobspec_recorded","payload":{}}}"#,
        serde_json::to_string(&payload).unwrap().replace('/', "\\/")
    );
    assert!(first.len() > 100 * 1024, "{}", first.len());
    let checkpoint = CLAIMS_A_TXT;
    let dir = s.home().join("jobs").join("job_big");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("events.jsonl"), format!("{first}\n{checkpoint}\n")).unwrap();
    let expected = json!({"schema_id": "wrkr.event", "schema_version": "v1", "created_at": "2026-02-13T18:00:00Z",
        "producer_version": env!("CARGO_PKG_VERSION"), "event_id": "evt_1", "job_id": "job_big",
        "type": "x-jobspec_recorded", "executed": true, "payload": wrkr::json::parse(serde_json::to_string(&payload).unwrap().as_bytes()).unwrap()});
    let (stream, stderr) = records(&s, "job_big", &[]);
    assert_a_txt_hashed(&stream, &stderr);
    let printed = stream.split(|b| *b == b'\n').next().unwrap();
    assert_eq!(String::from_utf8_lossy(printed), serde_json::to_string(&expected).unwrap());
    let (code, _, stderr) = export(&s, &["job_big"]);
    assert_eq!(code, 0, "{stderr}");
    let pack = pack_path(&s, "wrkr-out", "job_big");
    let events = entry(&pack, "events.jsonl").unwrap();
    let first_record = events.split(|b| *b == b'\n').next().unwrap();
    assert_eq!(String::from_utf8_lossy(first_record), String::from_utf8(wrkr::jcs::value_to_vec(&expected)).unwrap());
    assert!(pack_stdin(&s, stream, &[]).stdout == fs::read(&pack).unwrap(), "the pipeline makes the export's bytes");
    // A duplicate key deep in the big line: the corruption error a small line gets, the ledger
    // left as it is and the earlier pack kept.
    let twice = first.replacen(r#""n":1.5"#, r#""n":1.5,"n":2"#, 1);
    let ledger = format!("{twice}\n{checkpoint}\n");
    fs::write(dir.join("events.jsonl"), &ledger).unwrap();
    let earlier = fs::read(&pack).unwrap();
    for argv in [
        &["--json", "export", "job_big"][..],
        &["--json", "events", "--records", "job_big"],
        &["--json", "events", "job_big"],
    ] {
        let out = s.wrkr().args(argv).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{argv:?}");
        let env = envelope(&out.stderr);
        assert_eq!(env["code"], "E_STORE_CORRUPT", "{argv:?}: {env}");
        assert!(
            env["message"].as_str().unwrap().starts_with("ledger line 1: duplicate object key \"n\""),
            "{argv:?}: {env}"
        );
    }
    assert_eq!(fs::read_to_string(dir.join("events.jsonl")).unwrap(), ledger, "the ledger is left as it is");
    assert!(fs::read(&pack).unwrap() == earlier, "the earlier pack is kept");
}

/// A damaged ledger line is the store's corruption error naming the line, on the scan's path
/// (`wrkr-events --records` reads the ledger only through it) as from `wrkr export`, and no pack
/// is written.
#[test]
fn a_corrupt_ledger_line_fails_export_naming_it() {
    let s = Sandbox::new();
    let dir = s.home().join("jobs").join("job_bad");
    fs::create_dir_all(&dir).unwrap();
    let good = r#"{"seq":1,"created_at":"2026-02-13T18:00:00Z","type":"x","payload":{}}"#;
    for (bad, why) in [
        (r#"{"seq":2,"created_at":"2026-02-13T18:00:01Z","type":"x","payload":{"a":1,"a":2}}"#, "duplicate"),
        (r#"{"seq":3,"created_at":"2026-02-13T18:00:01Z","type":"x","payload":{}}"#, "gap before"),
        (r#"{"seq":2,"created_at":"yesterday","type":"x"}"#, "created_at"),
        (r#"{"seq":2,"created_at":"2026-02-13T18:00:01Z","type":"x","payload":{"a":tru}}"#, "expected"),
    ] {
        fs::write(dir.join("events.jsonl"), format!("{good}\n{bad}\n")).unwrap();
        for argv in [&["--json", "export", "job_bad"][..], &["--json", "events", "--records", "job_bad"]] {
            let out = s.wrkr().args(argv).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{argv:?} {bad}");
            let env = envelope(&out.stderr);
            assert_eq!(env["code"], "E_STORE_CORRUPT", "{argv:?} {bad}: {env}");
            let message = env["message"].as_str().unwrap();
            assert!(message.starts_with("ledger line 2: ") && message.contains(why), "{argv:?} {bad}: {message}");
        }
        assert!(!pack_path(&s, "wrkr-out", "job_bad").exists(), "no pack from a corrupt ledger");
    }
}
