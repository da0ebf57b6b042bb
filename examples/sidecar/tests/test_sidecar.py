"""The sidecar against the real wrkr binary: fixtures, determinism, malformed requests."""
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parents[1]


def run_sidecar(wrkr_bin, tmp_path, home, out="out"):
    env = {**os.environ, "WRKR_HOME": str(home)}
    return subprocess.run(
        [sys.executable, str(HERE / "sidecar.py"), str(HERE / "fixtures" / "requests.jsonl"),
         "--out", out, "--wrkr", wrkr_bin],
        cwd=tmp_path, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )


def read(path):
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 1, "one compact value per file"
    value = json.loads(text)
    assert text == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    return value


def test_fixtures_against_the_binary(wrkr_bin, tmp_path):
    home = tmp_path / "home"
    proc = run_sidecar(wrkr_bin, tmp_path, home)
    assert proc.returncode == 1, proc.stderr  # two fixture requests fail on purpose
    lanes = tmp_path / "out" / "integrations"
    assert sorted(p.name for p in lanes.iterdir()) == ["invalid", "missing", "plan", "status", "wrap"]

    wrap = read(lanes / "wrap" / "result.json")
    assert wrap["ok"] is True and wrap["exit_code"] == 0
    assert wrap["output"]["adapter_result"]["status"] == "completed"
    assert wrap["argv"][:2] == ["wrkr", "--json"]

    status = read(lanes / "status" / "result.json")
    assert status["output"]["status"] == "completed"
    assert read(lanes / "status" / "request.json")["command"] == ["status", "side_1"]

    plan = read(lanes / "plan" / "result.json")
    assert plan["dry_run"] is True and plan["exit_code"] is None and plan["ok"] is True

    missing = read(lanes / "missing" / "result.json")
    assert missing["ok"] is False and missing["exit_code"] == 6
    assert missing["error"]["schema_id"] == "wrkr.error_envelope"

    invalid = read(lanes / "invalid" / "result.json")
    assert invalid["error"]["code"] == "E_INVALID_INPUT_SCHEMA"
    assert not (tmp_path / "out" / "escape").exists()

    log = (lanes / "wrap" / "sidecar.log").read_text().splitlines()
    assert len(log) == 1 and json.loads(log[0])["ok"] is True


def test_results_are_deterministic(wrkr_bin, tmp_path):
    # The same requests against the same store give the same bytes, when wrkr's own answer does:
    # export is reproducible (status is not: its created_at is the clock).
    home = tmp_path / "home"
    run_sidecar(wrkr_bin, tmp_path, home, out="first")
    request = tmp_path / "status.jsonl"
    request.write_text(json.dumps({"schema_id": "wrkr.sidecar_request", "schema_version": "v1", "lane": "s",
                                   "job_id": "side_1", "timestamp_utc": "t", "command": ["export", "side_1", "--out-dir", "packs"],
                                   "dry_run": False}) + "\n")
    outputs = []
    for out in ("a", "b"):
        subprocess.run([sys.executable, str(HERE / "sidecar.py"), str(request), "--out", out, "--wrkr", wrkr_bin],
                       cwd=tmp_path, env={**os.environ, "WRKR_HOME": str(home)}, check=True,
                       capture_output=True, stdin=subprocess.DEVNULL)
        lane = tmp_path / out / "integrations" / "s"
        outputs.append([(lane / f).read_bytes() for f in ("request.json", "result.json", "sidecar.log")])
    assert outputs[0] == outputs[1]


def test_garbage_lines_do_not_stop_it(wrkr_bin, tmp_path):
    request = tmp_path / "junk.jsonl"
    request.write_text("not json\n[1,2]\n")
    proc = subprocess.run([sys.executable, str(HERE / "sidecar.py"), str(request), "--out", "o", "--wrkr", wrkr_bin],
                          cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 1
    assert len(proc.stdout.splitlines()) == 2
    assert read(tmp_path / "o" / "integrations" / "invalid" / "result.json")["error"]["code"] == "E_INVALID_INPUT_SCHEMA"
