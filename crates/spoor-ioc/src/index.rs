//! The lookup tables that keep matching cost flat in the number of indicators: per object path,
//! a hash set of exact values, a hash set of domains matched with their subdomains, prefix
//! tables for addresses (one hash table per prefix length in use), and URL needles filed under
//! their host. Each hit names a [`Target`]; targets under the same key are chained.
//!
//! URL needles match as case-insensitive substrings. One Aho-Corasick automaton over every URL
//! took 1 to 6 seconds to build for 125,000 URLs (more than the whole load budget of a million
//! indicators), so needles are filed under their host instead: a field value is checked only
//! against the needles of the hosts it names (after each `://`, or at its start), with a small
//! automaton per host that has many needles. Needles without a host go into one automaton.

use crate::ast2test::normalize;
use crate::mapping::{url_host, SlotId, ValueKind};
use crate::net::{self, Net};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rustc_hash::FxHashMap;

/// What a key leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Target {
    /// A plain-list indicator (the key match is the match).
    List(u32),
    /// Observation `obs` of STIX indicator `ind` (the key match is a candidate to verify).
    Obs(u32, u32),
}

const END: u32 = u32::MAX;

/// Hosts with more needles than this get their own automaton.
const HOST_AUTOMATON_MIN: usize = 16;

#[derive(Debug, Default)]
struct HostNeedles {
    /// Lower-case needles and their targets.
    needles: Vec<(Box<str>, Target)>,
    /// Over `needles` (lower case), when there are many.
    automaton: Option<AhoCorasick>,
}

#[derive(Debug, Default)]
struct SlotTables {
    exact: FxHashMap<Box<str>, u32>,
    suffix: FxHashMap<Box<str>, u32>,
    v4: Vec<(u8, FxHashMap<u32, u32>)>,
    /// For each entry of `v4` of length 16 or more: which /16 prefixes it holds, one bit each
    /// (8 KiB), so that most misses cost a cached bit test instead of a cold hash probe.
    v4_top: Vec<Option<Box<[u64]>>>,
    v6: Vec<(u8, FxHashMap<u128, u32>)>,
    url_hosts: FxHashMap<Box<str>, HostNeedles>,
    hostless_needles: bool,
}

/// The index.
#[derive(Debug, Default)]
pub(crate) struct Index {
    slots: Vec<SlotTables>,
    targets: Vec<Target>,
    next: Vec<u32>,
    needles: Vec<String>,
    needle_head: Vec<(SlotId, u32)>,
    needle_ids: FxHashMap<(SlotId, String), usize>,
    automaton: Option<AhoCorasick>,
}

fn chain(targets: &mut Vec<Target>, next: &mut Vec<u32>, head: &mut u32, t: Target) {
    let id = u32::try_from(targets.len()).unwrap_or(END);
    targets.push(t);
    next.push(*head);
    *head = id;
}

fn tables(slots: &mut Vec<SlotTables>, slot: SlotId) -> &mut SlotTables {
    let i = usize::from(slot);
    if slots.len() <= i {
        slots.resize_with(i + 1, SlotTables::default);
    }
    &mut slots[i]
}

fn prefix_table<A: std::hash::Hash + Eq>(
    tables: &mut Vec<(u8, FxHashMap<A, u32>)>,
    len: u8,
) -> &mut FxHashMap<A, u32> {
    let pos = match tables.iter().position(|(l, _)| *l == len) {
        Some(p) => p,
        None => {
            tables.push((len, FxHashMap::default()));
            tables.len() - 1
        }
    };
    &mut tables[pos].1
}

impl Index {
    /// Adds an exact value (already normalised for its kind).
    pub(crate) fn add_exact(&mut self, slot: SlotId, key: &str, t: Target) {
        let head = tables(&mut self.slots, slot)
            .exact
            .entry(key.into())
            .or_insert(END);
        chain(&mut self.targets, &mut self.next, head, t);
    }

    /// Adds a domain matched with its subdomains (normalised).
    pub(crate) fn add_suffix(&mut self, slot: SlotId, domain: &str, t: Target) {
        let head = tables(&mut self.slots, slot)
            .suffix
            .entry(domain.into())
            .or_insert(END);
        chain(&mut self.targets, &mut self.next, head, t);
    }

