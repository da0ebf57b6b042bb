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
//! - Waiting costs no latency: the child is reaped by a waiter thread and the supervisor wakes at
//!   once when it exits; the poll interval only bounds how late a stop request is noticed.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

use crate::contract::{Error, Result};
use crate::run::channel::{EventsChannel, ProtocolLine};
use crate::run::log::{self, BoundedLog, StreamDigest};

/// How often a running step checks its deadline and stop requests.
const POLL: Duration = Duration::from_millis(100);
/// How long to wait for output streams to close after the step's group is gone.
const STREAM_DRAIN: Duration = Duration::from_secs(5);

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
}

/// Watches a running step: receives what it reports and decides whether it must stop.
pub trait Supervisor {
    /// A line the step wrote to its events channel, in arrival order.
    fn record(&mut self, line: ProtocolLine);
    /// Asked at least every poll interval: `Some(reason)` stops the step.
    fn should_stop(&mut self) -> Option<String>;
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
    std::fs::create_dir_all(&cmd.log_dir).map_err(|e| Error::io(format!("create {}", cmd.log_dir.display()), e))?;
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
    if let Some(channel) = &channel {
        command.envs(channel.env.iter().map(|(k, v)| (k, v)));
    }
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);

    let spawned = match channel.as_mut() {
        Some(channel) => channel.spawn(&mut command),
        None => crate::run::channel::spawn(&mut command, None),
    };
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
    supervisor.started(group);
    let (stream_tx, stream_rx) = mpsc::channel();
    spawn_pump(
        child.stdout.take(),
        stdout_log,
        cmd.tee.then(|| match cmd.tee_stdout_to_stderr {
            true => Box::new(io::stderr()) as Box<dyn io::Write + Send>,
            false => Box::new(io::stdout()) as Box<dyn io::Write + Send>,
        }),
        1,
        stream_tx.clone(),
    );
    spawn_pump(
        child.stderr.take(),
        stderr_log,
        cmd.tee.then(|| Box::new(io::stderr()) as Box<dyn io::Write + Send>),
        2,
        stream_tx,
    );
    let exited = spawn_waiter(child);

    let ending = supervise(cmd, group, &exited, channel.as_ref(), supervisor);
    // The step is over: nothing it started may linger (and hold its output pipes open).
    let _ = kill_process_group(group, Signal::KILL);
    if let Some(channel) = channel {
        for line in channel.finish(STREAM_DRAIN) {
            supervisor.record(line);
        }
    }

    let mut streams: [Option<StreamDigest>; 2] = [None, None];
    let drain_until = Instant::now() + STREAM_DRAIN;
    for _ in 0..2 {
        let left = drain_until.saturating_duration_since(Instant::now());
        match stream_rx.recv_timeout(left) {
            Ok((which, Ok(digest))) => streams[which - 1] = Some(digest),
            Ok((_, Err(err))) => return Err(Error::io("write step log", err)),
            Err(_) => break,
        }
    }
    let [stdout, stderr] = streams;
    Ok(StepOutcome { ending, duration: started.elapsed(), stdout, stderr })
}

fn supervise(
    cmd: &StepCommand,
    group: Pid,
    exited: &mpsc::Receiver<io::Result<ExitStatus>>,
    channel: Option<&EventsChannel>,
    supervisor: &mut dyn Supervisor,
) -> Ending {
    loop {
        let wait = match cmd.deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()).min(POLL),
            None => POLL,
        };
        match exited.recv_timeout(wait) {
            Ok(status) => return ending_of(status),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ending::Signaled(-1),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if cmd.deadline.is_some_and(|d| Instant::now() >= d) {
            stop_group(group, exited, cmd.grace);
            return Ending::TimedOut;
        }
        for line in channel.map(EventsChannel::drain).unwrap_or_default() {
            supervisor.record(line);
        }
        if let Some(reason) = supervisor.should_stop() {
            stop_group(group, exited, cmd.grace);
            return Ending::Stopped(reason);
        }
    }
}

/// SIGTERM the group, wait up to `grace` for the main process, then SIGKILL the group.
fn stop_group(group: Pid, exited: &mpsc::Receiver<io::Result<ExitStatus>>, grace: Duration) {
    let _ = kill_process_group(group, Signal::TERM);
    if exited.recv_timeout(grace).is_err() {
        let _ = kill_process_group(group, Signal::KILL);
        let _ = exited.recv();
    }
}

fn ending_of(status: io::Result<ExitStatus>) -> Ending {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Ending::Exited(code),
            (None, Some(sig)) => Ending::Signaled(sig),
            (None, None) => Ending::Signaled(-1),
        },
        Err(_) => Ending::Signaled(-1),
    }
}

fn spawn_waiter(mut child: Child) -> mpsc::Receiver<io::Result<ExitStatus>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    rx
}

type StreamResult = (usize, io::Result<StreamDigest>);

fn spawn_pump(
    input: Option<impl io::Read + Send + 'static>,
    log: BoundedLog,
    mut tee: Option<Box<dyn io::Write + Send>>,
    which: usize,
    done: mpsc::Sender<StreamResult>,
) {
    thread::spawn(move || {
        let result = match input {
            Some(input) => log::pump(input, log, tee.as_deref_mut().map(|t| t as &mut dyn io::Write)),
            None => log.finish(),
        };
        let _ = done.send((which, result));
    });
}

#[cfg(test)]
mod tests;
