#!/usr/bin/env bash
# make fuzz-smoke: every cargo-fuzz target under fuzz/ for FUZZ_SECONDS (default 60) each, one at
# a time, on corpora seeded from the test fixtures (nightly lane, never `make test`). Needs the
# nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`, done here when missing).
# Prints one line per target: executions, corpus size, and whether it found a crash; a crash
# leaves its input under fuzz/artifacts/<target>/ and fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
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
seed ledger_reader "$ROOT"/tests/cases/*/stdin
seed json_jcs "$FIX"/go-wrkr/*.json "$FIX"/accept/*.json
seed jobspec "$FIX"/go-wrkr/journey.jobspec.yaml "$ROOT"/examples/*/*.yaml
seed accept_config "$FIX"/go-wrkr/journey.accept.yaml
seed adapter_record "$ROOT"/tests/cases/*/stdin
seed serve_route /dev/null
seed footer /dev/null
printf 'GET /v1/jobs/job_1/checkpoints/cp_1' > corpus/serve_route/route
printf 'WRKR job_id=job_1 manifest=sha256:%064d verify="wrkr verify job_1"' 0 > corpus/footer/footer
printf '{"type":"tool_call","name":"grep","count":2}' > corpus/adapter_record/tool_call
status=0
for target in $(cargo +nightly fuzz list); do
    log="$(mktemp)"
    if cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=1024 >"$log" 2>&1; then
        verdict="no crash"
    else
        verdict="CRASH (see fuzz/artifacts/$target/)"; status=1
        tail -n 30 "$log"
    fi
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    [ -n "$execs" ] || execs="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
    echo "fuzz $target: ${SECONDS_EACH}s executions=${execs:-?} corpus=$(ls "corpus/$target" | wc -l) $verdict"
    rm -f "$log"
done
exit $status
