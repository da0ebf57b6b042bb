//! Private file modes in a file store: what is readable by other users, and tightening it.
//!
//! The store creates job directories 0700 and job files 0600 (step logs and ledgers may hold
//! secrets). Stores created by an older wrkr kept 0755 directories and 0644 files, and nothing
//! rewrote them. `wrkr fsck` reports such paths per job and `--repair` removes the group and other
//! bits (never adds any); `wrkr doctor --production-readiness` reports the store root, `jobs/`
//! and the job directories (not every file: it stays a cheap check).
//!
//! Symlinks are neither followed nor changed: the store never makes any, and chmod on one would
//! change its target.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The permission bits that let users other than the owner in.
pub const OTHERS: u32 = 0o077;

/// Every path under `dir` (itself included) that group or others can access, with its mode, in
/// a stable order (depth first, names sorted). A job directory is two levels deep at most.
pub fn loose_paths(dir: &Path) -> std::io::Result<Vec<(PathBuf, u32)>> {
    let mut found = Vec::new();
    visit(dir, 0, &mut found)?;
    Ok(found)
}

fn visit(path: &Path, depth: usize, found: &mut Vec<(PathBuf, u32)>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & OTHERS != 0 {
        found.push((path.to_path_buf(), mode));
    }
    // Bounded: a job directory holds files and one level of log directories.
    if meta.is_dir() && depth < 4 {
        let mut names: Vec<PathBuf> = std::fs::read_dir(path)?.flatten().map(|e| e.path()).collect();
        names.sort();
        for child in names {
            visit(&child, depth + 1, found)?;
        }
    }
    Ok(())
}

/// Remove the group and other bits of each path (0755 becomes 0700, 0644 becomes 0600).
pub fn tighten(paths: &[(PathBuf, u32)]) -> std::io::Result<()> {
    for (path, mode) in paths {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !OTHERS))?;
    }
    Ok(())
}

/// `0755` for messages.
pub fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}
