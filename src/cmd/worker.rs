//! wrkr worker: claim jobs queued for workers (`wrkr submit --queue`) and run them.
//!
//! Each of `--concurrency` slots is a thread with its own store handle: it claims one job
//! (`Store::claim`: the queue rule is `store::queue`; on PostgreSQL one `FOR UPDATE SKIP LOCKED`
//! transaction that also takes the fenced lease), checks the gates `wrkr resume` checks (an
//! environment that does not match the job's fingerprint blocks the job rather than running it
//! here), runs it with the existing runner under that lease, and claims again. An idle slot waits
//! for news (`LISTEN wrkr_events` on PostgreSQL: every commit notifies, so a submit, approval or
//! resume wakes it at once) or for the poll interval, `WRKR_WORKER_POLL_MS` (1000), whichever
//! comes first. `WRKR_WORKER_LISTEN=0` makes it poll only: behind a pooler that cannot hold a
//! `LISTEN` (PgBouncer in transaction mode), and to measure what NOTIFY saves. A store error (the server restarting) is retried with a fresh connection after a
//! backoff that doubles from 100 ms to 5 s; a job the failure interrupted is continued later by
//! whichever worker claims it once its lease expires.
//!
//! SIGTERM or SIGINT drains: no new claims; each running job stops before its next step (the step
//! running now finishes), stays `running`, and its lease is released, so another worker continues
//! it at once. With `--drain-timeout S`, a step still running S seconds after the signal is
//! stopped (its process group, as a pause --now would) and its end recorded as `interrupted` with
//! the reason, so the next worker runs it again as a new attempt: a deploy's SIGKILL never finds
//! a step whose end the ledger does not know. The worker exits 0 when every slot has stopped. One
//! JSON line per job run goes to stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::submit::{LEASE_TTL, lease_ttl};
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::run::interrupt::Interrupts;
use crate::run::runner::{self, Options};
use crate::store::{JobId, Location, Store, open_at, queue};

const CONCURRENCY: Flag = Flag {
    long: "concurrency",
    short: Some('c'),
    value: Some("N"),
    help: "Run up to N jobs at once [default: 1]",
    long_help: "",
};
const ONCE: Flag = Flag {
    long: "once",
    short: None,
    value: None,
    help: "Exit when no job is claimable instead of waiting for one",
    long_help: "",
};
const MAX_JOBS: Flag = Flag {
    long: "max-jobs",
    short: None,
    value: Some("N"),
    help: "Exit after claiming N jobs [default: no limit]",
    long_help: "",
};

const DRAIN_TIMEOUT: Flag = Flag {
    long: "drain-timeout",
    short: None,
    value: Some("SECONDS"),
    help: "After SIGTERM, stop a step still running after SECONDS and record it interrupted [default: wait]",
    long_help: "Without it a drain waits for the running steps to finish. With it, a step still running \
                SECONDS after the signal is stopped (SIGTERM to its process group, SIGKILL after the grace \
                period), its end recorded as interrupted with the reason, the job left running with its \
                lease released; the next worker runs that step again as a new attempt. Choose it below \
                the time your supervisor waits before SIGKILL (systemd: TimeoutStopSec, 90 s, or Kubernetes: \
                terminationGracePeriodSeconds, 30 s).",
};

/// The worker's side of `submit --label`: the same name and value rule, the other meaning.
const LABEL: Flag = Flag {
    long: "label",
    short: None,
    value: Some("LABEL"),
    help: "A label this host has (repeatable): claim only jobs whose labels are all among them",
    long_help: "A label is 1 to 64 of A-Z a-z 0-9 . _ : - (for example gpu, linux-x86_64, team:infra). \
                A job queued without labels is claimed by any worker.",
};

pub const COMMAND: Command = Command {
    name: "worker",
    kind: Kind::Command,
    about: "Claim queued jobs and run them",
    usage: "[--concurrency N] [--label L]... [--once] [--max-jobs N] [--lease-ttl SECONDS] [--drain-timeout SECONDS]",
    long_about: "Claims jobs queued with `wrkr submit --queue` whose labels are all among this worker's \
                 --label values: never-run jobs, jobs whose decision was approved, and running jobs whose \
                 lease expired or was released (their worker died or drained). Each is run by the same runner \
                 as `wrkr submit`, under a fenced lease renewed by heartbeats; completed steps never run again. \
                 On PostgreSQL, many workers on many hosts share one queue (claims use FOR UPDATE SKIP \
                 LOCKED; an idle worker is woken by LISTEN/NOTIFY, else polls every WRKR_WORKER_POLL_MS, \
                 default 1000). On a file store, workers on this host share it.\n\n\
                 SIGTERM or SIGINT drains: no new claims, each running step finishes (or, with \
                 --drain-timeout, is stopped at that deadline and recorded interrupted), its job stays running \
                 with its lease released for another worker, and the worker exits 0. One JSON line per job \
                 run on stdout: job_id, worker, status, and the error's code when it stopped on one.",
    flags: &[&CONCURRENCY, &LABEL, &ONCE, &MAX_JOBS, &LEASE_TTL, &DRAIN_TIMEOUT],
    examples: &[
        Example {
            command: "wrkr --store postgres://wrkr@db/wrkr worker --concurrency 4 --label gpu",
            what: "Run up to four queued jobs at once, including those pinned to gpu.",
        },
        Example { command: "wrkr worker --once", what: "Run what is queued on this file store, then exit." },
    ],
    run,
};

