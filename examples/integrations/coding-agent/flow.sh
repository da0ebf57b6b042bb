#!/bin/sh
# The whole flow of README.md, as one script (the Rust test tests/coding_agent.rs runs it):
# submit -> decision-needed -> approve -> resume -> accept -> export -> verify.
# Uses $WRKR (default: wrkr on PATH) and the store in $WRKR_HOME; run it from this folder.
set -eu
WRKR=${WRKR:-wrkr}
JOB=${JOB:-coding_agent_demo}
rm -rf workspace && mkdir workspace

# 1. Submit: the agent plans, edits, tests, then asks; the job stops at its decision-needed record.
out=$("$WRKR" submit jobspec.yaml --job-id "$JOB")
echo "$out"
cp=$(printf '%s\n' "$out" | sed -n 's/.*status=blocked_decision.* checkpoint=\(cp_[0-9]*\).*/\1/p')
[ -n "$cp" ] || { echo "expected the job to wait for a decision" >&2; exit 1; }

# 2. Resuming before approval is refused (exit 4, E_CHECKPOINT_APPROVAL_REQUIRED).
if "$WRKR" resume "$JOB" 2>/dev/null; then echo "resume ran without approval" >&2; exit 1; fi

# 3. Approve the checkpoint, then resume: the agent finishes.
"$WRKR" approve "$JOB" --checkpoint "$cp" --reason "reviewed src/greet.sh" --approved-by reviewer
"$WRKR" resume "$JOB"

# 4. Acceptance: artifacts present with the hashes the pack recorded, tests and lint pass, path rules,
#    checkpoint types. The result is stored in the job, so the export below carries it.
"$WRKR" checkpoint list "$JOB"
"$WRKR" accept run "$JOB" --config accept.yaml --out-dir wrkr-out --junit wrkr-out/reports/accept.junit.xml

# 5. Export the jobpack (now with accept/accept_result.json), verify it, and show the footer.
"$WRKR" export "$JOB" --out-dir wrkr-out
"$WRKR" verify "wrkr-out/jobpacks/jobpack_$JOB.zip"
