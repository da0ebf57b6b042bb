//! Schema violations of a JobSpec in the words of the person who wrote it.
//!
//! The validator's own messages (`"" is shorter than 1 character`, `"x" is a required property`,
//! `"10" is not of type "integer"`) are exact but speak the schema's language, not the file's. The
//! kinds a hand-written spec meets (required, minLength, type, additionalProperties, enum, const,
//! minimum, and the version pattern) are said here in plain words; any other kind keeps the validator's text. Each
//! violation still becomes one finding, so every problem of a spec is reported at once.
//!
//! `raw` is the spec as written, before `normalize` filled Go's defaults: a required string that
//! was left out is filled with `""`, and the schema then sees an empty string; the person left a
//! key out, and is told so ("missing required key `name`"), not that it is too short.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::contract::schema::Violation;

/// Every violation of `document` against `schema`, said plainly. A missing key is reported at the
/// key itself (`/budgets/max_tokens`), so that every missing key of a mapping is its own finding
/// and is located at the mapping that lacks it.
pub fn violations(schema: &crate::contract::schema::Schema, document: &Value, raw: Option<&Value>) -> Vec<Violation> {
    schema
        .validator()
        .iter_errors(document)
        .map(|e| {
            let at = e.instance_path().as_str().to_owned();
            let written = |pointer: &str| raw.is_none_or(|raw| raw.pointer(pointer).is_some());
            let (pointer, message) = match e.kind() {
                ValidationErrorKind::Required { property } => {
                    let key = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
                    (format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")), missing(&key))
                }
                ValidationErrorKind::MinLength { limit: 1 } if !written(&at) => {
                    let key = at.rsplit('/').next().unwrap_or_default().replace("~1", "/").replace("~0", "~");
                    (at, missing(&key))
                }
                ValidationErrorKind::MinLength { limit: 1 } => (at, "must not be empty".to_owned()),
                ValidationErrorKind::MinLength { limit } => (at, format!("must be at least {limit} characters long")),
                ValidationErrorKind::Type { kind: TypeKind::Single(want) } => {
                    (at, format!("expected {}, found {}", a_type(want.as_str()), found(e.instance())))
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let keys: Vec<String> = unexpected.iter().map(|k| format!("`{k}`")).collect();
                    (at, format!("unknown key {}", keys.join(", ")))
                }
                ValidationErrorKind::Enum { options } => {
                    let words: Vec<String> = options.as_array().into_iter().flatten().map(plain).collect();
                    (at, format!("must be one of {}, found {}", words.join(", "), plain(e.instance())))
                }
                ValidationErrorKind::Constant { expected_value } => {
                    (at, format!("must be {}, found {}", plain(expected_value), plain(e.instance())))
                }
                ValidationErrorKind::Minimum { limit } => {
                    (at, format!("must be at least {limit}, found {}", plain(e.instance())))
                }
                ValidationErrorKind::Pattern { .. } if at == "/schema_version" => {
                    (at, format!("must be v1 (or v1.N), found {}", plain(e.instance())))
                }
                _ => (at, e.to_string()),
            };
            Violation { pointer, message }
        })
        .collect()
}

fn missing(key: &str) -> String {
    format!("missing required key `{key}`")
}

/// A schema type name as a person says it.
fn a_type(name: &str) -> &'static str {
    match name {
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "a string",
        "boolean" => "true or false",
        "array" => "a list",
        "object" => "a mapping",
        _ => "null",
    }
}

/// What was found instead: its kind, and the value itself when it is short.
fn found(value: &Value) -> String {
    let kind = crate::json::kind(value);
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => format!("{kind} ({})", plain(value)),
        _ => kind.to_owned(),
    }
}

/// A value as it would be written: strings quoted, the rest as JSON; long text shortened.
fn plain(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 { format!("{}...", text.chars().take(57).collect::<String>()) } else { text }
}
