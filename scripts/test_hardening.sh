#!/usr/bin/env bash
# make test-hardening: the reliability suites, never part of `make test` (issue 14):
#   1. failpoints: tests/failpoints.rs against a binary built with --features failpoints;
#   2. crash: >= 1,000 SIGKILLs at random moments and N-th-point crashes through a journey;
#   3. ioerr: fail the N-th failpoint for every N, transient and persistent; enospc: a full tmpfs;
#   4. soak: one long job with decisions, takeovers and pauses; flat RSS and descriptors
#      (SOAK_SECONDS, 30 here, 600 nightly);
#   5. schemathesis against the OpenAPI document `wrkr serve` serves, on loopback.
# Each suite prints one summary line, and a last line says where the time went (the build, each
# suite: on a loaded machine the build can be most of it). WRKR_CHAOS_SEED reproduces a seed;
# CHAOS_KILLS sets the number of kill points (the nightly lane raises it). Schemathesis (PyPI) is
# installed into target/hardening-venv on first use; its server runs in a temp directory with one
# seeded job, so generated paths stay inside it. Bounded: --max-examples 50 per operation and a
# --max-time budget.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CARGO="${CARGO:-cargo}"

TIMES=""
lap() { # lap NAME: the seconds since the previous lap, added to the closing timing line
    TIMES="$TIMES $1=$((SECONDS - LAP))s"
    LAP=$SECONDS
}
LAP=$SECONDS
timing() { # the closing line, also when a suite fails (set -e)
    echo "test-hardening: time$TIMES total=${SECONDS}s load=$(cut -d' ' -f1-3 /proc/loadavg)"
}
trap timing EXIT

# The failpoint build: the debug binary with --features failpoints, copied aside so that the
# next plain build does not overwrite the one the suites run. The failpoint tests are compiled
# here too, so that the failpoints suite's time is its tests', not the compiler's.
(cd "$ROOT" && "$CARGO" build --locked --features failpoints)
(cd "$ROOT" && "$CARGO" test --locked --features failpoints --test failpoints --no-run -q)
lap build
mkdir -p "$TARGET/failpoints"
cp "$TARGET/debug/wrkr" "$TARGET/failpoints/wrkr"
export WRKR_FAILPOINTS_BIN="$TARGET/failpoints/wrkr"
SEED="${WRKR_CHAOS_SEED:-$(( $(date +%s) % 1000000 ))}"
export WRKR_CHAOS_SEED="$SEED"
FP_LOG="$TARGET/failpoints/tests.log"
fp_rc=0
(cd "$ROOT" && "$CARGO" test --locked --features failpoints --test failpoints -q >"$FP_LOG" 2>&1) || fp_rc=$?
result="$(grep -E '^test result:' "$FP_LOG" | tail -n 1)"
cases="$(echo "$result" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
failed="$(echo "$result" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)"
if [ "$fp_rc" != 0 ]; then tail -n 40 "$FP_LOG"; fi
echo "failpoints: cases=$((cases + failed)) points=$(grep -c '^    "' "$ROOT/src/failpoint.rs") failures=$failed (tests/failpoints.rs: every point reached and armed)"
[ "$fp_rc" = 0 ]
lap failpoints
python3 "$ROOT/scripts/chaos/main.py" crash --min-kills "${CHAOS_KILLS:-1000}"
lap crash
python3 "$ROOT/scripts/chaos/main.py" ioerr
lap ioerr
python3 "$ROOT/scripts/chaos/main.py" enospc --rounds "${CHAOS_ENOSPC_ROUNDS:-12}"
lap enospc
python3 "$ROOT/scripts/chaos/main.py" soak --seconds "${SOAK_SECONDS:-30}"
lap soak

# The failpoints binary with nothing armed: the same code as the debug build (overflow checks on).
BIN="${WRKR_BIN:-$WRKR_FAILPOINTS_BIN}"
VENV="$ROOT/target/hardening-venv"
if [ ! -x "$VENV/bin/st" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis>=4,<5"
fi
lap schemathesis-install
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; timing' EXIT
export WRKR_HOME="$WORK/home" HOME="$WORK"
cd "$WORK"
"$BIN" init >/dev/null
"$BIN" submit jobspec.yaml --job-id job_1 >/dev/null
"$BIN" accept init >/dev/null
"$BIN" serve --listen 127.0.0.1:0 --json >"$WORK/serve.json" 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 50); do grep -q '^}' "$WORK/serve.json" 2>/dev/null && break; sleep 0.1; done
ADDR="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$WORK/serve.json")"
# Every check but positive_data_acceptance: that one flags schema-valid requests the server refuses
# for rules JSON Schema cannot state (a NUL in a path, an absolute config_path, approving a checkpoint
# that is not decision-needed). Refusing them is correct; what must never happen is a 5xx or a
# response outside the document, and those checks all run.
st_rc=0
"$VENV/bin/st" run "http://$ADDR/v1/openapi.json" --checks all --exclude-checks positive_data_acceptance \
    --max-examples "${MAX_EXAMPLES:-50}" \
    --max-time "${MAX_TIME:-300}" --workers 1 --seed 1 --no-color >"$WORK/st.log" 2>&1 || st_rc=$?
if [ "$st_rc" != 0 ]; then tail -n 60 "$WORK/st.log"; else tail -n 6 "$WORK/st.log"; fi
statuses="$(python3 -c 'import json,sys,collections; c=collections.Counter(json.loads(l).get("status") for l in open(sys.argv[1]) if "\"route\"" in l); print(",".join(f"{k}:{v}" for k, v in sorted(c.items())))' "$WORK/serve.log")"
lap schemathesis
echo "schemathesis: requests=$(grep -c '"route"' "$WORK/serve.log" || true) statuses=$statuses max_examples=${MAX_EXAMPLES:-50} failures=$([ "$st_rc" = 0 ] && echo 0 || echo "rc $st_rc, see above")"
exit "$st_rc"
