//! wrkr fsck: check the store's jobs, and with `--repair` fix what can be fixed without losing a
//! record.
//!
//! Per job: the ledger parses line by line with contiguous seqs (streamed, bounded memory); no torn
//! tail; the snapshot cache, if any, is usable and equal to the state replayed up to its position;
//! a `running` job's lease has not expired (its runner is gone: resume it); no stale temp files
//! (`store::atomic`); nothing in the job readable by other users (`cmd::modes`: stores made before
//! jobs were 0700/0600). A job directory without a single record (an empty ledger, as a submit
//! that failed before its first record was durable leaves) is litter, not damage: the warning
//! `empty_job` (`cmd::fsck_empty`). Each finding is one JSON line (text: one aligned line).
//!
//! Output files are written the same way (a temp file renamed into place, `store::atomic`), so a
//! killed `export` or `report` leaves `.wrkr-tmp-*` files under `wrkr-out/jobpacks/` and
//! `wrkr-out/reports/`. fsck looks there too when it checks the whole store (no JOB named) or
//! when `--out-dir` names the directory; those findings have `"job_id": null` and the file's path.
//!
//! `--repair` never deletes a complete record. It truncates a torn tail through an empty append
//! (the store's own recovery, under the job's lock), rebuilds the snapshot from the ledger, removes
//! stale temp files, takes away other users' access to the job's files, removes an empty job
//! directory that holds nothing but empty files and whose lock is free, and says what it did for
//! each finding (or, when a check made again just before the repair says no, why it left it). A ledger with a complete line that does not parse, or a seq gap, is reported and
//! left alone: that is for a person to look at.
//!
//! On a PostgreSQL store the jobs are checked by `cmd::fsck_pg` (rows instead of files), reported
//! and repaired through the same `Tally`.
//!
//! Exit: 0 clean (or everything repaired); 3 (`E_STORE_CORRUPT`) when findings remain that
//! `--repair` fixes; 1 (`E_STORE_CORRUPT`) when damage remains that it cannot fix.

use std::fs::File;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::export::DEFAULT_OUT_DIR;
use crate::cmd::modes;
use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::JobState;
use crate::store::atomic::{self, OUTPUT_TEMP_PREFIX, TEMP_PREFIX};
use crate::store::ledger::{LEDGER_FILE, LedgerReader, Position, Tail};
use crate::store::snapshot::{SNAPSHOT_FILE, Snapshot};
use crate::store::{AppendOptions, FsStore, JobId, Location, PgStore, Store, job_not_found, location};

use super::{fsck_empty, fsck_pg};

/// The exit code for "findings that `--repair` fixes remain" (3 was unused in v1).
pub const NEEDS_REPAIR_EXIT: u8 = 3;

const REPAIR: Flag = Flag {
    long: "repair",
    short: None,
    value: None,
    help: "Fix what can be fixed without losing a record (torn tail, snapshot, temp files, modes, empty jobs)",
    long_help: "",
};

const OUT_DIR: Flag = Flag {
    long: "out-dir",
    short: None,
    value: Some("DIR"),
    help: "Also check DIR/jobpacks and DIR/reports for stale temp files [default: ./wrkr-out]",
    long_help: "Checked by default when no JOB is named; with JOBs, only when --out-dir is given.",
};

/// The directories under the out dir whose files are written through a temp file.
const OUTPUT_DIRS: [&str; 2] = ["jobpacks", "reports"];

pub const COMMAND: Command = Command {
    name: "fsck",
    kind: Kind::Command,
    about: "Check the store's jobs (and repair them)",
    usage: "[JOB...] [--repair] [--out-dir DIR]",
    long_about: "Checks every job (or the JOBs named): the ledger parses with contiguous seqs, no torn \
                 tail, the snapshot cache matches the ledger, a running job's lease has not expired, no \
                 stale temp files (in job directories, and under DIR/jobpacks and DIR/reports of the \
                 out dir), nothing other users can read (stores made before jobs were 0700/0600), no \
                 empty job directory (a ledger without a record: what a submit that failed before its \
                 first record was durable leaves; a warning, not damage). \
                 One finding per line ({\"job_id\", \"check\", \"severity\", \
                 \"repairable\", \"message\", ...}; JSON lines with --json). With --repair: truncates a \
                 torn tail, rebuilds the snapshot, removes stale temp files, tightens modes (0755 to 0700, 0644 \
                 to 0600), removes an empty job directory when it holds nothing but empty files and no \
                 writer holds its lock, never deletes a complete \
                 record, and adds \"repaired\" and \"action\" to each finding it fixed (\"repaired\": false and why, when a \
                 check made again just before the repair says to leave it). Exit 0 when clean, \
                 3 when findings that --repair fixes remain, 1 (E_STORE_CORRUPT) when damage remains \
                 that it cannot fix. On PostgreSQL the same checks run on the rows (event lines, the \
                 job row's copies, the snapshot column, recorded log tails); --repair rebuilds the job row \
                 and its snapshot and never changes an event.",
    flags: &[&REPAIR, &OUT_DIR],
    examples: &[
        Example { command: "wrkr fsck", what: "Check every job; exit 3 if a repair is needed." },
        Example { command: "wrkr fsck job_1 --repair --json", what: "Repair one job; JSON lines." },
    ],
    run,
};

