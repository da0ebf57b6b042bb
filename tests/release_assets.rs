//! What a release ships, checked by the scripts the release workflow and `make release-check` run:
//! scripts/verify_release_assets.sh over a dist output directory (archives, checksums, the source
//! tarball, the shell installer, the Homebrew formula, the SBOM, the binary itself), and
//! scripts/publish_homebrew_formula.py, which checks the formula against the archives and commits
//! it to the tap through `gh api` (here a fake `gh` that plays the GitHub contents API).
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::repo;

const HOST: &str = "wrkr-x86_64-unknown-linux-gnu";

fn script(path: &str) -> Command {
    let mut cmd = Command::new(repo().join(path));
    cmd.current_dir(repo());
    cmd
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// A Homebrew formula shaped as dist writes it: per platform a `url` of a v`version` release
/// asset and, on the next line, its `sha256` (or none, as dist writes it when it has no checksum).
fn formula(version: &str, archives: &[(&str, Option<&str>)]) -> String {
    let mut text = format!(
        "class Wrkr < Formula\n  desc \"Durable jobs\"\n  homepage \"https://github.com/wrkr-dev/wrkr\"\n  version \"{version}\"\n"
    );
    for (name, sha) in archives {
        text.push_str(&format!(
            "  if OS.linux?\n    url \"https://github.com/wrkr-dev/wrkr/releases/download/v{version}/{name}\"\n"
        ));
        if let Some(sha) = sha {
            text.push_str(&format!("    sha256 \"{sha}\"\n"));
        }
        text.push_str("  end\n");
    }
    text.push_str("  license \"MIT\"\n  BINARY_ALIASES = {\n    \"x86_64-unknown-linux-gnu\": {\n      \"wrkr\": [\n");
    let tools: Vec<String> = pipe_tools().iter().map(|tool| format!("        \"{tool}\"")).collect();
    text.push_str(&tools.join(",\n"));
    text.push_str("\n      ]\n    }\n  }\nend\n");
    text
}

/// `wrkr --list`: the pipe tools, each a link to the binary.
fn pipe_tools() -> &'static [String] {
    static TOOLS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TOOLS.get_or_init(|| {
        let out = Command::new(support::bin()).arg("--list").output().unwrap();
        String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
    })
}

/// The installer and the formula make the same tool links as `make install`: dist-workspace.toml's
/// bin-aliases names exactly the tools `wrkr --list` prints.
#[test]
fn dist_bin_aliases_are_the_pipe_tools() {
    let config = std::fs::read_to_string(repo().join("dist-workspace.toml")).unwrap();
    let line = config.lines().find(|l| l.starts_with("bin-aliases = { wrkr = [")).expect("bin-aliases for wrkr");
    let aliases: Vec<String> = line.split('"').skip(1).step_by(2).map(str::to_owned).collect();
    assert_eq!(aliases, pipe_tools());
}

