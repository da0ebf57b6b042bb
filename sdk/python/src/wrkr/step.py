"""Reporting from inside a running step (the adapter protocol).

A step started by wrkr has ``WRKR_EVENTS_FD`` (descriptor 3) and ``WRKR_EVENTS_PATH`` in its
environment. ``with wrkr.step() as s: s.tool_call("grep")`` writes protocol records there; wrkr
validates them, appends them to the job's ledger and applies budgets as they arrive. Outside wrkr
(no such variables) the reporter is inactive and every call is a no-op, so the same code runs in
tests and in production.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator


class Step:
    """The reporter of the step this process runs in (inactive outside wrkr).

    ``env`` defaults to ``os.environ``; pass a dict to build one for another environment.
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self.job_id = env.get("WRKR_JOB_ID")
        self.step_id = env.get("WRKR_STEP_ID")
        self._fd = _int(env.get("WRKR_EVENTS_FD"))
        self._path = env.get("WRKR_EVENTS_PATH")

    @property
    def active(self) -> bool:
        """Whether wrkr is listening (the step runs under wrkr)."""
        return self._fd is not None or bool(self._path)

    def _emit(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode()
        if self._fd is not None:
            try:
                os.write(self._fd, line)
                return
            except OSError:
                self._fd = None
        if self._path:
            with open(self._path, "ab") as f:
                f.write(line)

    def tool_call(self, name: str | None = None, count: int = 1) -> None:
        """Report ``count`` tool calls (counted against ``max_tool_calls``)."""
        record: dict[str, Any] = {"type": "tool_call", "count": count}
        if name is not None:
            record["name"] = name
        self._emit(record)

    def tokens(self, count: int) -> None:
        """Report tokens used (counted against ``max_tokens``)."""
        self._emit({"type": "tokens", "count": count})

    def cost(self, usd: float) -> None:
        """Report estimated cost in USD (counted against ``max_estimated_cost``)."""
        self._emit({"type": "cost", "usd": usd})

    def artifact(self, path: str, change: str = "added") -> None:
        """Report an artifact the step ``added``, ``changed`` or ``removed`` (workspace-relative)."""
        self._emit({"type": "artifact", "path": path, "change": change})

    def progress(self, note: str) -> None:
        """Report a progress note (shown by ``wrkr status``)."""
        self._emit({"type": "progress", "note": note})

    def checkpoint(self, checkpoint_type: str, summary: str, required_action: dict[str, str] | None = None,
                   reason_codes: list[str] | None = None) -> None:
        """Emit a checkpoint; a ``decision-needed`` one stops the job after this step."""
        record: dict[str, Any] = {"type": "checkpoint", "checkpoint_type": checkpoint_type, "summary": summary}
        if required_action is not None:
            record["required_action"] = required_action
        if reason_codes:
            record["reason_codes"] = reason_codes
        self._emit(record)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@contextmanager
def step() -> Iterator[Step]:
    """The current step's reporter (inactive outside wrkr)."""
    yield Step()
