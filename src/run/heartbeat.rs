//! The lease heartbeat: a thread that renews the runner's lease while it works.
//!
//! It renews every `interval` with the runner's epoch. When a renewal is refused (another worker
//! took the lease over, so the epoch is stale) it raises `lost` and stops: the runner then stops the
//! running step and appends nothing more (the store would refuse it anyway: appends are fenced).
//! A transient failure (the store lock busy) is retried at the next tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::contract::ReasonCode;
use crate::store::{JobId, Store};

pub struct Heartbeat {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    lost: Arc<AtomicBool>,
}

impl Heartbeat {
    /// `store` is the thread's own handle (`store::open_at`): a store handle is not shared
    /// between threads (the file store keeps read positions, PostgreSQL a connection).
    pub fn start(
        store: Box<dyn Store + Send>,
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
            loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                if crate::failpoint::check("lease.heartbeat").is_err() {
                    continue; // a missed renewal, as when the store is briefly unreachable
                }
                match store.heartbeat_lease(&job, &worker, Some(epoch), ttl) {
                    Ok(_) => {}
                    Err(err) if err.code == ReasonCode::LeaseConflict && err.details.get("busy").is_none() => {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(_) => {}
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
