//! The events channel a step reports through: a pipe (`WRKR_EVENTS_FD`) and an append-only file
//! (`WRKR_EVENTS_PATH`), both read line by line while the step runs, by the thread that
//! supervises it (`run::process`: the pipe when it is ready, the file every 20 ms).
//!
//! The pipe's write end is placed at descriptor 3 in the step (`WRKR_EVENTS_FD=3`: shells such as
//! dash only redirect to single-digit descriptors, so a high number would not be usable from
//! `sh -c`), and wrkr closes its own copy right after the spawn, so the reader sees end-of-stream
//! when the step's process group is gone. The file is created by the step when it first appends,
//! tailed (new complete lines every 20 ms) and read one last time as soon as the step ends, when a
//! final line without `\n` also counts. Lines are bounded by `protocol::MAX_RECORD_BYTES`; a longer one arrives as
//! `TooLong` so it can be recorded as rejected without being buffered.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::run::protocol::MAX_RECORD_BYTES;
use crate::run::ready::wait_readable;

/// The descriptor a step writes its records to.
pub const STEP_EVENTS_FD: RawFd = 3;

/// One line a step wrote to its events channel.
#[derive(Clone, Debug, PartialEq)]
pub enum ProtocolLine {
    Line(Vec<u8>),
    /// Longer than the record limit; its bytes were skipped.
    TooLong,
}

pub struct EventsChannel {
    /// `WRKR_EVENTS_FD` and `WRKR_EVENTS_PATH` for the step's environment.
    pub env: Vec<(String, String)>,
    writer: Option<io::PipeWriter>,
    /// `None` once the pipe reached its end.
    reader: Option<io::PipeReader>,
    from_pipe: Lines,
    path: PathBuf,
    /// `None` until the step creates the file.
    file: Option<File>,
    from_file: Lines,
    next_tail: Instant,
    arrived: Vec<ProtocolLine>,
}

/// How often the events file is read for new lines while the step runs.
pub const TAIL_INTERVAL: Duration = Duration::from_millis(20);

impl EventsChannel {
    /// Create the pipe; the file at `path` is the step's to create.
    pub fn open(path: &Path) -> io::Result<EventsChannel> {
        let (reader, writer) = io::pipe()?;
        let env = vec![
            ("WRKR_EVENTS_FD".to_owned(), STEP_EVENTS_FD.to_string()),
            ("WRKR_EVENTS_PATH".to_owned(), path.display().to_string()),
        ];
        Ok(EventsChannel {
            env,
            writer: Some(writer),
            reader: Some(reader),
            from_pipe: Lines::default(),
            path: path.to_path_buf(),
            file: None,
            from_file: Lines::default(),
            next_tail: Instant::now() + TAIL_INTERVAL,
            arrived: Vec::new(),
        })
    }

    /// Start `command` with the write end as its descriptor 3, then close wrkr's copy of it.
    ///
    /// While wrkr holds descriptor 3 (see [`spawn`]) this is a `posix_spawn`; otherwise the
    /// descriptor is placed by a `pre_exec`, which makes the spawn a `fork`.
    pub fn spawn(&mut self, command: &mut Command) -> io::Result<Child> {
        let spawned = spawn(command, self.writer.as_ref().map(AsFd::as_fd));
        self.writer = None;
        spawned
    }

    /// The pipe's read end until its end of stream, to wait on.
    pub fn pipe(&self) -> Option<BorrowedFd<'_>> {
        self.reader.as_ref().map(AsFd::as_fd)
    }

    /// One read from the pipe: call when it is ready, so the read does not block.
    pub fn read_pipe(&mut self, buf: &mut [u8]) {
        let Some(reader) = self.reader.as_mut() else { return };
        match reader.read(buf) {
            Ok(0) => {
                self.from_pipe.end(&mut self.arrived);
                self.reader = None;
            }
            Ok(n) => self.from_pipe.push(&buf[..n], &mut self.arrived),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.reader = None,
        }
    }

    /// When the file is next due to be read.
    pub fn next_tail(&self) -> Instant {
        self.next_tail
    }

    /// Read the file's new lines if it is due.
    pub fn tail(&mut self, buf: &mut [u8]) {
        if Instant::now() >= self.next_tail {
            self.read_file(buf);
            self.next_tail = Instant::now() + TAIL_INTERVAL;
        }
    }

    /// Lines that arrived since the last call.
    pub fn take(&mut self) -> Vec<ProtocolLine> {
        std::mem::take(&mut self.arrived)
    }

    /// After the step's group is gone: read the pipe to its end (waiting at most until `until`,
    /// so a process that escaped the group and holds the pipe cannot hang the runner) and the
    /// file one last time, where a final line without `\n` also counts.
    pub fn finish(mut self, until: Instant, buf: &mut [u8]) -> Vec<ProtocolLine> {
        self.writer = None;
        while self.reader.is_some() {
            if !wait_readable(&[self.pipe()], until)[0] {
                break;
            }
            self.read_pipe(buf);
        }
        self.read_file(buf);
        self.from_file.end(&mut self.arrived);
        self.arrived
    }

    fn read_file(&mut self, buf: &mut [u8]) {
        if self.file.is_none() {
            // The step creates the file when it first appends to it (`>>`).
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = self.file.as_mut() else { return };
        // A writer may truncate the file; start over from its beginning then.
        if let (Ok(meta), Ok(pos)) = (file.metadata(), file.stream_position())
            && meta.len() < pos
        {
            let _ = file.seek(SeekFrom::Start(0));
            self.from_file = Lines::default();
        }
        loop {
            match file.read(buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.from_file.push(&buf[..n], &mut self.arrived),
            }
        }
    }
}

