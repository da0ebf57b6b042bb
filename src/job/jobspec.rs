//! The JobSpec: loading, normalising and validating what a job is asked to do.
//!
//! A spec is read as the Go implementation reads it (digest 7.1) in what it accepts: `inputs`,
//! `expected_artifacts` and `required_types` default to empty, a missing `created_at` becomes the
//! zero time, `environment_fingerprint` is required in practice, and the normalised document is
//! validated against the embedded `wrkr.jobspec` schema. YAML is read with strict options:
//! duplicate keys are an error, only `true`/`false` are booleans (`yes`/`no` stay strings), and
//! nesting depth, aliases and size are bounded, so a hostile file costs an error, not the machine.
//!
//! Where Go was silent we are strict (docs/contracts/jobspec.md): a key wrkr does not know is an
//! error with the closest known key suggested (`x-` keys are free), keys are exact, and step fields
//! of the wrong type are errors; so are an unsupported adapter, an unknown fingerprint rule or an
//! objective too long to become the plan checkpoint. All of it is found before any job directory
//! exists, and every finding of a spec is reported at once, each with its field (a JSON Pointer),
//! line and column.
//!
//! Two paths read the text. A clean spec is read once, streaming (`stream`): its steps go one at
//! a time into the packed `Steps` and into the bytes the ledger records, so a 25,000-step spec is
//! never one document (issue 16). Anything else falls to the document path, which parses the
//! spec whole and finds and words every finding; the two accept the same specs with the same
//! fields and recorded bytes (`stream`'s tests).

use std::borrow::Cow;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::contract::schema;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::budget::Limits;
use crate::job::fingerprint;
use crate::json::tape::TapeNode;

mod finding;
mod locate;
mod steps;
mod stream;
mod strict;
mod words;

pub use finding::{Finding, Findings};
pub use steps::{Step, Steps};
use steps::{no_steps, step_list, steps_of_document};

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
    pub steps: Steps,
    /// The normalised, schema-valid document: what the ledger records and the jobpack carries.
    /// For a spec read by streaming, `/inputs/steps` here is `null`, standing in for
    /// `steps_json`; [`JobSpec::write_document`] writes the two as one.
    pub document: Value,
    /// `inputs.steps` as the ledger records it (compact JSON) and its number of items, for a spec
    /// read by streaming (`stream`): a big spec's steps are never one document (issue 16).
    pub steps_json: Option<(Vec<u8>, usize)>,
}

impl JobSpec {
    /// Things that are valid but almost certainly not meant (`validate` and `submit --explain` print
    /// them on stderr; the exit code is unchanged). A decision on the last step that runs a command
    /// gates nothing: its command runs before the approval is asked (Go's behaviour, kept).
    pub fn warnings(&self) -> Vec<String> {
        match self.steps.last() {
            Some(last) if last.decision_needed && last.executed && !last.command.trim().is_empty() => vec![format!(
                "warning: step {} is the last step: its decision gates nothing (its command runs before the \
                 approval); put the decision on the step before, or add a gate step with executed: false",
                last.id
            )],
            _ => Vec::new(),
        }
    }

    /// Write the document as the ledger records it: the bytes serde_json writes for the whole
    /// normalised document, the streamed steps' text where `document` holds their `null`. The
    /// document moves out (`null` afterwards): a long job's spec is megabytes, one copy is enough.
    /// Returns the number of items of `/inputs/steps` (0 when it is not a list): what the job's
    /// state reads of the recorded spec (`OutlookFacts::step_total`).
    pub fn write_document(&mut self, out: &mut Vec<u8>) -> usize {
        let document = std::mem::take(&mut self.document);
        let steps = self.steps_json.take();
        let count = match &steps {
            Some((_, count)) => *count,
            None => document.pointer("/inputs/steps").and_then(Value::as_array).map_or(0, Vec::len),
        };
        match (&document, steps) {
            (Value::Object(members), Some((steps, _))) => {
                write_object(out, members, &mut |out, key, value| match value {
                    Value::Object(inputs) if key == "inputs" => {
                        write_object(out, inputs, &mut |out, key, value| match key {
                            "steps" => out.extend_from_slice(&steps),
                            _ => write_json(out, value),
                        });
                    }
                    _ => write_json(out, value),
                })
            }
            _ => write_json(out, &document),
        }
        count
    }
}

