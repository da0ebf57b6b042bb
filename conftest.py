"""What every pytest suite of this repository shares (`make test` runs them all from here, and
pytest.ini makes this directory pytest's rootdir wherever a suite is started): the wrkr binary
under test."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def wrkr_bin() -> str:
    """`$WRKR_BIN`, else the debug build in target/; a missing binary fails the test and says how
    to build one."""
    binary = os.environ.get("WRKR_BIN") or str(ROOT / "target" / "debug" / "wrkr")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"wrkr binary not found at {binary}: run `cargo build` first or set WRKR_BIN")
    return binary
