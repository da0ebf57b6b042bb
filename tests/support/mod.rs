//! Shared helpers for integration tests: every test drives the real binary.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// The built multicall binary, or `$WRKR_TEST_BIN` (to show that a regression test fails on an
/// older binary).
pub fn bin() -> PathBuf {
    std::env::var_os("WRKR_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wrkr")), PathBuf::from)
}

/// A sandbox: a temp `WRKR_HOME` and a temp working directory, so no test touches the real store.
pub struct Sandbox {
    pub home: TempDir,
    pub work: TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { home: TempDir::new().unwrap(), work: TempDir::new().unwrap() }
    }

    /// `wrkr ARGS...` under this sandbox.
    pub fn wrkr(&self) -> assert_cmd::Command {
        self.program("wrkr")
    }

    /// The binary invoked under another program name (`wrkr-jcs`), as a link would.
    pub fn program(&self, argv0: &str) -> assert_cmd::Command {
        let mut cmd = std::process::Command::new(bin());
        cmd.arg0(argv0)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("WRKR_HOME", self.home.path())
            .env("HOME", self.home.path())
            .env("USER", "tester")
            .current_dir(self.work.path());
        assert_cmd::Command::from_std(cmd)
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn work(&self) -> &Path {
        self.work.path()
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

pub mod http;
pub mod journey;
