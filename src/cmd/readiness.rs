//! `wrkr doctor --production-readiness`: the checks for running wrkr in production, beyond the
//! serve settings doctor always judges.
//!
//! - the store root is writable and lockable: probed in a temporary directory under the root
//!   (write, fsync, rename, the ledger's own lock), removed afterwards; no job is ever created,
//!   unlike Go's `_doctor_probe` job;
//! - the store's format: the schema version this binary writes, and the jobs directory readable;
//! - free disk space on the store's filesystem;
//! - a signing key, when signing is asked for (`--signing-key`, `WRKR_SIGNING_KEY_PATH`, or
//!   `WRKR_SIGNING_MODE=ed25519`): present, a valid `wrkr keygen` key, readable by its owner only;
//! - retention configured (`WRKR_RETENTION_DAYS`, `WRKR_OUTPUT_RETENTION_DAYS`, the policy that
//!   `wrkr store prune` applies);
//! - no unsafe switch in the environment (`WRKR_ALLOW_UNSAFE` and any `WRKR_*UNSAFE*`).
//!
//! Each check has a severity and, when it fails, the remedy. Nothing here changes the store.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cli::spec::Flag;
use crate::cmd::doctor::{Check, check};
use crate::cmd::modes;
use crate::contract::{PRODUCER_VERSION, SCHEMA_VERSION};
use crate::store::lock::JobLock;

pub const PRODUCTION_READINESS: Flag = Flag {
    long: "production-readiness",
    short: None,
    value: None,
    help: "Also check the store, disk space, signing key, retention and unsafe switches",
    long_help: "The store root is probed in a temporary directory (write, fsync, rename, lock) that is \
                removed afterwards; no job is created. Signing is checked when --signing-key, \
                WRKR_SIGNING_KEY_PATH or WRKR_SIGNING_MODE=ed25519 asks for it.",
};
pub const SIGNING_KEY: Flag = Flag {
    long: "signing-key",
    short: None,
    value: Some("FILE"),
    help: "The private key jobpacks are signed with (as for export --sign) [env WRKR_SIGNING_KEY_PATH]",
    long_help: "",
};

/// Free space below this is critical: an append or export may fail mid-job.
const DISK_CRITICAL_BYTES: u64 = 256 << 20;
/// Below this, a warning.
const DISK_WARNING_BYTES: u64 = 2 << 30;

pub fn checks(store_root: &Path, signing_key_flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Vec<Check> {
    let mut out = store_probe(store_root);
    out.push(store_format(store_root));
    out.push(store_permissions(store_root));
    out.push(disk_space(store_root));
    out.push(signing(signing_key_flag, env));
    out.push(retention(env));
    out.push(unsafe_switches());
    out
}

/// Write, fsync, rename and lock in a temporary directory under the root, then remove it.
fn store_probe(root: &Path) -> Vec<Check> {
    const FIX_WRITE: &str = "create the store root and make it writable by this user (mkdir -p DIR && chmod 700 DIR)";
    let probe = tempfile::Builder::new().prefix(".doctor-probe-").tempdir_in(root);
    let dir = match probe {
        Ok(dir) => dir,
        Err(err) => {
            return vec![
                check("store_root_writable", false, "critical", format!("{}: {err}", root.display()), FIX_WRITE),
                check("store_lockable", false, "critical", "not probed: the root is not writable".into(), FIX_WRITE),
            ];
        }
    };
    let written = (|| -> std::io::Result<()> {
        let tmp = dir.path().join("probe.tmp");
        std::fs::write(&tmp, b"wrkr doctor probe\n")?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.path().join("probe"))?;
        std::fs::File::open(dir.path())?.sync_all()
    })();
    let writable = check(
        "store_root_writable",
        written.is_ok(),
        "critical",
        match &written {
            Ok(()) => format!("{}: write, fsync and rename work", root.display()),
            Err(err) => format!("{}: {err}", root.display()),
        },
        FIX_WRITE,
    );
    // The store locks a ledger's own file (store::lock): probe the same on a ledger-like file.
    let locked = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .append(true)
        .open(dir.path().join("events.jsonl"))
        .map_err(|e| crate::contract::Error::io("open a probe ledger", e))
        .and_then(|ledger| JobLock::acquire(dir.path(), "doctor-probe", &ledger).map(|_| ()));
    let lockable = check(
        "store_lockable",
        locked.is_ok(),
        "critical",
        match &locked {
            Ok(()) => "an advisory lock on a ledger file works".to_owned(),
            Err(err) => format!("{err}"),
        },
        "put the store on a local filesystem that supports flock (not a network share without locking)",
    );
    let removed = dir.close();
    let mut out = vec![writable, lockable];
    if let Err(err) = removed {
        out.push(check(
            "store_probe_cleanup",
            false,
            "warning",
            format!("{err}"),
            "remove the .doctor-probe-* directory",
        ));
    }
    out
}

