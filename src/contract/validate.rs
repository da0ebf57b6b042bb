//! wrkr's own JSON Schema validator, for exactly the keywords the embedded v1 schemas use.
//!
//! Why not a general validator: the schemas are ours, embedded at build time, and no command takes
//! a schema from a user, so all a validator must know is the small draft 2020-12 subset they are
//! written in. A general one (with its regex engines, URI resolution and big-number arithmetic) was
//! most of the release binary. The subset: `type` (one name), `const` and `enum` (strings),
//! `minimum` (an integer), `minLength`, `maxLength`, `required`, `pattern` (the few patterns in
//! `pattern`, each a hand-written check), `properties`, `additionalProperties` (a boolean or a
//! schema), `items` (one schema), `format: date-time` (an annotation, as draft 2020-12 and the Go
//! implementation treat it: never asserted), and the annotations `$schema`, `$id`, `title` and
//! `description`.
//!
//! Nothing is silently under-validated: [`Validator::compile`] refuses any other keyword, pattern,
//! format or keyword value, and a test compiles every embedded schema, so a schema that gains
//! something this module does not check fails the build's tests rather than passing instances
//! unchecked.
//!
//! A schema compiles once into a tree of `Node`s. [`Validator::is_valid`] answers yes or no on
//! any [`Instance`] (a `serde_json::Value` or a `json::tape` document, which needs no allocation
//! per record); [`Validator::findings`] lists every violation of a `Value` with its JSON Pointer,
//! in a stable order: per schema node the keywords in a fixed order (type, const, enum, minimum,
//! minLength, maxLength, required, pattern, then the members in document order with the
//! unexpected ones after them, then the items), which is the order the `jsonschema` crate used.
//! Messages are worded as that crate worded them, so every output that quotes one is unchanged.

mod check;
mod instance;
mod pattern;
#[cfg(test)]
mod tests;

use serde_json::{Map, Number, Value};

pub use check::{Finding, Kind};
pub use instance::Instance;
use pattern::Pattern;

/// The JSON types a `type` keyword can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Null => "null",
            Type::Boolean => "boolean",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::String => "string",
            Type::Array => "array",
            Type::Object => "object",
        }
    }

    fn parse(name: &str) -> Option<Type> {
        [Type::Null, Type::Boolean, Type::Integer, Type::Number, Type::String, Type::Array, Type::Object]
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

/// A compiled schema.
#[derive(Debug)]
pub struct Validator {
    root: Node,
}

/// One (sub)schema: the checks it makes, each `None`/empty when the keyword is absent.
#[derive(Debug, Default)]
struct Node {
    ty: Option<Type>,
    /// The `const` value (a string), kept as a `Value` for the message.
    constant: Option<Value>,
    /// The `enum` array (of strings), kept whole for the message.
    options: Option<Value>,
    /// `minimum`: the limit as written (for the message) and as an integer.
    minimum: Option<(Value, i64)>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    /// `required` names, in the schema's order.
    required: Vec<Required>,
    pattern: Option<Pattern>,
    /// `properties`, in the schema's order (at most 64: a bit each while checking `required`).
    properties: Vec<(String, Node)>,
    additional: Additional,
    items: Option<Box<Node>>,
}

#[derive(Debug)]
struct Required {
    name: String,
    /// Its position in `properties`, when declared there (the usual case: one bit test).
    declared: Option<usize>,
}

/// `additionalProperties`.
#[derive(Debug, Default)]
enum Additional {
    /// Absent or `true`.
    #[default]
    Allowed,
    /// `false`.
    Refused,
    Schema(Box<Node>),
}

/// Keywords that only annotate: accepted anywhere, never checked.
const ANNOTATIONS: &[&str] = &["$schema", "$id", "title", "description"];

/// The draft every embedded schema names.
const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

impl Validator {
    /// Compile `schema`; an error names the first keyword (by schema path) this module does not
    /// support, so that nothing is ever validated less than the schema says.
    pub fn compile(schema: &Value) -> Result<Validator, String> {
        if let Some(draft) = schema.get("$schema").filter(|d| d.as_str() != Some(DRAFT)) {
            return Err(format!("$schema {draft}: only draft 2020-12 is supported"));
        }
        Ok(Validator { root: compile(schema, "#")? })
    }

    /// Whether `instance` is valid.
    pub fn is_valid<'a, I: Instance<'a>>(&self, instance: I) -> bool {
        check::is_valid(&self.root, instance)
    }

    /// Every violation of `instance`, in the stable order described in the module documentation.
    pub fn findings<'v>(&self, instance: &'v Value) -> Vec<Finding<'_, 'v>> {
        let mut out = Vec::new();
        check::collect(&self.root, instance, &mut String::new(), &mut out);
        out
    }
}

