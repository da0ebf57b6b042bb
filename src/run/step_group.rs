//! The running step's process group, recorded so that a runner taking over can stop it first.
//!
//! A step runs in its own process group (so that a terminal's Ctrl-C reaches only wrkr, and a stop
//! reaches everything the step started). The price: when its runner dies without a word (SIGKILL,
//! OOM), the step runs on, and a runner that takes the expired lease over would run the step
//! again while the first attempt still runs: double execution (issue 14). So:
//!
//! - When a step starts, its runner writes `jobs/<id>/step_group`: the group id, the leader's start
//!   time (`/proc/<pid>/stat` field 22, clock ticks since boot), the runner's lease epoch and the
//!   boot id. Start time and boot id rule out pid reuse: a recycled pid has another start time.
//!   The record is a fixed-width `pwrite` into a file opened once per run, with no fsync: it only
//!   has to survive its runner, not the machine (after a reboot no step is left to stop), and the
//!   per-step cost stays one `pwrite`. The start time is the boot clock at the fork, in clock
//!   ticks: when the boot clock read before the spawn and after it fall in the same tick, that
//!   tick is it, and `/proc` is not read (see `start_tick_between`); otherwise it is read.
//! - A runner that holds a new lease, before it runs anything, calls [`stop_previous`]: when the
//!   recorded leader is still the same process, or the leader is gone but members of its group
//!   still carry the recorded job id and epoch in their environment, the group gets SIGTERM, then
//!   SIGKILL after the grace period, and the runner waits until the group is gone.
//!
//! - The runner's watchdog (`run::watchdog`) uses the same record to stop the step the moment its
//!   runner dies; the takeover is the guarantee where there is no watchdog.
//!
//! - Before the spawn, the runner writes a *pending* record (group 0) under its epoch, so the window
//!   between the spawn and the group's record is covered too: a runner that dies there (a busy
//!   machine can stall it for many milliseconds after the step has started; issue 14's overlap
//!   test caught it under load) leaves "pending", and the stopper finds the step's processes by
//!   the job id and epoch in their environment.
//!
//! Not covered: a step that moves its processes into another process group or session on purpose,
//! or clears its environment before the runner's record of its group exists.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};

use crate::run::channel::ProtocolLine;
use crate::run::process::Supervisor;

pub const STEP_GROUP_FILE: &str = "step_group";
/// The group of a pending record: the step is being spawned (no real group is 0).
const PENDING: i32 = 0;
/// How long to wait for a stopped group to disappear after SIGKILL.
const GONE_WAIT: Duration = Duration::from_secs(5);

/// What identifies a step's process group beyond its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepGroup {
    pub group: i32,
    pub start_time: u64,
    pub epoch: u64,
    pub boot_id: String,
}

impl StepGroup {
    fn to_line(&self) -> String {
        // Fixed width, so that a `pwrite` at offset 0 always replaces the whole previous record.
        format!("{:010} {:020} {:020} {:<36}\n", self.group, self.start_time, self.epoch, self.boot_id)
    }

    fn parse(text: &str) -> Option<StepGroup> {
        let mut words = text.split_whitespace();
        let group = words.next()?.parse().ok()?;
        let start_time = words.next()?.parse().ok()?;
        let epoch = words.next()?.parse().ok()?;
        let boot_id = words.next()?.to_owned();
        Some(StepGroup { group, start_time, epoch, boot_id })
    }
}

/// The open record file of one run.
pub struct StepGroupRecord {
    file: File,
    boot_id: String,
    /// The boot clock when the last pending record was written: its step was forked after that.
    pending_since: Cell<Option<u128>>,
}

impl StepGroupRecord {
    pub fn open(job_dir: &Path) -> std::io::Result<StepGroupRecord> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(job_dir.join(STEP_GROUP_FILE))?;
        Ok(StepGroupRecord {
            file,
            boot_id: boot_id().unwrap_or_else(|| "-".to_owned()),
            pending_since: Cell::new(None),
        })
    }

    /// Record that a step of lease `epoch` is about to start, its group not yet known (best
    /// effort, as [`StepGroupRecord::record`]).
    pub fn pending(&self, epoch: u64) {
        self.pending_since.set(boot_clock_ns());
        self.write(StepGroup { group: PENDING, start_time: 0, epoch, boot_id: self.boot_id.clone() });
    }

    /// Record that the step of lease `epoch` runs as process group `group` (best effort: a step
    /// whose record cannot be written still runs, as it did before records existed).
    /// Call right after the spawn that followed [`StepGroupRecord::pending`].
    pub fn record(&self, group: Pid, epoch: u64) {
        let pid = group.as_raw_nonzero().get();
        let known = start_tick_between(self.pending_since.take(), boot_clock_ns(), clock_ticks_per_second());
        let Some(start_time) = known.or_else(|| process_stat(pid).map(|s| s.start_time)) else { return };
        self.write(StepGroup { group: pid, start_time, epoch, boot_id: self.boot_id.clone() });
    }

    fn write(&self, entry: StepGroup) {
        let _ = self.file.write_all_at(entry.to_line().as_bytes(), 0);
    }
}

