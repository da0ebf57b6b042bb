"""The wrkr client: runs the wrkr binary with ``--json`` and parses its contracts.

The SDK owns no logic: every call is one wrkr command, so the CLI, the SDK and the HTTP API behave
the same. The binary is ``binary=``, else ``$WRKR_BIN``, else ``wrkr`` on ``PATH``.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any, Sequence

from .errors import WrkrError


@dataclass(frozen=True)
class Version:
    version: str
    commit: str
    date: str


class Wrkr:
    """A handle on one wrkr binary and store."""

    def __init__(
        self,
        binary: str | None = None,
        *,
        store: str | os.PathLike[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.binary = binary or os.environ.get("WRKR_BIN") or "wrkr"
        self.store = os.fspath(store) if store is not None else None
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self.env = env
        self.timeout = timeout

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``wrkr ARGS...`` and return the completed process (never raises on exit codes)."""
        argv = [self.binary]
        if self.store is not None:
            argv += ["--store", self.store]
        argv += list(args)
        env = None
        if self.env is not None:
            env = {**os.environ, **self.env}
        return subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env=env,
            timeout=self.timeout,
            check=False,
        )

    def run_json(self, *args: str, input: str | None = None, ok_codes: Sequence[int] = (0,)) -> Any:
        """Run ``wrkr ARGS... --json``; return the parsed stdout or raise :class:`WrkrError`.

        ``--json`` goes last, as wrkr accepts it anywhere (also after ``wrap --``).
        """
        proc = self.run(*args, "--json", input=input)
        if proc.returncode not in ok_codes:
            raise WrkrError.from_process(proc.returncode, proc.stdout, proc.stderr)
        text = proc.stdout.strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError:
            # Pipe tools print JSONL: one value per line.
            try:
                return [json.loads(line) for line in text.splitlines() if line.strip()]
            except ValueError as err:
                raise WrkrError("E_GENERIC_FAILURE", f"wrkr returned invalid JSON: {err}", proc.returncode,
                                stdout=proc.stdout, stderr=proc.stderr) from err

    def version(self) -> Version:
        data = self.run_json("version")
        return Version(version=data["version"], commit=data["commit"], date=data["date"])

    def canonical_json(self, value: Any) -> str:
        """The RFC 8785 canonical form of ``value`` (through ``wrkr-jcs``)."""
        line = json.dumps(value, ensure_ascii=False, allow_nan=False)
        proc = self.run("jcs", input=line + "\n")
        if proc.returncode != 0:
            raise WrkrError.from_process(proc.returncode, proc.stdout, proc.stderr)
        return proc.stdout.rstrip("\n")
