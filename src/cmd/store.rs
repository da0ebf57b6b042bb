//! wrkr store prune: retention for the store and for `wrkr-out/` (rules in store::retention).
//!
//! Either store: the jobs side is `retention::DirJobs` on a file store and `PgStore` (see
//! `store::pg::retention`) on PostgreSQL. Removes by default, as Go's `store prune` does, so the cron lines people already run keep
//! freeing space; `--dry-run` reports the same selection without removing anything. What makes
//! that safe is what Go lacked: active jobs (running, paused, blocked, an unexpired lease, an
//! unreadable ledger) are skipped and listed unless `--include-active`, and a job leaves the
//! store in one atomic rename, never half at a time.

//!
//! `migrate` and `version` manage the PostgreSQL store's schema: `migrate` is the only command that
//! changes it (the embedded migrations the store lacks, under an advisory lock); every other command
//! checks the version when it connects and refuses an old store with a hint naming it. `version`
//! reports the store's schema version and the one this wrkr needs. A file store has no schema: both
//! say so and succeed (`"backend": "file"`).

use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::export::DEFAULT_OUT_DIR;
use crate::contract::{Error, Result};
use crate::store::pg::schema;
use crate::store::retention::{self, Selectors};
use crate::store::{Location, PgStore, location};

const fn age_flag(long: &'static str, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value: Some("AGE"),
        help,
        long_help: "Go duration syntax (168h, 90m, 1h30m) or days (7d); greater than zero.",
    }
}
const JOB_MAX_AGE: Flag = age_flag("job-max-age", "Jobs whose newest file is at least AGE old");
const JOBPACK_MAX_AGE: Flag = age_flag("jobpack-max-age", "Jobpacks (OUT/jobpacks/*.zip) at least AGE old");
const REPORT_MAX_AGE: Flag = age_flag("report-max-age", "Reports (OUT/reports/*) at least AGE old");
const INTEGRATION_MAX_AGE: Flag =
    age_flag("integration-max-age", "Integration files (OUT/integrations/, recursively) at least AGE old");
const MAX_JOBPACKS: Flag = Flag {
    long: "max-jobpacks",
    short: None,
    value: Some("N"),
    help: "Keep the N newest jobpacks, select the rest",
    long_help: "",
};
const MAX_REPORTS: Flag = Flag {
    long: "max-reports",
    short: None,
    value: Some("N"),
    help: "Keep the N newest reports, select the rest",
    long_help: "",
};
const DRY_RUN: Flag = Flag {
    long: "dry-run",
    short: None,
    value: None,
    help: "Report what would be removed; remove nothing",
    long_help: "",
};
const INCLUDE_ACTIVE: Flag = Flag {
    long: "include-active",
    short: None,
    value: None,
    help: "Also remove running, paused, blocked and leased jobs, and jobs whose ledger cannot be read",
    long_help: "",
};
const STORE_ROOT: Flag = Flag {
    long: "store-root",
    short: None,
    value: Some("DIR"),
    help: "The store to prune (Go's name for --store)",
    long_help: "",
};

