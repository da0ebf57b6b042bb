//! Waiting on several descriptors at once, with a deadline: the one blocking call of a running
//! step (`run::process`), so one thread can follow a step's output, its events and its exit.

use std::os::fd::BorrowedFd;
use std::time::Instant;

use rustix::event::{PollFd, PollFlags, Timespec, poll};

/// Wait until one of `fds` can be read without blocking (data, end of stream, or an error
/// pending), or until `until`. Returns, for each descriptor, whether it is ready; `None` entries
/// are never ready. An interrupted wait returns early with nothing ready.
pub fn wait_readable(fds: &[Option<BorrowedFd<'_>>], until: Instant) -> Vec<bool> {
    let mut polled: Vec<PollFd<'_>> =
        fds.iter().flatten().map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN)).collect();
    let left = until.saturating_duration_since(Instant::now());
    let timeout =
        Timespec { tv_sec: left.as_secs().min(i64::MAX as u64) as i64, tv_nsec: i64::from(left.subsec_nanos()) };
    let waited = poll(&mut polled, Some(&timeout));
    let mut ready = polled.iter().map(|p| waited.is_ok() && !p.revents().is_empty());
    fds.iter().map(|fd| fd.is_some() && ready.next().unwrap_or(false)).collect()
}
