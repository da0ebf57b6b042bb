//! The spill of one JSONL entry (`events.jsonl`, `checkpoints.jsonl`): its lines in arrival order in
//! an anonymous temp file, plus their sort keys ([`Keys`]: nothing at all for a run of consecutive
//! keys, a ledger's seqs, and eight bytes a line otherwise).
//!
//! The main thread, which is busy scanning the ledger, only copies each line into a chunk buffer and
//! notes its key. A chunk that would pass [`CHUNK_BYTES`] goes over a bounded channel to the
//! spill's writer thread, which feeds it to the sha256 and the CRC-32 and writes it to the file, then
//! hands the emptied buffer back for reuse. The channel holds at most [`QUEUED_CHUNKS`] chunks and the
//! main thread waits when the writer falls behind, so a spill holds a handful of chunks in memory
//! however large the entry (about 320 KiB at most, against a 43 MiB pack for 25,000 steps).
//! One writer per spill rather than one for both keeps each spill's channel, error and file its
//! own; the two are busy at different rates (events are three quarters of the bytes) and cost little
//! when idle.
//!
//! When the lines arrived in key order (`in_order`, the normal case: a ledger is in seq order), the
//! file is the entry byte for byte, so the writer's sha256, CRC-32 and byte count are the entry's,
//! and [`Spill::write_to`] hands the file to the zip as an entry whose CRC and size are known: the
//! bytes do not pass through the CRC again and, when the output is a file, not through user space
//! either (`std::io::copy` from a `File` to a `File` is `copy_file_range` on Linux). Out of order,
//! `seal` reads the file once to find each line's offset, sorts (key, offset, length) by key, and
//! the lines are re-read and re-hashed in key order: correctness never rests on the fast path, only
//! speed does. Keeping no offsets or lengths until then is what keeps a 25,000-step export's, and
//! a served jobpack's, memory small: a (key, offset, length) per line was 3 MiB of it.
//!
//! Failure: a write error on the writer thread (EIO, ENOSPC) ends the thread with that error, which
//! closes the channel. The main thread notices at the next push (or at the hand-over it is blocked
//! in, or at `seal` if no push comes) and reports it as `write pack spill file: <error>`, then again
//! from every later call: the error is never dropped and never a panic. Dropping a spill closes the
//! channel and joins the writer, so no thread outlives the packer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use crate::contract::{Error, Result};
use crate::digest::Hasher;
use crate::pack::crc32::Crc32;
use crate::pack::zipwrite::ZipWriter;

/// A chunk is handed to the writer before it would grow past this: large enough that a write and a
/// channel hand-over are rare (one per ~250 lines), small enough that the chunks in flight stay a
/// small part of the memory of an export or of a jobpack `wrkr serve` streams.
pub(super) const CHUNK_BYTES: usize = 64 * 1024;
/// Full chunks waiting for the writer. Two let the main thread run ahead across a slow write
/// without letting memory grow with the entry.
pub(super) const QUEUED_CHUNKS: usize = 2;

pub(super) fn spill_error(e: io::Error) -> Error {
    Error::io("write pack spill file", e)
}

/// What the writer thread leaves when its channel closes: the file and what went into it.
struct Written {
    file: File,
    sha256: String,
    crc: u32,
    bytes: u64,
}

/// The main thread's end of a running writer.
struct Writer {
    chunks: SyncSender<Vec<u8>>,
    spare: Receiver<Vec<u8>>,
    thread: JoinHandle<io::Result<Written>>,
}

enum Stage {
    Running(Writer),
    Sealed(Written),
    Failed(Error),
}

/// The sort keys of a spill's lines in arrival order.
#[derive(Debug)]
enum Keys {
    /// `first`, `first + 1`, ... `count` keys: a ledger's seqs, kept in no memory at all.
    Run {
        first: u64,
        count: u64,
    },
    Listed(Vec<u64>),
}

impl Keys {
    fn last(&self) -> Option<u64> {
        match self {
            Keys::Run { count: 0, .. } => None,
            Keys::Run { first, count } => Some(first + (count - 1)),
            Keys::Listed(keys) => keys.last().copied(),
        }
    }

    fn push(&mut self, key: u64) {
        match self {
            Keys::Run { count: 0, .. } => *self = Keys::Run { first: key, count: 1 },
            Keys::Run { first, count } if first.checked_add(*count) == Some(key) => *count += 1,
            Keys::Run { .. } => {
                // Not `first..first + count`: a run that ends at u64::MAX would overflow it.
                let mut keys: Vec<u64> = self.iter().collect();
                keys.push(key);
                *self = Keys::Listed(keys);
            }
            Keys::Listed(keys) => keys.push(key),
        }
    }

