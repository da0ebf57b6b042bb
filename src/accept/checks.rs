//! The checks that look at evidence (the pack and the workspace) rather than run commands.
//!
//! Each returns a [`CheckResult`]; a check that is not configured is `skipped` with the reason,
//! never passed. Paths are compared as the pack records them (trimmed strings), byte-wise.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::accept::config::PathRules;
use crate::accept::evidence::Evidence;
use crate::accept::{CheckResult, Status};
use crate::contract::ReasonCode;
use crate::digest::{self, Hasher};
use crate::pack::manifest::FileDigest;
use crate::pack::verify;

const MISSING: ReasonCode = ReasonCode::AcceptMissingArtifact;

/// `schema_validity`: every record of the pack against its schema. A pack that fails integrity
/// (hashes, undeclared files, an unsafe zip) is not judged at all: the error is returned.
pub fn schema_validity(file: std::fs::File) -> crate::contract::Result<CheckResult> {
    let opts = verify::Options { all: true, ..verify::Options::default() };
    let err = match verify::verify(file, &opts) {
        Ok(report) => return Ok(schema_passed(report.files_verified)),
        Err(err) => err,
    };
    let findings = match err.details.get("findings") {
        Some(Value::Array(list)) => list.clone(),
        _ => vec![verify::finding_json(&err)],
    };
    let schema_code = ReasonCode::InvalidInputSchema.as_str();
    if findings.iter().any(|f| f.get("code").and_then(Value::as_str) != Some(schema_code)) {
        return Err(err.context("the jobpack does not verify; acceptance judges only packs that do"));
    }
    let first = &findings[0];
    let detail =
        |k: &str| first.pointer(&format!("/details/{k}")).map(|v| v.as_str().map_or(v.to_string(), str::to_owned));
    let mut message = first.get("message").and_then(Value::as_str).unwrap_or("schema invalid").to_owned();
    if let Some(path) = detail("path") {
        message = format!("{path}{}: {message}", detail("line").map(|l| format!(":{l}")).unwrap_or_default());
    }
    if let Some(e) = detail("error") {
        message = format!("{message}: {e}");
    }
    if findings.len() > 1 {
        message = format!("{message} (and {} more)", findings.len() - 1);
    }
    Ok(CheckResult::failed("schema_validity", message, ReasonCode::InvalidInputSchema, detail("path")))
}

/// `schema_validity` of a pack this process has just exported: passed, in the words a verify of
/// it gives. The exporter checked every record against its schema as it packed it (`Packer`), and
/// wrote the manifest over the hashes of the bytes it wrote; what acceptance then reads of the
/// pack is checked against those hashes (`evidence::read`).
pub fn schema_validity_of_export(files: &[FileDigest]) -> CheckResult {
    schema_passed(files.len())
}

fn schema_passed(files_verified: usize) -> CheckResult {
    CheckResult::passed("schema_validity", format!("{files_verified} files verified; every record matches its schema"))
}

/// `required_artifacts`: each required path is claimed by a checkpoint (added or changed), exists
/// in the workspace, and has the content hash the pack recorded. A recorded *reference* hash
/// (`sha256("reference:" + path)`: the exporter did not hash content, as Go never does) can only
/// be checked for presence, and the message says so.
pub fn required_artifacts(required: &[String], ev: &Evidence, workspace: &Path) -> CheckResult {
    const NAME: &str = "required_artifacts";
    if required.is_empty() {
        return CheckResult::skipped(NAME, "not configured (required_artifacts)");
    }
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut by_reference = 0;
    // The job ran on another host, or its workspace was removed: the content hashes recorded when
    // its steps ended (the manifest's) are the evidence; a reference hash proves nothing here.
    let elsewhere = !workspace.is_dir();
    for path in required {
        let reference = digest::sha256_hex(format!("reference:{path}").as_bytes());
        let problem = if !ev.claimed.contains(path) {
            Some(format!("required artifact {path} is not claimed by any checkpoint"))
        } else if elsewhere {
            match ev.recorded.get(path) {
                Some(recorded) if *recorded != reference => None,
                _ => Some(format!(
                    "required artifact {path} has no recorded content hash and the workspace {} is not on this host",
                    workspace.display()
                )),
            }
        } else if let Some(file) = inside(workspace, path) {
            match (std::fs::File::open(&file), ev.recorded.get(path)) {
                (Err(_), _) => {
                    Some(format!("required artifact {path} is missing from the workspace {}", workspace.display()))
                }
                (Ok(_), None) => Some(format!("required artifact {path} is not in artifacts_manifest.json")),
                (Ok(_), Some(recorded)) if *recorded == reference => {
                    by_reference += 1;
                    None
                }
                (Ok(f), Some(recorded)) => match content_hash(f) {
                    Ok(actual) if actual == *recorded => None,
                    Ok(actual) => Some(format!(
                        "required artifact {path} changed since export: sha256 {actual}, the pack recorded {recorded}"
                    )),
                    Err(e) => Some(format!("required artifact {path}: read failed: {e}")),
                },
            }
        } else {
            Some(format!("required artifact {path} is not a relative path inside the workspace"))
        };
        if let Some(p) = problem {
            failures.push((path.clone(), p));
        }
    }
    match failures.split_first() {
        None => {
            let mut msg = match elsewhere {
                false => format!("{} required artifact(s) claimed and present", required.len()),
                true => format!(
                    "{} required artifact(s) claimed with recorded content hashes (the workspace {} is not on this host)",
                    required.len(),
                    workspace.display()
                ),
            };
            if by_reference > 0 {
                msg.push_str(&format!(
                    "; {by_reference} recorded by reference only (content not hashed at export), so checked for presence only"
                ));
            }
            CheckResult::passed(NAME, msg)
        }
        Some(((artifact, first), rest)) => {
            let mut msg = first.clone();
            if !rest.is_empty() {
                msg.push_str(&format!(" (and {} more)", rest.len()));
            }
            CheckResult::failed(NAME, msg, MISSING, Some(artifact.clone()))
        }
    }
}

