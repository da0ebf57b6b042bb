//! Step evidence: what export, acceptance and `wrkr logs` need from a step, put in the store when
//! the step ends, so that a job run on one host can be exported, verified and accepted on another
//! (or after its workspace is gone).
//!
//! Two kinds, recorded by [`record`], the one call the runner and wrap make at a step's end:
//!
//! - **Artifact content hashes** go into the step-end event itself (`artifact_hashes`: path →
//!   sha256, or `null` when the path was not a regular file inside the workspace). They are part of
//!   the same fenced, durable batch as the step's end and checkpoint: no extra write, no extra
//!   fsync, and a worker that lost its lease cannot record them. The projection uses them for the
//!   artifacts manifest (`job::projection`). A step that claims no artifact gets no key, so its
//!   ledger line, and the pack, are what they were before evidence was recorded.
//! - **Bounded log tails**: the last [`TAIL_BYTES`] of each stream, as job files
//!   `log-<log name>.<stream>`, only when the step's log directory is not already inside the store
//!   (the file store keeps logs in the job's directory, so it is never copied there; on PostgreSQL
//!   the logs are on the worker's disk and the tails are what another host can read). The stream's
//!   sha256 and length are already in the step-end event.
//!
//! Hashing moved here from export time: the cost is the same reads, paid once on the host that has
//! the files. Raw capture (`--capture raw`) still reads the workspace, because it packs the bytes.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::contract::Result;
use crate::job::NewEvent;
use crate::job::projection::{ARTIFACT_HASHES, content_hash};
use crate::run::attempts::STREAMS;
use crate::store::{JobId, Store};

/// How much of each stream's end is kept in the store for another host to show.
pub const TAIL_BYTES: u64 = 64 * 1024;

/// What a step left behind.
pub struct StepEvidence<'a> {
    /// Where the step ran; artifact paths are relative to it.
    pub workspace: &'a Path,
    /// Every path the step claimed or reported (declared, added, changed, removed).
    pub artifacts: Vec<&'a str>,
    /// The step's log directory and base name (`<dir>/<name>.<stream>.log`, see `run::log`).
    pub log_dir: &'a Path,
    pub log_name: &'a str,
}

/// Record `evidence` for the step whose end is `finished` (not yet appended): artifact hashes into
/// its payload, log tails into the store when the logs live outside it.
pub fn record(store: &dyn Store, job: &JobId, evidence: &StepEvidence<'_>, finished: &mut NewEvent) -> Result<()> {
    if !evidence.artifacts.is_empty() {
        let mut hashes = Map::new();
        for path in &evidence.artifacts {
            if hashes.contains_key(*path) {
                continue;
            }
            let hash = content_hash(evidence.workspace, path).map(|(_, sha256)| sha256);
            hashes.insert((*path).to_owned(), hash.map_or(Value::Null, Value::String));
        }
        finished.payload.insert(ARTIFACT_HASHES.into(), Value::Object(hashes));
    }
    let logs_in_store = store.local_job_dir(job).is_some_and(|dir| evidence.log_dir.starts_with(dir));
    if logs_in_store {
        return Ok(());
    }
    for stream in STREAMS {
        let files = log_files(evidence.log_dir, evidence.log_name, stream);
        if let Some(tail) = read_tail(&files, TAIL_BYTES) {
            store.write_job_file(job, &tail_file_name(evidence.log_name, stream), &tail)?;
        }
    }
    Ok(())
}

/// The job file that holds the tail of `stream` of the attempt whose logs are named `log_name`.
pub fn tail_file_name(log_name: &str, stream: &str) -> String {
    format!("log-{log_name}.{stream}")
}

/// The rotated file (if any), then the current one, as `run::log` writes them.
fn log_files(dir: &Path, log_name: &str, stream: &str) -> Vec<PathBuf> {
    let current = dir.join(format!("{log_name}.{stream}.log"));
    let mut rotated = current.clone().into_os_string();
    rotated.push(".1");
    [PathBuf::from(rotated), current].into_iter().filter(|p| p.is_file()).collect()
}

/// The last `limit` bytes across `files` (oldest first), or `None` when they hold nothing.
/// A file that cannot be read is skipped: a tail is evidence for people, the hash is in the ledger.
fn read_tail(files: &[PathBuf], limit: u64) -> Option<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut left = limit;
    for path in files.iter().rev() {
        if left == 0 {
            break;
        }
        let Ok(mut file) = std::fs::File::open(path) else { continue };
        let Ok(len) = file.metadata().map(|m| m.len()) else { continue };
        let take = len.min(left);
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(len - take)).is_err() || file.take(take).read_to_end(&mut bytes).is_err() {
            continue;
        }
        left -= bytes.len() as u64;
        parts.push(bytes);
    }
    let tail: Vec<u8> = parts.into_iter().rev().flatten().collect();
    (!tail.is_empty()).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_spans_the_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.stdout.log.1"), b"0123456789").unwrap();
        std::fs::write(dir.path().join("s.stdout.log"), b"abc").unwrap();
        let files = log_files(dir.path(), "s", "stdout");
        assert_eq!(read_tail(&files, 5).unwrap(), b"789abc"[1..].to_vec());
        assert_eq!(read_tail(&files, 2).unwrap(), b"bc".to_vec());
        assert_eq!(read_tail(&files, 100).unwrap(), b"0123456789abc".to_vec());
        assert!(read_tail(&log_files(dir.path(), "s", "stderr"), 5).is_none());
    }
}
