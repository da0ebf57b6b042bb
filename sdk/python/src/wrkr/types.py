"""Typed results mirroring wrkr's JSON contracts.

Each dataclass is built from one command's ``--json`` output by ``from_json`` and keeps the full
JSON in ``raw``, so a field wrkr adds later is reachable before the SDK names it. Statuses and
checkpoint types are ``Literal`` types: a type checker knows every value wrkr can return.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args

JSON = Union[dict[str, "JSON"], list["JSON"], str, int, float, bool, None]
"""Any JSON value as :func:`json.loads` returns it (what :meth:`wrkr.Wrkr.run_json` returns)."""

JobStatusName = Literal[
    "queued",
    "running",
    "paused",
    "blocked_decision",
    "blocked_budget",
    "blocked_error",
    "completed",
    "canceled",
]
"""Every status a job can have (docs/contracts/runner.md)."""

CheckpointType = Literal["plan", "progress", "decision-needed", "blocked", "completed"]
"""The checkpoint types of the adapter protocol."""

JOB_STATUSES: tuple[JobStatusName, ...] = get_args(JobStatusName)
"""The values of :data:`JobStatusName`, in lifecycle order."""


def _strs(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_num(value: Any) -> float | None:
    return None if value is None else float(value)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON list (anything else in it is skipped); ``[]`` for a non-list."""
    return [dict(v) for v in value if isinstance(v, dict)] if isinstance(value, list) else []


_AllStr = TypeVar("_AllStr", bound="_StrFields")


