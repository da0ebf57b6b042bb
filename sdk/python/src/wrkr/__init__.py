"""wrkr: the Python SDK. Drives the wrkr CLI (``--json``) and raises :class:`WrkrError` with the
real reason code, exit code and details on failure."""
from .client import Version, Wrkr
from .errors import WrkrError

__all__ = ["Version", "Wrkr", "WrkrError"]
__version__ = "0.1.0"
