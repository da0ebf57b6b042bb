//! The JobSpec: loading, normalising and validating what a job is asked to do.
//!
//! A spec is accepted and rejected exactly as the Go implementation accepts and rejects it (digest
//! 7.1): unknown keys are ignored (Go's decoder drops them), keys match case-insensitively, `inputs`,
//! `expected_artifacts` and `required_types` default to empty, a missing `created_at` becomes the zero
//! time, `environment_fingerprint` is required in practice, and the normalised document is validated
//! against the embedded `wrkr.jobspec` schema. YAML is read with strict options: duplicate keys are an
//! error, only `true`/`false` are booleans (`yes`/`no` stay strings), and nesting depth, aliases and
//! size are bounded, so a hostile file costs an error, not the machine.
//!
//! Where Go was weak we fail earlier instead: an unsupported adapter, malformed reference steps, an
//! unknown fingerprint rule or an objective too long to become the plan checkpoint are rejected here,
//! before any job directory exists. Errors name the field (a JSON Pointer) and, for YAML, the line.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::contract::schema;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::budget::Limits;
use crate::job::fingerprint;

/// The largest JobSpec file we read (16 MiB): room for tens of thousands of steps; a bigger file is
/// a mistake or hostile.
pub const MAX_JOBSPEC_BYTES: u64 = 16 << 20;
/// Checkpoint summaries are at most 2000 bytes; the objective becomes the plan checkpoint's summary.
pub const MAX_SUMMARY_BYTES: usize = 2000;
/// The zero time Go writes for a missing `created_at`.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterKind {
    /// Runs `inputs.steps` (digest 7.7).
    Reference,
    /// Completes at once.
    Noop,
}

impl AdapterKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AdapterKind::Reference => "reference",
            AdapterKind::Noop => "noop",
        }
    }
}

/// One step of the reference adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub id: String,
    pub summary: String,
    /// Run with `sh -c` when non-empty and `executed`.
    pub command: String,
    /// `false`: recorded, not run.
    pub executed: bool,
    pub decision_needed: bool,
    pub required_action: Option<String>,
    /// Trimmed, deduplicated, sorted.
    pub artifacts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JobSpec {
    pub name: String,
    pub objective: String,
    pub adapter: AdapterKind,
    pub budgets: Limits,
    pub min_interval_seconds: u64,
    pub required_types: Vec<String>,
    pub expected_artifacts: Vec<String>,
    pub environment_rules: Vec<String>,
    pub workspace: Option<String>,
    pub steps: Vec<Step>,
    /// The normalised, schema-valid document: what the ledger records and the jobpack carries.
    pub document: Value,
}

/// Read and validate a JobSpec file (`.json` → JSON, anything else → YAML).
pub fn load(path: &Path) -> Result<JobSpec> {
    let label = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::invalid_input(format!("jobspec {label}: no such file")).with("path", label.as_str())
        }
        _ => Error::io(format!("read jobspec {label}"), e),
    })?;
    if !meta.is_file() {
        return Err(Error::invalid_input(format!("jobspec {label}: not a regular file")).with("path", label.as_str()));
    }
    if meta.len() > MAX_JOBSPEC_BYTES {
        return Err(Error::invalid_input(format!(
            "jobspec {label}: {} bytes, more than the {MAX_JOBSPEC_BYTES}-byte limit",
            meta.len()
        ))
        .with("path", label.as_str()));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("read jobspec {label}"), e))?;
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse(&bytes, is_json).map_err(|e| e.context(format!("jobspec {label}")))
}