/// `{"key":value,...}` as serde_json writes a map, each value written by `value`.
fn write_object(out: &mut Vec<u8>, members: &Map<String, Value>, value: &mut dyn FnMut(&mut Vec<u8>, &str, &Value)) {
    out.push(b'{');
    for (index, (key, member)) in members.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_json(out, key);
        out.push(b':');
        value(out, key, member);
    }
    out.push(b'}');
}

/// Compact JSON, serde_json's bytes; writing to a `Vec` cannot fail, nor can a `Value` or `str`.
fn write_json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    let _ = serde_json::to_writer(out, value);
}

/// Read and validate a JobSpec file (`.json` → JSON, anything else → YAML); `-` reads stdin (YAML).
pub fn load(path: &Path) -> Result<JobSpec> {
    let source = Source::read(path)?;
    check(&source.bytes, source.is_json).map_err(|findings| findings.into_error(&source.label))
}

/// A JobSpec's bytes, read with the size limit, and how to name it in findings.
pub struct Source {
    /// The path as given, or `stdin`.
    pub label: String,
    pub bytes: Vec<u8>,
    pub is_json: bool,
}

impl Source {
    /// Read `path` (`-`: stdin), refusing what is not a regular file or is over the size limit.
    pub fn read(path: &Path) -> Result<Source> {
        use std::io::Read;
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_JOBSPEC_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io("read the jobspec from stdin", e))?;
            if bytes.len() as u64 > MAX_JOBSPEC_BYTES {
                return Err(Error::invalid_input(format!(
                    "jobspec stdin: more than the {MAX_JOBSPEC_BYTES}-byte limit"
                )));
            }
            return Ok(Source { label: "stdin".to_owned(), bytes, is_json: false });
        }
        let label = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::invalid_input(format!("jobspec {label}: no such file")).with("path", label.as_str())
            }
            _ => Error::io(format!("read jobspec {label}"), e),
        })?;
        if !meta.is_file() {
            return Err(
                Error::invalid_input(format!("jobspec {label}: not a regular file")).with("path", label.as_str())
            );
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
        Ok(Source { label, bytes, is_json })
    }
}

/// Parse and validate JobSpec text; every finding becomes part of one error.
pub fn parse(bytes: &[u8], is_json: bool) -> Result<JobSpec> {
    check(bytes, is_json).map_err(|findings| findings.into_error("jobspec"))
}

/// Parse and validate JobSpec text, collecting every finding (located by line and column) instead
/// of stopping at the first. Text that does not parse is one finding: nothing after it is known.
pub fn check(bytes: &[u8], is_json: bool) -> std::result::Result<JobSpec, Findings> {
    let fatal = |f: Finding| Findings(vec![f]);
    if bytes.len() as u64 > MAX_JOBSPEC_BYTES {
        return Err(fatal(Finding::at(None, None, format!("more than the {MAX_JOBSPEC_BYTES}-byte limit"))));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| fatal(Finding::at(None, None, format!("not UTF-8 text: {e}"))))?;
    // A clean spec is read once, streaming; any other is read as a document, for its findings.
    match streamed(text, is_json) {
        Some(spec) => Ok(spec),
        None => check_document(text, is_json),
    }
}

