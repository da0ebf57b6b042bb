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