/// One thing found wrong with a job (or, `job_id` `None`, with a file under the out dir).
pub(crate) struct Finding {
    pub(crate) job_id: Option<String>,
    pub(crate) check: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) repairable: bool,
    pub(crate) message: String,
    pub(crate) details: Map<String, Value>,
    repair: Option<Repair>,
}

/// What `--repair` did with a repairable finding.
pub(crate) enum Repair {
    /// Fixed; what was done.
    Done(String),
    /// Left as it was, because a check made again just before the repair said so (something
    /// changed since the finding): why. Still counts as needing a repair.
    Declined(String),
}

impl Finding {
    pub(crate) fn new(
        job: &str,
        check: &'static str,
        severity: &'static str,
        repairable: bool,
        message: String,
    ) -> Finding {
        Finding {
            job_id: Some(job.to_owned()),
            check,
            severity,
            repairable,
            message,
            details: Map::new(),
            repair: None,
        }
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut out = json!({"job_id": self.job_id, "check": self.check, "severity": self.severity,
                             "repairable": self.repairable, "message": self.message});
        if !self.details.is_empty() {
            out["details"] = Value::Object(self.details.clone());
        }
        match &self.repair {
            Some(Repair::Done(action)) => {
                out["repaired"] = json!(true);
                out["action"] = json!(action);
            }
            Some(Repair::Declined(why)) => {
                out["repaired"] = json!(false);
                out["action"] = json!(format!("left as it is: {why}"));
            }
            None => {}
        }
        out
    }
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    let repair = args.switch(REPAIR.long);
    let named = args.positional_strings()?;
    let named: Vec<JobId> = named.iter().map(|j| JobId::parse(j)).collect::<Result<_>>()?;
    let out_dir = args.value(OUT_DIR.long).or(named.is_empty().then_some(DEFAULT_OUT_DIR)).map(Path::new);
    let mut tally = Tally { repair, needs_repair: 0, damaged: 0 };
    match location::locate(args.store.as_deref())? {
        Location::Postgres(url) => fsck_pg::check_store(&PgStore::open(&url)?, named, &mut tally, io)?,
        Location::Dir(root) => {
            let store = FsStore::new(root);
            // A job named on the command line that has no directory is a typo, not damage.
            if let Some(job) = named.iter().find(|job| !store.job_dir(job).exists()) {
                return Err(job_not_found(job).with("store", store.root().display().to_string()));
            }
            let jobs = if named.is_empty() { all_jobs(&store)? } else { named };
            for job in &jobs {
                for finding in check(&store, job)? {
                    tally.settle(finding, io, |f| fix(&store, job, f))?;
                }
            }
        }
    }
    if let Some(out_dir) = out_dir {
        for finding in check_output(out_dir) {
            tally.settle(finding, io, |f| fix_output(f).map(Repair::Done))?;
        }
    }
    let Tally { needs_repair, damaged, .. } = tally;
    if damaged > 0 {
        return Err(Error::new(ReasonCode::StoreCorrupt, format!("fsck: {damaged} finding(s) fsck cannot repair"))
            .with("unrepairable", damaged)
            .with("needs_repair", needs_repair)
            .with_hint("the ledger is never repaired silently; inspect events.jsonl at the line named"));
    }
    if needs_repair > 0 {
        return Err(Error::new(ReasonCode::StoreCorrupt, format!("fsck: {needs_repair} finding(s) need repair"))
            .with("needs_repair", needs_repair)
            .with_exit_code(NEEDS_REPAIR_EXIT)
            .with_hint("wrkr fsck --repair fixes them without deleting a complete record"));
    }
    Ok(())
}

/// Findings as they are reported (and, with `--repair`, fixed): what still needs a repair, and
/// what fsck cannot repair.
pub(crate) struct Tally {
    repair: bool,
    needs_repair: u64,
    damaged: u64,
}