/// Parse and validate JobSpec text.
pub fn parse(bytes: &[u8], is_json: bool) -> Result<JobSpec> {
    if bytes.len() as u64 > MAX_JOBSPEC_BYTES {
        return Err(Error::invalid_input(format!("more than the {MAX_JOBSPEC_BYTES}-byte limit")));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Error::invalid_input(format!("not UTF-8 text: {e}")))?;
    let raw = if is_json { parse_json(text)? } else { parse_yaml(text)? };
    let Value::Object(raw) = raw else {
        return Err(Error::invalid_input(format!(
            "expected a mapping at the top level, found {}",
            crate::json::kind(&raw)
        )));
    };
    let document = normalize(&raw)?;
    if let Some(v) = schema::find("wrkr.jobspec").and_then(|s| s.violations(&document).into_iter().next()) {
        let mut err = Error::invalid_input(format!("{}: {}", schema::pointer_label(&v.pointer), v.message))
            .with("pointer", v.pointer.as_str())
            .with("error", v.message.as_str());
        if let Some(line) = locate_line(text, &v.pointer) {
            err = Error::invalid_input(format!("line {line}: {}", err.message))
                .with("line", line)
                .with("pointer", v.pointer.as_str());
        }
        return Err(err.context("schema invalid"));
    }
    interpret(document)
}

/// The spec of a normalised document (as recorded in a job's ledger): validated again, so a ledger
/// edited by hand cannot smuggle in a spec the loader would have refused.
pub fn from_document(document: Value) -> Result<JobSpec> {
    if let Some(v) = schema::find("wrkr.jobspec").and_then(|s| s.violations(&document).into_iter().next()) {
        return Err(Error::invalid_input(format!(
            "recorded jobspec is invalid: {}: {}",
            schema::pointer_label(&v.pointer),
            v.message
        )));
    }
    interpret(document)
}

fn parse_json(text: &str) -> Result<Value> {
    crate::json::parse(text.as_bytes())
        .map_err(|e| Error::invalid_input(format!("invalid JSON: {e}")).with("line", e.line()))
}

fn parse_yaml(text: &str) -> Result<Value> {
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_depth = 64;
    budget.max_aliases = 100;
    budget.max_nodes = 1_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| {
        let mut err = Error::invalid_input(format!("invalid YAML: {}", first_line(&e.to_string())));
        if let Some(loc) = e.location() {
            err = err.with("line", loc.line());
        }
        err
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// Find `key` in `map` as Go's decoder does: an exact match first, else a case-insensitive one.
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Keep only the fields Go's JobSpec type has, fill Go's defaults, and normalise `created_at`.
fn normalize(raw: &Map<String, Value>) -> Result<Value> {
    let mut doc = Map::new();
    for key in ["schema_id", "schema_version"] {
        doc.insert(key.to_owned(), field(raw, key).cloned().unwrap_or(Value::String(String::new())));
    }
    let created_at = match field(raw, "created_at") {
        None | Some(Value::Null) => GO_ZERO_TIME.to_owned(),
        Some(Value::String(s)) => Timestamp::parse(s.trim()).map(|t| t.to_string()).ok_or_else(|| {
            Error::invalid_input(format!("created_at: {s:?} is not an RFC 3339 timestamp"))
                .with("pointer", "/created_at")
        })?,
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "created_at: expected an RFC 3339 string, found {}",
                crate::json::kind(other)
            ))
            .with("pointer", "/created_at"));
        }
    };
    doc.insert("created_at".to_owned(), Value::String(created_at));
    for key in ["producer_version", "name", "objective"] {
        doc.insert(key.to_owned(), field(raw, key).cloned().unwrap_or(Value::String(String::new())));
    }
    doc.insert("inputs".to_owned(), non_null(field(raw, "inputs")).cloned().unwrap_or_else(|| json!({})));
    doc.insert(
        "expected_artifacts".to_owned(),
        non_null(field(raw, "expected_artifacts")).cloned().unwrap_or_else(|| json!([])),
    );
    if let Some(adapter) = field(raw, "adapter") {
        doc.insert("adapter".to_owned(), pick(adapter, &["name", "config"], &[]));
    }
    if let Some(budgets) = field(raw, "budgets") {
        let known = [
            "max_wall_time_seconds",
            "max_retries",
            "max_step_count",
            "max_tool_calls",
            "max_estimated_cost",
            "max_tokens",
        ];
        doc.insert("budgets".to_owned(), pick(budgets, &known, &[("max_retries", json!(0))]));
    }
    if let Some(policy) = field(raw, "checkpoint_policy") {
        doc.insert(
            "checkpoint_policy".to_owned(),
            pick(policy, &["min_interval_seconds", "required_types"], &[("required_types", json!([]))]),
        );
    }
    if let Some(acceptance) = non_null(field(raw, "acceptance")) {
        doc.insert("acceptance".to_owned(), acceptance.clone());
    }
    match non_null(field(raw, "environment_fingerprint")) {
        Some(fp) => {
            let picked = pick(fp, &["rules"], &[]);
            doc.insert("environment_fingerprint".to_owned(), picked);
        }
        None => {
            return Err(Error::invalid_input("environment_fingerprint is required")
                .with("pointer", "/environment_fingerprint")
                .with_hint(
                    "add `environment_fingerprint: {rules: []}` to use the default rules (os, arch, go_version)",
                ));
        }
    }
    Ok(Value::Object(doc))
}

