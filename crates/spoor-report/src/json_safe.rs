//! JSON output that stays inert wherever it is later shown.
//!
//! `serde_json` escapes only what JSON requires (quotes, backslash, C0 controls). A JSON line
//! printed with `cat` or `less` would still carry DEL, C1 controls and bidi overrides raw to the
//! terminal, and JSON inside an HTML `<script>` block must not contain `<`, `>` or `&` (which
//! could close the block) nor U+2028/U+2029. This formatter writes those as `\uXXXX` escapes:
//! still valid JSON with the same values, but no character a terminal or an HTML parser acts on.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::io;

/// A `serde_json` formatter escaping, besides what JSON requires, every character that
/// [`crate::is_unsafe_for_terminal`] flags, and in `html` mode also `<`, `>` and `&`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeJsonFormatter {
    html: bool,
}

impl SafeJsonFormatter {
    /// For JSON Lines and other terminal-bound output.
    pub fn terminal() -> Self {
        SafeJsonFormatter { html: false }
    }

    /// For JSON embedded in an HTML `<script type="application/json">` block.
    pub fn html() -> Self {
        SafeJsonFormatter { html: true }
    }

    fn needs_escape(&self, c: char) -> bool {
        crate::is_unsafe_for_terminal(c) || (self.html && matches!(c, '<' | '>' | '&'))
    }
}

impl Formatter for SafeJsonFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if self.needs_escape(c) {
                w.write_all(fragment.as_bytes().get(start..i).unwrap_or_default())?;
                // Every flagged character is in the Basic Multilingual Plane: one \u escape.
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(fragment.as_bytes().get(start..).unwrap_or_default())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        CompactFormatter.write_char_escape(w, escape)
    }
}

/// Serialises `value` compactly with `formatter` to `w`.
pub fn write_json<W: io::Write, T: Serialize + ?Sized>(
    w: &mut W,
    value: &T,
    formatter: SafeJsonFormatter,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, formatter);
    value.serialize(&mut ser).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_string(v: &serde_json::Value, f: SafeJsonFormatter) -> String {
        let mut out = Vec::new();
        write_json(&mut out, v, f).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_and_round_trips() {
        let v =
            serde_json::json!({"ua": "\u{1b}]0;x\u{7}\u{7f}\u{85}a\u{202e}b</script>&\u{2028}é"});
        let t = to_string(&v, SafeJsonFormatter::terminal());
        assert_eq!(
            t,
            r#"{"ua":"\u001b]0;x\u0007\u007f\u0085a\u202eb</script>&\u2028é"}"#
        );
        let h = to_string(&v, SafeJsonFormatter::html());
        assert!(h.contains(r"\u003c/script\u003e\u0026"));
        for s in [t, h] {
            let back: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert_eq!(back, v);
        }
    }
}
