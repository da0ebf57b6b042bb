#!/usr/bin/env python3
"""wrkr sidecar: a transport-only bridge for stacks that cannot link wrkr or shell out freely.

It reads normalized JSON requests, one per line, from a file or stdin:

    {"schema_id": "wrkr.sidecar_request", "schema_version": "v1", "lane": "ci",
     "job_id": "job_1", "timestamp_utc": "2026-02-13T00:00:00Z",
     "command": ["status", "job_1"], "dry_run": false}

and for each one runs ``wrkr --json <command...>`` (never a shell), then writes, under
``<out>/integrations/<lane>/``:

- ``request.json``: the request as received (normalized);
- ``result.json``: ``{lane, job_id, request_timestamp_utc, argv, dry_run, exit_code, ok, output,
  error}``, where ``output`` is wrkr's JSON stdout and ``error`` its error envelope;
- ``sidecar.log``: one line per request handled in this lane (appended).

It owns no logic: no retries, no interpretation of results. Files are sorted-key compact JSON with
a trailing newline, written atomically, and contain no clock reading other than the request's own
``timestamp_utc``, so the same requests against the same store give the same bytes. A malformed
request is answered with a ``result.json`` whose ``error`` says why (lane ``invalid`` when the lane
itself is unusable) and never stops the sidecar. Standard library only; Python >= 3.11.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SCHEMA_ID = "wrkr.sidecar_request"
SCHEMA_VERSION = "v1"
LANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FIELDS = {"schema_id", "schema_version", "lane", "job_id", "timestamp_utc", "command", "dry_run"}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def validate(request: Any) -> str | None:
    """Why a request is malformed, or None."""
    if not isinstance(request, dict):
        return "request is not a JSON object"
    unknown = sorted(set(request) - FIELDS)
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    if request.get("schema_id") != SCHEMA_ID:
        return f"schema_id must be {SCHEMA_ID!r}"
    if request.get("schema_version") != SCHEMA_VERSION:
        return f"schema_version must be {SCHEMA_VERSION!r}"
    if not isinstance(request.get("lane"), str) or not LANE.match(request["lane"]):
        return "lane must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}"
    if not isinstance(request.get("job_id", ""), str):
        return "job_id must be a string"
    if not isinstance(request.get("timestamp_utc"), str):
        return "timestamp_utc must be a string"
    command = request.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) and c for c in command):
        return "command must be a non-empty list of non-empty strings"
    if not isinstance(request.get("dry_run", False), bool):
        return "dry_run must be a boolean"
    return None


def parse_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            return {"unparsed": text}


def last_envelope(text: str) -> Any:
    start = text.rfind("\n{\n")
    for candidate in ([text[start + 1 :]] if start >= 0 else []) + [text]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {"message": text.strip()} if text.strip() else None


def handle(request: Any, wrkr: list[str], out: Path, env: dict[str, str]) -> dict[str, Any]:
    problem = validate(request)
    lane = request.get("lane") if isinstance(request, dict) and isinstance(request.get("lane"), str) else ""
    lane = lane if LANE.match(lane or "") else "invalid"
    job_id = request.get("job_id", "") if isinstance(request, dict) else ""
    result: dict[str, Any] = {
        "lane": lane,
        "job_id": job_id if isinstance(job_id, str) else "",
        "request_timestamp_utc": request.get("timestamp_utc", "") if isinstance(request, dict) else "",
        "argv": [],
        "dry_run": bool(request.get("dry_run", False)) if isinstance(request, dict) else False,
        "exit_code": None,
        "ok": False,
        "output": None,
        "error": None,
    }
    if problem is None:
        # --json first: after a `wrap --` it would belong to the wrapped command.
        argv = ["wrkr", "--json", *request["command"]]
        result["argv"] = argv
        if result["dry_run"]:
            result["ok"] = True
        else:
            proc = subprocess.run([*wrkr, "--json", *request["command"]], capture_output=True, text=True,
                                  env=env, stdin=subprocess.DEVNULL, check=False)
            result["exit_code"] = proc.returncode
            result["ok"] = proc.returncode == 0
            result["output"] = parse_json(proc.stdout)
            result["error"] = None if proc.returncode == 0 else last_envelope(proc.stderr)
    else:
        result["error"] = {"code": "E_INVALID_INPUT_SCHEMA", "message": problem}
    lane_dir = out / "integrations" / lane
    write_atomic(lane_dir / "request.json", dumps(request))
    write_atomic(lane_dir / "result.json", dumps(result))
    lane_dir.mkdir(parents=True, exist_ok=True)
    with open(lane_dir / "sidecar.log", "a", encoding="utf-8") as log:
        log.write(dumps({"exit_code": result["exit_code"], "job_id": result["job_id"], "ok": result["ok"],
                         "request_timestamp_utc": result["request_timestamp_utc"], "argv": result["argv"]}))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", nargs="?", default="-", help="JSONL file of requests (default: stdin)")
    parser.add_argument("--out", default="wrkr-out", help="output root (default: ./wrkr-out)")
    parser.add_argument("--wrkr", default=os.environ.get("WRKR_BIN", "wrkr"), help="wrkr binary (default: $WRKR_BIN or wrkr)")
    args = parser.parse_args(argv)
    stream = sys.stdin if args.requests == "-" else open(args.requests, encoding="utf-8")
    failures = 0
    with stream:
        for line in stream:
            if not line.strip():
                continue
            try:
                request: Any = json.loads(line)
            except ValueError as err:
                request = {"unparsed": line.rstrip("\n")[:512], "parse_error": str(err)}
            result = handle(request, [args.wrkr], Path(args.out), dict(os.environ))
            sys.stdout.write(dumps({"lane": result["lane"], "ok": result["ok"], "exit_code": result["exit_code"]}))
            failures += 0 if result["ok"] else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