    fn len(&self) -> u64 {
        match self {
            Keys::Run { count, .. } => *count,
            Keys::Listed(keys) => keys.len() as u64,
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = u64> + '_> {
        match self {
            &Keys::Run { first, count } => Box::new((0..count).map(move |i| first + i)),
            Keys::Listed(keys) => Box::new(keys.iter().copied()),
        }
    }
}

/// One JSONL entry being collected: lines in a temp file plus their sort keys.
pub(super) struct Spill {
    keys: Keys,
    /// Every key so far was greater than the one before it.
    pub(super) in_order: bool,
    /// (key, offset in the file, length with the newline) per line, sorted by key: made by `seal`
    /// only when the lines came out of order.
    sorted: Vec<(u64, u64, u32)>,
    offset: u64,
    /// Lines not yet handed to the writer.
    chunk: Vec<u8>,
    stage: Stage,
}

impl Spill {
    pub(super) fn new() -> Result<Spill> {
        let file = tempfile::tempfile().map_err(|e| Error::io("create pack spill file", e))?;
        Spill::to_file(file)
    }

    /// A spill written to `file` (a temp file, or in tests one whose writes fail).
    fn to_file(file: File) -> Result<Spill> {
        let (chunks, incoming) = mpsc::sync_channel(QUEUED_CHUNKS);
        let (give_back, spare) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wrkr-pack-spill".to_owned())
            .spawn(move || write_chunks(file, &incoming, &give_back))
            .map_err(|e| Error::io("start pack spill writer", e))?;
        Ok(Spill {
            keys: Keys::Run { first: 0, count: 0 },
            in_order: true,
            sorted: Vec::new(),
            offset: 0,
            chunk: Vec::with_capacity(CHUNK_BYTES),
            stage: Stage::Running(Writer { chunks, spare, thread }),
        })
    }

    /// Append `line` (a newline is added) under sort key `key`. On error nothing was added.
    pub(super) fn push(&mut self, key: u64, line: &[u8]) -> Result<()> {
        let writer = match &self.stage {
            Stage::Running(writer) => writer,
            Stage::Failed(e) => return Err(e.clone()),
            Stage::Sealed(_) => return Err(Error::generic("pack spill written to after it was sealed")),
        };
        // The writer only ends early by failing; say so now rather than a chunk later.
        if writer.thread.is_finished() {
            return Err(self.stop_writer().err().unwrap_or_else(stopped_early));
        }
        let len = u32::try_from(line.len() + 1).map_err(|_| Error::invalid_input("record longer than 4 GiB"))?;
        if !self.chunk.is_empty() && self.chunk.len() + line.len() + 1 > CHUNK_BYTES {
            self.hand_over()?;
        }
        if self.keys.last().is_some_and(|last| key <= last) {
            self.in_order = false;
        }
        self.chunk.extend_from_slice(line);
        self.chunk.push(b'\n');
        self.keys.push(key);
        self.offset += u64::from(len);
        Ok(())
    }

    /// `key` is the key of the line just before it while the lines are in order: a duplicate found
    /// as it arrives (out of order, `seal` finds duplicates).
    pub(super) fn repeats_last(&self, key: u64) -> bool {
        self.in_order && self.keys.last() == Some(key)
    }

