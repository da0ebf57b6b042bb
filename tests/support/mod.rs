//! Shared helpers for integration tests: every test drives the real binary.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// `env_clear()` for a child that runs the binary, keeping what must reach every child: under
/// `make coverage` the instrumented binary writes its profile where `LLVM_PROFILE_FILE` says
/// (made absolute, as children run in the sandbox); without it each child would write
/// `default_*.profraw` into its working directory, a sandbox that tests compare byte for byte,
/// and its coverage would be lost.
pub trait EnvClearButCoverage {
    fn env_clear_but_coverage(&mut self) -> &mut Self;
}

impl EnvClearButCoverage for std::process::Command {
    fn env_clear_but_coverage(&mut self) -> &mut Self {
        self.env_clear();
        if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
            self.env("LLVM_PROFILE_FILE", std::path::absolute(&profile).unwrap_or(profile.into()));
        }
        self
    }
}

/// The built multicall binary, or `$WRKR_TEST_BIN` (to show that a regression test fails on an
/// older binary).
pub fn bin() -> PathBuf {
    std::env::var_os("WRKR_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wrkr")), PathBuf::from)
}

/// A sandbox: a temp `WRKR_HOME` and a temp working directory, so no test touches the real store;
/// with [`Sandbox::postgres`], the store is a fresh database of the test cluster instead.
pub struct Sandbox {
    pub home: TempDir,
    pub work: TempDir,
    /// The PostgreSQL store URL (`WRKR_STORE`), or `None` for the file store under `home`.
    pub store: Option<String>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { home: TempDir::new().unwrap(), work: TempDir::new().unwrap(), store: None }
    }

    /// A sandbox on a new, migrated database of this test binary's PostgreSQL cluster; `None`
    /// (reason printed) when no server can run here.
    pub fn postgres() -> Option<Sandbox> {
        let sandbox = Sandbox::postgres_unmigrated()?;
        sandbox.wrkr().args(["store", "migrate"]).assert().success();
        Some(sandbox)
    }

    /// A sandbox on a new, empty database (no schema yet).
    pub fn postgres_unmigrated() -> Option<Sandbox> {
        let url = pg::cluster()?.database();
        let mut sandbox = Sandbox::new();
        sandbox.store = Some(url);
        Some(sandbox)
    }

    /// Everything the store holds, to assert that a failed command changed nothing.
    pub fn store_contents(&self) -> Vec<u8> {
        match &self.store {
            None => format!("{:?}", tree(self.home())).into_bytes(),
            Some(url) => {
                let sql = "SELECT 'j', job_id, status, last_seq, lease_epoch, coalesce(encode(snapshot, 'hex'), '') FROM wrkr_jobs \
                           UNION ALL SELECT 'e', job_id, seq::text, 0, 0, encode(line, 'hex') FROM wrkr_events \
                           UNION ALL SELECT 'f', job_id, name, 0, 0, encode(bytes, 'hex') FROM wrkr_job_files ORDER BY 1, 2, 3";
                pg::cluster().unwrap().psql(pg::database_of(url), sql).into_bytes()
            }
        }
    }

    /// A `std::process::Command` for `argv0` under this sandbox's store (for spawning).
    pub fn command(&self, argv0: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin());
        cmd.arg0(argv0)
            .env_clear_but_coverage()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("WRKR_HOME", self.home.path())
            .env("HOME", self.home.path())
            .env("USER", "tester")
            .current_dir(self.work.path());
        if let Some(url) = &self.store {
            cmd.env("WRKR_STORE", url);
        }
        cmd
    }

    /// `wrkr ARGS...` under this sandbox.
    pub fn wrkr(&self) -> assert_cmd::Command {
        self.program("wrkr")
    }

    /// The binary invoked under another program name (`wrkr-jcs`), as a link would.
    pub fn program(&self, argv0: &str) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command(argv0))
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn work(&self) -> &Path {
        self.work.path()
    }

    /// Create job `job` (seq 1, `job_initialized`) with `wrkr-events --append --create`.
    pub fn create_job(&self, job: &str) {
        self.program("wrkr-events").args(["--append", "--create", job]).write_stdin("").assert().success();
    }

    /// The ledger of `job` as `wrkr-events JOB` prints it, checked to be contiguous from seq 1.
    pub fn ledger(&self, job: &str) -> Vec<serde_json::Value> {
        let out = self.program("wrkr-events").arg(job).output().unwrap();
        assert!(out.status.success(), "wrkr-events failed: {}", String::from_utf8_lossy(&out.stderr));
        let records = json_lines(&out.stdout);
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record["seq"], i as u64 + 1, "seqs are contiguous");
        }
        records
    }
}

/// The repository root (for fixtures).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// Parse stderr of a `--json` failure as an error envelope.
pub fn envelope(stderr: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stderr)
        .unwrap_or_else(|e| panic!("stderr is not one JSON envelope ({e}): {}", String::from_utf8_lossy(stderr)))
}

