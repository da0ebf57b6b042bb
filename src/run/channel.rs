//! The events channel a step reports through: a pipe (`WRKR_EVENTS_FD`) and an append-only file
//! (`WRKR_EVENTS_PATH`), both read line by line on their own threads while the step runs.
//!
//! The pipe's write end is placed at descriptor 3 in the step (`WRKR_EVENTS_FD=3`: shells such as
//! dash only redirect to single-digit descriptors, so a high number would not be usable from
//! `sh -c`), and wrkr closes its own copy right after the spawn, so the reader sees end-of-stream
//! when the step's process group is gone. The file is created by the step when it first appends,
//! tailed (new complete lines every 20 ms) and read one last time as soon as the step ends, when a
//! final line without `\n` also counts. Lines are bounded by `protocol::MAX_RECORD_BYTES`; a longer one arrives as
//! `TooLong` so it can be recorded as rejected without being buffered.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::jsonl::{JsonlReader, LineError};
use crate::run::protocol::MAX_RECORD_BYTES;

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
    lines: Receiver<ProtocolLine>,
    stop_tail: Sender<()>,
    threads: Vec<JoinHandle<()>>,
}

impl EventsChannel {
    /// Create the pipe and start reading it and the file at `path` (which the step may create).
    pub fn open(path: &Path) -> io::Result<EventsChannel> {
        let (reader, writer) = io::pipe()?;
        let (tx, lines) = mpsc::channel();
        let (stop_tail, stopped) = mpsc::channel();
        let threads = vec![spawn_pipe_reader(reader, tx.clone()), spawn_tailer(path.to_path_buf(), tx, stopped)];
        let env = vec![
            ("WRKR_EVENTS_FD".to_owned(), STEP_EVENTS_FD.to_string()),
            ("WRKR_EVENTS_PATH".to_owned(), path.display().to_string()),
        ];
        Ok(EventsChannel { env, writer: Some(writer), lines, stop_tail, threads })
    }

    /// Start `command` with the write end as its descriptor 3, then close wrkr's copy of it.
    ///
    /// While wrkr holds descriptor 3 (see [`spawn`]) this is a `posix_spawn`; otherwise the
    /// descriptor is placed by a `pre_exec`, which makes the spawn a `fork`.
    pub fn spawn(&mut self, command: &mut Command) -> io::Result<Child> {
        let spawned = match &self.writer {
            Some(writer) => spawn(command, Some(writer.as_fd())),
            None => spawn(command, None),
        };
        self.writer = None;
        spawned
    }

    /// Lines that arrived so far, without waiting.
    pub fn drain(&self) -> Vec<ProtocolLine> {
        self.lines.try_iter().collect()
    }

    /// After the step's group is gone: read what is left and stop the readers (bounded wait).
    pub fn finish(mut self, wait: Duration) -> Vec<ProtocolLine> {
        self.writer = None;
        let _ = self.stop_tail.send(());
        // Both readers say when they are done (their senders drop); wait for that, bounded, so a
        // process that escaped the step's group and holds the pipe cannot hang the runner.
        let deadline = std::time::Instant::now() + wait;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        for handle in self.threads.drain(..) {
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
        lines
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

/// Take descriptor 3 if wrkr does not hold it yet and it is free (it may not be: the parent may
/// have passed one down, or another thread opened a file; then the fallback serves, and the next
/// step tries again).
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
    let fd3 = rustix::io::fcntl_dupfd_cloexec(&null, STEP_EVENTS_FD).ok()?;
    (fd3.as_raw_fd() == STEP_EVENTS_FD).then_some(Slot { fd3, idle: null })
}

/// Spawn `command`, with `events` (if any) as its descriptor 3.
pub fn spawn(command: &mut Command, events: Option<BorrowedFd<'_>>) -> io::Result<Child> {
    let mut slot = SLOT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(events) = events else { return command.spawn() };
    let Some(Slot { fd3, idle }) = slot.as_mut() else {
        place_in_child(command, events.as_raw_fd());
        return command.spawn();
    };
    rustix::io::dup2(events, fd3)?;
    let spawned = command.spawn();
    // Back to /dev/null, close-on-exec: the pipe's only writer is now the step.
    let restored = rustix::io::dup3(&*idle, fd3, rustix::io::DupFlags::CLOEXEC);
    if restored.is_err() {
        // Descriptor 3 would keep the pipe open; give it up rather than hold it wrongly.
        *slot = None;
    }
    spawned
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

fn spawn_pipe_reader(reader: io::PipeReader, tx: Sender<ProtocolLine>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut lines = JsonlReader::new(BufReader::new(reader), MAX_RECORD_BYTES);
        while let Some(next) = lines.next_line() {
            let msg = match next {
                Ok((_, line)) if crate::jsonl::is_blank(line) => continue,
                Ok((_, line)) => ProtocolLine::Line(line.to_vec()),
                Err(LineError::TooLong { .. }) => ProtocolLine::TooLong,
                Err(LineError::Io(_)) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    })
}

/// Follow an append-only file: emit each complete line; on stop, one last read (a final line
/// without `\n` counts then).
fn spawn_tailer(path: PathBuf, tx: Sender<ProtocolLine>, stop: Receiver<()>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut file: Option<File> = None;
        let mut pending: Vec<u8> = Vec::new();
        let mut skipping = false;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            // Wake every 20 ms to read, or at once when the step has ended.
            let last_round =
                !matches!(stop.recv_timeout(Duration::from_millis(20)), Err(mpsc::RecvTimeoutError::Timeout));
            if file.is_none() {
                // The step creates the file when it first appends to it (`>>`).
                file = File::open(&path).ok();
            }
            while let Some(f) = file.as_mut() {
                let n = match f.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for &b in &chunk[..n] {
                    if b == b'\n' {
                        emit(&tx, &mut pending, &mut skipping);
                    } else if !skipping {
                        pending.push(b);
                        if pending.len() as u64 > MAX_RECORD_BYTES {
                            pending.clear();
                            skipping = true;
                        }
                    }
                }
            }
            if last_round {
                emit(&tx, &mut pending, &mut skipping);
                return;
            }
            // A writer may truncate the file; start over from its beginning then.
            if let Some(f) = file.as_mut()
                && let Ok(meta) = std::fs::metadata(&path)
                && let Ok(pos) = f.stream_position()
                && meta.len() < pos
            {
                let _ = f.seek(SeekFrom::Start(0));
                pending.clear();
            }
        }
    })
}

fn emit(tx: &Sender<ProtocolLine>, pending: &mut Vec<u8>, skipping: &mut bool) {
    if *skipping {
        let _ = tx.send(ProtocolLine::TooLong);
    } else if !crate::jsonl::is_blank(pending) {
        let _ = tx.send(ProtocolLine::Line(std::mem::take(pending)));
    }
    pending.clear();
    *skipping = false;
}
