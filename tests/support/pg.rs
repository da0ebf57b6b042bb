//! A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` into a temp dir, listening only
//! on a unix socket in that dir, one cluster per test binary (started on first use), one fresh
//! database per test.
//!
//! Postgres refuses to run as root, so under root the cluster runs as `nobody` (the temp dir is
//! handed to it). The cluster is stopped by a watchdog shell that waits for the test process to
//! exit, then shuts the server down (SIGQUIT: immediate) and removes the dir: the Rust test harness
//! never runs destructors of statics, and a killed test run must not leave a server behind.
//!
//! Binaries: `$WRKR_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`. When the
//! server cannot be started the test is skipped with the reason printed, except under `CI=true`,
//! where it fails: CI must run these tests.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Cluster {
    /// Holds `data/` and the socket.
    pub dir: PathBuf,
    pub bin: PathBuf,
    /// The OS user the server runs as (`nobody` when we are root).
    user: Option<(u32, u32)>,
    /// The server's port: it names the socket too (`.s.PGSQL.<port>`).
    pub port: u16,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The cluster of this test binary, or `None` (after printing why) when it cannot run here.
pub fn cluster() -> Option<&'static Cluster> {
    or_skip(CLUSTER.get_or_init(start).as_ref())
}

/// A started server, or `None` after printing why it could not start; under `CI=true` a server
/// that cannot start fails the test instead of skipping it.
fn or_skip<T, E: std::fmt::Display>(started: Result<T, E>) -> Option<T> {
    match started {
        Ok(cluster) => Some(cluster),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and the PostgreSQL test server cannot start: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED (PostgreSQL): {why}");
            None
        }
    }
}

impl Cluster {
    /// A new empty database; returns its store URL.
    pub fn database(&self) -> String {
        let name = format!("t{}", DATABASES.fetch_add(1, Ordering::SeqCst));
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-p", &self.port.to_string(), "-h"])
            .arg(&self.dir)
            .args(["-U", "wrkr", "-d", "postgres", "-c", &format!("CREATE DATABASE {name}")])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "create database: {}", String::from_utf8_lossy(&out.stderr));
        self.url(&name)
    }

    /// `pg_ctl restart -m fast` (same options): every connection is cut, the server comes back.
    /// Only for a test binary of its own: the cluster is shared by the tests of one binary.
    pub fn restart(&self) {
        let mut cmd = Command::new(self.bin.join("pg_ctl"));
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        cmd.current_dir(&self.dir).args(["-w", "-s", "-t", "60", "-m", "fast", "-D"]).arg(self.dir.join("data"));
        cmd.arg("-l").arg(self.dir.join("log")).arg("restart");
        run(&mut cmd).expect("pg_ctl restart");
    }

    pub fn url(&self, database: &str) -> String {
        let port = if self.port == 5432 { String::new() } else { format!("&port={}", self.port) };
        format!("postgres:///{database}?user=wrkr&host={}{port}", self.dir.display())
    }

    /// Run SQL in `database` with psql; returns stdout (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-p", &self.port.to_string(), "-h"])
            .arg(&self.dir)
            .args(["-U", "wrkr", "-d", database, "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

/// The database name in a URL made by [`Cluster::url`].
pub fn database_of(url: &str) -> &str {
    url.trim_start_matches("postgres:///").split('?').next().unwrap()
}

fn pg_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("WRKR_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let found = Command::new("initdb").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Ok(PathBuf::new());
    }
    Err("no initdb (install Debian's postgresql, or set WRKR_PG_BIN)".into())
}

/// `(uid, gid)` to run the server as: ours, or `nobody`'s when we are root.
fn server_user() -> Result<Option<(u32, u32)>, String> {
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("read /etc/passwd: {e}"))?;
    let nobody = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "nobody")
        .ok_or("running as root and there is no user nobody to run postgres as")?;
    let uid = nobody[2].parse().map_err(|_| "bad uid of nobody")?;
    let gid = nobody[3].parse().map_err(|_| "bad gid of nobody")?;
    Ok(Some((uid, gid)))
}

/// What a cluster of its own differs in from the shared one (see [`own_cluster`]).
#[derive(Default)]
pub struct Setup {
    /// Written into the data directory (owned by the server's user, mode 0600) before it starts:
    /// certificates and keys, read with relative names (`-c ssl_cert_file=server.crt`).
    pub files: Vec<(String, Vec<u8>)>,
    /// Replaces `pg_hba.conf` when set.
    pub hba: Option<String>,
    /// More `-c name=value` server options (`-c ssl=on -c listen_addresses=127.0.0.1`).
    pub options: String,
    /// The port (TCP, and the socket's name) when not 5432: a cluster listening on TCP needs a
    /// free one ([`free_port`]).
    pub port: Option<u16>,
}

/// A cluster of this test's own with server settings the shared one must not have (TLS, TCP),
/// stopped when the test process exits; `None` as [`cluster`] (skipped, or failed under CI).
pub fn own_cluster(setup: &Setup) -> Option<Cluster> {
    or_skip(start_with(setup))
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn start() -> Result<Cluster, String> {
    start_with(&Setup::default())
}

fn start_with(setup: &Setup) -> Result<Cluster, String> {
    let bin = pg_bin()?;
    let user = server_user()?;
    let dir = tempfile::Builder::new().prefix("wrkr-pg-").tempdir().map_err(|e| e.to_string())?.keep();
    let started = start_in(&dir, bin, user, setup);
    if started.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    started
}

fn start_in(dir: &Path, bin: PathBuf, user: Option<(u32, u32)>, setup: &Setup) -> Result<Cluster, String> {
    let dir = dir.to_path_buf();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let as_server = |program: &str| {
        let mut cmd = Command::new(bin.join(program));
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid).env("HOME", &dir);
        }
        cmd.current_dir(&dir);
        cmd
    };
    run(as_server("initdb")
        .args(["-A", "trust", "-U", "wrkr", "-E", "UTF8", "--no-sync", "--no-instructions", "-D"])
        .arg(&data))?;
    let port = setup.port.unwrap_or(5432);
    let mut files = setup.files.clone();
    files.extend(setup.hba.iter().map(|hba| ("pg_hba.conf".to_owned(), hba.clone().into_bytes())));
    for (name, bytes) in &files {
        use std::os::unix::fs::PermissionsExt;
        let path = data.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("write {}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", path.display()))?;
        }
    }
    // Fast, not durable: no test here is about the server surviving a power cut. A later
    // `-c listen_addresses` (the setup's) wins over the first.
    let options = format!(
        "-k {} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=200 -c port={port} {}",
        dir.display(),
        setup.options
    );
    run(as_server("pg_ctl")
        .args(["-w", "-s", "-t", "60", "-D"])
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("log"))
        .arg("start"))
    .map_err(|e| format!("{e}\n{}", std::fs::read_to_string(dir.join("log")).unwrap_or_default()))?;
    watchdog(&dir, &data);
    Ok(Cluster { dir, bin, user, port })
}

/// Stop the server and remove its dir once this test process has exited.
fn watchdog(dir: &Path, data: &Path) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         kill -QUIT $(head -1 '{pidfile}') 2>/dev/null; sleep 1; rm -rf '{dir}'",
        pid = std::process::id(),
        pidfile = data.join("postmaster.pid").display(),
        dir = dir.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{:?} failed: {}{}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
