"""Every console example in README.md and docs/ runs against the binary and prints what the page
says (scripts/doc_examples.py), so a doc that drifts from wrkr fails `make test`."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_console_examples_run_as_written():
    binary = os.environ.get("WRKR_BIN") or str(ROOT / "target" / "debug" / "wrkr")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "doc_examples.py"), "--bin", binary, *map(str, pages)],
        capture_output=True, text=True, timeout=900,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stderr + "\n" + summary
    assert " 0 failed" in summary and "blocks run" in summary
