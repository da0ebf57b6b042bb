//! Writing reports where CI finds them: `<out>/reports/github_summary_<id>.json` (JCS) and `.md`,
//! the markdown also appended to `$GITHUB_STEP_SUMMARY` when that is set, and the work-item files
//! of the bridge. Files are replaced atomically; the step summary is appended (GitHub's contract).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::contract::{Error, Result};
use crate::pack::source::{self, write_atomic};
use crate::report::{github, view};

/// The files a GitHub summary was written to.
#[derive(Clone, Debug, Serialize)]
pub struct Published {
    pub summary: Value,
    pub summary_json_path: String,
    pub summary_markdown_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_summary_path: Option<String>,
}

/// `<out>/reports`, created.
pub fn reports_dir(out_dir: &Path) -> Result<PathBuf> {
    let dir = std::path::absolute(out_dir.join("reports")).map_err(|e| Error::io("resolve the out dir", e))?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    Ok(dir)
}

/// Write `bytes` to `path` atomically, creating its parent folders first as Go does
/// (`accept run --junit DIR/x.xml` into a folder that does not exist yet).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    create_parent(path)?;
    write_atomic(path, |w| w.write_all(bytes).map_err(|e| Error::io(format!("write {}", path.display()), e)))
}

/// Create the folders above `path` (nothing to do for a bare file name).
fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))
        }
        _ => Ok(()),
    }
}

/// Render and write the GitHub summary of the pack at `pack`.
pub fn github_summary(pack: &Path, out_dir: &Path) -> Result<Published> {
    let view = view::from_pack(source::open(&pack.to_string_lossy())?)?;
    let summary = github::summary(&view);
    crate::contract::schema::find("wrkr.github_summary")
        .ok_or_else(|| Error::generic("schema wrkr.github_summary missing"))?
        .check(&summary, "github_summary")?;
    let job_id = summary.get("job_id").and_then(Value::as_str).unwrap_or_default();
    crate::store::JobId::parse(job_id).map_err(|e| e.context("the pack's job_id cannot name a report file"))?;
    let markdown = format!("{}\n", summary.get("markdown").and_then(Value::as_str).unwrap_or_default());
    let dir = reports_dir(out_dir)?;
    let json_path = dir.join(format!("github_summary_{job_id}.json"));
    let md_path = dir.join(format!("github_summary_{job_id}.md"));
    write_file(&json_path, &crate::jcs::to_vec(&summary))?;
    write_file(&md_path, markdown.as_bytes())?;
    let step_summary_path = match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        Some(p) => {
            let path = PathBuf::from(p);
            create_parent(&path)?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(format!("open GITHUB_STEP_SUMMARY {}", path.display()), e))?;
            f.write_all(markdown.as_bytes()).map_err(|e| Error::io(format!("append to {}", path.display()), e))?;
            Some(path.display().to_string())
        }
        None => None,
    };
    Ok(Published {
        summary,
        summary_json_path: json_path.display().to_string(),
        summary_markdown_path: md_path.display().to_string(),
        step_summary_path,
    })
}
