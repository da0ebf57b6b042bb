#!/usr/bin/env bash
# make test-hardening: the reliability suites, never part of `make test` (issue 14):
#   1. failpoints: tests/failpoints.rs and tests/pg_failpoints.rs (the PostgreSQL commit's points,
#      on a throwaway cluster) against a binary built with --features failpoints;
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
# MAX_EXAMPLES (per operation, 25; 50 nightly), CHAOS_WORKERS (concurrent crash cases, 6). WRKR_CHAOS_SEED
# reproduces a seed.
#
# Where the time goes, and what keeps it short:
# - One cargo invocation builds everything: `cargo test --features failpoints --no-run` compiles
#   the library, the binary and the failpoint tests. (A separate `cargo build` compiled the crate
#   a second time: the dev-dependencies turn on other features of a shared crate, so the library
#   built for tests is a different unit.) Every suite runs that one debug binary, copied to
#   target/failpoints/wrkr. WRKR_COMMIT is fixed for this build, so a commit that changes no
#   source does not rebuild it (build.rs).
# - Schemathesis (PyPI, pinned in scripts/chaos/requirements-schemathesis.txt) goes into a
#   `pip install --target` directory under target/ named after that file's hash (no venv: a fresh
#   Debian machine's Python has no ensurepip), installed from wheels only, in the background
#   while cargo compiles; a later run (or a new pin) reuses (or replaces) it.
# - The crash suite (which spends most of its time waiting for kill moments and lease expiries)
#   and schemathesis run alongside the other suites, each in its own sandbox; their output is
#   printed when they end.
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

# Schemathesis into its directory, in the background (network and unpacking, next to the compiler).
REQUIREMENTS="$ROOT/scripts/chaos/requirements-schemathesis.txt"
PYDEPS="$TARGET/hardening-pydeps-$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
PYDEPS_LOG="$LOGS/pydeps.log"
PYDEPS_STARTED=$SECONDS
rm -f "$LOGS/pydeps.failed"
if [ ! -f "$PYDEPS/installed" ]; then
    {
        (
            rm -rf "$PYDEPS" "$TARGET"/hardening-venv* # what older runs installed
            pip() { python3 -m pip install -q --disable-pip-version-check --target "$PYDEPS" "$@"; }
            pip --only-binary :all: -r "$REQUIREMENTS" || pip -r "$REQUIREMENTS"
            echo "$((SECONDS - PYDEPS_STARTED))" >"$PYDEPS/installed"
        ) >"$PYDEPS_LOG" 2>&1 || touch "$LOGS/pydeps.failed"
    } &
    CHILDREN+=("$!")
fi

# The failpoint build: one debug build with --features failpoints and a fixed stamp. (The default
# dev profile, so a tree that has run `cargo test` compiles only wrkr itself here: line-tables-only
# debug info made no difference a clean clone on a busy machine could show, and would have made
# every such tree compile all its dependencies once more.)
export WRKR_COMMIT="${WRKR_COMMIT:-test-hardening}"
(cd "$ROOT" && "$CARGO" test --locked --features failpoints --test failpoints --test pg_failpoints --no-run -q)
lap build
cp "$TARGET/debug/wrkr" "$LOGS/wrkr"
export WRKR_FAILPOINTS_BIN="$LOGS/wrkr"
SEED="${WRKR_CHAOS_SEED:-$(( $(date +%s) % 1000000 ))}"
export WRKR_CHAOS_SEED="$SEED"
CHAOS="$ROOT/scripts/chaos/main.py"
SUITE_TIMES="$LOGS/suite-times"
: >"$SUITE_TIMES"

suite() { # suite NAME COMMAND...: run it, record its seconds; its status is the command's
    local name="$1" started=$SECONDS rc=0
    shift
    "$@" || rc=$?
    echo "$name=$((SECONDS - started))s" >>"$SUITE_TIMES"
    [ "$rc" = 0 ] || echo "$name" >>"$LOGS/failed"
    return 0
}

failpoint_tests() {
    local log="$LOGS/tests.log" rc=0
    # CI=true: the PostgreSQL half must run there, never skip (tests/support/pg.rs).
    (cd "$ROOT" && "$CARGO" test --locked --features failpoints --test failpoints --test pg_failpoints \
        -q -- --nocapture >"$log" 2>&1) || rc=$?
    local cases failures skipped
    sum() { grep -E '^test result:' "$log" | grep -oE "[0-9]+ $1" | awk '{n += $1} END {print n + 0}'; }
    cases="$(sum passed)"
    failures="$(sum failed)"
    skipped="$(grep -c '^SKIPPED (PostgreSQL)' "$log" || true)"
    if [ "$rc" != 0 ]; then tail -n 40 "$log"; fi
    grep -E '^pg\.commit\.' "$log" | sed 's/^/  /' || true # each commit point's sweep, one line
    echo "failpoints: cases=$((cases + failures)) points=$(grep -c '^    "' "$ROOT/src/failpoint.rs") failures=$failures pg_skipped=$skipped (tests/failpoints.rs, tests/pg_failpoints.rs: every point reached and armed)"
    return "$rc"
}

