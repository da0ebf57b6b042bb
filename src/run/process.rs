//! Supervised step processes: run a command in its own process group, log its output, and stop it
//! when its time is up or someone asks.
//!
//! Guarantees:
//! - The step runs in a new process group, so stopping it stops everything it started; when the
//!   step's main process ends, the rest of its group is killed too (a step does not outlive itself).
//! - stdout and stderr stream to bounded logs (`run::log`), hashed in full, never held in memory;
//!   with `tee` they are also copied to our own stdout/stderr unchanged.
//! - A deadline is enforced *during* the step: SIGTERM to the group, then SIGKILL after `grace`.
//!   A stop request (`should_stop`) is honoured the same way within one poll interval (100 ms).
//! - With `protocol`, the step gets an events channel (`run::channel`): every record it reports is
//!   handed to the [`Supervisor`] on the supervising thread while the step runs, so budgets can stop
//!   it mid-step; records still in flight when it ends are handed over after it.
//! - One thread does it all, and waiting costs no latency: it sleeps in one `poll` on the step's
//!   output pipes, its events pipe and its exit (a pidfd), so a step that ends is noticed at
//!   once; the poll interval only bounds how late a stop request is noticed. Starting no thread
//!   per step matters: a job of 25,000 short steps would otherwise start 125,000 of them.
//! - With `tee` (only `wrkr wrap`), the copy to our own output is written by a thread of its own
//!   (see `Tee`), so a reader of ours that stops reading cannot stall the supervision.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

use crate::contract::{Error, Result};
use crate::run::channel::{EventsChannel, ProtocolLine};
use crate::run::log::{BoundedLog, StreamDigest};
use crate::run::ready::wait_readable;

/// How often a running step checks its deadline and stop requests.
const POLL: Duration = Duration::from_millis(100);
/// How long to wait for output streams to close after the step's group is gone.
const STREAM_DRAIN: Duration = Duration::from_secs(5);
/// How often a chunk held for a full tee is offered again.
const TEE_RETRY: Duration = Duration::from_millis(10);
/// How often the step's exit is checked where the kernel cannot signal it (no pidfd).
const NO_PIDFD_TICK: Duration = Duration::from_millis(5);
/// One read of a step's pipes.
const READ_BUFFER_LEN: usize = 64 * 1024;

