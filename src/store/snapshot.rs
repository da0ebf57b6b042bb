//! The snapshot cache `snapshot.json`: a copy of the replayed state and the ledger position it
//! was derived from, so that `wrkr status` need not replay the whole ledger.
//!
//! It is only a cache. It is written without fsync (after a crash it may be old, empty or gone:
//! all three are detected and the state is replayed), and it is trusted only when it proves where
//! it came from: `ledger_offset` and `ledger_lines` name the end of the line holding `last_seq`,
//! and the reader checks that the ledger has that seq there before replaying what came after.
//! A snapshot without these fields (written by the Go implementation, whose snapshots can miss an
//! event, digest 4.5) is ignored and rebuilt. The first three keys keep Go's layout, so Go can
//! still read ours.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::contract::time::Timestamp;
use crate::failpoint;
use crate::job::JobState;
use crate::store::atomic::{self, Durability};
use crate::store::ledger::Position;

pub const SNAPSHOT_FILE: &str = "snapshot.json";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub last_seq: u64,
    pub created_at: String,
    pub state: JobState,
    /// Offset just after the line holding `last_seq` (wrkr addition).
    pub ledger_offset: u64,
    /// Number of lines up to and including that line (wrkr addition).
    pub ledger_lines: u64,
}

impl Snapshot {
    pub fn of(state: &JobState, position: Position) -> Snapshot {
        Snapshot {
            last_seq: position.seq,
            created_at: Timestamp::now().to_string(),
            state: state.clone(),
            ledger_offset: position.offset,
            ledger_lines: position.lines,
        }
    }

    pub fn position(&self) -> Position {
        Position { offset: self.ledger_offset, lines: self.ledger_lines, seq: self.last_seq }
    }

    /// The snapshot in `dir`, or `None` when there is none or it cannot be used.
    pub fn load(dir: &Path, job_id: &str) -> Option<Snapshot> {
        let bytes = std::fs::read(dir.join(SNAPSHOT_FILE)).ok()?;
        let snapshot: Snapshot = serde_json::from_slice(&bytes).ok()?;
        let consistent = snapshot.state.job_id == job_id
            && snapshot.state.last_applied_seq == snapshot.last_seq
            && snapshot.last_seq > 0
            && snapshot.ledger_offset > 0;
        consistent.then_some(snapshot)
    }

    /// Write it (cache durability: no fsync). Failing to write a cache is not an error.
    pub fn save(&self, dir: &Path) {
        if failpoint::check("snapshot.write").is_err() {
            return;
        }
        if let Ok(mut bytes) = serde_json::to_vec_pretty(self) {
            bytes.push(b'\n');
            let _ = atomic::replace(&dir.join(SNAPSHOT_FILE), &bytes, Durability::Cache);
        }
    }
}
