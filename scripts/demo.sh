#!/usr/bin/env bash
# The demo, until `wrkr demo` runs a real job: a pipeline of wrkr's pipe tools doing real work on a
# sample record stream — validate against the v1 schemas, canonicalize, and hash.
set -euo pipefail
cd "$(dirname "$0")/.."
sample=scripts/demo/records.jsonl
echo "# 1. validate the sample records against the embedded v1 schemas"
bin/wrkr-schema < "$sample" > /dev/null && echo "ok: $(wc -l < "$sample") records valid"
echo "# 2. canonical form (RFC 8785) of each record"
bin/wrkr-schema < "$sample" | bin/wrkr-jcs | cut -c1-100
echo "# 3. the sha256 of each canonical record"
bin/wrkr-jcs --sha256 --text < "$sample"
echo "# 4. a broken record is refused with exit 6 and the JSON Pointer of the problem"
set +e
printf '%s\n' '{"schema_id":"wrkr.approval_record","schema_version":"v1","created_at":"2026-02-13T18:00:00Z","producer_version":"demo","job_id":"job_demo","checkpoint_id":"cp_3","reason":"","approved_by":"ana"}' | bin/wrkr-schema > /dev/null
echo "exit=$?"
