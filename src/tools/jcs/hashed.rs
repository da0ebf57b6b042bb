//! `--sha256` on a second core: the main thread canonicalizes lines into a batch, a hashing thread
//! turns each batch into its output lines, and the main thread writes them.
//!
//! Why: canonicalizing and hashing cost about the same per byte (on 105 MB: 0.27 s and 0.15 s), so
//! one thread doing both was their sum; two overlap them. Order is kept by construction: one
//! hashing thread takes batches in the order they were sent and gives them back in that order, and
//! only the main thread writes to stdout. Memory is bounded: a batch is handed over once it passes
//! [`BATCH_BYTES`], at most [`IN_FLIGHT`] batches are out at once (the main thread waits for the
//! oldest), and their buffers come back for reuse.
//!
//! [`Hashed::flush`] writes everything put so far; the caller flushes before it returns, on success
//! or error, so no line already read goes unanswered. (Diagnostics on stderr were never ordered with
//! stdout, which is buffered; they are not now either.)

use std::io::Write;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use super::Output;
use crate::cli::io::Io;
use crate::contract::{Error, Result};
use crate::digest;

/// A batch is handed to the hasher once its lines pass this many bytes.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches out at once (sent, not yet written back).
const IN_FLIGHT: usize = 3;

/// Canonical lines back to back and where each ends.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// What the hasher gives back: the output lines, and the emptied batch for reuse.
struct Done {
    out: Vec<u8>,
    batch: Batch,
}

pub(super) struct Hashed<'scope> {
    batch: Batch,
    spare: Vec<Batch>,
    /// `None` once closed (after the hasher was found gone).
    to_hasher: Option<SyncSender<Batch>>,
    from_hasher: Receiver<Done>,
    /// Batches sent whose output is not written yet.
    in_flight: usize,
    thread: Option<ScopedJoinHandle<'scope, ()>>,
}

impl<'scope> Hashed<'scope> {
    pub(super) fn start<'env>(scope: &'scope Scope<'scope, 'env>, output: &Output) -> Hashed<'scope> {
        let text = matches!(output, Output::HashText);
        let (to_hasher, batches) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let (done, from_hasher) = mpsc::sync_channel::<Done>(IN_FLIGHT);
        let thread = scope.spawn(move || {
            for batch in batches {
                let out = hash_lines(&batch, text);
                if done.send(Done { out, batch }).is_err() {
                    return;
                }
            }
        });
        Hashed {
            batch: Batch::default(),
            spare: Vec::new(),
            to_hasher: Some(to_hasher),
            from_hasher,
            in_flight: 0,
            thread: Some(thread),
        }
    }

    /// Add one canonical value (without its newline).
    pub(super) fn put(&mut self, io: &mut Io, canonical: &[u8]) -> Result<()> {
        self.batch.bytes.extend_from_slice(canonical);
        self.batch.ends.push(self.batch.bytes.len());
        if self.batch.bytes.len() >= BATCH_BYTES {
            self.hand_over(io)?;
        }
        Ok(())
    }

    /// Write the output of every value put so far.
    pub(super) fn flush(&mut self, io: &mut Io) -> Result<()> {
        if !self.batch.ends.is_empty() {
            self.hand_over(io)?;
        }
        while self.in_flight > 0 {
            self.write_oldest(io)?;
        }
        Ok(())
    }

    fn hand_over(&mut self, io: &mut Io) -> Result<()> {
        if self.in_flight >= IN_FLIGHT {
            self.write_oldest(io)?;
        }
        let next = self.spare.pop().unwrap_or_default();
        let full = std::mem::replace(&mut self.batch, next);
        let sent = self.to_hasher.as_ref().is_some_and(|tx| tx.send(full).is_ok());
        if !sent {
            return Err(self.gone());
        }
        self.in_flight += 1;
        Ok(())
    }

    fn write_oldest(&mut self, io: &mut Io) -> Result<()> {
        let Ok(Done { out, mut batch }) = self.from_hasher.recv() else { return Err(self.gone()) };
        self.in_flight -= 1;
        batch.bytes.clear();
        batch.ends.clear();
        self.spare.push(batch);
        io.write(&out)
    }

    /// The hasher ended early: only a panic does that. Say so, once it is joined.
    fn gone(&mut self) -> Error {
        self.to_hasher = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Error::generic("the hashing thread of wrkr-jcs --sha256 stopped")
    }
}

/// The output line of each value in `batch`.
fn hash_lines(batch: &Batch, text: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(batch.ends.len() * 96);
    let mut start = 0;
    for &end in &batch.ends {
        put_hash_line(&mut out, &batch.bytes[start..end], text);
        start = end;
    }
    out
}

/// The `--sha256` line of one canonical value: `{"sha256":"<hex>","bytes":N}`, or with `--text`
/// `<hex>  N`; also what `--doc` writes, without the thread.
pub(super) fn put_hash_line(out: &mut Vec<u8>, value: &[u8], text: bool) {
    let hex = digest::sha256_hex(value);
    let _ = if text {
        writeln!(out, "{hex}  {}", value.len())
    } else {
        writeln!(out, "{{\"sha256\":\"{hex}\",\"bytes\":{}}}", value.len())
    };
}
