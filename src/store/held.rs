//! The ledger an [`FsStore`](crate::store::FsStore) last appended to, kept open between appends.
//!
//! A runner appends to one job a few times per step and tails it in between. Opening the ledger
//! and its pending-batch record by path for each of those calls was about four opens, a handful
//! of `stat`s and closes per step (issue 16). A store keeps the descriptors of the one job it
//! last appended to instead, and trusts them only as far as a fresh open could be trusted:
//!
//! - **Appending** locks the held ledger and checks, under the lock, that the path still names
//!   its inode (the check every append makes, `lock::JobLock::acquire_held`); a job moved away
//!   or replaced is opened afresh by path, which answers "not found" as before. The record file
//!   is used only while it is still linked: after an operator's `rm ledger.lock` it is opened
//!   (and created) by path again, so the pending record always goes where the next writer looks.
//! - **Reading** uses it to answer "nothing new" with one `stat` of the path and one `fstat`:
//!   when the path names the held inode and the file ends exactly where this store's last read or
//!   append ended, there is no record to read. Anything else takes the ordinary read path.
//!
//! Held descriptors are kept above descriptor 3: a step's events channel is placed there, and
//! steps start by `posix_spawn` only while that slot is free for wrkr to reserve (`run::channel`).
//! A ledger held at descriptor 3 made every step of a run start by `fork` instead.
//!
//! Only one job is held, so a store that reads thousands of jobs (`wrkr jobs`, serve) holds at
//! most one descriptor pair more than before. The lock itself is never held between calls: it is
//! taken with `flock` at each append and released before the append returns.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::run::channel::STEP_EVENTS_FD;
use crate::store::JobId;

pub struct HeldLedger {
    pub job: JobId,
    /// The ledger, opened read-write by the append that is now done.
    pub file: File,
    /// Its pending-batch record (`ledger.lock`).
    pub record: File,
    /// The ledger's device and inode, to compare with what the path names.
    inode: (u64, u64),
}

impl HeldLedger {
    /// Keep `file` and `record` of `job`; `None` when the ledger cannot be `fstat`ed.
    pub fn new(job: JobId, file: File, record: File) -> Option<HeldLedger> {
        let meta = file.metadata().ok()?;
        let (file, record) = (above_events_slot(file), above_events_slot(record));
        Some(HeldLedger { job, file, record, inode: (meta.dev(), meta.ino()) })
    }

    /// The held ledger's length, when `path` still names it (`None` otherwise, or on any error).
    pub fn len_if_at(&self, path: &Path) -> Option<u64> {
        let named = std::fs::metadata(path).ok()?;
        if (named.dev(), named.ino()) != self.inode {
            return None;
        }
        // The path's metadata is the inode's: its length is the held file's.
        Some(named.len())
    }
}

/// `file` on a descriptor above the step events slot (a no-op once it is: after the first append).
/// Should the move fail, the file stays where it is; steps then start by `fork`, as they may anyway.
fn above_events_slot(file: File) -> File {
    if file.as_raw_fd() > STEP_EVENTS_FD {
        return file;
    }
    match rustix::io::fcntl_dupfd_cloexec(&file, STEP_EVENTS_FD + 1) {
        Ok(moved) => File::from(moved),
        Err(_) => file,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::contract::ReasonCode;
    use crate::job::NewEvent;
    use crate::store::ledger::LEDGER_FILE;
    use crate::store::lock::LOCK_FILE;
    use crate::store::{AppendOptions, FsStore, JobId, Store};

    fn note(n: u64) -> NewEvent {
        NewEvent::new("x-note", json!({"n": n}))
    }

    fn seqs(store: &FsStore, job: &JobId, from: u64) -> Vec<u64> {
        let mut seen = Vec::new();
        store
            .read_events(job, from, &mut |r, _| {
                seen.push(r.seq);
                Ok(())
            })
            .unwrap();
        seen
    }

    // The held record file was deleted (`rm ledger.lock`): the next append writes its pending
    // record to a file at the path again, where the next writer looks for it.
    #[test]
    fn a_deleted_record_file_is_opened_again_by_path() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = FsStore::new(dir.path().into());
        let job = JobId::parse("job_h").unwrap();
        store.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![note(1)])).unwrap();
        let record = store.job_dir(&job).join(LOCK_FILE);
        std::fs::remove_file(&record).unwrap();
        store.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(2)])).unwrap();
        let text = std::fs::read_to_string(&record).unwrap();
        let ledger_len = std::fs::metadata(store.job_dir(&job).join(LEDGER_FILE)).unwrap().len();
        assert!(text.trim_end().ends_with(&format!("{ledger_len:020}")), "{text}");
    }

    // The job was moved away (as `wrkr store prune` moves it to the trash) while its ledger was
    // held: the next append answers "not found" and writes nothing into the moved ledger.
    #[test]
    fn a_job_moved_away_is_not_appended_to_through_the_held_ledger() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = FsStore::new(dir.path().into());
        let job = JobId::parse("job_m").unwrap();
        store.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![note(1)])).unwrap();
        let moved = dir.path().join("moved");
        std::fs::rename(store.job_dir(&job), &moved).unwrap();
        let before = std::fs::read(moved.join(LEDGER_FILE)).unwrap();
        let err = store.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(2)])).unwrap_err();
        assert_eq!((err.code, err.exit_code()), (ReasonCode::InvalidInputSchema, 6), "{err}");
        assert_eq!(std::fs::read(moved.join(LEDGER_FILE)).unwrap(), before);
        assert!(store.read_events(&job, 3, &mut |_, _| Ok(())).is_err(), "a read does not find it either");
    }

    // Reads after this store's own append find nothing new without opening the ledger, and still
    // see every record another writer appended after it; a replaced ledger is not the held one.
    #[test]
    fn reads_after_an_append_see_what_others_appended() {
        let dir = tempfile::TempDir::new().unwrap();
        let (ours, other) = (FsStore::new(dir.path().into()), FsStore::new(dir.path().into()));
        let job = JobId::parse("job_r").unwrap();
        ours.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![note(1)])).unwrap();
        assert_eq!(seqs(&ours, &job, 3), Vec::<u64>::new());
        other.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(2)])).unwrap();
        assert_eq!(seqs(&ours, &job, 3), [3]);
        ours.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(3)])).unwrap();
        assert_eq!(seqs(&ours, &job, 5), Vec::<u64>::new());
        // The ledger replaced by another file (one record shorter): read afresh, and the next
        // append goes to the new file, not to the held one.
        let path = ours.job_dir(&job).join(LEDGER_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut shorter = bytes.clone();
        let cut = shorter[..shorter.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
        shorter.truncate(cut);
        std::fs::write(&path, &shorter).unwrap();
        std::fs::remove_file(ours.job_dir(&job).join("snapshot.json")).unwrap();
        assert_eq!(seqs(&ours, &job, 1), [1, 2, 3]);
        assert_eq!(ours.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(4)])).unwrap().records[0].seq, 4);
    }
}
