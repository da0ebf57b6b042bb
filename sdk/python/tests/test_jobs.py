"""Jobs through the SDK against the real binary: the approval journey and step reporting."""
import os
import pathlib
import sys

import pytest

from wrkr import WrkrError

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"


def test_journey_with_approval_required(client):
    client.run("init")
    result = client.submit("jobspec.yaml", job_id="py1")
    assert result.status == "blocked_decision"
    assert result.checkpoint_id

    with pytest.raises(WrkrError) as info:
        client.resume("py1")
    assert info.value.code == "E_CHECKPOINT_APPROVAL_REQUIRED"
    assert info.value.exit_code == 4
    assert info.value.details["checkpoint_id"] == result.checkpoint_id

    approval = client.approve("py1", result.checkpoint_id, "reviewed", approved_by="ana")
    assert approval.approved_by == "ana"
    assert client.resume("py1").status == "completed"
    types = [c.type for c in client.checkpoints("py1")]
    assert types == ["plan", "progress", "decision-needed", "progress", "completed"]
    assert client.status("py1").status == "completed"
    action = client.checkpoint("py1", result.checkpoint_id).required_action
    assert action is not None and action.kind == "approve"


def test_step_reporter_counts_tool_calls(client):
    work = pathlib.Path(client.cwd)
    script = work / "agent.py"
    script.write_text(
        "import wrkr\n"
        "with wrkr.step() as s:\n"
        "    assert s.active\n"
        "    s.tool_call('grep')\n"
        "    s.tool_call('sed', count=2)\n"
        "    s.tokens(1500)\n"
        "    s.artifact('out.txt')\n"
        "open('out.txt', 'w').write('x')\n"
    )
    spec = work / "spec.yaml"
    spec.write_text(
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: t\nname: py\nobjective: o\n"
        "adapter: {name: reference}\ninputs:\n  workspace: .\n  steps:\n"
        f"    - {{id: agent, command: \"PYTHONPATH={SRC} {sys.executable} agent.py\"}}\n"
        "budgets: {max_wall_time_seconds: 60, max_step_count: 5, max_tool_calls: 10, max_tokens: 100000}\n"
        "checkpoint_policy: {min_interval_seconds: 1}\nenvironment_fingerprint: {rules: [os]}\n"
    )
    assert client.submit(spec, job_id="py2").status == "completed"
    budget = client.budget("py2")
    assert budget.usage.tool_call_count == 4  # the step's own command + 3 reported
    assert budget.usage.tokens == 1500
    progress = [c for c in client.checkpoints("py2") if c.type == "progress"][0]
    assert progress.artifacts_delta["added"] == ["out.txt"]


def test_step_reporter_is_inert_outside_wrkr():
    from wrkr.step import Step

    s = Step(env={})
    assert not s.active
    s.tool_call("x")  # no error, nothing written


def test_budget_and_pause_errors(client):
    with pytest.raises(WrkrError) as info:
        client.pause("nope")
    assert info.value.exit_code == 6
    assert info.value.details["job_id"] == "nope"


def test_accept_and_report_after_the_journey(client):
    work = pathlib.Path(client.cwd)
    client.run("init")
    result = client.submit("jobspec.yaml", job_id="py3")
    client.approve("py3", result.checkpoint_id, "ok")
    client.resume("py3")
    (work / "accept.yaml").write_text("required_artifacts: [reports/result.md]\ntest_command: \"true\"\n")
    accepted = client.accept_run("py3", out_dir=work / "out")
    assert accepted.passed and accepted.checks_run == accepted.checks_passed
    skipped = [c for c in accepted.checks if c.status == "skipped"]
    assert any(c.name == "lint_command" for c in skipped), "unconfigured checks are skipped, not passed"

    (work / "accept.yaml").write_text("required_artifacts: [reports/nope.md]\n")
    with pytest.raises(WrkrError) as info:
        client.accept_run("py3", out_dir=work / "out")
    assert info.value.exit_code == 5
    failing = client.accept_run("py3", out_dir=work / "out", check=False)
    assert not failing.passed and failing.reason_codes == ["E_ACCEPT_MISSING_ARTIFACT"]

    summary = client.report_github("py3", out_dir=work / "out")
    assert summary.job_id == "py3" and summary.status == "completed"
    assert "Acceptance: `failed`" in summary.markdown
    assert pathlib.Path(summary.summary_markdown_path).exists()
