#!/usr/bin/env python3
"""Scan the tracked files for credentials: private keys, cloud and forge tokens, bearer tokens.

Patterns are the well-known token shapes (each issuer's prefix and length), not entropy guesses,
so a hit is worth reading. A line that is a deliberate test value carries `secret-scan: allow`
(with the reason) on the same line; a whole fixture file is listed in .secret-scan-allow with the
reason. Exits 1 on any other hit. Used by `make sast-fast`. Usage: secret_scan.py [FILE ...]
(default: `git ls-files`, else every file under the current directory).
"""
import os
import re
import subprocess
import sys

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "OpenAI/Anthropic key": re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe live key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{24,}\b"),
    "npm token": re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"),
    "PyPI token": re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"),
}
ALLOW_MARK = "secret-scan: allow"


def tracked():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        return [os.path.join(r, n)[2:] for r, d, ns in os.walk(".") if "/target" not in r and "/.git" not in r for n in ns]


def allowed_files():
    try:
        with open(".secret-scan-allow", encoding="utf-8") as f:
            return {l.split("#", 1)[0].strip() for l in f if l.split("#", 1)[0].strip()}
    except FileNotFoundError:
        return set()


def main(argv):
    paths, allow = argv or tracked(), allowed_files()
    hits, scanned = [], 0
    for path in paths:
        if path in allow or not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            with open(path, "rb") as f:
                data = f.read(4 << 20)
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue  # binary (zips, images): scanned as text they only give noise
        scanned += 1
        for number, line in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
            if ALLOW_MARK in line:
                continue
            for name, pattern in PATTERNS.items():
                if pattern.search(line):
                    hits.append(f"{path}:{number}: {name}")
    for hit in hits:
        print(hit)
    print(f"secret-scan: {scanned} files, {len(hits)} findings")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
