//! What the validator reads: a JSON value in any of wrkr's three representations.
//!
//! `serde_json::Value` is what callers mostly hold; a `json::tape` document is what `verify` and
//! acceptance read a pack's records into, one reused buffer for every record, so validating it
//! costs no allocation; a `json::scan` document is what export writes records from (the index of
//! a line's bytes), so a record it wrote is checked where it stands. The validator is written
//! once, over this trait.
//!
//! Strings and numbers come back as a scan has them: a string by value when it holds escapes (a
//! scan decodes them on reading), a number always by value (a scan keeps no `Number`; copying one
//! is copying 16 bytes).

use std::borrow::Cow;

use serde_json::{Number, Value};

use super::Type;
use crate::json::scan::{self, ScanNode};
use crate::json::tape::{Elements, Members, TapeNode};

/// A JSON value the validator can read (a cheap, copyable reference).
pub trait Instance<'a>: Copy {
    type Members: Iterator<Item = (&'a str, Self)>;
    type Elements: Iterator<Item = Self>;

    /// Whether the value is of JSON Schema type `ty` (an integral number is also an `integer`).
    fn is(self, ty: Type) -> bool;
    fn string(self) -> Option<Cow<'a, str>>;
    fn number(self) -> Option<Number>;
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

    fn string(self) -> Option<Cow<'a, str>> {
        self.as_str().map(Cow::Borrowed)
    }

    fn number(self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(n.clone()),
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
            Type::Integer => TapeNode::number(&self).is_some_and(super::is_integer),
            Type::Number => TapeNode::number(&self).is_some(),
            Type::String => TapeNode::string(&self).is_some(),
            Type::Array => self.items().is_some(),
            Type::Object => TapeNode::members(&self).is_some(),
        }
    }

    fn string(self) -> Option<Cow<'a, str>> {
        TapeNode::string(&self).map(Cow::Borrowed)
    }

    fn number(self) -> Option<Number> {
        TapeNode::number(&self).cloned()
    }

    fn members(self) -> Option<Members<'a>> {
        TapeNode::members(&self)
    }

    fn elements(self) -> Option<Elements<'a>> {
        self.items()
    }
}

impl<'a> Instance<'a> for ScanNode<'a> {
    type Members = scan::Members<'a>;
    type Elements = scan::Items<'a>;

    fn is(self, ty: Type) -> bool {
        match ty {
            Type::Null => self.is_null(),
            Type::Boolean => self.as_bool().is_some(),
            Type::Integer => ScanNode::number(&self).is_some_and(|n| super::is_integer(&n)),
            Type::Number => ScanNode::number(&self).is_some(),
            Type::String => self.is_string(),
            Type::Array => self.is_array(),
            Type::Object => self.is_object(),
        }
    }

    fn string(self) -> Option<Cow<'a, str>> {
        self.str()
    }

    fn number(self) -> Option<Number> {
        ScanNode::number(&self)
    }

    fn members(self) -> Option<scan::Members<'a>> {
        ScanNode::members(&self)
    }

    fn elements(self) -> Option<scan::Items<'a>> {
        self.items()
    }
}
