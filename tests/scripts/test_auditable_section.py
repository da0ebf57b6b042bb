"""scripts/auditable_section.py on small real ELF files made with objcopy: `.dep-v0` present or
absent, a non-ELF file not checked, a truncated ELF an error (exit 2), not a crash."""
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "auditable_section.py"
TRUE = pathlib.Path("/bin/true")
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("objcopy") is None, reason="needs an ELF /bin/true and binutils' objcopy"
)


def _check(path):
    return subprocess.run([sys.executable, str(CHECK), str(path)], capture_output=True, text=True)


def test_present_absent_and_not_elf(tmp_path):
    payload = tmp_path / "deps.json.zlib"
    payload.write_bytes(b"x\x9c\x03\x00\x00\x00\x00\x01")
    marked = tmp_path / "marked"
    subprocess.run(["objcopy", f"--add-section=.dep-v0={payload}", str(TRUE), str(marked)], check=True)
    other = tmp_path / "other"
    subprocess.run(["objcopy", f"--add-section=.dep-v1={payload}", str(TRUE), str(other)], check=True)
    assert _check(marked).stdout == "present\n"
    assert _check(other).stdout == "absent\n"
    assert _check(TRUE).stdout == "absent\n"
    assert _check(ROOT / "scripts" / "coverage.sh").stdout == "not-elf\n"


def test_a_truncated_elf_is_an_error(tmp_path):
    cut = tmp_path / "cut"
    cut.write_bytes(TRUE.read_bytes()[:200])
    proc = _check(cut)
    assert proc.returncode == 2
    assert "auditable-section:" in proc.stderr and "Traceback" not in proc.stderr
