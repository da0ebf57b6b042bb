#!/usr/bin/env python3
"""Writes schemas/v1/serve/api.openapi.json (kept in sync with src/serve/routes.rs by a test)."""
import json, sys

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def resp(desc, schema=None, ctype="application/json", headers=None):
    r = {"description": desc}
    if schema is not None: r["content"] = {ctype: {"schema": schema}}
    if headers: r["headers"] = headers
    return r
ERR = lambda d: resp(d, ref("ErrorEnvelope"))
def errors(*codes):
    table = {
        "400": "Invalid input (E_INVALID_INPUT_SCHEMA) or unsafe path/id (E_UNSAFE_OPERATION).",
        "401": "Missing or wrong bearer token (only when auth is enabled).",
        "404": "Job, checkpoint, jobpack or file not found.",
        "405": "Wrong method for this path (see the Allow header).",
        "408": "The request body was not received within the body timeout.",
        "409": "State conflict: lease held, invalid transition, approval required, environment changed.",
        "413": "Request body larger than --max-body-bytes.",
        "422": "Valid request whose work failed: verify mismatch, budget exceeded, adapter failure.",
        "500": "Store or I/O failure.",
    }
    out = {c: ERR(table[c]) for c in codes}
    out["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    out["405"]["headers"] = {"Allow": {"schema": {"type": "string"}}}
    return out
COMMON_GET = ("400", "401", "404", "405", "500")
COMMON_POST = ("400", "401", "404", "405", "408", "409", "413", "422", "500")
JOB = {"name": "job_id", "in": "path", "required": True, "description": "^[A-Za-z0-9._-]+$, at most 128 bytes",
       "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"}}
CP = {"name": "checkpoint_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^cp_[1-9][0-9]{0,17}$"}}
def body(schema, required):
    return {"required": required, "content": {"application/json": {"schema": schema}}}
def op(opid, summary, ok, okcode="200", params=None, req=None, errs=COMMON_POST, extra=None):
    o = {"operationId": opid, "summary": summary}
    if params: o["parameters"] = params
    if req: o["requestBody"] = req
    o["responses"] = {okcode: ok, **errors(*errs)}
    if extra: o["responses"].update(extra)
    return o

S = {}
S["ErrorEnvelope"] = {"type": "object", "required": ["schema_id", "schema_version", "created_at", "producer_version", "code", "message", "exit_code"],
    "properties": {"schema_id": {"const": "wrkr.error_envelope"}, "schema_version": {"const": "v1"}, "created_at": {"type": "string"},
        "producer_version": {"type": "string"}, "code": {"type": "string", "pattern": "^E_[A-Z_]+$"}, "message": {"type": "string"},
        "exit_code": {"type": "integer"}, "details": {"type": "object"}}, "additionalProperties": False}
S["StatusResponse"] = {"type": "object", "required": ["schema_id", "schema_version", "created_at", "producer_version", "job_id", "status", "summary"],
    "properties": {"schema_id": {"const": "wrkr.status_response"}, "job_id": {"type": "string"}, "status": {"type": "string"},
        "summary": {"type": "string"}, "reason_codes": {"type": "array", "items": {"type": "string"}},
        "environment_hash": {"type": "string"}, "environment_rules": {"type": "array", "items": {"type": "string"}}, "lease": {"type": "object"}}}
S["Checkpoint"] = {"type": "object", "required": ["schema_id", "checkpoint_id", "job_id", "type", "summary", "status"],
    "properties": {"schema_id": {"const": "wrkr.checkpoint"}, "checkpoint_id": {"type": "string"}, "job_id": {"type": "string"},
        "type": {"enum": ["plan", "progress", "decision-needed", "blocked", "completed"]}, "summary": {"type": "string"}, "status": {"type": "string"},
        "required_action": {"type": "object"}, "budget_state": {"type": "object"}, "artifacts_delta": {"type": "object"},
        "reason_codes": {"type": "array", "items": {"type": "string"}}}}
S["ApprovalRecord"] = {"type": "object", "required": ["schema_id", "job_id", "checkpoint_id", "reason", "approved_by"],
    "properties": {"schema_id": {"const": "wrkr.approval_record"}, "job_id": {"type": "string"}, "checkpoint_id": {"type": "string"},
        "reason": {"type": "string"}, "approved_by": {"type": "string"}}}
S["JobState"] = {"type": "object", "required": ["job_id", "status"], "properties": {"job_id": {"type": "string"}, "status": {"type": "string"}}}
S["RunResult"] = {"type": "object", "required": ["job_id", "status"], "properties": {"job_id": {"type": "string"}, "status": {"type": "string"},
    "adapter": {"type": "string"}, "spec_name": {"type": "string"}, "objective": {"type": "string"}, "spec_path": {"type": "string"},
    "checkpoint_id": {"type": "string"}}}
