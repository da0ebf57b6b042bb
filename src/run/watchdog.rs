//! The step watchdog: the running step dies with its runner, even when the runner is SIGKILLed.
//!
//! A step runs in its own process group, so nothing the kernel does on the runner's death reaches
//! it. The kernel's parent-death signal would, but it must be set in each step between fork and
//! exec, which rules out the `posix_spawn` path steps start on (`run::channel`: per-step cost). So
//! once per run (not per step), a foreground runner forks a small watchdog: it sits in its own
//! process group (a terminal's Ctrl-C is the runner's to handle) and blocks reading a pipe whose
//! only write end the runner holds (close-on-exec, so no step inherits it). When the runner ends,
//! however it ends, the kernel closes that end; the watchdog reads EOF, stops the step group the
//! runner recorded under its own epoch (`run::step_group`: the leader's start time rules out pid
//! reuse; a step that already ended is left alone) and exits. A normal end of the run closes the
//! pipe too, and the runner reaps the watchdog, so a long-lived process (a detached runner) leaves
//! no zombie.
//!
//! The fork happens before the heartbeat thread starts and only while the process has one thread
//! (checked in `/proc/self/task`): after `fork` only the calling thread exists, and a child of a
//! multi-threaded parent could inherit a lock some other thread held. Where that does not hold,
//! where it cannot be checked (any OS but Linux), or the fork fails, there is no watchdog, and a
//! runner that takes the lease over stops the step instead (`step_group::stop_previous`, which
//! also reads `/proc`: on macOS an orphaned step is left running).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use crate::run::step_group;

/// The runner's side: dropping it ends the watchdog (which then finds no live step) and reaps it.
pub struct Watchdog {
    pipe: Option<OwnedFd>,
    pid: libc::pid_t,
}

impl Watchdog {
    /// Fork the watchdog for the step groups recorded under `epoch` in `job_dir`. `None` when the
    /// process has more than one thread or the fork fails.
    pub fn start(job_dir: PathBuf, job_id: String, epoch: u64, grace: Duration) -> Option<Watchdog> {
        if !single_threaded() {
            return None;
        }
        let (read_end, write_end) = cloexec_pipe()?;
        // SAFETY: the process has a single thread (checked above), so the child is a faithful copy
        // that may allocate; it never returns into the caller's code and leaves with `_exit`.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return None;
        }
        if pid == 0 {
            drop(write_end);
            watch(read_end, &job_dir, &job_id, epoch, grace);
        }
        drop(read_end);
        Some(Watchdog { pipe: Some(write_end), pid })
    }
}

/// Whether this process has exactly one thread, which only Linux tells cheaply
/// (`/proc/self/task`). Elsewhere the answer is "not known", so there is no watchdog.
#[cfg(target_os = "linux")]
fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}

#[cfg(not(target_os = "linux"))]
fn single_threaded() -> bool {
    false
}

/// A pipe whose ends are both close-on-exec from the start (`pipe2`), so no step inherits them.
#[cfg(target_os = "linux")]
fn cloexec_pipe() -> Option<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`, which has room for them.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Some(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Never called where `single_threaded` is false; it exists so the module builds on every Unix.
#[cfg(not(target_os = "linux"))]
fn cloexec_pipe() -> Option<(OwnedFd, OwnedFd)> {
    None
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.pipe.take());
        let mut status = 0;
        // SAFETY: waits for our own child, whose pid fork returned.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }
}

/// Close every descriptor above stderr but `keep`. The fork copied the runner's open files, and
/// a `flock` belongs to the open file description: a ledger the runner's store keeps open
/// (`store::held`) stayed referenced here, so when an append failed and the runner closed it, the
/// lock it held was not released, and the runner's next append waited out the lock timeout
/// (10 s; found by `make test-hardening`'s I/O-error suite).
fn close_inherited(keep: libc::c_int) {
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|dir| dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::c_int>().ok()).collect::<Vec<_>>());
    let fds = match open {
        Ok(fds) => fds,
        // No /proc: every descriptor up to the limit (the watchdog is Linux-only; a fallback).
        Err(_) => (3..1024).collect(),
    };
    for fd in fds.into_iter().filter(|fd| *fd > 2 && *fd != keep) {
        // SAFETY: the watchdog owns its copies of these descriptors and uses none of them again.
        unsafe { libc::close(fd) };
    }
}

/// The watchdog itself: wait for EOF, stop the step if it still runs, exit.
fn watch(pipe: OwnedFd, job_dir: &std::path::Path, job_id: &str, epoch: u64, grace: Duration) -> ! {
    // SAFETY: plain syscalls on our own process and on descriptors we own.
    unsafe {
        libc::setpgid(0, 0);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        close_inherited(pipe.as_raw_fd());
        let mut byte = 0u8;
        loop {
            let n = libc::read(pipe.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
            if n == 0 || (n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted) {
                break;
            }
        }
    }
    step_group::stop_recorded(job_dir, job_id, grace, |recorded| recorded == epoch);
    // SAFETY: leaves the child without running the parent's destructors or atexit handlers.
    unsafe { libc::_exit(0) }
}