/// Splits a byte stream into lines bounded by `MAX_RECORD_BYTES`; blank lines are dropped.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
    /// The current line passed the bound; its bytes are being skipped.
    skipping: bool,
}

impl Lines {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<ProtocolLine>) {
        for part in bytes.split_inclusive(|&b| b == b'\n') {
            let (body, complete) = match part.split_last() {
                Some((b'\n', body)) => (body, true),
                _ => (part, false),
            };
            if !self.skipping {
                if (self.pending.len() + body.len()) as u64 > MAX_RECORD_BYTES {
                    self.pending.clear();
                    self.skipping = true;
                } else {
                    self.pending.extend_from_slice(body);
                }
            }
            if complete {
                self.end(out);
            }
        }
    }

    /// The end of a line (or of the stream: a final line without `\n` counts).
    fn end(&mut self, out: &mut Vec<ProtocolLine>) {
        if self.skipping {
            out.push(ProtocolLine::TooLong);
        } else if !crate::jsonl::is_blank(&self.pending) {
            out.push(ProtocolLine::Line(std::mem::take(&mut self.pending)));
        }
        self.pending.clear();
        self.skipping = false;
    }
}

/// Descriptor 3, held by wrkr from the first step on (a `/dev/null` while no step is starting).
///
/// A step's events descriptor must be 3 (see the module comment). Placing it there in the child
/// takes a `pre_exec`, and a `pre_exec` forces `fork`, which copies the page tables of the whole
/// runner: with a large JobSpec loaded that was most of a step's cost. When wrkr itself owns
/// descriptor 3 it can point it at the step's pipe, without close-on-exec, for the instant of a
/// `posix_spawn` (vfork + exec, nothing copied) and point it back at `/dev/null` right after. The
/// lock makes that instant exclusive: every spawn in this module holds it, so no other step (or
/// other process started here) inherits the pipe.
struct Slot {
    fd3: OwnedFd,
    idle: OwnedFd,
}

static SLOT: Mutex<Option<Slot>> = Mutex::new(None);

/// What descriptor 3 was when wrkr started: (device, inode) of a descriptor the parent passed down
/// (`time -o FILE`, `3>FILE`, a service manager's socket), `None` when it was closed.
static INHERITED_FD3: OnceLock<Option<(u64, u64)>> = OnceLock::new();

/// Note what descriptor 3 is before any thread of wrkr's could open a file there. Called first
/// thing in `cli::main`.
pub fn note_inherited_fd3() {
    let _ = INHERITED_FD3.set(fd3_identity());
}

/// (device, inode) of what descriptor 3 names, read through `/proc/self/fd` (no descriptor is
/// borrowed by number). `None` when it is closed, or where there is no `/proc`.
fn fd3_identity() -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/fd/{STEP_EVENTS_FD}")).ok().map(|m| (m.dev(), m.ino()))
}

/// Take descriptor 3 if wrkr does not hold it yet. Where the parent passed one down, it is moved
/// out of the way first (see `take_inherited`); where another thread of ours holds it, the
/// fallback serves, and the next step tries again.
pub fn reserve_slot() {
    let mut slot = SLOT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.is_none() {
        *slot = take_fd3();
    }
}

fn take_fd3() -> Option<Slot> {
    let null: OwnedFd = File::open("/dev/null").ok()?.into();
    // The lowest free descriptor: if 3 is free, the open itself got it.
    if null.as_raw_fd() == STEP_EVENTS_FD {
        let idle = rustix::io::fcntl_dupfd_cloexec(&null, 0).ok()?;
        return Some(Slot { fd3: null, idle });
    }
    let fd3 = match take_inherited() {
        Some(fd3) => fd3,
        None => rustix::io::fcntl_dupfd_cloexec(&null, STEP_EVENTS_FD).ok()?,
    };
    if fd3.as_raw_fd() != STEP_EVENTS_FD {
        return None;
    }
    let mut slot = Slot { fd3, idle: null };
    restore_idle(&slot.idle, &mut slot.fd3).ok()?;
    Some(slot)
}