S["JobList"] = {"type": "object", "required": ["jobs"], "properties": {"jobs": {"type": "array", "items": {"type": "object",
    "required": ["job_id", "status", "last_seq"], "properties": {"job_id": {"type": "string"}, "status": {"type": "string"},
    "started_at": {"type": ["string", "null"]}, "updated_at": {"type": ["string", "null"]}, "last_seq": {"type": "integer"}}}}}}
S["ExportResult"] = {"type": "object", "required": ["job_id", "path", "manifest_sha256", "footer"], "properties": {
    "job_id": {"type": "string"}, "path": {"type": "string"}, "manifest_sha256": {"type": "string"}, "footer": {"type": "string"}}, "additionalProperties": False}
S["VerifyResult"] = {"type": "object", "required": ["job_id", "manifest_sha256", "files_verified"], "properties": {
    "job_id": {"type": "string"}, "manifest_sha256": {"type": "string"}, "files_verified": {"type": "integer"}}, "additionalProperties": False}
S["AcceptResponse"] = {"type": "object", "required": ["config_path", "accept_result_path", "accept_result", "checks"], "properties": {
    "config_path": {"type": "string"}, "accept_result_path": {"type": "string"}, "accept_result": {"type": "object"}, "checks": {"type": "array"}}}
S["ReportResponse"] = {"type": "object", "required": ["summary", "summary_json_path", "summary_markdown_path", "step_summary_path"], "properties": {
    "summary": {"type": "object"}, "summary_json_path": {"type": "string"}, "summary_markdown_path": {"type": "string"},
    "step_summary_path": {"type": ["string", "null"]}}}
S["SubmitRequest"] = {"type": "object", "required": ["jobspec_path"], "additionalProperties": False, "properties": {
    "jobspec_path": {"type": "string", "minLength": 1, "description": "Relative to the server's working directory; cannot leave it."},
    "job_id": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,128}$"}, "wait": {"type": "boolean", "description": "Block until the job completes or blocks (200); else 202 at once."}}}
S["ApproveRequest"] = {"type": "object", "required": ["checkpoint_id", "reason", "approved_by"], "additionalProperties": False, "properties": {
    "checkpoint_id": {"type": "string", "pattern": "^cp_[1-9][0-9]{0,17}$"}, "reason": {"type": "string", "pattern": "\\S"},
    "approved_by": {"type": "string", "pattern": "\\S", "description": "Who approves; required (the auth token names nobody). Missing or blank: 400 E_INVALID_INPUT_SCHEMA {field: approved_by}."}}}
S["ResumeRequest"] = {"type": "object", "additionalProperties": False, "properties": {"wait": {"type": "boolean"},
    "force_env": {"type": "boolean"}, "reason": {"type": ["string", "null"]}, "approved_by": {"type": ["string", "null"]}},
    "if": {"properties": {"force_env": {"const": True}}, "required": ["force_env"]},
    "then": {"required": ["reason", "approved_by"], "properties": {"reason": {"type": "string", "pattern": "\\S"}, "approved_by": {"type": "string", "pattern": "\\S"}}}}
S["PauseRequest"] = {"type": "object", "additionalProperties": False, "properties": {"now": {"type": "boolean"}}}
S["EmptyRequest"] = {"type": "object", "additionalProperties": False, "properties": {}}
S["OutDirRequest"] = {"type": "object", "additionalProperties": False, "properties": {"out_dir": {"type": ["string", "null"], "minLength": 1, "pattern": "\\S",
    "description": "Relative to the server's working directory [default: wrkr-out]."}}}
S["AcceptRequest"] = {"type": "object", "additionalProperties": False, "properties": {"config_path": {"type": ["string", "null"], "minLength": 1, "pattern": "\\S",
    "description": "Relative to the server's working directory [default: accept.yaml]."}}}
S["EmitRequest"] = {"type": "object", "required": ["type", "summary"], "additionalProperties": False, "properties": {
    "type": {"enum": ["plan", "progress", "decision-needed", "blocked", "completed"]}, "summary": {"type": "string", "pattern": "\\S", "maxLength": 2000},
    "status": {"type": ["string", "null"]}, "required_action": {"type": ["object", "null"], "additionalProperties": False,
        "properties": {"kind": {"type": ["string", "null"]}, "instructions": {"type": ["string", "null"]}}},
    "reason_codes": {"type": "array", "items": {"type": "string"}},
    "artifacts_delta": {"type": ["object", "null"], "additionalProperties": False, "properties": {
        k: {"type": "array", "items": {"type": "string"}} for k in ("added", "changed", "removed")}}}}

P = {}
P["/healthz"] = {"get": op("health", "Liveness.", resp("OK.", {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}, "producer_version": {"type": "string"}}}), errs=("401", "405"))}
P["/v1/openapi.json"] = {"get": op("openapi", "This document.", resp("The OpenAPI 3.1 document.", {"type": "object"}), errs=("401", "405"))}
P["/v1/jobs"] = {"get": op("listJobs", "The jobs in the store, newest first.", resp("Jobs.", ref("JobList")),
    params=[{"name": "status", "in": "query", "required": False, "schema": {"enum": ["queued", "running", "paused", "blocked_decision", "blocked_budget", "blocked_error", "completed", "canceled"]}}], errs=COMMON_GET)}