impl Tally {
    pub(crate) fn settle(
        &mut self,
        mut finding: Finding,
        io: &mut Io,
        fix: impl FnOnce(&Finding) -> Result<Repair>,
    ) -> Result<()> {
        if self.repair && finding.repairable {
            finding.repair = Some(fix(&finding)?);
        }
        if !matches!(finding.repair, Some(Repair::Done(_))) {
            self.needs_repair += u64::from(finding.repairable);
            self.damaged += u64::from(!finding.repairable && finding.severity == "error");
        }
        if io.json {
            return io.record(&finding.to_json());
        }
        let done = match &finding.repair {
            Some(Repair::Done(action)) => format!(" (repaired: {action})"),
            Some(Repair::Declined(why)) => format!(" (not repaired: {why})"),
            None => String::new(),
        };
        let subject = finding.job_id.as_deref().unwrap_or("(out dir)");
        io.line(&format!("{subject}  {:18}  {}{done}", finding.check, finding.message))
    }
}

/// Every job directory in the store (by name; a directory without a ledger is a finding).
fn all_jobs(store: &FsStore) -> Result<Vec<JobId>> {
    let dir = store.root().join("jobs");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("list {}", dir.display()), e)),
    };
    let mut jobs: Vec<JobId> = entries.flatten().filter_map(|e| JobId::parse(e.file_name().to_str()?).ok()).collect();
    jobs.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(jobs)
}

fn check(store: &FsStore, job: &JobId) -> Result<Vec<Finding>> {
    let id = job.as_str();
    let dir = store.job_dir(job);
    let mut found = Vec::new();
    let file = match File::open(dir.join(LEDGER_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let finding = fsck_empty::finding(id, &dir)?.unwrap_or_else(|| {
                Finding::new(id, "ledger_missing", "error", false, "no events.jsonl: not a job".into())
            });
            found.push(finding);
            return Ok(found);
        }
        Err(e) => return Err(Error::io(format!("open the ledger of {id}"), e)),
    };
    // Not one record: the litter of a submit that failed (not corruption), or a submit at work.
    if file.metadata().is_ok_and(|m| m.len() == 0) {
        found.extend(fsck_empty::finding(id, &dir)?);
        return Ok(found);
    }
    let tail = Tail::read(&file).map_err(|e| Error::io("read ledger tail", e))?;
    if tail.file_len > tail.complete_end {
        let torn = tail.file_len - tail.complete_end;
        found.push(
            Finding::new(id, "torn_tail", "error", true, format!("{torn} byte(s) after the last complete line"))
                .with("bytes", torn)
                .with("offset", tail.complete_end),
        );
    }
    let snapshot = Snapshot::load(&dir, id);
    let (state, position, at_snapshot) = match replay(id, file, &tail, snapshot.as_ref().map(|s| s.last_seq)) {
        Ok(replayed) => replayed,
        Err(err) => {
            let mut finding = Finding::new(id, "ledger_corrupt", "error", false, err.message.clone());
            finding.details = err.details.clone();
            found.push(finding);
            return Ok(found);
        }
    };
    check_snapshot(id, &dir, snapshot.as_ref(), position, at_snapshot.as_ref(), &mut found);
    if let Some(seconds) = crate::cmd::status::stale_for(&state, Timestamp::now()) {
        found.push(
            Finding::new(id, "stale_runner", "warning", false, format!("running, but its runner is gone ({seconds}s)"))
                .with("stale_for_seconds", seconds)
                .with("resume_command", format!("wrkr resume {id}")),
        );
    }
    let loose =
        modes::loose_paths(&dir).map_err(|e| Error::io(format!("read the modes under {}", dir.display()), e))?;
    if let Some((first, mode)) = loose.first() {
        let shown = match first.strip_prefix(&dir) {
            Ok(inside) if !inside.as_os_str().is_empty() => inside.display().to_string(),
            _ => "the job directory".to_owned(),
        };
        found.push(
            Finding::new(
                id,
                "permissions",
                "warning",
                true,
                format!(
                    "{} path(s) other users can read (e.g. {} {}); job directories are 0700 and job files 0600",
                    loose.len(),
                    shown,
                    modes::octal(*mode)
                ),
            )
            .with("paths", loose.len()),
        );
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(TEMP_PREFIX) && atomic::is_stale(&entry.path()) {
                found.push(
                    Finding::new(id, "temp_file", "warning", true, format!("stale temp file {name}"))
                        .with("file", name),
                );
            }
        }
    }
    Ok(found)
}

/// Stale temp files of killed output writers under `out_dir` (never an error: a missing or
/// unreadable directory has nothing fsck can repair).
fn check_output(out_dir: &Path) -> Vec<Finding> {
    let mut found = Vec::new();
    for sub in OUTPUT_DIRS {
        let dir = out_dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut stale: Vec<_> = entries
            .flatten()
            .filter(|e| e.file_name().as_encoded_bytes().starts_with(OUTPUT_TEMP_PREFIX.as_bytes()))
            .map(|e| e.path())
            .filter(|path| atomic::is_stale(path))
            .collect();
        stale.sort();
        for path in stale {
            let shown = path.display().to_string();
            let mut finding = Finding::new("", "output_temp_file", "warning", true, format!("stale temp file {shown}"));
            finding.job_id = None;
            found.push(finding.with("path", shown));
        }
    }
    found
}

