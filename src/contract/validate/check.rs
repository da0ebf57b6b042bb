//! Checking an instance against a compiled schema: a yes/no walk for the common, valid case, and a
//! walk that collects every finding for the rare invalid one.
//!
//! Why two walks: nearly every record is valid (a pack of 125,000 records usually has no finding),
//! so the yes/no walk stops at the first problem, builds no pointer and allocates nothing; the
//! findings walk runs only after it said no, and then says everything. Both apply the same
//! keyword checks ([`keyword_problems`] is shared by the leaf keywords), and a test compares them.

use std::fmt;

use serde_json::Value;

use super::{Additional, Instance, Node, Type, at_least};

/// What is wrong, by keyword.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'s> {
    Type(Type),
    Const(&'s Value),
    /// The `enum` array.
    Enum(&'s Value),
    /// The limit as written.
    Minimum(&'s Value),
    MinLength(u64),
    MaxLength(u64),
    /// The missing property's name.
    Required(&'s str),
    /// The pattern's source text.
    Pattern(&'static str),
    /// The members no schema allows, in document order.
    AdditionalProperties(Vec<String>),
}

/// One violation: where (a JSON Pointer into the instance), what, and the value found there.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding<'s, 'v> {
    pub pointer: String,
    pub kind: Kind<'s>,
    pub instance: &'v Value,
}

/// The message, worded as the `jsonschema` crate words it (outputs and golden files quote it).
impl fmt::Display for Finding<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let instance = self.instance;
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        match &self.kind {
            Kind::Type(ty) => write!(f, r#"{instance} is not of type "{}""#, ty.as_str()),
            Kind::Const(expected) => write!(f, "{expected} was expected"),
            Kind::Enum(options) => {
                write!(f, "{instance} is not one of ")?;
                let options = options.as_array().map_or(&[][..], Vec::as_slice);
                if options.len() <= 3 {
                    for (i, option) in options.iter().enumerate() {
                        let sep = if i == 0 {
                            ""
                        } else if i + 1 == options.len() {
                            " or "
                        } else {
                            ", "
                        };
                        write!(f, "{sep}{option}")?;
                    }
                    Ok(())
                } else {
                    write!(f, "{}, {} or {} other candidates", options[0], options[1], options.len() - 2)
                }
            }
            Kind::Minimum(limit) => write!(f, "{instance} is less than the minimum of {limit}"),
            Kind::MinLength(limit) => write!(f, "{instance} is shorter than {limit} character{}", plural(*limit)),
            Kind::MaxLength(limit) => write!(f, "{instance} is longer than {limit} character{}", plural(*limit)),
            Kind::Required(name) => write!(f, "{} is a required property", Value::from(*name)),
            Kind::Pattern(source) => write!(f, r#"{instance} does not match "{source}""#),
            Kind::AdditionalProperties(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                let verb = if names.len() == 1 { "was" } else { "were" };
                write!(f, "Additional properties are not allowed ({} {verb} unexpected)", quoted.join(", "))
            }
        }
    }
}

/// The leaf keywords (everything but required, properties and items) `instance` violates, in
/// order; `report` returns false to stop early.
fn keyword_problems<'s, 'a, I: Instance<'a>>(
    node: &'s Node,
    instance: I,
    mut report: impl FnMut(Kind<'s>) -> bool,
) -> bool {
    if let Some(ty) = node.ty
        && !instance.is(ty)
        && !report(Kind::Type(ty))
    {
        return false;
    }
    // Only read when a keyword looks at it (a scanned string with escapes is decoded to be read).
    let reads_text = node.constant.is_some()
        || node.options.is_some()
        || node.min_length.is_some()
        || node.max_length.is_some()
        || node.pattern.is_some();
    let text = if reads_text { instance.string() } else { None };
    let text = text.as_deref();
    if let Some(constant) = &node.constant
        && text != constant.as_str()
        && !report(Kind::Const(constant))
    {
        return false;
    }
    if let Some(options) = &node.options
        && !text.is_some_and(|t| options.as_array().is_some_and(|o| o.iter().any(|v| v.as_str() == Some(t))))
        && !report(Kind::Enum(options))
    {
        return false;
    }
    if let (Some((limit, n)), Some(number)) = (&node.minimum, instance.number())
        && !at_least(&number, *n)
        && !report(Kind::Minimum(limit))
    {
        return false;
    }
    if let Some(text) = text {
        if node.min_length.is_some() || node.max_length.is_some() {
            let chars = text.chars().count() as u64;
            if let Some(limit) = node.min_length
                && chars < limit
                && !report(Kind::MinLength(limit))
            {
                return false;
            }
            if let Some(limit) = node.max_length
                && chars > limit
                && !report(Kind::MaxLength(limit))
            {
                return false;
            }
        }
        if let Some(pattern) = node.pattern
            && !pattern.matches(text)
            && !report(Kind::Pattern(pattern.source()))
        {
            return false;
        }
    }
    true
}

/// Whether `instance` satisfies `node`.
pub fn is_valid<'a, I: Instance<'a>>(node: &Node, instance: I) -> bool {
    if !keyword_problems(node, instance, |_| false) {
        return false;
    }
    if let Some(members) = instance.members() {
        let mut seen: u64 = 0;
        for (name, value) in members {
            let declared = node.properties.iter().position(|(p, _)| p == name);
            let valid = match (declared, &node.additional) {
                (Some(i), _) => {
                    seen |= 1 << i;
                    is_valid(&node.properties[i].1, value)
                }
                (None, Additional::Allowed) => true,
                (None, Additional::Refused) => false,
                (None, Additional::Schema(schema)) => is_valid(schema, value),
            };
            if !valid {
                return false;
            }
        }
        let has = |name: &str| instance.members().is_some_and(|mut m| m.any(|(n, _)| n == name));
        let present = |r: &super::Required| r.declared.map_or_else(|| has(&r.name), |i| seen & (1 << i) != 0);
        if !node.required.iter().all(present) {
            return false;
        }
    }
    if let (Some(items), Some(elements)) = (&node.items, instance.elements()) {
        for element in elements {
            if !is_valid(items, element) {
                return false;
            }
        }
    }
    true
}

/// Append every violation of `instance` against `node` to `out`; `pointer` is where `instance` is
/// (restored before returning).
pub fn collect<'s, 'v>(node: &'s Node, instance: &'v Value, pointer: &mut String, out: &mut Vec<Finding<'s, 'v>>) {
    let mut found = |kind| {
        out.push(Finding { pointer: pointer.clone(), kind, instance });
        true
    };
    keyword_problems(node, instance, &mut found);
    let Value::Object(map) = instance else {
        if let (Some(items), Value::Array(elements)) = (&node.items, instance) {
            for (i, element) in elements.iter().enumerate() {
                descend(pointer, &i.to_string(), |pointer| collect(items, element, pointer, out));
            }
        }
        return;
    };
    for required in &node.required {
        if !map.contains_key(&required.name) {
            out.push(Finding { pointer: pointer.clone(), kind: Kind::Required(&required.name), instance });
        }
    }
    let mut unexpected = Vec::new();
    for (name, value) in map {
        let schema = match (node.properties.iter().find(|(p, _)| p == name), &node.additional) {
            (Some((_, schema)), _) => schema,
            (None, Additional::Allowed) => continue,
            (None, Additional::Refused) => {
                unexpected.push(name.clone());
                continue;
            }
            (None, Additional::Schema(schema)) => schema,
        };
        descend(pointer, name, |pointer| collect(schema, value, pointer, out));
    }
    if !unexpected.is_empty() {
        out.push(Finding { pointer: pointer.clone(), kind: Kind::AdditionalProperties(unexpected), instance });
    }
}

/// Run `f` with `pointer` extended by one reference token (escaped as RFC 6901 says).
fn descend(pointer: &mut String, token: &str, f: impl FnOnce(&mut String)) {
    let len = pointer.len();
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
    f(pointer);
    pointer.truncate(len);
}
