//! The state an [`FsStore`](crate::store::FsStore) derived at its last append to a job, kept in
//! memory so that the next append by the same process (a runner appends a few times per step)
//! need not replay the records since the snapshot again.
//!
//! It is a cache with the snapshot's trust rule, checked under the job's lock before every use:
//! it names the ledger's inode and the exact bytes of the last line it covers, ending at its
//! position. When that line still ends there, the ledger up to there is the one the state was
//! derived from (a ledger only grows; the one rewrite, the roll-back of an unacknowledged batch,
//! cuts at or after it, or before it, and then the line is gone and the cache is not used). If other
//! writers appended since (a heartbeat thread, `wrkr pause` from another process), only their
//! records are replayed. A failed append drops the entry, so nothing unacknowledged is ever in it.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

use crate::job::JobState;
use crate::store::ledger::{Position, Tail};

#[derive(Clone, Debug)]
pub struct Derived {
    pub state: JobState,
    /// Just after the last record's line (`line`), which holds `position.seq`.
    pub position: Position,
    /// The seq of the last snapshot this store wrote or read (when to refresh it).
    pub snapshot_seq: u64,
    inode: (u64, u64),
    line: Vec<u8>,
}

/// Whether the cache is current or behind the ledger.
pub enum Fit {
    /// The ledger ends where the state does.
    Current,
    /// Records were appended after the state's position: replay them.
    Behind,
}

impl Derived {
    /// The state at `position`, whose last record is `line` (without `\n`), in `file`.
    pub fn new(file: &File, state: JobState, position: Position, snapshot_seq: u64, line: &[u8]) -> Option<Derived> {
        let meta = file.metadata().ok()?;
        Some(Derived { state, position, snapshot_seq, inode: (meta.dev(), meta.ino()), line: line.to_vec() })
    }

    /// How the cache fits the ledger `file` whose tail is `tail`, or `None` when it cannot be used.
    pub fn fit(&self, file: &File, tail: &Tail) -> Option<Fit> {
        let meta = file.metadata().ok()?;
        if (meta.dev(), meta.ino()) != self.inode || self.position.offset > tail.complete_end {
            return None;
        }
        if let Some((start, line)) = &tail.last
            && *start + line.len() as u64 + 1 == self.position.offset
        {
            return (*line == self.line && tail.complete_end == self.position.offset).then_some(Fit::Current);
        }
        self.line_still_there(file).then_some(Fit::Behind)
    }

    /// The tail of `file`, whose length is `file_len`, when the ledger still ends with the last
    /// line this cache covers: one read of that line instead of the backwards search of
    /// [`Tail::read`]. `None` when the file is longer or shorter, or the line is not there.
    pub fn tail_when_current(&self, file: &File, file_len: u64) -> Option<Tail> {
        if file_len != self.position.offset || !self.line_still_there(file) {
            return None;
        }
        let start = self.position.offset - self.line.len() as u64 - 1;
        Some(Tail { file_len, complete_end: file_len, last: Some((start, self.line.clone())) })
    }

    /// Whether `line` is still a whole line of `file`, ending just before `position.offset`.
    fn line_still_there(&self, file: &File) -> bool {
        let Some(start) = self.position.offset.checked_sub(self.line.len() as u64 + 1) else { return false };
        // With the byte before it, which must end the previous line (or the line starts the file).
        let from = start.saturating_sub(1);
        let mut bytes = vec![0; (self.position.offset - from) as usize];
        if file.read_exact_at(&mut bytes, from).is_err() || bytes.pop() != Some(b'\n') {
            return false;
        }
        let line = match start {
            0 => &bytes[..],
            _ if bytes.first() == Some(&b'\n') => &bytes[1..],
            _ => return false,
        };
        line == self.line
    }
}

/// The last line (without `\n`) of `bytes`, which end with `\n`.
pub fn last_line(bytes: &[u8]) -> &[u8] {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    &body[start..]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::contract::ReasonCode;
    use crate::job::{NewEvent, Status};
    use crate::store::{AppendOptions, FsStore, JobId, Store};

    fn note(n: u64) -> NewEvent {
        NewEvent::new("x-note", json!({"n": n}))
    }

    fn stores() -> (tempfile::TempDir, FsStore, FsStore, JobId) {
        let dir = tempfile::TempDir::new().unwrap();
        let (a, b) = (FsStore::new(dir.path().to_path_buf()), FsStore::new(dir.path().to_path_buf()));
        (dir, a, b, JobId::parse("job_d").unwrap())
    }

    // Another writer's records (here a status change and a newer lease) are seen by the next
    // append of the store that cached its state: the fence still refuses the old epoch.
    #[test]
    fn another_writers_records_reach_the_cached_state() {
        let (_dir, a, b, job) = stores();
        a.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![note(1)])).unwrap();
        let old = a.acquire_lease(&job, "a", std::time::Duration::from_secs(60)).unwrap();
        let fenced = AppendOptions { create: false, fence: Some(old.epoch) };
        a.append(&job, fenced, &mut |_| Ok(vec![note(2)])).unwrap();
        b.change_status(&job, Status::Running, None).unwrap();
        let seen = a.append(&job, fenced, &mut |_| Ok(vec![note(3)])).unwrap();
        assert_eq!(seen.state.status, Status::Running, "b's status change is in a's state");
        assert_eq!(seen.records[0].seq, 6);
        b.release_lease(&job, "a", Some(old.epoch)).unwrap();
        b.acquire_lease(&job, "b", std::time::Duration::from_secs(60)).unwrap();
        let err = a.append(&job, fenced, &mut |_| Ok(vec![note(4)])).unwrap_err();
        assert_eq!(err.code, ReasonCode::LeaseConflict);
        assert_eq!(a.state(&job).unwrap(), b.state(&job).unwrap());
    }

    // The last line the cache covers was replaced by another record with the same seq (what no
    // writer does, short of editing the file): the cache is not trusted.
    #[test]
    fn a_rewritten_last_line_is_not_trusted() {
        let (_dir, a, _b, job) = stores();
        a.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![note(1)])).unwrap();
        a.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(2)])).unwrap();
        let path = a.job_dir(&job).join("events.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let status = r#""type":"status_changed","payload":{"from":"queued","to":"running"}"#;
        let edited = text.replace(r#""type":"x-note","payload":{"n":2}"#, status);
        std::fs::write(&path, edited.as_bytes()).unwrap();
        std::fs::remove_file(a.job_dir(&job).join("snapshot.json")).unwrap();
        let done = a.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(3)])).unwrap();
        assert_eq!(done.state.status, Status::Running);
    }
}
