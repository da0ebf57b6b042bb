//! Jobpack behaviour through the real binary: Go interop both ways, reproducible packing from a
//! record stream, signatures, receipts, inspect/diff, and hostile zips.

mod support;

use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use support::{Sandbox, envelope, fixture};
use wrkr::pack::zipread::ZipReader;

fn go(name: &str) -> std::path::PathBuf {
    fixture(&format!("go-wrkr/{name}"))
}

/// The entries of a zip, in central-directory order (sorted by name).
fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let zip = ZipReader::open(fs::File::open(path).unwrap(), 1 << 30).unwrap();
    zip.entries()
        .iter()
        .map(|e| {
            let mut b = Vec::new();
            zip.reader(e).read_to_end(&mut b).unwrap();
            (e.name.clone(), b)
        })
        .collect()
}

/// The record stream of Go's journey pack: every record, one per line.
fn journey_records() -> Vec<String> {
    let mut out = Vec::new();
    for (name, bytes) in entries(&go("jobpack_journey.zip")) {
        if name == "manifest.json" {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        out.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned));
    }
    out
}

fn pack(sandbox: &Sandbox, records: &[String]) -> Vec<u8> {
    let out = sandbox.program("wrkr-pack").write_stdin(records.join("\n") + "\n").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn verify_json(sandbox: &Sandbox, args: &[&str]) -> (i32, Value, Value) {
    let out = sandbox.program("wrkr-verify").arg("--json").args(args).output().unwrap();
    let stdout = if out.stdout.is_empty() { Value::Null } else { serde_json::from_slice(&out.stdout).unwrap() };
    let stderr = if out.stderr.is_empty() { Value::Null } else { envelope(&out.stderr) };
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn go_fixtures_verify_with_gos_file_counts() {
    let s = Sandbox::new();
    for (name, files, id) in [("jobpack_demo.zip", 4, "job_demo_1795484825"), ("jobpack_journey.zip", 6, "job_j")] {
        let path = go(name);
        let (code, report, _) = verify_json(&s, &[path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}");
        assert_eq!(report["files_verified"], files);
        assert_eq!(report["job_id"], id);
        let keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["job_id", "manifest_sha256", "files_verified", "checks"]);
        let text = s.wrkr().args(["verify", path.to_str().unwrap()]).output().unwrap();
        let line = String::from_utf8(text.stdout).unwrap();
        assert!(
            line.starts_with(&format!("verified job_id={id} manifest=sha256:"))
                && line.ends_with(&format!(" files={files}\n"))
        );
        let pretty = s.wrkr().args(["--json", "verify", path.to_str().unwrap()]).output().unwrap();
        assert!(String::from_utf8(pretty.stdout).unwrap().contains(&format!("\"job_id\": \"{id}\"")));
    }
}

#[test]
fn go_fixtures_inspect() {
    let s = Sandbox::new();
    let out = s.wrkr().args(["job", "inspect"]).arg(go("jobpack_journey.zip")).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().next(), Some("job_id=job_j status=completed events=22 checkpoints=5 approvals=1"));
    // Text says the state in words; --json (below) keeps Go's summary.
    assert!(text.contains(" checkpoint cp_11 decision-needed, waiting for a decision"), "{text}");
    assert!(text.contains(" approval approval_1 cp_11"), "{text}");
    let out = s.wrkr().args(["--json", "job", "inspect"]).arg(go("jobpack_journey.zip")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"decision-needed:blocked_decision\""));
    let out = s.wrkr().args(["--json", "job", "inspect"]).arg(go("jobpack_demo.zip")).output().unwrap();
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = view["event_count"].as_u64().unwrap() + view["checkpoint_count"].as_u64().unwrap();
    assert_eq!(view["timeline"].as_array().unwrap().len() as u64, n);
}