/// A supervisor that records the step's group when it starts, then defers to `inner`.
pub struct Recording<'a> {
    pub inner: &'a mut dyn Supervisor,
    pub groups: Option<&'a StepGroupRecord>,
    pub epoch: u64,
}

impl Supervisor for Recording<'_> {
    fn record(&mut self, line: ProtocolLine) {
        self.inner.record(line);
    }

    fn should_stop(&mut self) -> Option<String> {
        self.inner.should_stop()
    }

    fn spawning(&mut self) {
        if let Some(groups) = self.groups {
            groups.pending(self.epoch);
        }
        self.inner.spawning();
    }

    fn started(&mut self, group: Pid) {
        if let Some(groups) = self.groups {
            groups.record(group, self.epoch);
        }
        self.inner.started(group);
    }
}

/// What [`stop_previous`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    pub group: i32,
    pub epoch: u64,
    /// Whether the group was gone within the wait after SIGKILL.
    pub gone: bool,
}

/// Stop the step a previous runner of this job left running (see the module notes). `epoch` is
/// the caller's lease epoch: only a record of an older epoch belongs to a previous runner.
pub fn stop_previous(job_dir: &Path, job_id: &str, epoch: u64, grace: Duration) -> Option<Stopped> {
    stop_recorded(job_dir, job_id, grace, |recorded| recorded < epoch)
}

/// Stop the recorded step group if its epoch passes `epoch_matches` and it still belongs to the
/// step (see the module notes).
pub fn stop_recorded(
    job_dir: &Path,
    job_id: &str,
    grace: Duration,
    epoch_matches: impl Fn(u64) -> bool,
) -> Option<Stopped> {
    let text = std::fs::read_to_string(job_dir.join(STEP_GROUP_FILE)).ok()?;
    let entry = StepGroup::parse(&text)?;
    if !epoch_matches(entry.epoch) || boot_id().as_deref() != Some(entry.boot_id.as_str()) {
        return None;
    }
    let own = rustix::process::getpgrp().as_raw_nonzero().get();
    let groups: Vec<i32> = if entry.group == PENDING {
        groups_carrying(job_id, entry.epoch, |_| true)
    } else if entry.group > 1 && belongs_to_step(&entry, job_id) {
        vec![entry.group]
    } else {
        Vec::new()
    };
    let groups: Vec<Pid> = groups.into_iter().filter(|&g| g > 1 && g != own).filter_map(Pid::from_raw).collect();
    let first = groups.first()?.as_raw_nonzero().get();
    groups.iter().for_each(|&group| {
        let _ = kill_process_group(group, Signal::TERM);
    });
    let gone = groups.iter().all(|&group| wait_gone(group, grace)) || {
        groups.iter().for_each(|&group| {
            let _ = kill_process_group(group, Signal::KILL);
        });
        groups.iter().all(|&group| wait_gone(group, GONE_WAIT))
    };
    Some(Stopped { group: first, epoch: entry.epoch, gone })
}

/// The recorded leader is the same process (same start time), or it is gone and a member of its
/// group still carries the job id and the recorded epoch in its environment.
fn belongs_to_step(entry: &StepGroup, job_id: &str) -> bool {
    if let Some(stat) = process_stat(entry.group) {
        return stat.start_time == entry.start_time && stat.group == entry.group && stat.state != 'Z';
    }
    !groups_carrying(job_id, entry.epoch, |s| s.group == entry.group && s.start_time >= entry.start_time).is_empty()
}

