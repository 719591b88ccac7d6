//! OLPC canonical JSON as securesystemslib (python-tuf) writes it, and a strict parser.
//!
//! Canonical form: object keys sorted by their UTF-8 bytes, no whitespace, integers only,
//! and strings with only `"` and `\` escaped (every other character, control characters
//! included, is written as is). `olpc-cjson` (awslabs) additionally NFC-normalises strings,
//! which securesystemslib does not; signatures over a non-NFC string would then cover other
//! bytes than python-tuf's, so this small encoder follows securesystemslib byte for byte.
//!
//! The parser refuses duplicate object keys (two parsers could otherwise read different
//! values from the same signed bytes) and non-integer numbers.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a document cannot be encoded or parsed canonically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CjsonError {
    /// A number that is not an integer (canonical JSON has none).
    Float,
    /// An object with the same key twice.
    DuplicateKey(String),
    /// Not JSON at all.
    Syntax(String),
}

impl fmt::Display for CjsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CjsonError::Float => f.write_str("a non-integer number (canonical JSON has none)"),
            CjsonError::DuplicateKey(k) => write!(f, "the object key {k:?} appears twice"),
            CjsonError::Syntax(e) => write!(f, "not valid JSON ({e})"),
        }
    }
}

/// The canonical bytes of `value`.
pub fn encode(value: &Value) -> Result<Vec<u8>, CjsonError> {
    let mut out = Vec::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), CjsonError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(CjsonError::Float);
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(key, out);
                out.push(b':');
                write(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A JSON value parsed strictly (no duplicate keys, integers only).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Strict, E> {
        Err(E::custom(FLOAT_MARK))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Strict(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("{DUP_MARK}{key}")));
            }
            out.insert(key, v);
        }
        Ok(Strict(Value::Object(out)))
    }
}

const DUP_MARK: &str = "plugpack-duplicate-key:";
const FLOAT_MARK: &str = "plugpack-float";

/// Parses `bytes` as JSON, refusing duplicate keys and non-integer numbers.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, CjsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Strict::deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(Strict(v)) => Ok(v),
        Err(e) => {
            let text = e.to_string();
            if let Some(pos) = text.find(DUP_MARK) {
                let rest = &text[pos + DUP_MARK.len()..];
                let key = rest.split(" at line").next().unwrap_or(rest);
                Err(CjsonError::DuplicateKey(key.to_owned()))
            } else if text.contains(FLOAT_MARK) {
                Err(CjsonError::Float)
            } else {
                Err(CjsonError::Syntax(text))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_securesystemslib() {
        // Bytes from securesystemslib.formats.encode_canonical on the same value.
        let value: Value = serde_json::from_str(
            r#"{"b":[1,-2,{"z":null,"a":true}],"a":"q\"\\\n\u00e9\u0001","é":false,"Z":0}"#,
        )
        .unwrap();
        let bytes = encode(&value).unwrap();
        assert_eq!(
            bytes,
            "{\"Z\":0,\"a\":\"q\\\"\\\\\n\u{e9}\u{1}\",\"b\":[1,-2,{\"a\":true,\"z\":null}],\"é\":false}"
                .as_bytes()
        );
        assert_eq!(
            encode(&serde_json::json!({"x": 1.5})),
            Err(CjsonError::Float)
        );
    }

    #[test]
    fn strict_parser_refuses_duplicates_and_floats() {
        assert_eq!(
            parse_strict(br#"{"a":{"k":1,"k":2}}"#),
            Err(CjsonError::DuplicateKey("k".to_owned()))
        );
        assert_eq!(parse_strict(br#"{"a":1.0}"#), Err(CjsonError::Float));
        assert!(matches!(parse_strict(b"{} x"), Err(CjsonError::Syntax(_))));
        assert_eq!(
            parse_strict(br#" {"a" : [1, "x"]} "#).unwrap(),
            serde_json::json!({"a": [1, "x"]})
        );
    }
}