/// Where prune looks for jobpacks and reports (`--jobpacks-older-than` and the like): export's
/// flag name and default, prune's meaning.
const OUT_DIR: Flag = Flag {
    long: "out-dir",
    short: None,
    value: Some("DIR"),
    help: "OUT: where the jobpack and report selectors look [default: ./wrkr-out]",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "store",
    kind: Kind::Command,
    about: "Prune old jobs and reports; migrate a PostgreSQL store",
    usage: "prune SELECTOR... [--dry-run] [--include-active] [--out-dir DIR] | migrate | version",
    long_about: "prune: at least one selector is required. Jobs are selected by the age of their newest file, \
                 jobpacks and reports by age or by count (newest kept; age wins when both match), \
                 integration files by age. Output files under --out-dir are looked at only when their \
                 selector is given. Removes unless --dry-run (as the Go implementation does), but never a \
                 job that is running, paused, blocked, holds an unexpired lease or cannot be read, unless \
                 --include-active: those are listed under `skipped`. A job is moved into <store>/.trash in \
                 one rename, then deleted, so an interrupted prune never leaves half a job (the next prune \
                 empties the trash). On PostgreSQL a job's age is its newest record's, and it is removed \
                 (files, events, row) in one transaction.\n\n\
                 Text: `store prune dry_run=.. checked=.. matched=.. removed=.. freed_bytes=..`, then one \
                 `- kind=.. reason=.. path=.. size=..` per entry and `- skipped path=.. why=..`. With --json: \
                 {generated_at, dry_run, checked, matched, removed, freed_bytes, entries: [{kind, path, \
                 size_bytes, mod_time, reason}], skipped: [{kind, path, why}]}.\n\n\
                 migrate | version: a PostgreSQL store (--store postgres://... or WRKR_STORE) has a versioned \
                 schema. `migrate` applies what is missing, under an advisory lock, so two hosts may run it at \
                 once; every other command refuses a store whose schema is older (E_INVALID_INPUT_SCHEMA, exit 6, \
                 naming this command). `version` prints the store's version and the one this wrkr needs. The PG* \
                 variables of libpq (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT) fill \
                 in what the URL leaves out.",
    flags: &[
        &JOB_MAX_AGE,
        &JOBPACK_MAX_AGE,
        &REPORT_MAX_AGE,
        &INTEGRATION_MAX_AGE,
        &MAX_JOBPACKS,
        &MAX_REPORTS,
        &DRY_RUN,
        &INCLUDE_ACTIVE,
        &OUT_DIR,
        &STORE_ROOT,
    ],
    examples: &[
        Example {
            command: "wrkr store prune --job-max-age 30d --dry-run",
            what: "What a 30-day retention would remove.",
        },
        Example { command: "wrkr store prune --max-jobpacks 100 --report-max-age 168h", what: "Bound wrkr-out/." },
        Example {
            command: "wrkr store migrate --store postgres://wrkr@db.internal/wrkr",
            what: "Create or upgrade the schema; prints the versions before and after.",
        },
        Example { command: "WRKR_STORE=postgres:///wrkr wrkr store version", what: "Check without changing anything." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    match words.as_slice() {
        [verb] if verb == "prune" => prune(&args, io),
        [verb] if verb == "migrate" || verb == "version" => schema_verb(&args, io, verb),
        [verb, ..] if !["prune", "migrate", "version"].contains(&verb.as_str()) => {
            Err(crate::cli::suggest::unknown_verb("store", verb, &["prune", "migrate", "version"]))
        }
        _ => Err(Error::invalid_input(format!("usage: wrkr store {}", COMMAND.usage))
            .with_hint("wrkr store prune --job-max-age 30d --dry-run; wrkr store migrate --store URL")),
    }
}

fn prune(args: &Args, io: &mut Io) -> Result<()> {
    let age = |flag: &Flag| -> Result<_> {
        args.value(flag.long)
            .map(|v| {
                retention::parse_duration(v)
                    .map_err(|why| Error::invalid_input(format!("--{}: {why}", flag.long)).with("flag", flag.long))
            })
            .transpose()
    };
    let count = |flag: &Flag| -> Result<_> {
        args.value(flag.long)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    Error::invalid_input(format!("--{}: {v:?} is not a count (0 or more)", flag.long))
                        .with("flag", flag.long)
                })
            })
            .transpose()
    };
    let select = Selectors {
        job_max_age: age(&JOB_MAX_AGE)?,
        jobpack_max_age: age(&JOBPACK_MAX_AGE)?,
        report_max_age: age(&REPORT_MAX_AGE)?,
        integration_max_age: age(&INTEGRATION_MAX_AGE)?,
        max_jobpacks: count(&MAX_JOBPACKS)?,
        max_reports: count(&MAX_REPORTS)?,
    };
    if !select.any() {
        return Err(Error::invalid_input("store prune needs at least one selector").with_hint(
            "--job-max-age, --jobpack-max-age, --report-max-age, --integration-max-age, --max-jobpacks or --max-reports",
        ));
    }
    let location = match args.value(STORE_ROOT.long) {
        Some(dir) => Location::Dir(PathBuf::from(dir)),
        None => location::locate(args.store.as_deref())?,
    };
    let out_dir = PathBuf::from(args.value(OUT_DIR.long).unwrap_or(DEFAULT_OUT_DIR));
    let dry_run = args.switch(DRY_RUN.long);
    let include_active = args.switch(INCLUDE_ACTIVE.long);
    let now = SystemTime::now();
    let report = match location {
        Location::Dir(root) => {
            let store = crate::store::FsStore::new(root);
            retention::prune(&retention::DirJobs { store: &store }, &out_dir, &select, include_active, dry_run, now)?
        }
        Location::Postgres(url) => {
            retention::prune(&PgStore::open(&url)?, &out_dir, &select, include_active, dry_run, now)?
        }
    };
    if io.json {
        return io.pretty(&report);
    }
    io.line(&format!(
        "store prune dry_run={} checked={} matched={} removed={} freed_bytes={}",
        report.dry_run, report.checked, report.matched, report.removed, report.freed_bytes
    ))?;
    for e in &report.entries {
        io.line(&format!("- kind={} reason={} path={} size={}", e.kind, e.reason, e.path, e.size_bytes))?;
    }
    for s in &report.skipped {
        io.line(&format!("- skipped kind={} path={} why={}", s.kind, s.path, s.why))?;
    }
    Ok(())
}

/// `migrate` or `version`: the PostgreSQL schema (a file store has none and says so).
fn schema_verb(args: &Args, io: &mut Io, verb: &str) -> Result<()> {
    let report = match location::locate(args.store.as_deref())? {
        Location::Dir(dir) => json!({"backend": "file", "store": dir.display().to_string()}),
        Location::Postgres(url) => {
            let store = PgStore::open_unchecked(&url)?;
            let mut client = store.client()?;
            let mut report = if verb == "migrate" {
                schema::migrate(&mut client, store.name())?
            } else {
                let have = schema::version(&mut client)?;
                json!({"store": store.name(), "schema_version": have, "required_version": schema::latest()})
            };
            if let Value::Object(map) = &mut report {
                map.insert("backend".into(), json!("postgres"));
            }
            report
        }
    };
    if io.json {
        return io.pretty(&report);
    }
    let text = match (&report["backend"], verb) {
        (Value::String(b), _) if b == "file" => format!("file store {}: no schema to migrate", report["store"]),
        (_, "migrate") => {
            format!("store schema version {} -> {}", report["from_version"], report["to_version"])
        }
        _ => format!(
            "store schema version {} (this wrkr needs {})",
            report["schema_version"], report["required_version"]
        ),
    };
    io.line(&text)
}
