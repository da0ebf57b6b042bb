//! Strict JSON input: one parser for every byte of JSON that enters wrkr.
//!
//! serde_json keeps the last of two equal object keys; a canonical form of such input would hash
//! something the author never meant, so duplicates are rejected here. Nesting depth is bounded by
//! serde_json's recursion limit (128), so hostile nesting is an error, not a stack overflow.
//! Numbers are parsed with `float_roundtrip`, so a decimal round-trips to the same f64 that
//! JavaScript (and JCS) would produce.

pub mod scan;
pub mod tape;

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parse exactly one JSON value (surrounding whitespace allowed), rejecting duplicate keys.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Check `bytes` as [`parse`] would (one value, syntax, numbers, duplicate keys at any depth,
/// the same recursion limit) without building it: memory is the keys of the objects on the path
/// being read, not the document (a 1 MB ledger line is about 20 MB as a `Value`).
pub fn check(bytes: &[u8]) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Checked.deserialize(&mut de)?;
    de.end()
}

/// Parse and also require a JSON object at the top level.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match parse(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("expected a JSON object, found {}", kind(&other))),
        Err(err) => Err(err.to_string()),
    }
}

/// The parser's message for one JSONL line: the position as a column, since the line number
/// inside a single line is always 1 and would only contradict the stream's own line number.
pub fn line_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) if err.line() == 1 => format!("{} at column {}", &text[..cut], err.column()),
        _ => text,
    }
}

/// A short name for a value's JSON type, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A `Value` read strictly (duplicate keys refused), for callers that read a document piece by
/// piece with their own seeds (`job::jobspec::stream`).
pub(crate) struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate object key {key:?}")));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// A value checked as [`StrictValue`] reads it, and dropped.
pub(crate) struct Checked;

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        StrictVisitor.visit_f64(v).map(drop)
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Checked)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut keys = ObjectKeys::default();
        while let Some(key) = access.next_key::<String>()? {
            keys.add(key)?;
            access.next_value_seed(Checked)?;
        }
        keys.finish()
    }
}

/// The keys of one object as they arrive, for the duplicate rule without keeping the object:
/// compared pair by pair while few, sorted once at the end when many (so that a hostile object
/// costs n log n, not n squared).
#[derive(Default)]
pub(crate) struct ObjectKeys(Vec<String>);

impl ObjectKeys {
    const PAIRWISE: usize = 32;

    pub(crate) fn add<E: de::Error>(&mut self, key: String) -> Result<(), E> {
        if self.0.len() < Self::PAIRWISE && self.0.contains(&key) {
            return Err(E::custom(format_args!("duplicate object key {key:?}")));
        }
        self.0.push(key);
        Ok(())
    }

    pub(crate) fn finish<E: de::Error>(mut self) -> Result<(), E> {
        if self.0.len() > Self::PAIRWISE {
            self.0.sort_unstable();
            if let Some(pair) = self.0.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(E::custom(format_args!("duplicate object key {:?}", pair[0])));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_rejected_at_any_depth() {
        assert!(parse(br#"{"a":1,"a":2}"#).unwrap_err().to_string().contains("duplicate object key \"a\""));
        assert!(parse(br#"{"x":[{"b":1,"b":1}]}"#).is_err());
        assert!(parse(br#"{"a":1,"b":{"a":2}}"#).is_ok());
    }

    /// `check` accepts exactly what `parse` accepts: duplicates at any depth and in big objects,
    /// depth, trailing bytes, numbers out of range, and every byte of a document damaged in turn.
    #[test]
    fn check_accepts_what_parse_accepts() {
        let big: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let big_ok = format!("{{{}}}", big.join(","));
        let big_dup = format!("{{{},\"k7\":0}}", big.join(","));
        let deep = "[".repeat(200) + &"]".repeat(200);
        let fine = "[".repeat(100) + &"]".repeat(100);
        let cases = [
            br#"{"a":1,"a":2}"#.as_slice(),
            br#"{"x":[{"b":1,"b":1}]}"#,
            br#"{"a":1,"b":{"a":2}}"#,
            big_ok.as_bytes(),
            big_dup.as_bytes(),
            deep.as_bytes(),
            fine.as_bytes(),
            b"{} {}",
            b" {} \n",
            b"1e400",
            b"-1e-400",
            br#"{"s":"\u00e9\ud83d\ude00","n":-0,"f":1.5e3}"#,
            br#"{"s":"\ud800"}"#,
            b"",
        ];
        for case in cases {
            assert_eq!(check(case).is_ok(), parse(case).is_ok(), "{}", String::from_utf8_lossy(case));
        }
        let doc = br#"{"seq":1,"type":"x","payload":{"a":[1,2.5,-3,"t\n",null,true,{"b":{}}],"c":"d"}}"#;
        for at in 0..doc.len() {
            for with in *b"{}[]\",:\\ 0-.eE+tfnu\x01" {
                let mut bytes = doc.to_vec();
                bytes[at] = with;
                assert_eq!(check(&bytes).is_ok(), parse(&bytes).is_ok(), "{}", String::from_utf8_lossy(&bytes));
            }
            assert_eq!(check(&doc[..at]).is_ok(), parse(&doc[..at]).is_ok(), "cut at {at}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn trailing_garbage_rejected() {
        assert!(parse(b"{} {}").is_err());
        assert!(parse(b" {} \n").is_ok());
    }

    #[test]
    fn keeps_key_order_of_input() {
        let v = parse(br#"{"b":1,"a":2}"#).unwrap();
        assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["b", "a"]);
    }
}