    /// Adds a network (an address is a full-length network).
    pub(crate) fn add_net(&mut self, slot: SlotId, net: Net, t: Target) {
        let tables = tables(&mut self.slots, slot);
        let head = match net {
            Net::V4(a, l) => prefix_table(&mut tables.v4, l).entry(a).or_insert(END),
            Net::V6(a, l) => prefix_table(&mut tables.v6, l).entry(a).or_insert(END),
        };
        chain(&mut self.targets, &mut self.next, head, t);
    }

    /// Adds a substring needle (matched without ASCII case).
    pub(crate) fn add_needle(&mut self, slot: SlotId, needle: &str, t: Target) {
        let lower = needle.to_ascii_lowercase();
        if let Some(host) = url_host(&lower).filter(|h| h.contains('.') || h.contains(':')) {
            let host: Box<str> = host.into();
            tables(&mut self.slots, slot)
                .url_hosts
                .entry(host)
                .or_default()
                .needles
                .push((lower.into_boxed_str(), t));
            return;
        }
        tables(&mut self.slots, slot).hostless_needles = true;
        let key = (slot, needle.to_ascii_lowercase());
        let id = match self.needle_ids.get(&key) {
            Some(&id) => id,
            None => {
                self.needles.push(key.1.clone());
                self.needle_head.push((slot, END));
                self.needle_ids.insert(key, self.needles.len() - 1);
                self.needles.len() - 1
            }
        };
        if let Some((_, head)) = self.needle_head.get_mut(id) {
            chain(&mut self.targets, &mut self.next, head, t);
        }
    }

    /// Every text a value of `slot` must contain to hit (ASCII case ignored), for line gates:
    /// exact values, domains, URL needles. `None` when the slot holds addresses or networks,
    /// which no literal stands for; an empty list when the slot holds nothing.
    pub(crate) fn literals_of(&self, slot: SlotId) -> Option<Vec<String>> {
        let Some(t) = self.slots.get(usize::from(slot)) else {
            return Some(Vec::new());
        };
        if !t.v4.is_empty() || !t.v6.is_empty() {
            return None;
        }
        let mut out: Vec<String> = t.exact.keys().map(|k| k.to_string()).collect();
        out.extend(t.suffix.keys().map(|k| k.to_string()));
        for h in t.url_hosts.values() {
            out.extend(h.needles.iter().map(|(n, _)| n.to_string()));
        }
        for (i, (s, _)) in self.needle_head.iter().enumerate() {
            if *s == slot {
                out.extend(self.needles.get(i).cloned());
            }
        }
        Some(out)
    }

