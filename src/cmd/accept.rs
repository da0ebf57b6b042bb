//! wrkr accept init|run: write an accept.yaml, or run acceptance on a job or a pack (digest 7.5).
//!
//! `run JOB` is a composition: export the job's pack (`pack::export`), run the checks on it
//! (`accept::run`), store the result in the job (`accept_result.json`, so the next export carries
//! `accept/accept_result.json`) and append an `x-accept_ran` event with the per-check list (so
//! reports can show the checks table), then with `--ci` write JUnit, re-export and write the GitHub
//! summary. `run PACK` checks a pack file: nothing is stored or re-exported; the result goes to
//! `<out>/reports/accept_result_<id>.json`. The config is loaded before anything is written.
//! The command registers under the `accept` tool (src/tools/accept.rs), which dispatches here.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::accept::outcome::ACCEPT_EVENT;
use crate::accept::{self, config};
use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::NewEvent;
use crate::pack::export::{ExportOptions, export_job, job_argument};
use crate::pack::records::ACCEPT_RESULT_FILE;
use crate::pack::source;
use crate::report::publish;
use crate::store::{AppendOptions, Store};
use crate::tools::accept::{CI, CONFIG, FORCE, JUNIT, OUT_DIR, PATH, WORKSPACE, finish};

/// `wrkr accept init [--path P] [--force]`.
pub fn init(args: &Args, words: &[String], io: &mut Io) -> Result<()> {
    if !words.is_empty() {
        return Err(Error::invalid_input("usage: wrkr accept init [--path FILE] [--force]"));
    }
    let path = Path::new(args.value(PATH.long).unwrap_or("accept.yaml"));
    if path == Path::new("-") {
        return io.write(config::TEMPLATE.as_bytes());
    }
    if path.exists() && !args.switch(FORCE.long) {
        return Err(Error::already_exists(path).with_hint("pass --force to overwrite it"));
    }
    publish::write_file(path, config::TEMPLATE.as_bytes())?;
    let shown = path.display().to_string();
    // `config_path` is Go's name for the same path (digest 8.2); both stay for v1.
    if io.json { io.pretty(&json!({"path": shown, "config_path": shown})) } else { io.line(&format!("config={shown}")) }
}

/// `wrkr accept run JOB|PACK [--config P] [--junit P] [--ci] [--out-dir D] [--workspace D]`.
pub fn run(args: &Args, words: &[String], io: &mut Io) -> Result<()> {
    let [target] = words else {
        return Err(Error::invalid_input("usage: wrkr accept run JOB|PACK [OPTIONS]").with_hint("wrkr accept --help"));
    };
    args.one_stdin_reader(&[CONFIG.long], target == "-")?;
    let request = RunRequest {
        target: target.clone(),
        config_path: args.value(CONFIG.long).unwrap_or("accept.yaml").to_owned(),
        out_dir: PathBuf::from(args.value(OUT_DIR.long).unwrap_or(crate::cmd::export::DEFAULT_OUT_DIR)),
        workspace: args.value(WORKSPACE.long).map(PathBuf::from),
        junit: args.value(JUNIT.long).map(PathBuf::from),
        ci: args.switch(CI.long),
    };
    let store = match job_argument(target) {
        Some(_) => Some(args.store()?),
        None => None,
    };
    let (out, outcome) = execute(store.as_deref(), &request)?;
    print(io, &out)?;
    finish(io, &outcome)
}

/// What `accept run` is asked to do, as typed data (from flags or a request body).
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// A job id (when `job_argument` says so) or a pack path.
    pub target: String,
    pub config_path: String,
    pub out_dir: PathBuf,
    pub workspace: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub ci: bool,
}

