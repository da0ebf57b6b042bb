#!/bin/sh
# A fixture coding agent for the wrkr reference adapter: no network, no model. Each phase does what
# a coding agent does (plan, edit files, run the tests, ask for approval, finish) and reports it
# through the wrkr adapter protocol: one JSON record per line on the descriptor in WRKR_EVENTS_FD
# (see docs/contracts/adapter_protocol.md). Run outside wrkr, it does the same work, silently.
# Usage (from the workspace): sh ../agent.sh plan|edit|test|ask|finish
set -eu

emit() {
    if [ -n "${WRKR_EVENTS_FD:-}" ]; then
        printf '%s\n' "$1" >&3
    fi
}

case "${1:-}" in
plan)
    emit '{"type":"tool_call","name":"read_repository"}'
    printf '# Plan\n\n1. greet() takes a name.\n2. Add a test for it.\n3. Ask for review.\n' > PLAN.md
    emit '{"type":"artifact","path":"PLAN.md"}'
    emit '{"type":"tokens","count":850}'
    emit '{"type":"progress","note":"plan written to PLAN.md"}'
    ;;
edit)
    mkdir -p src tests
    printf 'greet() {\n    echo "hello, $1"\n}\n' > src/greet.sh
    printf '. ./src/greet.sh\n[ "$(greet wrkr)" = "hello, wrkr" ] || { echo "FAIL greet"; exit 1; }\necho "ok greet"\n' > tests/test_greet.sh
    emit '{"type":"tool_call","name":"edit_file","count":2}'
    emit '{"type":"artifact","path":"src/greet.sh"}'
    emit '{"type":"artifact","path":"tests/test_greet.sh"}'
    emit '{"type":"tokens","count":1400}'
    emit '{"type":"cost","usd":0.012}'
    ;;
test)
    emit '{"type":"tool_call","name":"run_tests"}'
    sh tests/test_greet.sh
    emit '{"type":"progress","note":"tests passed: 1 of 1"}'
    ;;
ask)
    emit '{"type":"checkpoint","checkpoint_type":"decision-needed","summary":"greet() now takes a name; tests pass. Apply the change?","required_action":{"kind":"approval","instructions":"review src/greet.sh and tests/test_greet.sh, then wrkr approve"}}'
    ;;
finish)
    printf '# Change report\n\n- src/greet.sh: greet() takes a name\n- tests/test_greet.sh: new test (passes)\n' > REPORT.md
    emit '{"type":"artifact","path":"REPORT.md"}'
    emit '{"type":"progress","note":"change applied after approval"}'
    ;;
*)
    echo "usage: agent.sh plan|edit|test|ask|finish" >&2
    exit 2
    ;;
esac
