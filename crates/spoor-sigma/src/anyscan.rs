//! "Does this line hold any of these literals?", answered as fast as the memory system allows.
//! The line gate asks it of every web log line, and most lines answer no, so this one question
//! is most of the gate's time.
//!
//! An Aho-Corasick DFA walks one byte per table lookup, and each lookup waits for the one
//! before it: with a few hundred literals the table outgrows the L1 cache and the walk runs at
//! the latency of the next cache level, not at its bandwidth. [`AnyScan`] cuts the line into
//! four pieces and walks them in lock step through one DFA, so that four independent lookups
//! are in flight at a time. A literal that straddles a cut is found because each piece runs on
//! past its end by the longest pattern less one byte; to keep that overlap short the DFA holds
//! only a [`WINDOW`]-byte piece of each longer literal, the one least likely to be common in
//! logs (punctuation, digits and rare letters weigh least: of a full Chrome user agent it keeps
//! the version number, not `mozilla/5.0 (`). A line that holds a piece is a candidate, which the
//! caller confirms with the full literals; a line without one cannot hold any literal.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

/// Bytes of each literal the quick DFA holds (longer literals are cut to their rarest piece).
/// Measured on a 120 MB web log with the 388 literals of the SigmaHQ web rules: 10 to 12 bytes
/// keep the candidates to the lines that hold a full literal; 8 or 16 let through two to five
/// times as many.
pub(crate) const WINDOW: usize = 12;

/// Pieces walked in lock step.
const STREAMS: usize = 4;

/// A DFA over literal prefixes that tells whether a text may hold a literal.
#[derive(Debug)]
pub(crate) struct AnyScan {
    dfa: DFA,
    start: StateID,
    /// The longest prefix less one: how far each piece runs past its end.
    overlap: usize,
}

impl AnyScan {
    /// A scan for `literals` (as the text will be searched: already lower-cased if the text
    /// is); `None` when there is none or the DFA cannot be built, or when a literal is empty
    /// (every text would hold it).
    pub(crate) fn new<'a>(literals: impl IntoIterator<Item = &'a [u8]>) -> Option<AnyScan> {
        let mut prefixes: Vec<&[u8]> = literals.into_iter().map(rarest_window).collect();
        if prefixes.is_empty() || prefixes.iter().any(|p| p.is_empty()) {
            return None;
        }
        prefixes.sort_unstable();
        prefixes.dedup();
        let overlap = prefixes.iter().map(|p| p.len()).max().unwrap_or(1) - 1;
        let dfa = DFA::builder()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .byte_classes(true)
            .build(prefixes)
            .ok()?;
        let start = dfa.start_state(Anchored::No).ok()?;
        if dfa.is_match(start) {
            return None;
        }
        Some(AnyScan {
            dfa,
            start,
            overlap,
        })
    }

    /// Whether `text` may hold one of the literals: false only when it holds none of their
    /// prefixes.
    pub(crate) fn may_hold(&self, text: &[u8]) -> bool {
        let piece = text.len().div_ceil(STREAMS);
        if piece <= 2 * self.overlap + 8 {
            return self.walk(self.start, text);
        }
        let (a, rest) = text.split_at(piece);
        let (b, rest) = rest.split_at(piece);
        let (c, d) = rest.split_at(piece.min(rest.len()));
        // The last piece is the shortest: walk all four for its length.
        let common = d.len();
        let dfa = &self.dfa;
        let next = |s: StateID, byte: u8| dfa.next_state(Anchored::No, s, byte);
        let mut s = [self.start; STREAMS];
        for (((&x, &y), &z), &w) in a.iter().zip(b).zip(c).zip(d).take(common) {
            s[0] = next(s[0], x);
            s[1] = next(s[1], y);
            s[2] = next(s[2], z);
            s[3] = next(s[3], w);
            if dfa.is_match(s[0]) | dfa.is_match(s[1]) | dfa.is_match(s[2]) | dfa.is_match(s[3]) {
                return true;
            }
        }
        // The first three pieces: the rest of each, then on into the next by the overlap.
        for (k, state) in s.iter().take(STREAMS - 1).enumerate() {
            let from = k * piece + common;
            let to = ((k + 1) * piece + self.overlap).min(text.len());
            if self.walk(*state, text.get(from..to).unwrap_or_default()) {
                return true;
            }
        }
        false
    }

    fn walk(&self, mut s: StateID, text: &[u8]) -> bool {
        for &byte in text {
            s = self.dfa.next_state(Anchored::No, s, byte);
            if self.dfa.is_match(s) {
                return true;
            }
        }
        false
    }
}

