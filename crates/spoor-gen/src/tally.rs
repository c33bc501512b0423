//! The count of generated attack lines per kind: the "known answer" a benchmark or test compares
//! a hunter's findings with. Kept in generation order of kinds so the report reads the same
//! every run.

use std::fmt::Write as _;

/// Attack lines written, per kind, plus the totals of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// `(kind, count)` in the generator's fixed order of kinds.
    pub attacks: Vec<(&'static str, u64)>,
    /// Records (lines or events) written, attacks included.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Tally {
    /// A tally with every kind at zero.
    pub fn with_kinds(kinds: &[&'static str]) -> Self {
        Tally {
            attacks: kinds.iter().map(|k| (*k, 0)).collect(),
            records: 0,
            bytes: 0,
        }
    }

    /// Count one attack of `kind` (a kind not listed is added at the end).
    pub fn bump(&mut self, kind: &'static str) {
        match self.attacks.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.attacks.push((kind, 1)),
        }
    }

    /// Count of one kind (0 when absent).
    pub fn count(&self, kind: &str) -> u64 {
        self.attacks
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// All attack records.
    pub fn total_attacks(&self) -> u64 {
        self.attacks.iter().map(|(_, n)| n).sum()
    }

    /// One JSON object: `{"seed":..,"kind":..,"records":..,"bytes":..,"attacks":{..}}`.
    pub fn to_json(&self, seed: u64, kind: &str) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "{{\"seed\":{seed},\"kind\":\"{kind}\",\"records\":{},\"bytes\":{},\"attack_records\":{},\"attacks\":{{",
            self.records,
            self.bytes,
            self.total_attacks()
        );
        for (i, (k, n)) in self.attacks.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "\"{k}\":{n}");
        }
        s.push_str("}}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn bump_count_and_json() {
        let mut t = Tally::with_kinds(&["a", "b"]);
        t.bump("b");
        t.bump("b");
        t.bump("c");
        t.records = 10;
        t.bytes = 99;
        assert_eq!(t.count("a"), 0);
        assert_eq!(t.count("b"), 2);
        assert_eq!(t.count("c"), 1);
        assert_eq!(t.total_attacks(), 3);
        assert_eq!(
            t.to_json(5, "combined"),
            "{\"seed\":5,\"kind\":\"combined\",\"records\":10,\"bytes\":99,\"attack_records\":3,\"attacks\":{\"a\":0,\"b\":2,\"c\":1}}"
        );
    }
}
