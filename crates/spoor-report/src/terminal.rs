//! Making attacker-controlled text safe to print on a terminal.
//!
//! Log lines are written by the attacker. Printed raw, an ESC sequence can retitle the window,
//! rewrite earlier lines, or (on some terminals) answer back into the shell; a CR or backspace can
//! hide part of a line; a bidi override can make `exe.txt` read as `txt.exe`. Everything that a
//! terminal interprets rather than shows is therefore replaced by a visible escape.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal raw: C0 controls (including tab and newline, which
/// would break a table's layout), DEL, C1 controls, the bidi embedding, override and isolate
/// characters (U+202A..U+202E, U+2066..U+2069), the implicit direction marks (U+200E, U+200F,
/// U+061C) and the Unicode line and paragraph separators (U+2028, U+2029).
pub fn is_unsafe_for_terminal(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{2028}' | '\u{2029}')
}

/// Text with every character of [`is_unsafe_for_terminal`] replaced by a visible escape:
/// `\t`, `\n`, `\r` for those three, `\xNN` for other ASCII controls (ESC is `\x1b`) and
/// `\u{NNNN}` for the rest (a right-to-left override is `\u{202e}`). Borrows when nothing needs
/// escaping. Backslashes are left alone so that Windows paths stay readable; an escape can thus
/// be imitated by literal text, which is harmless since literal text is not interpreted.
///
/// The CLI uses this for its own messages too whenever they quote input data.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    escape_visibly(s, is_unsafe_for_terminal)
}

/// Replaces the characters `unsafe_char` flags by the visible escapes of [`terminal_safe`].
pub(crate) fn escape_visibly(s: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            terminal_safe("GET /index.html 200"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(terminal_safe("日本語 café"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_controls_visibly() {
        assert_eq!(terminal_safe("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        assert_eq!(
            terminal_safe("a\rb\x08c\td\ne\x7f"),
            "a\\rb\\x08c\\td\\ne\\x7f"
        );
        assert_eq!(terminal_safe("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(terminal_safe("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(terminal_safe("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(terminal_safe("\u{200f}\u{2028}"), "\\u{200f}\\u{2028}");
    }

    #[test]
    fn output_never_holds_unsafe_chars() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let safe = terminal_safe(&all);
        assert!(!safe.chars().any(is_unsafe_for_terminal));
        assert!(safe.contains("\\x1b"));
    }
}
