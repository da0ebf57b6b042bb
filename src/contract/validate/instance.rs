//! What the validator reads: a JSON value in either of wrkr's two representations.
//!
//! `serde_json::Value` is what callers mostly hold; a `json::tape` document is what `verify` and
//! acceptance read a pack's records into, one reused buffer for every record, so validating it
//! costs no allocation. The validator is written once, over this trait.

use serde_json::{Number, Value};

use super::Type;
use crate::json::tape::{Elements, Members, TapeNode};

/// A JSON value the validator can read (a cheap, copyable reference).
pub trait Instance<'a>: Copy {
    type Members: Iterator<Item = (&'a str, Self)>;
    type Elements: Iterator<Item = Self>;

    /// Whether the value is of JSON Schema type `ty` (an integral number is also an `integer`).
    fn is(self, ty: Type) -> bool;
    fn string(self) -> Option<&'a str>;
    fn number(self) -> Option<&'a Number>;
    fn members(self) -> Option<Self::Members>;
    fn elements(self) -> Option<Self::Elements>;
}

type ValueMembers<'a> = std::iter::Map<serde_json::map::Iter<'a>, fn((&'a String, &'a Value)) -> (&'a str, &'a Value)>;

impl<'a> Instance<'a> for &'a Value {
    type Members = ValueMembers<'a>;
    type Elements = std::slice::Iter<'a, Value>;

    fn is(self, ty: Type) -> bool {
        match (ty, self) {
            (Type::Null, Value::Null)
            | (Type::Boolean, Value::Bool(_))
            | (Type::Number, Value::Number(_))
            | (Type::String, Value::String(_))
            | (Type::Array, Value::Array(_))
            | (Type::Object, Value::Object(_)) => true,
            (Type::Integer, Value::Number(n)) => super::is_integer(n),
            _ => false,
        }
    }

    fn string(self) -> Option<&'a str> {
        self.as_str()
    }

    fn number(self) -> Option<&'a Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    fn members(self) -> Option<ValueMembers<'a>> {
        let key: fn((&'a String, &'a Value)) -> (&'a str, &'a Value) = |(k, v)| (k.as_str(), v);
        self.as_object().map(|map| map.iter().map(key))
    }

    fn elements(self) -> Option<Self::Elements> {
        self.as_array().map(|items| items.iter())
    }
}

impl<'a> Instance<'a> for TapeNode<'a> {
    type Members = Members<'a>;
    type Elements = Elements<'a>;

    fn is(self, ty: Type) -> bool {
        match ty {
            Type::Null => self.is_null(),
            Type::Boolean => self.boolean().is_some(),
            Type::Integer => self.number().is_some_and(super::is_integer),
            Type::Number => self.number().is_some(),
            Type::String => self.string().is_some(),
            Type::Array => self.items().is_some(),
            Type::Object => TapeNode::members(&self).is_some(),
        }
    }

    fn string(self) -> Option<&'a str> {
        TapeNode::string(&self)
    }

    fn number(self) -> Option<&'a Number> {
        TapeNode::number(&self)
    }

    fn members(self) -> Option<Members<'a>> {
        TapeNode::members(&self)
    }

    fn elements(self) -> Option<Elements<'a>> {
        self.items()
    }
}
