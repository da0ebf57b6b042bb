"""Errors raised by the SDK.

Every failure of a wrkr command is a :class:`WrkrError` carrying wrkr's reason code, exit code and
details from the ``wrkr.error_envelope``. Callers that care about *why* catch a subclass chosen by
the reason code, so that ``except LeaseConflictError`` means the same thing as the CLI's
``E_LEASE_CONFLICT`` (docs/contracts/cli.md):

=============================  ====================================  ====
class                          reason code                           exit
=============================  ====================================  ====
:class:`InvalidInputError`     ``E_INVALID_INPUT_SCHEMA``            6
:class:`NotFoundError`         ``E_INVALID_INPUT_SCHEMA``, "... not found ..."  6
:class:`ApprovalRequiredError` ``E_CHECKPOINT_APPROVAL_REQUIRED``    4
:class:`LeaseConflictError`    ``E_LEASE_CONFLICT``                  1
:class:`BudgetExceededError`   ``E_BUDGET_EXCEEDED``                 1
:class:`StepFailedError`       ``E_ADAPTER_FAIL``                    1
:class:`EnvironmentMismatchError` ``E_ENV_FINGERPRINT_MISMATCH``     1
:class:`InvalidTransitionError` ``E_INVALID_STATE_TRANSITION``       1
:class:`StoreCorruptError`     ``E_STORE_CORRUPT``                   1
:class:`VerifyFailedError`     ``E_VERIFY_HASH_MISMATCH`` (and any failed ``verify``)  2
:class:`AcceptanceFailedError` ``E_ACCEPT_MISSING_ARTIFACT``, ``E_ACCEPT_TEST_FAIL``  5
:class:`UnsafeOperationError`  ``E_UNSAFE_OPERATION``                8
=============================  ====================================  ====

Two errors are the SDK's own: :class:`WrkrTimeoutError` (a call outlived ``timeout=``; the command
was interrupted the way Ctrl-C interrupts it, so the job is left in a truthful, resumable state)
and :class:`BinaryNotFoundError` (no wrkr binary where the SDK looked).
"""
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
        self.details: dict[str, Any] = details or {}
        self.stdout = stdout
        self.stderr = stderr

    @property
    def hint(self) -> str | None:
        """What wrkr suggests doing next, when it said."""
        hint = self.details.get("hint")
        return hint if isinstance(hint, str) else None

    @classmethod
    def from_process(cls, exit_code: int, stdout: str, stderr: str) -> WrkrError:
        """Build the error from a failed ``--json`` invocation (the envelope is on stderr).

        The class is chosen by the reason code (see the module table); called on a subclass, that
        subclass is used whatever the code (``VerifyFailedError.from_process`` for ``verify``).
        """
        envelope = _last_json_object(stderr)
        if envelope is not None and envelope.get("schema_id") == "wrkr.error_envelope":
            code = str(envelope.get("code", "E_GENERIC_FAILURE"))
            message = str(envelope.get("message", ""))
            details = envelope.get("details")
            raw_exit = envelope.get("exit_code", exit_code)
            exit_value = raw_exit if isinstance(raw_exit, int) else exit_code
        else:
            code = "E_GENERIC_FAILURE"
            message = stderr.strip() or f"wrkr failed with exit code {exit_code}"
            details = None
            exit_value = exit_code
        error_class: type[WrkrError] = cls if cls is not WrkrError else _class_for(code, message)
        return error_class(
            code,
            message,
            exit_value,
            details=details if isinstance(details, dict) else None,
            stdout=stdout,
            stderr=stderr,
        )


class InvalidInputError(WrkrError):
    """The input was refused: a bad argument, spec, id or record (``E_INVALID_INPUT_SCHEMA``, exit 6)."""


class NotFoundError(InvalidInputError):
    """The job, checkpoint or pack asked for does not exist (exit 6; ``details`` names it)."""


class ApprovalRequiredError(WrkrError):
    """The job waits at a decision that has not been approved (``E_CHECKPOINT_APPROVAL_REQUIRED``, exit 4)."""