class _StrFields:
    """A result whose every field is a required string of the same name in the JSON (each
    subclass is a dataclass; the annotation below tells a type checker so)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_json(cls: type[_AllStr], data: dict[str, Any]) -> _AllStr:
        """Parse the object: each field is ``str(data[name])``."""
        return cls(**{f.name: str(data[f.name]) for f in fields(cls)})


_V = TypeVar("_V", covariant=True)


class _FieldMapping(Mapping[str, _V]):
    """A typed result that still reads like the dict it replaced: ``x["step_count"]``, ``dict(x)``,
    ``x.get(...)`` and ``x == {...}`` work as before, so code written against the dict keeps
    working while new code uses the attributes. Each subclass is a frozen dataclass with
    ``eq=False`` (equality is the mapping's: equal to a dict with the same keys and values)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __getitem__(self, key: str) -> _V:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        value: _V = getattr(self, key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)


@dataclass(frozen=True, eq=False)
class BudgetState(_FieldMapping[int]):
    """A checkpoint's budget usage when it was recorded (``wrkr.checkpoint`` ``budget_state``)."""

    wall_time_seconds: int
    retry_count: int
    step_count: int
    tool_call_count: int

    @classmethod
    def from_json(cls, data: Any) -> BudgetState:
        """Parse ``budget_state`` (a missing count is 0)."""
        d = _dict(data)
        return cls(**{f.name: int(d.get(f.name, 0)) for f in fields(cls)})


@dataclass(frozen=True, eq=False)
class ArtifactsDelta(_FieldMapping[list[str]]):
    """The artifact paths added, changed and removed since the previous checkpoint."""

    added: list[str]
    changed: list[str]
    removed: list[str]

    @classmethod
    def from_json(cls, data: Any) -> ArtifactsDelta:
        """Parse ``artifacts_delta`` (a missing list is empty)."""
        d = _dict(data)
        return cls(added=_strs(d.get("added")), changed=_strs(d.get("changed")), removed=_strs(d.get("removed")))


@dataclass(frozen=True, eq=False)
class Lease(_FieldMapping[Any]):
    """The lease ``wrkr status`` reports: who holds the job, until when, and its generation."""

    worker_id: str
    lease_id: str
    expires_at: str
    epoch: int | None = None
    expired: bool | None = None

    @classmethod
    def from_json(cls, data: Any) -> Lease | None:
        """``None`` when no lease is recorded."""
        if not isinstance(data, dict):
            return None
        epoch, expired = data.get("epoch"), data.get("expired")
        return cls(
            worker_id=str(data.get("worker_id", "")),
            lease_id=str(data.get("lease_id", "")),
            expires_at=str(data.get("expires_at", "")),
            epoch=None if epoch is None else int(epoch),
            expired=None if expired is None else bool(expired),
        )


@dataclass(frozen=True)
class BudgetViolation:
    """A budget over its limit, as ``wrkr budget`` reports it (``tokens>5000``)."""

    budget: str
    limit: float
    text: str

    @classmethod
    def from_json(cls, data: Any) -> BudgetViolation:
        """Parse one violation: wrkr writes ``NAME>LIMIT`` (an object with those keys is read too)."""
        if isinstance(data, dict):
            name, limit = str(data.get("budget", data.get("name", ""))), data.get("limit", 0)
            return cls(budget=name, limit=float(limit or 0), text=f"{name}>{limit}")
        text = str(data)
        name, _, limit = text.partition(">")
        try:
            value = float(limit)
        except ValueError:
            value = 0.0
        return cls(budget=name, limit=value, text=text)


@dataclass(frozen=True)
class RequiredAction:
    """What a human must do at a checkpoint (``kind`` is e.g. ``approve``)."""

    kind: str
    instructions: str

    @classmethod
    def from_json(cls, data: Any) -> RequiredAction | None:
        """``None`` when the checkpoint asks for nothing."""
        if not isinstance(data, dict):
            return None
        return cls(kind=str(data.get("kind", "")), instructions=str(data.get("instructions", "")))


@dataclass(frozen=True)
class Checkpoint:
    """A ``wrkr.checkpoint`` (``checkpoint list|show|emit``)."""

    checkpoint_id: str
    job_id: str
    type: CheckpointType
    summary: str
    status: JobStatusName
    created_at: str
    budget_state: BudgetState
    artifacts_delta: ArtifactsDelta
    reason_codes: list[str]
    required_action: RequiredAction | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        """Parse one checkpoint object."""
        return cls(
            checkpoint_id=str(data["checkpoint_id"]),
            job_id=str(data["job_id"]),
            type=data["type"],
            summary=str(data.get("summary", "")),
            status=data["status"],
            created_at=str(data["created_at"]),
            budget_state=BudgetState.from_json(data.get("budget_state")),
            artifacts_delta=ArtifactsDelta.from_json(data.get("artifacts_delta")),
            reason_codes=_strs(data.get("reason_codes")),
            required_action=RequiredAction.from_json(data.get("required_action")),
            raw=data,
        )


@dataclass(frozen=True)
class JobStatus:
    """``wrkr status``: the job's status as replayed from its ledger."""

    job_id: str
    status: JobStatusName
    summary: str
    reason_codes: list[str]
    lease: Lease | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobStatus:
        """Parse a ``wrkr.status_response``."""
        return cls(
            job_id=str(data["job_id"]),
            status=data["status"],
            summary=str(data.get("summary", "")),
            reason_codes=_strs(data.get("reason_codes")),
            lease=Lease.from_json(data.get("lease")),
            raw=data,
        )


@dataclass(frozen=True)
class JobSummary:
    """One line of ``wrkr jobs``."""

    job_id: str
    status: JobStatusName
    started_at: str | None
    updated_at: str | None
    last_seq: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSummary:
        """Parse one ``jobs`` line."""
        return cls(
            job_id=str(data["job_id"]),
            status=data["status"],
            started_at=_opt_str(data.get("started_at")),
            updated_at=_opt_str(data.get("updated_at")),
            last_seq=int(data.get("last_seq", 0)),
            raw=data,
        )


@dataclass(frozen=True)
class JobState:
    """The replayed state ``pause`` and ``cancel`` return."""

    job_id: str
    status: JobStatusName
    retry_count: int
    step_count: int
    tool_call_count: int
    last_applied_seq: int
    lease_epoch: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobState:
        """Parse a job state object."""
        return cls(
            job_id=str(data["job_id"]),
            status=data["status"],
            retry_count=int(data.get("retry_count", 0)),
            step_count=int(data.get("step_count", 0)),
            tool_call_count=int(data.get("tool_call_count", 0)),
            last_applied_seq=int(data.get("last_applied_seq", 0)),
            lease_epoch=int(data.get("lease_epoch", 0)),
            raw=data,
        )


@dataclass(frozen=True)
class BudgetFigures:
    """One row of a budget view; ``None`` means no limit (or, under ``remaining``, unbounded)."""

    wall_time_seconds: float | None
    step_count: float | None
    tool_call_count: float | None
    retry_count: float | None
    tokens: float | None
    estimated_cost: float | None

    @classmethod
    def from_json(cls, data: Any) -> BudgetFigures:
        """Parse ``limits``, ``usage`` or ``remaining``."""
        d = _dict(data)
        return cls(
            wall_time_seconds=_opt_num(d.get("wall_time_seconds")),
            step_count=_opt_num(d.get("step_count")),
            tool_call_count=_opt_num(d.get("tool_call_count")),
            retry_count=_opt_num(d.get("retry_count")),
            tokens=_opt_num(d.get("tokens")),
            estimated_cost=_opt_num(d.get("estimated_cost")),
        )


@dataclass(frozen=True)
class Budget:
    """``wrkr budget show|report|raise``: limits, usage, what remains, and any violations."""

    job_id: str
    status: JobStatusName
    limits: BudgetFigures
    usage: BudgetFigures
    remaining: BudgetFigures
    violations: list[BudgetViolation]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Budget:
        """Parse a budget view."""
        return cls(
            job_id=str(data["job_id"]),
            status=data["status"],
            limits=BudgetFigures.from_json(data.get("limits")),
            usage=BudgetFigures.from_json(data.get("usage")),
            remaining=BudgetFigures.from_json(data.get("remaining")),
            violations=[BudgetViolation.from_json(v) for v in _list(data.get("violations"))],
            raw=data,
        )


@dataclass(frozen=True)
class RunResult:
    """What ``submit`` and ``resume`` return."""

    job_id: str
    status: JobStatusName
    checkpoint_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        """Parse a submit/resume result."""
        return cls(
            job_id=str(data["job_id"]),
            status=data["status"],
            checkpoint_id=_opt_str(data.get("checkpoint_id")),
            raw=data,
        )


@dataclass(frozen=True)
class Approval:
    """A ``wrkr.approval_record``."""

    job_id: str
    checkpoint_id: str
    reason: str
    approved_by: str
    created_at: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Approval:
        """Parse an approval record."""
        return cls(
            job_id=str(data["job_id"]),
            checkpoint_id=str(data["checkpoint_id"]),
            reason=str(data.get("reason", "")),
            approved_by=str(data.get("approved_by", "")),
            created_at=str(data["created_at"]),
            raw=data,
        )


@dataclass(frozen=True)
class Event:
    """One ledger record (``wrkr-events``): ``seq``, ``created_at``, ``type``, ``payload``."""

    seq: int
    created_at: str
    type: str
    payload: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """Parse one ledger line."""
        return cls(
            seq=int(data["seq"]),
            created_at=str(data["created_at"]),
            type=str(data["type"]),
            payload=_dict(data.get("payload")),
        )


@dataclass(frozen=True)
class StreamDigest:
    """A wrapped command's stdout or stderr: sha256 and size of the full stream, and whether the
    job's log kept only its tail."""

    sha256: str
    bytes: int
    truncated: bool

    @classmethod
    def from_json(cls, data: Any) -> StreamDigest | None:
        """``None`` when the stream was not recorded."""
        if not isinstance(data, dict) or not data:
            return None
        return cls(sha256=str(data["sha256"]), bytes=int(data["bytes"]), truncated=bool(data["truncated"]))


@dataclass(frozen=True)
class WrapResult:
    """``wrkr wrap --json``: the job, how the command ended, its artifacts and the exported pack."""

    job_id: str
    status: JobStatusName
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
    def from_json(cls, data: dict[str, Any]) -> WrapResult:
        """Parse a wrap result (also the ``stdout`` of a failed wrap's error)."""
        adapter = _dict(data.get("adapter_result"))
        return cls(
            job_id=str(data["job_id"]),
            status=adapter.get("status", "queued"),
            exit_code=int(adapter.get("exit_code", 0)),
            outcome=str(adapter.get("outcome", "")),
            jobpack_path=str(data["jobpack_path"]),
            manifest_sha256=str(data["manifest_sha256"]),
            footer=str(data["footer"]),
            artifacts={str(k): _strs(v) for k, v in _dict(data.get("artifacts")).items()},
            stdout=StreamDigest.from_json(data.get("stdout")),
            stderr=StreamDigest.from_json(data.get("stderr")),
            raw=data,
        )


@dataclass(frozen=True)
class ExportResult:
    """``wrkr export --json``: where the pack went, its manifest hash and footer."""

    job_id: str
    path: str
    manifest_sha256: str
    footer: str
    missing_artifacts: list[str]
    signature: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportResult:
        """Parse an export result."""
        return cls(
            job_id=str(data["job_id"]),
            path=str(data["path"]),
            manifest_sha256=str(data["manifest_sha256"]),
            footer=str(data["footer"]),
            missing_artifacts=_strs(data.get("missing_artifacts")),
            signature=_opt_str(data.get("signature")),
            raw=data,
        )


@dataclass(frozen=True)
class VerifyCheck:
    """One passed verify check: its name and result (``ok``, ``5 ok``, ``valid``, ...)."""

    check: str
    result: str


@dataclass(frozen=True)
class VerifyResult:
    """``wrkr verify --json``: the pack passed every check (a failure raises ``VerifyFailedError``)."""

    job_id: str
    manifest_sha256: str
    files_verified: int
    checks: list[VerifyCheck]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def signature(self) -> str:
        """The signature check's result: ``absent``, ``valid``, or what else verify reported."""
        return next((c.result for c in self.checks if c.check == "signature"), "absent")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerifyResult:
        """Parse a verify result."""
        return cls(
            job_id=str(data.get("job_id", "")),
            manifest_sha256=str(data.get("manifest_sha256", "")),
            files_verified=int(data.get("files_verified", 0)),
            checks=[
                VerifyCheck(check=str(c.get("check", "")), result=str(c.get("result", "")))
                for c in _objects(data.get("checks"))
            ],
            raw=data,
        )


@dataclass(frozen=True)
class AcceptCheck:
    """One acceptance check: name, status (``passed``, ``failed``, ``skipped``) and message."""

    name: str
    status: str
    message: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AcceptResult:
    """``wrkr accept run``: the ``wrkr.accept_result`` plus the per-check list."""

    job_id: str
    passed: bool
    checks_run: int
    checks_passed: int
    failures: list[dict[str, Any]]
    reason_codes: list[str]
    checks: list[AcceptCheck]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AcceptResult:
        """Parse an acceptance result."""
        result = _dict(data.get("accept_result"))
        return cls(
            job_id=str(data.get("job_id", result.get("job_id", ""))),
            passed=not result.get("failures"),
            checks_run=int(result.get("checks_run", 0)),
            checks_passed=int(result.get("checks_passed", 0)),
            failures=_objects(result.get("failures")),
            reason_codes=_strs(result.get("reason_codes")),
            checks=[
                AcceptCheck(
                    name=str(c.get("name", "")),
                    status=str(c.get("status", "")),
                    message=str(c.get("message", "")),
                    raw=c,
                )
                for c in _objects(data.get("checks"))
            ],
            raw=data,
        )


@dataclass(frozen=True)
class GithubSummary:
    """``wrkr report github``: the step summary markdown and where it was written."""

    job_id: str
    status: str
    markdown: str
    summary_json_path: str
    summary_markdown_path: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GithubSummary:
        """Parse a report result."""
        summary = _dict(data.get("summary"))
        return cls(
            job_id=str(summary.get("job_id", "")),
            status=str(summary.get("status", "")),
            markdown=str(summary.get("markdown", "")),
            summary_json_path=str(data.get("summary_json_path", "")),
            summary_markdown_path=str(data.get("summary_markdown_path", "")),
            raw=data,
        )


@dataclass(frozen=True)
class KeyPair(_StrFields):
    """``wrkr keygen``: the key id and the paths of the private and public key files."""

    key_id: str
    private_key: str
    public_key: str


@dataclass(frozen=True)
class Receipt(_StrFields):
    """``wrkr receipt``: the ticket footer of a verified pack."""

    job_id: str
    manifest_sha256: str
    footer: str


@dataclass(frozen=True)
class Footer(_StrFields):
    """``wrkr receipt --parse``: the parts of a ticket footer line."""

    job_id: str
    manifest_sha256: str
    verify_target: str


@dataclass(frozen=True)
class WorkItem:
    """``wrkr bridge work-item``: a decision turned into a ticket for a human."""

    job_id: str
    checkpoint_id: str
    checkpoint_type: str
    required_action: str
    reason_codes: list[str]
    next_commands: list[str]
    paths: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkItem:
        """Parse a bridge result (the work item sits under ``payload``; written files beside it)."""
        item = _dict(data.get("payload")) or data
        action = item.get("required_action")
        if isinstance(action, dict):
            action = action.get("kind", "")
        return cls(
            job_id=str(item.get("job_id", "")),
            checkpoint_id=str(item.get("checkpoint_id", "")),
            checkpoint_type=str(item.get("checkpoint_type", "")),
            required_action=str(action or ""),
            reason_codes=_strs(item.get("reason_codes")),
            next_commands=_strs(item.get("next_commands")),
            paths={str(k): str(v) for k, v in data.items() if k.endswith("_path") and isinstance(v, str)},
            raw=data,
        )


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a job's timeline: an event, checkpoint or approval."""

    at: str
    kind: str
    id: str
    summary: str


@dataclass(frozen=True)
class Inspection:
    """``wrkr job inspect``: counts and the timeline of a job or pack."""

    job_id: str
    status: str
    event_count: int
    checkpoint_count: int
    approval_count: int
    timeline: list[TimelineEntry]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inspection:
        """Parse an inspection."""
        return cls(
            job_id=str(data["job_id"]),
            status=str(data.get("status", "")),
            event_count=int(data.get("event_count", 0)),
            checkpoint_count=int(data.get("checkpoint_count", 0)),
            approval_count=int(data.get("approval_count", 0)),
            timeline=[
                TimelineEntry(
                    at=str(t.get("at", "")),
                    kind=str(t.get("kind", "")),
                    id=str(t.get("id", "")),
                    summary=str(t.get("summary", "")),
                )
                for t in _objects(data.get("timeline"))
            ],
            raw=data,
        )


@dataclass(frozen=True)
class RecordDiff:
    """Record ids added, removed and changed between two packs."""

    added: list[str]
    removed: list[str]
    changed: list[str]

    @classmethod
    def from_json(cls, data: Any) -> RecordDiff:
        """Parse one ``{added, removed, changed}`` object."""
        d = _dict(data)
        return cls(added=_strs(d.get("added")), removed=_strs(d.get("removed")), changed=_strs(d.get("changed")))


@dataclass(frozen=True)
class PackDiff:
    """``wrkr job diff``: files and records that differ between two packs."""

    job_id_a: str
    job_id_b: str
    files: RecordDiff
    events: RecordDiff
    checkpoints: RecordDiff
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def identical(self) -> bool:
        """Whether nothing differs."""
        return not any(
            d.added or d.removed or d.changed for d in (self.files, self.events, self.checkpoints)
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PackDiff:
        """Parse a diff."""
        records = _dict(data.get("records"))
        return cls(
            job_id_a=str(data.get("job_id_a", "")),
            job_id_b=str(data.get("job_id_b", "")),
            files=RecordDiff.from_json(data),
            events=RecordDiff.from_json(records.get("events")),
            checkpoints=RecordDiff.from_json(records.get("checkpoints")),
            raw=data,
        )