/// The document path: the spec parsed whole into a `Value`, then checked; every finding is found
/// and worded here.
fn check_document(text: &str, is_json: bool) -> std::result::Result<JobSpec, Findings> {
    let fatal = |f: Finding| Findings(vec![f]);
    let raw = if is_json { parse_json(text) } else { parse_yaml(text) }.map_err(fatal)?;
    let Value::Object(mut raw) = raw else {
        let found = crate::json::kind(&raw);
        return Err(fatal(Finding::at(
            Some(1),
            Some(1),
            format!("expected a mapping at the top level, found {found}"),
        )));
    };
    let mut findings = Findings::default();
    strict::check(&raw, &mut findings);
    // `inputs` (the steps: nearly all of a big spec) moves into the document rather than being
    // copied, so a spec is held once, not twice (peak RSS, issue 16).
    let inputs = raw.remove("inputs");
    let written_inputs = inputs.as_ref().map(Value::is_null);
    let document = normalize(&raw, inputs, &mut findings);
    let schema = schema::find("wrkr.jobspec").filter(|schema| !schema.validator().is_valid(&document));
    if let Some(schema) = schema {
        // Only a refused spec is worded, and the words need the spec as written, inputs included.
        match written_inputs {
            Some(true) => drop(raw.insert("inputs".to_owned(), Value::Null)),
            Some(false) => drop(raw.insert("inputs".to_owned(), document["inputs"].clone())),
            None => {}
        }
        let raw = Value::Object(raw);
        for v in words::violations(schema, &document, Some(&raw)) {
            if !strict::misspelt(&findings, &v.pointer, &v.message) && !findings.touches(&v.pointer) {
                findings.push(Finding::new(v.pointer, v.message));
            }
        }
    }
    let spec = interpret(document, &mut findings, steps_of_document);
    match spec {
        Some(spec) if findings.is_empty() => Ok(spec),
        _ => {
            findings.locate(text);
            Err(findings)
        }
    }
}

/// A clean spec read by streaming (see `stream`), its steps never one document; `None` for any
/// other, which the document path then reads and words the findings of. The checks are the
/// document path's, in its order, on the same values: only the steps were checked as they came.
fn streamed(text: &str, is_json: bool) -> Option<JobSpec> {
    let stream::Streamed { mut raw, steps, steps_json } = stream::read(text, is_json)?;
    let mut findings = Findings::default();
    strict::check(&raw, &mut findings);
    let inputs = raw.remove("inputs");
    let document = normalize(&raw, inputs, &mut findings);
    let valid = schema::find("wrkr.jobspec").is_none_or(|schema| schema.validator().is_valid(&document));
    if !findings.is_empty() || !valid {
        return None;
    }
    let streamed_steps = steps.as_ref().map(Steps::len);
    let read_steps = |_: &Value| match steps {
        Some(steps) if !steps.is_empty() => Ok(steps),
        _ => Err(no_steps()),
    };
    let mut spec = interpret(document, &mut findings, read_steps).filter(|_| findings.is_empty())?;
    spec.steps_json = streamed_steps.map(|count| (steps_json, count));
    Some(spec)
}

/// The spec of a normalised document (as recorded in a job's ledger): validated again, so a ledger
/// edited by hand cannot smuggle in a spec the loader would have refused.
pub fn from_document(document: Value) -> Result<JobSpec> {
    let mut findings = Findings::default();
    if let Some(schema) = schema::find("wrkr.jobspec") {
        for v in words::violations(schema, &document, None) {
            findings.push(Finding::new(v.pointer, v.message));
        }
    }
    match interpret(document, &mut findings, steps_of_document) {
        Some(spec) if findings.is_empty() => Ok(spec),
        _ => Err(findings.into_error("recorded jobspec")),
    }
}

/// The spec recorded in a job's ledger, read from the recorded line's tape rather than from a
/// document: a 25,000-step spec is about 1 MB of JSON, 19 MB as a `serde_json::Value`, and a
/// runner needs only its typed steps (issue 16). Checked as [`from_document`] checks it (the same
/// schema, on the tape; a spec it refuses is re-read as a document for the findings' words), then
/// everything but the steps is read as a small document and each step is read on its own.
/// `JobSpec::document` is `null`.
pub fn from_recorded(spec: TapeNode<'_>) -> Result<JobSpec> {
    let valid = schema::find("wrkr.jobspec").is_none_or(|schema| schema.is_valid_tape(spec));
    let Some(members) = spec.members().filter(|_| valid) else {
        let mut refused = from_document(spec.to_value())?;
        refused.document = Value::Null;
        return Ok(refused);
    };
    let mut document = Map::new();
    let mut recorded_steps = None;
    for (key, value) in members {
        let value = match (key, value.members()) {
            ("inputs", Some(inputs)) => {
                let mut small = Map::new();
                for (key, value) in inputs {
                    match key {
                        "steps" => recorded_steps = Some(value),
                        _ => drop(small.insert(key.to_owned(), value.to_value())),
                    }
                }
                Value::Object(small)
            }
            _ => value.to_value(),
        };
        document.insert(key.to_owned(), value);
    }
    let mut findings = Findings::default();
    let read_steps = |_: &Value| match recorded_steps.and_then(|s| s.items()) {
        Some(items) => step_list(items.map(|item| Cow::Owned(item.to_value()))),
        None => Err(no_steps()),
    };
    match interpret(Value::Object(document), &mut findings, read_steps) {
        Some(mut spec) if findings.is_empty() => {
            spec.document = Value::Null;
            Ok(spec)
        }
        _ => Err(findings.into_error("recorded jobspec")),
    }
}