/// Records → pack: verifies; every entry except manifest.json is byte-identical to Go's pack of
/// the same job; manifest created_at is the latest record time; entry set and order as digest 2.2.
#[test]
fn pack_from_records_matches_go_entries() {
    let s = Sandbox::new();
    let bytes = pack(&s, &journey_records());
    let path = s.work().join("ours.zip");
    fs::write(&path, &bytes).unwrap();
    let (code, report, _) = verify_json(&s, &[path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(report["files_verified"], 6);
    let ours = entries(&path);
    let theirs = entries(&go("jobpack_journey.zip"));
    let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "accept/accept_result.json",
            "approvals.jsonl",
            "artifacts_manifest.json",
            "checkpoints.jsonl",
            "events.jsonl",
            "job.json",
            "manifest.json"
        ]
    );
    for ((n, a), (_, b)) in ours.iter().zip(&theirs) {
        if n != "manifest.json" {
            assert!(a == b, "{n} differs from Go's");
        }
    }
    let manifest: Value = serde_json::from_slice(&ours[6].1).unwrap();
    let latest = journey_records()
        .iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap()["created_at"].as_str().unwrap().to_owned())
        .max()
        .unwrap();
    assert_eq!(manifest["created_at"], latest.as_str());
    assert_eq!(manifest.as_object().unwrap().len(), 7);
    // The two packs differ only in the manifest: job diff sees no file or record change.
    let d = s.wrkr().args(["--json", "job", "diff"]).arg(go("jobpack_journey.zip")).arg(&path).output().unwrap();
    let d: Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(d["changed"], serde_json::json!([]));
    assert_eq!(d["records"]["events"]["changed"], serde_json::json!([]));
}

#[test]
fn shuffled_records_give_identical_bytes() {
    let s = Sandbox::new();
    let records = journey_records();
    let reference = pack(&s, &records);
    let mut reversed = records.clone();
    reversed.reverse();
    let mut interleaved: Vec<String> = records.iter().step_by(2).cloned().collect();
    interleaved.extend(records.iter().skip(1).step_by(2).cloned());
    let mut rotated = records.clone();
    rotated.rotate_left(7);
    for order in [reversed, interleaved, rotated] {
        assert!(pack(&s, &order) == reference, "a reordered stream changed the bytes");
    }
    // -o FILE: the same bytes, written atomically with mode 0600, plus a JSONL summary line.
    let out = s.program("wrkr-pack").args(["-o", "p.zip"]).write_stdin(records.join("\n")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(fs::read(s.work().join("p.zip")).unwrap() == reference);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(s.work().join("p.zip")).unwrap().permissions().mode() & 0o777, 0o600);
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(line["footer"].as_str().unwrap().starts_with("WRKR job_id=job_j manifest=sha256:"));
}

#[test]
fn pipe_pack_into_verify_stdin() {
    let s = Sandbox::new();
    let bytes = pack(&s, &journey_records());
    let out = s.program("wrkr-verify").arg("-").write_stdin(bytes).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files_verified"], 6);
}

#[test]
fn minimal_stream_has_empty_jsonl_and_no_approvals() {
    let s = Sandbox::new();
    let records: Vec<String> = journey_records()
        .into_iter()
        .filter(|r| r.contains("\"wrkr.job\"") || r.contains("\"wrkr.artifacts_manifest\""))
        .collect();
    assert_eq!(records.len(), 2);
    let path = s.work().join("min.zip");
    fs::write(&path, pack(&s, &records)).unwrap();
    let names: Vec<(String, usize)> = entries(&path).into_iter().map(|(n, b)| (n, b.len())).collect();
    let names: Vec<(&str, usize)> = names.iter().map(|(n, l)| (n.as_str(), *l)).collect();
    assert_eq!(names[1..3], [("checkpoints.jsonl", 0), ("events.jsonl", 0)]);
    assert_eq!(names.len(), 5);
    assert_eq!(verify_json(&s, &[path.to_str().unwrap()]).0, 0);
}

