//! The web reader's decoded companion fields, as agreed for the pack (docs/apt40.md), rebuilt
//! here so that fixtures can state requests exactly as access logs hold them (encoded) and
//! still exercise rules that read `cs-uri-decoded`, `cs-user-agent-decoded` and
//! `cs-referer-decoded`. The reader owns the real implementation; this copy follows the same
//! contract: Apache `\xHH` escapes undone, percent-decoding repeated up to three rounds, `+` as
//! a space in the query only.

/// Rounds of percent-decoding, enough for double encoding plus one more.
const ROUNDS: usize = 3;

/// The decoded form of a URI (`stem?query`): the stem and the query decoded separately so that
/// `+` becomes a space only in the query.
pub fn decode_uri(uri: &str) -> String {
    match uri.split_once('?') {
        Some((stem, query)) => format!("{}?{}", decode(stem, false), decode(query, true)),
        None => decode(uri, false),
    }
}

/// The decoded form of one header value or URI part.
pub fn decode(text: &str, plus_is_space: bool) -> String {
    let mut bytes = unescape_hex(text.as_bytes());
    for _ in 0..ROUNDS {
        let next = percent_decode(&bytes, plus_is_space);
        if next == bytes {
            break;
        }
        bytes = next;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn pair(hi: Option<&u8>, lo: Option<&u8>) -> Option<u8> {
    Some(hex(*hi?)? * 16 + hex(*lo?)?)
}

fn unescape_hex(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input.get(i) == Some(&b'\\') && input.get(i + 1) == Some(&b'x') {
            if let Some(b) = pair(input.get(i + 2), input.get(i + 3)) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        if let Some(&b) = input.get(i) {
            out.push(b);
        }
        i += 1;
    }
    out
}

fn percent_decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            if let Some(decoded) = pair(input.get(i + 1), input.get(i + 2)) {
                out.push(decoded);
                i += 3;
                continue;
            }
        }
        out.push(if b == b'+' && plus_is_space { b' ' } else { b });
        i += 1;
    }
    out
}

#[test]
fn decodes_single_double_and_triple_encoding() {
    assert_eq!(decode("%24%7Bjndi%3A", true), "${jndi:");
    assert_eq!(decode("%2524%257Bjndi", true), "${jndi");
    assert_eq!(decode("%252524%25257B", true), "${");
    assert_eq!(decode("%25252524", true), "%24", "only three rounds");
}

#[test]
fn plus_is_a_space_only_in_the_query() {
    assert_eq!(decode_uri("/a+b/c?q=cmd+/c+dir"), "/a+b/c?q=cmd /c dir");
    assert_eq!(decode_uri("/a%20b"), "/a b");
}

#[test]
fn apache_hex_escapes_and_bad_escapes() {
    assert_eq!(decode("\\x24{jndi:x}", false), "${jndi:x}");
    assert_eq!(decode("100%", true), "100%");
    assert_eq!(decode("%zz%4", true), "%zz%4");
    assert_eq!(decode("\\xg1", false), "\\xg1");
}
