"""scripts/cargo_tool.sh against fake tools in a temporary CARGO_HOME: a pinned tool already
installed (as `cargo install --list` records it) is run, not reinstalled, however it answers
--version (cargo-auditable prints cargo's version); a missing or other version is installed with
the pin."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "scripts" / "cargo_tool.sh"

# cargo-cyclonedx 0.5.9 as it behaves: `--version` alone is an error, after `cyclonedx` it answers.
CYCLONEDX = """#!/bin/sh
if [ "$1" = cyclonedx ] && [ "$2" = --version ]; then echo "cargo-cyclonedx-cyclonedx 0.5.9"; exit 0; fi
if [ "$1" = cyclonedx ]; then echo "ran cyclonedx $2"; exit 0; fi
echo "error: unexpected argument '$1' found" >&2; exit 2
"""
# cargo-deny 0.20.2: `--version` answers without the subcommand name.
DENY = """#!/bin/sh
if [ "$1" = --version ]; then echo "cargo-deny 0.20.2"; exit 0; fi
echo "ran $*"
"""
# cargo-auditable 0.7.7: `--version` goes through to cargo, so it names cargo's version.
AUDITABLE = """#!/bin/sh
echo "cargo 1.95.0 (f2d3ce0bd 2026-03-21)"
"""
# `cargo install --list` prints the records in installed.txt; `cargo install` only logs the ask.
CARGO = """#!/bin/sh
if [ "$1 $2" = "install --list" ]; then cat "$CARGO_HOME/installed.txt" 2>/dev/null; exit 0; fi
echo "$*" >> "$CARGO_HOME/installs.log"
"""


def _home(tmp_path, tools, installed=None):
    """Fake tools in bin/, and the versions `cargo install --list` says they were installed at."""
    bindir = tmp_path / "cargo" / "bin"
    bindir.mkdir(parents=True)
    for name, text in {**tools, "cargo": CARGO}.items():
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    records = "".join(f"{crate} v{version}:\n    {crate}\n" for crate, version in (installed or {}).items())
    (tmp_path / "cargo" / "installed.txt").write_text(records)
    env = dict(os.environ, CARGO_HOME=str(tmp_path / "cargo"), PATH=f"{bindir}:{os.environ['PATH']}")
    return env, tmp_path / "cargo" / "installs.log"


def test_installed_tools_are_run_not_reinstalled(tmp_path):
    tools = {"cargo-cyclonedx": CYCLONEDX, "cargo-deny": DENY, "cargo-auditable": AUDITABLE}
    pins = {"cargo-cyclonedx": "0.5.9", "cargo-deny": "0.20.2", "cargo-auditable": "0.7.7"}
    env, log = _home(tmp_path, tools, pins)
    out = subprocess.run([str(TOOL), "cyclonedx", "--format", "json"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "ran cyclonedx --format\n"
    # Was: cargo-auditable's --version named cargo's, so every run reinstalled it.
    listed = subprocess.run(
        [str(TOOL), "install", "deny", "cyclonedx", "auditable"], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "cargo-deny 0.20.2\ncargo-cyclonedx 0.5.9\ncargo-auditable 0.7.7\n"
    assert not log.exists(), log.read_text()


def test_another_version_is_replaced_by_the_pin(tmp_path):
    env, log = _home(tmp_path, {"cargo-deny": DENY}, {"cargo-deny": "0.19.0"})
    subprocess.run([str(TOOL), "install", "deny"], env=env, capture_output=True, text=True)
    assert log.read_text() == "install --locked --force --quiet cargo-deny --version 0.20.2\n"


def test_a_missing_tool_is_installed_at_its_pin(tmp_path):
    env, log = _home(tmp_path, {})
    subprocess.run([str(TOOL), "install", "auditable"], env=env, capture_output=True, text=True)
    assert log.read_text() == "install --locked --force --quiet cargo-auditable --version 0.7.7\n"


def test_an_unknown_tool_is_refused(tmp_path):
    env, _ = _home(tmp_path, {})
    out = subprocess.run([str(TOOL), "cargo-bogus"], env=env, capture_output=True, text=True)
    assert out.returncode == 2
    assert "unknown tool cargo-bogus" in out.stderr