#[test]
fn pack_rejects_bad_streams_with_exit_6() {
    let s = Sandbox::new();
    let records = journey_records();
    let job = records.iter().find(|r| r.contains("\"wrkr.job\"")).unwrap().clone();
    let event1 = records.iter().find(|r| r.contains("\"evt_1\"")).unwrap().clone();
    let other_job = job.replace("\"job_j\"", "\"job_k\"");
    let without = |needle: &str| records.iter().filter(|r| !r.contains(needle)).cloned().collect::<Vec<_>>();
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("two job records", [records.clone(), vec![job.clone()]].concat(), "two wrkr.job records"),
        ("another job's record", [records.clone(), vec![other_job]].concat(), "job_k"),
        ("duplicate event, in order", [vec![event1.clone()], records.clone()].concat(), "duplicate event id evt_1"),
        ("duplicate event, out of order", [records.clone(), vec![event1]].concat(), "duplicate event id evt_1"),
        ("no job", without("\"wrkr.job\""), "no wrkr.job record"),
        ("no artifacts manifest", without("\"wrkr.artifacts_manifest\""), "no wrkr.artifacts_manifest record"),
        ("not for a pack", [records.clone(), vec![r#"{"schema_id":"wrkr.lease"}"#.into()]].concat(), "wrkr.lease"),
        ("bad event", [records.clone(), vec![r#"{"schema_id":"wrkr.event"}"#.into()]].concat(), "event schema invalid"),
        ("not JSON", [records.clone(), vec!["{nope".into()]].concat(), "line 32"),
    ];
    for (what, stream, expect) in cases {
        let out = s.program("wrkr-pack").arg("--json").write_stdin(stream.join("\n")).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{what}");
        assert!(out.stdout.is_empty(), "{what}: wrote a partial pack");
        let env = envelope(&out.stderr);
        assert_eq!(env["code"], "E_INVALID_INPUT_SCHEMA", "{what}");
        assert!(env["message"].as_str().unwrap().contains(expect), "{what}: {}", env["message"]);
    }
}

#[test]
fn signatures_sign_verify_wrong_key_tampered_missing() {
    let s = Sandbox::new();
    let w = s.work();
    for dir in ["a", "b"] {
        let out = s.wrkr().args(["keygen", "--out", dir]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(w.join("a/wrkr_ed25519.key")).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(s.wrkr().args(["keygen", "--out", "a"]).output().unwrap().status.code(), Some(6), "never overwrites");
    let records = journey_records().join("\n");
    let out = s
        .program("wrkr-pack")
        .args(["-o", "p.zip", "--sign", "a/wrkr_ed25519.key"])
        .write_stdin(records.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let sig: Value = serde_json::from_slice(&fs::read(w.join("p.zip.sig")).unwrap()).unwrap();
    assert_eq!(sig["algorithm"], "ed25519");
    assert_eq!(sig["message_format"], "wrkr.jobpack.v1");

    let (code, report, _) = verify_json(&s, &["p.zip", "--pubkey", "a/wrkr_ed25519.pub"]);
    assert_eq!(code, 0);
    assert_eq!(report["checks"].as_array().unwrap().last().unwrap()["result"], "valid");
    let (_, report, _) = verify_json(&s, &["p.zip"]);
    assert!(
        report["checks"].as_array().unwrap().last().unwrap()["result"].as_str().unwrap().starts_with("well-formed")
    );

    let expect_fail = |args: &[&str], message: &str| {
        let (code, _, env) = verify_json(&s, args);
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(env["code"], "E_VERIFY_HASH_MISMATCH");
        assert_eq!(env["message"], message, "{args:?}");
    };
    expect_fail(&["p.zip", "--pubkey", "b/wrkr_ed25519.pub"], "signature made by a different key");
    // A different pack (same key) does not inherit the signature.
    let out = s
        .program("wrkr-pack")
        .args(["-o", "q.zip"])
        .write_stdin(records.replace("\"reason\":\"ok\"", "\"reason\":\"fine\""))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    fs::copy(w.join("p.zip.sig"), w.join("q.zip.sig")).unwrap();
    expect_fail(&["q.zip", "--pubkey", "a/wrkr_ed25519.pub"], "signature is for a different pack");
    // A forged signature value.
    let mut forged = sig.clone();
    let hex = forged["signature"].as_str().unwrap().to_owned();
    forged["signature"] = Value::String(format!("{}{}", if hex.starts_with('0') { "1" } else { "0" }, &hex[1..]));
    fs::write(w.join("p.zip.sig"), serde_json::to_vec(&forged).unwrap()).unwrap();
    expect_fail(&["p.zip", "--pubkey", "a/wrkr_ed25519.pub"], "signature invalid");
    expect_fail(&["p.zip"], "signature invalid");
    // A tampered pack fails on its hashes before the signature is looked at.
    fs::write(w.join("p.zip.sig"), serde_json::to_vec(&sig).unwrap()).unwrap();
    let mut bytes = fs::read(w.join("p.zip")).unwrap();
    let at = bytes.windows(5).position(|x| x == b"job_j").unwrap();
    bytes[at + 4] = b'k';
    fs::write(w.join("t.zip"), &bytes).unwrap();
    fs::copy(w.join("p.zip.sig"), w.join("t.zip.sig")).unwrap();
    let (code, _, _) = verify_json(&s, &["t.zip", "--pubkey", "a/wrkr_ed25519.pub"]);
    assert!(code == 1 || code == 2, "tampered pack verified");
    // Missing signature.
    fs::remove_file(w.join("p.zip.sig")).unwrap();
    expect_fail(&["p.zip", "--pubkey", "a/wrkr_ed25519.pub"], "signature missing");
    assert_eq!(verify_json(&s, &["p.zip"]).0, 0, "no --pubkey, no .sig: fine");
    fs::write(w.join("p.zip.sig"), b"{}").unwrap();
    assert_eq!(verify_json(&s, &["p.zip"]).0, 2, "a malformed .sig is caught without --pubkey");
}

#[test]
fn all_reports_every_finding() {
    let s = Sandbox::new();
    let v = fixture("jobpacks/undeclared_extra_entry/pack.zip");
    let dst = s.work().join("x.zip");
    // Two undeclared entries: build from the vector plus another extra, via our own writer.
    let mut zip = wrkr::pack::zipwrite::ZipWriter::new(Vec::new());
    for (n, b) in entries(&v) {
        zip.entry(&n, &b).unwrap();
    }
    zip.entry("zz.txt", b"more").unwrap();
    fs::write(&dst, zip.finish().unwrap().0).unwrap();
    let (code, _, env) = verify_json(&s, &["--all", dst.to_str().unwrap()]);
    assert_eq!(code, 2);
    let findings = env["details"]["findings"].as_array().unwrap();
    let paths: Vec<&str> = findings.iter().map(|f| f["details"]["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["notes.txt", "zz.txt"]);
    let (_, _, first) = verify_json(&s, &[dst.to_str().unwrap()]);
    assert_eq!(first["details"]["path"], "notes.txt", "first finding is deterministic");
}

#[test]
fn verify_by_job_id_under_out_dir() {
    let s = Sandbox::new();
    let dir = s.work().join("out/jobpacks");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(go("jobpack_journey.zip"), dir.join("jobpack_job_j.zip")).unwrap();
    let out = s.wrkr().args(["verify", "job_j", "--out-dir", "out"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = s.wrkr().args(["--json", "verify", "job_nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(envelope(&out.stderr)["code"], "E_GENERIC_FAILURE");
}

#[test]
fn receipt_and_footer_parsing() {
    let s = Sandbox::new();
    let out = s.wrkr().arg("receipt").arg(go("jobpack_journey.zip")).output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    let expected = "WRKR job_id=job_j manifest=sha256:86b24ace685974f875febbb3871c7b1681394809ec7bb8d1a2a70b5bbf14804c verify=\"wrkr verify job_j\"\n";
    assert_eq!(line, expected);
    let out = s.wrkr().args(["receipt", "--parse", expected.trim_end()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["job_id"], "job_j");
    let out =
        s.wrkr().args(["--json", "receipt", "--parse", "WRKR job_id=job_j manifest=sha256:abc"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(envelope(&out.stderr)["message"], "invalid ticket footer format");
    let out = s.wrkr().arg("receipt").arg(fixture("jobpacks/tampered_job_byte/pack.zip")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no receipt for a pack that does not verify");
}

#[test]
fn max_entry_bytes_is_enforced() {
    let s = Sandbox::new();
    let (code, _, env) = verify_json(&s, &["--max-entry-bytes", "1000", go("jobpack_journey.zip").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(env["details"]["path"], "checkpoints.jsonl");
}

/// Build a zip of `n` empty stored entries by hand (our writer stops at 65,535 entries).
fn many_entries(n: u32, zip64_end: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for i in 0..n {
        let name = format!("f{i:06}");
        let offset = out.len() as u32;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        out.extend_from_slice(&[0; 12]);
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    let count = if zip64_end { 0xFFFF } else { n as u16 };
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

/// Hostile: 100,000 entries needs zip64 (refused, exit 1); 60,000 undeclared entries and no
/// manifest is refused quickly and without a panic.
#[test]
fn hostile_many_entries() {
    let s = Sandbox::new();
    fs::write(s.work().join("100k.zip"), many_entries(100_000, true)).unwrap();
    let (code, _, env) = verify_json(&s, &["100k.zip"]);
    assert_eq!((code, env["code"].as_str()), (1, Some("E_GENERIC_FAILURE")));
    fs::write(s.work().join("60k.zip"), many_entries(60_000, false)).unwrap();
    let started = std::time::Instant::now();
    let (code, _, env) = verify_json(&s, &["60k.zip"]);
    assert_eq!((code, env["message"].as_str()), (1, Some("jobpack missing manifest.json")));
    assert!(started.elapsed().as_secs() < 20);
}

/// The journey pack with `events` in place of its events (hashes and manifest made consistent).
fn journey_with_events(events: &[u8]) -> Vec<u8> {
    use wrkr::pack::manifest::{FileDigest, Manifest};
    let mut files: Vec<(String, Vec<u8>)> =
        entries(&go("jobpack_journey.zip")).into_iter().filter(|(n, _)| n != "manifest.json").collect();
    for (name, bytes) in &mut files {
        if name == "events.jsonl" {
            *bytes = events.to_vec();
        }
    }
    let digests =
        files.iter().map(|(n, b)| FileDigest { path: n.clone(), sha256: wrkr::digest::sha256_hex(b) }).collect();
    let manifest = Manifest::seal("job_j", wrkr::contract::time::Timestamp::from_unix(1_800_000_000, 0), digests);
    files.push(("manifest.json".into(), manifest.to_jcs()));
    files.sort();
    let mut zip = wrkr::pack::zipwrite::ZipWriter::new(Vec::new());
    for (n, b) in &files {
        zip.entry(n, b).unwrap();
    }
    zip.finish().unwrap().0
}

/// A large events entry is checked on several threads: the findings must be the ones a line-by-line
/// pass gives, in line order, with the same first finding with and without `--all`.
#[test]
fn large_events_entry_reports_findings_in_line_order() {
    let s = Sandbox::new();
    let template = entries(&go("jobpack_journey.zip"))
        .into_iter()
        .find(|(n, _)| n == "events.jsonl")
        .map(|(_, b)| String::from_utf8(b).unwrap().lines().next().unwrap().to_owned())
        .unwrap();
    let bad = [(5_000, "executed"), (9_000, "json"), (9_001, "duplicate"), (11_999, "executed")];
    let mut events = String::new();
    for i in 1..=12_000 {
        let line = template.replace("\"evt_1\"", &format!("\"evt_{i}\""));
        let line = match bad.iter().find(|(at, _)| *at == i).map(|b| b.1) {
            Some("executed") => line.replace("\"executed\":true", "\"executed\":\"yes\""),
            Some("json") => line[..line.len() / 2].to_owned(),
            Some(_) => line.replacen("\"executed\":true", "\"executed\":true,\"executed\":true", 1),
            None => line,
        };
        events.push_str(&line);
        events.push('\n');
    }
    assert!(events.len() > 2 << 20, "large enough for the threaded path");
    fs::write(s.work().join("big.zip"), journey_with_events(events.as_bytes())).unwrap();

    let (code, _, all) = verify_json(&s, &["--all", "big.zip"]);
    assert_eq!(code, 6, "{all}");
    let findings = all["details"]["findings"].as_array().unwrap();
    let lines: Vec<u64> = findings.iter().map(|f| f["details"]["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [5_000, 9_000, 9_001, 11_999]);
    let errors: Vec<&str> = findings.iter().map(|f| f["details"]["error"].as_str().unwrap()).collect();
    assert_eq!(errors[0], r#"/executed: "yes" is not of type "boolean""#);
    assert!(errors[1].starts_with("invalid JSON: EOF while parsing"), "{}", errors[1]);
    assert!(errors[2].starts_with(r#"invalid JSON: duplicate object key "executed""#), "{}", errors[2]);
    assert_eq!(errors[3], errors[0]);

    let (code, _, first) = verify_json(&s, &["big.zip"]);
    assert_eq!(code, 6);
    assert_eq!(first["details"]["line"], 5_000);
    assert_eq!(first["details"]["error"], errors[0]);
    assert!(first["details"].get("findings").is_none());
}
