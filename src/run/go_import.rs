//! Jobs begun by the Go implementation continue here: its `runtime_config.json` becomes our record.
//!
//! A job the Go wrkr submitted has a ledger we read as it is (digest 4.2), but not our
//! `x-jobspec_recorded` event or our per-step end records: Go keeps what the runner needs in
//! `runtime_config.json` beside the ledger (digest 4.6): the adapter, the JobSpec's `inputs`
//! (steps, workspace), the budgets with Go's PascalCase keys, and `next_step_index`, its cursor.
//!
//! [`adopt`] turns that file into what our runner reads, in one appended batch:
//! - `x-jobspec_recorded`: a JobSpec document built from the file (name = the job id, the
//!   recorded environment rules, budgets under their JobSpec names), the workspace being the
//!   current directory (Go runs steps in the directory `resume` is started from);
//! - one `x-step_finished` per step below `next_step_index` (`succeeded`, or `not_executed` for a
//!   step with `executed: false`), so those steps are never run again.
//!
//! Nothing is rewritten: the Go files stay as they were. It runs once per job (a ledger that has
//! a recorded spec is ours) and only from `wrkr resume`, after its gates. Once our runner has
//! appended its `x-` records the Go implementation cannot replay the ledger (it refuses unknown
//! event types), so a migration moves a job one way; docs/contracts/store.md says so.

use serde_json::{Map, Value, json};

use crate::contract::{Error, Result};
use crate::job::NewEvent;
use crate::run::history::History;
use crate::store::{AppendOptions, FsStore, JobId, Store};

/// Go's store file for a submitted job's steps and cursor.
pub const RUNTIME_CONFIG: &str = "runtime_config.json";

/// Go's budget keys (its Limits struct has no JSON tags) and the JobSpec keys they are.
const BUDGET_KEYS: [(&str, &str); 6] = [
    ("MaxWallTimeSeconds", "max_wall_time_seconds"),
    ("MaxRetries", "max_retries"),
    ("MaxStepCount", "max_step_count"),
    ("MaxToolCalls", "max_tool_calls"),
    ("MaxEstimatedCost", "max_estimated_cost"),
    ("MaxTokens", "max_tokens"),
];

/// Record the Go runtime config of `job` as ours, when the job has no recorded spec and the file
/// exists. Returns whether it did. A file that is not a Go runtime config is exit 6.
pub fn adopt(store: &FsStore, job: &JobId, history: &History) -> Result<bool> {
    if history.spec.is_some() {
        return Ok(false);
    }
    let Some(bytes) = store.read_job_file(job, RUNTIME_CONFIG)? else { return Ok(false) };
    let config_path = store.job_dir(job).join(RUNTIME_CONFIG);
    let bad = |why: String| {
        Error::invalid_input(format!("{}: {why}", config_path.display()))
            .with("path", config_path.display().to_string())
            .with("job_id", job.as_str())
    };
    let config: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON ({e}); cannot continue the Go job")))?;
    if config.get("schema_id").and_then(Value::as_str) != Some("wrkr.runtime_config") {
        return Err(bad("schema_id is not wrkr.runtime_config".to_owned()));
    }
    let steps = config.pointer("/inputs/steps").and_then(Value::as_array).map_or(0, Vec::len);
    let next = config.get("next_step_index").and_then(Value::as_u64).unwrap_or(0);
    let next = usize::try_from(next).ok().filter(|n| *n <= steps).ok_or_else(|| {
        bad(format!("next_step_index {next} is past the last of its {steps} steps")).with("next_step_index", next)
    })?;
    let document = jobspec_document(job, &config, history);
    // The runner checks the document against the JobSpec schema when it starts; check it here
    // so that a bad file is refused before anything is appended.
    crate::job::jobspec::from_document(document.clone()).map_err(|e| e.context("the Go runtime_config.json"))?;
    let workspace = std::env::current_dir().map_err(|e| Error::io("resolve the current directory", e))?;
    let mut events = vec![NewEvent::new(
        "x-jobspec_recorded",
        json!({"jobspec": document, "spec_path": config_path.display().to_string(),
               "workspace": workspace.display().to_string(), "adapter": document["adapter"]["name"],
               "imported_from": "go runtime_config.json", "next_step_index": next}),
    )];
    for index in 0..next {
        let step = config.pointer(&format!("/inputs/steps/{index}")).unwrap_or(&Value::Null);
        let executed = step.get("executed").and_then(Value::as_bool).unwrap_or(true);
        events.push(NewEvent::new(
            "x-step_finished",
            json!({"step_id": step.get("id").and_then(Value::as_str).unwrap_or("step"), "step_index": index,
                   "attempt": history.step(index).attempts.max(1),
                   "outcome": if executed { "succeeded" } else { "not_executed" }, "imported_from": "go"}),
        ));
    }
    store.append(job, AppendOptions::default(), &mut |_| Ok(events.clone()))?;
    Ok(true)
}

/// The JobSpec the Go job was submitted with, as far as `runtime_config.json` keeps it.
fn jobspec_document(job: &JobId, config: &Value, history: &History) -> Value {
    let text = |k: &str, default: &str| {
        config.get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty()).unwrap_or(default).to_owned()
    };
    let given = config.get("budgets").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut budgets = Map::new();
    for (go, ours) in BUDGET_KEYS {
        // Go's key, else ours (a runtime config written with JSON tags); null means no limit.
        match given.get(go).or_else(|| given.get(ours)) {
            Some(Value::Null) | None => {}
            Some(value) => {
                budgets.insert(ours.to_owned(), value.clone());
            }
        }
    }
    json!({
        "schema_id": "wrkr.jobspec",
        "schema_version": "v1",
        "created_at": text("created_at", "1970-01-01T00:00:00Z"),
        "producer_version": text("producer_version", "dev"),
        "name": job.as_str(),
        "objective": format!("continue the Go job {job}"),
        "inputs": config.get("inputs").cloned().unwrap_or_else(|| json!({})),
        "expected_artifacts": [],
        "adapter": {"name": text("adapter", "reference")},
        "budgets": budgets,
        "checkpoint_policy": {"min_interval_seconds": 1, "required_types": []},
        "environment_fingerprint": {"rules": history.env_rules},
    })
}
