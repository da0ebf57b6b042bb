#!/usr/bin/env bash
# `make demo`: a real job end to end (run, checkpoints, jobpack, verify, footer), then the same
# jobpack rebuilt through the pipe tools, byte for byte. The store and the packs live under
# ./wrkr-out/ so the demo leaves the rest of the machine alone.
set -euo pipefail
cd "$(dirname "$0")/.."
store=wrkr-out/demo-store
# tee opens its file before wrkr creates wrkr-out/ (a fresh clone has none).
mkdir -p wrkr-out
echo "# 1. wrkr demo: submit a small job, run its steps, export and verify its jobpack"
bin/wrkr --store "$store" demo | tee wrkr-out/demo.txt
job=$(sed -n 's/^job_id=//p' wrkr-out/demo.txt)
pack=$(sed -n 's/^jobpack=//p' wrkr-out/demo.txt)
echo
echo "# 2. its checkpoints"
bin/wrkr --store "$store" checkpoint list "$job"
echo
echo "# 3. the same pack from the pipe tools: wrkr-events --records | wrkr-pack | wrkr-verify -"
bin/wrkr-events --store "$store" --records "$job" | bin/wrkr-pack > wrkr-out/piped.zip
bin/wrkr-verify - < wrkr-out/piped.zip
cmp "$pack" wrkr-out/piped.zip && echo "identical bytes: $pack"
