"""The SDK against the real binary (no mocks of wrkr)."""
import json

import pytest

from wrkr import Wrkr, WrkrError


def test_version_is_parsed(client):
    v = client.version()
    assert v.version.count(".") == 2
    assert v.commit and v.date


def test_unknown_command_raises_with_reason_and_exit_code(client):
    with pytest.raises(WrkrError) as info:
        client.run_json("nosuchcommand")
    err = info.value
    assert err.code == "E_INVALID_INPUT_SCHEMA"
    assert err.exit_code == 6
    assert err.details["command"] == "nosuchcommand"
    assert "hint" in err.details


def test_json_mode_errors_carry_the_flag_in_question(client):
    # The SDK puts --json right after the command word; the error still names the bad flag.
    with pytest.raises(WrkrError) as info:
        client.run_json("jcs", "--max-line-bytes", "lots")
    assert info.value.code == "E_INVALID_INPUT_SCHEMA"
    assert "--max-line-bytes" in info.value.message


def test_canonical_json_matches_rfc8785(client):
    assert client.canonical_json({"b": 1, "a": [1e21, 0.1]}) == '{"a":[1e+21,0.1],"b":1}'


def test_pipe_tool_output_parses_as_jsonl(client):
    records = client.run_json("jcs", "--sha256", input='{}\n{"a":1}\n')
    assert [r["bytes"] for r in records] == [2, 7]


def test_plain_failure_without_envelope(tmp_path):
    script = tmp_path / "fake-wrkr"
    script.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(WrkrError) as info:
        Wrkr(str(script)).run_json("version")
    assert info.value.exit_code == 3
    assert info.value.code == "E_GENERIC_FAILURE"
    assert "broken" in info.value.message


def test_envelope_is_schema_shaped(client):
    proc = client.run("nosuch", "--json")
    envelope = json.loads(proc.stderr)
    assert list(envelope)[:7] == ["schema_id", "schema_version", "created_at", "producer_version", "code", "message", "exit_code"]
