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
from .types import (
    AcceptResult,
    Approval,
    Checkpoint,
    ExportResult,
    GithubSummary,
    JobStatus,
    RunResult,
    VerifyResult,
    WrapResult,
)


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

        ``--json`` goes first: after ``wrap --`` it would belong to the wrapped command.
        """
        proc = self.run("--json", *args, input=input)
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

    # Jobs -------------------------------------------------------------------------------------

    def submit(self, spec: str | os.PathLike[str], *, job_id: str | None = None, detach: bool = False) -> RunResult:
        args = ["submit", os.fspath(spec)]
        if job_id is not None:
            args += ["--job-id", job_id]
        if detach:
            args.append("--detach")
        return RunResult.from_json(self.run_json(*args))

    def status(self, job_id: str) -> JobStatus:
        return JobStatus.from_json(self.run_json("status", job_id))

    def jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        args = ["jobs"] + (["--status", status] if status else [])
        result = self.run_json(*args)
        return result if isinstance(result, list) else [result] if result else []

    def checkpoints(self, job_id: str) -> list[Checkpoint]:
        return [Checkpoint.from_json(c) for c in self.run_json("checkpoint", "list", job_id)]

    def checkpoint(self, job_id: str, checkpoint_id: str) -> Checkpoint:
        return Checkpoint.from_json(self.run_json("checkpoint", "show", job_id, checkpoint_id))

    def emit_checkpoint(self, job_id: str, checkpoint_type: str, summary: str, *, required_kind: str | None = None,
                        required_instructions: str | None = None, reason_codes: Sequence[str] = ()) -> Checkpoint:
        args = ["checkpoint", "emit", job_id, "--type", checkpoint_type, "--summary", summary]
        if required_kind:
            args += ["--required-kind", required_kind]
        if required_instructions:
            args += ["--required-instructions", required_instructions]
        for code in reason_codes:
            args += ["--reason-code", code]
        return Checkpoint.from_json(self.run_json(*args))

    def approve(self, job_id: str, checkpoint_id: str, reason: str, *, approved_by: str | None = None) -> Approval:
        args = ["approve", job_id, "--checkpoint", checkpoint_id, "--reason", reason]
        if approved_by:
            args += ["--approved-by", approved_by]
        return Approval.from_json(self.run_json(*args))

    def resume(self, job_id: str, *, force_env: bool = False, reason: str | None = None) -> RunResult:
        args = ["resume", job_id]
        if force_env:
            args.append("--force-env")
        if reason is not None:
            args += ["--reason", reason]
        return RunResult.from_json(self.run_json(*args))

    def pause(self, job_id: str, *, now: bool = False) -> dict[str, Any]:
        return self.run_json("pause", job_id, *(["--now"] if now else []))

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.run_json("cancel", job_id)

    def budget(self, job_id: str) -> dict[str, Any]:
        return self.run_json("budget", "show", job_id)

    def budget_report(self, job_id: str, *, tool_calls: int = 0, tokens: int = 0, cost: float = 0.0) -> dict[str, Any]:
        args = ["budget", "report", job_id]
        if tool_calls:
            args += ["--tool-calls", str(tool_calls)]
        if tokens:
            args += ["--tokens", str(tokens)]
        if cost:
            args += ["--cost", repr(cost)]
        return self.run_json(*args)

    def budget_raise(self, job_id: str, reason: str, **limits: int | float) -> dict[str, Any]:
        """``budget_raise(job, "why", max_step_count=40)``."""
        args = ["budget", "raise", job_id, "--reason", reason]
        for key, value in limits.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        return self.run_json(*args)

    # Wrap, export, verify ------------------------------------------------------------------------

    def wrap(
        self,
        command: Sequence[str],
        *,
        job_id: str | None = None,
        artifacts: Sequence[str] = (),
        workspace: str | os.PathLike[str] | None = None,
        exit_code_child: bool = False,
        budget_wall_time: int | None = None,
        out_dir: str | os.PathLike[str] | None = None,
    ) -> WrapResult:
        """Run ``command`` under ``wrkr wrap`` and return its result.

        A failing command raises :class:`WrkrError` (``E_ADAPTER_FAIL``, ``E_BUDGET_EXCEEDED``);
        the wrap result is still in ``err.stdout`` (parse it with ``WrapResult.from_json``).
        """
        if not command:
            raise ValueError("wrap needs a command")
        args = ["wrap"]
        if job_id is not None:
            args += ["--job-id", job_id]
        for path in artifacts:
            args += ["--artifact", path]
        if workspace is not None:
            args += ["--workspace", os.fspath(workspace)]
        if exit_code_child:
            args += ["--exit-code", "child"]
        if budget_wall_time is not None:
            args += ["--budget-wall-time", str(budget_wall_time)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        args += ["--", *command]
        return WrapResult.from_json(self.run_json(*args))

    def export(self, job_id: str, out_dir: str | os.PathLike[str] | None = None) -> ExportResult:
        args = ["export", job_id]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        return ExportResult.from_json(self.run_json(*args))

    def verify(self, target: str | os.PathLike[str]) -> VerifyResult:
        """Verify a jobpack (a path) or a job's exported pack (a job id); failures raise."""
        result = self.run_json("verify", os.fspath(target))
        if isinstance(result, list):
            result = result[-1] if result else {}
        return VerifyResult.from_json(result)

    # Acceptance and reports ----------------------------------------------------------------------

    def accept_run(self, target: str | os.PathLike[str], *, config: str | os.PathLike[str] | None = None,
                   ci: bool = False, junit: str | os.PathLike[str] | None = None,
                   out_dir: str | os.PathLike[str] | None = None, check: bool = True) -> AcceptResult:
        """Run acceptance on a job or pack. A failed acceptance (exit 5) raises :class:`WrkrError`
        (its ``stdout`` holds the result) unless ``check=False``, which returns the failing result."""
        args = ["accept", "run", os.fspath(target)]
        if config is not None:
            args += ["--config", os.fspath(config)]
        if junit is not None:
            args += ["--junit", os.fspath(junit)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        if ci:
            args.append("--ci")
        return AcceptResult.from_json(self.run_json(*args, ok_codes=(0,) if check else (0, 5)))

    def report_github(self, target: str | os.PathLike[str], *, out_dir: str | os.PathLike[str] | None = None) -> GithubSummary:
        args = ["report", "github", os.fspath(target)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        return GithubSummary.from_json(self.run_json(*args))