/// How common a byte is in web and system logs, lower case (a rough weight, not a count).
fn commonness(b: u8) -> u8 {
    match b {
        b' ' | b'/' | b'.' | b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 10,
        b'h' | b'l' | b'd' | b'c' | b'u' | b'm' | b'p' | b'g' | b'w' | b'f' | b'b' | b'y' => 8,
        b'-' | b'_' | b'=' | b'&' | b'?' | b':' => 7,
        b'k' | b'v' | b'x' | b'j' | b'q' | b'z' => 5,
        b';' | b'(' | b')' | b',' | b'+' | b'"' | b'%' => 4,
        b'0'..=b'9' => 3,
        0x80..=0xff => 1,
        _ => 2,
    }
}

/// The [`WINDOW`]-byte piece of `lit` whose bytes are least common (the first of equals); the
/// literal itself when it is no longer. A text that holds `lit` holds the piece.
pub(crate) fn rarest_window(lit: &[u8]) -> &[u8] {
    if lit.len() <= WINDOW {
        return lit;
    }
    let score = |w: &[u8]| -> u32 { w.iter().map(|&b| u32::from(commonness(b)).pow(2)).sum() };
    let mut best = (u32::MAX, 0usize);
    for (i, w) in lit.windows(WINDOW).enumerate() {
        let s = score(w);
        if s < best.0 {
            best = (s, i);
        }
    }
    lit.get(best.1..best.1 + WINDOW).unwrap_or(lit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn holds(text: &[u8], p: &[u8]) -> bool {
        text.windows(p.len()).any(|w| w == p)
    }

    fn naive(lits: &[Vec<u8>], text: &[u8]) -> bool {
        lits.iter().any(|l| holds(text, rarest_window(l)))
    }

    #[test]
    fn a_long_user_agent_keeps_its_version_not_its_common_start() {
        let ua = b"mozilla/5.0 (windows nt 10.0; win64; x64) applewebkit/537.36 (khtml, like gecko) chrome/105.0.5195.54 safari/537.36";
        let w = rarest_window(ua);
        assert_eq!(w.len(), WINDOW);
        assert!(holds(ua, w));
        assert!(!holds(b"mozilla/5.0 (windows nt 10.0; win64; x64) applewebkit/537.36 (khtml, like gecko) chrome/120.0.0.0 safari/537.36", w), "{}", String::from_utf8_lossy(w));
    }

    #[test]
    fn a_literal_across_every_cut_is_found() {
        let lit = b"${jndi:ldap".to_vec();
        let scan = AnyScan::new([lit.as_slice()]).expect("scan");
        for len in [0usize, 5, 30, 64, 65, 200, 997] {
            for at in 0..len.saturating_sub(lit.len()) {
                let mut text = vec![b'a'; len];
                text[at..at + lit.len()].copy_from_slice(&lit);
                assert!(scan.may_hold(&text), "len {len} at {at}");
            }
            assert!(!scan.may_hold(&vec![b'a'; len]), "len {len}");
        }
    }

    #[test]
    fn no_literal_or_an_empty_one_builds_no_scan() {
        assert!(AnyScan::new(std::iter::empty()).is_none());
        assert!(AnyScan::new([b"".as_slice(), b"x".as_slice()]).is_none());
    }

    proptest! {
        #[test]
        fn the_same_answer_as_a_naive_search(
            lits in proptest::collection::vec(proptest::collection::vec(b'a'..b'e', 1..20), 1..12),
            text in proptest::collection::vec(b'a'..b'f', 0..400),
            planted in proptest::option::of((0usize..12, 0usize..400)),
        ) {
            let mut text = text;
            // Often plant a whole literal somewhere, across any cut.
            if let Some((k, at)) = planted {
                let l = &lits[k % lits.len()];
                let at = at.min(text.len());
                text.splice(at..at, l.iter().copied());
            }
            let scan = AnyScan::new(lits.iter().map(Vec::as_slice)).expect("scan");
            let may = scan.may_hold(&text);
            prop_assert_eq!(may, naive(&lits, &text));
            if lits.iter().any(|l| holds(&text, l)) {
                prop_assert!(may, "a text holding a literal is a candidate");
            }
        }
    }
}