/// How the slots of one worker process share their limits and their stop.
struct Shared {
    location: Location,
    labels: Vec<String>,
    ttl: Duration,
    once: bool,
    /// Claims left before the worker stops (`u64::MAX`: no limit).
    claims_left: AtomicU64,
    draining: Arc<AtomicBool>,
    /// Raised `--drain-timeout` after the drain began: running steps are stopped.
    drain_stop: Arc<AtomicBool>,
    poll: Duration,
    /// False with `WRKR_WORKER_LISTEN=0`: an idle slot sleeps the poll interval instead of waiting
    /// for a notification.
    listen: bool,
    host: String,
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    if !args.positional_strings()?.is_empty() {
        return Err(Error::invalid_input("worker takes no arguments").with_hint("wrkr worker --help"));
    }
    let concurrency = args.u64_or(&CONCURRENCY, 1)?;
    if !(1..=256).contains(&concurrency) {
        return Err(Error::invalid_input("--concurrency must be between 1 and 256").with("concurrency", concurrency));
    }
    let labels: Vec<String> = args.values(LABEL.long).into_iter().map(str::to_owned).collect();
    labels.iter().try_for_each(|l| queue::check_label(l))?;
    let drain_timeout = args.value(DRAIN_TIMEOUT.long).map(|_| args.u64_or(&DRAIN_TIMEOUT, 0)).transpose()?;
    let drain_timeout = drain_timeout.map(Duration::from_secs);
    let store = args.store()?;
    let shared = Arc::new(Shared {
        location: store.location(),
        labels,
        ttl: lease_ttl(&args)?,
        once: args.switch(ONCE.long),
        claims_left: AtomicU64::new(args.u64_or(&MAX_JOBS, u64::MAX)?),
        draining: Arc::new(AtomicBool::new(false)),
        drain_stop: Arc::new(AtomicBool::new(false)),
        poll: poll_interval(),
        listen: listen_enabled(),
        host: Some(crate::job::fingerprint::hostname()).filter(|h| !h.is_empty()).unwrap_or_else(|| "host".to_owned()),
    });
    drop(store);
    let interrupts = Interrupts::install().map_err(|e| Error::io("install the SIGTERM handler", e))?;
    let (lines, results) = std::sync::mpsc::channel::<serde_json::Value>();
    let slots: Vec<_> = (0..concurrency)
        .map(|slot| {
            let shared = shared.clone();
            let lines = lines.clone();
            std::thread::spawn(move || work(&shared, slot, &lines))
        })
        .collect();
    drop(lines);
    // The main thread reports and watches for the signal that starts the drain, and its deadline.
    let mut drain_deadline = None;
    loop {
        match results.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => io.record(&line)?,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if interrupts.received().is_some() && !shared.draining.swap(true, Ordering::SeqCst) {
            let note = match drain_timeout {
                Some(limit) => format!("running steps get {} s to finish", limit.as_secs()),
                None => "running steps finish".to_owned(),
            };
            crate::cli::io::diag(&format!("wrkr worker: draining ({note}, no new claims)"));
            drain_deadline = drain_timeout.map(|limit| std::time::Instant::now() + limit);
        }
        if drain_deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline)
            && !shared.drain_stop.swap(true, Ordering::SeqCst)
        {
            crate::cli::io::diag("wrkr worker: drain deadline passed: stopping the running steps");
        }
    }
    let mut failed = None;
    for slot in slots {
        if let Ok(Err(err)) = slot.join() {
            failed = Some(err);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// One slot: claim, run, repeat, until drained, out of claims, or (`--once`) out of work.
fn work(shared: &Shared, slot: u64, lines: &std::sync::mpsc::Sender<serde_json::Value>) -> Result<()> {
    let worker = format!("worker-{}-{}-{slot}", shared.host, std::process::id());
    let mut store: Option<Box<dyn Store + Send>> = None;
    let mut backoff = Duration::from_millis(100);
    // The last claim broke with the connection: it may have taken a lease (`queue::claimed_by`).
    let mut claim_unknown = false;
    while !shared.draining.load(Ordering::SeqCst) {
        let handle = match store.as_ref() {
            Some(handle) => handle,
            None => match open_at(&shared.location) {
                Ok(opened) => store.insert(opened),
                Err(err) => {
                    retry_later(shared, &worker, &err, &mut backoff);
                    continue;
                }
            },
        };
        if !take_a_claim(shared) {
            return Ok(());
        }
        let claimed = claim(handle.as_dyn(), shared, &worker, &mut claim_unknown);
        let (job, epoch) = match claimed {
            Ok(Some(claimed)) => claimed,
            Ok(None) => {
                shared.claims_left.fetch_add(1, Ordering::SeqCst);
                if shared.once {
                    return Ok(());
                }
                if let Err(err) = idle(shared, handle.as_dyn()) {
                    store = None;
                    retry_later(shared, &worker, &err, &mut backoff);
                }
                continue;
            }
            Err(err) => {
                shared.claims_left.fetch_add(1, Ordering::SeqCst);
                store = None;
                retry_later(shared, &worker, &err, &mut backoff);
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let opts = Options {
            claimed: Some(epoch),
            drain: Some(shared.draining.clone()),
            drain_stop: Some(shared.drain_stop.clone()),
            ..Options::new(shared.ttl)
        };
        let opts = Options { worker: worker.clone(), ..opts };
        let ran = crate::cmd::resume::gate(handle.as_dyn(), &job, None)
            .and_then(|()| runner::drive(handle.as_dyn(), &job, &opts));
        let mut line = json!({"job_id": job.as_str(), "worker": worker});
        match ran {
            Ok(report) => line["status"] = json!(report.status.as_str()),
            Err(err) => {
                // The runner releases its lease; a gate refusal happens before it runs.
                handle.release_lease_or_warn(&job, &worker, Some(epoch));
                line["error"] = json!(err.code.as_str());
                line["message"] = json!(err.message);
                if let Ok(state) = handle.state(&job) {
                    line["status"] = json!(state.status.as_str());
                } else {
                    store = None;
                }
            }
        }
        if lines.send(line).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Claim a job, looking first for the lease of a claim whose answer was lost (`unknown`), so that
/// a lost acknowledgement neither strands the job until its lease runs out nor leases it twice.
fn claim(store: &dyn Store, shared: &Shared, worker: &str, unknown: &mut bool) -> Result<Option<(JobId, u64)>> {
    if *unknown {
        let held = queue::claimed_by(store, worker, Timestamp::now())?;
        *unknown = false;
        if held.is_some() {
            return Ok(held);
        }
    }
    let claimed = store.claim(worker, &shared.labels, shared.ttl);
    *unknown = claimed.as_ref().is_err_and(crate::run::outage::is_outage);
    claimed
}

/// Wait for news or the poll interval, in slices short enough that a drain is seen within 250 ms.
fn idle(shared: &Shared, store: &dyn Store) -> Result<()> {
    let until = std::time::Instant::now() + shared.poll;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || shared.draining.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !shared.listen {
            std::thread::sleep(left.min(Duration::from_millis(250)));
            continue;
        }
        // Woken is what the store says, not how long the wait took: a wake-up at the end of a
        // slice would otherwise pass for a timeout and the news be lost until the next poll.
        if store.wait_for_news(left.min(Duration::from_millis(250)))? {
            return Ok(());
        }
    }
}

/// Count one claim against `--max-jobs`; false when none is left.
fn take_a_claim(shared: &Shared) -> bool {
    shared.claims_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok()
}

/// After a store error: say so once per backoff step and wait (doubling, at most 5 s; a drain
/// cuts the wait short).
fn retry_later(shared: &Shared, worker: &str, err: &Error, backoff: &mut Duration) {
    crate::cli::io::diag(&format!("wrkr worker {worker}: {}; retrying in {} ms", err.message, backoff.as_millis()));
    let until = std::time::Instant::now() + *backoff;
    while std::time::Instant::now() < until && !shared.draining.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    *backoff = (*backoff * 2).min(Duration::from_secs(5));
}

/// `WRKR_WORKER_LISTEN`: anything but `0`, `false` or `off` (or unset) keeps `LISTEN` on.
fn listen_enabled() -> bool {
    let value = std::env::var("WRKR_WORKER_LISTEN").unwrap_or_default();
    !matches!(value.trim().to_ascii_lowercase().as_str(), "0" | "false" | "off")
}

fn poll_interval() -> Duration {
    let ms = std::env::var("WRKR_WORKER_POLL_MS").ok().and_then(|v| v.trim().parse::<u64>().ok());
    Duration::from_millis(ms.unwrap_or(1000).max(10))
}
