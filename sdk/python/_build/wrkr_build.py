"""A minimal PEP 517 build backend for the wrkr SDK: pure Python, no dependencies.

It builds a wheel (and an sdist) from src/wrkr by writing the zip and the dist-info files itself,
so installation works offline. Only what this package needs is implemented.
"""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "wrkr"
VERSION = "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src", NAME)
DIST_INFO = f"{NAME}-{VERSION}.dist-info"
TAG = "py3-none-any"
METADATA = (
    "Metadata-Version: 2.1\n"
    f"Name: {NAME}\n"
    f"Version: {VERSION}\n"
    "Summary: Python SDK for wrkr: drive the wrkr CLI and parse its JSON contracts\n"
    "Requires-Python: >=3.11\n"
    "License: MIT\n"
)
# A fixed timestamp keeps the wheel byte-identical across builds.
EPOCH = (1980, 1, 1, 0, 0, 0)


def _package_files():
    for dirpath, dirnames, filenames in os.walk(SRC):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".typed")):
                full = os.path.join(dirpath, name)
                yield full, os.path.relpath(full, os.path.dirname(SRC)).replace(os.sep, "/")


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write(zf, arcname, data, records):
    info = zipfile.ZipInfo(arcname, date_time=EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
    records.append(_record_line(arcname, data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    filename = f"{NAME}-{VERSION}-{TAG}.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for full, arcname in _package_files():
            with open(full, "rb") as f:
                _write(zf, arcname, f.read(), records)
        _write(zf, f"{DIST_INFO}/METADATA", METADATA.encode(), records)
        wheel = f"Wheel-Version: 1.0\nGenerator: wrkr_build\nRoot-Is-Purelib: true\nTag: {TAG}\n"
        _write(zf, f"{DIST_INFO}/WHEEL", wheel.encode(), records)
        records.append(f"{DIST_INFO}/RECORD,,")
        info = zipfile.ZipInfo(f"{DIST_INFO}/RECORD", date_time=EPOCH)
        zf.writestr(info, "\n".join(records) + "\n")
    return filename


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """An editable install: a .pth file pointing at src/."""
    filename = f"{NAME}-{VERSION}-{TAG}.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        _write(zf, f"__editable__.{NAME}.pth", (os.path.join(ROOT, "src") + "\n").encode(), records)
        _write(zf, f"{DIST_INFO}/METADATA", METADATA.encode(), records)
        wheel = f"Wheel-Version: 1.0\nGenerator: wrkr_build\nRoot-Is-Purelib: true\nTag: {TAG}\n"
        _write(zf, f"{DIST_INFO}/WHEEL", wheel.encode(), records)
        records.append(f"{DIST_INFO}/RECORD,,")
        zf.writestr(zipfile.ZipInfo(f"{DIST_INFO}/RECORD", date_time=EPOCH), "\n".join(records) + "\n")
    return filename


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build/wrkr_build.py"]:
            tar.add(os.path.join(ROOT, rel), arcname=f"{base}/{rel}")
        for full, arcname in _package_files():
            tar.add(full, arcname=f"{base}/src/{arcname}")
        data = (METADATA).encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return filename
