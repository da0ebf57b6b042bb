"""scripts/coverage_gate.py against synthetic tarpaulin reports: below the minimum fails naming both
figures, at or above passes, an unset minimum or a report that is not one is an error, and the
ratchet only ever raises the minimum, to the measurement less the margin."""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
GATE = ROOT / "scripts" / "coverage_gate.py"


def _gate(tmp_path, files, minimum, *flags, extra=None):
    report = tmp_path / "tarpaulin-report.json"
    report.write_text(json.dumps({"files": [{"path": ["src", f"f{i}.rs"], "covered": c, "coverable": n} for i, (c, n) in enumerate(files)]}))
    thresholds = tmp_path / "coverage_thresholds.json"
    thresholds.write_text(json.dumps({"tool": "synthetic", "line_coverage_min_percent": minimum, **(extra or {})}))
    proc = subprocess.run([sys.executable, str(GATE), str(report), str(thresholds), *flags], capture_output=True, text=True)
    return proc, json.loads(thresholds.read_text())


def test_below_the_minimum_fails_naming_both_figures(tmp_path):
    proc, _ = _gate(tmp_path, [(60, 100), (10, 100)], 35.5)
    assert proc.returncode == 1
    assert "coverage: 70/200 lines = 35.00% (minimum 35.5%)" in proc.stdout
    assert "35.00% is below the minimum 35.5%" in proc.stderr


def test_at_or_above_the_minimum_passes(tmp_path):
    proc, kept = _gate(tmp_path, [(71, 100)], 71)
    assert proc.returncode == 0, proc.stderr
    assert kept["line_coverage_min_percent"] == 71


def test_an_unset_minimum_is_an_error_not_a_pass(tmp_path):
    proc, _ = _gate(tmp_path, [(90, 100)], None)
    assert proc.returncode == 2
    assert "sets no numeric line_coverage_min_percent" in proc.stderr


def test_each_module_is_shown_lowest_first(tmp_path):
    report = tmp_path / "tarpaulin-report.json"
    files = [
        (["/", "repo", "src", "run", "runner.rs"], 50, 100),
        (["/", "repo", "src", "run", "wrap.rs"], 30, 100),
        (["/", "repo", "src", "lib.rs"], 9, 10),
        (["/", "repo", "src", "pack", "zip.rs"], 60, 100),
        (["/", "repo", "src", "pack", "empty.rs"], 0, 0),
    ]
    report.write_text(json.dumps({"files": [{"path": p, "covered": c, "coverable": n} for p, c, n in files]}))
    thresholds = tmp_path / "t.json"
    thresholds.write_text(json.dumps({"line_coverage_min_percent": 10}))
    proc = subprocess.run([sys.executable, str(GATE), str(report), str(thresholds)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "coverage: 149/310 lines = 48.06% (minimum 10%)"
    assert [line.split()[0] for line in lines[1:]] == ["src/run", "src/pack", "src/*.rs"]
    assert lines[1].split()[1:] == ["80/200", "40.00%"]


def test_the_committed_minimum_is_measured_and_met():
    """perf/coverage_thresholds.json holds a measured minimum (an unset one fails every make
    coverage), below the measurement by no more than the ratchet's margin, and names the pinned
    tarpaulin that measured it."""
    committed = json.loads((ROOT / "perf" / "coverage_thresholds.json").read_text())
    minimum, measured = committed["line_coverage_min_percent"], committed["measured_percent"]
    assert isinstance(minimum, float) and isinstance(measured, float), committed
    assert 0 < minimum <= measured <= 100 and measured - minimum <= 1.0, committed
    pinned = re.search(r"tarpaulin\) crate=cargo-tarpaulin version=(\S+)", (ROOT / "scripts" / "cargo_tool.sh").read_text())
    assert pinned and committed["tool"].startswith(f"cargo-tarpaulin {pinned.group(1)} "), committed["tool"]


def test_a_report_without_files_is_an_error(tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"coverage": 90}))
    thresholds = tmp_path / "t.json"
    thresholds.write_text(json.dumps({"line_coverage_min_percent": 50}))
    proc = subprocess.run([sys.executable, str(GATE), str(report), str(thresholds)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no files list" in proc.stderr


def test_the_ratchet_raises_to_the_measurement_less_the_margin(tmp_path):
    proc, raised = _gate(tmp_path, [(7843, 10000)], 70.0, "--ratchet", extra={"measured_percent": 70.6})
    assert proc.returncode == 0, proc.stderr
    assert raised["line_coverage_min_percent"] == 77.9
    assert raised["measured_percent"] == 78.43
    assert "minimum raised to 77.9%" in proc.stdout


def test_the_ratchet_never_lowers_and_stays_within_the_margin(tmp_path):
    proc, kept = _gate(tmp_path, [(7830, 10000)], 77.9, "--ratchet")
    assert proc.returncode == 0, proc.stderr
    assert kept["line_coverage_min_percent"] == 77.9
    assert "raised" not in proc.stdout


def test_the_ratchet_sets_the_first_minimum(tmp_path):
    proc, first = _gate(tmp_path, [(612, 1000)], None, "--ratchet", extra={"note": "not measured yet"})
    assert proc.returncode == 0, proc.stderr
    assert "(minimum not set)" in proc.stdout
    assert first["line_coverage_min_percent"] == 60.7
    assert "note" not in first
