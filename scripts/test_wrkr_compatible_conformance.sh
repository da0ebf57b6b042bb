#!/usr/bin/env bash
# Black-box conformance of a wrkr-compatible binary (ours, the Go one, anyone's), as
# docs/contracts/compatibility.md describes it:
#
#   scripts/test_wrkr_compatible_conformance.sh [BINARY]     (default: bin/wrkr)
#
# Runs demo -> export -> verify -> submit/approve/resume -> accept -> report -> bridge -> wrap in a
# scratch HOME (both HOME/.wrkr, Go's store, and WRKR_HOME point into it) and checks what v1
# consumers read: JSON fields by name, exit codes and reason codes, the ticket footer's format, and
# the wrkr-out/ layout. Only what any v1 binary does is used (no wrkr-only flags; `--json` after
# the command's arguments, but before `wrap`'s `--`). Prints one line per check and a normalised report (no
# times, job ids of demo/wrap replaced, plus the work item markdown and the JUnit file) that is byte-identical across runs; `make test-conformance`
# runs it twice against ours and compares. Needs bash and python3. Exit 0 when every check passes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIXTURES="$HERE/../tests/fixtures/go-wrkr"
BIN="${1:-$HERE/../bin/wrkr}"
[ -x "$BIN" ] || { echo "no executable wrkr at $BIN (make build, or pass BINARY)" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/home" "$SCRATCH/work"
export HOME="$SCRATCH/home" WRKR_HOME="$SCRATCH/home/.wrkr" USER=conformance
unset GITHUB_STEP_SUMMARY WRKR_APPROVED_BY
cd "$SCRATCH/work"
cp "$FIXTURES/journey.jobspec.yaml" "$FIXTURES/journey.accept.yaml" .

FAILURES=0
REPORT="$SCRATCH/report.txt"
: >"$REPORT"

# run NAME EXPECTED_EXIT ARGS...: run the binary, keep stdout/stderr in $OUT/$ERR, check the exit.
run() {
  local name="$1" want="$2"; shift 2
  set +e
  "$BIN" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
  CODE=$?
  set -e
  OUT="$(cat "$SCRATCH/out")"; ERR="$(cat "$SCRATCH/err")"
  check "$name exits $want" "$([ "$CODE" = "$want" ] && echo ok || echo "exit $CODE; stderr: ${ERR:0:300}")"
}

# check NAME RESULT: RESULT "ok" passes; anything else is the failure's detail.
check() {
  if [ "$2" = ok ]; then
    echo "ok   $1" | tee -a "$REPORT"
  else
    echo "FAIL $1: $2" | tee -a "$REPORT"
    FAILURES=$((FAILURES + 1))
  fi
}

# fields NAME FILE EXPR...: each Python expression over `d` (the JSON in FILE) must be true.
fields() {
  local name="$1" file="$2"; shift 2
  check "$name" "$(python3 - "$file" "$@" <<'PY'
import json, re, sys
path, exprs = sys.argv[1], sys.argv[2:]
try:
    d = json.load(open(path))
except Exception as e:
    print(f"not JSON: {e}"); sys.exit()
FOOTER = re.compile(r'^WRKR job_id=([a-zA-Z0-9._-]+) manifest=sha256:([a-f0-9]{64}) verify="wrkr verify ([^"]+)"$')
bad = []
for expr in exprs:
    try:
        ok = eval(expr, {"d": d, "FOOTER": FOOTER, "re": re, "os": __import__("os")})
    except Exception as e:
        ok = False
        expr += f" ({type(e).__name__}: {e})"
    if not ok:
        bad.append(expr)
print("ok" if not bad else "false: " + "; ".join(bad))
PY
)"
}

val() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# --- demo, export, verify ---------------------------------------------------------------------
run "demo" 0 demo --json
cp "$SCRATCH/out" demo.json
fields "demo fields" demo.json '{"footer","job_id","jobpack","manifest"} <= d.keys()' 'FOOTER.match(d["footer"])' \
  'os.path.isfile(d["jobpack"])'