fn parse_json(text: &str) -> std::result::Result<Value, Finding> {
    crate::json::parse(text.as_bytes()).map_err(|e| Finding::at(Some(e.line()), None, format!("invalid JSON: {e}")))
}

fn parse_yaml(text: &str) -> std::result::Result<Value, Finding> {
    serde_saphyr::from_str_with_options::<Value>(text, yaml_options()).map_err(|e| {
        let at = e.location();
        Finding::at(
            at.map(|l| l.line() as usize),
            at.map(|l| l.column() as usize),
            format!("invalid YAML: {}", first_line(&e.to_string())),
        )
    })
}

/// The strict YAML options every reading of a spec uses (the document path and `stream`).
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_depth = 64;
    budget.max_aliases = 100;
    budget.max_nodes = 1_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // Aliases are for sharing a block or two; an alias bomb (each level repeating the last) would
    // otherwise replay up to a million events before the event budget stops it (seconds of CPU).
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    aliases.max_total_replayed_events = 10_000;
    aliases.max_replay_stack_depth = 16;
    aliases.max_alias_expansions_per_anchor = 1_000;
    options.alias_limits = aliases;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    options
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// Fill Go's defaults, normalise `created_at`, and keep only the fields Go's JobSpec type has
/// (unknown keys are findings already; `x-` keys are not recorded).
fn normalize(raw: &Map<String, Value>, inputs: Option<Value>, findings: &mut Findings) -> Value {
    let field = |key: &str| raw.get(key);
    let mut doc = Map::new();
    for key in ["schema_id", "schema_version"] {
        doc.insert(key.to_owned(), field(key).cloned().unwrap_or(Value::String(String::new())));
    }
    let created_at = match field("created_at") {
        None | Some(Value::Null) => GO_ZERO_TIME.to_owned(),
        Some(Value::String(s)) => Timestamp::parse(s.trim()).map(|t| t.to_string()).unwrap_or_else(|| {
            findings.push(Finding::new("/created_at", format!("{s:?} is not an RFC 3339 timestamp")));
            GO_ZERO_TIME.to_owned()
        }),
        Some(other) => {
            let found = crate::json::kind(other);
            findings.push(Finding::new("/created_at", format!("expected an RFC 3339 string, found {found}")));
            GO_ZERO_TIME.to_owned()
        }
    };
    doc.insert("created_at".to_owned(), Value::String(created_at));
    for key in ["producer_version", "name", "objective"] {
        doc.insert(key.to_owned(), field(key).cloned().unwrap_or(Value::String(String::new())));
    }
    doc.insert("inputs".to_owned(), inputs.filter(|v| !v.is_null()).unwrap_or_else(|| json!({})));
    doc.insert(
        "expected_artifacts".to_owned(),
        non_null(field("expected_artifacts")).cloned().unwrap_or_else(|| json!([])),
    );
    if let Some(adapter) = field("adapter") {
        doc.insert("adapter".to_owned(), pick(adapter, &["name", "config"], &[]));
    }
    if let Some(budgets) = field("budgets") {
        doc.insert("budgets".to_owned(), pick(budgets, strict::BUDGETS, &[("max_retries", json!(0))]));
    }
    if let Some(policy) = field("checkpoint_policy") {
        doc.insert(
            "checkpoint_policy".to_owned(),
            pick(policy, strict::CHECKPOINT_POLICY, &[("required_types", json!([]))]),
        );
    }
    if let Some(acceptance) = non_null(field("acceptance")) {
        doc.insert("acceptance".to_owned(), pick(acceptance, &["config_path"], &[]));
    }
    match non_null(field("environment_fingerprint")) {
        Some(fp) => {
            doc.insert("environment_fingerprint".to_owned(), pick(fp, &["rules"], &[]));
        }
        None => findings.push(Finding::new(
            "/environment_fingerprint",
            "environment_fingerprint is required; `environment_fingerprint: {rules: []}` selects the default rules \
             (os, arch, go_version)",
        )),
    }
    Value::Object(doc)
}

