//! Retention: which jobs and output files `wrkr store prune` removes, and removing them safely.
//!
//! The selectors are the Go implementation's (age of a job = now minus the newest mtime of any file
//! in its directory; jobpacks `*.zip` and reports by age or by count, newest kept; integrations by
//! age), with Go's report shape. Two safeties Go lacks:
//! - a job that is running, paused or blocked, or that holds an unexpired lease, or whose ledger
//!   cannot be read, is never removed unless the caller passes `include_active`; it is reported
//!   under `skipped` with the reason;
//! - a job directory leaves the store in one rename into `<store>/.trash/`, made durable with a
//!   directory fsync, and is deleted from there. A crash mid-prune leaves either the whole job in
//!   place or the whole job in the trash, never half a job; the next prune empties the trash.
//!   The rename happens under the job's lock (the ledger `flock` every append takes, see
//!   `store::lock`), after the job is checked again under that lock: a runner that starts between
//!   the selection and the removal either got there first (the job is active now: skipped) or
//!   finds the job gone when its append gets the lock. Waiting is bounded as for any writer; a
//!   job whose lock stays busy is skipped.
//!
//! Output files (under `wrkr-out/`) are looked at only when a selector for their kind is given.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::failpoint;
use crate::job::{JobState, lease};
use crate::store::ledger::LEDGER_FILE;
use crate::store::lock;
use crate::store::{FsStore, JobId, Store};

/// What to prune. `None` / absent selectors select nothing of their kind.
#[derive(Default)]
pub struct Selectors {
    pub job_max_age: Option<Duration>,
    pub jobpack_max_age: Option<Duration>,
    pub report_max_age: Option<Duration>,
    pub integration_max_age: Option<Duration>,
    pub max_jobpacks: Option<usize>,
    pub max_reports: Option<usize>,
}

impl Selectors {
    pub fn any(&self) -> bool {
        self.job_max_age.is_some()
            || self.jobpack_max_age.is_some()
            || self.report_max_age.is_some()
            || self.integration_max_age.is_some()
            || self.max_jobpacks.is_some()
            || self.max_reports.is_some()
    }
}

#[derive(Serialize, Clone)]
pub struct Entry {
    pub kind: &'static str,
    pub path: String,
    pub size_bytes: u64,
    pub mod_time: String,
    pub reason: &'static str,
}

#[derive(Serialize)]
pub struct Skipped {
    pub kind: &'static str,
    pub path: String,
    pub why: String,
}

#[derive(Serialize)]
pub struct Report {
    pub generated_at: String,
    pub dry_run: bool,
    pub checked: u64,
    pub matched: u64,
    pub removed: u64,
    pub freed_bytes: u64,
    pub entries: Vec<Entry>,
    pub skipped: Vec<Skipped>,
}

/// One job as the backend names it: `path` is what the report shows (the job directory, or
/// `wrkr_jobs:<id>` on PostgreSQL), `name` its id.
pub struct Candidate {
    pub path: String,
    pub name: String,
}

/// The jobs side of prune, one implementation per backend (the file store's is here; the
/// PostgreSQL one is `store::pg::retention`). Output files are the same on both.
pub trait Jobs {
    /// Finish what an interrupted prune left (the file store's trash); before anything else.
    fn empty_trash(&self) -> Result<()>;
    /// Every job, sorted by `path`.
    fn candidates(&self) -> Result<Vec<Candidate>>;
    /// Its size in bytes and the time of its newest change.
    fn measure(&self, job: &Candidate) -> Result<(u64, SystemTime)>;
    /// The store, to read a job's state.
    fn store(&self) -> &dyn Store;
    /// Remove the whole job, or nothing: returns why it stays when the check made again under
    /// the job's lock (or the lock itself) says so.
    fn remove(&self, job: &Candidate, include_active: bool) -> Result<Option<String>>;
}

/// The file store's jobs: directories under `<store>/jobs`, removed through `<store>/.trash`.
pub struct DirJobs<'a> {
    pub store: &'a FsStore,
}

impl DirJobs<'_> {
    fn trash(&self) -> PathBuf {
        trash_dir(self.store)
    }
}

/// Where the file store's removed jobs wait for their delete (`wrkr store prune`, `wrkr fsck
/// --repair`); the next prune empties it.
pub(crate) fn trash_dir(store: &FsStore) -> PathBuf {
    store.root().join(".trash")
}

impl Jobs for DirJobs<'_> {
    fn empty_trash(&self) -> Result<()> {
        empty_trash(&self.trash())
    }

    fn candidates(&self) -> Result<Vec<Candidate>> {
        Ok(list(&self.store.root().join("jobs"), |p| p.is_dir())?
            .into_iter()
            .map(|path| Candidate {
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                path: path.display().to_string(),
            })
            .collect())
    }

    fn measure(&self, job: &Candidate) -> Result<(u64, SystemTime)> {
        tree_size_and_newest(Path::new(&job.path))
    }

    fn store(&self) -> &dyn Store {
        self.store
    }

    fn remove(&self, job: &Candidate, include_active: bool) -> Result<Option<String>> {
        remove_job(self.store, Path::new(&job.path), &self.trash(), include_active)
    }
}

