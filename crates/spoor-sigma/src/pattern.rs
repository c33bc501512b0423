//! Sigma string values -> matchers: wildcard and escape parsing, the string-transforming
//! modifiers (windash, utf16, base64, base64offset), and the compiled string pattern.

use crate::lazy::{build_regex, LazyRegex, GLOB_LAZY_MAX, GLOB_SIZE_LIMIT};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// The dash-like characters `windash` makes interchangeable.
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
/// Most variants one `windash` value may expand to.
const MAX_WINDASH_VARIANTS: usize = 3125;

/// One piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Parses Sigma wildcards and escapes: `*`, `?`, and `\` escaping `*`, `?` and itself; a
/// backslash before anything else is literal.
pub fn parse_wildcards(s: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    lit.push(n);
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                let p = if c == '*' { Piece::Star } else { Piece::One };
                if !(p == Piece::Star && pieces.last() == Some(&Piece::Star)) {
                    pieces.push(p);
                }
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    pieces
}

/// Escapes text so that [`parse_wildcards`] reads it back literally.
pub fn escape_wildcards(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Every windash variant of `s` (all combinations of the dash characters).
pub fn windash_variants(s: &str) -> Result<Vec<String>, String> {
    let positions = s.chars().filter(|c| WINDASH_CHARS.contains(c)).count();
    let total = WINDASH_CHARS
        .len()
        .checked_pow(positions as u32)
        .filter(|&n| n <= MAX_WINDASH_VARIANTS)
        .ok_or_else(|| format!("windash value with {positions} dashes expands too far"))?;
    let mut out = Vec::with_capacity(total);
    for mut n in 0..total {
        let mut v = String::with_capacity(s.len() + 4);
        for c in s.chars() {
            if WINDASH_CHARS.contains(&c) {
                v.push(WINDASH_CHARS[n % WINDASH_CHARS.len()]);
                n /= WINDASH_CHARS.len();
            } else {
                v.push(c);
            }
        }
        out.push(v);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Text encodings applied before base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (no modifier).
    Utf8,
    /// `utf16le` / `wide`.
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16`: a byte-order mark, then little endian.
    Utf16Bom,
}

/// Encodes text as bytes.
pub fn encode_text(s: &str, enc: TextEncoding) -> Vec<u8> {
    match enc {
        TextEncoding::Utf8 => s.as_bytes().to_vec(),
        TextEncoding::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        TextEncoding::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        TextEncoding::Utf16Bom => {
            let mut v = vec![0xFF, 0xFE];
            v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
            v
        }
    }
}

/// Plain base64 with padding.
pub fn base64_plain(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The three base64 forms `bytes` can take inside a longer base64 string, one per alignment,
/// with the characters that depend on the surrounding bytes cut off.
pub fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    let mut out = Vec::with_capacity(3);
    for (shift, &start) in START.iter().enumerate() {
        let mut buf = vec![b' '; shift];
        buf.extend_from_slice(bytes);
        let enc = STANDARD.encode(&buf);
        let cut_end = match (bytes.len() + shift) % 3 {
            0 => 0,
            1 => 3,
            _ => 2,
        };
        let end = enc.len().saturating_sub(cut_end);
        if start < end {
            out.push(enc[start..end].to_string());
        }
    }
    out
}

/// Lower-cases text the way both rule literals and event values are folded.
///
/// Character by character, and only where the lower case is one character: the folded text has
/// as many characters as the original (so `?` still means one character, even for `İ`), and a
/// character folds the same wherever it stands (no final-sigma rule, so `Σ` in a rule finds `Σ`
/// at the end of a word).
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        let mut out = String::with_capacity(s.len());
        fold_into(s, &mut out);
        out
    }
}

/// [`fold`], appending to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
        return;
    }
    for c in s.chars() {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => out.push(l),
            _ => out.push(c),
        }
    }
}

/// How a compiled string pattern matches.
#[derive(Debug, Clone)]
pub enum StrMatch {
    /// Whole value equal.
    Equals(String),
    /// Substring.
    Contains(String),
    /// Prefix.
    StartsWith(String),
    /// Suffix.
    EndsWith(String),
    /// Any value at all (`*`).
    Any,
    /// A general wildcard pattern, as an anchored linear-time regex (built on first use).
    Glob(LazyRegex),
}

/// A string pattern: wildcards resolved, folded unless `cased`.
#[derive(Debug, Clone)]
pub struct StrPattern {
    /// The matcher; its literals are folded when `cased` is false.
    pub m: StrMatch,
    /// Case-sensitive.
    pub cased: bool,
    /// The literal pieces (folded), for the index.
    pub literals: Vec<String>,
    /// For `Contains`: the substring searcher, built once rather than per event.
    finder: Option<Box<memchr::memmem::Finder<'static>>>,
}

impl StrPattern {
    /// Compiles wildcard pieces.
    pub fn compile(pieces: &[Piece], cased: bool) -> Result<StrPattern, String> {
        let lit = |s: &String| if cased { s.clone() } else { fold(s) };
        let literals: Vec<String> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Lit(s) => Some(lit(s)),
                _ => None,
            })
            .collect();
        let m = match pieces {
            [] => StrMatch::Equals(String::new()),
            [Piece::Lit(s)] => StrMatch::Equals(lit(s)),
            [Piece::Star] => StrMatch::Any,
            [Piece::Star, Piece::Lit(s), Piece::Star] => StrMatch::Contains(lit(s)),
            [Piece::Lit(s), Piece::Star] => StrMatch::StartsWith(lit(s)),
            [Piece::Star, Piece::Lit(s)] => StrMatch::EndsWith(lit(s)),
            _ => {
                let mut re = String::from("(?s)^");
                for p in pieces {
                    match p {
                        Piece::Lit(s) => re.push_str(&regex::escape(&lit(s))),
                        Piece::Star => re.push_str(".*"),
                        Piece::One => re.push('.'),
                    }
                }
                re.push('$');
                if re.len() <= GLOB_LAZY_MAX {
                    StrMatch::Glob(LazyRegex::deferred(re, GLOB_SIZE_LIMIT))
                } else {
                    let r = build_regex(&re, GLOB_SIZE_LIMIT)
                        .map_err(|e| format!("wildcard pattern too complex: {e}"))?;
                    StrMatch::Glob(LazyRegex::built(r, GLOB_SIZE_LIMIT))
                }
            }
        };
        let finder = match &m {
            StrMatch::Contains(s) => Some(Box::new(
                memchr::memmem::Finder::new(s.as_bytes()).into_owned(),
            )),
            _ => None,
        };
        Ok(StrPattern {
            m,
            cased,
            literals,
            finder,
        })
    }

    /// Matches `text` (original) with `folded` (its lower-case form).
    pub fn is_match(&self, text: &str, folded: &str) -> bool {
        let t = if self.cased { text } else { folded };
        match &self.m {
            StrMatch::Equals(s) => t == s,
            StrMatch::Contains(s) => match &self.finder {
                Some(f) => f.find(t.as_bytes()).is_some(),
                None => memchr::memmem::find(t.as_bytes(), s.as_bytes()).is_some(),
            },
            StrMatch::StartsWith(s) => t.starts_with(s.as_str()),
            StrMatch::EndsWith(s) => t.ends_with(s.as_str()),
            StrMatch::Any => true,
            StrMatch::Glob(r) => r.is_match(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::*;

    fn lit(s: &str) -> Piece {
        Lit(s.into())
    }

    #[test]
    fn escapes_follow_the_spec() {
        // Examples from the Sigma specification's escaping section.
        assert_eq!(parse_wildcards(r"C:\Windows"), vec![lit(r"C:\Windows")]);
        assert_eq!(parse_wildcards(r"C:\\Windows"), vec![lit(r"C:\Windows")]);
        assert_eq!(parse_wildcards(r"\*"), vec![lit("*")]);
        assert_eq!(parse_wildcards(r"\?"), vec![lit("?")]);
        assert_eq!(parse_wildcards(r"a\\*"), vec![lit(r"a\"), Star]);
        assert_eq!(parse_wildcards(r"a\\\*"), vec![lit(r"a\*")]);
        assert_eq!(parse_wildcards(r"\\\\"), vec![lit(r"\\")]);
        assert_eq!(parse_wildcards(r"\\\"), vec![lit(r"\\")]);
        assert_eq!(
            parse_wildcards("prog?.exe"),
            vec![lit("prog"), One, lit(".exe")]
        );
        assert_eq!(parse_wildcards("**a"), vec![Star, lit("a")]);
        assert_eq!(escape_wildcards(r"a*b?c\d"), r"a\*b\?c\\d");
        assert_eq!(
            parse_wildcards(&escape_wildcards(r"x\*?\\")),
            vec![lit(r"x\*?\\")]
        );
    }

    #[test]
    fn windash_expands_all_permutations() {
        let v = windash_variants("-a /b").unwrap();
        assert_eq!(v.len(), 25);
        assert!(v.contains(&"/a -b".to_string()));
        assert!(v.contains(&"\u{2014}a \u{2015}b".to_string()));
        assert_eq!(windash_variants("none").unwrap(), vec!["none".to_string()]);
        assert!(windash_variants("-a-b-c-d-e-f").is_err());
    }

    #[test]
    fn encodings() {
        // The modifier appendix's examples.
        assert_eq!(
            encode_text("cmd", TextEncoding::Utf16Le),
            vec![0x63, 0, 0x6d, 0, 0x64, 0]
        );
        assert_eq!(
            encode_text("cmd", TextEncoding::Utf16Be),
            vec![0, 0x63, 0, 0x6d, 0, 0x64]
        );
        assert_eq!(
            encode_text("cmd", TextEncoding::Utf16Bom),
            vec![0xFF, 0xFE, 0x63, 0, 0x6d, 0, 0x64, 0]
        );
        assert_eq!(base64_plain(b"cmd"), "Y21k");
    }

    #[test]
    fn base64_offsets_are_found_in_encoded_text() {
        let needle = b"http://evil";
        let offs = base64_offsets(needle);
        assert_eq!(offs.len(), 3);
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            let mut whole = prefix.as_bytes().to_vec();
            whole.extend_from_slice(needle);
            whole.extend_from_slice(b"/tail");
            let enc = base64_plain(&whole);
            assert!(
                offs.iter().any(|o| enc.contains(o.as_str())),
                "prefix {prefix:?}: {enc} {offs:?}"
            );
        }
    }

    #[test]
    fn patterns_match() {
        let p = StrPattern::compile(&parse_wildcards(r"*\cmd.exe"), false).unwrap();
        assert!(p.is_match(r"C:\Windows\CMD.EXE", &fold(r"C:\Windows\CMD.EXE")));
        let p = StrPattern::compile(&parse_wildcards("a*b?c"), false).unwrap();
        assert!(p.is_match("AxxBzC", "axxbzc"));
        assert!(!p.is_match("AxxBC", "axxbc"));
        let p = StrPattern::compile(&parse_wildcards("Evil"), true).unwrap();
        assert!(!p.is_match("evil", "evil"));
        assert!(p.is_match("Evil", "evil"));
        // regex metacharacters in literals are literal
        let p = StrPattern::compile(&parse_wildcards("a.b*(c)"), false).unwrap();
        assert!(p.is_match("a.bX(c)", "a.bx(c)"));
        assert!(!p.is_match("axbX(c)", "axbx(c)"));
    }
}
