//! Declarative CLI cases (the trycmd style): one folder per case under `tests/cases/`, so adding a
//! case is adding files.
//!
//! - `cmd`: the argv, one argument per line; the first line is the program name (`wrkr`,
//!   `wrkr-jcs`, ...), used as argv[0].
//! - `stdin` (optional): bytes fed to stdin.
//! - `files/` (optional): copied into the working directory before the command runs.
//! - `code`: the expected exit code.
//! - `stdout`, `stderr` (optional): the expected output, line by line, where `[..]` matches any
//!   text within a line (timestamps, versions). An empty file asserts an empty stream.
//!
//! Each case runs in a fresh sandbox (temp WRKR_HOME and working directory).

mod support;

use std::fs;
use std::path::Path;

fn matches_with_wildcards(expected: &str, actual: &str) -> bool {
    if !expected.contains("[..]") {
        return expected == actual;
    }
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    exp.len() == act.len() && exp.iter().zip(&act).all(|(e, a)| line_matches(e, a))
}

fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let mut rest = line;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else { return false };
            rest = &rest[pos + part.len()..];
        }
    }
    true
}

fn run_case(dir: &Path) -> Result<(), String> {
    let read = |name: &str| fs::read(dir.join(name)).ok();
    let cmd = String::from_utf8(read("cmd").ok_or("missing cmd")?).map_err(|e| e.to_string())?;
    let mut argv = cmd.lines();
    let program = argv.next().ok_or("empty cmd")?;
    let sandbox = support::Sandbox::new();
    if dir.join("files").is_dir() {
        copy_tree(&dir.join("files"), sandbox.work()).map_err(|e| format!("copy files/: {e}"))?;
    }
    let mut command = sandbox.program(program);
    command.args(argv);
    command.write_stdin(read("stdin").unwrap_or_default());
    let output = command.output().map_err(|e| e.to_string())?;
    let code: i32 =
        String::from_utf8_lossy(&read("code").ok_or("missing code")?).trim().parse().map_err(|_| "bad code file")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    if output.status.code() != Some(code) {
        problems.push(format!("exit code {:?}, expected {code}", output.status.code()));
    }
    if let Some(expected) = read("stdout")
        && !matches_with_wildcards(&String::from_utf8_lossy(&expected), &stdout)
    {
        problems.push(format!(
            "stdout differs:\n--- expected\n{}\n--- actual\n{stdout}",
            String::from_utf8_lossy(&expected)
        ));
    }
    if let Some(expected) = read("stderr")
        && !matches_with_wildcards(&String::from_utf8_lossy(&expected), &stderr)
    {
        problems.push(format!(
            "stderr differs:\n--- expected\n{}\n--- actual\n{stderr}",
            String::from_utf8_lossy(&expected)
        ));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[test]
fn cli_cases() {
    let root = support::repo().join("tests/cases");
    let mut dirs: Vec<_> = fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "expected the case folders under {}", root.display());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            run_case(dir).err().map(|e| format!("case {}: {e}", dir.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), dirs.len(), failures.join("\n\n"));
    println!("{} CLI cases passed", dirs.len());
}

#[test]
fn wildcard_matching() {
    assert!(line_matches("a[..]c", "abbbc"));
    assert!(line_matches("[..]", "anything"));
    assert!(!line_matches("a[..]c", "abbbd"));
    assert!(matches_with_wildcards("x\ny[..]", "x\nyz"));
    assert!(!matches_with_wildcards("x", "x\ny"));
}
