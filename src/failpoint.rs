//! Fault injection at the points where wrkr's durability is decided, for the crash and I/O-error
//! suites (issue 14). Release builds carry none of it: without the `failpoints` cargo feature every
//! function here is an inlined no-op (`Ok(())`, a plain `write_all_at`), so a call site costs nothing.
//!
//! With the feature, a test drives the *real binary* through two environment variables:
//!
//! - `FAILPOINTS`: the `fail` crate's syntax, `name=action;name=action`, e.g.
//!   `FAILPOINTS='ledger.append.before_fsync=1*off->return(crash)'`. A `return` action's argument
//!   says what the point does: `crash` (the process SIGKILLs itself: no destructor, no flush, as a
//!   power cut looks to the page cache), `enospc` (a full disk), `short` (only at write points: write
//!   half the bytes, then fail), `short-crash` (write half, then crash); anything else, or no
//!   argument, is `EIO`.
//! - `WRKR_FAIL_IO_AT=N` (with `WRKR_FAIL_IO_MODE=transient|persistent|crash`, default transient):
//!   the N-th point reached in this process, whatever its name, fails (transient: only that one;
//!   persistent: it and every later one; crash: the process SIGKILLs itself there). This is SQLite's
//!   "fail the N-th operation for every N": a harness raises N until a run reaches no N-th point.
//!
//! `WRKR_FAIL_IO_TRACE=FILE` appends `pid op name` for every point reached, so a harness learns
//! the range of N for a command before it walks it.
//!
//! An injected error names its point (`injected EIO at ledger.append.before_write (op 3)`), so
//! the suites can tell it from a real one. Every point is listed in [`POINTS`] (a test checks that
//! each one is reachable: tests/failpoints.rs on the file store, tests/pg_failpoints.rs the
//! `pg.*` points on PostgreSQL).
//!
//! The PostgreSQL store's points sit on either side of an append's `COMMIT`: `pg.commit.before`
//! (the transaction rolls back, nothing lands) and `pg.commit.after` (the server committed, the
//! caller never hears it: the lost ack); a claim's commit has them too. `pg.job_file.before` and
//! `pg.job_file.after` do the same around a job file's write (an upsert: step evidence). All fail
//! as a connection broken at that moment does, so a caller cannot tell them apart, as it could not
//! tell a real one.

#[cfg(not(feature = "failpoints"))]
use std::{fs::File, io};

/// Every failpoint, in the order a job's life reaches them.
pub const POINTS: &[&str] = &[
    "ledger.append.before_write",
    "ledger.append.short_write",
    "ledger.append.before_fsync",
    "ledger.append.fsync",
    "pg.commit.before",
    "pg.commit.after",
    "pg.job_file.before",
    "pg.job_file.after",
    "atomic.write",
    "atomic.rename",
    "atomic.dir_fsync",
    "snapshot.write",
    "lease.heartbeat",
    "step.spawn",
    "step.started",
    "log.write",
    "pack.spill_write",
    "pack.write",
    "pack.rename",
    "pack.dir_fsync",
    "accept.result_write",
    "retention.remove",
];

/// Fail here if the point `name` is armed.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn check(_name: &'static str) -> io::Result<()> {
    Ok(())
}

/// `file.write_all_at(bytes, offset)`, which an armed point can cut short.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn write_all_at(_name: &'static str, file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(feature = "failpoints")]
pub use armed::{check, setup, write_all_at};

#[cfg(feature = "failpoints")]
mod armed {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// What a triggered point does.
    enum Fault {
        Error(io::Error),
        Short(io::Error),
        ShortCrash,
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Transient,
        Persistent,
        Crash,
    }

    static OPS: AtomicU64 = AtomicU64::new(0);
    static NTH: OnceLock<Option<(u64, Mode)>> = OnceLock::new();

    /// Read `FAILPOINTS` (once, at start). The scenario lives for the whole process.
    pub fn setup() {
        let scenario = fail::FailScenario::setup();
        std::mem::forget(scenario);
    }

    fn nth() -> Option<(u64, Mode)> {
        *NTH.get_or_init(|| {
            let n = std::env::var("WRKR_FAIL_IO_AT").ok()?.parse().ok()?;
            let mode = match std::env::var("WRKR_FAIL_IO_MODE").as_deref() {
                Ok("persistent") => Mode::Persistent,
                Ok("crash") => Mode::Crash,
                _ => Mode::Transient,
            };
            Some((n, mode))
        })
    }

    fn crash() -> ! {
        // SIGKILL ourselves: nothing is flushed or unwound, as when the power goes.
        let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        std::process::abort()
    }

    fn injected(raw: i32, name: &str, op: u64) -> io::Error {
        let base = io::Error::from_raw_os_error(raw);
        io::Error::new(base.kind(), format!("injected {base} at {name} (op {op})"))
    }

    fn evaluate(name: &'static str) -> Option<Fault> {
        let op = OPS.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(trace) = std::env::var_os("WRKR_FAIL_IO_TRACE") {
            // One line per point reached, so a harness knows how far N has to go.
            let line = format!("{} {op} {name}\n", std::process::id());
            let _ = std::fs::OpenOptions::new().create(true).append(true).open(trace).and_then(|mut f| {
                use std::io::Write;
                f.write_all(line.as_bytes())
            });
        }
        if let Some((n, mode)) = nth() {
            let hit = op == n || (mode == Mode::Persistent && op > n);
            if hit && mode == Mode::Crash {
                crash();
            }
            if hit {
                return Some(Fault::Error(injected(libc::EIO, name, op)));
            }
        }
        let arg = fail::eval(name, |arg| arg.unwrap_or_default())?;
        Some(match arg.as_str() {
            "crash" => crash(),
            "enospc" => Fault::Error(injected(libc::ENOSPC, name, op)),
            "short" => Fault::Short(injected(libc::EIO, name, op)),
            "short-crash" => Fault::ShortCrash,
            _ => Fault::Error(injected(libc::EIO, name, op)),
        })
    }

    pub fn check(name: &'static str) -> io::Result<()> {
        match evaluate(name) {
            None => Ok(()),
            Some(Fault::Error(e) | Fault::Short(e)) => Err(e),
            Some(Fault::ShortCrash) => crash(),
        }
    }

    pub fn write_all_at(name: &'static str, file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
        let half = &bytes[..bytes.len() / 2];
        match evaluate(name) {
            None => file.write_all_at(bytes, offset),
            Some(Fault::Error(e)) => Err(e),
            Some(Fault::Short(e)) => {
                file.write_all_at(half, offset)?;
                Err(e)
            }
            Some(Fault::ShortCrash) => {
                file.write_all_at(half, offset)?;
                crash()
            }
        }
    }
}

/// Nothing to read without the feature.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn setup() {}