DEMO="$(val demo.json 'd["job_id"]')"
run "export" 0 export "$DEMO" --json
cp "$SCRATCH/out" export.json
fields "export fields" export.json '{"job_id","path","manifest_sha256","footer"} <= d.keys()' \
  "d['path'].endswith('wrkr-out/jobpacks/jobpack_$DEMO.zip')" 'FOOTER.match(d["footer"])' \
  'FOOTER.match(d["footer"]).group(2) == d["manifest_sha256"]' "FOOTER.match(d['footer']).group(1) == '$DEMO'"
run "verify" 0 verify "$DEMO" --json
cp "$SCRATCH/out" verify.json
MANIFEST="$(val export.json 'd["manifest_sha256"]')"
fields "verify fields" verify.json "d['job_id'] == '$DEMO'" "d['manifest_sha256'] == '$MANIFEST'" \
  'isinstance(d["files_verified"], int) and d["files_verified"] >= 4'
run "verify text" 0 verify "$DEMO"
check "verify text line" "$([[ "$OUT" =~ ^verified\ job_id=$DEMO\ manifest=sha256:$MANIFEST\ files=[0-9]+$ ]] && echo ok || echo "$OUT")"
python3 - "wrkr-out/jobpacks/jobpack_$DEMO.zip" tampered.zip <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b'"job_id"')
data[at + 2] ^= 0x01  # one byte of the first stored JSON entry, CRC and hash both stale
open(sys.argv[2], "wb").write(bytes(data))
PY
run "verify tampered" 2 verify tampered.zip --json
echo "$ERR" >tampered.err
fields "verify tampered envelope" tampered.err 'd["code"] == "E_VERIFY_HASH_MISMATCH"' 'd["exit_code"] == 2' \
  'd["schema_id"] == "wrkr.error_envelope"'

# --- a job with a decision: submit, bridge, approve, resume -----------------------------------
run "submit" 0 submit journey.jobspec.yaml --job-id job_conf --json
cp "$SCRATCH/out" submit.json
fields "submit fields" submit.json 'd["job_id"] == "job_conf"' 'd["status"] == "blocked_decision"' \
  'd["adapter"] == "reference"'
run "checkpoint list" 0 checkpoint list job_conf --json
cp "$SCRATCH/out" checkpoints.json
CP="$(val checkpoints.json '[c for c in d if c["type"] == "decision-needed"][-1]["checkpoint_id"]')"
fields "checkpoint fields" checkpoints.json 'all(c["schema_id"] == "wrkr.checkpoint" for c in d)' \
  'all(re.match(r"^cp_[0-9]+$", c["checkpoint_id"]) for c in d)' '[c["type"] for c in d][0] == "plan"'
run "status" 0 status job_conf --json
cp "$SCRATCH/out" status.json
fields "status fields" status.json 'd["schema_id"] == "wrkr.status_response"' 'd["status"] == "blocked_decision"'
run "resume before approval" 4 resume job_conf --json
echo "$ERR" >gate.err
fields "approval gate envelope" gate.err 'd["code"] == "E_CHECKPOINT_APPROVAL_REQUIRED"' 'd["exit_code"] == 4'
run "bridge dry-run" 0 bridge work-item job_conf --checkpoint "$CP" --dry-run --json
cp "$SCRATCH/out" bridge_dry.json
fields "bridge payload" bridge_dry.json 'd["payload"]["schema_id"] == "wrkr.work_item"' \
  'd["payload"]["checkpoint_type"] == "decision-needed"' 'd["payload"]["required_action"] == "approve"' \
  "d['payload']['next_commands'][0] == 'wrkr approve job_conf --checkpoint $CP --reason \"approved\"'"
check "bridge dry-run writes nothing" "$([ ! -e wrkr-out/reports/work_item_job_conf_$CP.json ] && echo ok || echo written)"
run "bridge" 0 bridge work-item job_conf --checkpoint "$CP" --template github --json
cp "$SCRATCH/out" bridge.json
fields "bridge paths" bridge.json "d['json_path'].endswith('wrkr-out/reports/work_item_job_conf_$CP.json')" \
  'os.path.isfile(d["json_path"])' "d['template_path'].endswith('work_item_job_conf_${CP}_github.md')"
run "approve" 0 approve job_conf --checkpoint "$CP" --reason approved --json
cp "$SCRATCH/out" approve.json
fields "approval record" approve.json 'd["schema_id"] == "wrkr.approval_record"' "d['checkpoint_id'] == '$CP'"
run "resume" 0 resume job_conf --json
cp "$SCRATCH/out" resume.json
fields "resume fields" resume.json 'd["status"] == "completed"' 'd["adapter"] == "reference"' 'd["next_step_index"] == 3'

