//! Expected artifacts: the JobSpec's `expected_artifacts`, checked when a job completes.
//!
//! Go validated the list and did nothing with it. Here each path is looked up in the job's
//! workspace when the job completes (symlinks followed, as export follows them); a path that is
//! absolute, climbs out with `..`, or does not exist is missing. The check never stops a job that
//! finished its steps: it is a finding, recorded in the ledger as an `x-expected_artifacts_checked`
//! event (`{expected, missing}`) in the completion batch, and a completed checkpoint that carries
//! `E_ACCEPT_MISSING_ARTIFACT` and names what is missing. The jobpack carries both, so a reviewer
//! and `wrkr status` see it; `wrkr accept` (required_artifacts) remains the gate that fails CI.

use std::path::{Component, Path};

use serde_json::json;

use crate::job::NewEvent;
use crate::job::jobspec::MAX_SUMMARY_BYTES;

/// The paths the spec expects and the ones the workspace lacks, in the spec's order.
#[derive(Debug, Default, PartialEq)]
pub struct Checked {
    pub expected: Vec<String>,
    pub missing: Vec<String>,
}

/// Look each expected path up in `workspace`.
pub fn check(workspace: &Path, expected: &[String]) -> Checked {
    let missing = expected.iter().filter(|p| !present(workspace, p)).cloned().collect();
    Checked { expected: expected.to_vec(), missing }
}

fn present(workspace: &Path, path: &str) -> bool {
    let relative = Path::new(path);
    let inside = relative.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    inside && workspace.join(relative).exists()
}

impl Checked {
    /// The ledger event, when the spec expects anything.
    pub fn event(&self) -> Option<NewEvent> {
        if self.expected.is_empty() {
            return None;
        }
        Some(NewEvent::new("x-expected_artifacts_checked", json!({"expected": self.expected, "missing": self.missing})))
    }

    /// The completed checkpoint's summary: `base`, plus what is missing, within the summary limit.
    pub fn summary(&self, base: &str) -> String {
        if self.missing.is_empty() {
            return base.to_owned();
        }
        let mut out = format!("{base}; expected artifacts missing: ");
        for (i, path) in self.missing.iter().enumerate() {
            let more = format!(" and {} more", self.missing.len() - i);
            let next = if i == 0 { path.clone() } else { format!(", {path}") };
            if out.len() + next.len() + more.len() > MAX_SUMMARY_BYTES {
                out.push_str(&more);
                break;
            }
            out.push_str(&next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_unsafe_and_present_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("reports")).unwrap();
        std::fs::write(dir.path().join("reports/a.md"), "a").unwrap();
        let paths: Vec<String> =
            ["reports/a.md", "./reports/a.md", "reports/b.md", "../x", "/etc/passwd"].map(String::from).to_vec();
        let checked = check(dir.path(), &paths);
        assert_eq!(checked.missing, ["reports/b.md", "../x", "/etc/passwd"]);
        assert_eq!(checked.summary("done"), "done; expected artifacts missing: reports/b.md, ../x, /etc/passwd");
        assert!(check(dir.path(), &[]).event().is_none());
    }

    #[test]
    fn summary_stays_within_the_checkpoint_limit() {
        let checked = Checked { expected: vec![], missing: (0..500).map(|i| format!("path/number/{i}")).collect() };
        let summary = checked.summary("reference adapter completed");
        assert!(summary.len() <= MAX_SUMMARY_BYTES, "{}", summary.len());
        assert!(summary.ends_with(" more"), "{summary}");
    }
}
