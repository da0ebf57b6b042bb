import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "sdk" / "python" / "src"))


@pytest.fixture
def client(wrkr_bin, tmp_path):
    from wrkr import Wrkr

    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return Wrkr(wrkr_bin, cwd=work, env={"WRKR_HOME": str(home)})
