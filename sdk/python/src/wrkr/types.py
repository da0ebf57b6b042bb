"""Dataclasses mirroring wrkr's JSON contracts. Each keeps the full JSON in ``raw``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_id: str
    job_id: str
    type: str
    summary: str
    status: str
    created_at: str
    budget_state: dict[str, int]
    artifacts_delta: dict[str, list[str]]
    reason_codes: list[str]
    required_action: dict[str, str] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Checkpoint":
        return cls(
            checkpoint_id=data["checkpoint_id"],
            job_id=data["job_id"],
            type=data["type"],
            summary=data["summary"],
            status=data["status"],
            created_at=data["created_at"],
            budget_state=dict(data.get("budget_state", {})),
            artifacts_delta=dict(data.get("artifacts_delta", {})),
            reason_codes=list(data.get("reason_codes", [])),
            required_action=data.get("required_action"),
            raw=data,
        )


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    status: str
    summary: str
    reason_codes: list[str]
    lease: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "JobStatus":
        return cls(
            job_id=data["job_id"],
            status=data["status"],
            summary=data.get("summary", ""),
            reason_codes=list(data.get("reason_codes", [])),
            lease=data.get("lease"),
            raw=data,
        )


@dataclass(frozen=True)
class RunResult:
    """What ``submit`` and ``resume`` return."""

    job_id: str
    status: str
    checkpoint_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunResult":
        return cls(job_id=data["job_id"], status=data["status"], checkpoint_id=data.get("checkpoint_id"), raw=data)


@dataclass(frozen=True)
class Approval:
    job_id: str
    checkpoint_id: str
    reason: str
    approved_by: str
    created_at: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Approval":
        return cls(
            job_id=data["job_id"],
            checkpoint_id=data["checkpoint_id"],
            reason=data["reason"],
            approved_by=data["approved_by"],
            created_at=data["created_at"],
            raw=data,
        )


@dataclass(frozen=True)
class StreamDigest:
    """A wrapped command's stdout or stderr: sha256 and size of the full stream, and whether the
    job's log kept only its tail."""

    sha256: str
    bytes: int
    truncated: bool

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "StreamDigest | None":
        if not data:
            return None
        return cls(sha256=data["sha256"], bytes=int(data["bytes"]), truncated=bool(data["truncated"]))


@dataclass(frozen=True)
class WrapResult:
    """``wrkr wrap --json``: the job, how the command ended, its artifacts and the exported pack."""

    job_id: str
    status: str
    exit_code: int
    outcome: str
    jobpack_path: str
    manifest_sha256: str
    footer: str
    artifacts: dict[str, list[str]]
    stdout: StreamDigest | None
    stderr: StreamDigest | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "WrapResult":
        adapter = data.get("adapter_result", {})
        return cls(
            job_id=data["job_id"],
            status=adapter.get("status", ""),
            exit_code=int(adapter.get("exit_code", 0)),
            outcome=adapter.get("outcome", ""),
            jobpack_path=data["jobpack_path"],
            manifest_sha256=data["manifest_sha256"],
            footer=data["footer"],
            artifacts={k: list(v) for k, v in data.get("artifacts", {}).items()},
            stdout=StreamDigest.from_json(data.get("stdout")),
            stderr=StreamDigest.from_json(data.get("stderr")),
            raw=data,
        )


@dataclass(frozen=True)
class ExportResult:
    """``wrkr export --json``."""

    job_id: str
    path: str
    manifest_sha256: str
    footer: str
    missing_artifacts: list[str]
    signature: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ExportResult":
        return cls(
            job_id=data["job_id"],
            path=data["path"],
            manifest_sha256=data["manifest_sha256"],
            footer=data["footer"],
            missing_artifacts=list(data.get("missing_artifacts", [])),
            signature=data.get("signature"),
            raw=data,
        )


@dataclass(frozen=True)
class VerifyResult:
    """``wrkr verify --json``: the pack passed every check (a failure raises ``WrkrError``)."""

    job_id: str
    manifest_sha256: str
    files_verified: int
    checks: list[dict[str, Any]]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "VerifyResult":
        return cls(
            job_id=data.get("job_id", ""),
            manifest_sha256=data.get("manifest_sha256", ""),
            files_verified=int(data.get("files_verified", 0)),
            checks=list(data.get("checks", [])),
            raw=data,
        )


@dataclass(frozen=True)
class AcceptResult:
    """``wrkr accept run``: the ``wrkr.accept_result`` plus the per-check list."""

    job_id: str
    passed: bool
    checks_run: int
    checks_passed: int
    failures: list[dict[str, Any]]
    reason_codes: list[str]
    checks: list[dict[str, Any]]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "AcceptResult":
        result = data.get("accept_result", {})
        failures = list(result.get("failures", []))
        return cls(
            job_id=data.get("job_id", result.get("job_id", "")),
            passed=not failures,
            checks_run=int(result.get("checks_run", 0)),
            checks_passed=int(result.get("checks_passed", 0)),
            failures=failures,
            reason_codes=list(result.get("reason_codes", [])),
            checks=list(data.get("checks", [])),
            raw=data,
        )


@dataclass(frozen=True)
class GithubSummary:
    job_id: str
    status: str
    markdown: str
    summary_json_path: str
    summary_markdown_path: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GithubSummary":
        summary = data.get("summary", {})
        return cls(
            job_id=summary.get("job_id", ""),
            status=summary.get("status", ""),
            markdown=summary.get("markdown", ""),
            summary_json_path=data.get("summary_json_path", ""),
            summary_markdown_path=data.get("summary_markdown_path", ""),
            raw=data,
        )
