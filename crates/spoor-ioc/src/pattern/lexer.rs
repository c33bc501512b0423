//! Tokens of the STIX patterning language.

use super::PatternError;
use base64::Engine as _;
use chrono::{DateTime, Utc};

/// One token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: Tok,
    pub(super) offset: usize,
}

/// Token kinds. Keywords are upper case, as the grammar writes them.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// A word that is not a keyword (object types, property names).
    Ident(String),
    /// A keyword (`AND`, `FOLLOWEDBY`, `true`, ...).
    Keyword(&'static str),
    Str(String),
    Int(i64),
    Float(f64),
    Time(DateTime<Utc>),
    Bytes(Vec<u8>),
    Eof,
}

const KEYWORDS: [&str; 18] = [
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUBSET",
    "ISSUPERSET",
    "EXISTS",
    "IN",
    "WITHIN",
    "SECONDS",
    "REPEATS",
    "TIMES",
    "START",
    "STOP",
    "true",
    "false",
];

/// Splits a pattern into tokens, ending with [`Tok::Eof`].
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, PatternError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let err = |message: String| PatternError {
            offset: start,
            message,
        };
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b':' => Some(Tok::Colon),
            b'.' => Some(Tok::Dot),
            b',' => Some(Tok::Comma),
            b'*' => Some(Tok::Star),
            _ => None,
        };
        if let Some(kind) = single {
            out.push(Token { kind, offset: i });
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        let (kind, len) = match (c, next) {
            (b'=', Some(b'=')) => (Tok::Eq, 2),
            (b'=', _) => (Tok::Eq, 1),
            (b'!', Some(b'=')) => (Tok::Ne, 2),
            (b'<', Some(b'>')) => (Tok::Ne, 2),
            (b'<', Some(b'=')) => (Tok::Le, 2),
            (b'<', _) => (Tok::Lt, 1),
            (b'>', Some(b'=')) => (Tok::Ge, 2),
            (b'>', _) => (Tok::Gt, 1),
            (b'\'', _) => {
                let (s, end) = string_body(text, i + 1).map_err(&err)?;
                (Tok::Str(s), end - i)
            }
            (b't' | b'b' | b'h', Some(b'\'')) => {
                let (s, end) = string_body(text, i + 2).map_err(&err)?;
                let kind = match c {
                    b't' => Tok::Time(
                        DateTime::parse_from_rfc3339(&s)
                            .map_err(|e| err(format!("bad timestamp '{s}': {e}")))?
                            .with_timezone(&Utc),
                    ),
                    b'b' => Tok::Bytes(
                        base64::engine::general_purpose::STANDARD
                            .decode(s.as_bytes())
                            .map_err(|e| err(format!("bad base64 in binary literal: {e}")))?,
                    ),
                    _ => Tok::Bytes(hex_decode(&s).ok_or_else(|| err("bad hex literal".into()))?),
                };
                (kind, end - i)
            }
            (b'-' | b'+' | b'0'..=b'9', _) => {
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                    j += 1;
                }
                let lit = &text[i..j];
                let kind = if lit.contains('.') {
                    Tok::Float(
                        lit.parse()
                            .map_err(|_| err(format!("bad number '{lit}'")))?,
                    )
                } else {
                    Tok::Int(
                        lit.parse()
                            .map_err(|_| err(format!("bad integer '{lit}'")))?,
                    )
                };
                (kind, j - i)
            }
            (b'a'..=b'z' | b'A'..=b'Z' | b'_', _) => {
                let mut j = i + 1;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'-')
                {
                    j += 1;
                }
                let word = &text[i..j];
                let kind = match KEYWORDS.iter().find(|k| **k == word) {
                    Some(k) => Tok::Keyword(k),
                    None => Tok::Ident(word.to_string()),
                };
                (kind, j - i)
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(err(format!("unexpected character '{ch}'")));
            }
        };
        out.push(Token { kind, offset: i });
        i += len;
    }
    out.push(Token {
        kind: Tok::Eof,
        offset: text.len(),
    });
    Ok(out)
}

/// Reads a quoted string body starting after the opening quote; returns it and the offset after
/// the closing quote. Only `\'` and `\\` are escapes, as the grammar says.
fn string_body(text: &str, from: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = text
        .get(from..)
        .ok_or("unterminated string")?
        .char_indices();
    while let Some((k, ch)) = chars.next() {
        match ch {
            '\'' => return Ok((out, from + k + 1)),
            '\\' => match chars.next() {
                Some((_, '\'')) => out.push('\''),
                Some((_, '\\')) => out.push('\\'),
                Some((_, other)) => {
                    return Err(format!(
                        "invalid escape '\\{other}' (only \\' and \\\\ exist)"
                    ))
                }
                None => break,
            },
            _ => out.push(ch),
        }
    }
    Err("unterminated string".into())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            kinds("[file:hashes.'SHA-256' != 'a\\'b']"),
            vec![
                Tok::LBracket,
                Tok::Ident("file".into()),
                Tok::Colon,
                Tok::Ident("hashes".into()),
                Tok::Dot,
                Tok::Str("SHA-256".into()),
                Tok::Ne,
                Tok::Str("a'b".into()),
                Tok::RBracket,
                Tok::Eof
            ]
        );
        assert_eq!(kinds("h'0aff'"), vec![Tok::Bytes(vec![10, 255]), Tok::Eof]);
        assert_eq!(kinds("b'AQI='"), vec![Tok::Bytes(vec![1, 2]), Tok::Eof]);
        assert_eq!(
            kinds("-3 2.5"),
            vec![Tok::Int(-3), Tok::Float(2.5), Tok::Eof]
        );
    }

    #[test]
    fn errors_carry_offsets() {
        let e = tokenize("[a:b = 'open").unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(e.message.contains("unterminated"));
        assert_eq!(tokenize("[a:b = t'yesterday']").unwrap_err().offset, 7);
        assert!(tokenize("[a:b = 'x\\n']")
            .unwrap_err()
            .message
            .contains("escape"));
        assert_eq!(tokenize("[a:b § 1]").unwrap_err().offset, 5);
        assert!(tokenize("99999999999999999999").is_err());
    }
}
