//! Field values: the JSON-like shapes that every reader can produce.

use serde::{Serialize, Serializer};
use std::fmt;

/// One field value of an event.
///
/// Readers keep numbers as numbers where the source has them (EVTX, JSON), so that Sigma's
/// numeric modifiers work; matchers compare strings and numbers by their decimal text where a
/// rule asks for a string. Nested objects are flattened by readers into dotted field names, so
/// there is no object variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null`, or a field that is present but empty by the source's convention.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Str(Box<str>),
    /// A list; Sigma matches it element-wise (any element).
    Array(Vec<Value>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Box<str>>) -> Self {
        Value::Str(s.into())
    }

    /// The value as text if it is a scalar (numbers and booleans in their canonical form).
    /// `None` for null and arrays.
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(format_float(*f))),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Null | Value::Array(_) => None,
        }
    }

    /// The value as a number, parsing text when it holds one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
    }

    /// Whether this is `Value::Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Converts a `serde_json::Value`; objects become their compact JSON text (readers flatten
    /// objects before this point, so this is only a fallback).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(f) = n.as_f64() {
                    Value::Float(f)
                } else {
                    Value::str(n.to_string())
                }
            }
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(a) => Value::Array(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(_) => Value::str(v.to_string()),
        }
    }
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            other => f.write_str(&other.as_text().unwrap_or_default()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Array(a) => a.serialize(s),
        }
    }
}

/// Reads back what [`Value`]'s `Serialize` wrote (JSON-like data: integers stay integers).
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fn from_json(j: serde_json::Value) -> Value {
            match j {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Value::Int(i),
                    None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::String(s) => Value::Str(s.into_boxed_str()),
                serde_json::Value::Array(a) => Value::Array(a.into_iter().map(from_json).collect()),
                other => Value::Str(other.to_string().into_boxed_str()),
            }
        }
        serde_json::Value::deserialize(d).map(from_json)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into_boxed_str())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        assert_eq!(Value::Int(4688).as_text().unwrap(), "4688");
        assert_eq!(Value::Float(3.0).as_text().unwrap(), "3");
        assert_eq!(Value::Float(2.5).as_text().unwrap(), "2.5");
        assert_eq!(Value::Bool(true).as_text().unwrap(), "true");
        assert!(Value::Null.as_text().is_none());
        assert_eq!(Value::str(" 12 ").as_f64(), Some(12.0));
    }
}