thread_local! {
    /// The read buffer of the last step this thread ran, zeroed once rather than per step: a
    /// fresh 64 KiB `calloc` and `memset` was a sixth of a runner's instructions per `true` step
    /// (issue 16). Taken while a step runs, so a step run inside another gets its own.
    static READ_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// What to run.
#[derive(Clone, Debug)]
pub enum Program {
    /// `sh -c <script>` (not a login shell: profiles are not sourced, output stays deterministic).
    Shell(String),
    /// A program and its arguments, run directly.
    Argv(Vec<OsString>),
}

#[derive(Clone, Debug)]
pub struct StepCommand {
    pub program: Program,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// Logs go to `<log_dir>/<log_name>.stdout.log` and `.stderr.log`.
    pub log_dir: PathBuf,
    pub log_name: String,
    pub log_cap: u64,
    pub deadline: Option<Instant>,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Also copy the output to our own stdout/stderr.
    pub tee: bool,
    /// With `tee`, copy the step's stdout to our *stderr* (our stdout carries a JSON result).
    pub tee_stdout_to_stderr: bool,
    /// Open an events channel (`WRKR_EVENTS_FD`, `WRKR_EVENTS_PATH`) for adapter-protocol records.
    pub protocol: bool,
    /// Give the step our stdin when it is a pipe or a file (`wrkr wrap`); otherwise, and always
    /// for a terminal, `/dev/null`: the step runs in its own process group, where reading the
    /// terminal would stop it (SIGTTIN).
    pub pass_stdin: bool,
    /// Give the step a pseudo-terminal per output stream instead of pipes (`wrkr wrap --tty`,
    /// `run::pty`): it sees a terminal and keeps its colours; logs and tee work as with pipes.
    pub terminal: bool,
}

/// Watches a running step: receives what it reports and decides whether it must stop.
pub trait Supervisor {
    /// A line the step wrote to its events channel, in arrival order.
    fn record(&mut self, line: ProtocolLine);
    /// Asked at least every poll interval: `Some(reason)` stops the step.
    fn should_stop(&mut self) -> Option<String>;
    /// The step is about to be spawned (for a record that must exist before the step can run).
    fn spawning(&mut self) {}
    /// The step started as the process group `group` (for a supervisor that signals it itself,
    /// such as `wrkr wrap` forwarding a Ctrl-C).
    fn started(&mut self, _group: Pid) {}
}

/// A supervisor that ignores records and stops the step when its closure says so.
pub struct StopWhen<F: FnMut() -> Option<String>>(pub F);

impl<F: FnMut() -> Option<String>> Supervisor for StopWhen<F> {
    fn record(&mut self, _line: ProtocolLine) {}
    fn should_stop(&mut self) -> Option<String> {
        (self.0)()
    }
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal it was not sent by us.
    Signaled(i32),
    /// The deadline passed; the group was stopped.
    TimedOut,
    /// `should_stop` asked; the group was stopped. Carries the reason given.
    Stopped(String),
    /// The program could not be started.
    FailedToStart(String),
}

#[derive(Clone, Debug)]
pub struct StepOutcome {
    pub ending: Ending,
    pub duration: Duration,
    /// `None` when a process that left the step's group kept the stream open past the drain time.
    pub stdout: Option<StreamDigest>,
    pub stderr: Option<StreamDigest>,
}

impl StepOutcome {
    pub fn success(&self) -> bool {
        self.ending == Ending::Exited(0)
    }

    /// The exit code as the v1 contracts report it: the process's code, -1 when it did not exit
    /// by itself, 127 when it could not start.
    pub fn exit_code(&self) -> i32 {
        match self.ending {
            Ending::Exited(code) => code,
            Ending::FailedToStart(_) => 127,
            _ => -1,
        }
    }
}

/// Run `cmd` to its end under `supervisor`.
pub fn run(cmd: &StepCommand, supervisor: &mut dyn Supervisor) -> Result<StepOutcome> {
    let started = Instant::now();
    if cmd.protocol {
        // Before this step opens its logs and pipe, any of which would otherwise take it.
        crate::run::channel::reserve_slot();
    }
    crate::store::fs::private_dir_all(&cmd.log_dir)
        .map_err(|e| Error::io(format!("create {}", cmd.log_dir.display()), e))?;
    let log_path = |stream: &str| cmd.log_dir.join(format!("{}.{stream}.log", cmd.log_name));
    let stdout_log =
        BoundedLog::create(&log_path("stdout"), cmd.log_cap).map_err(|e| Error::io("create step log", e))?;
    let stderr_log =
        BoundedLog::create(&log_path("stderr"), cmd.log_cap).map_err(|e| Error::io("create step log", e))?;

    let mut command = match &cmd.program {
        Program::Shell(script) => {
            // By path: a bare `sh` makes std search $PATH with one failed exec per entry.
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(script);
            c
        }
        Program::Argv(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return Err(Error::invalid_input("empty command"));
            };
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    };
    let mut channel = match cmd.protocol {
        true => Some(
            EventsChannel::open(&cmd.log_dir.join(format!("{}.events.jsonl", cmd.log_name)))
                .map_err(|e| Error::io("open the step's events channel", e))?,
        ),
        false => None,
    };
    command.current_dir(&cmd.cwd).envs(cmd.env.iter().map(|(k, v)| (k, v)));
    if cmd.env.iter().any(|(k, v)| k == "WRKR_STORE" && crate::store::location::is_postgres_url(v)) {
        crate::store::local::STRIPPED_FROM_STEPS.iter().for_each(|name| {
            command.env_remove(name);
        });
    }
    if let Some(channel) = &channel {
        command.envs(channel.env.iter().map(|(k, v)| (k, v)));
    }
    let stdin = if cmd.pass_stdin && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    command.stdin(stdin);
    let mut terminals = None;
    if cmd.terminal {
        let open = || crate::run::pty::open().map_err(|e| Error::io("open a pseudo-terminal for the command", e));
        let (out, err) = (open()?, open()?);
        command.stdout(Stdio::from(out.slave)).stderr(Stdio::from(err.slave));
        terminals = Some([out.master, err.master]);
    } else {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    std::os::unix::process::CommandExt::process_group(&mut command, 0);

    supervisor.spawning();
    let spawned = match channel.as_mut() {
        Some(channel) => channel.spawn(&mut command),
        None => crate::run::channel::spawn(&mut command, None),
    };
    // Our copies of the terminals' slave ends are in `command`: closed now, so that the streams
    // end when the step's own copies do.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            return Ok(StepOutcome {
                ending: Ending::FailedToStart(err.to_string()),
                duration: started.elapsed(),
                stdout: stdout_log.finish().ok(),
                stderr: stderr_log.finish().ok(),
            });
        }
    };
    let group = Pid::from_child(&child);
    // Between the spawn and the group's record (a crash or a stall here: the step already runs).
    // Nothing here can fail the step, so an injected error is ignored.
    let _ = crate::failpoint::check("step.started");
    supervisor.started(group);
    let tee = |to_stderr: bool| cmd.tee.then(|| Tee::start(to_stderr));
    let [stdout_pipe, stderr_pipe] = match terminals {
        Some([out, err]) => [Some(out), Some(err)],
        None => [child.stdout.take().map(OwnedFd::from), child.stderr.take().map(OwnedFd::from)],
    };
    let mut outputs = [
        Output::new(stdout_pipe, stdout_log, tee(cmd.tee_stdout_to_stderr)),
        Output::new(stderr_pipe, stderr_log, tee(true)),
    ];
    let mut buf = READ_BUFFER.take();
    buf.resize(READ_BUFFER_LEN, 0);

    let ending = supervise(cmd, &mut child, &mut outputs, channel.as_mut(), supervisor, &mut buf);
    // The step is over: nothing it started may linger (and hold its output pipes open).
    let _ = kill_process_group(group, Signal::KILL);
    let drain_until = Instant::now() + STREAM_DRAIN;
    if let Some(channel) = channel {
        for line in channel.finish(drain_until, &mut buf) {
            supervisor.record(line);
        }
    }
    while outputs.iter().any(Output::open) && Instant::now() < drain_until {
        let fds = [outputs[0].fd(), outputs[1].fd()];
        let ready = wait_readable(&fds, wake_for_tee(&outputs, drain_until));
        for (output, ready) in outputs.iter_mut().zip(ready) {
            output.pass_held();
            if ready {
                output.read(&mut buf);
            }
        }
    }
    READ_BUFFER.set(buf);
    let [stdout, stderr] = outputs;
    Ok(StepOutcome {
        ending,
        duration: started.elapsed(),
        stdout: stdout.finish(drain_until)?,
        stderr: stderr.finish(drain_until)?,
    })
}

