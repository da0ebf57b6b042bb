"""wrkr: the Python SDK. Drives the wrkr CLI (``--json``) and raises :class:`WrkrError` with the
real reason code, exit code and details on failure. ``wrkr.step()`` reports from inside a step."""
from .client import Version, Wrkr
from .errors import WrkrError
from .step import Step, step
from .types import AcceptResult, GithubSummary, Approval, Checkpoint, ExportResult, JobStatus, RunResult, StreamDigest, VerifyResult, WrapResult

__all__ = ["AcceptResult", "GithubSummary", 
    "Approval", "Checkpoint", "ExportResult", "JobStatus", "RunResult", "Step", "StreamDigest", "Version",
    "VerifyResult", "WrapResult", "Wrkr", "WrkrError", "step",
]
__version__ = "0.1.0"