/// Decide, and unless `dry_run`, remove. `now` is passed in so tests and the report agree.
pub fn prune(
    jobs: &dyn Jobs,
    out_dir: &Path,
    select: &Selectors,
    include_active: bool,
    dry_run: bool,
    now: SystemTime,
) -> Result<Report> {
    if !dry_run {
        jobs.empty_trash()?;
    }
    let mut report = Report {
        generated_at: timestamp(now),
        dry_run,
        checked: 0,
        matched: 0,
        removed: 0,
        freed_bytes: 0,
        entries: Vec::new(),
        skipped: Vec::new(),
    };
    let mut selected = Vec::new();
    for job in jobs.candidates()? {
        report.checked += 1;
        let Some(max_age) = select.job_max_age else { continue };
        let (size, newest) = jobs.measure(&job)?;
        if age(now, newest) < max_age {
            continue;
        }
        if !include_active && let Some(why) = active_reason(jobs.store(), &job.name) {
            report.skipped.push(Skipped { kind: "job", path: job.path, why });
            continue;
        }
        selected.push((entry_at("job", job.path.clone(), size, newest, "age"), job));
    }
    let mut files = Vec::new();
    if select.jobpack_max_age.is_some() || select.max_jobpacks.is_some() {
        let packs = list(&out_dir.join("jobpacks"), |p| p.is_file() && p.extension().is_some_and(|e| e == "zip"))?;
        files.extend(select_files("jobpack", packs, select.jobpack_max_age, select.max_jobpacks, now, &mut report)?);
    }
    if select.report_max_age.is_some() || select.max_reports.is_some() {
        let reports = list(&out_dir.join("reports"), |p| p.is_file())?;
        files.extend(select_files("report", reports, select.report_max_age, select.max_reports, now, &mut report)?);
    }
    if select.integration_max_age.is_some() {
        let mut all = Vec::new();
        walk_files(&out_dir.join("integrations"), &mut all)?;
        files.extend(select_files("integration", all, select.integration_max_age, None, now, &mut report)?);
    }

    for (entry, job) in selected {
        if !dry_run {
            if let Some(why) = jobs.remove(&job, include_active)? {
                report.skipped.push(Skipped { kind: "job", path: entry.path, why });
                continue;
            }
            report.removed += 1;
        }
        report.freed_bytes += entry.size_bytes;
        report.entries.push(entry);
    }
    for (entry, path) in files {
        if !dry_run {
            match fs::remove_file(&path) {
                Ok(()) => report.removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("remove {}", path.display()), e)),
            }
        }
        report.freed_bytes += entry.size_bytes;
        report.entries.push(entry);
    }
    report.matched = report.entries.len() as u64;
    report.entries.sort_by(|a, b| a.path.cmp(&b.path));
    report.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// Why a job must stay, or `None` when it may go.
pub fn active_reason(store: &dyn Store, name: &str) -> Option<String> {
    let job = match JobId::parse(name) {
        Ok(job) => job,
        Err(_) => return Some("not a job id: left alone".to_owned()),
    };
    match store.state(&job) {
        Ok(state) => active_state(&state),
        Err(err) => Some(format!("ledger unreadable ({err}): run wrkr fsck, or pass --include-active")),
    }
}

/// Why a job in `state` must stay: running, paused, blocked, or an unexpired lease.
pub fn active_state(state: &JobState) -> Option<String> {
    if let Some(held) = &state.lease
        && !lease::is_expired(held, Timestamp::now())
    {
        return Some(format!("holds an unexpired lease (worker {}, expires {})", held.worker_id, held.expires_at));
    }
    let status = state.status.as_str();
    let active = matches!(status, "running" | "paused") || status.starts_with("blocked");
    active.then(|| format!("status {status}"))
}

/// Files of one kind, by age and by count (newest first, path ascending; age wins).
fn select_files(
    kind: &'static str,
    paths: Vec<PathBuf>,
    max_age: Option<Duration>,
    keep: Option<usize>,
    now: SystemTime,
    report: &mut Report,
) -> Result<Vec<(Entry, PathBuf)>> {
    let mut rows = Vec::new();
    for path in paths {
        report.checked += 1;
        let meta = fs::metadata(&path).map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
        rows.push((path, meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)));
    }
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for (index, (path, size, modified)) in rows.into_iter().enumerate() {
        let reason = if max_age.is_some_and(|max| age(now, modified) >= max) {
            "age"
        } else if keep.is_some_and(|n| index >= n) {
            "count"
        } else {
            continue;
        };
        out.push((entry(kind, &path, size, modified, reason), path));
    }
    Ok(out)
}

