"""`pip install ./sdk/python` works with no network: the build backend is in-tree."""
import os
import pathlib
import subprocess
import sys
import zipfile

SDK = pathlib.Path(__file__).resolve().parents[1]


def test_offline_wheel_install(tmp_path):
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(SDK)],
        capture_output=True, text=True, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (target / "wrkr" / "py.typed").exists()
    check = subprocess.run(
        [sys.executable, "-c", "import wrkr, sys; sys.stdout.write(wrkr.__version__)"],
        capture_output=True, text=True, env={**env, "PYTHONPATH": str(target)}, check=False,
    )
    assert check.stdout == "0.1.0", check.stderr


def test_wheel_is_reproducible(tmp_path):
    sys.path.insert(0, str(SDK / "_build"))
    import wrkr_build

    first = tmp_path / "a"
    second = tmp_path / "b"
    first.mkdir()
    second.mkdir()
    name = wrkr_build.build_wheel(str(first))
    assert wrkr_build.build_wheel(str(second)) == name
    assert (first / name).read_bytes() == (second / name).read_bytes()
    names = zipfile.ZipFile(first / name).namelist()
    assert "wrkr/__init__.py" in names and "wrkr-0.1.0.dist-info/RECORD" in names
