//! RFC 8785 JSON Canonicalization Scheme: the bytes that every wrkr hash is computed over.
//!
//! Keys sorted by UTF-16 code units, no insignificant whitespace, ECMAScript number formatting,
//! minimal string escaping. The work is done by `serde_jcs` 0.2 (0.1 mis-orders keys and mangles
//! big integers); this module is the one door to it, so the choice can change in one place.

use serde::Serialize;

/// The canonical bytes of any serialisable value.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serialising a `Value` or a plain struct into memory cannot fail: maps have string keys and
    // `Value` cannot hold NaN. A failure here is a bug in a Serialize impl of ours.
    serde_jcs::to_vec(value).unwrap_or_else(|err| panic!("canonical JSON serialisation failed: {err}"))
}

/// Write the canonical form of `value` to `out`.
pub fn to_writer<W: std::io::Write, T: Serialize + ?Sized>(out: W, value: &T) -> std::io::Result<()> {
    // `From` keeps the io::ErrorKind (a broken pipe must stay a broken pipe).
    serde_jcs::to_writer(out, value).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn canon(input: &str) -> String {
        String::from_utf8(to_vec(&json::parse(input.as_bytes()).unwrap())).unwrap()
    }

    #[test]
    fn issue_example() {
        assert_eq!(canon(r#"{"b":1,"a":[1e21,0.1]}"#), r#"{"a":[1e+21,0.1],"b":1}"#);
    }

    /// RFC 8785 appendix B: IEEE 754 values and their ECMAScript serialisation.
    #[test]
    fn rfc8785_numbers() {
        let vectors = [
            ("0", "0"),
            ("-0", "0"),
            ("1e-7", "1e-7"),
            ("1e+21", "1e+21"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("9007199254740992", "9007199254740992"),
            ("9007199254740993", "9007199254740992"),
            ("295147905179352830000", "295147905179352830000"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("0.000001", "0.000001"),
            ("333333333.3333333", "333333333.3333333"),
            ("-1.5e-9", "-1.5e-9"),
            ("123456789012345680000", "123456789012345680000"),
            ("0.1", "0.1"),
            ("100", "100"),
        ];
        for (input, want) in vectors {
            assert_eq!(canon(input), want, "input {input}");
        }
    }

    /// RFC 8785 section 3.2.3: the sorting example (UTF-16 code unit order).
    #[test]
    fn rfc8785_key_sorting() {
        let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
        let out = canon(input);
        let keys: Vec<&str> = ["\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"].to_vec();
        let mut last = 0;
        for key in keys {
            let pos =
                out.find(&format!("\"{}\":", key.replace('\r', "\\r"))).unwrap_or_else(|| panic!("{key:?} in {out}"));
            assert!(pos >= last, "key {key:?} out of order in {out}");
            last = pos;
        }
    }

    /// RFC 8785 section 3.2.2.2: string escaping.
    #[test]
    fn rfc8785_strings() {
        assert_eq!(canon(r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#), "\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"");
        assert_eq!(canon(r#""<>&""#), r#""<>&""#);
    }

    #[test]
    fn rfc8785_structure_example() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let want = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canon(input), want);
    }
}