/// Run acceptance and return the command's JSON output and the outcome (whose verdict decides
/// exit 5). `store` is required when the target is a job.
pub fn execute(store: Option<&dyn Store>, request: &RunRequest) -> Result<(Value, accept::Outcome)> {
    let config_path = request.config_path.as_str();
    let config = config::load(Path::new(config_path))?;
    let out_dir = request.out_dir.clone();
    let ci = request.ci;
    let target = request.target.as_str();
    let job = job_argument(target);
    let store = match &job {
        Some(_) => Some(store.ok_or_else(|| Error::generic("accept run on a job needs a store"))?),
        None => None,
    };
    let (pack, written) = match (&job, store) {
        (Some(job), Some(store)) => {
            let exported = export_job(store, job, &out_dir, &ExportOptions::default())?;
            (exported.path, Some(exported.files))
        }
        _ => (PathBuf::from(target), None),
    };
    let log_dir = match &job {
        Some(job) => Some(publish::reports_dir(&out_dir)?.join(format!("accept_{job}_logs"))),
        None => None,
    };
    let opts = accept::Options { workspace: request.workspace.clone(), log_dir, written };
    let outcome = accept::run(&source::open(&pack.to_string_lossy())?, &config, &opts)?;
    let now = Timestamp::now();
    let result = outcome.accept_result(now);
    crate::contract::schema::find("wrkr.accept_result")
        .ok_or_else(|| Error::generic("schema wrkr.accept_result missing"))?
        .check(&result, "accept_result")?;
    let bytes = crate::jcs::to_vec(&result);
    let accept_result_path = match (&job, store) {
        (Some(job), Some(store)) => {
            crate::failpoint::check("accept.result_write").map_err(|e| Error::io("write accept result", e))?;
            store.write_job_file(job, ACCEPT_RESULT_FILE, &bytes)?;
            let payload = outcome.event_payload(config_path);
            store.append(job, AppendOptions::default(), &mut |_| {
                Ok(vec![NewEvent::new(ACCEPT_EVENT, payload.clone())])
            })?;
            // On PostgreSQL the result is a row of wrkr_job_files, named the same way.
            match store.local_job_dir(job) {
                Some(dir) => dir.join(ACCEPT_RESULT_FILE),
                None => PathBuf::from(format!("wrkr_job_files:{job}/{ACCEPT_RESULT_FILE}")),
            }
        }
        _ => {
            crate::store::JobId::parse(&outcome.job_id)?;
            let path = publish::reports_dir(&out_dir)?.join(format!("accept_result_{}.json", outcome.job_id));
            publish::write_file(&path, &bytes)?;
            path
        }
    };
    let junit_path = match (&request.junit, ci) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(publish::reports_dir(&out_dir)?.join(format!("accept_{}.junit.xml", outcome.job_id))),
        (None, false) => None,
    };
    if let Some(path) = &junit_path {
        publish::write_file(path, outcome.junit().as_bytes())?;
    }
    let mut out = json!({
        "job_id": outcome.job_id,
        "config_path": config_path,
        "accept_result_path": accept_result_path.display().to_string(),
        "accept_result": result,
        "checks": outcome.go_checks(),
    });
    if let Some(p) = &junit_path {
        out["junit_path"] = json!(p.display().to_string());
    }
    if ci {
        let pack = match (&job, store) {
            (Some(job), Some(store)) => export_job(store, job, &out_dir, &ExportOptions::default())?.path,
            _ => pack,
        };
        out["jobpack_path"] = json!(pack.display().to_string());
        let published = publish::github_summary(&pack, &out_dir)?;
        out["summary_json_path"] = json!(published.summary_json_path);
        out["summary_markdown_path"] = json!(published.summary_markdown_path);
        if let Some(p) = published.step_summary_path {
            out["step_summary_path"] = json!(p);
        }
    }
    Ok((out, outcome))
}

fn print(io: &mut Io, out: &Value) -> Result<()> {
    if io.json {
        return io.pretty(out);
    }
    let text = |k: &str| out.get(k).and_then(Value::as_str).unwrap_or_default();
    let n = |k: &str| out.pointer(&format!("/accept_result/{k}")).map(Value::to_string).unwrap_or_default();
    let failures = out.pointer("/accept_result/failures").and_then(Value::as_array).cloned().unwrap_or_default();
    io.line(&format!(
        "job_id={} checks={} passed={} failures={}",
        text("job_id"),
        n("checks_run"),
        n("checks_passed"),
        failures.len()
    ))?;
    io.line(&format!("accept_result={}", text("accept_result_path")))?;
    if !text("junit_path").is_empty() {
        io.line(&format!("junit={}", text("junit_path")))?;
    }
    if !text("summary_markdown_path").is_empty() {
        io.line(&format!("summary={}", text("summary_markdown_path")))?;
    }
    for f in &failures {
        let message: String = f.get("message").and_then(Value::as_str).unwrap_or_default().chars().take(160).collect();
        let check = f.get("check").and_then(Value::as_str).unwrap_or_default();
        io.line(&format!("failure check={check} message={}", message.replace('\n', " ")))?;
    }
    Ok(())
}