/// Under the job's lock, check it again and rename it into the trash (durably), then delete it
/// there. Returns why the job stays when the check under the lock, or the lock itself, says so.
fn remove_job(store: &FsStore, path: &Path, trash: &Path, include_active: bool) -> Result<Option<String>> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Between the selection and the removal: where a runner can start (tests arm a sleep here).
    failpoint::check("retention.remove").map_err(|e| Error::io(format!("remove {}", path.display()), e))?;
    // Held (the flock lives on this open file) until the job has left the store.
    let ledger = match fs::File::open(path.join(LEDGER_FILE)) {
        Ok(ledger) => Some(ledger),
        // No ledger, no writer to exclude (only --include-active gets here with one).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(format!("open the ledger of {}", path.display()), e)),
    };
    if let Some(ledger) = &ledger {
        if let Err(err) = lock::lock_ledger(ledger, path, &name) {
            return Ok(Some(err.message.clone()));
        }
        if !include_active && let Some(why) = active_reason(store, &name) {
            return Ok(Some(why));
        }
    }
    discard(path, trash, ledger)?;
    Ok(None)
}

/// Move the job directory `path` into `trash` in one rename, made durable, then delete it there:
/// a crash leaves the whole job in place or the whole job in the trash. `locked`, the job's ledger
/// with its lock held, is released between the two, so a writer waiting for the lock finds the
/// ledger gone from its path (`store::lock`) instead of appending to a job being deleted.
pub(crate) fn discard(path: &Path, trash: &Path, locked: Option<fs::File>) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    fs::create_dir_all(trash).map_err(|e| Error::io(format!("create {}", trash.display()), e))?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let target = trash.join(format!("{name}.{nanos}"));
    fs::rename(path, &target).map_err(|e| Error::io(format!("move {} into {}", path.display(), trash.display()), e))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    drop(locked);
    fs::remove_dir_all(&target).map_err(|e| Error::io(format!("delete {}", target.display()), e))
}

/// Whatever an interrupted prune left in the trash: whole jobs already out of the store.
fn empty_trash(trash: &Path) -> Result<()> {
    for path in list(trash, |_| true)? {
        let gone = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        gone.map_err(|e| Error::io(format!("empty the trash: {}", path.display()), e))?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(format!("fsync {}", dir.display()), e))
}

/// The entries of `dir` that pass `keep`, sorted; a missing directory has none.
fn list(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("list {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for item in read {
        let path = item.map_err(|e| Error::io(format!("list {}", dir.display()), e))?.path();
        if keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn walk_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for path in list(dir, |_| true)? {
        let meta = fs::symlink_metadata(&path).map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
        if meta.is_dir() {
            walk_files(&path, out)?;
        } else if meta.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Total bytes and newest mtime of the files under `dir` (an empty directory: epoch, as Go).
fn tree_size_and_newest(dir: &Path) -> Result<(u64, SystemTime)> {
    let mut files = Vec::new();
    walk_files(dir, &mut files)?;
    let mut size = 0;
    let mut newest = UNIX_EPOCH;
    for file in files {
        let meta = fs::symlink_metadata(&file).map_err(|e| Error::io(format!("stat {}", file.display()), e))?;
        size += meta.len();
        newest = newest.max(meta.modified().unwrap_or(UNIX_EPOCH));
    }
    Ok((size, newest))
}

fn age(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or(Duration::ZERO)
}

fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    Timestamp::from_unix(i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos()).to_string()
}

fn entry(kind: &'static str, path: &Path, size: u64, modified: SystemTime, reason: &'static str) -> Entry {
    entry_at(kind, path.display().to_string(), size, modified, reason)
}

fn entry_at(kind: &'static str, path: String, size: u64, modified: SystemTime, reason: &'static str) -> Entry {
    Entry { kind, path, size_bytes: size, mod_time: timestamp(modified), reason }
}

/// A retention duration: Go's syntax (`168h`, `90m`, `1h30m`, `2.5h`, `500ms`) plus `d` for days.
/// Must be greater than zero.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".to_owned());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().map_err(|_| format!("{text:?}: expected a number before a unit"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3_600.0,
            "d" => 86_400.0,
            "" => return Err(format!("{text:?}: missing unit (ns, us, ms, s, m, h, d)")),
            other => return Err(format!("{text:?}: unknown unit {other:?} (ns, us, ms, s, m, h, d)")),
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    if !(total > 0.0 && total < 1e12) {
        return Err(format!("{text:?}: must be greater than zero"));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_go_syntax_and_days() {
        assert_eq!(parse_duration("168h"), Ok(Duration::from_secs(168 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "0s", "7", "h", "7w", "-1h", "1h-", "..5h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
