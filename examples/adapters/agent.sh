#!/bin/sh
# A stand-in agent in POSIX sh that reports what it does to wrkr through the adapter protocol
# (docs/contracts/adapter_protocol.md): one JSON object per line on descriptor 3. Outside wrkr
# (no WRKR_EVENTS_FD) it does the same work and reports nothing.
set -eu

report() {
    if [ -n "${WRKR_EVENTS_FD:-}" ]; then
        printf '%s\n' "$1" >&3
    fi
}

report '{"type":"progress","note":"reading the task"}'
report '{"type":"tool_call","name":"search","count":2}'
report '{"type":"tokens","count":1200}'
report '{"type":"cost","usd":0.004}'

printf '# Answer\n\nThe config loader reads config.toml before the environment.\n' > answer.md
report '{"type":"artifact","path":"answer.md"}'

report '{"type":"checkpoint","checkpoint_type":"decision-needed","summary":"answer.md is written: publish it?","required_action":{"kind":"approval","instructions":"read answer.md, then wrkr approve"}}'
echo "sh agent: wrote answer.md"
