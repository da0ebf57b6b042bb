"""scripts/check_perf_budgets against synthetic results: a miss names the row and both figures,
a met budget passes, an unmeasured row is reported and not failed."""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_perf_budgets"
sys.path.insert(0, str(ROOT / "scripts"))


def _results(tmp_path, monkeypatch, rows):
    from benchlib import record

    monkeypatch.setenv("WRKR_BENCH_ROWS", str(tmp_path / "rows.jsonl"))
    for row in rows:
        record(*row)
    lines = (tmp_path / "rows.jsonl").read_text().splitlines()
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"machine": {}, "rows": [json.loads(l) for l in lines]}))
    budgets = tmp_path / "budgets.json"
    budgets.write_text(json.dumps({"rows": {"a": {"max_ratio": 1.25, "max_rss_mib": 24}, "b": {"max_value": 10}, "c": {"max_ratio": 2}}}))
    return subprocess.run([sys.executable, str(CHECK), str(path), "--budgets", str(budgets)], capture_output=True, text=True)


def test_a_miss_names_the_row_and_both_figures(tmp_path, monkeypatch):
    proc = _results(tmp_path, monkeypatch, [("a", "runner", 1.3, "s", 1.0, "floor", 30.0), ("b", "size", 5, "B")])
    assert proc.returncode == 1
    assert "a (runner): ratio 1.3 x floor > budget 1.25 x floor" in proc.stderr
    assert "a (runner): rss_mib 30.0 MiB > budget 24 MiB" in proc.stderr
    assert "skip  c: not measured" in proc.stdout


def test_met_budgets_pass(tmp_path, monkeypatch):
    proc = _results(tmp_path, monkeypatch, [("a", "runner", 1.2, "s", 1.0, "floor", 20.0), ("b", "size", 5, "B")])
    assert proc.returncode == 0, proc.stderr
    assert "perf budgets: 0 missed, 2 checked, 1 not measured" in proc.stdout


def test_the_repository_budgets_parse():
    budgets = json.loads((ROOT / "perf" / "budgets.json").read_text())["rows"]
    assert budgets and all(set(b) <= {"max_ratio", "max_value", "max_rss_mib"} for b in budgets.values())
