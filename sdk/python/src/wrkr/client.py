"""The wrkr client: runs the wrkr binary with ``--json`` and parses its contracts.

The SDK owns no logic: every call is one wrkr command, so the CLI, the SDK and the HTTP API behave
the same. The binary is ``binary=``, else ``$WRKR_BIN``, else ``wrkr`` on ``PATH``.

Two rules keep calls honest:

- ``--json`` goes right after the command word, never at the end: everything after ``--`` belongs
  to a wrapped command, which may have a ``--json`` of its own (``gh pr list --json title``).
- ``timeout=`` interrupts a call the way Ctrl-C does (SIGTERM, then SIGKILL after
  ``interrupt_grace`` seconds), so wrkr stops the step, records the interruption and releases the
  lease before :class:`~wrkr.errors.WrkrTimeoutError` is raised. The job is left resumable, never
  half-running. The child's stdin is ``/dev/null`` unless ``input=`` is given.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import (
    BinaryNotFoundError,
    VerifyFailedError,
    WrkrError,
    WrkrTimeoutError,
)
from .types import (
    JSON,
    AcceptResult,
    Approval,
    Budget,
    Checkpoint,
    CheckpointType,
    Event,
    ExportResult,
    Footer,
    GithubSummary,
    Inspection,
    JobState,
    JobStatus,
    JobStatusName,
    JobSummary,
    KeyPair,
    PackDiff,
    Receipt,
    RunResult,
    VerifyResult,
    WorkItem,
    WrapResult,
)

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Version:
    """``wrkr version``: the release, the commit it was built from, and the build date."""

    version: str
    commit: str
    date: str


class Wrkr:
    """A handle on one wrkr binary and store.

    ``store`` is passed as ``--store`` (else wrkr uses ``$WRKR_HOME``, else ``~/.wrkr``); ``cwd`` and
    ``env`` (merged over ``os.environ``) apply to every call; ``timeout`` is the default for calls
    that take one, in seconds (``None``: wait as long as the command runs).
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        store: PathLike | None = None,
        cwd: PathLike | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        interrupt_grace: float = 10.0,
    ) -> None:
        self.binary = binary or os.environ.get("WRKR_BIN") or "wrkr"
        self.store = os.fspath(store) if store is not None else None
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self.env = env
        self.timeout = timeout
        self.interrupt_grace = interrupt_grace

    # The process layer ----------------------------------------------------------------------------

    def _argv(self, args: Sequence[str], json_mode: bool) -> list[str]:
        argv = [self.binary]
        if self.store is not None:
            argv += ["--store", self.store]
        if json_mode and args:
            # Right after the command word: before any `--`, so a wrapped command keeps its own flags.
            argv += [args[0], "--json", *args[1:]]
        else:
            argv += list(args)
        return argv

    def _popen(self, argv: list[str], *, stdin: int) -> subprocess.Popen[str]:
        env = {**os.environ, **self.env} if self.env is not None else None
        try:
            return subprocess.Popen(
                argv,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=self.cwd,
                env=env,
            )
        except (FileNotFoundError, PermissionError) as err:
            if err.filename in (self.binary, None) or shutil.which(self.binary) is None:
                raise BinaryNotFoundError(self.binary) from err
            raise

    def run(
        self,
        *args: str,
        input: str | None = None,
        timeout: float | None = None,
        json_mode: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``wrkr ARGS...`` and return the completed process (never raises on exit codes).

        Raises :class:`WrkrTimeoutError` when the call outlives ``timeout`` (default: the client's)
        and :class:`BinaryNotFoundError` when there is no binary to run.
        """
        argv = self._argv(args, json_mode)
        limit = self.timeout if timeout is None else timeout
        proc = self._popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
        try:
            stdout, stderr = proc.communicate(input, timeout=limit)
        except subprocess.TimeoutExpired:
            stdout, stderr = self._interrupt(proc)
            raise WrkrTimeoutError(
                f"`{' '.join(args[:2])}` did not finish within {limit} s and was interrupted; "
                "`wrkr status JOB` shows what state the job was left in",
                timeout=limit or 0.0,
                exit_code=proc.returncode if proc.returncode is not None else -1,
                stdout=stdout,
                stderr=stderr,
            ) from None
        return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)

    def _interrupt(self, proc: subprocess.Popen[str]) -> tuple[str, str]:
        """Stop a call as Ctrl-C would, then make sure it is gone."""
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.communicate(timeout=self.interrupt_grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.communicate()

    def run_json(
        self,
        *args: str,
        input: str | None = None,
        ok_codes: Sequence[int] = (0,),
        timeout: float | None = None,
        error: type[WrkrError] = WrkrError,
    ) -> JSON:
        """Run ``wrkr ARGS...`` in JSON mode; return the parsed stdout or raise a :class:`WrkrError`.

        The error's class follows its reason code (``LeaseConflictError``, ``NotFoundError``, ...);
        ``error=`` forces one (``verify`` raises ``VerifyFailedError`` for any failed check). Pipe
        tools print JSONL: their output comes back as a list of values.
        """
        proc = self.run(*args, input=input, timeout=timeout, json_mode=True)
        if proc.returncode not in ok_codes:
            raise error.from_process(proc.returncode, proc.stdout, proc.stderr)
        return _parse_json_output(proc)

    def _object(self, *args: str, **kwargs: Any) -> dict[str, Any]:
        value = self.run_json(*args, **kwargs)
        if isinstance(value, list):
            value = value[-1] if value else {}
        if not isinstance(value, dict):
            raise WrkrError("E_GENERIC_FAILURE", f"wrkr {args[0]} returned {type(value).__name__}, not an object", 0)
        return value

    def _objects(self, *args: str, **kwargs: Any) -> list[dict[str, Any]]:
        value = self.run_json(*args, **kwargs)
        values = value if isinstance(value, list) else [value] if value else []
        return [v for v in values if isinstance(v, dict)]

    # Basics ---------------------------------------------------------------------------------------

    def version(self) -> Version:
        """The binary's version, commit and build date."""
        data = self._object("version")
        return Version(version=str(data["version"]), commit=str(data["commit"]), date=str(data["date"]))

    def canonical_json(self, value: Any) -> str:
        """The RFC 8785 canonical form of ``value`` (through ``wrkr-jcs``)."""
        line = json.dumps(value, ensure_ascii=False, allow_nan=False)
        proc = self.run("jcs", input=line + "\n")
        if proc.returncode != 0:
            raise WrkrError.from_process(proc.returncode, proc.stdout, proc.stderr)
        return proc.stdout.rstrip("\n")

    # Jobs -----------------------------------------------------------------------------------------

    def submit(
        self,
        spec: PathLike,
        *,
        job_id: str | None = None,
        detach: bool = False,
        timeout: float | None = None,
    ) -> RunResult:
        """Submit a JobSpec and run it until it completes or stops (decision, budget, failure)."""
        args = ["submit", os.fspath(spec)]
        if job_id is not None:
            args += ["--job-id", job_id]
        if detach:
            args.append("--detach")
        return RunResult.from_json(self._object(*args, timeout=timeout))

    def status(self, job_id: str) -> JobStatus:
        """The job's status, replayed from its ledger."""
        return JobStatus.from_json(self._object("status", job_id))

    def jobs(self, status: JobStatusName | None = None) -> list[JobSummary]:
        """Every job in the store (only those with ``status`` when given)."""
        args = ["jobs"] + (["--status", status] if status else [])
        return [JobSummary.from_json(j) for j in self._objects(*args)]

    def checkpoints(self, job_id: str) -> list[Checkpoint]:
        """The job's checkpoints, oldest first."""
        return [Checkpoint.from_json(c) for c in self._objects("checkpoint", "list", job_id)]

    def checkpoint(self, job_id: str, checkpoint_id: str) -> Checkpoint:
        """One checkpoint."""
        return Checkpoint.from_json(self._object("checkpoint", "show", job_id, checkpoint_id))

    def emit_checkpoint(
        self,
        job_id: str,
        checkpoint_type: CheckpointType,
        summary: str,
        *,
        required_kind: str | None = None,
        required_instructions: str | None = None,
        reason_codes: Sequence[str] = (),
    ) -> Checkpoint:
        """Record a checkpoint for the job (a ``decision-needed`` one stops it after its step)."""
        args = ["checkpoint", "emit", job_id, "--type", checkpoint_type, "--summary", summary]
        if required_kind:
            args += ["--required-kind", required_kind]
        if required_instructions:
            args += ["--required-instructions", required_instructions]
        for code in reason_codes:
            args += ["--reason-code", code]
        return Checkpoint.from_json(self._object(*args))

    def approve(self, job_id: str, checkpoint_id: str, reason: str, *, approved_by: str | None = None) -> Approval:
        """Approve a decision-needed checkpoint (``approved_by`` defaults as the CLI's does)."""
        args = ["approve", job_id, "--checkpoint", checkpoint_id, "--reason", reason]
        if approved_by:
            args += ["--approved-by", approved_by]
        return Approval.from_json(self._object(*args))

    def resume(
        self,
        job_id: str,
        *,
        force_env: bool = False,
        reason: str | None = None,
        approved_by: str | None = None,
        timeout: float | None = None,
    ) -> RunResult:
        """Continue a job from its last durable step.

        ``force_env`` (with ``reason``) overrides an environment fingerprint mismatch; the
        override is recorded with ``approved_by``.
        """
        args = ["resume", job_id]
        if force_env:
            args.append("--force-env")
        if reason is not None:
            args += ["--reason", reason]
        if approved_by is not None:
            args += ["--approved-by", approved_by]
        return RunResult.from_json(self._object(*args, timeout=timeout))

    def pause(self, job_id: str, *, now: bool = False) -> JobState:
        """Ask the runner to pause after the current step (``now``: stop the step at once)."""
        return JobState.from_json(self._object("pause", job_id, *(["--now"] if now else [])))

    def cancel(self, job_id: str) -> JobState:
        """Cancel the job; a running step is stopped."""
        return JobState.from_json(self._object("cancel", job_id))

    def budget(self, job_id: str) -> Budget:
        """Limits, usage and what remains."""
        return Budget.from_json(self._object("budget", "show", job_id))

    def budget_report(self, job_id: str, *, tool_calls: int = 0, tokens: int = 0, cost: float = 0.0) -> Budget:
        """Report usage for the job (from inside a step, or on its behalf)."""
        args = ["budget", "report", job_id]
        if tool_calls:
            args += ["--tool-calls", str(tool_calls)]
        if tokens:
            args += ["--tokens", str(tokens)]
        if cost:
            args += ["--cost", repr(cost)]
        return Budget.from_json(self._object(*args))

    def budget_raise(self, job_id: str, reason: str, **limits: int | float) -> Budget:
        """Raise limits: ``budget_raise(job, "why", max_step_count=40)``."""
        args = ["budget", "raise", job_id, "--reason", reason]
        for key, value in limits.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        return Budget.from_json(self._object(*args))

    def events(self, job_id: str, *, follow: bool = False, from_seq: int = 1) -> Iterator[Event]:
        """The job's ledger records, in seq order, as they are stored.

        With ``follow=True`` the iterator keeps yielding new records until the job is completed or
        canceled; closing the iterator (or leaving the ``for`` loop) stops the follower.
        """
        args = ["events", job_id, "--from-seq", str(from_seq)] + (["--follow"] if follow else [])
        proc = self._popen(self._argv(args, json_mode=True), stdin=subprocess.DEVNULL)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if line.strip():
                    yield Event.from_json(json.loads(line))
            stderr = proc.stderr.read() if proc.stderr is not None else ""
            if proc.wait() != 0:
                raise WrkrError.from_process(proc.returncode, "", stderr)
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()

    # Wrap, export, verify -------------------------------------------------------------------------

    def wrap(
        self,
        command: Sequence[str],
        *,
        job_id: str | None = None,
        artifacts: Sequence[str] = (),
        workspace: PathLike | None = None,
        exit_code_child: bool = False,
        budget_wall_time: int | None = None,
        budget_tool_calls: int | None = None,
        budget_tokens: int | None = None,
        out_dir: PathLike | None = None,
        timeout: float | None = None,
    ) -> WrapResult:
        """Run ``command`` under ``wrkr wrap`` and return its result.

        ``command`` reaches the program untouched (its own ``--json`` included); in JSON mode wrkr
        passes its stdout to stderr, so stdout stays the result. A failing command
        raises (``StepFailedError``, ``BudgetExceededError``); the wrap result is still in
        ``err.stdout`` (parse it with ``WrapResult.from_json``).
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
        if budget_tool_calls is not None:
            args += ["--budget-tool-calls", str(budget_tool_calls)]
        if budget_tokens is not None:
            args += ["--budget-tokens", str(budget_tokens)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        args += ["--", *command]
        return WrapResult.from_json(self._object(*args, timeout=timeout))

    def export(self, job_id: str, out_dir: PathLike | None = None, *, sign: PathLike | None = None) -> ExportResult:
        """Export the job's jobpack (and, with ``sign=`` a private key file, its detached signature)."""
        args = ["export", job_id]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        if sign is not None:
            args += ["--sign", os.fspath(sign)]
        return ExportResult.from_json(self._object(*args))

    def verify(
        self,
        target: PathLike,
        *,
        pubkey: PathLike | None = None,
        out_dir: PathLike | None = None,
    ) -> VerifyResult:
        """Verify a jobpack (a path) or a job's exported pack (a job id).

        With ``pubkey=`` a valid signature by that key is required. Any failed check raises
        :class:`VerifyFailedError` carrying the check's own reason code.
        """
        args = ["verify", os.fspath(target)]
        if pubkey is not None:
            args += ["--pubkey", os.fspath(pubkey)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        return VerifyResult.from_json(self._object(*args, error=VerifyFailedError))

    def keygen(self, out: PathLike) -> KeyPair:
        """Make an ed25519 signing key pair in directory ``out`` (never overwrites a key)."""
        return KeyPair.from_json(self._object("keygen", "--out", os.fspath(out)))

    def receipt(self, target: PathLike, *, out_dir: PathLike | None = None) -> Receipt:
        """The ticket footer of a job's (up to date) pack, exporting it first when needed."""
        args = ["receipt", os.fspath(target)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        return Receipt.from_json(self._object(*args))

    def parse_footer(self, line: str) -> Footer:
        """Check a ticket footer line and return its parts (``InvalidInputError`` if it is not one)."""
        return Footer.from_json(self._object("receipt", "--parse", line))

    def inspect(self, target: PathLike) -> Inspection:
        """The timeline of a job (an id) or a pack (a path), without verifying."""
        return Inspection.from_json(self._object("job", "inspect", os.fspath(target)))

    def diff(self, a: PathLike, b: PathLike) -> PackDiff:
        """What differs between two packs, by file and by record id."""
        return PackDiff.from_json(self._object("job", "diff", os.fspath(a), os.fspath(b)))

    # Acceptance, reports and bridge ------------------------------------------------------------

    def accept_run(
        self,
        target: PathLike,
        *,
        config: PathLike | None = None,
        ci: bool = False,
        junit: PathLike | None = None,
        out_dir: PathLike | None = None,
        check: bool = True,
    ) -> AcceptResult:
        """Run acceptance on a job or pack. A failed acceptance (exit 5) raises
        :class:`AcceptanceFailedError` (its ``stdout`` holds the result) unless ``check=False``,
        which returns the failing result."""
        args = ["accept", "run", os.fspath(target)]
        if config is not None:
            args += ["--config", os.fspath(config)]
        if junit is not None:
            args += ["--junit", os.fspath(junit)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        if ci:
            args.append("--ci")
        return AcceptResult.from_json(self._object(*args, ok_codes=(0,) if check else (0, 5)))

    def report_github(self, target: PathLike, *, out_dir: PathLike | None = None) -> GithubSummary:
        """Write the GitHub step summary for a job or pack."""
        args = ["report", "github", os.fspath(target)]
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        return GithubSummary.from_json(self._object(*args))

    def work_item(
        self,
        job_id: str,
        checkpoint_id: str,
        *,
        template: str | None = None,
        dry_run: bool = False,
        out_dir: PathLike | None = None,
    ) -> WorkItem:
        """Turn a checkpoint into a work item for a human (``bridge work-item``)."""
        args = ["bridge", "work-item", job_id, "--checkpoint", checkpoint_id]
        if template is not None:
            args += ["--template", template]
        if dry_run:
            args.append("--dry-run")
        if out_dir is not None:
            args += ["--out-dir", os.fspath(out_dir)]
        return WorkItem.from_json(self._object(*args))


def _parse_json_output(proc: subprocess.CompletedProcess[str]) -> JSON:
    text = proc.stdout.strip()
    if not text:
        return {}
    try:
        value: JSON = json.loads(text)
        return value
    except ValueError:
        pass
    # Pipe tools print JSONL: one value per line.
    try:
        values: list[JSON] = [json.loads(line) for line in text.splitlines() if line.strip()]
        return values
    except ValueError as err:
        raise WrkrError(
            "E_GENERIC_FAILURE",
            f"wrkr returned invalid JSON: {err}",
            proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
        ) from err