/// A descriptor that becomes readable when `process` ends: a pidfd on Linux. `None` elsewhere and
/// on kernels before 5.3, where the supervision loop checks for the exit on a short tick instead.
#[cfg(target_os = "linux")]
fn exit_notifier(process: Pid) -> Option<OwnedFd> {
    rustix::process::pidfd_open(process, rustix::process::PidfdFlags::empty()).ok()
}

#[cfg(not(target_os = "linux"))]
fn exit_notifier(_process: Pid) -> Option<OwnedFd> {
    None
}

/// Follow the step until its main process ends: copy its output, hand over its records, and stop
/// its group when the deadline passes or the supervisor asks (SIGTERM, then SIGKILL after the
/// grace period, all the while still reading its output so it cannot block on a full pipe).
fn supervise(
    cmd: &StepCommand,
    child: &mut Child,
    outputs: &mut [Output; 2],
    mut channel: Option<&mut EventsChannel>,
    supervisor: &mut dyn Supervisor,
    buf: &mut [u8],
) -> Ending {
    let group = Pid::from_child(child);
    let exit_fd = exit_notifier(group);
    let mut stopping: Option<(Ending, Option<Instant>)> = None;
    let mut next_check = Instant::now() + POLL;
    loop {
        let now = Instant::now();
        let mut wake = next_check;
        if exit_fd.is_none() {
            wake = wake.min(now + NO_PIDFD_TICK);
        }
        match &stopping {
            Some((_, Some(kill_at))) => wake = wake.min(*kill_at),
            Some((_, None)) => {}
            None => wake = cmd.deadline.map_or(wake, |d| wake.min(d)),
        }
        if let Some(channel) = channel.as_deref() {
            wake = wake.min(channel.next_tail());
        }
        let fds = [
            outputs[0].fd(),
            outputs[1].fd(),
            channel.as_deref().and_then(EventsChannel::pipe),
            exit_fd.as_ref().map(|fd| fd.as_fd()),
        ];
        let ready = wait_readable(&fds, wake_for_tee(outputs, wake));
        for (output, ready) in outputs.iter_mut().zip(&ready) {
            output.pass_held();
            if *ready {
                output.read(buf);
            }
        }
        if let Some(channel) = channel.as_deref_mut() {
            if ready[2] {
                channel.read_pipe(buf);
            }
            channel.tail(buf);
        }
        if ready[3] || exit_fd.is_none() {
            match child.try_wait() {
                Ok(Some(status)) => return stopping.map_or_else(|| ending_of(status), |(ending, _)| ending),
                Ok(None) => {}
                Err(_) => return Ending::Signaled(-1),
            }
        }
        let now = Instant::now();
        if let Some((_, kill_at)) = &mut stopping {
            if kill_at.is_some_and(|at| now >= at) {
                let _ = kill_process_group(group, Signal::KILL);
                *kill_at = None;
            }
            continue;
        }
        if cmd.deadline.is_some_and(|d| now >= d) {
            stopping = Some((Ending::TimedOut, Some(now + cmd.grace)));
        } else if now >= next_check {
            next_check = now + POLL;
            for line in channel.as_deref_mut().map(EventsChannel::take).unwrap_or_default() {
                supervisor.record(line);
            }
            if let Some(reason) = supervisor.should_stop() {
                stopping = Some((Ending::Stopped(reason), Some(now + cmd.grace)));
            }
        }
        if stopping.is_some() {
            let _ = kill_process_group(group, Signal::TERM);
        }
    }
}

