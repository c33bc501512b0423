//! JSON objects -> flat event fields: nested objects become dotted names (`a.b.c`), arrays stay
//! arrays (the engine matches them element-wise).

use serde_json::{Map, Value as Json};
use spoor_event::{Fields, Value};
use std::sync::Arc;

/// Deepest nesting accepted; deeper records are refused (counted unparsed), so that recursion
/// stays bounded whatever the input.
pub(crate) const MAX_DEPTH: usize = 64;

/// The nesting depth of JSON text, counted over brackets outside strings; stops counting at
/// `limit + 1`. Linear, no allocation: used to refuse a record before serde_json recurses into it.
pub(crate) fn json_depth_exceeds(text: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for &b in text {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Appends the fields of `obj` under `prefix` (empty for the root) to `out`.
pub(crate) fn flatten_object(obj: &Map<String, Json>, prefix: &str, out: &mut Fields) {
    flatten_into(obj, prefix, out, 0);
}

fn flatten_into(obj: &Map<String, Json>, prefix: &str, out: &mut Fields, depth: usize) {
    for (k, v) in obj {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Json::Object(inner) if depth < MAX_DEPTH => flatten_into(inner, &name, out, depth + 1),
            other => out.push((Arc::from(name), Value::from_json(other))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_and_arrays() {
        let j: Json = serde_json::from_str(r#"{"a":{"b":{"c":1}},"t":[1,"x"],"n":null}"#).unwrap();
        let mut f = Fields::new();
        flatten_object(j.as_object().unwrap(), "", &mut f);
        assert_eq!(&*f[0].0, "a.b.c");
        assert_eq!(f[0].1, Value::Int(1));
        assert_eq!(f[1].1, Value::Array(vec![Value::Int(1), Value::str("x")]));
        assert_eq!(f[2].1, Value::Null);
    }

    #[test]
    fn depth_counting_ignores_strings() {
        assert!(!json_depth_exceeds(br#"{"a":"[[[[[[["}"#, 2));
        assert!(json_depth_exceeds(b"[[[", 2));
        assert!(!json_depth_exceeds(b"[[]]", 2));
    }
}
