#!/usr/bin/env python3
"""Generate the jobpack test vectors under tests/fixtures/jobpacks/.

Each vector is a folder with `pack.zip` and `header` (`expect: pass|fail`, `exit: N`,
`code: E_...`, optional `message: ...` (exact), `files: N` for passes, `why: ...`).
tests/jobpack_vectors.rs runs them all through `wrkr-verify`.

Deterministic: the same inputs (the Go fixtures in tests/fixtures/go-wrkr/) give the same bytes, so
re-running this script must leave `git status` clean. Standard library only. Re-run with:

    python3 scripts/make_jobpack_vectors.py
"""

import hashlib
import json
import os
import shutil
import struct
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GO = os.path.join(ROOT, "tests", "fixtures", "go-wrkr")
OUT = os.path.join(ROOT, "tests", "fixtures", "jobpacks")
EXTRA = bytes([0x55, 0x54, 0x05, 0x00, 0x01, 0x00, 0xA6, 0xCE, 0x12])


def sha(b):
    return hashlib.sha256(b).hexdigest()


def jcs(v):
    # Sufficient for these inputs: ASCII strings, integers, booleans (RFC 8785 agrees here).
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entries_of(path):
    z = zipfile.ZipFile(path)
    return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def go_zip(entries):
    """Go's archive/zip layout (stored, data descriptor, 1980 date, UT extra). Entries: (name, data[, opts])."""
    out, central = bytearray(), bytearray()
    for e in entries:
        name, data = e[0], e[1]
        opts = e[2] if len(e) > 2 else {}
        nb = name if isinstance(name, bytes) else name.encode()
        crc = opts.get("crc", zlib.crc32(data))
        size = opts.get("size", len(data))
        method = opts.get("method", 0)
        flags = opts.get("flags", 0x08)
        offset = opts.get("offset", len(out))
        lname = opts.get("local_name", nb)
        if "offset" not in opts:
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 0x14, flags, method, 0, 0x21, 0, 0, 0, len(lname), 9)
            out += lname + EXTRA + data
            out += struct.pack("<IIII", 0x08074B50, crc, opts.get("csize", size), size)
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 0x14, 0x14, flags, method, 0, 0x21, crc,
            opts.get("csize", size), size, len(nb), 9, 0, 0, 0, 0, offset,
        )
        central += nb + EXTRA
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset, 0)
    return bytes(out)


def python_zip(entries):
    """Python's own zipfile layout (no data descriptors, no extras): another honest writer."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
    return buf.getvalue()


def rezip(entries):
    """Python's zipfile with deflate, as `zip -r` over the unpacked files would write it."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def reseal(entries, mutate_manifest=None, keep_hash=False):
    """Recompute file hashes and manifest_sha256 so only the intended defect remains."""
    d = dict(entries)
    m = json.loads(d["manifest.json"])
    m["files"] = [{"path": n, "sha256": sha(b)} for n, b in sorted(d.items()) if n != "manifest.json"]
    if mutate_manifest:
        mutate_manifest(m)
    if not keep_hash:
        zeroed = dict(m, manifest_sha256="0" * 64)
        m["manifest_sha256"] = sha(jcs(zeroed))
    d["manifest.json"] = jcs(m)
    return sorted(d.items())


def replace(entries, name, data):
    return [(n, data if n == name else b) for n, b in entries]


def first_line_edit(data, fn):
    lines = data.split(b"\n")
    v = json.loads(lines[0])
    fn(v)
    lines[0] = jcs(v)
    return b"\n".join(lines)


VECTORS = []


def vector(name, data, expect, exit, code, why, files=None, message=None):
    VECTORS.append((name, data, expect, exit, code, why, files, message))


