//! The state-changing endpoints: each decodes a closed request body, confines its paths, and
//! calls the same library function as the CLI command of the same name.
//!
//! Submit and resume run the job: by default on a background thread with its own `FsStore`
//! (answering `202 Accepted` at once, the job id in the body; poll `:status`), or, with
//! `"wait": true`, in the request (Go's behaviour: the answer comes when the job completes or
//! blocks). A background run that fails is recorded in the job's ledger like any run; the server
//! also logs one line. There is no cancellation on client disconnect: use `:pause` or `:cancel`.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cmd::accept::{RunRequest, execute};
use crate::cmd::checkpoint::{self as cp, Emit};
use crate::cmd::export::DEFAULT_OUT_DIR;
use crate::cmd::resume::{EnvOverride, gate};
use crate::cmd::{approve as approve_cmd, submit as submit_cmd};
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::approver::Approver;
use crate::job::jobspec::{self};
use crate::job::{NewEvent, Status};
use crate::pack::export::{ExportOptions, export_job, pack_path, receipt};
use crate::pack::verify as pack_verify;
use crate::report::publish;
use crate::run::runner::{self, Options, Report};
use crate::serve::confine::{Kind, confine};
use crate::serve::endpoints::Call;
use crate::serve::reply::{Obj, Reply};
use crate::store::{AppendOptions, FsStore, JobId, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    jobspec_path: String,
    job_id: Option<String>,
    #[serde(default)]
    wait: bool,
}

pub fn submit(call: &Call<'_>) -> Result<Reply> {
    let body: SubmitBody = call.decode()?;
    let given = body.job_id.as_deref().map(JobId::parse).transpose()?;
    let path = confine(&call.ctx.cwd, "jobspec_path", &body.jobspec_path, Kind::ExistingFile)?;
    let mut spec = jobspec::load(&path)?;
    let store = call.file_store()?;
    let job = match given {
        Some(job) => {
            submit_cmd::create(&store, &job, &mut spec, &path)?;
            job
        }
        None => {
            let base = jobspec::infer_job_id(&spec.name, Timestamp::now());
            submit_cmd::create_fresh(&store, &base, &mut spec, &path)?
        }
    };
    let out = json!({"job_id": job.as_str(), "status": "queued", "adapter": spec.adapter.as_str(),
                         "spec_name": spec.name, "objective": spec.objective, "spec_path": body.jobspec_path});
    run(call, &store, job, out, body.wait)
}

/// Run the job on its own thread with its own store handle.
fn background(call: &Call<'_>, job: JobId) -> Result<()> {
    let root = call.file_store()?.root().to_path_buf();
    let ttl = call.ctx.lease_ttl;
    std::thread::Builder::new()
        .name(format!("run-{}", job.as_str()))
        .spawn(move || {
            let store = FsStore::new(root);
            let line = match runner::drive(&store, &job, &Options::new(ttl)) {
                Ok(report) => {
                    json!({"event": "run_finished", "job_id": job.as_str(), "status": report.status.as_str()})
                }
                Err(err) => json!({"event": "run_failed", "job_id": job.as_str(), "code": err.code.as_str()}),
            };
            crate::serve::server::log(&line);
        })
        .map(drop)
        .map_err(|e| Error::io("start a runner thread", e))
}

fn outcome(out: &mut Value, report: &Report) {
    report.add_to(out);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    checkpoint_id: String,
    reason: String,
    approved_by: Option<String>,
}

pub fn approve(call: &Call<'_>) -> Result<Reply> {
    let body: ApproveBody = call.decode()?;
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    let by = request_approver(body.approved_by.as_deref())?;
    Ok(Reply::json(200, &approve_cmd::approve(&store, &job, &body.checkpoint_id, &body.reason, &by)?))
}

/// Who decides through the API: the request's `approved_by` (source `request`). It is required:
/// the bearer token is one shared secret that names nobody, and recording `serve` (what this did
/// before) put the server's name where an approval record needs a person's.
fn request_approver(given: Option<&str>) -> Result<Approver> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => Ok(Approver { name: name.to_owned(), source: "request" }),
        None => Err(Error::invalid_input("approved_by is required: who approves (the auth token names nobody)")
            .with("field", "approved_by")
            .with_hint(r#"send {"approved_by": "ana", ...} in the request body"#)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResumeBody {
    #[serde(default)]
    wait: bool,
    #[serde(default)]
    force_env: bool,
    reason: Option<String>,
    approved_by: Option<String>,
}

pub fn resume(call: &Call<'_>) -> Result<Reply> {
    let body: ResumeBody = call.decode()?;
    let store = call.file_store()?;
    let job = call.existing_job(&store)?;
    let force = match (body.force_env, body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty())) {
        (false, _) => None,
        (true, None) => return Err(Error::invalid_input("force_env needs a reason")),
        (true, Some(reason)) => {
            Some(EnvOverride { reason: reason.to_owned(), approved_by: request_approver(body.approved_by.as_deref())? })
        }
    };
    gate(&store, &job, force.as_ref())?;
    let out = json!({"job_id": job.as_str(), "status": "running"});
    run(call, &store, job, out, body.wait)
}

