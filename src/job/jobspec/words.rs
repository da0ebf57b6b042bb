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

use serde_json::Value;

use crate::contract::schema::Violation;
use crate::contract::validate::Kind;

/// Every violation of `document` against `schema`, said plainly. A missing key is reported at the
/// key itself (`/budgets/max_tokens`), so that every missing key of a mapping is its own finding
/// and is located at the mapping that lacks it.
pub fn violations(schema: &crate::contract::schema::Schema, document: &Value, raw: Option<&Value>) -> Vec<Violation> {
    schema
        .findings(document)
        .into_iter()
        .map(|e| {
            let message = e.to_string();
            let (at, instance) = (e.pointer, e.instance);
            let written = |pointer: &str| raw.is_none_or(|raw| raw.pointer(pointer).is_some());
            let (pointer, message) = match e.kind {
                Kind::Required(key) => (format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")), missing(key)),
                Kind::MinLength(1) if !written(&at) => {
                    let key = at.rsplit('/').next().unwrap_or_default().replace("~1", "/").replace("~0", "~");
                    (at, missing(&key))
                }
                Kind::MinLength(1) => (at, "must not be empty".to_owned()),
                Kind::MinLength(limit) => (at, format!("must be at least {limit} characters long")),
                Kind::Type(want) => (at, format!("expected {}, found {}", a_type(want.as_str()), found(instance))),
                Kind::AdditionalProperties(unexpected) => {
                    let keys: Vec<String> = unexpected.iter().map(|k| format!("`{k}`")).collect();
                    (at, format!("unknown key {}", keys.join(", ")))
                }
                Kind::Enum(options) => {
                    let words: Vec<String> = options.as_array().into_iter().flatten().map(plain).collect();
                    (at, format!("must be one of {}, found {}", words.join(", "), plain(instance)))
                }
                Kind::Const(expected) => (at, format!("must be {}, found {}", plain(expected), plain(instance))),
                Kind::Minimum(limit) => (at, format!("must be at least {limit}, found {}", plain(instance))),
                Kind::Pattern(_) if at == "/schema_version" => {
                    (at, format!("must be v1 (or v1.N), found {}", plain(instance)))
                }
                _ => (at, message),
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