fn compile(schema: &Value, at: &str) -> Result<Node, String> {
    let Value::Object(map) = schema else {
        return Err(format!("{at}: a schema must be an object here"));
    };
    let mut node = Node::default();
    for (keyword, value) in map {
        let here = format!("{at}/{keyword}");
        let bad = || format!("{here}: unsupported value {value}");
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "format" if value == "date-time" => {}
            "type" => node.ty = Some(value.as_str().and_then(Type::parse).ok_or_else(bad)?),
            "const" if value.is_string() => node.constant = Some(value.clone()),
            "enum" if value.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)) => {
                node.options = Some(value.clone());
            }
            "minimum" => {
                // Exact in f64 too, so a fractional instance compares exactly.
                let limit = value.as_i64().filter(|n| n.unsigned_abs() < 1 << 53).ok_or_else(bad)?;
                node.minimum = Some((value.clone(), limit));
            }
            "minLength" => node.min_length = Some(value.as_u64().ok_or_else(bad)?),
            "maxLength" => node.max_length = Some(value.as_u64().ok_or_else(bad)?),
            "pattern" => node.pattern = Some(value.as_str().and_then(Pattern::compile).ok_or_else(bad)?),
            "properties" => node.properties = compile_properties(value, &here)?,
            "additionalProperties" => {
                node.additional = match value {
                    Value::Bool(true) => Additional::Allowed,
                    Value::Bool(false) => Additional::Refused,
                    schema => Additional::Schema(Box::new(compile(schema, &here)?)),
                }
            }
            "items" => node.items = Some(Box::new(compile(value, &here)?)),
            "required" => {
                let names = value.as_array().ok_or_else(bad)?;
                for name in names {
                    let name = name.as_str().ok_or_else(bad)?;
                    if node.required.iter().any(|r| r.name == name) {
                        return Err(bad());
                    }
                    node.required.push(Required { name: name.to_owned(), declared: None });
                }
            }
            _ => return Err(format!("{here}: keyword not supported by wrkr's validator")),
        }
    }
    for required in &mut node.required {
        required.declared = node.properties.iter().position(|(name, _)| *name == required.name);
    }
    Ok(node)
}

fn compile_properties(value: &Value, at: &str) -> Result<Vec<(String, Node)>, String> {
    let map: &Map<String, Value> = value.as_object().ok_or_else(|| format!("{at}: must be an object"))?;
    if map.len() > 64 {
        return Err(format!("{at}: more than 64 properties"));
    }
    map.iter().map(|(name, schema)| Ok((name.clone(), compile(schema, &format!("{at}/{name}"))?))).collect()
}

/// Whether a number is an integer in the JSON Schema sense (`1.0` is one).
fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// Whether `n >= limit`, exactly.
fn at_least(n: &Number, limit: i64) -> bool {
    if let Some(i) = n.as_i64() {
        i >= limit
    } else if n.is_u64() {
        true
    } else {
        // |limit| < 2^53, so `limit as f64` is exact.
        n.as_f64().is_some_and(|f| f >= limit as f64)
    }
}