/// A JobSpec for the reference adapter with `steps` (YAML list items, as [`step`] writes them),
/// `budgets` appended inside the budgets map (`, max_tokens: 5` or empty) and the fingerprint
/// `rules` (`os`, or empty for none).
pub fn jobspec(steps: &str, budgets: &str, rules: &str) -> String {
    format!(
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: test\nname: t\nobjective: test job\n\
         adapter: {{name: reference}}\ninputs:\n  workspace: .\n  steps:\n{steps}\n\
         budgets: {{max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50{budgets}}}\n\
         checkpoint_policy: {{min_interval_seconds: 1}}\nenvironment_fingerprint: {{rules: [{rules}]}}\n"
    )
}

/// A JobSpec of `steps` steps for the worker suites, each `sleep SECONDS` then appending
/// `JOB:STEP` to `../runs.txt`: a side effect outside the workspace `ws/` (which the caller
/// creates), so a step that runs twice shows.
pub fn side_effect_spec(steps: usize, sleep: &str) -> String {
    let steps: String = (0..steps)
        .map(|i| {
            format!(
                "    - {{id: s{i}, summary: s{i}, command: \"sleep {sleep}; echo $WRKR_JOB_ID:s{i} >> ../runs.txt\"}}\n"
            )
        })
        .collect();
    jobspec(&steps, "", "os").replace("  workspace: .\n", "  workspace: ws\n")
}

/// A JobSpec for the lost-acknowledgement tests, in workspace `ws/` (the caller creates it): s0
/// reports while it runs (a poll of the step watch appends it); s1 reports as it ends (appended
/// after its end: `flush_held_back`). Both print, so each has a log tail to write as evidence,
/// and both append `JOB:STEP` to `../runs.txt`.
pub fn reporting_spec() -> String {
    let steps = [
        step(
            "s0",
            r#"echo out-s0; echo '{"type":"progress","note":"s0"}' >&"$WRKR_EVENTS_FD"; sleep 0.3; echo $WRKR_JOB_ID:s0 >> ../runs.txt"#,
        ),
        step(
            "s1",
            r#"echo out-s1; echo $WRKR_JOB_ID:s1 >> ../runs.txt; echo '{"type":"tool_call","name":"t"}' >&"$WRKR_EVENTS_FD""#,
        ),
    ];
    jobspec(&steps.concat(), "", "os").replace("  workspace: .\n", "  workspace: ws\n")
}

/// One JobSpec step (a YAML list item under `steps:`) running `command` with `sh -c`.
pub fn step(id: &str, command: &str) -> String {
    format!("    - {{id: {id}, summary: step {id}, command: {command:?}}}\n")
}

/// Stdout of a command as one JSON value (whether or not it succeeded); a panic shows both streams.
pub fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Each non-empty line of `bytes` as JSON (acknowledgements, ledger records).
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
}

/// A snapshot of every file under `dir` (path → bytes), to assert that a failed command changed nothing.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), Vec::new());
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

/// Runs its arguments under a new pseudo-terminal and prints everything the terminal received.
const PTY_RUN: &str = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// `wrkr ARGS` on a real terminal (stdout and stderr both the pty), with `env` set.
pub fn on_a_terminal(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let bin = bin();
    let mut argv = vec![bin.to_str().unwrap()];
    argv.extend_from_slice(args);
    program_on_a_terminal(sb, &argv, env)
}

/// `PROGRAM ARGS` (`argv`) on a real terminal, in the sandbox's environment with wrkr's directory
/// first on PATH: `sh -c 'wrkr ... > out'` runs wrkr with only stderr on the terminal.
pub fn program_on_a_terminal(sb: &Sandbox, program: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = sb.wrkr();
    let bin = bin();
    // Steps may call wrkr: the binary's directory first on PATH.
    let dir = bin.parent().map(|d| d.display().to_string()).unwrap_or_default();
    cmd.env("PATH", format!("{dir}:{}", std::env::var("PATH").unwrap_or_default()));
    let mut argv = vec!["-c", PTY_RUN];
    argv.extend_from_slice(program);
    let mut python = std::process::Command::new("python3");
    python.args(&argv).current_dir(sb.work());
    // The sandbox's environment (WRKR_HOME, PATH, ...), plus what the test asks for.
    for (key, value) in cmd.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))).collect::<Vec<_>>() {
        python.env(key, value);
    }
    cmd.env_clear();
    for (key, value) in env {
        python.env(key, value);
    }
    let out = python.output().expect("python3 runs the pty helper");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `on_both_backends!(a, b)`: tests `file::a` and `postgres::a` (skipped with a reason when no
/// PostgreSQL server can start, failing under `CI=true`), each calling `a(&Sandbox)`. Needs
/// `#[macro_use] mod support;` and `use support::Sandbox;` in the test file.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $name() { super::$name(&super::Sandbox::new()) } )*
        }
        mod postgres {
            $( #[test] fn $name() { if let Some(sandbox) = super::Sandbox::postgres() { super::$name(&sandbox) } } )*
        }
    };
}

pub mod http;
pub mod journey;
pub mod pg;

/// The watchdog of the runner `runner_pid` (`run::watchdog`): its child that runs the wrkr binary.
#[allow(dead_code)] // not every test crate that includes `support` looks for it
pub fn watchdog_of(runner_pid: u32) -> Option<i32> {
    let children = std::fs::read_to_string(format!("/proc/{runner_pid}/task/{runner_pid}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .find(|pid: &i32| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == bin()))
}