/// Descriptor 3 as ours, when it is still the one the parent passed down. No step ever saw it (a
/// step's descriptor 3 is its events channel, by `posix_spawn` or by the fallback alike), and wrkr
/// itself never uses it by number; but while it sat there every step started by `fork` (the
/// fallback), 15% slower per step under `time -o`. Its open file is kept, at a higher descriptor
/// and close-on-exec, for as long as wrkr runs: whoever passed it down sees it closed when wrkr
/// exits, as before.
fn take_inherited() -> Option<OwnedFd> {
    let inherited = (*INHERITED_FD3.get()?)?;
    if fd3_identity() != Some(inherited) {
        return None;
    }
    // SAFETY: descriptor 3 is open and names the file it named when wrkr started, before any
    // thread of ours ran (`note_inherited_fd3`), so it is the parent's, and no code in wrkr holds
    // it: it is never opened, closed or borrowed by number elsewhere. Taking it happens once,
    // under the `SLOT` lock, and only when no slot exists yet.
    let fd3 = unsafe { OwnedFd::from_raw_fd(STEP_EVENTS_FD) };
    match rustix::io::fcntl_dupfd_cloexec(&fd3, STEP_EVENTS_FD + 1) {
        // Never closed: the parent's file stays open as long as wrkr runs, as it did.
        Ok(kept) => std::mem::forget(kept),
        Err(_) => {
            // Leave it in place, still unowned, and take the fallback.
            std::mem::forget(fd3);
            return None;
        }
    }
    Some(fd3)
}

/// Spawn `command`, with `events` (if any) as its descriptor 3.
pub fn spawn(command: &mut Command, events: Option<BorrowedFd<'_>>) -> io::Result<Child> {
    crate::failpoint::check("step.spawn")?;
    let mut slot = SLOT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(events) = events else { return command.spawn() };
    let Some(Slot { fd3, idle }) = slot.as_mut() else {
        place_in_child(command, events.as_raw_fd());
        return command.spawn();
    };
    rustix::io::dup2(events, fd3)?;
    let spawned = command.spawn();
    // Back to /dev/null, close-on-exec: the pipe's only writer is now the step.
    let restored = restore_idle(idle, fd3);
    if restored.is_err() {
        // Descriptor 3 would keep the pipe open; give it up rather than hold it wrongly.
        *slot = None;
    }
    spawned
}

/// Point `fd3` back at `idle`, close-on-exec. Linux does both in one `dup3`.
#[cfg(target_os = "linux")]
fn restore_idle(idle: &OwnedFd, fd3: &mut OwnedFd) -> rustix::io::Result<()> {
    rustix::io::dup3(idle, fd3, rustix::io::DupFlags::CLOEXEC)
}

/// Point `fd3` back at `idle`, close-on-exec. Where `dup3` does not exist (macOS) it takes `dup2`
/// and then the flag: a process started outside this module in between could inherit descriptor 3
/// (as it could during the spawn itself), and would only hold `/dev/null`.
#[cfg(not(target_os = "linux"))]
fn restore_idle(idle: &OwnedFd, fd3: &mut OwnedFd) -> rustix::io::Result<()> {
    rustix::io::dup2(idle, fd3)?;
    rustix::io::fcntl_setfd(&*fd3, rustix::io::FdFlags::CLOEXEC)
}

/// The fallback: place `source` at descriptor 3 in the forked child, before exec.
fn place_in_child(command: &mut Command, source: RawFd) {
    // SAFETY: the closure runs in the forked child before exec and only calls dup2/fcntl, which
    // are async-signal-safe; it allocates nothing and touches no locks. The OwnedFd for
    // descriptor 3 is forgotten, never dropped, so it closes nothing.
    unsafe {
        command.pre_exec(move || {
            let source = BorrowedFd::borrow_raw(source);
            if source.as_raw_fd() == STEP_EVENTS_FD {
                // Already in place: only make it survive exec.
                return rustix::io::fcntl_setfd(source, rustix::io::FdFlags::empty()).map_err(io::Error::from);
            }
            let mut target = std::mem::ManuallyDrop::new(OwnedFd::from_raw_fd(STEP_EVENTS_FD));
            rustix::io::dup2(source, &mut target).map_err(io::Error::from)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<ProtocolLine> {
        let (mut lines, mut out) = (Lines::default(), Vec::new());
        for chunk in chunks {
            lines.push(chunk, &mut out);
        }
        lines.end(&mut out);
        out
    }

    fn line(s: &str) -> ProtocolLine {
        ProtocolLine::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn lines_join_across_reads_and_skip_blanks() {
        assert_eq!(split(&[b"{\"a\"", b":1}\n\n  \n{\"b\":2}\n"]), [line("{\"a\":1}"), line("{\"b\":2}")]);
    }

    #[test]
    fn a_final_line_without_newline_counts_at_the_end() {
        assert_eq!(split(&[b"one\ntw", b"o"]), [line("one"), line("two")]);
    }

    #[test]
    fn an_overlong_line_is_reported_once_and_the_next_one_is_kept() {
        let max = MAX_RECORD_BYTES as usize;
        let exact = "x".repeat(max);
        let long = vec![b'y'; max + 1];
        let chunks: Vec<&[u8]> = vec![exact.as_bytes(), b"\n", &long[..max / 2], &long[max / 2..], b"\nok\n"];
        assert_eq!(split(&chunks), [line(&exact), ProtocolLine::TooLong, line("ok")]);
    }
}
