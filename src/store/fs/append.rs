//! The write path of [`FsStore::append`] under the job's lock, steps 1 to 5 of the module notes
//! in `fs.rs`: opening and locking the ledger by path, then recovery, state, fence, plan, one
//! write, one `fdatasync`, and the snapshot.
//!
//! A store that appended to the job before skips the open (`store::held`) and, when the ledger
//! still ends with the last line it wrote, also the backwards search for the tail: the
//! [`Derived`] cache names that line, and one read proves it is still there (the same trust rule
//! as `derived.rs`). Either way the batch is written and synced before it is acknowledged.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::contract::{Error, Result};
use crate::failpoint;
use crate::job::lease;
use crate::store::derived::{self, Derived, Fit};
use crate::store::fs::{FsStore, Remembered, SNAPSHOT_EVERY, create_dir_synced, fatal, private_dir_all};
use crate::store::ledger::{LEDGER_FILE, Position, Tail};
use crate::store::lock::{JobLock, PendingBatch};
use crate::store::snapshot::Snapshot;
use crate::store::{AppendOptions, Appended, JobId, Plan, batch};

impl FsStore {
    /// Open `job`'s ledger by path (creating the job with `options.create`) and lock it. The flag
    /// says whether a directory entry was created, so the directory must be synced.
    pub(super) fn open_and_lock(
        &self,
        job: &JobId,
        dir: &Path,
        options: AppendOptions,
    ) -> Result<(File, JobLock, bool)> {
        if !dir.is_dir() {
            if !options.create {
                return Err(self.not_found(job));
            }
            private_dir_all(self.root()).map_err(|e| Error::io(format!("create {}", self.root().display()), e))?;
            create_dir_synced(&self.root().join("jobs"))?;
            create_dir_synced(dir)?;
        }
        let ledger_path = dir.join(LEDGER_FILE);
        if !options.create && !ledger_path.exists() {
            return Err(self.not_found(job));
        }
        let (file, ledger_created) =
            match OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&ledger_path) {
                Ok(f) => (f, true),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let f = OpenOptions::new().read(true).write(true).open(&ledger_path);
                    (f.map_err(|e| Error::io("open ledger", e))?, false)
                }
                Err(e) => return Err(Error::io("create ledger", e)),
            };
        // The lock is on the ledger's own inode (see lock.rs): held until it is unlocked or `file`
        // is closed.
        let (lock, lock_created) = JobLock::acquire(dir, job.as_str(), &file)?;
        Ok((file, lock, lock_created || ledger_created))
    }

    /// Steps 1 to 5 on the locked ledger `file` of `job` in `dir`.
    pub(super) fn append_locked(
        &self,
        job: &JobId,
        dir: &Path,
        file: &File,
        lock: &JobLock,
        options: AppendOptions,
        plan: Plan<'_>,
    ) -> Result<Appended> {
        let cached = self.derived.borrow_mut().remove(job);

        // 1. Recovery: a half-written batch of a killed writer, or a torn last line.
        let file_len = file.metadata().map_err(|e| Error::io("read ledger tail", e))?.len();
        let mut tail = match cached.as_ref().and_then(|c| c.tail_when_current(file, file_len)) {
            Some(tail) => tail,
            None => Tail::read_up_to(file, file_len).map_err(|e| Error::io("read ledger tail", e))?,
        };
        let cut = match lock.pending() {
            Some(p) if p.start < tail.file_len && tail.file_len < p.end && p.start <= tail.complete_end => {
                Some(p.start)
            }
            _ if tail.file_len > tail.complete_end => Some(tail.complete_end),
            _ => None,
        };
        if let Some(cut) = cut {
            file.set_len(cut).map_err(|e| Error::io("truncate torn ledger tail", e))?;
            tail = Tail::read(file).map_err(|e| Error::io("read ledger tail", e))?;
        }

        // 2-3. State (from this store's previous append when the ledger proves it), fence, plan, checks.
        let (state, position, snapshot_seq) = match cached.and_then(|c| Some((c.fit(file, &tail)?, c))) {
            Some((Fit::Current, c)) => (c.state, c.position, c.snapshot_seq),
            Some((Fit::Behind, c)) => {
                let (state, position, _) = self.replay(job, file, c.state, c.position, &tail)?;
                (state, position, c.snapshot_seq)
            }
            None => self.derive(job, dir, file, &tail)?,
        };
        if position.seq == 0 && !options.create {
            return Err(self.not_found(job));
        }
        if let Some(epoch) = options.fence {
            lease::check_fence(&state, epoch)?;
        }
        let events = plan(&state)?;
        let batch = match batch::build(state, position.seq, events)? {
            Ok(batch) => batch,
            Err(state) => return Ok(Appended { records: Vec::new(), state }),
        };

        // 4. One write, one fdatasync.
        let start = tail.complete_end;
        let end = start + batch.bytes.len() as u64;
        lock.set_pending(PendingBatch { start, end })?;
        let written = (|| {
            failpoint::check("ledger.append.before_write").map_err(|e| fatal("write", job, e))?;
            failpoint::write_all_at("ledger.append.short_write", file, &batch.bytes, start)
                .map_err(|e| fatal("write", job, e))?;
            failpoint::check("ledger.append.before_fsync").map_err(|e| fatal("fdatasync", job, e))?;
            file.sync_data().map_err(|e| fatal("fdatasync", job, e))?;
            // An fsync that reports failure after the data reached the disk.
            failpoint::check("ledger.append.fsync").map_err(|e| fatal("fdatasync", job, e))
        })();
        if let Err(err) = written {
            // Not acknowledged, so not in the ledger: a caller that retries must not find the batch
            // there twice. Best effort: if this fails too, the pending record lets the next writer
            // cut a partial batch, and a whole one stays (as after a crash before the answer).
            let _ = file.set_len(start);
            return Err(err);
        }

        // 5. Snapshot (cache).
        let after = Position {
            offset: end,
            lines: position.lines + batch.records.len() as u64,
            seq: batch.state.last_applied_seq,
        };
        let mut snapshot_seq = snapshot_seq;
        if batch.changes_state() || after.seq - snapshot_seq >= SNAPSHOT_EVERY {
            Snapshot::of(&batch.state, after).save(dir);
            snapshot_seq = after.seq;
        }
        let last_line = derived::last_line(&batch.bytes);
        if let Some(entry) = Derived::new(file, batch.state.clone(), after, snapshot_seq, last_line) {
            self.derived.borrow_mut().insert(job.clone(), entry);
        }
        // A proven position: the next read of records after this batch starts here, and finds
        // nothing to read at all while nobody else appended (`store::held`). Only when this store
        // had read up to the batch's start: records another writer appended before it (a lease
        // renewal) are still to be read from where the last read ended, not replayed from the
        // start of the ledger (a runner's every heartbeat replayed the whole ledger: O(n)).
        // A batch that starts the ledger has nothing before it.
        let mut positions = self.read_positions.borrow_mut();
        if position.seq == 0 || positions.get(job).is_some_and(|r| r.end.seq == position.seq) {
            let batch_start = Position { offset: start, lines: position.lines, seq: position.seq };
            positions.insert(job.clone(), Remembered { end: after, batch_start: Some(batch_start) });
        }
        Ok(Appended { records: batch.records, state: batch.state })
    }
}
