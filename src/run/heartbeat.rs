//! The lease heartbeat: a thread that renews the runner's lease while it works.
//!
//! It renews every `interval` with the runner's epoch. When a renewal is refused (another worker
//! took the lease over, so the epoch is stale) it raises `lost` and stops: the runner then stops the
//! running step and appends nothing more (the store would refuse it anyway: appends are fenced).
//! A transient failure (the store lock busy) is retried at the next tick.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::contract::ReasonCode;
use crate::store::{JobId, Location};

pub struct Heartbeat {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    lost: Arc<AtomicBool>,
}

impl Heartbeat {
    /// Renew the lease in the file store at `root`.
    pub fn start(
        root: PathBuf,
        job: JobId,
        worker: String,
        epoch: u64,
        ttl: Duration,
        interval: Duration,
    ) -> Heartbeat {
        Heartbeat::start_at(Location::Dir(root), job, worker, epoch, ttl, interval)
    }

    /// Renew the lease in the store at `location`, either backend.
    pub fn start_at(
        location: Location,
        job: JobId,
        worker: String,
        epoch: u64,
        ttl: Duration,
        interval: Duration,
    ) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let thread = thread::spawn(move || {
            // Its own store handle: the store keeps per-handle read positions (or a connection)
            // and is not shared. A store that cannot be opened now is retried at the next tick.
            let mut store = None;
            loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                if crate::failpoint::check("lease.heartbeat").is_err() {
                    continue; // a missed renewal, as when the store is briefly unreachable
                }
                if store.is_none() {
                    store = crate::store::open_at(&location).ok();
                }
                let Some(handle) = store.as_ref() else { continue };
                match handle.heartbeat_lease(&job, &worker, Some(epoch), ttl) {
                    Ok(_) => {}
                    Err(err) if err.code == ReasonCode::LeaseConflict && err.details.get("busy").is_none() => {
                        crate::run::outage::refused(&job, epoch, "lease renewal", &err);
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    // A broken connection is reopened at the next tick.
                    Err(_) => store = None,
                }
            }
        });
        Heartbeat { stop: Some(stop), thread: Some(thread), lost }
    }

    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    pub fn lost_flag(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