class LeaseConflictError(WrkrError):
    """Another runner holds the job, or this one was fenced out (``E_LEASE_CONFLICT``, exit 1)."""


class BudgetExceededError(WrkrError):
    """A budget stopped the job (``E_BUDGET_EXCEEDED``, exit 1); ``wrkr budget raise`` + resume continue it."""


class StepFailedError(WrkrError):
    """A step or wrapped command failed (``E_ADAPTER_FAIL``, exit 1)."""


class EnvironmentMismatchError(WrkrError):
    """The environment fingerprint changed since submit (``E_ENV_FINGERPRINT_MISMATCH``, exit 1)."""


class InvalidTransitionError(WrkrError):
    """The job is not in a status that allows this (``E_INVALID_STATE_TRANSITION``, exit 1)."""


class StoreCorruptError(WrkrError):
    """A ledger line could not be read back (``E_STORE_CORRUPT``, exit 1)."""


class VerifyFailedError(WrkrError):
    """A jobpack failed verification (``E_VERIFY_HASH_MISMATCH``, exit 2, or the check that failed)."""


class AcceptanceFailedError(WrkrError):
    """Acceptance checks failed (exit 5); ``stdout`` holds the result."""


class UnsafeOperationError(WrkrError):
    """The operation needs its explicit unsafe flag (``E_UNSAFE_OPERATION``, exit 8)."""


class WrkrTimeoutError(WrkrError, TimeoutError):
    """The call outlived its ``timeout=``.

    The command was interrupted as Ctrl-C interrupts it (SIGTERM, then SIGKILL after a grace
    period): a running step is stopped, the interruption recorded and the lease released, so
    ``status`` tells the truth and ``resume`` continues the job.
    """

    def __init__(self, message: str, timeout: float, exit_code: int, stdout: str = "", stderr: str = "") -> None:
        super().__init__("E_GENERIC_FAILURE", message, exit_code, stdout=stdout, stderr=stderr)
        self.timeout = timeout


class BinaryNotFoundError(WrkrError, FileNotFoundError):
    """No wrkr binary where the SDK looked (``binary=``, ``$WRKR_BIN``, then ``PATH``)."""

    def __init__(self, binary: str) -> None:
        super().__init__(
            "E_GENERIC_FAILURE",
            f"wrkr binary not found: {binary!r}; pass Wrkr(binary='/path/to/wrkr'), set WRKR_BIN, "
            "or put wrkr on PATH (`make build` writes bin/wrkr)",
            127,
        )
        self.binary = binary


_BY_CODE: dict[str, type[WrkrError]] = {
    "E_INVALID_INPUT_SCHEMA": InvalidInputError,
    "E_CHECKPOINT_APPROVAL_REQUIRED": ApprovalRequiredError,
    "E_LEASE_CONFLICT": LeaseConflictError,
    "E_BUDGET_EXCEEDED": BudgetExceededError,
    "E_ADAPTER_FAIL": StepFailedError,
    "E_ENV_FINGERPRINT_MISMATCH": EnvironmentMismatchError,
    "E_INVALID_STATE_TRANSITION": InvalidTransitionError,
    "E_STORE_CORRUPT": StoreCorruptError,
    "E_VERIFY_HASH_MISMATCH": VerifyFailedError,
    "E_ACCEPT_MISSING_ARTIFACT": AcceptanceFailedError,
    "E_ACCEPT_TEST_FAIL": AcceptanceFailedError,
    "E_UNSAFE_OPERATION": UnsafeOperationError,
}


def _class_for(code: str, message: str) -> type[WrkrError]:
    # "job not found" (and "checkpoint not found", ...) is the contract's wording for a missing
    # thing (docs/contracts/store.md, Go's envelope); the code alone cannot tell it from bad input.
    if code == "E_INVALID_INPUT_SCHEMA" and " not found" in message:
        return NotFoundError
    return _BY_CODE.get(code, WrkrError)


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
