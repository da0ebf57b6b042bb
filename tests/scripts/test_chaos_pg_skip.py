"""scripts/chaos/pg_multihost.py where it cannot create network namespaces: it says why, skips
(exit 0) outside CI and fails (exit 1) under CI=true, and creates nothing."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "chaos"))

import pg_multihost  # noqa: E402


def _run(monkeypatch, capsys, ci):
    monkeypatch.setattr(pg_multihost.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sys, "argv", ["pg_multihost.py", "--jobs", "3"])
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    code = pg_multihost.main()
    return code, capsys.readouterr().out


def test_skips_with_the_reason_outside_ci(monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, ci=False)
    assert code == 0
    assert "SKIPPED chaos-pg: cannot create network namespaces: not root" in out


def test_fails_under_ci(monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, ci=True)
    assert code == 1
    assert "FAILED chaos-pg (CI=true, so not skipped): cannot create network namespaces: not root" in out
