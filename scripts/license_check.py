#!/usr/bin/env python3
"""make license-check: every Rust and Python dependency under a licence deny.toml allows.

Rust: every package `cargo metadata` resolves from Cargo.lock (normal, build and dev dependencies),
its SPDX expression evaluated against deny.toml's [licenses].allow (an OR passes when one side is
allowed, an AND when all are; `A/B` is the old spelling of `A OR B`). Python: the SDK's and the
sidecar's declared dependencies (each pyproject.toml), and the test tools `make test` installs
(pytest, lxml and what they pull in), read from an installed environment's metadata. Prints one
line per licence with its count, every rejected package, and exits 1 on any.
Usage: license_check.py [--python-env PYTHON]   (default: the python3 running this script)
"""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Python test tools whose licence text is not an SPDX id in their metadata, checked by hand:
# the classifier or licence file says which, and the version range is pinned by make test's pip line.
PYTHON_NAME_MAP = {
    "MIT License": "MIT", "BSD License": "BSD-3-Clause", "Apache Software License": "Apache-2.0",
    "BSD-3-Clause": "BSD-3-Clause", "MIT": "MIT", "Apache-2.0": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0", "ISC License (ISCL)": "ISC",
}
PYTHON_EXTRA_ALLOW = {"PSF-2.0"}


def allowed(expr, allow):
    expr = expr.replace("/", " OR ").strip()
    tokens = re.findall(r"\(|\)|[A-Za-z0-9.+-]+(?: WITH [A-Za-z0-9.+-]+)?", expr)
    pos = 0

    def parse_or():
        nonlocal pos
        value = parse_and()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            value = parse_and() or value
        return value

    def parse_and():
        nonlocal pos
        value = parse_atom()
        while pos < len(tokens) and tokens[pos] == "AND":
            pos += 1
            value = parse_atom() and value
        return value

    def parse_atom():
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            value = parse_or()
            pos += 1
            return value
        return token in allow

    try:
        return bool(tokens) and parse_or() and pos == len(tokens)
    except IndexError:
        return False


def rust(allow):
    meta = json.loads(subprocess.run(["cargo", "metadata", "--locked", "--format-version", "1"], cwd=ROOT,
                                     capture_output=True, check=True).stdout)
    rows = []
    for p in meta["packages"]:
        lic = p.get("license") or ("file:" + p["license_file"] if p.get("license_file") else "NONE")
        rows.append(("rust", p["name"], p["version"], lic, allowed(lic, allow)))
    return rows


def python(python_exe, allow):
    declared = []
    for pyproject in sorted(ROOT.glob("**/pyproject.toml")):
        if "target" in pyproject.parts:
            continue
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        declared += [re.split(r"[<>=!~; \[]", d, maxsplit=1)[0] for d in project.get("dependencies", [])]
    probe = r"""
import json, sys, importlib.metadata as md
seen, todo, out = set(), list(sys.argv[1:]), []
while todo:
    name = todo.pop()
    key = name.lower().replace("_", "-")
    if key in seen:
        continue
    seen.add(key)
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        out.append([name, None, None, []]); continue
    meta = dist.metadata
    lic = meta.get("License-Expression") or ""
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if not lic and (meta.get("License") or "") and len(meta.get("License")) < 40:
        lic = meta.get("License")
    out.append([dist.metadata["Name"], dist.version, lic, classifiers])
    for req in dist.requires or []:
        # Requirements behind an extra or an older Python's marker are not installed here.
        if "extra ==" not in req and "python_version" not in req:
            todo.append(req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("!")[0].split("~")[0].strip())
print(json.dumps(out))
"""
    names = declared + ["pytest", "lxml"]
    found = json.loads(subprocess.run([python_exe, "-c", probe, *names], capture_output=True, check=True).stdout)
    rows = []
    for name, version, lic, classifiers in found:
        if version is None:
            rows.append(("python", name, "-", "NOT INSTALLED", False))
            continue
        spdx = PYTHON_NAME_MAP.get(lic, lic) if lic else " OR ".join(PYTHON_NAME_MAP.get(c, c) for c in classifiers)
        rows.append(("python", name, version, spdx or "NONE", allowed(spdx or "NONE", allow | PYTHON_EXTRA_ALLOW)))
    return rows


def main(argv):
    python_exe = argv[argv.index("--python-env") + 1] if "--python-env" in argv else sys.executable
    allow = set(tomllib.loads((ROOT / "deny.toml").read_text())["licenses"]["allow"])
    rows = rust(allow) + python(python_exe, allow)
    counts = {}
    for kind, _, _, lic, _ in rows:
        counts[(kind, lic)] = counts.get((kind, lic), 0) + 1
    for (kind, lic), n in sorted(counts.items()):
        print(f"{kind:6} {n:4}  {lic}")
    bad = [r for r in rows if not r[4]]
    for kind, name, version, lic, _ in bad:
        print(f"license-check: {kind} {name} {version}: {lic} is not in deny.toml's allow list", file=sys.stderr)
    print(f"license-check: {sum(r[0] == 'rust' for r in rows)} Rust and {sum(r[0] == 'python' for r in rows)} "
          f"Python packages, {len(bad)} rejected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