# Schemathesis: the failpoints binary with nothing armed (the debug build's code, overflow
# checks on), in a temp directory with one seeded job, so generated paths stay inside it.
schemathesis() {
    while [ ! -f "$PYDEPS/installed" ]; do # (a lane cannot `wait` for the main shell's child)
        if [ -f "$LOGS/pydeps.failed" ]; then
            cat "$PYDEPS_LOG"
            echo "schemathesis: could not install (see above)"
            return 1
        fi
        sleep 1
    done
    echo "schemathesis: $(basename "$PYDEPS") (installed in $(cat "$PYDEPS/installed")s, in the background)"
    local bin="${WRKR_BIN:-$WRKR_FAILPOINTS_BIN}" work pid rc=0 addr routes statuses
    work="$(mktemp -d)"
    (
        export WRKR_HOME="$work/home" HOME="$work"
        cd "$work"
        "$bin" init >/dev/null
        "$bin" submit jobspec.yaml --job-id job_1 >/dev/null
        "$bin" accept init >/dev/null
    )
    # From inside $work: a request's relative output path (`out_dir: "0"`) resolves against the
    # server's directory, which was the caller's (the repository) before.
    (cd "$work" && WRKR_HOME="$work/home" HOME="$work" exec "$bin" serve --listen 127.0.0.1:0 --json \
        >"$work/serve.json" 2>"$work/serve.log") &
    pid=$!
    for _ in $(seq 50); do grep -q '^}' "$work/serve.json" 2>/dev/null && break; sleep 0.1; done
    addr="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$work/serve.json")"
    # Every check but positive_data_acceptance: that one flags schema-valid requests the server
    # refuses for rules JSON Schema cannot state (a NUL in a path, an absolute config_path,
    # approving a checkpoint that is not decision-needed). Refusing them is correct; what must
    # never happen is a 5xx or a response outside the document, and those checks all run.
    (cd "$work" && PYTHONPATH="$PYDEPS" "$PYDEPS/bin/st" run "http://$addr/v1/openapi.json" --checks all \
        --exclude-checks positive_data_acceptance --max-examples "$MAX_EXAMPLES" \
        --max-time "$MAX_TIME" --workers 1 --seed 1 --no-color >"$work/st.log" 2>&1) || rc=$?
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ "$rc" = 0 ] && grep -q "No test cases were generated" "$work/st.log"; then
        echo "schemathesis: no test case ran (MAX_TIME too short for this machine?)"
        rc=1
    fi
    if [ "$rc" != 0 ]; then tail -n 60 "$work/st.log"; else tail -n 6 "$work/st.log"; fi
    routes="$(python3 -c 'import json,sys; print(len({json.loads(l)["route"] for l in open(sys.argv[1]) if "\"route\"" in l}))' "$work/serve.log")"
    statuses="$(python3 -c 'import json,sys,collections; c=collections.Counter(json.loads(l).get("status") for l in open(sys.argv[1]) if "\"route\"" in l); print(",".join(f"{k}:{v}" for k, v in sorted(c.items())))' "$work/serve.log")"
    echo "schemathesis: requests=$(grep -c '"route"' "$work/serve.log" || true) routes=$routes statuses=$statuses max_examples=$MAX_EXAMPLES max_time=${MAX_TIME}s failures=$([ "$rc" = 0 ] && echo 0 || echo "rc $rc, see above")"
    rm -rf "$work"
    return "$rc"
}
# The short form: 25 examples per operation, so that every operation is reached well inside the
# time budget on a busy machine; the nightly lane raises both.
MAX_EXAMPLES="${MAX_EXAMPLES:-25}"
MAX_TIME="${MAX_TIME:-120}"

# Three lanes at once: the crash suite and schemathesis in the background (each one's output
# printed when the lanes are done, in this order), the other suites here in turn. Each sandbox is
# its own. (A fourth lane for ioerr made no run shorter on a busy 2-core machine, and left
# schemathesis half the requests in its time budget.)
rm -f "$LOGS/failed"
LANES=()
lane() { # lane NAME COMMAND...: a suite in the background, its output into $LOGS/NAME.log
    local name="$1"
    shift
    suite "$name" "$@" >"$LOGS/$name.log" 2>&1 &
    CHILDREN+=("$!")
    LANES+=("$name:$!")
}
lane crash python3 "$CHAOS" crash --min-kills "${CHAOS_KILLS:-1000}" --workers "${CHAOS_WORKERS:-6}"
lane schemathesis schemathesis
suite failpoints failpoint_tests
suite ioerr python3 "$CHAOS" ioerr
suite enospc python3 "$CHAOS" enospc --rounds "${CHAOS_ENOSPC_ROUNDS:-12}"
suite soak python3 "$CHAOS" soak --seconds "${SOAK_SECONDS:-30}"
lap in-turn
for entry in "${LANES[@]}"; do
    wait "${entry#*:}" || true
    cat "$LOGS/${entry%%:*}.log"
done
lap waiting-for-the-lanes
TIMES="$TIMES (suites, concurrent: $(tr '\n' ' ' <"$SUITE_TIMES" | sed 's/ $//'))"
if [ -s "$LOGS/failed" ]; then
    echo "test-hardening: FAILED: $(tr '\n' ' ' <"$LOGS/failed")"
    exit 1
fi
