#!/usr/bin/env python3
"""Check dist's Homebrew formula against the release assets, then commit it to the tap.

dist writes `wrkr.rb` in the release workflow's `global` job; the formula names each platform's
archive by URL and pins its sha256. Before anything is published (`--check`, in the `global` job
and in verify_release_assets.sh) this proves that the formula is for the version being released,
that every URL has a sha256, and that each sha256 is the one of the archive beside it. After the
GitHub release exists, the `homebrew` job of release.yml runs it without `--check`: it writes
`Formula/<name>.rb` in the tap repository through the GitHub contents API (`gh api`, authenticated
by GH_TOKEN, a token that may write to the tap and nothing else). That is one commit per release
and no clone, so no credentials are persisted on disk; publishing the same formula again changes
nothing. docs/runbooks/release.md describes the one-time setup (tap repository, token, variable).

Usage: publish_homebrew_formula.py [--check] [--tap OWNER/NAME] --version X.Y.Z FORMULA
The formula's archives are looked for in FORMULA's directory. The tap defaults to `tap` in
dist-workspace.toml. Exits 1 naming the first problem, 2 on a usage error.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent


def fail(message: str) -> NoReturn:
    print(f"publish-homebrew-formula: {message}", file=sys.stderr)
    sys.exit(1)


def say(message: str) -> None:
    print(f"publish-homebrew-formula: {message}")


def default_tap() -> str:
    config = tomllib.loads((ROOT / "dist-workspace.toml").read_text())
    return str(config["dist"]["tap"])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_formula(formula: Path, version: str) -> None:
    """The formula releases `version`, and pins the sha256 of every archive it downloads."""
    text = formula.read_text()
    found = re.findall(r'^\s*version "([^"]*)"', text, re.MULTILINE)
    if found != [version]:
        fail(f"{formula.name} is for version {', '.join(found) or 'none'}, not {version}")
    # dist writes each `url` with its `sha256` on the next line; a URL without one would make
    # brew download whatever the URL serves.
    lines = [line.strip() for line in text.splitlines()]
    urls = [(i, line) for i, line in enumerate(lines) if line.startswith("url ")]
    if not urls:
        fail(f"{formula.name} names no archive")
    for i, line in urls:
        url = line.split('"')[1]
        archive = formula.parent / url.rsplit("/", 1)[-1]
        if f"/releases/download/v{version}/" not in url:
            fail(f"{formula.name}: {url} is not a v{version} release asset")
        pinned = re.fullmatch(r'sha256 "([0-9a-f]{64})"', lines[i + 1]) if i + 1 < len(lines) else None
        if pinned is None:
            fail(f"{formula.name}: {archive.name} has no sha256 (was dist run with the archives in place?)")
        if not archive.is_file():
            fail(f"{formula.name} names {archive.name}, which is not among the assets")
        actual = sha256_of(archive)
        if pinned.group(1) != actual:
            fail(f"{formula.name}: sha256 of {archive.name} is {actual}, the formula pins {pinned.group(1)}")
    say(f"{formula.name}: version {version}, {len(urls)} archives, each sha256 matches")


def gh(args: list[str], body: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["gh", "api", *args], input=body, capture_output=True, check=False)
    except FileNotFoundError:
        fail("the GitHub CLI (gh) is not installed")


def publish(formula: Path, tap: str, version: str) -> None:
    """Create or update Formula/<name>.rb in the tap; nothing when it already holds these bytes."""
    if not os.environ.get("GH_TOKEN"):
        fail("GH_TOKEN is empty: the homebrew-tap environment needs the HOMEBREW_TAP_TOKEN secret")
    path = f"repos/{tap}/contents/Formula/{formula.name}"
    content = formula.read_bytes()
    current = gh([path])
    body: dict[str, str] = {"message": f"{formula.stem} {version}", "content": base64.b64encode(content).decode()}
    if current.returncode == 0:
        existing = json.loads(current.stdout)
        if base64.b64decode(existing.get("content", "")) == content:
            say(f"{tap}: Formula/{formula.name} already holds {formula.stem} {version}; nothing to do")
            return
        # The contents API replaces a file only when told which version it replaces.
        body["sha"] = existing["sha"]
    elif b"HTTP 404" not in current.stderr:
        fail(f"cannot read {path}: {current.stderr.decode(errors='replace').strip()}")
    put = gh(["--method", "PUT", path, "--input", "-"], json.dumps(body).encode())
    if put.returncode != 0:
        fail(f"cannot write {path}: {put.stderr.decode(errors='replace').strip()}")
    commit = json.loads(put.stdout).get("commit", {}).get("sha", "?")
    say(f"{tap}: Formula/{formula.name} {'updated' if 'sha' in body else 'created'} ({commit})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the formula; publish nothing")
    parser.add_argument("--tap", help="the tap repository, OWNER/NAME (default: dist-workspace.toml)")
    parser.add_argument("--version", required=True, help="the version being released, X.Y.Z")
    parser.add_argument("formula", type=Path)
    args = parser.parse_args()
    tap = args.tap or default_tap()
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", tap):
        parser.error(f"--tap must be OWNER/NAME, not {tap!r}")
    version = args.version.removeprefix("v")
    if not args.formula.is_file() or args.formula.suffix != ".rb":
        fail(f"{args.formula} is not a formula file (NAME.rb)")
    check_formula(args.formula, version)
    if not args.check:
        publish(args.formula, tap, version)


if __name__ == "__main__":
    main()
