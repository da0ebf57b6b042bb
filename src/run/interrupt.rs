//! Ctrl-C and SIGTERM while `wrkr wrap` supervises a command: noticed, never fatal to wrkr.
//!
//! The wrapped command runs in its own process group, so a terminal's Ctrl-C reaches only wrkr
//! (the foreground group). [`Interrupts::install`] replaces the SIGINT and SIGTERM handlers with one
//! that records the signal in an atomic and returns; the supervisor polls [`Interrupts::received`]
//! and forwards the signal to the command's group itself. wrkr keeps running, so the job is
//! recorded as interrupted and its pack is still exported. The previous handlers come back when the
//! guard is dropped.
//!
//! The handler does nothing but two atomic stores, which is all a signal handler may safely do.
//! Only one guard should be live at a time (the flags are process-wide).

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

static LAST_SIGNAL: AtomicI32 = AtomicI32::new(0);
static COUNT: AtomicU32 = AtomicU32::new(0);

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

extern "C" fn on_signal(signal: libc::c_int) {
    LAST_SIGNAL.store(signal, Ordering::SeqCst);
    COUNT.fetch_add(1, Ordering::SeqCst);
}

/// The installed handlers; dropping it restores the previous ones.
pub struct Interrupts {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Interrupts {
    pub fn install() -> io::Result<Interrupts> {
        LAST_SIGNAL.store(0, Ordering::SeqCst);
        COUNT.store(0, Ordering::SeqCst);
        let mut previous = Vec::new();
        for signal in SIGNALS {
            // SAFETY: `sigaction` is called with a zeroed, fully initialised struct whose handler
            // is an `extern "C" fn(c_int)` that only touches atomics (async-signal-safe).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) != 0 {
                    return Err(io::Error::last_os_error());
                }
                previous.push((signal, old));
            }
        }
        Ok(Interrupts { previous })
    }

    /// The last signal received and how many have arrived since [`Interrupts::install`].
    pub fn received(&self) -> Option<(i32, u32)> {
        match COUNT.load(Ordering::SeqCst) {
            0 => None,
            n => Some((LAST_SIGNAL.load(Ordering::SeqCst), n)),
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: restores the action `sigaction` gave us for the same signal.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// `SIGINT`, `SIGTERM`, ... for people and the ledger.
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".to_owned(),
        libc::SIGTERM => "SIGTERM".to_owned(),
        libc::SIGKILL => "SIGKILL".to_owned(),
        libc::SIGHUP => "SIGHUP".to_owned(),
        libc::SIGPIPE => "SIGPIPE".to_owned(),
        other => format!("signal {other}"),
    }
}

/// A supervisor that forwards received signals to the step's process group, then defers to
/// `inner`. The step gets `grace` to exit by itself after the first signal; a second signal, or
/// the grace running out, stops it (`process::run` then sends SIGTERM, and SIGKILL after its own
/// grace).
pub struct Forwarder<'a, S: crate::run::process::Supervisor> {
    pub inner: S,
    interrupts: &'a Interrupts,
    grace: std::time::Duration,
    group: Option<rustix::process::Pid>,
    forwarded: u32,
    first_at: Option<std::time::Instant>,
    /// The first signal forwarded, if any.
    pub signal: Option<i32>,
}

impl<'a, S: crate::run::process::Supervisor> Forwarder<'a, S> {
    pub fn new(inner: S, interrupts: &'a Interrupts, grace: std::time::Duration) -> Forwarder<'a, S> {
        Forwarder { inner, interrupts, grace, group: None, forwarded: 0, first_at: None, signal: None }
    }
}

impl<S: crate::run::process::Supervisor> crate::run::process::Supervisor for Forwarder<'_, S> {
    fn record(&mut self, line: crate::run::channel::ProtocolLine) {
        self.inner.record(line);
    }

    fn spawning(&mut self) {
        self.inner.spawning();
    }

    fn started(&mut self, group: rustix::process::Pid) {
        self.group = Some(group);
        self.inner.started(group);
    }

    fn should_stop(&mut self) -> Option<String> {
        use rustix::process::{Signal, kill_process_group};
        if let Some((signal, count)) = self.interrupts.received()
            && count > self.forwarded
        {
            self.forwarded = count;
            self.signal.get_or_insert(signal);
            self.first_at.get_or_insert_with(std::time::Instant::now);
            let sig = if signal == libc::SIGTERM { Signal::TERM } else { Signal::INT };
            // The group is the step's own (it was started with process_group(0)), never ours.
            if let Some(group) = self.group {
                let _ = kill_process_group(group, sig);
            }
            if count > 1 {
                return Some(format!("interrupted: {}", signal_name(signal)));
            }
        }
        if let (Some(at), Some(signal)) = (self.first_at, self.signal)
            && at.elapsed() >= self.grace
        {
            return Some(format!("interrupted: {}", signal_name(signal)));
        }
        self.inner.should_stop()
    }
}
