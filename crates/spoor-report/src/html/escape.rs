//! Escaping for the HTML report: every value from data goes through [`push_text`].

use std::fmt::Write as _;

/// Appends `s` to `out` so that it is inert both as element text and inside a double- or
/// single-quoted attribute value: `& < > " '` become character references, and characters a
/// terminal would act on (controls, bidi overrides; see [`crate::terminal_safe`]) are shown as
/// visible escapes, so that a right-to-left override cannot disguise text in the browser either.
pub fn push_text(out: &mut String, s: &str) {
    for c in crate::terminal_safe(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// [`push_text`] into a new string.
#[cfg(test)]
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_text(&mut out, s);
    out
}

/// Appends a number.
pub fn push_num(out: &mut String, n: u64) {
    let _ = write!(out, "{n}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_for_text_and_attributes() {
        assert_eq!(
            text(r#""><script>alert(1)</script>"#),
            "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            text("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(text("a'b&c"), "a&#39;b&amp;c");
        assert_eq!(text("x\u{202e}y\x1b"), "x\\u{202e}y\\x1b");
    }
}
