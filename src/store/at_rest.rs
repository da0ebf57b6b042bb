//! A job's state together with the open ledger it was derived from, for a reader that keeps both
//! (serve's status cache) and needs to know, cheaply, when the state stops being the ledger's.
//!
//! The rule: the state is handed out with the ledger and its [`Stamp`] (device, inode, length,
//! modification and change times, link count) only when the ledger was *at rest* while it was
//! read: it ended with a whole line, no batch was being written (the pending record cut nothing
//! off), and its stamp was the same after the state was derived as before. Every way the file
//! store changes a ledger changes its stamp: an append grows it, a roll-back truncates it (length
//! and change time), a removal or a replacement by rename drops the old inode's link count to 0.
//! So while a later `fstat` of the kept handle gives the same stamp, the ledger holds exactly the
//! records the state was derived from, and the state is current. The job's directory can also
//! leave the store whole (`wrkr prune` renames it into the trash, then deletes it; a crash in
//! between leaves it there with its ledger linked): that changes the store's `jobs/` directory,
//! whose stamp is kept too, so a job that left is never answered from a kept ledger. A batch whose bytes are in the
//! file but not yet durable is never at rest (its pending record cuts it off), so a state that
//! includes it is never handed out for keeping; the one rewrite in place that keeps the length,
//! the roll-back of such a batch followed by another of the same length, rewrites bytes no kept
//! state covers.
//!
//! What it does not cover: an edit of the ledger by hand that keeps its length within one tick of
//! the file system's clock. The snapshot cache's trust rule has the same blind spot.

use std::fs::File;
use std::os::unix::fs::MetadataExt;

use crate::contract::Result;
use crate::job::JobState;
use crate::store::{FsStore, JobId};

/// What `fstat` says about a ledger, compared whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    pub len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    nlink: u64,
}

impl Stamp {
    /// The stamp of an open file, `None` when it cannot be read or the file has been removed.
    pub fn of(file: &File) -> Option<Stamp> {
        let meta = file.metadata().ok()?;
        let stamp = Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            nlink: meta.nlink(),
        };
        (stamp.nlink > 0).then_some(stamp)
    }
}

/// The open ledger and its stamp, and the stamp of the store's `jobs/` directory, when a state
/// was derived from that ledger at rest.
#[derive(Debug)]
pub struct AtRest {
    pub ledger: File,
    stamp: Stamp,
    jobs: Stamp,
}

impl AtRest {
    /// Whether the ledger is still exactly the one the state was derived from, and still in the
    /// store: two `fstat`s of open handles, `jobs_dir` being the one given to
    /// [`FsStore::state_at_rest`].
    pub fn unchanged(&self, jobs_dir: &File) -> bool {
        Stamp::of(&self.ledger) == Some(self.stamp) && Stamp::of(jobs_dir) == Some(self.jobs)
    }
}

impl FsStore {
    /// The store's `jobs/` directory, opened for [`FsStore::state_at_rest`].
    pub fn open_jobs_dir(&self) -> std::io::Result<File> {
        File::open(self.root().join("jobs"))
    }

    /// The job's state ([`Store::state`](crate::store::Store::state)), with the ledger it was
    /// derived from when that ledger was at rest (see the module notes), else `None`. `jobs_dir`
    /// is the store's `jobs/` directory ([`FsStore::open_jobs_dir`]).
    pub fn state_at_rest(&self, job: &JobId, jobs_dir: &File) -> Result<(JobState, Option<AtRest>)> {
        let jobs = Stamp::of(jobs_dir);
        let (dir, ledger, tail) = self.open_for_read(job)?;
        let before = Stamp::of(&ledger);
        let state = self.state_of(job, &dir, &ledger, &tail)?;
        let ledger_at_rest = before.filter(|stamp| {
            tail.file_len == stamp.len && tail.complete_end == stamp.len && Stamp::of(&ledger) == Some(*stamp)
        });
        let at_rest = match (ledger_at_rest, jobs) {
            (Some(stamp), Some(jobs)) if Stamp::of(jobs_dir) == Some(jobs) => Some(AtRest { ledger, stamp, jobs }),
            _ => None,
        };
        Ok((state, at_rest))
    }
}
