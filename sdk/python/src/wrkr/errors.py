"""Errors raised by the SDK: they carry wrkr's reason code, exit code and details."""
from __future__ import annotations

import json
from typing import Any


class WrkrError(Exception):
    """A wrkr command failed.

    ``code`` is the reason code from the ``wrkr.error_envelope`` (``E_...``), ``exit_code`` the
    process exit code, ``details`` the envelope's details (``{}`` when none). ``stdout`` keeps any
    payload the command printed before failing (acceptance and wrap print their result and then
    exit non-zero).
    """

    def __init__(
        self,
        code: str,
        message: str,
        exit_code: int,
        details: dict[str, Any] | None = None,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.exit_code = exit_code
        self.details = details or {}
        self.stdout = stdout
        self.stderr = stderr

    @classmethod
    def from_process(cls, exit_code: int, stdout: str, stderr: str) -> "WrkrError":
        """Build the error from a failed ``--json`` invocation (the envelope is on stderr)."""
        envelope = _last_json_object(stderr)
        if envelope is not None and envelope.get("schema_id") == "wrkr.error_envelope":
            return cls(
                code=str(envelope.get("code", "E_GENERIC_FAILURE")),
                message=str(envelope.get("message", "")),
                exit_code=int(envelope.get("exit_code", exit_code)),
                details=envelope.get("details") or {},
                stdout=stdout,
                stderr=stderr,
            )
        text = stderr.strip() or f"wrkr failed with exit code {exit_code}"
        return cls("E_GENERIC_FAILURE", text, exit_code, stdout=stdout, stderr=stderr)


def _last_json_object(text: str) -> dict[str, Any] | None:
    """The envelope is the last JSON document on stderr (pipe tools may report lines before it)."""
    start = text.rfind("\n{\n")
    candidates = [text[start + 1 :]] if start >= 0 else []
    candidates.append(text)
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None
