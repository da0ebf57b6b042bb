#!/usr/bin/env bash
# make test-hardening: the reliability suites, never part of `make test` (issue 14):
#   1. failpoints: tests/failpoints.rs against a binary built with --features failpoints;
#   2. crash: >= 1,000 SIGKILLs at random moments and N-th-point crashes through a journey;
#   3. ioerr: fail the N-th failpoint for every N, transient and persistent; enospc: a full tmpfs;
#   4. soak: one long job with decisions, takeovers and pauses; flat RSS and descriptors;
#   5. schemathesis against the OpenAPI document `wrkr serve` serves, on loopback.
# Each suite prints one summary line, and a last line says where the time went (the build, each
# suite, the load average).
#
# This is the short form (under 15 minutes on a clean clone of a 2-core machine). The nightly lane
# runs the long form through the same knobs: CHAOS_KILLS (kill points, >= 1,000; default 1000),
# SOAK_SECONDS (30; 600 nightly), MAX_TIME (schemathesis's budget in seconds, 120; 300 nightly),
# MAX_EXAMPLES (per operation, 50), CHAOS_WORKERS (concurrent crash cases, 6). WRKR_CHAOS_SEED
# reproduces a seed.
#
# Where the time goes, and what keeps it short:
# - One cargo invocation builds everything: `cargo test --features failpoints --no-run` compiles
#   the library, the binary and the failpoint tests. (A separate `cargo build` compiled the crate
#   a second time: the dev-dependencies turn on other features of a shared crate, so the library
#   built for tests is a different unit.) Every suite runs that one debug binary, copied to
#   target/failpoints/wrkr. WRKR_COMMIT is fixed for this build, so a commit that changes no
#   source does not rebuild it (build.rs).
# - Schemathesis (PyPI, pinned in scripts/chaos/requirements-schemathesis.txt) goes into a venv
#   under target/ named after that file's hash, installed from wheels only, in the background
#   while cargo compiles; a later run (or a new pin) reuses (or replaces) it.
# - The crash suite, which spends most of its time waiting for kill moments and lease expiries,
#   runs alongside the other suites; its output is printed when it ends.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CARGO="${CARGO:-cargo}"
LOGS="$TARGET/failpoints"
mkdir -p "$LOGS"

TIMES=""
lap() { # lap NAME: the seconds since the previous lap, added to the closing timing line
    TIMES="$TIMES $1=$((SECONDS - LAP))s"
    LAP=$SECONDS
}
LAP=$SECONDS
timing() { # the closing line, also when a suite fails
    echo "test-hardening: time$TIMES total=${SECONDS}s load=$(cut -d' ' -f1-3 /proc/loadavg)"
}
CHILDREN=()
cleanup() {
    for pid in "${CHILDREN[@]}"; do
        pkill -TERM -P "$pid" 2>/dev/null || true # the suite under the lane's subshell
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    timing
}
trap cleanup EXIT

# Schemathesis into its venv, in the background (network and unpacking, next to the compiler).
REQUIREMENTS="$ROOT/scripts/chaos/requirements-schemathesis.txt"
VENV="$TARGET/hardening-venv-$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
VENV_LOG="$LOGS/venv.log"
VENV_STARTED=$SECONDS
VENV_PID=""
if [ ! -f "$VENV/installed" ]; then
    (
        rm -rf "$VENV" "$TARGET"/hardening-venv # the unkeyed venv of older runs
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary :all: -r "$REQUIREMENTS" ||
            "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
        echo "$((SECONDS - VENV_STARTED))" >"$VENV/installed"
    ) >"$VENV_LOG" 2>&1 &
    VENV_PID=$!
    CHILDREN+=("$VENV_PID")
fi

# The failpoint build: one debug build with --features failpoints and a fixed stamp.
export WRKR_COMMIT="${WRKR_COMMIT:-test-hardening}"
(cd "$ROOT" && "$CARGO" test --locked --features failpoints --test failpoints --no-run -q)
lap build
cp "$TARGET/debug/wrkr" "$LOGS/wrkr"
export WRKR_FAILPOINTS_BIN="$LOGS/wrkr"
SEED="${WRKR_CHAOS_SEED:-$(( $(date +%s) % 1000000 ))}"
export WRKR_CHAOS_SEED="$SEED"
CHAOS="$ROOT/scripts/chaos/main.py"
failed=""

