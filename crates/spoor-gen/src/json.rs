//! A minimal flat-JSON-object writer: the Windows events are flat string/number maps, so a
//! writer of `"key":"value"` pairs with correct escaping is all that is needed, and it is far
//! faster than building a `serde_json::Value` per event.

use std::io::Write;

/// Writes one flat JSON object into a byte buffer.
#[derive(Debug)]
pub struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonObject<'a> {
    /// Open `{`.
    pub fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        escape_into(self.out, key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// `"key":"value"` with the value escaped.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.bytes(key, value.as_bytes())
    }

    /// `"key":"value"` from bytes (valid UTF-8 expected; bytes are copied as they are).
    pub fn bytes(&mut self, key: &str, value: &[u8]) -> &mut Self {
        self.key(key);
        self.out.push(b'"');
        escape_into(self.out, value);
        self.out.push(b'"');
        self
    }

    /// `"key":123`.
    pub fn num(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.out, "{value}");
        self
    }

    /// Close `}` and end the line.
    pub fn close(self) {
        self.out.extend_from_slice(b"}\n");
    }
}

/// JSON string escaping: quote, backslash and control characters.
pub fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                let _ = write!(out, "\\u{:04x}", b);
            }
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::JsonObject;

    #[test]
    fn escapes_and_shapes() {
        let mut buf = Vec::new();
        let mut o = JsonObject::open(&mut buf);
        o.str("Image", "C:\\Windows\\cmd.exe")
            .str("CommandLine", "cmd /c \"x\"\r\n\u{1}")
            .num("EventID", 4688);
        o.close();
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "{\"Image\":\"C:\\\\Windows\\\\cmd.exe\",\"CommandLine\":\"cmd /c \\\"x\\\"\\r\\n\\u0001\",\"EventID\":4688}\n"
        );
    }
}
