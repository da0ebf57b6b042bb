//! The foundation through the real binary: schema fixtures (ours and the Go implementation's),
//! generated man pages and completions, hostile input to the pipe tools, and a closed stdout.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use support::{Sandbox, fixture, repo};

fn sorted_files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

/// Every valid fixture passes through unchanged; every invalid one exits 6 and names the expected
/// JSON Pointer.
#[test]
fn schema_fixtures_accept_and_reject() {
    let sandbox = Sandbox::new();
    let root = fixture("schemas");
    let mut schema_dirs: Vec<_> =
        fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    schema_dirs.sort();
    assert_eq!(schema_dirs.len(), 14, "one fixture folder per schema");
    let (mut valid, mut invalid) = (0, 0);
    for dir in schema_dirs {
        let schema_id = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in sorted_files(&dir.join("valid"), "json") {
            let input = fs::read(&file).unwrap();
            let out = sandbox.program("wrkr-schema").write_stdin(input.clone()).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.stdout, input, "{}: valid records pass through byte for byte", file.display());
            valid += 1;
        }
        for file in sorted_files(&dir.join("invalid"), "json") {
            let want = fs::read_to_string(file.with_extension("pointer")).unwrap().trim_end_matches('\n').to_owned();
            // Force the schema: some fixtures break the schema_id itself.
            let out = sandbox
                .program("wrkr-schema")
                .args(["--json", "--schema", &schema_id])
                .write_stdin(fs::read(&file).unwrap())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(6), "{} must be rejected", file.display());
            assert!(out.stdout.is_empty(), "{}: an invalid record must not pass through", file.display());
            let stderr = String::from_utf8_lossy(&out.stderr);
            let pointers: Vec<String> = stderr
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v.get("pointer").and_then(|p| p.as_str()).map(str::to_owned))
                .collect();
            assert!(pointers.contains(&want), "{}: expected pointer {want:?}, got {pointers:?}", file.display());
            invalid += 1;
        }
    }
    assert!(valid >= 28 && invalid >= 42, "fixture counts: {valid} valid, {invalid} invalid");
}

/// The JSON the Go implementation printed validates against our schemas.
#[test]
fn go_fixtures_validate() {
    let sandbox = Sandbox::new();
    let docs = [
        "go-wrkr/status_blocked_decision.json",
        "go-wrkr/error_envelope_job_not_found.json",
        "go-wrkr/github_summary_journey.json",
    ];
    for rel in docs {
        let out = sandbox.program("wrkr-schema").arg("--doc").arg(fixture(rel)).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{rel}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A JSON array of checkpoints and a `{payload: work_item}` wrapper: validate their records as JSONL.
    let list: serde_json::Value =
        serde_json::from_slice(&fs::read(fixture("go-wrkr/checkpoint_list_blocked_decision.json")).unwrap()).unwrap();
    let bridge: serde_json::Value =
        serde_json::from_slice(&fs::read(fixture("go-wrkr/bridge_work_item_dry_run.json")).unwrap()).unwrap();
    let mut jsonl = String::new();
    for cp in list.as_array().unwrap() {
        jsonl.push_str(&format!("{cp}\n"));
    }
    jsonl.push_str(&format!("{}\n", bridge["payload"]));
    let out = sandbox.program("wrkr-schema").write_stdin(jsonl.clone()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), jsonl);
    assert_eq!(jsonl.lines().count(), 4, "three checkpoints and one work item");
}

/// The checked-in man pages and completions are exactly what the binary generates.
#[test]
fn generated_docs_are_checked_in() {
    let sandbox = Sandbox::new();
    for (kind, dir) in [("man", "man"), ("completions", "completions")] {
        let out_dir = sandbox.work().join(kind);
        sandbox.wrkr().args(["--generate", kind]).arg(&out_dir).assert().success();
        let generated = support::tree(&out_dir);
        let checked_in = support::tree(&repo().join(dir));
        assert!(!generated.is_empty());
        assert_eq!(
            generated.keys().collect::<Vec<_>>(),
            checked_in.keys().collect::<Vec<_>>(),
            "{dir}/ has other files than the binary generates: run `make man`"
        );
        for (name, bytes) in &generated {
            assert!(checked_in[name] == *bytes, "{dir}/{} is stale: run `make man`", name.display());
        }
    }
}