/// `workspace/path` when `path` is relative and stays inside the workspace.
fn inside(workspace: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path);
    let ok = !path.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    ok.then(|| workspace.join(rel))
}

fn content_hash(mut file: std::fs::File) -> std::io::Result<String> {
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            return Ok(hasher.finish().0);
        }
        hasher.update(&buf[..n]);
    }
}

/// `path_constraints` over every path a checkpoint touched (added, changed or removed).
/// `allowed_prefixes` is an allow-list: every path must start with one of them (Go instead failed
/// when some prefix matched no path, which let any other path through).
pub fn path_constraints(rules: Option<&PathRules>, ev: &Evidence) -> CheckResult {
    const NAME: &str = "path_constraints";
    let Some(rules) = rules else {
        return CheckResult::skipped(NAME, "not configured (path_rules)");
    };
    let n = ev.touched.len() as u64;
    if rules.max_artifact_paths > 0 && n > rules.max_artifact_paths {
        return CheckResult::failed(
            NAME,
            format!("{n} artifact paths exceed max_artifact_paths={}", rules.max_artifact_paths),
            MISSING,
            None,
        );
    }
    for path in &ev.touched {
        if let Some(prefix) = rules.forbidden_prefixes.iter().find(|p| path.starts_with(p.as_str())) {
            return CheckResult::failed(
                NAME,
                format!("artifact path {path} starts with forbidden prefix {prefix}"),
                MISSING,
                Some(path.clone()),
            );
        }
        if !rules.allowed_prefixes.is_empty() && !rules.allowed_prefixes.iter().any(|p| path.starts_with(p.as_str())) {
            return CheckResult::failed(
                NAME,
                format!("artifact path {path} is outside allowed_prefixes ({})", rules.allowed_prefixes.join(", ")),
                MISSING,
                Some(path.clone()),
            );
        }
    }
    CheckResult::passed(NAME, format!("{n} artifact path(s) within the rules"))
}

/// `required_checkpoint_types`: each listed type occurs at least once.
pub fn required_checkpoint_types(required: &[String], ev: &Evidence) -> CheckResult {
    const NAME: &str = "required_checkpoint_types";
    if required.is_empty() {
        return CheckResult::skipped(NAME, "not configured (required_checkpoint_types)");
    }
    let missing: Vec<&str> =
        required.iter().filter(|t| !ev.checkpoint_types.contains(*t)).map(String::as_str).collect();
    if missing.is_empty() {
        return CheckResult::passed(NAME, format!("checkpoints of type {} present", required.join(", ")));
    }
    CheckResult::failed(NAME, format!("no checkpoint of type {}", missing.join(", ")), MISSING, None)
}

/// The (limit key in `jobspec.budgets`, usage name) pairs acceptance can compare.
pub const BUDGETS: [(&str, &str); 4] = [
    ("max_wall_time_seconds", "wall_time_seconds"),
    ("max_retries", "retry_count"),
    ("max_step_count", "step_count"),
    ("max_tool_calls", "tool_call_count"),
];

/// Usage of one budget, when the pack says.
pub fn used(ev: &Evidence, usage: &str) -> Option<u64> {
    match usage {
        "wall_time_seconds" => ev.wall_time_seconds,
        other => ev.usage.get(other).copied(),
    }
}

/// `max_budget_use`: no budget's usage passed `fraction` of its limit.
pub fn max_budget_use(fraction: Option<f64>, ev: &Evidence) -> CheckResult {
    const NAME: &str = "max_budget_use";
    let Some(fraction) = fraction else {
        return CheckResult::skipped(NAME, "not configured (max_budget_use)");
    };
    let Some(limits) = &ev.limits else {
        return CheckResult::skipped(NAME, "no budget limits recorded in the pack (no x-jobspec_recorded event)");
    };
    let mut compared = 0;
    for (limit_key, usage) in BUDGETS {
        let Some(limit) = limits.get(limit_key).and_then(Value::as_u64).filter(|l| *l > 0) else { continue };
        let Some(used) = used(ev, usage) else { continue };
        compared += 1;
        if used as f64 > fraction * limit as f64 {
            return CheckResult::failed(
                NAME,
                format!(
                    "{usage} used {used} of {limit} ({:.0}% > max_budget_use {:.0}%)",
                    100.0 * used as f64 / limit as f64,
                    100.0 * fraction
                ),
                ReasonCode::BudgetExceeded,
                None,
            );
        }
    }
    if compared == 0 {
        return CheckResult::skipped(NAME, "no budget limits set");
    }
    CheckResult::passed(NAME, format!("{compared} budget(s) within {:.0}% of their limits", 100.0 * fraction))
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}
