#!/usr/bin/env bash
# make test-hardening: schemathesis against the OpenAPI document `wrkr serve` serves, on loopback.
# Installs schemathesis (PyPI) into target/hardening-venv on first use; never part of `make test`.
# The server runs in a temp directory with one seeded job, so generated paths stay inside it.
# Bounded: --max-examples 50 per operation and a --max-time budget.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${WRKR_BIN:-$ROOT/target/release/wrkr}"
VENV="$ROOT/target/hardening-venv"
if [ ! -x "$VENV/bin/st" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis>=4,<5"
fi
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
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
"$VENV/bin/st" run "http://$ADDR/v1/openapi.json" --checks all --exclude-checks positive_data_acceptance \
    --max-examples "${MAX_EXAMPLES:-50}" \
    --max-time "${MAX_TIME:-300}" --workers 1 --seed 1 --no-color
echo "server log: $(wc -l <"$WORK/serve.log") requests; statuses:"
python3 -c 'import json,sys,collections; c=collections.Counter(json.loads(l).get("status") for l in open(sys.argv[1]) if "\"route\"" in l); print(dict(sorted(c.items())))' "$WORK/serve.log"
