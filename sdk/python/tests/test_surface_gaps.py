"""The SDK gaps an audit of issue 12 found, against the real binary: typed leases, budget states,
artifact deltas and budget violations (which were bare dicts, and violations always came back
empty: wrkr writes them as ``NAME>LIMIT`` strings, which the SDK dropped); ``resume(approved_by=)``
recorded with an environment override; ``timeout=`` on ``submit`` and ``resume``, not only wrap."""
import pathlib
import time

import pytest

import wrkr
from wrkr import EnvironmentMismatchError, Wrkr, WrkrTimeoutError

SPEC = """schema_id: wrkr.jobspec
schema_version: v1
producer_version: t
name: t
objective: o
adapter: {name: reference}
inputs:
  steps:
    - {id: a, summary: a, command: "true"}
    - {id: gate, summary: ok?, command: "", executed: false, decision_needed: true}
    - {id: b, summary: b, command: "%s"}
budgets: {max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}
checkpoint_policy: {min_interval_seconds: 1}
environment_fingerprint: {rules: ["env:FOO"]}
"""


def _client(client, foo):
    """The same store and directory, with ``FOO`` set (an environment the spec fingerprints)."""
    return Wrkr(client.binary, cwd=client.cwd, env={**client.env, "FOO": foo})


def _spec(client, last_command="true"):
    path = pathlib.Path(client.cwd) / "spec.yaml"
    path.write_text(SPEC % last_command)
    return path


def test_checkpoint_status_and_budget_fields_are_typed(client):
    a = _client(client, "a")
    first = a.submit(_spec(a), job_id="typed")
    cp = a.checkpoint("typed", first.checkpoint_id)
    assert isinstance(cp.budget_state, wrkr.BudgetState) and cp.budget_state.step_count == 2
    assert isinstance(cp.artifacts_delta, wrkr.ArtifactsDelta) and cp.artifacts_delta.removed == []
    # Still reads like the dict it was.
    assert cp.budget_state["step_count"] == 2 and dict(cp.budget_state) == cp.raw["budget_state"]
    assert cp.artifacts_delta == cp.raw["artifacts_delta"]

    held = a.run("lease", "acquire", "typed", "--worker", "w1", "--ttl", "60")
    assert held.returncode == 0, held.stderr
    lease = a.status("typed").lease
    assert isinstance(lease, wrkr.Lease) and lease.worker_id == "w1" and isinstance(lease.epoch, int)
    assert lease.expired is False and lease["worker_id"] == "w1"
    a.run("lease", "release", "typed", "--worker", "w1")

    lowered = a.run("budget", "raise", "typed", "--max-step-count", "1", "--reason", "test")
    assert lowered.returncode == 0, lowered.stderr
    violations = a.budget("typed").violations
    assert violations == [wrkr.BudgetViolation(budget="step_count", limit=1.0, text="step_count>1")]


def test_run_json_returns_json_values(client):
    assert client.run_json("version")["version"]  # type: ignore[index,call-overload]
    assert isinstance(client.run_json("jobs"), (list, dict))


def test_resume_records_who_approved_an_environment_override(client):
    a, b = _client(client, "a"), _client(client, "b")
    first = a.submit(_spec(a), job_id="moved")
    a.approve("moved", first.checkpoint_id, "ok")
    with pytest.raises(EnvironmentMismatchError):
        b.resume("moved")
    done = b.resume("moved", force_env=True, reason="moved machines", approved_by="alice")
    assert done.status == "completed"
    overrides = [e for e in b.events("moved") if e.type == "env_override_recorded"]
    assert [(e.payload["approved_by"], e.payload["approved_by_source"]) for e in overrides] == [("alice", "flag")]


def test_submit_timeout_interrupts_and_leaves_the_job_truthful(client):
    a = _client(client, "a")
    path = pathlib.Path(client.cwd) / "slow.yaml"
    path.write_text(SPEC.replace('{id: a, summary: a, command: "true"}', '{id: a, summary: a, command: "sleep 30"}') % "true")
    started = time.monotonic()
    with pytest.raises(WrkrTimeoutError) as info:
        a.submit(path, job_id="slow", timeout=2)
    assert time.monotonic() - started < 15 and info.value.timeout == 2
    status = a.status("slow")
    assert status.status != "running" and status.lease is None, status


def test_resume_timeout_interrupts_and_leaves_the_job_truthful(client):
    a = _client(client, "a")
    first = a.submit(_spec(a, "sleep 30"), job_id="later")
    a.approve("later", first.checkpoint_id, "ok")
    started = time.monotonic()
    with pytest.raises(WrkrTimeoutError):
        a.resume("later", timeout=2)
    assert time.monotonic() - started < 15
    status = a.status("later")
    assert status.status != "running" and status.lease is None, status
    assert status.status in wrkr.JOB_STATUSES
