import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "sdk" / "python" / "src"))


@pytest.fixture
def wrkr_bin() -> str:
    binary = os.environ.get("WRKR_BIN") or str(ROOT / "target" / "debug" / "wrkr")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"wrkr binary not found at {binary}: run `cargo build` first or set WRKR_BIN")
    return binary


@pytest.fixture
def client(wrkr_bin, tmp_path):
    from wrkr import Wrkr

    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return Wrkr(wrkr_bin, cwd=work, env={"WRKR_HOME": str(home)})