fn non_null(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// An object with only the `known` keys of `value` (case-insensitively), plus defaults for absent
/// ones. A non-object is returned as is, for the schema to reject with a pointer.
fn pick(value: &Value, known: &[&str], defaults: &[(&str, Value)]) -> Value {
    let Value::Object(map) = value else { return value.clone() };
    let mut out = Map::new();
    for key in known {
        if let Some(v) = non_null(field(map, key)) {
            out.insert((*key).to_owned(), v.clone());
        } else if let Some((_, d)) = defaults.iter().find(|(k, _)| k == key) {
            out.insert((*key).to_owned(), d.clone());
        }
    }
    Value::Object(out)
}

/// Turn the schema-valid document into the typed spec, with the checks the schema cannot express.
fn interpret(document: Value) -> Result<JobSpec> {
    let text = |ptr: &str| document.pointer(ptr).and_then(Value::as_str).unwrap_or_default().to_owned();
    let objective = text("/objective");
    if objective.trim().len() > MAX_SUMMARY_BYTES {
        return Err(Error::invalid_input(format!(
            "objective is {} bytes; it becomes the plan checkpoint's summary, which is at most {MAX_SUMMARY_BYTES}",
            objective.trim().len()
        ))
        .with("pointer", "/objective"));
    }
    let adapter = match text("/adapter/name").trim().to_lowercase().as_str() {
        "reference" => AdapterKind::Reference,
        "noop" => AdapterKind::Noop,
        other => {
            return Err(Error::invalid_input(format!("unsupported adapter {other:?}"))
                .with("adapter", other)
                .with("pointer", "/adapter/name")
                .with_hint("adapters are reference and noop"));
        }
    };
    let budgets: Limits = serde_json::from_value(document["budgets"].clone())
        .map_err(|e| Error::invalid_input(format!("budgets: {e}")).with("pointer", "/budgets"))?;
    let strings = |ptr: &str| -> Vec<String> {
        document
            .pointer(ptr)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let environment_rules = strings("/environment_fingerprint/rules");
    fingerprint::validate_rules(&environment_rules).map_err(|e| e.with("pointer", "/environment_fingerprint/rules"))?;
    let steps = match adapter {
        AdapterKind::Reference => steps(document.pointer("/inputs/steps"))?,
        AdapterKind::Noop => Vec::new(),
    };
    Ok(JobSpec {
        name: text("/name"),
        objective: objective.trim().to_owned(),
        adapter,
        budgets,
        min_interval_seconds: document
            .pointer("/checkpoint_policy/min_interval_seconds")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        required_types: strings("/checkpoint_policy/required_types"),
        expected_artifacts: strings("/expected_artifacts"),
        environment_rules,
        workspace: document.pointer("/inputs/workspace").and_then(Value::as_str).map(str::to_owned),
        steps,
        document,
    })
}

/// The reference adapter's steps (digest 7.7): a non-empty list of mappings.
fn steps(value: Option<&Value>) -> Result<Vec<Step>> {
    let Some(Value::Array(items)) = value else {
        return Err(Error::invalid_input("the reference adapter needs inputs.steps: a list of steps")
            .with("pointer", "/inputs/steps"));
    };
    if items.is_empty() {
        return Err(Error::invalid_input("inputs.steps is empty").with("pointer", "/inputs/steps"));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let Value::Object(map) = item else {
                return Err(Error::invalid_input(format!("inputs.steps[{index}] is not a mapping"))
                    .with("index", index)
                    .with("pointer", format!("/inputs/steps/{index}")));
            };
            let string =
                |key: &str| map.get(key).and_then(Value::as_str).map(|s| s.trim().to_owned()).unwrap_or_default();
            let mut id = string("id");
            if id.is_empty() {
                id = "step".to_owned();
            }
            let mut summary = string("summary");
            if summary.is_empty() {
                summary = format!("reference adapter step {id}");
            }
            if summary.len() > MAX_SUMMARY_BYTES {
                return Err(Error::invalid_input(format!(
                    "inputs.steps[{index}].summary is longer than {MAX_SUMMARY_BYTES} bytes"
                ))
                .with("pointer", format!("/inputs/steps/{index}/summary")));
            }
            let mut artifacts: Vec<String> = map
                .get("artifacts")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter().filter_map(Value::as_str).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
                })
                .unwrap_or_default();
            artifacts.sort();
            artifacts.dedup();
            let required_action = Some(string("required_action")).filter(|s| !s.is_empty());
            Ok(Step {
                command: map.get("command").and_then(Value::as_str).unwrap_or_default().to_owned(),
                executed: map.get("executed").and_then(Value::as_bool).unwrap_or(true),
                decision_needed: map.get("decision_needed").and_then(Value::as_bool).unwrap_or(false),
                required_action,
                artifacts,
                id,
                summary,
            })
        })
        .collect()
}