/// The process groups of the live processes that pass `admit` and carry `WRKR_JOB_ID=job_id` and
/// `WRKR_LEASE_EPOCH=epoch` in their environment (a step's processes), each group once.
fn groups_carrying(job_id: &str, epoch: u64, admit: impl Fn(&ProcessStat) -> bool) -> Vec<i32> {
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    let job_var = format!("WRKR_JOB_ID={job_id}");
    let epoch_var = format!("WRKR_LEASE_EPOCH={epoch}");
    let mut groups: Vec<i32> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = process_stat(pid).filter(|s| s.state != 'Z' && admit(s))?;
            let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let (mut job, mut epoch) = (false, false);
            for var in env.split(|&b| b == 0) {
                job |= var == job_var.as_bytes();
                epoch |= var == epoch_var.as_bytes();
            }
            (job && epoch).then_some(stat.group)
        })
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// Whether every process of `group` has ended within `within`. A zombie counts as ended: it runs
/// no code, and its reaping is up to its parent (init, once its runner is gone).
fn wait_gone(group: Pid, within: Duration) -> bool {
    let until = Instant::now() + within;
    loop {
        if test_kill_process_group(group).is_err() || !group_runs(group.as_raw_nonzero().get()) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process of `group` is still running (not a zombie).
fn group_runs(group: i32) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else { return true };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .any(|pid| process_stat(pid).is_some_and(|s| s.group == group && s.state != 'Z'))
}

struct ProcessStat {
    state: char,
    group: i32,
    start_time: u64,
}

/// State, process group and start time from `/proc/<pid>/stat`.
fn process_stat(pid: i32) -> Option<ProcessStat> {
    // One read into a stack buffer: this runs once per step. The line is well under 1 KiB.
    let mut buf = [0u8; 1024];
    let n = std::io::Read::read(&mut File::open(format!("/proc/{pid}/stat")).ok()?, &mut buf).ok()?;
    // The command name is in parentheses and may hold anything: the fields start after the last
    // `)`, separated by single spaces (the kernel's `do_task_stat` format).
    let line = buf.get(..n)?;
    let rest = line.get(line.iter().rposition(|b| *b == b')')? + 1..)?;
    let mut fields = rest.split(|b| *b == b' ').filter(|field| !field.is_empty());
    let state = char::from(*fields.next()?.first()?);
    let group = number(fields.nth(1)?)?;
    let start_time = number(fields.nth(16)?)?;
    Some(ProcessStat { state, group, start_time })
}

/// A decimal field of `/proc/<pid>/stat` (the trailing newline of the last one allowed).
fn number<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.trim_end().parse().ok()
}

/// The start time `/proc/<pid>/stat` gives a process forked between `before` and `after` on the
/// boot clock (nanoseconds), when both fall in the same clock tick: the kernel dates a fork by the
/// boot clock and shows it in whole ticks (field 22, `start_boottime / (10^9 / ticks_per_second)`),
/// so a fork between two readings of one tick happened in that tick. `None` when they straddle a
/// tick boundary (the caller reads `/proc`), or either reading is missing.
///
/// Why not always read `/proc`: right after a spawn the step is still in its `execve`, and the
/// read waits for it to release its locks and holds it up in turn, about 45 us of every step
/// (issue 16). A spawn takes about 0.2 ms and a tick is 10 ms, so about 2% of steps still read it.
fn start_tick_between(before: Option<u128>, after: Option<u128>, ticks_per_second: u64) -> Option<u64> {
    const NANOS: u128 = 1_000_000_000;
    let per_tick = u128::from(ticks_per_second);
    if per_tick == 0 || !NANOS.is_multiple_of(per_tick) {
        return None;
    }
    let tick = |ns: u128| ns / (NANOS / per_tick);
    let (before, after) = (tick(before?), tick(after?));
    (before == after).then(|| u64::try_from(before).ok()).flatten()
}

#[cfg(target_os = "linux")]
fn boot_clock_ns() -> Option<u128> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let (secs, nanos) = (u128::try_from(now.tv_sec).ok()?, u128::try_from(now.tv_nsec).ok()?);
    Some(secs * 1_000_000_000 + nanos)
}

#[cfg(not(target_os = "linux"))]
fn boot_clock_ns() -> Option<u128> {
    None
}