/// Remove one stale output temp file (checked again: a live writer's file is never removed).
fn fix_output(finding: &Finding) -> Result<String> {
    let shown = finding.details.get("path").and_then(Value::as_str).unwrap_or_default();
    let path = Path::new(shown);
    if atomic::is_stale(path) {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("remove {shown}"), e)),
        }
    }
    Ok(format!("removed {shown}"))
}

/// The final state and position, and the state and position at the snapshot's seq.
type Replayed = (JobState, Position, Option<(JobState, Position)>);

/// Replay the whole ledger (streaming). Returns the final state and position, and the state and
/// position at `snapshot_seq` when the ledger reaches it.
fn replay(id: &str, file: File, tail: &Tail, snapshot_seq: Option<u64>) -> Result<Replayed> {
    let mut reader =
        LedgerReader::new(file, Position::default(), tail.complete_end).map_err(|e| Error::io("read ledger", e))?;
    let mut state = JobState::new(id);
    let mut at_snapshot = None;
    while let Some((record, _)) = reader.next_record()? {
        state.apply(&record).map_err(|e| e.context(format!("ledger line {}", reader.position().lines)))?;
        if snapshot_seq == Some(record.seq) {
            at_snapshot = Some((state.clone(), reader.position()));
        }
    }
    Ok((state, reader.position(), at_snapshot))
}

fn check_snapshot(
    id: &str,
    dir: &Path,
    snapshot: Option<&Snapshot>,
    end: Position,
    at_snapshot: Option<&(JobState, Position)>,
    found: &mut Vec<Finding>,
) {
    let exists = dir.join(SNAPSHOT_FILE).exists();
    let problem = match (snapshot, at_snapshot) {
        (None, _) if exists => Some("snapshot.json cannot be used (unreadable or inconsistent)".to_owned()),
        (None, _) => None,
        (Some(snap), None) => {
            Some(format!("snapshot at seq {} is ahead of the ledger (seq {})", snap.last_seq, end.seq))
        }
        (Some(snap), Some((state, position))) => {
            (*state != snap.state || position.offset != snap.ledger_offset || position.lines != snap.ledger_lines)
                .then(|| format!("snapshot at seq {} differs from the ledger replayed to that seq", snap.last_seq))
        }
    };
    if let Some(message) = problem {
        found.push(Finding::new(id, "snapshot", "warning", true, message));
    }
}

/// Repair one finding; returns what was done.
fn fix(store: &FsStore, job: &JobId, finding: &Finding) -> Result<Repair> {
    if finding.check == fsck_empty::CHECK {
        return fsck_empty::remove(store, job);
    }
    fix_file(store, job, finding).map(Repair::Done)
}

/// Repair a finding in the files of a job that stays.
fn fix_file(store: &FsStore, job: &JobId, finding: &Finding) -> Result<String> {
    let dir = store.job_dir(job);
    match finding.check {
        "torn_tail" => {
            // An empty append: the store truncates the torn tail under the job's lock.
            store.append(job, AppendOptions::default(), &mut |_| Ok(Vec::new()))?;
            Ok(format!("truncated {} torn byte(s)", finding.details.get("bytes").cloned().unwrap_or_default()))
        }
        "snapshot" => {
            let file = File::open(dir.join(LEDGER_FILE)).map_err(|e| Error::io("open ledger", e))?;
            let tail = Tail::read(&file).map_err(|e| Error::io("read ledger tail", e))?;
            let (state, position, _) = replay(job.as_str(), file, &tail, None)?;
            let _ = std::fs::remove_file(dir.join(SNAPSHOT_FILE));
            Snapshot::of(&state, position).save(&dir);
            Ok(format!("rebuilt snapshot.json from the ledger (seq {})", position.seq))
        }
        "permissions" => {
            let loose = modes::loose_paths(&dir).map_err(|e| Error::io("read the job's file modes", e))?;
            modes::tighten(&loose).map_err(|e| Error::io("tighten the job's file modes", e))?;
            Ok(format!("removed group and other access from {} path(s)", loose.len()))
        }
        "temp_file" => {
            let name = finding.details.get("file").and_then(Value::as_str).unwrap_or_default();
            let path = dir.join(name);
            // Checked again: its writer may have come back to life since (it never does, but a
            // live writer's file must never be removed).
            if atomic::is_stale(&path) {
                std::fs::remove_file(&path).map_err(|e| Error::io(format!("remove {}", path.display()), e))?;
            }
            Ok(format!("removed {name}"))
        }
        other => Err(Error::generic(format!("fsck cannot repair {other}"))),
    }
}