/// Every man page and command has one page, and `mandoc -T lint` finds nothing to say.
#[test]
fn man_pages_lint_clean() {
    let pages = sorted_files(&repo().join("man"), "1");
    let list = Sandbox::new().wrkr().arg("help").output().unwrap();
    assert!(pages.len() >= 5, "wrkr.1 plus one page per tool and command");
    for page in &pages {
        let name = page.file_stem().unwrap().to_string_lossy().into_owned();
        if name != "wrkr" {
            let short = name.trim_start_matches("wrkr-");
            assert!(
                String::from_utf8_lossy(&list.stdout).contains(&format!("    {short} ")),
                "{name} is in `wrkr help`"
            );
        }
    }
    let out = std::process::Command::new("mandoc")
        .args(["-T", "lint", "-W", "all"])
        .args(&pages)
        .output()
        .expect("mandoc is needed for this test: apt-get install mandoc (.ci/run installs it)");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "mandoc -T lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `wrkr ARGS INPUT`, read the first line of its stdout and close the pipe while the tool
/// still has output to write, as `| head -1` does; the line and how the tool ended.
fn first_line_then_close(args: &[&str], input: &Path) -> (String, std::process::Output) {
    let mut child = std::process::Command::new(support::bin())
        .args(args)
        .arg(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is dropped here: the pipe closes.
    (first, child.wait_with_output().unwrap())
}

/// `wrkr-jcs | head -1`: the closed pipe ends the tool quietly with exit 0.
#[test]
fn closed_stdout_is_success() {
    let sandbox = Sandbox::new();
    let input = sandbox.work().join("many.jsonl");
    let mut f = fs::File::create(&input).unwrap();
    for i in 0..200_000 {
        writeln!(f, "{{\"i\":{i},\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}").unwrap();
    }
    drop(f);
    let (first, out) = first_line_then_close(&["jcs"], &input);
    assert_eq!(first, "{\"i\":0,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "no noise on a closed pipe: {}", String::from_utf8_lossy(&out.stderr));
}

/// `--sha256` hashes on a second thread in batches: over many batches every line's answer is the
/// sha256 of its canonical form, in input order, in both output forms; a bad line stops the run
/// with every line before it answered; with `--keep-going` every good line is answered in order.
#[test]
fn sha256_lines_stay_in_order_across_batches_and_errors() {
    let sandbox = Sandbox::new();
    // ~4 MiB, lines of varying length, keys out of order (so each is rewritten, not copied).
    let lines: Vec<String> =
        (0..30_000).map(|i| format!("{{\"pad\":\"{}\",\"i\":{i},\"f\":{}.5}}", "y".repeat(i % 200), i % 97)).collect();
    let canonical = sandbox.program("wrkr-jcs").write_stdin(lines.join("\n")).output().unwrap();
    assert!(canonical.status.success());
    let canonical: Vec<&[u8]> = canonical.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(canonical.len(), lines.len());
    let json_form = |c: &[u8]| format!("{{\"sha256\":\"{}\",\"bytes\":{}}}", wrkr::digest::sha256_hex(c), c.len());
    let text_form = |c: &[u8]| format!("{}  {}", wrkr::digest::sha256_hex(c), c.len());

    let out = sandbox.program("wrkr-jcs").arg("--sha256").write_stdin(lines.join("\n")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want: Vec<String> = canonical.iter().map(|c| json_form(c)).collect();
    assert!(String::from_utf8(out.stdout).unwrap().lines().eq(want.iter().map(String::as_str)), "--sha256");
    let out = sandbox.program("wrkr-jcs").args(["--sha256", "--text"]).write_stdin(lines.join("\n")).output().unwrap();
    let want: Vec<String> = canonical.iter().map(|c| text_form(c)).collect();
    assert!(String::from_utf8(out.stdout).unwrap().lines().eq(want.iter().map(String::as_str)), "--text");

    // Line 20,001 is not JSON: exit 6 naming it, and the 20,000 lines before it all answered.
    let mut broken = lines.clone();
    broken[20_000] = "{\"i\":".to_owned();
    let out = sandbox.program("wrkr-jcs").arg("--sha256").write_stdin(broken.join("\n")).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 20001"), "{}", String::from_utf8_lossy(&out.stderr));
    let want: Vec<String> = canonical[..20_000].iter().map(|c| json_form(c)).collect();
    assert!(String::from_utf8(out.stdout).unwrap().lines().eq(want.iter().map(String::as_str)), "before the error");

    // With --keep-going, every third thousandth line bad: the rest answered, in order.
    let mut holes = lines.clone();
    let bad: Vec<usize> = (0..30).map(|k| k * 1000 + 3).collect();
    bad.iter().for_each(|&i| holes[i] = "nope".to_owned());
    let out =
        sandbox.program("wrkr-jcs").args(["--sha256", "--keep-going"]).write_stdin(holes.join("\n")).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("30 of 30000 inputs"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<String> =
        canonical.iter().enumerate().filter(|(i, _)| !bad.contains(i)).map(|(_, c)| json_form(c)).collect();
    assert!(String::from_utf8(out.stdout).unwrap().lines().eq(want.iter().map(String::as_str)), "--keep-going");
}

/// `wrkr-jcs --sha256 | head -1`: a closed pipe under the hashing thread is still a quiet exit 0.
#[test]
fn closed_stdout_under_sha256_is_success() {
    let sandbox = Sandbox::new();
    let input: String = (0..200_000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    let path = sandbox.work().join("many.jsonl");
    fs::write(&path, input).unwrap();
    let (first, out) = first_line_then_close(&["jcs", "--sha256"], &path);
    assert_eq!(first, format!("{{\"sha256\":\"{}\",\"bytes\":7}}\n", wrkr::digest::sha256_hex(b"{\"i\":0}")));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "no noise on a closed pipe: {}", String::from_utf8_lossy(&out.stderr));
}

/// Hostile JSONL: deep nesting, invalid UTF-8, NUL bytes, an oversized line. Each is a clean exit 6
/// that names the line; none crashes.
#[test]
fn hostile_jsonl_is_rejected_cleanly() {
    let sandbox = Sandbox::new();
    let deep = format!("{}{}\n", "[".repeat(200_000), "]".repeat(200_000));
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("deep nesting", deep.into_bytes(), "line 1:", "recursion limit exceeded"),
        ("invalid utf-8", b"{\"a\":\"\xff\xfe\"}\n".to_vec(), "line 1:", "invalid unicode"),
        ("nul byte", b"{}\n{\"a\":\x00}\n".to_vec(), "line 2:", "expected value"),
        ("truncated", b"{\"a\":[1,2\n".to_vec(), "line 1:", "EOF while parsing"),
        ("two values", b"{} {}\n".to_vec(), "line 1:", "trailing characters"),
        (
            "oversized",
            [b"[\"".as_slice(), &vec![b'x'; 2 << 20], b"\"]\n"].concat(),
            "line 1:",
            "longer than 1048576 bytes",
        ),
    ];
    for (what, input, line, want) in cases {
        for program in ["wrkr-jcs", "wrkr-schema"] {
            let out = sandbox
                .program(program)
                .args(["--max-line-bytes", "1048576"])
                .write_stdin(input.clone())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(6), "{program} {what}: {stderr}");
            assert!(
                stderr.contains(line) && stderr.contains(want),
                "{program} {what}: expected {line} {want:?} in {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{program} {what}");
        }
    }
}

/// The record of the JSON envelope: `--json` errors carry the real code and exit code.
#[test]
fn error_envelope_is_schema_valid() {
    let sandbox = Sandbox::new();
    let out = sandbox.wrkr().args(["nosuchtool", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(out.stdout.is_empty());
    let env = support::envelope(&out.stderr);
    assert_eq!(env["code"], "E_INVALID_INPUT_SCHEMA");
    assert_eq!(env["exit_code"], 6);
    let check = sandbox.program("wrkr-schema").arg("--doc").write_stdin(out.stderr).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
}

/// `wrkr init` refuses to overwrite (exit 6, file unchanged), overwrites with --force, and what it
/// writes is a JobSpec the loader accepts.
#[test]
fn init_never_clobbers() {
    let sandbox = Sandbox::new();
    let spec = sandbox.work().join("jobspec.yaml");
    fs::write(&spec, "mine\n").unwrap();
    let out = sandbox.wrkr().args(["init", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(support::envelope(&out.stderr)["code"], "E_INVALID_INPUT_SCHEMA");
    assert_eq!(fs::read_to_string(&spec).unwrap(), "mine\n", "the existing file is untouched");
    sandbox.wrkr().args(["init", "--force"]).assert().success().stdout("jobspec=jobspec.yaml\n");
    let written = fs::read_to_string(&spec).unwrap();
    assert!(written.starts_with("# A wrkr JobSpec"));
    let leftovers: Vec<_> = fs::read_dir(sandbox.work()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temp files left behind: {leftovers:?}");
}