fn clock_ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second()
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn sleeper() -> std::process::Child {
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30").process_group(0);
        cmd.spawn().unwrap()
    }

    #[test]
    fn a_fork_within_one_tick_is_dated_by_that_tick() {
        const MS: u128 = 1_000_000;
        assert_eq!(start_tick_between(Some(10 * MS), Some(19 * MS), 100), Some(1));
        assert_eq!(start_tick_between(Some(20 * MS), Some(20 * MS), 100), Some(2));
        assert_eq!(start_tick_between(Some(20 * MS - 1), Some(20 * MS), 100), None, "straddles a tick");
        assert_eq!(start_tick_between(Some(1_000 * MS), Some(1_000 * MS + 999_999), 1000), Some(1000));
        assert_eq!(start_tick_between(None, Some(MS), 100), None);
        assert_eq!(start_tick_between(Some(MS), None, 100), None);
        assert_eq!(start_tick_between(Some(MS), Some(MS), 0), None);
        assert_eq!(start_tick_between(Some(MS), Some(MS), 7), None, "a tick that is no whole number of ns");
    }

    // The tick found from the boot clock around a spawn is the start time the kernel shows for it,
    // and most spawns are dated that way (a mutation off by one tick, or a clock other than the
    // boot clock, fails here).
    #[test]
    fn the_tick_around_a_spawn_is_the_start_time_proc_shows() {
        let mut dated = 0;
        for _ in 0..50 {
            let before = boot_clock_ns();
            let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
            let after = boot_clock_ns();
            let pid = child.id() as i32;
            if let Some(tick) = start_tick_between(before, after, clock_ticks_per_second()) {
                assert_eq!(Some(tick), process_stat(pid).map(|s| s.start_time), "pid {pid}");
                dated += 1;
            }
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert!(dated >= 25, "only {dated} of 50 spawns fell within one tick");
    }

    // What a runner writes for a step: pending, spawn, record. The record names the step's group
    // with the start time `/proc` shows, whichever way it was found.
    #[test]
    fn a_recorded_step_carries_its_start_time() {
        let dir = tempfile::TempDir::new().unwrap();
        let record = StepGroupRecord::open(dir.path()).unwrap();
        for _ in 0..5 {
            record.pending(7);
            let mut child = sleeper();
            let pid = Pid::from_child(&child);
            record.record(pid, 7);
            let entry = StepGroup::parse(&std::fs::read_to_string(dir.path().join(STEP_GROUP_FILE)).unwrap()).unwrap();
            let stat = process_stat(pid.as_raw_nonzero().get()).unwrap();
            assert_eq!((entry.group, entry.start_time, entry.epoch), (stat.group, stat.start_time, 7));
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    // The fields read from `/proc/<pid>/stat` are the ones a whitespace split finds (state 3,
    // group 5, start time 22), for a leader whose name holds spaces and parentheses too.
    #[test]
    fn reads_state_group_and_start_time() {
        let dir = tempfile::TempDir::new().unwrap();
        let odd = dir.path().join("a) b (c");
        std::fs::copy("/bin/sleep", &odd).unwrap();
        let mut children = [sleeper(), {
            let mut cmd = std::process::Command::new(&odd);
            cmd.arg("30").process_group(0);
            cmd.spawn().unwrap()
        }];
        for child in &children {
            let pid = child.id() as i32;
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            let fields: Vec<&str> = text[text.rfind(')').unwrap() + 1..].split_whitespace().collect();
            let stat = process_stat(pid).unwrap();
            assert_eq!(stat.state, fields[0].chars().next().unwrap(), "{text}");
            assert_eq!((stat.group, stat.start_time), (pid, fields[19].parse().unwrap()), "{text}");
            assert!(stat.start_time > 0, "{text}");
        }
        for child in &mut children {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert!(process_stat(-1).is_none());
    }

    #[test]
    fn stops_the_recorded_group_and_only_it() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut child = sleeper();
        let pid = Pid::from_child(&child);
        // Reaped as soon as it ends, as an orphaned step is by init.
        let waiter = std::thread::spawn(move || child.wait().unwrap());
        let record = StepGroupRecord::open(dir.path()).unwrap();
        record.record(pid, 3);
        // A caller whose epoch is not newer stops nothing.
        assert_eq!(stop_previous(dir.path(), "j", 3, Duration::from_millis(100)), None);
        // Another start time (a recycled pid) stops nothing.
        let mut entry = StepGroup::parse(&std::fs::read_to_string(dir.path().join(STEP_GROUP_FILE)).unwrap()).unwrap();
        entry.start_time += 1;
        std::fs::write(dir.path().join(STEP_GROUP_FILE), entry.to_line()).unwrap();
        assert_eq!(stop_previous(dir.path(), "j", 4, Duration::from_millis(100)), None);
        assert!(test_kill_process_group(pid).is_ok(), "a process that is not the step lives on");
        record.record(pid, 3);
        let stopped = stop_previous(dir.path(), "j", 4, Duration::from_millis(500)).unwrap();
        assert_eq!(stopped, Stopped { group: pid.as_raw_nonzero().get(), epoch: 3, gone: true });
        assert!(waiter.join().unwrap().code().is_none(), "killed by a signal");
    }

    #[test]
    fn record_is_fixed_width() {
        let a = StepGroup { group: 5, start_time: 7, epoch: 1, boot_id: "b".into() };
        let b = StepGroup { group: 123456, start_time: 987654321, epoch: 99, boot_id: "x".repeat(36) };
        assert_eq!(a.to_line().len(), b.to_line().len());
        assert_eq!(StepGroup::parse(&b.to_line()), Some(b));
    }
}
