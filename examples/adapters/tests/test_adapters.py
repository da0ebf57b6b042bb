"""The example agents of examples/adapters (docs/guides/agent-reporting.md) run through the real
wrkr binary: every record each one reports is accepted and counted, its artifact lands in the
pack, its decision blocks the job; outside wrkr each one runs silently. The Node agent is skipped,
with the reason, where `node` is not installed."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parents[1]

AGENTS = {
    "sh": ("agent.sh", ["sh", "agent.sh"]),
    "python": ("agent.py", ["python3", "agent.py"]),
    "node": ("agent.mjs", ["node", "agent.mjs"]),
}


@pytest.fixture(params=sorted(AGENTS))
def agent(request, tmp_path):
    """The agent's file copied into a scratch folder, and the argv that runs it there."""
    file, argv = AGENTS[request.param]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not on PATH: the {request.param} example agent was not run")
    shutil.copy(HERE / file, tmp_path / file)
    return request.param, argv


def wrkr(wrkr_bin, tmp_path, *args):
    env = {**os.environ, "WRKR_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    return subprocess.run(
        [wrkr_bin, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, check=False, timeout=120,
    )


def test_every_record_is_accepted_and_counted(wrkr_bin, tmp_path, agent):
    name, argv = agent
    proc = wrkr(wrkr_bin, tmp_path, "--json", "wrap", "--job-id", name, "--", *argv)
    assert proc.returncode == 0, proc.stderr
    assert "rejected" not in proc.stderr, proc.stderr
    result = json.loads(proc.stdout)
    assert result["adapter_result"]["status"] == "blocked_decision", "the decision-needed record blocks the job"
    assert result["artifacts"]["added"] == ["answer.md"], "the reported artifact is in the pack"

    budget = wrkr(wrkr_bin, tmp_path, "--json", "budget", "show", name)
    usage = json.loads(budget.stdout)["usage"]
    assert (usage["tool_call_count"], usage["tokens"], usage["estimated_cost"]) == (2, 1200, 0.004)

    checkpoints = json.loads(wrkr(wrkr_bin, tmp_path, "--json", "checkpoint", "list", name).stdout)
    decisions = [c["summary"] for c in checkpoints if c["type"] == "decision-needed"]
    assert decisions == ["answer.md is written: publish it?"]

    events = wrkr(wrkr_bin, tmp_path, "events", name).stdout
    assert "x-adapter_record_rejected" not in events
    assert '"note":"reading the task"' in events, "the progress note is recorded"


def test_outside_wrkr_the_agent_works_and_reports_nothing(tmp_path, agent):
    name, argv = agent
    env = {k: v for k, v in os.environ.items() if not k.startswith("WRKR_")}
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout == f"{'sh' if name == 'sh' else name} agent: wrote answer.md\n"
    assert (tmp_path / "answer.md").read_text().startswith("# Answer\n")