/// One of the step's output streams, copied to its bounded log (and to ours, with `tee`).
struct Output {
    /// `None` once the stream ended (or failed).
    pipe: Option<File>,
    log: Option<BoundedLog>,
    tee: Option<Tee>,
    /// A chunk the tee had no room for yet: the pipe is not read again until it is passed on.
    held: Option<Vec<u8>>,
    digest: Option<io::Result<StreamDigest>>,
}

impl Output {
    fn new(pipe: Option<OwnedFd>, log: BoundedLog, tee: Option<Tee>) -> Output {
        let mut output = Output { pipe: pipe.map(File::from), log: Some(log), tee, held: None, digest: None };
        if output.pipe.is_none() {
            output.close();
        }
        output
    }

    fn open(&self) -> bool {
        self.pipe.is_some()
    }

    /// The pipe to wait on; none while a chunk is held for the tee.
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self.held {
            Some(_) => None,
            None => self.pipe.as_ref().map(AsFd::as_fd),
        }
    }

    /// One read: call when the stream is ready, so the read does not block.
    fn read(&mut self, buf: &mut [u8]) {
        let Some(pipe) = self.pipe.as_mut() else { return };
        let n = match pipe.read(buf) {
            Ok(0) => return self.close(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
            // A pseudo-terminal's end (`--tty`); a pipe never fails so.
            Err(e) if crate::run::pty::is_hangup(&e) => return self.close(),
            Err(e) => return self.fail(e),
        };
        if let Some(log) = self.log.as_mut()
            && let Err(e) = log.write(&buf[..n])
        {
            return self.fail(e);
        }
        if self.tee.is_some() {
            self.held = Some(buf[..n].to_vec());
            self.pass_held();
        }
    }

    /// Hand the held chunk to the tee if it has room.
    fn pass_held(&mut self) {
        let (Some(tee), Some(chunk)) = (self.tee.as_ref(), self.held.take()) else { return };
        match tee.chunks.try_send(chunk) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(chunk)) => self.held = Some(chunk),
            // The terminal went away: keep logging without it.
            Err(mpsc::TrySendError::Disconnected(_)) => self.tee = None,
        }
    }

    fn close(&mut self) {
        self.pipe = None;
        if let Some(log) = self.log.take() {
            self.digest = Some(log.finish());
        }
    }

    fn fail(&mut self, err: io::Error) {
        self.pipe = None;
        self.log = None;
        self.digest = Some(Err(err));
    }

    /// The stream's digest; `None` when it was still open (a process that left the step's group
    /// kept it past the drain time). The tee's copy is written out first (waiting at most until
    /// `until`), so the step's output comes before whatever we print next.
    fn finish(self, until: Instant) -> Result<Option<StreamDigest>> {
        if let Some(Tee { chunks, written }) = self.tee {
            drop(chunks);
            if let Err(mpsc::RecvTimeoutError::Timeout) =
                written.recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                // Our reader is slow; the job's records go first, the copy is finished before we print.
                UNFINISHED_TEES.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(written);
            }
        }
        match self.digest {
            None => Ok(None),
            Some(Ok(digest)) => Ok(Some(digest)),
            Some(Err(err)) => Err(Error::io("write step log", err)),
        }
    }
}

