//! Replacing small files atomically: a reader sees the old file or the new one, never a mix.
//!
//! The new bytes go to a temp file in the same directory (`.tmp-<name>-<pid>-<nanos>`), which is
//! renamed over the target. With [`Durability::Durable`] the temp file is fsynced before the
//! rename and the directory after it, so after a crash the file is the old or the new version and
//! the rename itself survives. [`Durability::Cache`] skips both fsyncs: for files that are only a
//! cache of the ledger (the snapshot), where a lost or empty file is detected and rebuilt.
//!
//! A writer killed between creating its temp file and the rename leaves the temp file behind
//! (issue 14: `.tmp-snapshot.json-*` after a killed runner, `.wrkr-tmp-*` after a killed export).
//! The next writer in that directory removes them with [`remove_stale`], and must never remove a
//! live writer's temp file. A writer therefore holds an `flock` on its temp file while it writes
//! ([`hold`]); the kernel drops it when the writer dies, however it dies. A temp file is stale
//! when its lock is free *and* it is older than [`STALE_AFTER`] (which covers the instant between
//! a writer's create and its lock). The lock works across pid namespaces, where a pid check would
//! not.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::failpoint;

/// The prefix of [`replace`]'s temp files.
pub const TEMP_PREFIX: &str = ".tmp-";
/// The prefix of the temp files of atomic pack and report writes (`pack::source::write_atomic`).
pub const OUTPUT_TEMP_PREFIX: &str = ".wrkr-tmp-";
/// A temp file whose lock is free is stale once it is this old.
pub const STALE_AFTER: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Cache,
}

pub fn replace(path: &Path, bytes: &[u8], durability: Durability) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("path has no parent directory"))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    remove_stale(dir, TEMP_PREFIX);
    let temp = dir.join(format!("{TEMP_PREFIX}{name}-{}-{nanos}", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        hold(&file);
        failpoint::check("atomic.write")?;
        file.write_all(bytes)?;
        if durability == Durability::Durable {
            file.sync_all()?;
        }
        drop(file);
        failpoint::check("atomic.rename")?;
        std::fs::rename(&temp, path)?;
        if durability == Durability::Durable {
            failpoint::check("atomic.dir_fsync")?;
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// fsync a directory, so that entries created or renamed in it survive a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Mark `temp` as a live writer's temp file until it is closed (best effort: a file system
/// without `flock` only loses the cleanup, never the write).
pub fn hold(temp: &File) {
    let _ = temp.try_lock();
}

/// Remove the stale temp files named `prefix*` in `dir` (see the module notes); returns what was
/// removed. Errors are ignored: cleaning up is never worth failing a write for.
pub fn remove_stale(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return removed };
    for entry in entries.flatten() {
        if !entry.file_name().as_encoded_bytes().starts_with(prefix.as_bytes()) {
            continue;
        }
        let path = entry.path();
        if is_stale(&path) && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// A regular file, older than [`STALE_AFTER`], whose lock nobody holds.
pub fn is_stale(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    let old = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age >= STALE_AFTER);
    if !meta.is_file() || !old {
        return false;
    }
    // The lock is taken and released at once: a writer that wanted it is long gone.
    File::open(path).is_ok_and(|f| f.try_lock().is_ok())
}