/// A dist output directory in miniature, as `make release-check` leaves it: the host archive (a
/// wrapper around this build's binary, with README, LICENSE, man/ and completions/) and its
/// .sha256, the source tarball, sha256.sum over both, the shell installer, the Homebrew formula
/// and a CycloneDX SBOM.
fn fake_distrib(dir: &Path, with_license: bool) {
    let stage = dir.join("stage").join(HOST);
    std::fs::create_dir_all(stage.join("man")).unwrap();
    std::fs::create_dir_all(stage.join("completions")).unwrap();
    std::fs::write(stage.join("man/wrkr.1"), ".TH WRKR 1\n").unwrap();
    std::fs::write(stage.join("completions/wrkr.bash"), "complete -F _wrkr wrkr\n").unwrap();
    std::fs::write(stage.join("README.md"), "# wrkr\n").unwrap();
    if with_license {
        std::fs::write(stage.join("LICENSE"), "MIT\n").unwrap();
    }
    write_executable(&stage.join("wrkr"), &format!("#!/bin/sh\nexec '{}' \"$@\"\n", support::bin().display()));
    std::fs::create_dir_all(dir.join("stage/wrkr-0.1.0")).unwrap();
    std::fs::write(dir.join("stage/wrkr-0.1.0/Cargo.toml"), "[package]\nname = \"wrkr\"\n").unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let tar = |args: &[&str]| {
        let status = Command::new("tar").args(args).current_dir(dir.join("stage")).status().unwrap();
        assert!(status.success());
    };
    let archive = out.join(format!("{HOST}.tar.xz"));
    tar(&["-cJf", archive.to_str().unwrap(), HOST]);
    let source = out.join("source.tar.gz");
    tar(&["-czf", source.to_str().unwrap(), "wrkr-0.1.0"]);
    let (archive_sha, source_sha) = (sha256_hex(&archive), sha256_hex(&source));
    std::fs::write(out.join(format!("{HOST}.tar.xz.sha256")), format!("{archive_sha} *{HOST}.tar.xz\n")).unwrap();
    std::fs::write(out.join("source.tar.gz.sha256"), format!("{source_sha} *source.tar.gz\n")).unwrap();
    std::fs::write(out.join("sha256.sum"), format!("{source_sha} *source.tar.gz\n{archive_sha} *{HOST}.tar.xz\n"))
        .unwrap();
    let installer = format!(
        "#!/bin/sh\ncase \"$1\" in\n  \"{HOST}.tar.xz\")\n    _arch=x86_64-unknown-linux-gnu\n    ;;\nesac\necho '{{\"wrkr\":[\"{}\"]}}'\n",
        pipe_tools().join("\",\"")
    );
    write_executable(&out.join("wrkr-installer.sh"), &installer);
    let archive_name = format!("{HOST}.tar.xz");
    std::fs::write(out.join("wrkr.rb"), formula("0.1.0", &[(&archive_name, Some(&archive_sha))])).unwrap();
    let sbom = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
        "components": [{"name": "serde", "components": [{"name": "serde_derive"}]}, {"name": "sha2"}]});
    std::fs::write(out.join("wrkr.cdx.json"), sbom.to_string()).unwrap();
}