/// Tee writers still copying a step's output when the step was done with: each disconnects when its
/// copy is written.
static UNFINISHED_TEES: Mutex<Vec<mpsc::Receiver<()>>> = Mutex::new(Vec::new());

/// Wait until every teed copy of a step's output is written. Call before printing anything of our
/// own to the same streams, so the step's output cannot interleave with or follow it. Unbounded on
/// purpose: what we print next goes to the same reader and would wait for it just the same.
pub fn finish_teed_output() {
    let pending = std::mem::take(&mut *UNFINISHED_TEES.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    for written in pending {
        let _ = written.recv();
    }
}

/// The copy of a stream to our own stdout or stderr, written by a thread of its own through a
/// small queue: a reader of ours that stops reading fills the queue and then holds the step back
/// (its pipe fills), but never the supervising thread, which keeps enforcing deadlines and stop
/// requests. Only `wrkr wrap` tees, one step per process, so the thread costs nothing that counts.
struct Tee {
    chunks: mpsc::SyncSender<Vec<u8>>,
    /// Disconnects when everything queued was written (or the writer gave up).
    written: mpsc::Receiver<()>,
}

impl Tee {
    const QUEUE: usize = 16;

    fn start(to_stderr: bool) -> Tee {
        let (chunks, queue) = mpsc::sync_channel::<Vec<u8>>(Tee::QUEUE);
        let (done, written) = mpsc::channel::<()>();
        thread::spawn(move || {
            let _done = done;
            let (mut out, terminal): (Box<dyn io::Write>, bool) = match to_stderr {
                true => (Box::new(io::stderr()), io::stderr().is_terminal()),
                false => (Box::new(io::stdout()), io::stdout().is_terminal()),
            };
            for chunk in queue {
                // On a terminal, `wrap`'s progress line makes room for the output first.
                let written = match terminal {
                    true => crate::run::progress::write_output(&mut out, &chunk),
                    false => out.write_all(&chunk).and_then(|()| out.flush()),
                };
                if written.is_err() {
                    return;
                }
            }
        });
        Tee { chunks, written }
    }
}

/// While a chunk is held for a full tee, wake often enough to pass it on.
fn wake_for_tee(outputs: &[Output; 2], wake: Instant) -> Instant {
    match outputs.iter().any(|o| o.held.is_some()) {
        true => wake.min(Instant::now() + TEE_RETRY),
        false => wake,
    }
}

fn ending_of(status: ExitStatus) -> Ending {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(sig)) => Ending::Signaled(sig),
        (None, None) => Ending::Signaled(-1),
    }
}

#[cfg(test)]
mod tests;
