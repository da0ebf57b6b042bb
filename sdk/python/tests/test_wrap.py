"""wrap, export and verify through the SDK against the real binary."""
import sys

import pytest

from wrkr import WrapResult, WrkrError


def test_wrap_success_export_and_verify(client, tmp_path):
    ws = tmp_path / "work"
    result = client.wrap([sys.executable, "-c", "open('out.txt', 'w').write('hi')"], job_id="pw1", workspace=ws)
    assert result.status == "completed"
    assert result.exit_code == 0
    assert result.artifacts["added"] == ["out.txt"]
    assert result.footer.startswith("WRKR job_id=pw1 ")
    assert result.stdout is not None and result.stdout.bytes == 0

    verified = client.verify(result.jobpack_path)
    assert verified.job_id == "pw1"
    assert verified.manifest_sha256 == result.manifest_sha256

    exported = client.export("pw1", out_dir=tmp_path / "packs")
    assert exported.path.endswith("jobpack_pw1.zip")
    assert client.verify(exported.path).files_verified >= 1


def test_wrap_failure_raises_with_the_result_kept(client):
    with pytest.raises(WrkrError) as info:
        client.wrap(["sh", "-c", "exit 7"], job_id="pw2")
    assert info.value.code == "E_ADAPTER_FAIL"
    assert info.value.exit_code == 1
    result = WrapResult.from_json(__import__("json").loads(info.value.stdout))
    assert result.exit_code == 7
    assert result.status == "blocked_error"

    with pytest.raises(WrkrError) as info:
        client.wrap(["sh", "-c", "exit 7"], exit_code_child=True)
    assert info.value.exit_code == 7


def test_verify_of_a_damaged_pack_raises(client, tmp_path):
    result = client.wrap(["true"], job_id="pw3")
    damaged = tmp_path / "damaged.zip"
    data = bytearray(open(result.jobpack_path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(WrkrError) as info:
        client.verify(damaged)
    assert info.value.exit_code != 0


def test_wrap_passes_json_after_the_command_through(client):
    # W2: `--json` in the wrapped command's arguments belongs to the command (`gh pr list --json
    # title`); the SDK's own --json goes before `--`.
    result = client.wrap(["sh", "-c", 'test "$1" = --json && test "$#" = 1', "sh", "--json"], job_id="pw_json")
    assert result.status == "completed"
    assert result.exit_code == 0