    /// Builds the automaton; call once after the last `add_*`.
    pub(crate) fn finish(&mut self) -> Result<(), String> {
        self.needle_ids = FxHashMap::default();
        if !self.needles.is_empty() {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&self.needles)
                .map_err(|e| format!("substring automaton: {e}"))?;
            self.automaton = Some(ac);
        }
        for t in &mut self.slots {
            t.v4.sort_by_key(|(l, _)| *l);
            t.v4_top =
                t.v4.iter()
                    .map(|(len, map)| {
                        (*len >= 16 && map.len() > 64).then(|| {
                            let mut bits = vec![0u64; 1024].into_boxed_slice();
                            for a in map.keys() {
                                let top = (a >> 16) as usize;
                                if let Some(w) = bits.get_mut(top / 64) {
                                    *w |= 1 << (top % 64);
                                }
                            }
                            bits
                        })
                    })
                    .collect();
            t.v6.sort_by_key(|(l, _)| *l);
            for h in t.url_hosts.values_mut() {
                if h.needles.len() >= HOST_AUTOMATON_MIN {
                    let ac = AhoCorasickBuilder::new()
                        .match_kind(MatchKind::Standard)
                        .build(h.needles.iter().map(|(n, _)| n.as_bytes()))
                        .map_err(|e| format!("substring automaton: {e}"))?;
                    h.automaton = Some(ac);
                }
            }
        }
        Ok(())
    }

    fn walk(&self, mut head: u32, out: &mut impl FnMut(Target)) {
        while let Some(t) = self.targets.get(head as usize) {
            out(*t);
            head = self.next.get(head as usize).copied().unwrap_or(END);
        }
    }

    /// Every target whose key `text` (a value of `slot`, of kind `kind`) satisfies.
    pub(crate) fn lookup(
        &self,
        slot: SlotId,
        kind: ValueKind,
        text: &str,
        out: &mut impl FnMut(Target),
    ) {
        let Some(tables) = self.slots.get(usize::from(slot)) else {
            return;
        };
        if kind == ValueKind::Ip {
            if let Some(v) = net::parse_loose(text) {
                match v {
                    Net::V4(_, l) => {
                        for (i, (len, map)) in tables
                            .v4
                            .iter()
                            .enumerate()
                            .take_while(|(_, (len, _))| *len <= l)
                        {
                            if let Net::V4(a, _) = v.truncate(*len) {
                                if let Some(Some(bits)) = tables.v4_top.get(i) {
                                    let top = (a >> 16) as usize;
                                    let word = bits.get(top / 64).copied().unwrap_or(0);
                                    if word & (1 << (top % 64)) == 0 {
                                        continue;
                                    }
                                }
                                if let Some(&h) = map.get(&a) {
                                    self.walk(h, out);
                                }
                            }
                        }
                    }
                    Net::V6(_, l) => {
                        for (len, map) in tables.v6.iter().take_while(|(len, _)| *len <= l) {
                            if let Net::V6(a, _) = v.truncate(*len) {
                                if let Some(&h) = map.get(&a) {
                                    self.walk(h, out);
                                }
                            }
                        }
                    }
                }
            }
        } else {
            let norm = normalize(kind, text);
            if !tables.exact.is_empty() {
                if let Some(&h) = tables.exact.get(norm.as_ref()) {
                    self.walk(h, out);
                }
            }
            if !tables.suffix.is_empty() {
                let mut rest: &str = &norm;
                loop {
                    if let Some(&h) = tables.suffix.get(rest) {
                        self.walk(h, out);
                    }
                    match rest.split_once('.') {
                        Some((_, r)) if !r.is_empty() => rest = r,
                        _ => break,
                    }
                }
            }
        }
        if !tables.url_hosts.is_empty() {
            self.lookup_hosts(tables, text, out);
        }
        if tables.hostless_needles {
            self.lookup_needles(slot, text, out);
        }
    }

    fn lookup_hosts(&self, tables: &SlotTables, text: &str, out: &mut impl FnMut(Target)) {
        let mut lower: Option<String> = None;
        let starts = std::iter::once(0).chain(text.match_indices("://").map(|(i, _)| i));
        let mut seen: Vec<&HostNeedles> = Vec::new();
        for start in starts.take(16) {
            let Some(host) = text.get(start..).and_then(url_host) else {
                continue;
            };
            let host = host.to_ascii_lowercase();
            let Some(h) = tables.url_hosts.get(host.as_str()) else {
                continue;
            };
            if seen.iter().any(|s| std::ptr::eq(*s, h)) {
                continue;
            }
            seen.push(h);
            let hay = lower.get_or_insert_with(|| text.to_ascii_lowercase());
            match &h.automaton {
                Some(ac) => {
                    for m in ac.find_overlapping_iter(hay.as_str()) {
                        if let Some((_, t)) = h.needles.get(m.pattern().as_usize()) {
                            out(*t);
                        }
                    }
                }
                None => {
                    for (needle, t) in &h.needles {
                        if hay.contains(&**needle) {
                            out(*t);
                        }
                    }
                }
            }
        }
    }

    fn lookup_needles(&self, slot: SlotId, text: &str, out: &mut impl FnMut(Target)) {
        let Some(ac) = &self.automaton else {
            return;
        };
        for m in ac.find_overlapping_iter(text) {
            if let Some(&(s, head)) = self.needle_head.get(m.pattern().as_usize()) {
                if s == slot {
                    self.walk(head, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(ix: &Index, slot: SlotId, kind: ValueKind, text: &str) -> Vec<Target> {
        let mut v = Vec::new();
        ix.lookup(slot, kind, text, &mut |t| v.push(t));
        v.sort();
        v
    }

    #[test]
    fn addresses_prefixes_and_lookalikes() {
        let mut ix = Index::default();
        ix.add_net(
            0,
            net::parse_strict("45.61.136.12").unwrap(),
            Target::List(1),
        );
        ix.add_net(0, net::parse_strict("10.0.0.0/8").unwrap(), Target::List(2));
        ix.add_net(
            0,
            net::parse_strict("2001:db8::/32").unwrap(),
            Target::List(3),
        );
        ix.finish().unwrap();
        assert_eq!(
            hits(&ix, 0, ValueKind::Ip, "45.61.136.12"),
            vec![Target::List(1)]
        );
        assert!(hits(&ix, 0, ValueKind::Ip, "45.61.136.121").is_empty());
        assert_eq!(
            hits(&ix, 0, ValueKind::Ip, "10.200.1.1:443"),
            vec![Target::List(2)]
        );
        assert!(hits(&ix, 0, ValueKind::Ip, "11.0.0.1").is_empty());
        assert_eq!(
            hits(&ix, 0, ValueKind::Ip, "[2001:db8:1::5]:80"),
            vec![Target::List(3)]
        );
        assert!(
            hits(&ix, 1, ValueKind::Ip, "45.61.136.12").is_empty(),
            "other slot"
        );
    }

    #[test]
    fn large_prefix_tables_use_the_top_bits_filter() {
        let mut ix = Index::default();
        for i in 0..200u32 {
            let net = Net::V4((10 << 24) | (i << 16) | (7 << 8), 24);
            ix.add_net(0, net, Target::List(i));
        }
        ix.finish().unwrap();
        assert!(matches!(ix.slots[0].v4_top.first(), Some(Some(_))));
        assert_eq!(
            hits(&ix, 0, ValueKind::Ip, "10.150.7.9"),
            vec![Target::List(150)]
        );
        assert!(hits(&ix, 0, ValueKind::Ip, "10.150.8.9").is_empty());
        assert!(hits(&ix, 0, ValueKind::Ip, "10.250.7.9").is_empty());
    }

    #[test]
    fn domains_exact_and_with_subdomains() {
        let mut ix = Index::default();
        ix.add_suffix(0, "cdn.example.net", Target::List(1));
        ix.add_exact(0, "exact.example.org", Target::Obs(2, 0));
        ix.add_exact(0, "exact.example.org", Target::Obs(3, 0));
        ix.finish().unwrap();
        let k = ValueKind::Domain;
        assert_eq!(hits(&ix, 0, k, "CDN.example.net."), vec![Target::List(1)]);
        assert_eq!(
            hits(&ix, 0, k, "a.b.cdn.example.net"),
            vec![Target::List(1)]
        );
        assert!(hits(&ix, 0, k, "xcdn.example.net").is_empty());
        assert!(hits(&ix, 0, k, "cdn.example.net.evil.com").is_empty());
        assert_eq!(
            hits(&ix, 0, k, "exact.example.org:8080"),
            vec![Target::Obs(2, 0), Target::Obs(3, 0)]
        );
        assert!(hits(&ix, 0, k, "sub.exact.example.org").is_empty());
    }

    #[test]
    fn many_needles_on_one_host_and_hostless_needles() {
        let mut ix = Index::default();
        for i in 0..40 {
            ix.add_needle(
                4,
                &format!("http://busy.example.com/{i}.php"),
                Target::List(i),
            );
        }
        ix.add_needle(4, "/wp-content/plugins/evil/", Target::List(99));
        ix.finish().unwrap();
        let k = ValueKind::Url;
        assert_eq!(
            hits(&ix, 4, k, "http://BUSY.example.com/17.php"),
            vec![Target::List(17)]
        );
        assert_eq!(
            hits(
                &ix,
                4,
                k,
                "https://r.example.org/?u=http://busy.example.com/3.php"
            ),
            vec![Target::List(3)]
        );
        // Substring semantics: a needle inside a longer URL matches.
        assert_eq!(
            hits(&ix, 4, k, "http://busy.example.com/1.php?x"),
            vec![Target::List(1)]
        );
        assert!(hits(&ix, 4, k, "http://busy.example.com/100.php").is_empty());
        assert!(hits(&ix, 4, k, "http://other.example.com/17.php").is_empty());
        assert_eq!(
            hits(&ix, 4, k, "/WP-content/plugins/evil/x.php"),
            vec![Target::List(99)]
        );
    }

    #[test]
    fn needles() {
        let mut ix = Index::default();
        ix.add_needle(4, "http://evil.example.com/a.jsp", Target::List(7));
        ix.add_needle(5, "http://evil.example.com/a.jsp", Target::List(8));
        ix.finish().unwrap();
        assert_eq!(
            hits(
                &ix,
                4,
                ValueKind::Url,
                "GET HTTP://EVIL.example.com/a.jsp?x=1"
            ),
            vec![Target::List(7)]
        );
        assert!(hits(&ix, 4, ValueKind::Url, "http://evil.example.com/b.jsp").is_empty());
    }
}