# The crash suite alongside the rest: output to a file, printed when it ends.
CRASH_LOG="$LOGS/crash.log"
(
    started=$SECONDS
    rc=0
    python3 "$CHAOS" crash --min-kills "${CHAOS_KILLS:-1000}" --workers "${CHAOS_WORKERS:-6}" || rc=$?
    echo "crash: wall ${started}s..${SECONDS}s of the run"
    exit "$rc"
) >"$CRASH_LOG" 2>&1 &
CRASH_PID=$!
CHILDREN+=("$CRASH_PID")

FP_LOG="$LOGS/tests.log"
fp_rc=0
(cd "$ROOT" && "$CARGO" test --locked --features failpoints --test failpoints -q >"$FP_LOG" 2>&1) || fp_rc=$?
result="$(grep -E '^test result:' "$FP_LOG" | tail -n 1)"
cases="$(echo "$result" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
failures="$(echo "$result" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)"
if [ "$fp_rc" != 0 ]; then tail -n 40 "$FP_LOG"; failed="$failed failpoints"; fi
echo "failpoints: cases=$((cases + failures)) points=$(grep -c '^    "' "$ROOT/src/failpoint.rs") failures=$failures (tests/failpoints.rs: every point reached and armed)"
lap failpoints
python3 "$CHAOS" ioerr || failed="$failed ioerr"
lap ioerr
python3 "$CHAOS" enospc --rounds "${CHAOS_ENOSPC_ROUNDS:-12}" || failed="$failed enospc"
lap enospc
python3 "$CHAOS" soak --seconds "${SOAK_SECONDS:-30}" || failed="$failed soak"
lap soak

# Schemathesis: the failpoints binary with nothing armed (the debug build's code, overflow
# checks on), in a temp directory with one seeded job, so generated paths stay inside it.
if [ -n "$VENV_PID" ]; then
    wait "$VENV_PID" || { cat "$VENV_LOG"; echo "schemathesis: could not install (see above)"; exit 1; }
fi
lap schemathesis-install
echo "schemathesis: venv $(basename "$VENV") (installed in $(cat "$VENV/installed")s, in the background)"
BIN="${WRKR_BIN:-$WRKR_FAILPOINTS_BIN}"
WORK="$(mktemp -d)"
PID=""
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; cleanup' EXIT
(
    export WRKR_HOME="$WORK/home" HOME="$WORK"
    cd "$WORK"
    "$BIN" init >/dev/null
    "$BIN" submit jobspec.yaml --job-id job_1 >/dev/null
    "$BIN" accept init >/dev/null
)
WRKR_HOME="$WORK/home" HOME="$WORK" "$BIN" serve --listen 127.0.0.1:0 --json >"$WORK/serve.json" 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 50); do grep -q '^}' "$WORK/serve.json" 2>/dev/null && break; sleep 0.1; done
ADDR="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$WORK/serve.json")"
# Every check but positive_data_acceptance: that one flags schema-valid requests the server refuses
# for rules JSON Schema cannot state (a NUL in a path, an absolute config_path, approving a checkpoint
# that is not decision-needed). Refusing them is correct; what must never happen is a 5xx or a
# response outside the document, and those checks all run.
st_rc=0
(cd "$WORK" && "$VENV/bin/st" run "http://$ADDR/v1/openapi.json" --checks all \
    --exclude-checks positive_data_acceptance --max-examples "${MAX_EXAMPLES:-50}" \
    --max-time "${MAX_TIME:-120}" --workers 1 --seed 1 --no-color >"$WORK/st.log" 2>&1) || st_rc=$?
if [ "$st_rc" != 0 ]; then tail -n 60 "$WORK/st.log"; failed="$failed schemathesis"; else tail -n 6 "$WORK/st.log"; fi
statuses="$(python3 -c 'import json,sys,collections; c=collections.Counter(json.loads(l).get("status") for l in open(sys.argv[1]) if "\"route\"" in l); print(",".join(f"{k}:{v}" for k, v in sorted(c.items())))' "$WORK/serve.log")"
lap schemathesis
echo "schemathesis: requests=$(grep -c '"route"' "$WORK/serve.log" || true) statuses=$statuses max_examples=${MAX_EXAMPLES:-50} max_time=${MAX_TIME:-120}s failures=$([ "$st_rc" = 0 ] && echo 0 || echo "rc $st_rc, see above")"

crash_rc=0
wait "$CRASH_PID" || crash_rc=$?
lap crash-after-the-rest
cat "$CRASH_LOG"
[ "$crash_rc" = 0 ] || failed="$failed crash"
if [ -n "$failed" ]; then
    echo "test-hardening: FAILED:$failed"
    exit 1
fi