    /// Send the current chunk to the writer and start a new one (a returned buffer if there is one).
    fn hand_over(&mut self) -> Result<()> {
        let Stage::Running(writer) = &self.stage else { return Err(stopped_early()) };
        let next = writer.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK_BYTES));
        let full = std::mem::replace(&mut self.chunk, next);
        if writer.chunks.send(full).is_err() {
            // The channel closed: the writer failed. Its error is the one to report.
            return Err(self.stop_writer().err().unwrap_or_else(stopped_early));
        }
        Ok(())
    }

    /// Hand over what is left, close the channel and wait for the writer; afterwards the stage is
    /// `Sealed` or `Failed`.
    fn stop_writer(&mut self) -> Result<&Written> {
        self.stage = match std::mem::replace(&mut self.stage, Stage::Failed(stopped_early())) {
            Stage::Running(writer) => {
                let rest = std::mem::take(&mut self.chunk);
                if !rest.is_empty() {
                    // A failed send means the writer already failed; the join below gives its error.
                    let _ = writer.chunks.send(rest);
                }
                drop(writer.chunks);
                match writer.thread.join() {
                    Ok(Ok(written)) => Stage::Sealed(written),
                    Ok(Err(e)) => Stage::Failed(spill_error(e)),
                    Err(_) => Stage::Failed(spill_error(io::Error::other("the spill writer thread panicked"))),
                }
            }
            other => other,
        };
        match &self.stage {
            Stage::Sealed(written) => Ok(written),
            Stage::Failed(e) => Err(e.clone()),
            Stage::Running(_) => Err(stopped_early()),
        }
    }

    /// Finish writing, sort if needed, reject duplicate keys, and return the entry's sha256.
    pub(super) fn seal(&mut self, what: &str, prefix: &str) -> Result<String> {
        let in_order = self.in_order;
        let expected = self.offset;
        let written = self.stop_writer()?;
        if written.bytes != expected {
            return Err(spill_error(io::Error::other(format!(
                "the spill file holds {} bytes, {expected} were pushed",
                written.bytes
            ))));
        }
        if in_order {
            return Ok(written.sha256.clone());
        }
        self.sorted = self.lines_found()?;
        self.sorted.sort_unstable_by_key(|&(key, _, _)| key);
        if let Some(w) = self.sorted.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::invalid_input(format!("duplicate {what} id {prefix}{}", w[0].0))
                .with("id", format!("{prefix}{}", w[0].0)));
        }
        let mut hasher = Hasher::new();
        self.each_line(|bytes| {
            hasher.update(bytes);
            Ok(())
        })?;
        Ok(hasher.finish().0)
    }

    /// (key, offset, length with the newline) of each line, read off the sealed file: the lines
    /// were pushed without newlines of their own (JSONL records), so each newline ends one. A file
    /// that does not split into exactly one line per key is an error, never a wrong entry.
    fn lines_found(&self) -> Result<Vec<(u64, u64, u32)>> {
        let Stage::Sealed(written) = &self.stage else {
            return Err(Error::generic("pack spill read before it was sealed"));
        };
        let mismatch = || spill_error(io::Error::other("the spill file's lines do not match the lines pushed"));
        let mut file = &written.file;
        file.seek(SeekFrom::Start(0)).map_err(spill_error)?;
        let mut reader = BufReader::with_capacity(64 * 1024, file.take(written.bytes));
        let mut found = Vec::with_capacity(usize::try_from(self.keys.len()).unwrap_or(0));
        let (mut offset, mut line) = (0u64, Vec::new());
        for key in self.keys.iter() {
            line.clear();
            let len = reader.read_until(b'\n', &mut line).map_err(spill_error)?;
            if line.last() != Some(&b'\n') {
                return Err(mismatch());
            }
            found.push((key, offset, u32::try_from(len).map_err(|_| mismatch())?));
            offset += len as u64;
        }
        if offset != written.bytes {
            return Err(mismatch());
        }
        Ok(found)
    }

    /// Write the sealed spill as the zip entry `name`.
    pub(super) fn write_to<W: Write>(&self, zip: &mut ZipWriter<W>, name: &str) -> Result<()> {
        let Stage::Sealed(written) = &self.stage else {
            return Err(Error::generic("pack spill written out before it was sealed"));
        };
        let write = |e: io::Error| Error::io("write pack", e);
        if !self.in_order {
            zip.start(name).map_err(write)?;
            self.each_line(|bytes| zip.data(bytes))?;
            return zip.finish_entry().map_err(write);
        }
        let mut file = &written.file;
        file.seek(SeekFrom::Start(0)).map_err(spill_error)?;
        // File to file (export: a `BufWriter<&mut File>`), `io::copy` flushes the BufWriter (the
        // entry's header is in it) and then copies in the kernel; this buffer is never filled. To
        // anything else (`wrkr-pack` to a pipe) it is the copy's buffer: 64 KiB reads, as before.
        let mut source = BufReader::with_capacity(64 * 1024, file.take(written.bytes));
        zip.entry_known(name, written.crc, written.bytes, |out| io::copy(&mut source, out)).map_err(write)
    }

    /// Visit the lines in key order (`sorted`, made by `seal`): the out-of-order path.
    fn each_line(&self, mut f: impl FnMut(&[u8]) -> io::Result<()>) -> Result<()> {
        let Stage::Sealed(written) = &self.stage else {
            return Err(Error::generic("pack spill read before it was sealed"));
        };
        let mut buf = vec![0u8; 64 * 1024];
        for &(_, offset, len) in &self.sorted {
            let len = len as usize;
            if buf.len() < len {
                buf.resize(len, 0);
            }
            written.file.read_exact_at(&mut buf[..len], offset).map_err(spill_error)?;
            f(&buf[..len]).map_err(|e| Error::io("write pack", e))?;
        }
        Ok(())
    }
}

impl Drop for Spill {
    /// A packer dropped on an error path still ends its writers: close the channel, wait.
    fn drop(&mut self) {
        if let Stage::Running(_) = self.stage {
            self.chunk = Vec::new();
            let _ = self.stop_writer();
        }
    }
}

fn stopped_early() -> Error {
    spill_error(io::Error::other("the spill writer stopped without saying why"))
}

/// The writer thread: hash and write each chunk as it comes, give the buffer back, and when the
/// channel closes return the file with the entry's sha256, CRC-32 and size. The first write error
/// ends it (dropping `chunks` closes the channel, which is how the main thread learns).
fn write_chunks(mut file: File, chunks: &Receiver<Vec<u8>>, give_back: &Sender<Vec<u8>>) -> io::Result<Written> {
    let mut sha256 = Hasher::new();
    let mut crc = Crc32::new();
    for mut chunk in chunks {
        sha256.update(&chunk);
        crc.update(&chunk);
        // The point a full or failing disk meets first on a big export: the spill, not the pack.
        crate::failpoint::check("pack.spill_write")?;
        file.write_all(&chunk)?;
        // A chunk grown by one very long line is not kept: spares stay CHUNK_BYTES.
        if chunk.capacity() <= CHUNK_BYTES {
            chunk.clear();
            // The main thread may have stopped taking spares; that is fine.
            let _ = give_back.send(chunk);
        }
    }
    let (sha256, bytes) = sha256.finish();
    Ok(Written { file, sha256, crc: crc.value(), bytes })
}

#[cfg(test)]
mod tests;