P["/v1/jobs:submit"] = {"post": op("submitJob", "Create a job from a JobSpec and run it (in the background unless wait).",
    resp("Ran to completion or a block (wait: true).", ref("RunResult")), req=body(ref("SubmitRequest"), True),
    extra={"202": resp("Accepted; the job runs in the background.", ref("RunResult"))})}
P["/v1/jobs/{job_id}:status"] = {"get": op("getJobStatus", "A job's wrkr.status_response.", resp("Status.", ref("StatusResponse")), params=[JOB], errs=COMMON_GET)}
P["/v1/jobs/{job_id}/checkpoints"] = {
    "get": op("listCheckpoints", "A job's checkpoints.", resp("Checkpoints.", {"type": "array", "items": ref("Checkpoint")}), params=[JOB], errs=COMMON_GET),
    "post": op("emitCheckpoint", "Emit a checkpoint.", resp("The checkpoint.", ref("Checkpoint")), okcode="201", params=[JOB], req=body(ref("EmitRequest"), True))}
P["/v1/jobs/{job_id}/checkpoints/{checkpoint_id}"] = {"get": op("getCheckpoint", "One checkpoint.", resp("Checkpoint.", ref("Checkpoint")), params=[JOB, CP], errs=COMMON_GET)}
P["/v1/jobs/{job_id}/events"] = {"get": op("getEvents", "The job's ledger from from_seq, one JSON event per line.",
    resp("Events (JSONL).", {"type": "string"}, ctype="application/x-ndjson"),
    params=[JOB, {"name": "from_seq", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 18446744073709551615}}], errs=COMMON_GET)}
P["/v1/jobs/{job_id}/jobpack"] = {"get": op("getJobpack", "The job's jobpack zip, built from the store.",
    resp("The zip.", {"type": "string", "contentMediaType": "application/zip"}, ctype="application/zip"), params=[JOB], errs=COMMON_GET)}
P["/v1/jobs/{job_id}:approve"] = {"post": op("approveCheckpoint", "Approve a decision-needed checkpoint.", resp("Approval record.", ref("ApprovalRecord")), params=[JOB], req=body(ref("ApproveRequest"), True))}
P["/v1/jobs/{job_id}:resume"] = {"post": op("resumeJob", "Continue a job (in the background unless wait).", resp("Ran (wait: true).", ref("RunResult")),
    params=[JOB], req=body(ref("ResumeRequest"), False), extra={"202": resp("Accepted; the job continues in the background.", ref("RunResult"))})}
P["/v1/jobs/{job_id}:pause"] = {"post": op("pauseJob", "Pause a running job.", resp("The job's state.", ref("JobState")), params=[JOB], req=body(ref("PauseRequest"), False))}
P["/v1/jobs/{job_id}:cancel"] = {"post": op("cancelJob", "Cancel a job.", resp("The job's state.", ref("JobState")), params=[JOB], req=body(ref("EmptyRequest"), False))}
P["/v1/jobs/{job_id}:export"] = {"post": op("exportJob", "Write the jobpack to out_dir/jobpacks/.", resp("Export result.", ref("ExportResult")), params=[JOB], req=body(ref("OutDirRequest"), False))}
P["/v1/jobs/{job_id}:verify"] = {"post": op("verifyJobpack", "Verify the exported jobpack in out_dir.", resp("Verified.", ref("VerifyResult")), params=[JOB], req=body(ref("OutDirRequest"), False))}
P["/v1/jobs/{job_id}:accept"] = {"post": op("acceptJob", "Run acceptance checks (200 even when a check fails).", resp("Accept result.", ref("AcceptResponse")), params=[JOB], req=body(ref("AcceptRequest"), True))}
P["/v1/jobs/{job_id}:report-github"] = {"post": op("reportGithub", "Write the GitHub summary (exports first).", resp("Report paths.", ref("ReportResponse")), params=[JOB], req=body(ref("OutDirRequest"), False))}

doc = {"openapi": "3.1.0", "info": {"title": "Wrkr Local Service API", "version": "v1",
    "description": "HTTP API of `wrkr serve` (docs/contracts/serve.md). Errors are wrkr.error_envelope documents with the real reason code."},
    "servers": [{"url": "http://127.0.0.1:9488"}],
    "components": {"schemas": S, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
        "description": "Required on every request when the server has a token (--auth-token-file, WRKR_SERVE_TOKEN)."}}},
    "paths": P}
json.dump(doc, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
