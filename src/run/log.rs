//! Bounded step logs: every byte of a stream is hashed, the most recent bytes are kept on disk.
//!
//! The file is created on the first byte (a step that prints nothing costs no file), and is not
//! fsynced: logs are evidence for people, the ledger records each stream's sha256 and length, and
//! an fsync per stream per step would double a step's cost.
//!
//! A stream goes to `<name>.log`; when that file reaches the cap it becomes `<name>.log.1` (replacing
//! the previous one) and a fresh `<name>.log` starts. So at least the last `cap` bytes, and at most
//! `2 × cap`, are on disk, and memory use is one copy buffer whatever the step prints. The sha256 and
//! byte count cover the whole stream, including what was rotated away, so a log can be checked
//! against what the ledger recorded.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::digest::Hasher;

/// Default cap per log file: 8 MiB.
pub const DEFAULT_LOG_CAP: u64 = 8 << 20;

/// What was seen on a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamDigest {
    pub sha256: String,
    pub bytes: u64,
    /// Whether older output was rotated away (the log holds only the tail).
    pub truncated: bool,
}

pub struct BoundedLog {
    path: PathBuf,
    file: Option<File>,
    written: u64,
    cap: u64,
    hasher: Hasher,
    rotated: bool,
}

impl BoundedLog {
    pub fn create(path: &Path, cap: u64) -> io::Result<BoundedLog> {
        Ok(BoundedLog {
            path: path.to_path_buf(),
            file: None,
            written: 0,
            cap: cap.max(1),
            hasher: Hasher::new(),
            rotated: false,
        })
    }

    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            // 0600: a step's output may hold secrets (tokens echoed by a tool), like the ledger.
            self.file = Some(OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(&self.path)?);
        }
        // Opened just above when it was not.
        self.file.as_mut().ok_or_else(|| io::Error::other("log file not open"))
    }

    pub fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        while !bytes.is_empty() {
            if self.written >= self.cap {
                self.rotate()?;
            }
            let room = usize::try_from(self.cap - self.written).unwrap_or(usize::MAX);
            let (now, rest) = bytes.split_at(bytes.len().min(room));
            crate::failpoint::check("log.write")?;
            self.open()?.write_all(now)?;
            self.written += now.len() as u64;
            bytes = rest;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        self.file = None;
        std::fs::rename(&self.path, &old)?;
        self.open()?;
        self.written = 0;
        self.rotated = true;
        Ok(())
    }

    /// The digest of everything written (the file, if any, is closed).
    pub fn finish(self) -> io::Result<StreamDigest> {
        let (sha256, bytes) = self.hasher.finish();
        Ok(StreamDigest { sha256, bytes, truncated: self.rotated })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;

    fn pump(data: &[u8], mut log: BoundedLog) -> io::Result<StreamDigest> {
        for chunk in data.chunks(4096) {
            log.write(chunk)?;
        }
        log.finish()
    }

    #[test]
    fn keeps_the_tail_and_hashes_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let data: Vec<u8> = (0..10_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let digest = pump(&data, BoundedLog::create(&path, 1000).unwrap()).unwrap();
        assert_eq!(digest, StreamDigest { sha256: sha256_hex(&data), bytes: 40_000, truncated: true });
        let current = std::fs::read(&path).unwrap();
        let previous = std::fs::read(dir.path().join("out.log.1")).unwrap();
        let kept = [previous, current].concat();
        assert!(kept.len() >= 1000 && kept.len() <= 2000);
        assert_eq!(kept, data[data.len() - kept.len()..], "the kept bytes are the stream's tail");
    }

    #[test]
    fn small_stream_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let digest = pump(b"hello\n", BoundedLog::create(&path, 1000).unwrap()).unwrap();
        assert!(!digest.truncated);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello\n");
        assert!(!dir.path().join("out.log.1").exists());
    }
}