/// A job id made safe the way Go makes it: lowercase, trimmed, spaces and runs of other characters
/// than `[a-z0-9._-]` to `_`, `_.-` trimmed from both ends, `job` when nothing is left.
pub fn normalize_job_id(raw: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in raw.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    let trimmed = out.trim_matches(|c| matches!(c, '_' | '.' | '-'));
    if trimmed.is_empty() { "job".to_owned() } else { trimmed.to_owned() }
}

/// `<normalized name>_<unix seconds>`: the base of a default id (see `store::job_id::claim_fresh`
/// for the suffix that keeps two jobs of one second apart). The name part is capped so that the
/// id stays under the 128-byte limit.
pub fn infer_job_id(name: &str, now: Timestamp) -> String {
    let mut base = normalize_job_id(name);
    base.truncate(96);
    format!("{base}_{}", now.unix_seconds())
}

/// The 1-based line where the field a pointer names is written, found by looking for each key in
/// turn (`key:` in YAML, `"key"` in JSON). A best effort for messages; `None` when not found.
pub fn locate_line(text: &str, pointer: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut found = None;
    for segment in pointer.split('/').skip(1) {
        if segment.parse::<usize>().is_ok() {
            continue;
        }
        let key = segment.replace("~1", "/").replace("~0", "~");
        let yaml = format!("{key}:");
        let json = format!("\"{key}\"");
        let hit = (from..lines.len()).find(|&i| {
            let l = lines[i].trim_start().trim_start_matches("- ");
            l.starts_with(&yaml)
                || lines[i].contains(&json)
                || lines[i].contains(&format!(" {yaml}"))
                || lines[i].contains(&format!("{{{yaml}"))
        })?;
        from = hit;
        found = Some(hit + 1);
    }
    found
}

#[cfg(test)]
mod tests;