/// scripts/verify_release_assets.sh passes a good directory (checksums, contents, the source
/// tarball, installer, formula, SBOM, the binary runs version and demo) and holds the binary to
/// cargo auditable and the size budget when asked.
#[test]
fn verify_release_assets_passes_a_good_directory_and_runs_the_binary() {
    let check = |dir: &Path| script("scripts/verify_release_assets.sh").arg(dir.join("out")).output().unwrap();
    let good = tempfile::TempDir::new().unwrap();
    fake_distrib(good.path(), true);
    let out = check(good.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("wrkr.cdx.json: CycloneDX, 3 components"), "{stdout}");
    assert!(stdout.contains("wrkr demo ok"), "{stdout}");
    assert!(stdout.contains("cargo auditable data not checked (not-elf)"), "{stdout}");
    // Was: dist's source.tar.gz was taken for a binary archive ("does not hold source/wrkr").
    assert!(stdout.contains("source.tar.gz: sha256 ok, the crate's source"), "{stdout}");
    assert!(stdout.contains("wrkr-installer.sh: parses, offers every archive"), "{stdout}");
    assert!(stdout.contains("wrkr.rb: version 0.1.0, 1 archives, each sha256 matches"), "{stdout}");
    assert!(stdout.contains("wrkr.rb: links the 7 pipe tools"), "{stdout}");
    assert!(stdout.contains("ok: 2 archives, 1 SBOM, installer, Homebrew formula"), "{stdout}");
    // A release build must carry cargo auditable's dependency list; the fake's binary is a script.
    let out = script("scripts/verify_release_assets.sh")
        .arg(good.path().join("out"))
        .env("REQUIRE_AUDITABLE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the binary is not an ELF file (not-elf)"));
    assert!(stdout.contains("under the 8388608 budget"), "{stdout}");
    // A binary at or over the size budget (8 MiB unless MAX_BINARY_BYTES says otherwise) fails.
    let wrapper_bytes = std::fs::metadata(good.path().join("stage").join(HOST).join("wrkr")).unwrap().len();
    let out = script("scripts/verify_release_assets.sh")
        .arg(good.path().join("out"))
        .env("MAX_BINARY_BYTES", wrapper_bytes.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let want = format!("the binary is {wrapper_bytes} bytes, over the size budget of {wrapper_bytes}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&want), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The same checks on broken directories: each names what is wrong (a test of its own so that it
/// runs beside the one above).
#[test]
fn verify_release_assets_names_what_is_wrong() {
    let check = |dir: &Path| script("scripts/verify_release_assets.sh").arg(dir.join("out")).output().unwrap();
    let good = tempfile::TempDir::new().unwrap();
    fake_distrib(good.path(), true);
    let fails_with = |dir: &Path, want: &str| {
        let out = check(dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(want), "want {want:?} in {stderr}");
    };
    // Each broken file is put back before the next, so each case fails for its own reason.
    let break_file = |name: &str, text: &str, want: &str| {
        let path = good.path().join("out").join(name);
        let original = std::fs::read(&path).unwrap();
        std::fs::write(&path, text).unwrap();
        fails_with(good.path(), want);
        std::fs::write(&path, original).unwrap();
    };
    let zeros = "0".repeat(64);
    break_file(&format!("{HOST}.tar.xz.sha256"), &format!("{zeros} *{HOST}.tar.xz\n"), "checksum file says");
    // Was: an archive missing from sha256.sum passed (dist leaves it out when the global build
    // has no local manifest), and so did a formula that pins another file or nothing.
    let source_line =
        std::fs::read_to_string(good.path().join("out/sha256.sum")).unwrap().lines().next().unwrap().to_owned();
    break_file("sha256.sum", &format!("{source_line}\n"), &format!("{HOST}.tar.xz is not in sha256.sum"));
    let archive_name = format!("{HOST}.tar.xz");
    break_file("wrkr.rb", &formula("0.1.0", &[(&archive_name, Some(&zeros))]), "wrkr.rb does not match the archives");
    break_file("wrkr.rb", &formula("0.1.0", &[(&archive_name, None)]), "wrkr.rb does not match the archives");
    break_file("wrkr-installer.sh", "#!/bin/sh\necho none\n", &format!("does not offer {HOST}.tar.xz"));
    let installer = std::fs::read_to_string(good.path().join("out/wrkr-installer.sh")).unwrap();
    break_file(
        "wrkr-installer.sh",
        &installer.replace("\"wrkr-pack\",", ""),
        "wrkr-installer.sh does not link wrkr-pack",
    );
    break_file("wrkr-installer.sh", "#!/bin/sh\ncase x in\n", "wrkr-installer.sh does not parse");
    break_file("wrkr.cdx.json", "{not json", "does not parse as a CycloneDX SBOM");
    std::fs::remove_file(good.path().join("out/wrkr.cdx.json")).unwrap();
    fails_with(good.path(), "no CycloneDX SBOM");

    let no_license = tempfile::TempDir::new().unwrap();
    fake_distrib(no_license.path(), false);
    fails_with(no_license.path(), &format!("does not hold {HOST}/LICENSE"));
}

/// A `gh` that serves `gh api repos/T/contents/Formula/F` (GET, and PUT with `--input -`) from a
/// directory, as GitHub's contents API does: a 404 for a file not there, a 409 for a PUT that
/// does not name the blob it replaces. Every PUT body is appended to `puts.jsonl`.
const FAKE_GH: &str = r#"#!/usr/bin/env python3
import base64, hashlib, json, os, sys
state = os.environ["FAKE_TAP"]
args = sys.argv[1:]
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = [a for a in args if a.startswith("repos/")][0]
file = os.path.join(state, path.replace("/", "_"))
current = open(file, "rb").read() if os.path.exists(file) else None
blob = hashlib.sha1(current).hexdigest() if current is not None else None
if method == "GET":
    if current is None:
        sys.exit("gh: Not Found (HTTP 404)")
    print(json.dumps({"sha": blob, "content": base64.encodebytes(current).decode()}))
    sys.exit(0)
body = json.load(sys.stdin)
with open(os.path.join(state, "puts.jsonl"), "a") as log:
    log.write(json.dumps({"path": path, **body}) + "\n")
if body.get("sha") != blob:
    sys.exit("gh: does not match (HTTP 409)")
open(file, "wb").write(base64.b64decode(body["content"]))
print(json.dumps({"commit": {"sha": "c0ffee"}}))
"#;

/// scripts/publish_homebrew_formula.py: refuses a formula that does not pin the archives beside
/// it, creates Formula/wrkr.rb in the tap, does nothing when the tap already holds it, and updates
/// it (naming the blob it replaces) for a new release.
#[test]
fn homebrew_formula_is_checked_then_committed_to_the_tap_once() {
    let dir = tempfile::TempDir::new().unwrap();
    let (assets, state, bin) = (dir.path().join("dist"), dir.path().join("tap"), dir.path().join("bin"));
    for d in [&assets, &state, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    write_executable(&bin.join("gh"), FAKE_GH);
    let targets = ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin"];
    let release = |version: &str| {
        let mut pins = Vec::new();
        for target in targets {
            let name = format!("wrkr-{target}.tar.xz");
            std::fs::write(assets.join(&name), format!("wrkr {version} for {target}\n")).unwrap();
            pins.push((name.clone(), sha256_hex(&assets.join(&name))));
        }
        let pins: Vec<(&str, Option<&str>)> = pins.iter().map(|(n, s)| (n.as_str(), Some(s.as_str()))).collect();
        std::fs::write(assets.join("wrkr.rb"), formula(version, &pins)).unwrap();
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let run = |args: &[&str], token: &str| -> Output {
        script("scripts/publish_homebrew_formula.py")
            .args(args)
            .arg(assets.join("wrkr.rb"))
            .env("PATH", format!("{}:{path}", bin.display()))
            .env("FAKE_TAP", &state)
            .env("GH_TOKEN", token)
            .output()
            .unwrap()
    };
    let puts = || std::fs::read_to_string(state.join("puts.jsonl")).unwrap_or_default().lines().count();
    let tap_formula = state.join("repos_wrkr-dev_homebrew-tap_contents_Formula_wrkr.rb");

    release("0.1.0");
    let out = run(&["--check", "--version", "v0.1.0"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrkr.rb: version 0.1.0, 2 archives, each sha256 matches"));

    let refused = |args: &[&str], want: &str| {
        let out = run(args, "token");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(want), "want {want:?} in {stderr}");
        assert_eq!(puts(), 0, "nothing is published after a failed check");
    };
    refused(&["--version", "0.2.0"], "wrkr.rb is for version 0.1.0, not 0.2.0");
    std::fs::write(assets.join("wrkr-aarch64-apple-darwin.tar.xz"), "tampered").unwrap();
    refused(&["--version", "0.1.0"], "sha256 of wrkr-aarch64-apple-darwin.tar.xz is");
    std::fs::remove_file(assets.join("wrkr-aarch64-apple-darwin.tar.xz")).unwrap();
    refused(&["--version", "0.1.0"], "names wrkr-aarch64-apple-darwin.tar.xz, which is not among the assets");
    std::fs::write(assets.join("wrkr.rb"), formula("0.1.0", &[("wrkr-x86_64-unknown-linux-gnu.tar.xz", None)]))
        .unwrap();
    refused(&["--version", "0.1.0"], "wrkr-x86_64-unknown-linux-gnu.tar.xz has no sha256");
    release("0.1.0");
    let out = run(&["--version", "0.1.0", "--tap", "no-slash"], "token");
    assert_eq!(out.status.code(), Some(2), "a usage error: {out:?}");
    let out = run(&["--version", "0.1.0"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("GH_TOKEN is empty"), "{out:?}");

    let out = run(&["--version", "0.1.0"], "token");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrkr-dev/homebrew-tap: Formula/wrkr.rb created"));
    assert_eq!(std::fs::read(&tap_formula).unwrap(), std::fs::read(assets.join("wrkr.rb")).unwrap());
    let first: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(state.join("puts.jsonl")).unwrap().trim()).unwrap();
    assert_eq!(first["message"], "wrkr 0.1.0");
    assert!(first.get("sha").is_none(), "a new file names no blob: {first}");

    // The same release again (a re-run job): no commit.
    let out = run(&["--version", "0.1.0"], "token");
    assert!(String::from_utf8_lossy(&out.stdout).contains("already holds wrkr 0.1.0; nothing to do"), "{out:?}");
    assert_eq!(puts(), 1);

    release("0.2.0");
    let out = run(&["--version", "v0.2.0"], "token");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Formula/wrkr.rb updated (c0ffee)"), "{out:?}");
    assert_eq!(puts(), 2);
    assert_eq!(std::fs::read(&tap_formula).unwrap(), std::fs::read(assets.join("wrkr.rb")).unwrap());
}
