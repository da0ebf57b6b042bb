"""The SDK's typed surface against the real binary: error classes by meaning, timeouts that leave
the job truthful, a missing binary, events, signing, receipts, inspect, diff and the bridge."""
import json
import os
import pathlib
import sys
import time

import pytest

import wrkr
from wrkr import (
    ApprovalRequiredError,
    BinaryNotFoundError,
    BudgetExceededError,
    InvalidInputError,
    LeaseConflictError,
    NotFoundError,
    StepFailedError,
    VerifyFailedError,
    Wrkr,
    WrkrError,
    WrkrTimeoutError,
)


def _blocked_job(client, job_id):
    client.run("init")
    return client.submit("jobspec.yaml", job_id=job_id)


def test_errors_are_classes_by_meaning(client):
    with pytest.raises(NotFoundError) as info:
        client.status("nope")
    assert isinstance(info.value, InvalidInputError) and info.value.exit_code == 6
    assert info.value.details["job_id"] == "nope" and info.value.hint

    with pytest.raises(InvalidInputError) as bad:
        client.status("../x")
    assert not isinstance(bad.value, NotFoundError)

    first = _blocked_job(client, "e1")
    with pytest.raises(ApprovalRequiredError) as approval:
        client.resume("e1")
    assert approval.value.exit_code == 4 and approval.value.details["checkpoint_id"] == first.checkpoint_id

    client.approve("e1", first.checkpoint_id, "ok")
    held = client.run("lease", "acquire", "e1", "--worker", "someone-else", "--ttl", "60")
    assert held.returncode == 0, held.stderr
    with pytest.raises(LeaseConflictError) as conflict:
        client.resume("e1")
    assert conflict.value.exit_code == 1


def test_wrap_failures_raise_by_meaning(client):
    with pytest.raises(StepFailedError):
        client.wrap(["sh", "-c", "exit 3"], job_id="f1")
    with pytest.raises(BudgetExceededError) as budget:
        client.wrap(["sleep", "30"], job_id="f2", budget_wall_time=1)
    assert wrkr.WrapResult.from_json(json.loads(budget.value.stdout)).status == "blocked_budget"


def test_wrapped_command_keeps_its_own_json_flag(client, tmp_path):
    argv_file = tmp_path / "argv.json"
    script = f"import json, sys; json.dump(sys.argv[1:], open({str(argv_file)!r}, 'w'))"
    client.wrap([sys.executable, "-c", script, "list", "--json", "title"], job_id="j1")
    assert json.loads(argv_file.read_text()) == ["list", "--json", "title"]


def test_timeout_interrupts_and_leaves_the_job_truthful(client):
    started = time.monotonic()
    with pytest.raises(WrkrTimeoutError) as info:
        client.wrap(["sleep", "30"], job_id="t1", timeout=1)
    assert time.monotonic() - started < 15
    assert isinstance(info.value, TimeoutError) and info.value.timeout == 1
    status = client.status("t1")
    assert status.status != "running", "an interrupted wrap must not leave the job running"
    assert status.status in wrkr.JOB_STATUSES


def test_missing_binary_says_how_to_point_at_one(tmp_path):
    sdk = Wrkr(str(tmp_path / "no-such-wrkr"))
    with pytest.raises(BinaryNotFoundError) as info:
        sdk.version()
    assert "WRKR_BIN" in info.value.message and isinstance(info.value, FileNotFoundError)


def test_typed_listing_budget_and_events(client):
    result = _blocked_job(client, "l1")
    jobs = client.jobs()
    assert [(j.job_id, j.status) for j in jobs] == [("l1", "blocked_decision")]
    assert client.jobs(status="completed") == []
    budget = client.budget("l1")
    assert budget.status == "blocked_decision" and budget.limits.step_count == 20
    assert budget.limits.tokens is None and budget.usage.step_count == 2

    events = list(client.events("l1"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "job_initialized"
    assert [e.seq for e in client.events("l1", from_seq=3)][0] == 3

    client.approve("l1", result.checkpoint_id, "ok")
    client.resume("l1")
    followed = list(client.events("l1", follow=True))  # ends: the job is completed
    assert followed[-1].seq == client.inspect("l1").event_count

    with pytest.raises(NotFoundError):
        list(client.events("nope"))


def test_sign_verify_receipt_inspect_diff(client, tmp_path):
    result = _blocked_job(client, "s1")
    before = client.export("s1", out_dir=tmp_path / "a")
    keys = client.keygen(tmp_path / "keys")
    assert len(keys.key_id) == 16 and pathlib.Path(keys.public_key).exists()

    client.approve("s1", result.checkpoint_id, "ok", approved_by="ana")
    client.resume("s1")
    signed = client.export("s1", out_dir=tmp_path / "b", sign=keys.private_key)
    assert signed.signature and pathlib.Path(signed.signature).exists()
    verified = client.verify(signed.path, pubkey=keys.public_key)
    assert verified.signature == "valid" and verified.files_verified >= 5

    other = client.keygen(tmp_path / "other")
    with pytest.raises(VerifyFailedError) as wrong:
        client.verify(signed.path, pubkey=other.public_key)
    assert wrong.value.exit_code == 2

    receipt = client.receipt("s1", out_dir=tmp_path / "b")
    assert receipt.manifest_sha256 == signed.manifest_sha256
    footer = client.parse_footer(receipt.footer)
    # The pack lives outside ./wrkr-out, so the footer names it by path (verify works as printed).
    assert footer.job_id == "s1" and footer.verify_target == signed.path
    with pytest.raises(InvalidInputError):
        client.parse_footer("WRKR nonsense")

    view = client.inspect(signed.path)
    assert view.status == "completed" and view.approval_count == 1
    assert view.timeline[0].id == "evt_1"

    diff = client.diff(before.path, signed.path)
    assert not diff.identical and "approvals.jsonl" in diff.files.added
    assert diff.events.added and not diff.events.removed
    assert client.diff(signed.path, signed.path).identical


def test_work_item_for_a_pending_decision(client):
    result = _blocked_job(client, "w1")
    item = client.work_item("w1", result.checkpoint_id, dry_run=True)
    assert item.checkpoint_id == result.checkpoint_id
    assert item.checkpoint_type == "decision-needed"
    assert any(c.startswith("wrkr approve w1") for c in item.next_commands)


def test_every_public_name_is_documented():
    import inspect

    undocumented = []
    for name in wrkr.__all__:
        obj = getattr(wrkr, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not (obj.__doc__ or "").strip():
            undocumented.append(name)
        if inspect.isclass(obj) and obj.__module__.startswith("wrkr"):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if callable(target) and not (target.__doc__ or "").strip():
                    undocumented.append(f"{name}.{attr}")
    assert undocumented == []


def test_job_statuses_are_the_contracts_in_lifecycle_order():
    """JOB_STATUSES is read off the JobStatusName Literal, so the two cannot drift; this holds
    both to the checkpoint schema's status enum (the contract), order included."""
    schema = pathlib.Path(__file__).resolve().parents[3] / "schemas/v1/checkpoint/checkpoint.schema.json"
    contract = json.loads(schema.read_text())["properties"]["status"]["enum"]
    assert list(wrkr.JOB_STATUSES) == contract