fn store_format(root: &Path) -> Check {
    let jobs = root.join("jobs");
    let (ok, details) = match std::fs::read_dir(&jobs) {
        Ok(read) => (true, format!("{} jobs", read.count())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (true, "no jobs yet".to_owned()),
        Err(e) => (false, format!("{}: {e}", jobs.display())),
    };
    check(
        "store_format",
        ok,
        "critical",
        format!(
            "schema_version {SCHEMA_VERSION}, wrkr {PRODUCER_VERSION}, ledger events.jsonl, lock ledger.lock; {details}"
        ),
        "make DIR/jobs readable by this user; run wrkr fsck for damaged jobs",
    )
}

/// The store root, `jobs/` and each job directory keep other users out (0700). Stores made before
/// that was the rule kept 0755; `wrkr fsck --repair` tightens them. Files are left to fsck, so
/// that this stays a few stat calls per job.
fn store_permissions(root: &Path) -> Check {
    let jobs = root.join("jobs");
    let mut dirs: Vec<std::path::PathBuf> = vec![root.to_path_buf(), jobs.clone()];
    if let Ok(read) = std::fs::read_dir(&jobs) {
        let mut job_dirs: Vec<_> = read.flatten().map(|e| e.path()).collect();
        job_dirs.sort();
        dirs.extend(job_dirs);
    }
    let loose: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            let meta = std::fs::symlink_metadata(d).ok().filter(|m| m.is_dir())?;
            let mode = meta.permissions().mode();
            (mode & modes::OTHERS != 0).then(|| format!("{} {}", d.display(), modes::octal(mode)))
        })
        .collect();
    let details = match loose.as_slice() {
        [] => format!("{}: directories are private (0700)", root.display()),
        [first, ..] => format!("{} directories other users can read, e.g. {first}", loose.len()),
    };
    check(
        "store_permissions",
        loose.is_empty(),
        "warning",
        details,
        "run wrkr fsck --repair (tightens job directories to 0700 and files to 0600), and chmod 700 the store root",
    )
}

fn disk_space(root: &Path) -> Check {
    // The root may not exist yet: its nearest existing ancestor is on the same filesystem.
    let existing = root.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    match rustix::fs::statvfs(existing) {
        Ok(stat) => {
            let free = stat.f_bavail.saturating_mul(stat.f_frsize);
            let severity = if free < DISK_CRITICAL_BYTES { "critical" } else { "warning" };
            check(
                "disk_space",
                free >= DISK_WARNING_BYTES,
                severity,
                format!("{} MiB free on the store's filesystem", free >> 20),
                "free space or move the store (WRKR_HOME); prune old jobs with wrkr store prune",
            )
        }
        Err(err) => check(
            "disk_space",
            false,
            "warning",
            format!("statvfs {}: {err}", existing.display()),
            "check the store path",
        ),
    }
}

fn signing(flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Check {
    let path = flag.map(str::to_owned).or_else(|| env("WRKR_SIGNING_KEY_PATH"));
    let mode = env("WRKR_SIGNING_MODE");
    let Some(path) = path else {
        if mode.as_deref() == Some("ed25519") {
            return check(
                "signing_key",
                false,
                "critical",
                "WRKR_SIGNING_MODE=ed25519 but no key: neither --signing-key nor WRKR_SIGNING_KEY_PATH".into(),
                "wrkr keygen --out KEY, then set WRKR_SIGNING_KEY_PATH=KEY.key (chmod 600)",
            );
        }
        return check(
            "signing_key",
            true,
            "info",
            "signing not asked for: jobpacks carry integrity (hashes), not authenticity".into(),
            "",
        );
    };
    let path = Path::new(&path);
    if let Err(err) = crate::pack::signature::load_signing_key(path) {
        return check(
            "signing_key",
            false,
            "critical",
            format!("{}: {err}", path.display()),
            "point --signing-key or WRKR_SIGNING_KEY_PATH at a private key written by wrkr keygen",
        );
    }
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    check(
        "signing_key",
        mode & 0o077 == 0,
        "critical",
        format!("{} is a valid ed25519 private key, mode {mode:o}", path.display()),
        "chmod 600 the private key: anyone who reads it can sign jobpacks as you",
    )
}

fn retention(env: &dyn Fn(&str) -> Option<String>) -> Check {
    let mut parts = Vec::new();
    let mut ok = true;
    for name in ["WRKR_RETENTION_DAYS", "WRKR_OUTPUT_RETENTION_DAYS"] {
        match env(name) {
            Some(v) if v.trim().parse::<u32>().is_ok_and(|d| d > 0) => parts.push(format!("{name}={}", v.trim())),
            Some(v) => {
                ok = false;
                parts.push(format!("{name}={v:?} is not a positive number of days"));
            }
            None => {
                ok = false;
                parts.push(format!("{name} unset"));
            }
        }
    }
    check(
        "retention_configured",
        ok,
        "warning",
        parts.join(", "),
        "decide a retention (e.g. 30 days), set WRKR_RETENTION_DAYS and WRKR_OUTPUT_RETENTION_DAYS, and run \
         `wrkr store prune --job-max-age 30d --jobpack-max-age 30d --report-max-age 30d` daily",
    )
}

fn unsafe_switches() -> Check {
    let mut set: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.to_string_lossy().into_owned();
            let v = v.to_string_lossy().trim().to_ascii_lowercase();
            let on = !matches!(v.as_str(), "" | "0" | "false" | "no" | "off");
            (k.starts_with("WRKR_") && k.contains("UNSAFE") && on).then(|| format!("{k}={v}"))
        })
        .collect();
    set.sort();
    check(
        "unsafe_env",
        set.is_empty(),
        "critical",
        if set.is_empty() { "no WRKR_*UNSAFE* switch is on".to_owned() } else { set.join(", ") },
        "unset the variables named in the details for production",
    )
}