/// Run the job: to its end or first block with `wait` (200, the outcome added to `out`), else on
/// a background thread (202, `out` as it is).
fn run(call: &Call<'_>, store: &FsStore, job: JobId, mut out: Value, wait: bool) -> Result<Reply> {
    if wait {
        let report = runner::drive(store, &job, &Options::new(call.ctx.lease_ttl))?;
        outcome(&mut out, &report);
        return Ok(Reply::json(200, &out));
    }
    background(call, job)?;
    Ok(Reply::json(202, &out))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PauseBody {
    /// Also stop the running step (it runs again on resume).
    #[serde(default)]
    now: bool,
}

pub fn pause(call: &Call<'_>) -> Result<Reply> {
    let body: PauseBody = call.decode()?;
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    let done = store.append(&job, AppendOptions::default(), &mut |s| {
        let mut events = vec![NewEvent::status_changed(s.status, Status::Paused)];
        if body.now {
            events.push(NewEvent::new("x-pause_requested", json!({"now": true})));
        }
        Ok(events)
    })?;
    Ok(Reply::json(200, &serde_json::to_value(&done.state).unwrap_or(Value::Null)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Empty {}

pub fn cancel(call: &Call<'_>) -> Result<Reply> {
    let _: Empty = call.decode()?;
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    let state = store.change_status(&job, Status::Canceled, None)?;
    Ok(Reply::json(200, &serde_json::to_value(&state).unwrap_or(Value::Null)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmitBody {
    #[serde(rename = "type")]
    kind: String,
    summary: String,
    status: Option<String>,
    required_action: Option<Obj<RequiredAction>>,
    #[serde(default)]
    reason_codes: Vec<String>,
    artifacts_delta: Option<Obj<Delta>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RequiredAction {
    kind: Option<String>,
    instructions: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Delta {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    changed: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

pub fn emit(call: &Call<'_>) -> Result<Reply> {
    let body: EmitBody = call.decode()?;
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    let action = body.required_action.map(|o| o.0).unwrap_or_default();
    let delta = body.artifacts_delta.map(|o| o.0).unwrap_or_default();
    let request = Emit {
        kind: body.kind,
        summary: body.summary,
        status: body.status,
        required_kind: action.kind,
        required_instructions: action.instructions,
        reason_codes: body.reason_codes,
        added: delta.added,
        changed: delta.changed,
        removed: delta.removed,
    };
    Ok(Reply::json(201, &cp::emit(&store, &job, &request)?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OutDirBody {
    out_dir: Option<String>,
}

/// The confined out dir; the job id is validated first (ids before any file system access).
fn out_dir(call: &Call<'_>, given: Option<&str>) -> Result<std::path::PathBuf> {
    call.job()?;
    confine(&call.ctx.cwd, "out_dir", given.unwrap_or(DEFAULT_OUT_DIR), Kind::OutputDir)
}

pub fn export(call: &Call<'_>) -> Result<Reply> {
    let body: OutDirBody = call.decode()?;
    let store = call.store()?;
    let dir = out_dir(call, body.out_dir.as_deref())?;
    let job = call.existing_job(&store)?;
    let e = export_job(&store, &job, &dir, &ExportOptions::default())?;
    Ok(Reply::json(
        200,
        &json!({"job_id": e.job_id, "path": e.path.display().to_string(), "manifest_sha256": e.manifest_sha256, "footer": e.footer}),
    ))
}

pub fn verify(call: &Call<'_>) -> Result<Reply> {
    let body: OutDirBody = call.decode()?;
    let job = call.job()?;
    let path = pack_path(&out_dir(call, body.out_dir.as_deref())?, &job);
    let file = std::fs::File::open(&path).map_err(|_| {
        Error::not_found("jobpack not found")
            .with("job_id", job.as_str())
            .with_hint(format!("POST /v1/jobs/{}:export first", job.as_str()))
    })?;
    let report = pack_verify::verify(file, &pack_verify::Options::default())?;
    Ok(Reply::json(
        200,
        &json!({"job_id": report.job_id, "manifest_sha256": report.manifest_sha256, "files_verified": report.files_verified}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    config_path: Option<String>,
}

/// Acceptance on the job; 200 with the result even when a check fails (Go's behaviour).
pub fn accept(call: &Call<'_>) -> Result<Reply> {
    let body: AcceptBody = call.decode()?;
    let store = call.store()?;
    call.job()?;
    let config = confine(
        &call.ctx.cwd,
        "config_path",
        body.config_path.as_deref().unwrap_or("accept.yaml"),
        Kind::ExistingFile,
    )?;
    let job = call.existing_job(&store)?;
    let request = RunRequest {
        target: job.as_str().to_owned(),
        config_path: config.display().to_string(),
        out_dir: out_dir(call, None)?,
        workspace: None,
        junit: None,
        ci: false,
    };
    if crate::pack::export::job_argument(&request.target).is_none() {
        return Err(
            Error::invalid_input("the job id names a file in the server's directory").with("job_id", job.as_str())
        );
    }
    let (mut out, _) = execute(Some(&store), &request)?;
    if let Some(map) = out.as_object_mut() {
        map.shift_remove("job_id");
    }
    Ok(Reply::json(200, &out))
}

pub fn report_github(call: &Call<'_>) -> Result<Reply> {
    let body: OutDirBody = call.decode()?;
    let store = call.store()?;
    let dir = out_dir(call, body.out_dir.as_deref())?;
    let job = call.existing_job(&store)?;
    let pack = receipt(&store, &job, &dir, &ExportOptions::default())?.path;
    let p = publish::github_summary(Path::new(&pack), &dir)?;
    Ok(Reply::json(
        200,
        &json!({"summary": p.summary, "summary_json_path": p.summary_json_path,
                "summary_markdown_path": p.summary_markdown_path, "step_summary_path": p.step_summary_path}),
    ))
}
