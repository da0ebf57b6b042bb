//! Strict keys: every key a JobSpec may hold, and findings for the ones it may not.
//!
//! The Go implementation dropped unknown keys, so `max_tokns: 100` silently removed a budget and
//! `comand:` silently made a step do nothing. Here a key wrkr does not know is a finding, with the
//! closest known key suggested (`max_tokns` → `max_tokens`). Keys are exact: `Name` is not `name`.
//! Keys starting with `x-` are free at every level, for people's own annotations; `adapter.config`
//! is free-form (the adapter's business) and so are the values under `acceptance` we do not read.
//!
//! The reference adapter's steps are checked here too, for the types Go coerced silently
//! (`command: 3` ran nothing, `executed: maybe` meant true): a step field of the wrong type is a
//! finding.

use serde_json::{Map, Value};

use super::finding::{Finding, Findings};
use crate::cli::suggest;

pub const TOP: &[&str] = &[
    "schema_id",
    "schema_version",
    "created_at",
    "producer_version",
    "name",
    "objective",
    "inputs",
    "expected_artifacts",
    "adapter",
    "budgets",
    "checkpoint_policy",
    "acceptance",
    "environment_fingerprint",
];
pub const BUDGETS: &[&str] =
    &["max_wall_time_seconds", "max_retries", "max_step_count", "max_tool_calls", "max_estimated_cost", "max_tokens"];
pub const CHECKPOINT_POLICY: &[&str] = &["min_interval_seconds", "required_types"];
const ADAPTER: &[&str] = &["name", "config"];
const INPUTS: &[&str] = &["workspace", "references", "steps"];
const ACCEPTANCE: &[&str] = &["config_path"];
const ENVIRONMENT_FINGERPRINT: &[&str] = &["rules"];
const STEP_STRINGS: &[&str] = &["id", "summary", "command", "required_action"];
const STEP_BOOLS: &[&str] = &["executed", "decision_needed"];
const STEP: &[&str] = &["id", "summary", "command", "executed", "decision_needed", "required_action", "artifacts"];

/// Findings for every unknown key (and mistyped step field) in the spec as written.
pub fn check(raw: &Map<String, Value>, findings: &mut Findings) {
    keys(raw, &|| String::new(), TOP, findings);
    let nested: [(&str, &[&str]); 5] = [
        ("adapter", ADAPTER),
        ("inputs", INPUTS),
        ("budgets", BUDGETS),
        ("checkpoint_policy", CHECKPOINT_POLICY),
        ("acceptance", ACCEPTANCE),
    ];
    for (name, known) in nested {
        if let Some(Value::Object(map)) = raw.get(name) {
            keys(map, &|| format!("/{name}"), known, findings);
        }
    }
    if let Some(Value::Object(map)) = raw.get("environment_fingerprint") {
        keys(map, &|| "/environment_fingerprint".to_owned(), ENVIRONMENT_FINGERPRINT, findings);
    }
    if let Some(Value::Array(steps)) = raw.get("inputs").and_then(|i| i.get("steps")) {
        for (index, step) in steps.iter().enumerate() {
            if let Value::Object(map) = step {
                self::step(map, index, findings);
            }
        }
    }
}

/// `base` makes the parent's pointer only when there is something to report: a spec of tens of
/// thousands of steps is checked without formatting a pointer per step.
fn keys(map: &Map<String, Value>, base: &dyn Fn() -> String, known: &[&str], findings: &mut Findings) {
    for key in map.keys() {
        if known.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        let pointer = format!("{}/{}", base(), key.replace('~', "~0").replace('/', "~1"));
        let lower = key.to_lowercase();
        let closest =
            known.iter().find(|k| **k == lower).copied().or_else(|| suggest::closest(&lower, known.iter().copied()));
        let mut finding = Finding::new(pointer, format!("unknown key {key:?}"));
        match closest {
            Some(s) if map.contains_key(s) => {
                finding.message.push_str(&format!("; keys are exact, and {s:?} is given already"));
            }
            Some(s) => {
                finding.message.push_str(&format!("; did you mean {s:?}?"));
                finding.suggestion = Some(s.to_owned());
            }
            None => finding.message.push_str(&format!("; known keys here: {}", known.join(", "))),
        }
        findings.push(finding);
    }
}

/// The checks of one step (`index` of `inputs.steps`): its keys and the types of its fields.
pub(super) fn step(map: &Map<String, Value>, index: usize, findings: &mut Findings) {
    let base = || format!("/inputs/steps/{index}");
    keys(map, &base, STEP, findings);
    let wrong = |key: &str, want: &str, findings: &mut Findings| {
        findings.push(Finding::new(
            format!("{}/{key}", base()),
            format!("expected {want}, found {}", crate::json::kind(&map[key])),
        ));
    };
    for key in STEP_STRINGS {
        if map.get(*key).is_some_and(|v| !v.is_string() && !v.is_null()) {
            wrong(key, "a string", findings);
        }
    }
    for key in STEP_BOOLS {
        if map.get(*key).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
            wrong(key, "true or false", findings);
        }
    }
    match map.get("artifacts") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                if !item.is_string() {
                    findings.push(Finding::new(
                        format!("{}/artifacts/{index}", base()),
                        format!("expected a path (a string), found {}", crate::json::kind(item)),
                    ));
                }
            }
        }
        Some(_) => wrong("artifacts", "a list of paths", findings),
    }
}

/// For a finding about a key that is absent because it was misspelt (`name` when `Name` was
/// written), the pointer of the misspelling; such follow-on findings add nothing and are dropped.
pub fn misspelt(findings: &Findings, pointer: &str, message: &str) -> bool {
    findings.0.iter().filter_map(|f| f.suggestion.as_ref().map(|s| (f, s))).any(|(f, s)| {
        let parent = &f.pointer[..f.pointer.rfind('/').unwrap_or(0)];
        let intended = format!("{parent}/{s}");
        pointer == intended
            || pointer.starts_with(&format!("{intended}/"))
            || (pointer == parent && message.contains(&format!("\"{s}\"")))
    })
}
