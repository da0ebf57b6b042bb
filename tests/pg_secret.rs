//! The store's password stays out of a step's environment. Was: a step on a PostgreSQL store got
//! the store URL, password included, in `WRKR_STORE` (any step that logged its environment wrote
//! the password into its log, and so into the store's log tails). Now the step gets the URL
//! without its password and `PGPASSFILE`, a 0600 file in the job's local directory that
//! `wrkr checkpoint emit` reads as libpq does.
//!
//! This binary's cluster asks role `stepper` for its password (scram-sha-256; everything else
//! keeps trust), so a step's `wrkr` that did not get the password could not reach the store.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{Sandbox, pg};

const PASSWORD: &str = "pw-Zq81:x";

/// The job both backends run.
fn spec() -> String {
    let steps = "    - {id: look, summary: show the environment, command: \"env | sort > env.txt; env; wrkr checkpoint emit $WRKR_JOB_ID --type progress --summary from-step\"}\n";
    support::jobspec(steps, "", "os")
}

/// A database owned by `role`, whom the server asks for a password; the store URL with it, and
/// without it. (The tests of this binary share `pg_hba.conf`: one edits it at a time.)
fn password_store(cluster: &pg::Cluster, role: &str) -> (String, String, String) {
    static HBA: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = HBA.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let database = pg::database_of(&cluster.database()).to_owned();
    cluster.psql(
        &database,
        &format!("CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'; ALTER DATABASE {database} OWNER TO {role}"),
    );
    let hba = cluster.dir.join("data/pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("local all {role} scram-sha-256\n{rules}")).unwrap();
    cluster.psql(&database, "SELECT pg_reload_conf()");
    let host = cluster.dir.display();
    let url = format!("postgres://{role}:pw-Zq81%3Ax@/{database}?host={host}");
    (url, format!("postgres://{role}@/{database}?host={host}"), database)
}

/// Every file under `dir` but the password file, as text.
fn everything_under(dir: &std::path::Path) -> String {
    support::tree(dir)
        .into_iter()
        .filter(|(path, _)| !path.ends_with("store.pgpass"))
        .map(|(path, bytes)| format!("{}\n{}\n", path.display(), String::from_utf8_lossy(&bytes)))
        .collect()
}

#[test]
fn steps_reach_the_store_without_seeing_its_password() {
    let Some(cluster) = pg::cluster() else { return };
    let (url, bare, database) = password_store(cluster, "stepper");
    let mut sb = Sandbox::new();
    sb.store = Some(bare.clone());
    let refused = sb.wrkr().args(["store", "migrate"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "the server asks for the password");
    sb.store = Some(url.clone());
    sb.wrkr().args(["store", "migrate"]).assert().success();

    let path = format!("{}:{}", support::bin().parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    std::fs::write(sb.work().join("spec.yaml"), spec()).unwrap();
    let out = sb.wrkr().env("PATH", &path).args(["submit", "spec.yaml", "--job-id", "j1", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));

    let env = std::fs::read_to_string(sb.work().join("env.txt")).unwrap();
    assert!(!env.contains("Zq81"), "the password is in the step's environment:\n{env}");
    assert!(env.lines().any(|l| l == format!("WRKR_STORE={bare}")), "{env}");
    let passfile = env.lines().find_map(|l| l.strip_prefix("PGPASSFILE=")).expect("PGPASSFILE is set").to_owned();
    assert!(passfile.starts_with(&sb.home().display().to_string()), "in the job's local directory: {passfile}");
    assert_eq!(std::fs::metadata(&passfile).unwrap().permissions().mode() & 0o777, 0o600);

    let ledger = sb.program("wrkr-events").arg("j1").output().unwrap();
    let ledger = String::from_utf8(ledger.stdout).unwrap();
    assert!(ledger.contains("from-step"), "the step's checkpoint emit reached the store:\n{ledger}");
    let logs = sb.wrkr().args(["logs", "j1"]).output().unwrap();
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(logs.contains("WRKR_STORE=postgres://stepper@/"), "{logs}");
    let stored = store_text(&database);
    for (what, text) in [("ledger", ledger.as_str()), ("logs", &logs), ("store", &stored)] {
        assert!(!text.contains("Zq81"), "the password is in the {what}");
    }
    let local = everything_under(sb.home());
    assert!(local.contains("WRKR_STORE=postgres://stepper@/"), "the step's log is there");
    assert!(!local.contains("Zq81"), "the password is in a local file:\n{local}");

    // wrap: the same, with the password file in its private log directory.
    let out = sb
        .wrkr()
        .env("PATH", &path)
        .args(["wrap", "--job-id", "w1", "--", "sh", "-c"])
        .arg("env; wrkr checkpoint emit $WRKR_JOB_ID --type progress --summary from-wrap")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("PGPASSFILE=") && !shown.contains("Zq81"), "{shown}");
    let ledger = sb.program("wrkr-events").arg("w1").output().unwrap();
    assert!(String::from_utf8_lossy(&ledger.stdout).contains("from-wrap"));
    assert!(!store_text(&database).contains("Zq81"));
}

/// Every row of the store as text (lines and job files decoded).
fn store_text(database: &str) -> String {
    let sql = "SELECT convert_from(line, 'UTF8') FROM wrkr_events UNION ALL \
               SELECT encode(bytes, 'escape') FROM wrkr_job_files";
    pg::cluster().unwrap().psql(database, sql)
}

/// A worker given the password in `PGPASSWORD` (its URL has none): its steps do not inherit the
/// variable, and reach the store through `PGPASSFILE` instead. Was: `PGPASSWORD` went on to every
/// step, and into any log of its environment.
#[test]
fn a_workers_pgpassword_stays_out_of_its_steps() {
    let Some(cluster) = pg::cluster() else { return };
    let (_, bare, database) = password_store(cluster, "pgpassworder");
    let mut sb = Sandbox::new();
    sb.store = Some(bare.clone());
    let wrkr = |args: &[&str]| sb.wrkr().env("PGPASSWORD", "pw-Zq81:x").args(args).output().unwrap();
    let out = wrkr(&["store", "migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(sb.work().join("spec.yaml"), spec()).unwrap();
    let out = wrkr(&["submit", "spec.yaml", "--job-id", "q1", "--queue"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = format!("{}:{}", support::bin().parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let out = sb.wrkr().env("PGPASSWORD", "pw-Zq81:x").env("PATH", &path).args(["worker", "--once"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let env = std::fs::read_to_string(sb.work().join("env.txt")).unwrap();
    assert!(!env.contains("Zq81") && !env.contains("PGPASSWORD"), "the step inherited PGPASSWORD:\n{env}");
    assert!(env.lines().any(|l| l.starts_with("PGPASSFILE=")), "{env}");
    let ledger = sb.program("wrkr-events").env("PGPASSWORD", "pw-Zq81:x").arg("q1").output().unwrap();
    assert!(String::from_utf8_lossy(&ledger.stdout).contains("from-step"), "the step's emit reached the store");
    assert!(!store_text(&database).contains("Zq81"), "the password is in the store");
}