def main():
    demo = entries_of(os.path.join(GO, "jobpack_demo.zip"))
    journey = entries_of(os.path.join(GO, "jobpack_journey.zip"))
    demo_raw = open(os.path.join(GO, "jobpack_demo.zip"), "rb").read()
    journey_raw = open(os.path.join(GO, "jobpack_journey.zip"), "rb").read()
    j = dict(journey)
    H = "E_VERIFY_HASH_MISMATCH"
    S = "E_INVALID_INPUT_SCHEMA"
    G = "E_GENERIC_FAILURE"

    # --- passes -------------------------------------------------------------------------------
    vector("go_demo", demo_raw, "pass", 0, "", "Go's demo pack (5 entries, 4 declared)", files=4)
    vector("go_journey", journey_raw, "pass", 0, "", "Go's journey pack with approvals and accept result", files=6)
    vector("go_layout_rewritten", go_zip(journey), "pass", 0, "", "entries re-zipped in Go's layout by this script", files=6)
    vector("python_zip_layout", python_zip(journey), "pass", 0, "", "another honest writer: no data descriptors, no extras", files=6)
    m = json.loads(j["manifest.json"])
    pretty = json.dumps(m, indent=2, sort_keys=False).encode()
    vector("manifest_pretty_printed", go_zip(replace(journey, "manifest.json", pretty)), "pass", 0, "",
           "Go hashes the decoded manifest, not its raw bytes: whitespace and key order do not matter", files=6)
    rev = dict(m, files=list(reversed(m["files"])))
    vector("manifest_files_unsorted", go_zip(reseal(journey, lambda mm: mm.update(files=list(reversed(mm["files"]))))),
           "pass", 0, "", "files[] need not be sorted (Go does not require it)", files=6)
    del rev
    empty = reseal(replace(replace(demo, "events.jsonl", b""), "checkpoints.jsonl", b""))
    vector("empty_jsonl_entries", go_zip(empty), "pass", 0, "", "events.jsonl and checkpoints.jsonl may be 0 bytes", files=4)
    blank = reseal(replace(journey, "events.jsonl", b"\n" + j["events.jsonl"] + b"\n  \n"))
    vector("blank_lines_in_jsonl", go_zip(blank), "pass", 0, "", "blank JSONL lines are skipped, as Go does", files=6)
    only = reseal([("manifest.json", j["manifest.json"])])
    vector("manifest_only", go_zip(only), "pass", 0, "", "Go requires only manifest.json; no files declared", files=0)

    # --- Go's verdicts (tests/fixtures/go-wrkr/README.md) --------------------------------------
    jb = bytearray(j["job.json"]); jb[10] ^= 0x01
    vector("tampered_job_byte", go_zip(replace(journey, "job.json", bytes(jb))), "fail", 2, H,
           "one byte of job.json changed, manifest unchanged", message="file hash mismatch")
    vector("undeclared_extra_entry", go_zip(journey + [("notes.txt", b"hi")]), "fail", 2, H,
           "an entry the manifest does not declare", message="archive contains undeclared file")
    vector("missing_declared_entry", go_zip([e for e in journey if e[0] != "approvals.jsonl"]), "fail", 2, H,
           "a declared entry is absent", message="manifest references missing file")
    mm = json.loads(j["manifest.json"]); mm["manifest_sha256"] = "0" * 63 + "1"
    vector("edited_manifest_sha256", go_zip(replace(journey, "manifest.json", jcs(mm))), "fail", 2, H,
           "manifest_sha256 edited", message="manifest_sha256 mismatch")
    vector("directory_entry", go_zip(journey + [("accept/", b"")]), "fail", 2, H,
           "a directory entry (Go: an undeclared file)")
    vector("dotdot_entry", go_zip(journey + [("../evil.sh", b"x")]), "fail", 2, H, "entry name with ..")
    vector("no_manifest", go_zip([e for e in journey if e[0] != "manifest.json"]), "fail", 1, G,
           "no manifest.json", message="jobpack missing manifest.json")
    vector("truncated_zip", journey_raw[: len(journey_raw) // 2], "fail", 1, G, "the first half of a pack")
    vector("not_a_zip", b"this is not a zip file\n" * 4, "fail", 1, G, "text, not a zip")

    # --- stricter safety checks (no honest pack trips them) ------------------------------------
    vector("absolute_name", go_zip(journey + [("/etc/passwd", b"x")]), "fail", 2, H, "absolute entry name")
    vector("backslash_name", go_zip(journey + [("a\\b.txt", b"x")]), "fail", 2, H, "backslash in a name")
    vector("nul_in_name", go_zip(journey + [(b"job.json\x00.txt", b"x")]), "fail", 2, H, "NUL in a name")
    vector("duplicate_entry", go_zip(journey + [("job.json", j["job.json"])]), "fail", 2, H,
           "the same name twice (Go: last one wins)")
    vector("trailing_garbage", journey_raw + b"GARBAGE", "fail", 2, H, "bytes after the end record")
    flipped = bytearray(journey_raw)
    at = journey_raw.find(b'"status":"completed"')
    flipped[at + 2] ^= 0x20
    vector("crc_mismatch", bytes(flipped), "fail", 2, H,
           "declared entry's bytes changed under its CRC: tampering (Go: exit 1, read error)")

    def deflate(data):
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        return comp.compress(data) + comp.flush()

    def deflated(name, data, **opts):
        packed = deflate(data)
        return (name, packed, dict({"method": 8, "crc": zlib.crc32(data), "size": len(data), "csize": len(packed)}, **opts))

    vector("deflated_entry", go_zip([deflated(n, b) if n == "job.json" else (n, b) for n, b in journey]),
           "pass", 0, None, "a declared entry re-compressed (deflate): verified by content, as Go does", files=6)
    vector("rezipped_deflate", rezip(journey), "pass", 0, None,
           "every entry deflated by another writer (zip -r over the unpacked files)", files=6)
    zeros = b"\0" * (16 << 20)
    bomb_data = deflate(zeros)
    vector("zip_bomb", go_zip(journey + [("bomb.bin", bomb_data, {"method": 8, "crc": 0, "size": 0xFFFFFFFE, "csize": len(bomb_data)})]),
           "fail", 2, H, "an undeclared deflate bomb (16 MiB of zeros declaring 4 GiB): refused, never expanded")
    vector("undeclared_deflated_entry", go_zip(journey + [deflated("notes.txt", b"not in the manifest\n" * 50)]),
           "fail", 2, H, "an undeclared deflated entry: undeclared, whatever its compression",
           message="archive contains undeclared file")
    vector("undeclared_bzip2_entry", go_zip(journey + [("notes.bz2", b"BZh91AY&SY", {"method": 12})]),
           "fail", 2, H, "an undeclared entry in a method wrkr cannot read: undeclared, never read",
           message="archive contains undeclared file")
    vector("declared_unknown_method", go_zip([(n, b, {"method": 12}) if n == "job.json" else (n, b) for n, b in journey]),
           "fail", 1, G, "a declared entry in a compression method other than stored or deflate: unreadable")
    declared_bomb = reseal(journey + [("bomb.bin", zeros)])
    vector("declared_deflate_bomb", go_zip([deflated(n, b) if n == "bomb.bin" else (n, b) for n, b in declared_bomb]),
           "fail", 2, H, "a declared 16 MiB entry deflated 1000:1 (over the 256:1 cap): refused before inflating")
    vector("deflate_past_declared_size",
           go_zip([deflated(n, zeros, size=len(b), crc=zlib.crc32(b)) if n == "job.json" else (n, b) for n, b in journey]),
           "fail", 2, H, "a declared entry whose deflate stream holds 16 MiB under a declared few hundred bytes: "
           "stops one byte past the declared size")
    vector("huge_declared_size", go_zip(journey + [("big.bin", b"x" * 16, {"size": 0xF0000000})]), "fail", 2, H,
           "a stored entry declaring 3.75 GiB (over the 1 GiB limit)")
    vector("stored_size_mismatch", go_zip(journey + [("odd.bin", b"abcd", {"size": 4, "csize": 5})]), "fail", 2, H,
           "stored entry whose compressed and real sizes differ")
    vector("local_name_disagrees", go_zip([(n, b, {"local_name": b"other.json"}) if n == "job.json" else (n, b) for n, b in journey]),
           "fail", 2, H, "local header names another file than the central directory")
    vector("encrypted_flag", go_zip([(n, b, {"flags": 0x09}) if n == "job.json" else (n, b) for n, b in journey]),
           "fail", 1, G, "an entry flagged as encrypted")
    # Overlap: a second central entry pointing into the first entry's data, where a local header hides.
    hidden_payload = b"evil"
    hidden = struct.pack("<IHHHHHIIIHH", 0x04034B50, 0x14, 0, 0, 0, 0x21, zlib.crc32(hidden_payload), 4, 4, 8, 0) + b"zzzz.txt" + hidden_payload
    carrier = [("aaaa.txt", hidden)] + journey
    raw = go_zip(carrier)
    inner_offset = 30 + len(b"aaaa.txt") + 9
    raw = go_zip(carrier + [("zzzz.txt", hidden_payload, {"offset": inner_offset, "flags": 0})])
    vector("overlapping_entries", raw, "fail", 2, H, "two entries share bytes (a header hidden inside another's data)")

    # --- manifest decode (exit 1) and schema (exit 6) -------------------------------------------
    vector("manifest_not_json", go_zip(replace(journey, "manifest.json", b"{not json")), "fail", 1, G,
           "manifest.json is not JSON")
    vector("manifest_bad_created_at", go_zip(reseal(journey, lambda mm: mm.update(created_at="yesterday"), keep_hash=True)),
           "fail", 1, G, "created_at is not RFC 3339 (Go cannot decode it)")
    vector("manifest_wrong_type", go_zip(reseal(journey, lambda mm: mm.update(job_id=7), keep_hash=True)), "fail", 1, G,
           "job_id is a number (Go cannot decode it)")
    vector("manifest_extra_field", go_zip(reseal(journey, lambda mm: mm.update(signature="x"))), "fail", 6, S,
           "an extra manifest field (closed schema)", message="manifest schema invalid")
    vector("manifest_missing_field", go_zip(reseal(journey, lambda mm: mm.pop("producer_version"))), "fail", 6, S,
           "a required manifest field is missing", message="manifest schema invalid")
    vector("manifest_schema_before_hash", go_zip(reseal(journey, lambda mm: mm.update(schema_version="v2", manifest_sha256="f" * 64), keep_hash=True)),
           "fail", 6, S, "schema is checked before the hash", message="manifest schema invalid")
    for entry, fn, msg, why in [
        ("job.json", lambda v: v.pop("status"), "job schema invalid", "job.json lacks status"),
        ("artifacts_manifest.json", lambda v: v.update(capture_mode="everything"), "artifacts_manifest schema invalid", "bad capture_mode"),
        ("accept/accept_result.json", lambda v: v.update(checks_run=-1), "accept_result schema invalid", "negative checks_run"),
        ("events.jsonl", lambda v: v.update(executed="yes"), "event schema invalid", "executed is not a boolean"),
        ("checkpoints.jsonl", lambda v: v.update(type="nap"), "checkpoint schema invalid", "unknown checkpoint type"),
        ("approvals.jsonl", lambda v: v.update(reason=""), "approval schema invalid", "empty approval reason"),
    ]:
        edited = reseal(replace(journey, entry, first_line_edit(j[entry], fn)))
        vector("schema_" + entry.split("/")[-1].replace(".", "_"), go_zip(edited), "fail", 6, S,
               why + " (hashes consistent)", message=msg)
    edited = reseal(replace(journey, "events.jsonl", j["events.jsonl"] + b"{not json}\n"))
    vector("event_line_not_json", go_zip(edited), "fail", 6, S, "a JSONL line that is not JSON", message="event schema invalid")

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for name, data, expect, exit, code, why, files, message in VECTORS:
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with open(os.path.join(d, "pack.zip"), "wb") as f:
            f.write(data)
        lines = [f"expect: {expect}", f"exit: {exit}"]
        if code:
            lines.append(f"code: {code}")
        if message:
            lines.append(f"message: {message}")
        if files is not None:
            lines.append(f"files: {files}")
        lines.append(f"why: {why}")
        with open(os.path.join(d, "header"), "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"{len(VECTORS)} vectors written to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