# --- accept, report --------------------------------------------------------------------------
run "accept run --ci" 0 accept run job_conf --config journey.accept.yaml --ci --json
cp "$SCRATCH/out" accept.json
fields "accept fields" accept.json 'd["accept_result"]["schema_id"] == "wrkr.accept_result"' \
  'd["accept_result"]["checks_run"] == d["accept_result"]["checks_passed"] > 0' \
  'd["junit_path"].endswith("wrkr-out/reports/accept_job_conf.junit.xml") and os.path.isfile(d["junit_path"])' \
  'all({"name","passed","message"} <= c.keys() for c in d["checks"])'
printf 'schema_id: wrkr.accept_config\nschema_version: v1\ntest_command: "false"\nlint_command: "true"\n' >failing.accept.yaml
run "accept run failing" 5 accept run job_conf --config failing.accept.yaml --json
cp "$SCRATCH/out" accept_fail.json
fields "accept failure result" accept_fail.json '"E_ACCEPT_TEST_FAIL" in d["accept_result"]["reason_codes"]'
run "report github" 0 report github job_conf --json
cp "$SCRATCH/out" report.json
fields "report fields" report.json 'd["summary"]["schema_id"] == "wrkr.github_summary"' \
  'd["summary"]["markdown"].startswith("# Wrkr GitHub Summary")' \
  'd["summary_json_path"].endswith("wrkr-out/reports/github_summary_job_conf.json")' \
  'open(d["summary_markdown_path"]).read() == d["summary"]["markdown"] + "\n"'

# --- wrap ---------------------------------------------------------------------------------------
run "wrap" 0 wrap --json -- true
cp "$SCRATCH/out" wrap.json
fields "wrap fields" wrap.json 'FOOTER.match(d["footer"])' 'd["adapter_result"]["exit_code"] == 0' \
  'd["adapter_result"]["status"] == "completed"' 'os.path.isfile(d["jobpack_path"])'
WRAP="$(val wrap.json 'd["job_id"]')"
run "wrap failing" 1 wrap --json -- false
cp "$SCRATCH/out" wrap_fail.json
fields "wrap failure" wrap_fail.json 'd["adapter_result"]["exit_code"] == 1' 'FOOTER.match(d["footer"])'

# --- errors and layout -------------------------------------------------------------------------
run "status of a missing job" 6 status nope --json
echo "$ERR" >missing.err
fields "error envelope" missing.err 'd["code"] == "E_INVALID_INPUT_SCHEMA"' 'd["exit_code"] == 6' \
  '{"schema_id","schema_version","created_at","producer_version","code","message","exit_code"} <= d.keys()'
LAYOUT="$(cd wrkr-out && find jobpacks reports -type f | sed -e "s/$DEMO/<demo>/g" -e "s/$WRAP/<wrap>/g")"
for want in "jobpacks/jobpack_<demo>.zip" "jobpacks/jobpack_job_conf.zip" "jobpacks/jobpack_<wrap>.zip" \
  "reports/accept_job_conf.junit.xml" "reports/github_summary_job_conf.json" "reports/github_summary_job_conf.md" \
  "reports/work_item_job_conf_$CP.json" "reports/work_item_job_conf_${CP}_github.md"; do
  check "wrkr-out/$want" "$(grep -qxF "$want" <<<"$LAYOUT" && echo ok || echo missing)"
done

# Outputs that are the same bytes on every run of the same binary (no clocks in them).
# (The GitHub summary is left out: it shows the approval's time and the job's wall time; JUnit
# durations are masked.)
for file in "reports/work_item_job_conf_${CP}_github.md" reports/accept_job_conf.junit.xml; do
  { echo "--- wrkr-out/$file"; sed -e 's/ time="[0-9.]*"/ time="<t>"/g' "wrkr-out/$file" 2>/dev/null || echo "(missing)"; } >>"$REPORT"
done

echo
echo "## normalised report"
sed -e "s/$DEMO/<demo>/g" -e "s/$WRAP/<wrap>/g" "$REPORT"
[ "$FAILURES" = 0 ] || { echo "$FAILURES check(s) failed" >&2; exit 1; }