fn non_null(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// An object with only the `known` keys of `value`, plus defaults for absent ones. A non-object is
/// returned as is, for the schema to reject with a pointer.
fn pick(value: &Value, known: &[&str], defaults: &[(&str, Value)]) -> Value {
    let Value::Object(map) = value else { return value.clone() };
    let mut out = Map::new();
    for key in known {
        if let Some(v) = non_null(map.get(*key)) {
            out.insert((*key).to_owned(), v.clone());
        } else if let Some((_, d)) = defaults.iter().find(|(k, _)| k == key) {
            out.insert((*key).to_owned(), d.clone());
        }
    }
    Value::Object(out)
}

/// Turn the normalised document into the typed spec, with the checks the schema cannot express.
/// A check whose field already has a finding is skipped, so one mistake is reported once. `None`
/// when the spec cannot be built; the caller also treats any finding as a rejection.
fn interpret(
    document: Value,
    findings: &mut Findings,
    read_steps: impl FnOnce(&Value) -> Result<Steps>,
) -> Option<JobSpec> {
    let text = |ptr: &str| document.pointer(ptr).and_then(Value::as_str).unwrap_or_default().to_owned();
    let objective = text("/objective");
    if objective.trim().len() > MAX_SUMMARY_BYTES && !findings.touches("/objective") {
        findings.push(Finding::new(
            "/objective",
            format!(
                "objective is {} bytes; it becomes the plan checkpoint's summary, which is at most {MAX_SUMMARY_BYTES}",
                objective.trim().len()
            ),
        ));
    }
    let adapter = match text("/adapter/name").trim().to_lowercase().as_str() {
        _ if findings.touches("/adapter") || document.get("adapter").is_none() => None,
        "reference" => Some(AdapterKind::Reference),
        "noop" => Some(AdapterKind::Noop),
        other => {
            findings.push(Finding::new(
                "/adapter/name",
                format!("unsupported adapter {other:?}; adapters are reference and noop"),
            ));
            None
        }
    };
    let budgets: Option<Limits> = if findings.touches("/budgets") || document.get("budgets").is_none() {
        None
    } else {
        serde_json::from_value(document.get("budgets").cloned().unwrap_or(Value::Null))
            .map_err(|e| findings.push(Finding::new("/budgets", format!("budgets: {e}"))))
            .ok()
    };
    let strings = |ptr: &str| -> Vec<String> {
        document
            .pointer(ptr)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let environment_rules = strings("/environment_fingerprint/rules");
    if !findings.touches("/environment_fingerprint")
        && let Err(e) = fingerprint::validate_rules(&environment_rules)
    {
        findings.push(Finding::new("/environment_fingerprint/rules", e.message.clone()));
    }
    let steps = match adapter {
        Some(AdapterKind::Reference) if !findings.touches("/inputs/steps") => read_steps(&document)
            .map_err(|e| {
                let pointer = e.details.get("pointer").and_then(Value::as_str).unwrap_or("/inputs/steps");
                findings.push(Finding::new(pointer, e.message.clone()));
            })
            .ok()?,
        _ => Steps::default(),
    };
    Some(JobSpec {
        name: text("/name"),
        objective: objective.trim().to_owned(),
        adapter: adapter?,
        budgets: budgets?,
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
        steps_json: None,
    })
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

#[cfg(test)]
mod tests;
