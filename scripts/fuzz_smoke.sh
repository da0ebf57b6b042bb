#!/usr/bin/env bash
# make fuzz-smoke: every cargo-fuzz target under fuzz/ for FUZZ_SECONDS (default 60) each, one at
# a time, on corpora seeded from the test fixtures (nightly lane, never `make test`). Needs the
# nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`, done here when missing).
# Prints one line per target: executions, coverage (edges, features), corpus size, and whether it found a crash or a hang
# (an input slower than FUZZ_TIMEOUT, default 10 s); it leaves its input under
# fuzz/artifacts/<target>/ and fails the run. FUZZ_TARGETS="a b" runs only those targets.
# Runs under `nice -n 10` (shared machines). The corpora live in fuzz/corpus/ (ignored by git)
# and grow across runs.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cd "$ROOT/fuzz"
FIX="$ROOT/tests/fixtures"
seed() { # seed TARGET FILES...: copy fixtures into the target's corpus
    local dir="corpus/$1"; shift
    mkdir -p "$dir"
    for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(basename "$(dirname "$f")")_$(basename "$f")"; done
    return 0
}
seed zip_verify "$FIX"/go-wrkr/*.zip "$FIX"/jobpacks/*/*.zip
seed ledger_reader "$ROOT"/tests/cases/*/stdin "$FIX"/go-wrkr/store_blocked_decision/jobs/*/events.jsonl
seed json_jcs "$FIX"/go-wrkr/*.json "$FIX"/accept/*.json "$ROOT"/schemas/v1/*/*.json
seed jobspec "$FIX"/go-wrkr/journey.jobspec.yaml "$ROOT"/examples/*/*.yaml "$FIX"/jobspecs/*.yaml
seed accept_config "$FIX"/go-wrkr/journey.accept.yaml
seed adapter_record "$ROOT"/tests/cases/*/stdin
seed serve_route /dev/null
seed footer /dev/null
printf 'GET /v1/jobs/job_1/checkpoints/cp_1' > corpus/serve_route/route
printf 'WRKR job_id=job_1 manifest=sha256:%064d verify="wrkr verify job_1"' 0 > corpus/footer/footer
printf '{"type":"tool_call","name":"grep","count":2}' > corpus/adapter_record/tool_call
status=0
printf '{"seq":1,"created_at":"2026-01-01T00:00:00Z","type":"job_initialized"}\n{"seq":2,"created_at":"2026-01-01T00:00:01Z","type":"x-a","payload":{"n":1}}\n{"seq":3,"crea' \
    > corpus/ledger_reader/torn_tail
printf '{"b":[1e400,-0.0,1E-7,"\\ud83d\\ude00"],"a":{"":null}}' > corpus/json_jcs/numbers_and_escapes
# A fixed stamp: build.rs then does not rebuild the instrumented crate each time HEAD moves.
export WRKR_COMMIT="${WRKR_COMMIT:-fuzz}"
nice -n 10 cargo +nightly fuzz build >/dev/null 2>&1 || nice -n 10 cargo +nightly fuzz build
for target in ${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}; do
    log="$(mktemp)"
    if nice -n 10 cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$SECONDS_EACH" \
        -timeout="$TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        verdict="no crash"
    else
        verdict="CRASH (see fuzz/artifacts/$target/)"; status=1
        grep -q 'ERROR: libFuzzer: timeout' "$log" && verdict="HANG (see fuzz/artifacts/$target/)"
        tail -n 30 "$log"
    fi
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    [ -n "$execs" ] || execs="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
    rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    # Coverage as libFuzzer counts it at the end: `cov` edges, `ft` features.
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)"
    ft="$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)"
    echo "fuzz $target: ${SECONDS_EACH}s executions=${execs:-?} exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?} corpus=$(ls "corpus/$target" | wc -l) $verdict"
    rm -f "$log"
done
exit $status
