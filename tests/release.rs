//! Release engineering through the real binary and the real scripts: the build stamp that
//! `wrkr version` reports, and the repository checks that keep a release honest.

mod support;

use std::process::Command;

use support::{Sandbox, repo};

#[path = "../build/stamp.rs"]
mod stamp;

fn git(args: &[&str]) -> Option<String> {
    stamp::run_git(&repo(), args)
}

fn version_json() -> serde_json::Value {
    let out = Sandbox::new().wrkr().args(["--json", "version"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Was: the commit and date were read from variables nobody set, so every build said
/// `commit=none date=unknown`. build.rs now stamps the commit this binary was built from.
#[test]
fn version_json_reports_the_commit_it_was_built_from() {
    let v = version_json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["commit", "date", "source", "version"]);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    // A release build may pin the commit through WRKR_COMMIT (source `env`); otherwise a checkout
    // reports its HEAD and a tree without git says so.
    if v["source"] != "env" {
        match git(&["rev-parse", "HEAD"]) {
            Some(head) => assert_eq!((&v["source"], &v["commit"]), (&"git".into(), &head.into())),
            None => assert_eq!(v["source"], "source build without git"),
        }
    }
}

/// The date is the commit's date (or SOURCE_DATE_EPOCH), never the build's clock.
#[test]
fn version_date_is_the_commit_date_not_the_clock() {
    let v = version_json();
    let pinned = v["source"] == "env" || std::env::var_os("SOURCE_DATE_EPOCH").is_some();
    if let (false, Some(secs)) = (pinned, git(&["log", "-1", "--format=%ct", "HEAD"])) {
        let secs: i64 = secs.parse().unwrap();
        assert_eq!(v["date"], stamp::rfc3339_utc(secs).as_str());
    }
    let date = v["date"].as_str().unwrap();
    assert!(date == "unknown" || (date.len() == 20 && date.ends_with('Z')), "{date}");
}

fn stamp_with(env: &[(&str, &str)], git: Option<(&str, &str)>) -> stamp::Stamp {
    let env_lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
    let git_run = |args: &[&str]| match (git, args.first().copied()) {
        (Some((commit, _)), Some("rev-parse")) => Some(commit.to_owned()),
        (Some((_, secs)), Some("log")) => Some(secs.to_owned()),
        _ => None,
    };
    stamp::stamp(&stamp::Inputs { env: &env_lookup, git: &git_run })
}

#[test]
fn a_source_build_without_git_says_so() {
    let s = stamp_with(&[], None);
    assert_eq!((s.commit.as_str(), s.date.as_str(), s.source), ("none", "unknown", "source build without git"));
    // A tarball build for a distribution pins the date the reproducible-builds way.
    let s = stamp_with(&[("SOURCE_DATE_EPOCH", "1700000000")], None);
    assert_eq!((s.commit.as_str(), s.date.as_str()), ("none", "2023-11-14T22:13:20Z"));
}

#[test]
fn stamp_precedence_env_then_source_date_epoch_then_commit_date() {
    let head = "0123456789abcdef0123456789abcdef01234567";
    let s = stamp_with(&[], Some((head, "951782400")));
    assert_eq!((s.commit.as_str(), s.date.as_str(), s.source), (head, "2000-02-29T00:00:00Z", "git"));
    let s = stamp_with(&[("SOURCE_DATE_EPOCH", "0")], Some((head, "951782400")));
    assert_eq!(s.date, "1970-01-01T00:00:00Z");
    let s = stamp_with(&[("WRKR_BUILD_DATE", "2026-01-02T03:04:05Z"), ("WRKR_COMMIT", "v1.0.0")], Some((head, "1")));
    assert_eq!((s.commit.as_str(), s.date.as_str(), s.source), ("v1.0.0", "2026-01-02T03:04:05Z", "env"));
    // Garbage from git (not a commit id) is not reported as a commit.
    let s = stamp_with(&[], Some(("fatal: not a git repository", "x")));
    assert_eq!(s.source, "source build without git");
}

/// Was: build.rs told cargo to rerun it whenever HEAD moved, also when WRKR_COMMIT fixed the
/// stamp, so every commit rebuilt the whole crate (the instrumented fuzz build: many minutes) for
/// a binary that came out the same. A fixed commit now reruns it only when a variable changes.
#[test]
fn a_fixed_commit_does_not_rebuild_when_head_moves() {
    let git = |args: &[&str]| match args {
        ["rev-parse", "--absolute-git-dir"] => Some("/src/.git/worktrees/wt".to_owned()),
        ["rev-parse", "--git-common-dir"] => Some("../.git".to_owned()),
        ["symbolic-ref", "-q", "HEAD"] => Some("refs/heads/hard".to_owned()),
        _ => None,
    };
    let dir = std::path::Path::new("/src/wt");
    let from_git = stamp::rerun_paths(&stamp::Inputs { env: &|_| None, git: &git }, dir);
    let want = ["/src/.git/worktrees/wt/HEAD", "/src/wt/../.git/refs/heads/hard", "/src/wt/../.git/packed-refs"];
    assert_eq!(from_git, want.map(std::path::PathBuf::from), "a stamp from git follows HEAD and its branch");
    let fixed = |name: &str| (name == "WRKR_COMMIT").then(|| "fuzz".to_owned());
    assert_eq!(stamp::rerun_paths(&stamp::Inputs { env: &fixed, git: &git }, dir), Vec::<std::path::PathBuf>::new());
    let blank = |name: &str| (name == "WRKR_COMMIT").then(|| " ".to_owned());
    assert_eq!(stamp::rerun_paths(&stamp::Inputs { env: &blank, git: &git }, dir).len(), 3, "blank is unset");
}

#[test]
fn rfc3339_matches_known_instants() {
    for (secs, want) in [
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (1_709_164_800, "2024-02-29T00:00:00Z"),
        (4_102_444_799, "2099-12-31T23:59:59Z"),
    ] {
        assert_eq!(stamp::rfc3339_utc(secs), want);
    }
}

fn script(path: &str) -> Command {
    let mut cmd = Command::new(repo().join(path));
    cmd.current_dir(repo());
    cmd
}

/// Every `unsafe` in the shipped code says why it is sound (make sast-fast lists them).
#[test]
fn every_unsafe_block_in_src_has_a_safety_comment() {
    let out = script("scripts/unsafe_audit.py").args(["src", "build", "build.rs"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("without a SAFETY comment"), "{stdout}");
    assert!(!stdout.contains("NO SAFETY COMMENT"), "{stdout}");
}

/// The audit fails on a block without a justification, names it, and is not fooled by the word
/// in strings or comments.
#[test]
fn unsafe_audit_fails_on_an_unjustified_block() {
    let dir = tempfile::TempDir::new().unwrap();
    let source = "fn ok() {\n    // SAFETY: getpid has no preconditions.\n    unsafe { libc::getpid() };\n}\n\
                  fn words() -> String { format!(\"unsafe {}\", 1) } // unsafe { in a comment\n\
                  fn bad() {\n    let _x = 1;\n    unsafe { libc::getpid() };\n}\n";
    std::fs::write(dir.path().join("lib.rs"), source).unwrap();
    let out = script("scripts/unsafe_audit.py").arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("lib.rs:3: unsafe block: getpid has no preconditions."), "{stdout}");
    assert!(stdout.contains("lib.rs:8: unsafe block: NO SAFETY COMMENT"), "{stdout}");
    assert!(stdout.contains("2 unsafe sites, 1 without"), "{stdout}");
}

/// A release directory as the action downloads it: v<version>/wrkr-<target>.tar.xz holding this
/// build's binary, and the archive's sha256. (The action fetches the x86_64 Linux archive.)
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn fake_release(dir: &std::path::Path) -> String {
    let target = "x86_64-unknown-linux-gnu";
    let stage = dir.join("stage").join(format!("wrkr-{target}"));
    std::fs::create_dir_all(&stage).unwrap();
    // A wrapper, not a copy of the 100+ MB debug binary: compressing that takes minutes.
    let wrapper = format!("#!/bin/sh\nexec '{}' \"$@\"\n", support::bin().display());
    std::fs::write(stage.join("wrkr"), wrapper).unwrap();
    std::fs::set_permissions(stage.join("wrkr"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(dir.join("base/v0.1.0")).unwrap();
    let archive = dir.join(format!("base/v0.1.0/wrkr-{target}.tar.xz"));
    let ok = Command::new("tar")
        .arg("-cJf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.join("stage"))
        .arg(format!("wrkr-{target}"))
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("sha256sum").arg(&archive).output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn action(
    sandbox: &Sandbox,
    release: &std::path::Path,
    sha: &str,
    pack: &str,
    summary: &std::path::Path,
) -> std::process::Output {
    Command::new(repo().join(".github/actions/wrkr-verify-accept/wrkr-verify-accept.sh"))
        .current_dir(sandbox.work())
        .env("WRKR_HOME", sandbox.home())
        .env("WRKR_VERSION", "0.1.0")
        .env("WRKR_SHA256", sha)
        .env("WRKR_JOBPACK", pack)
        .env("WRKR_RELEASE_BASE", format!("file://{}", release.join("base").display()))
        .env("RUNNER_TEMP", release.join("runner"))
        .env("GITHUB_STEP_SUMMARY", summary)
        .env_remove("WRKR_ACCEPT_CONFIG")
        .output()
        .unwrap()
}

/// The composite action's shell steps, run as GitHub would but against a file:// release: the
/// checksum gate, verify, the step summary and the reports.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn verify_accept_action_installs_checks_and_summarises() {
    let sandbox = Sandbox::new();
    let demo = sandbox.wrkr().arg("demo").output().unwrap();
    assert!(demo.status.success(), "{demo:?}");
    let stdout = String::from_utf8(demo.stdout).unwrap();
    let pack = stdout.lines().find_map(|l| l.strip_prefix("jobpack=")).unwrap().to_owned();
    let release = tempfile::TempDir::new().unwrap();
    let sha = fake_release(release.path());
    let summary = sandbox.work().join("step_summary.md");

    let out = action(&sandbox, release.path(), &sha, &pack, &summary);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("- verify: **ok**"), "{text}");
    assert!(text.contains("- acceptance: not configured"), "{text}");
    assert!(text.matches("## ").count() >= 2, "wrkr report github appended its summary too: {text}");
    let reports: Vec<String> = std::fs::read_dir(sandbox.work().join("wrkr-out/reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(reports.iter().any(|n| n.starts_with("github_summary_") && n.ends_with(".md")), "{reports:?}");

    // A wrong checksum: nothing from the archive runs and the summary is not touched.
    let before = std::fs::read_to_string(&summary).unwrap();
    let out = action(&sandbox, release.path(), &"0".repeat(64), &pack, &summary);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), before);

    // A tampered pack: verify's exit code, and the summary says so.
    let mut bytes = std::fs::read(sandbox.work().join(&pack)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(sandbox.work().join("tampered.zip"), bytes).unwrap();
    let verify = sandbox.wrkr().args(["verify", "tampered.zip"]).output().unwrap();
    assert!(!verify.status.success());
    let out = action(&sandbox, release.path(), &sha, "tampered.zip", &summary);
    assert_eq!(out.status.code(), verify.status.code(), "verify's own exit code");
    assert!(std::fs::read_to_string(&summary).unwrap().contains("- verify: **failed**"));
}

/// The secret scan finds a token shape and honours the allow marker.
#[test]
fn secret_scan_finds_a_token() {
    let dir = tempfile::TempDir::new().unwrap();
    let token = format!("ghp_{}", "a1B2".repeat(9));
    std::fs::write(dir.path().join("leak.env"), format!("GITHUB_TOKEN={token}\n")).unwrap();
    std::fs::write(dir.path().join("fixture.txt"), format!("{token} # secret-scan: allow (test value)\n")).unwrap();
    let out = script("scripts/secret_scan.py")
        .arg(dir.path().join("leak.env"))
        .arg(dir.path().join("fixture.txt"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("leak.env:1: GitHub token"), "{stdout}");
    assert!(!stdout.contains("fixture.txt"), "{stdout}");
}

/// The branch-protection bootstrap's dry run prints exactly the requests it would send (golden),
/// the same twice, each body valid JSON, and requires every check docs/required-checks.md lists.
#[test]
fn branch_protection_dry_run_prints_the_exact_requests() {
    let run = || {
        script("scripts/bootstrap_branch_protection.sh")
            .args(["--dry-run", "--repo", "wrkr-dev/wrkr"])
            .output()
            .unwrap()
    };
    let (first, second) = (run(), run());
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(first.stdout, second.stdout);
    let text = String::from_utf8(first.stdout).unwrap();
    let golden = std::fs::read_to_string(support::fixture("release/branch_protection_dry_run.txt")).unwrap();
    assert_eq!(text, golden);
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        assert!(
            pair[0].starts_with("PUT repos/wrkr-dev/wrkr") || pair[0].starts_with("PATCH repos/wrkr-dev/wrkr"),
            "{pair:?}"
        );
        let _: serde_json::Value = serde_json::from_str(pair[1]).unwrap();
    }
    let protection: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    let doc = std::fs::read_to_string(repo().join("docs/required-checks.md")).unwrap();
    for check in protection["required_status_checks"]["contexts"].as_array().unwrap() {
        assert!(doc.contains(&format!("`{}`", check.as_str().unwrap())), "{check}");
    }
    let bad =
        script("scripts/bootstrap_branch_protection.sh").args(["--dry-run", "--repo", "noslash"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
