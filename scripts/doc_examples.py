#!/usr/bin/env python3
"""Runs the console examples of the documentation against the binary, so a doc that drifts from
wrkr fails the tests (the idea of trycmd's markdown mode and jq's manual tests).

A block fenced as ```console is an example: lines starting with `$ ` are commands (a trailing `\\`
continues one), the lines after a command up to the next `$ ` are its expected output (stdout and
stderr together, in order of arrival not guaranteed, so the examples keep them apart). In expected
output `[..]` matches any text within a line and a line `...` matches any number of lines. A
command whose exit code is not 0 must say so with `# exit N` at the end of its `$ ` line (the
comment is not run). A here-document (`$ cat > f <<'EOF'`) runs on to its end marker.

Each markdown file is one session: its blocks run in order in one fresh temp directory with a fresh
`WRKR_HOME`, `wrkr` and every `wrkr-<tool>` link on `PATH`, the Python SDK of this checkout on
`PYTHONPATH`, `WRKR_SRC` naming this checkout (for pages that copy its examples), and `NO_COLOR=1`. A block fenced as
```console skip is shown, not run, and counted as skipped (say why in the text next to it);
```console requires=node runs only where `node` is on PATH and is counted as skipped elsewhere.

    doc_examples.py FILE...            run, print one line per file, exit 1 on any mismatch
    doc_examples.py --list FILE...     count the runnable and skipped blocks
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*(\S*)\s*(.*)$")
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
REPO = pathlib.Path(__file__).resolve().parents[1]
HEREDOC = re.compile(r"<<-?\s*'?\"?([A-Za-z_]+)'?\"?")


@dataclass
class Command:
    line: int
    text: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0


@dataclass
class Block:
    line: int
    skip: bool
    commands: list[Command]


def parse(path: pathlib.Path) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, lang, info = match.group(2), match.group(3), match.group(4)
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append((j + 1, lines[j]))
            j += 1
        if lang == "console":
            words = info.split()
            needs = [w.split("=", 1)[1] for w in words if w.startswith("requires=")]
            skip = "skip" in words or any(shutil.which(tool) is None for tool in needs)
            blocks.append(Block(line=i + 1, skip=skip, commands=_commands(body)))
        i = j + 1
    return blocks


def _commands(body: list[tuple[int, str]]) -> list[Command]:
    commands: list[Command] = []
    pending: Command | None = None
    heredoc: str | None = None
    for number, text in body:
        if pending is not None and heredoc is not None:
            pending.text += "\n" + text
            if text.strip() == heredoc:
                heredoc = None
            continue
        if pending is not None and pending.text.endswith("\\"):
            pending.text += "\n" + text  # bash reads the backslash-newline as a continuation
            continue
        if text.startswith("$ "):
            pending = Command(line=number, text=text[2:])
            exit_match = EXIT.search(pending.text)
            if exit_match:
                pending.exit_code = int(exit_match.group(1))
                pending.text = pending.text[: exit_match.start()]
            commands.append(pending)
            marker = HEREDOC.search(text)
            heredoc = marker.group(1) if marker else None
        elif pending is not None:
            pending.expected.append(text)
    for command in commands:
        while command.expected and not command.expected[-1].strip():
            command.expected.pop()
    return commands


def _line_matches(pattern: str, actual: str) -> bool:
    parts = pattern.split("[..]")
    regex = ".*".join(re.escape(p) for p in parts)
    return re.fullmatch(regex, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether actual output fits expected, with `[..]` inside lines and `...` lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and matches(rest, actual[1:])


def run_file(path: pathlib.Path, binary: pathlib.Path) -> tuple[int, int, list[str]]:
    """Run one file's blocks; return (blocks run, blocks skipped, failures)."""
    blocks = parse(path)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wrkr-doc-") as tmp:
        root = pathlib.Path(tmp)
        bindir, work, home = root / "bin", root / "work", root / "home"
        for d in (bindir, work, home):
            d.mkdir()
        (bindir / "wrkr").symlink_to(binary)
        tools = subprocess.run([str(binary), "--list"], capture_output=True, text=True, check=True).stdout.split()
        for tool in tools:
            (bindir / tool).symlink_to(binary)
        env = {
            "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(root),
            "WRKR_HOME": str(home),
            "NO_COLOR": "1",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            # The SDK of this checkout, importable as it is after `pip install ./sdk/python`.
            "PYTHONPATH": str(REPO / "sdk" / "python" / "src"),
            # The checkout, as a reader following a guide from a clone would set it.
            "WRKR_SRC": str(REPO),
        }
        groups: list[int] = []
        try:
            ran, skipped = _run_blocks(path, blocks, work, env, groups, failures)
        finally:
            for group in groups:
                try:
                    os.killpg(group, signal.SIGKILL)
                except OSError:
                    pass
    return ran, skipped, failures


def _run_blocks(
    path: pathlib.Path, blocks: list[Block], work: pathlib.Path, env: dict[str, str],
    groups: list[int], failures: list[str],
) -> tuple[int, int]:
    ran = skipped = 0
    for block in blocks:
        if block.skip:
            skipped += 1
            continue
        ran += 1
        for command in block.commands:
            # Each command leads its own process group, so a server an example started in the
            # background (`wrkr serve ... &`) is stopped when the file is done, pass or fail.
            proc = subprocess.Popen(
                ["bash", "-o", "pipefail", "-c", command.text],
                cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
            groups.append(proc.pid)
            try:
                stdout, stderr = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                stdout, stderr = proc.communicate()
            actual = (stdout + stderr).splitlines()
            where = f"{path}:{command.line}: $ {command.text}"
            if proc.returncode != command.exit_code:
                failures.append(f"{where}\n  exit {proc.returncode}, expected {command.exit_code}\n" + _indent(actual))
            elif not matches(command.expected, actual):
                failures.append(f"{where}\n  expected:\n{_indent(command.expected)}\n  actual:\n{_indent(actual)}")
    return ran, skipped


def _indent(lines: list[str]) -> str:
    return "\n".join(f"    | {line}" for line in lines) or "    | (nothing)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    parser.add_argument("--list", action="store_true", help="only count the runnable and skipped blocks")
    parser.add_argument("--bin", type=pathlib.Path, default=None, help="the wrkr binary [default: $WRKR_BIN]")
    args = parser.parse_args()
    total_ran = total_skipped = 0
    failures: list[str] = []
    binary = (args.bin or pathlib.Path(os.environ.get("WRKR_BIN") or shutil.which("wrkr") or "wrkr")).resolve()
    for path in args.files:
        if args.list:
            blocks = parse(path)
            ran, skipped = sum(not b.skip for b in blocks), sum(b.skip for b in blocks)
            file_failures: list[str] = []
        else:
            ran, skipped, file_failures = run_file(path, binary)
        total_ran += ran
        total_skipped += skipped
        failures += file_failures
        print(f"{path}: {ran} blocks run, {skipped} skipped, {len(file_failures)} failed")
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"doc examples: {total_ran} blocks run, {total_skipped} skipped, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
