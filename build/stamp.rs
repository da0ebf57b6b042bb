//! The build stamp: which commit a binary was built from and when, decided without the clock.
//!
//! `wrkr version` reports these. Reproducible builds need the same bytes from the same sources, so
//! the date is never the time of the build: it is `WRKR_BUILD_DATE` when set, else
//! `SOURCE_DATE_EPOCH` (the reproducible-builds convention), else the commit's own date, else
//! `unknown`. A build from a source tree without git (a crates.io tarball, a release archive) says
//! so in `source` instead of inventing a commit. Shared by build.rs and tests/release.rs, which
//! checks the rules without building a second binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What build.rs stamps into the binary.
#[derive(Debug, PartialEq, Eq)]
pub struct Stamp {
    /// A full commit id, or `none`.
    pub commit: String,
    /// RFC 3339 UTC (`2026-11-27T12:00:00Z`), or `unknown`.
    pub date: String,
    /// Where the commit came from: `git`, `env` (WRKR_COMMIT) or `source build without git`.
    pub source: &'static str,
}

/// The inputs a stamp depends on, so a test can supply them.
pub struct Inputs<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Runs `git ARGS` in the source directory; `None` when git or the repository is missing.
    pub git: &'a dyn Fn(&[&str]) -> Option<String>,
}

pub fn stamp(inputs: &Inputs) -> Stamp {
    let env = |name: &str| (inputs.env)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let git_commit = (inputs.git)(&["rev-parse", "HEAD"]).filter(|c| is_commit_id(c));
    let (commit, source) = match (env("WRKR_COMMIT"), git_commit) {
        (Some(c), _) => (c, "env"),
        (None, Some(c)) => (c, "git"),
        (None, None) => ("none".to_owned(), "source build without git"),
    };
    let epoch = env("SOURCE_DATE_EPOCH")
        .or_else(|| if source == "git" { (inputs.git)(&["log", "-1", "--format=%ct", "HEAD"]) } else { None })
        .and_then(|s| s.trim().parse::<i64>().ok());
    let date = match (env("WRKR_BUILD_DATE"), epoch) {
        (Some(d), _) => d,
        (None, Some(secs)) => rfc3339_utc(secs),
        (None, None) => "unknown".to_owned(),
    };
    Stamp { commit, date, source }
}

/// The files whose change makes cargo run build.rs again (besides the stamping variables, which
/// always do): `HEAD` of this worktree and the branch it names, in the common git dir loose or
/// packed, when the commit comes from git. None when `WRKR_COMMIT` fixes the stamp: the commit is
/// then whatever the variable says, so a moved HEAD changes nothing in the binary, and rebuilding
/// the whole crate for it (minutes for the instrumented fuzz build, every commit) buys nothing.
/// `make fuzz-smoke` and `make test-hardening` build that way. `dir` is the source directory;
/// the caller keeps the paths that exist.
pub fn rerun_paths(inputs: &Inputs, dir: &Path) -> Vec<PathBuf> {
    if (inputs.env)("WRKR_COMMIT").is_some_and(|v| !v.trim().is_empty()) {
        return Vec::new();
    }
    let mut paths = Vec::new();
    if let Some(git_dir) = (inputs.git)(&["rev-parse", "--absolute-git-dir"]) {
        paths.push(Path::new(&git_dir).join("HEAD"));
    }
    if let (Some(common), Some(branch)) =
        ((inputs.git)(&["rev-parse", "--git-common-dir"]), (inputs.git)(&["symbolic-ref", "-q", "HEAD"]))
    {
        let common = if Path::new(&common).is_absolute() { PathBuf::from(common) } else { dir.join(common) };
        paths.push(common.join(&branch));
        paths.push(common.join("packed-refs"));
    }
    paths
}

/// `git ARGS` in `dir`, trimmed; `None` on any failure (no git, not a repository).
pub fn run_git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

fn is_commit_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (days-to-civil, proleptic Gregorian).
pub fn rfc3339_utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3_600, rem % 3_600 / 60, rem % 60)
}
