//! Ties file findings (web shells) back to the access logs of the same run: which clients
//! requested the file, when, how, and with what result. This is the question a responder asks
//! right after finding a web shell.
//!
//! Build a [`TieBack`] from the findings and the web roots, feed it every web event with
//! [`TieBack::observe`] (clone it per thread and [`TieBack::merge`] if events are read in
//! parallel), then [`TieBack::attach`] the requests to the findings.
//!
//! Matching: the request's path (from `cs-uri-stem`, else the path part of `cs-uri`, `c-uri`,
//! `uri` or `url`; percent-decoded, `;params` and `.`/`..` segments resolved, `\` as `/`) is
//! compared case-insensitively with each file's URL path ([`crate::url_path`]). An exact match
//! wins; otherwise a match where one path ends with the other at a `/` boundary counts, which
//! covers a web root given above the document root (`/wwwroot/x.aspx` vs `/x.aspx`) and virtual
//! directories (`/owa/auth/x.aspx` vs `/x.aspx`).
//!
//! Memory: each file keeps its `max_per_file` earliest requests (by time, then log position,
//! so the result does not depend on thread count) and a total count.

use crate::{tomcat_url_path, url_path};
use chrono::{DateTime, Utc};
use spoor_event::{
    Event, Finding, Origin, Position, RelatedRequest, StatefulDetector, StatefulOutput,
};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

/// Fields holding the requested path, in order of preference.
const URI_FIELDS: &[&str] = &["cs-uri-stem", "cs-uri", "c-uri", "uri", "url"];
/// Longest URI looked at, in bytes; longer ones are cut there (hostile input bound).
const MAX_URI: usize = 16 * 1024;

/// Default number of requests kept per file.
pub const DEFAULT_MAX_REQUESTS: usize = 1_000;

/// A request kept for a file, ordered earliest first (unknown times last).
#[derive(Debug, Clone)]
struct Kept {
    key: (bool, Option<DateTime<Utc>>, Arc<str>, Position),
    req: RelatedRequest,
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Kept {}
impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// One file found on disk and the requests seen for it.
#[derive(Debug, Clone)]
struct Entry {
    /// The finding's `source.path`.
    path: Arc<str>,
    /// URL paths, lower-case, each starting with `/`.
    urls: Vec<String>,
    /// The earliest requests (a max-heap, so the latest kept one is dropped first).
    kept: BinaryHeap<Kept>,
    /// All matching requests.
    total: u64,
}

/// What the tie-back found for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TieBackEntry {
    /// The file (as in the finding's `source.path`).
    pub path: String,
    /// The URL paths it was looked up by (lower-case).
    pub urls: Vec<String>,
    /// Requests kept and attached.
    pub kept: usize,
    /// All requests seen (more than `kept` when the per-file bound was hit).
    pub total: u64,
}

/// The tie-back index: files by URL, and the requests seen for each.
#[derive(Debug, Clone)]
pub struct TieBack {
    entries: Vec<Entry>,
    /// Last URL segment (lower-case) -> entries having a URL ending with it.
    by_name: HashMap<String, Vec<usize>>,
    /// File path -> entry.
    by_path: HashMap<Arc<str>, usize>,
    max_per_file: usize,
}

impl TieBack {
    /// An empty index keeping at most `max_per_file` requests per file.
    pub fn new(max_per_file: usize) -> Self {
        TieBack {
            entries: Vec::new(),
            by_name: HashMap::new(),
            by_path: HashMap::new(),
            max_per_file,
        }
    }

    /// An index of every file finding (`Finding::file` set) that is served under one of
    /// `webroots`, or that is a Tomcat compiled JSP. Findings on the same file share one entry.
    pub fn from_findings(findings: &[Finding], webroots: &[PathBuf], max_per_file: usize) -> Self {
        let mut tb = TieBack::new(max_per_file);
        for f in findings.iter().filter(|f| f.file.is_some()) {
            let file = PathBuf::from(&*f.source.path);
            let urls: Vec<String> = if webroots.is_empty() {
                // Only the Tomcat mapping needs no root.
                tomcat_url_path(&file).into_iter().collect()
            } else {
                webroots
                    .iter()
                    .filter_map(|root| url_path(root, &file))
                    .collect()
            };
            for url in urls {
                tb.add(&f.source.path, &url);
            }
        }
        tb
    }

    /// Registers `url` (a URL path) for the file `path`.
    pub fn add(&mut self, path: &str, url: &str) {
        let url = normalise_path(url);
        let Some(name) = last_segment(&url) else {
            return;
        };
        let name = name.to_string();
        let idx = match self.by_path.get(path) {
            Some(&i) => i,
            None => {
                let path: Arc<str> = Arc::from(path);
                self.entries.push(Entry {
                    path: Arc::clone(&path),
                    urls: Vec::new(),
                    kept: BinaryHeap::new(),
                    total: 0,
                });
                self.by_path.insert(path, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        let Some(entry) = self.entries.get_mut(idx) else {
            return;
        };
        if entry.urls.contains(&url) {
            return;
        }
        entry.urls.push(url);
        let list = self.by_name.entry(name).or_default();
        if !list.contains(&idx) {
            list.push(idx);
        }
    }

    /// True when no file is indexed (observing events would be wasted work).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Looks at one event; a web request to an indexed file is recorded for it.
    pub fn observe(&mut self, event: &Event) {
        let Some((hits, kept)) = self.lookup(event) else {
            return;
        };
        for i in hits {
            if let Some(e) = self.entries.get_mut(i) {
                e.total += 1;
                push_bounded(&mut e.kept, kept.clone(), self.max_per_file);
            }
        }
    }

    /// The indexed files a web request asks for, and the request as kept (read only).
    fn lookup(&self, event: &Event) -> Option<(Vec<usize>, Kept)> {
        if self.entries.is_empty() {
            return None;
        }
        let raw_uri = URI_FIELDS
            .iter()
            .find_map(|f| event.get(f).and_then(|v| v.as_text()))?;
        let req_path = normalise_path(&raw_uri);
        let name = last_segment(&req_path)?;
        let candidates = self.by_name.get(name)?;
        let exact: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                self.entries
                    .get(i)
                    .is_some_and(|e| e.urls.contains(&req_path))
            })
            .collect();
        let hits: Vec<usize> = if exact.is_empty() {
            candidates
                .iter()
                .copied()
                .filter(|&i| {
                    self.entries.get(i).is_some_and(|e| {
                        e.urls
                            .iter()
                            .any(|u| u.ends_with(&req_path) || req_path.ends_with(u.as_str()))
                    })
                })
                .collect()
        } else {
            exact
        };
        if hits.is_empty() {
            return None;
        }
        let req = related_request(event, &raw_uri);
        let key = (
            event.timestamp.is_none(),
            event.timestamp,
            Arc::clone(&event.origin.path),
            event.origin.position,
        );
        Some((hits, Kept { key, req }))
    }

    /// Adds what another index (built from the same findings, fed other events) observed.
    pub fn merge(&mut self, other: TieBack) {
        for oe in other.entries {
            let existing = self.by_path.get(&oe.path).copied();
            if let Some(e) = existing.and_then(|i| self.entries.get_mut(i)) {
                e.total += oe.total;
                for k in oe.kept {
                    push_bounded(&mut e.kept, k, self.max_per_file);
                }
            } else {
                for url in &oe.urls {
                    self.add(&oe.path, url);
                }
                let added = self.by_path.get(&oe.path).copied();
                if let Some(e) = added.and_then(|i| self.entries.get_mut(i)) {
                    e.total = oe.total;
                    e.kept = oe.kept;
                }
            }
        }
    }

    /// Per-file results (for the run summary: "N requests, first M shown").
    pub fn entries(&self) -> Vec<TieBackEntry> {
        self.entries
            .iter()
            .map(|e| TieBackEntry {
                path: e.path.to_string(),
                urls: e.urls.clone(),
                kept: e.kept.len(),
                total: e.total,
            })
            .collect()
    }

    /// Sets `related` on every finding whose file has requests, earliest first. Returns how
    /// many findings got at least one.
    pub fn attach(&self, findings: &mut [Finding]) -> usize {
        let mut n = 0;
        for f in findings.iter_mut() {
            let Some(e) = self
                .by_path
                .get(&f.source.path)
                .and_then(|&i| self.entries.get(i))
            else {
                continue;
            };
            if e.kept.is_empty() {
                continue;
            }
            let mut kept: Vec<&Kept> = e.kept.iter().collect();
            kept.sort();
            f.related = kept.into_iter().map(|k| k.req.clone()).collect();
            n += 1;
        }
        n
    }
}

/// The tie-back as a stateful detector of the run: it owns the file findings, each work unit
/// records the requests it sees for them ([`TieBackHits`], plain data: the index itself is
/// shared, never cloned per unit), and `finish` returns the findings with `related` set.
#[derive(Debug)]
pub struct WebShellRequests {
    index: TieBack,
    findings: Vec<Finding>,
}

/// Requests one work unit saw for the indexed files: per entry, the earliest kept and a total.
#[derive(Debug, Default)]
pub struct TieBackHits {
    per_entry: HashMap<usize, (BinaryHeap<Kept>, u64)>,
}

impl WebShellRequests {
    /// Indexes the file findings served under `webroots` (see [`TieBack::from_findings`]).
    pub fn new(findings: Vec<Finding>, webroots: &[PathBuf], max_per_file: usize) -> Self {
        let index = TieBack::from_findings(&findings, webroots, max_per_file);
        WebShellRequests { index, findings }
    }

    /// True when no finding is served from a web root (observing would be wasted work).
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The file findings, without requests (for a run that reads no logs).
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

impl StatefulDetector for WebShellRequests {
    type Partial = TieBackHits;

    fn start(&self) -> TieBackHits {
        TieBackHits::default()
    }

    fn observe(&self, p: &mut TieBackHits, event: &Event, _findings: &[Finding]) {
        let Some((hits, kept)) = self.index.lookup(event) else {
            return;
        };
        for i in hits {
            let (heap, total) = p.per_entry.entry(i).or_default();
            *total += 1;
            push_bounded(heap, kept.clone(), self.index.max_per_file);
        }
    }

    fn merge(&self, into: &mut TieBackHits, from: TieBackHits) {
        for (i, (heap, total)) in from.per_entry {
            let (h, t) = into.per_entry.entry(i).or_default();
            *t += total;
            for k in heap {
                push_bounded(h, k, self.index.max_per_file);
            }
        }
    }

    fn finish(&self, p: TieBackHits) -> StatefulOutput {
        let mut findings = self.findings.clone();
        let mut notes = Vec::new();
        for f in &mut findings {
            let Some(&i) = self.index.by_path.get(&f.source.path) else {
                continue;
            };
            let Some((heap, total)) = p.per_entry.get(&i) else {
                continue;
            };
            let mut kept: Vec<&Kept> = heap.iter().collect();
            kept.sort();
            f.related = kept.into_iter().map(|k| k.req.clone()).collect();
            if *total > f.related.len() as u64 {
                notes.push(format!(
                    "web shell {}: {total} requests, the first {} attached",
                    f.source.path,
                    f.related.len()
                ));
            }
        }
        notes.dedup();
        StatefulOutput { findings, notes }
    }
}

fn push_bounded(heap: &mut BinaryHeap<Kept>, k: Kept, max: usize) {
    if max == 0 {
        return;
    }
    if heap.len() < max {
        heap.push(k);
    } else if heap.peek().is_some_and(|top| k < *top) {
        heap.pop();
        heap.push(k);
    }
}

fn related_request(event: &Event, raw_uri: &str) -> RelatedRequest {
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| {
                event
                    .get(n)
                    .and_then(|v| v.as_text())
                    .map(|t| t.into_owned())
            })
            .filter(|t| !t.is_empty() && t != "-")
    };
    // Show the full request when the reader kept it (`cs-uri`), else rebuild it.
    let uri = text(&["cs-uri"]).unwrap_or_else(|| match text(&["cs-uri-query"]) {
        Some(q) if !raw_uri.contains('?') => format!("{raw_uri}?{q}"),
        _ => raw_uri.to_string(),
    });
    RelatedRequest {
        timestamp: event.timestamp,
        client_ip: text(&["c-ip", "client_ip", "src_ip"]),
        method: text(&["cs-method", "method"]),
        uri: Some(uri),
        status: text(&["sc-status", "status"]),
        source: Origin {
            path: Arc::clone(&event.origin.path),
            position: event.origin.position,
        },
    }
}

fn last_segment(path: &str) -> Option<&str> {
    path.rsplit('/').next().filter(|s| !s.is_empty())
}

/// Lower-case path part of a URI: scheme and host, query and fragment removed, `;params`
/// dropped from segments, percent-escapes decoded, `\` as `/`, `.`/`..`/empty segments resolved.
pub(crate) fn normalise_path(uri: &str) -> String {
    let mut s = uri;
    if s.len() > MAX_URI {
        let mut cut = MAX_URI;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s = s.get(..cut).unwrap_or_default();
    }
    if let Some(i) = s.find("://") {
        let after = s.get(i + 3..).unwrap_or_default();
        s = after.find('/').and_then(|j| after.get(j..)).unwrap_or("/");
    }
    let s = s.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decode(s).replace('\\', "/").to_lowercase();
    let mut out: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        let seg = seg.split(';').next().unwrap_or_default();
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    format!("/{}", out.join("/"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{FileInfo, RuleKind, RuleLevel, RuleMeta};

    fn web(path: &str, line: u64, ts: i64, stem: &str, ip: &str) -> Event {
        let mut e = Event::new(path, Position::Line(line))
            .with("c-ip", ip)
            .with("cs-method", "POST")
            .with("cs-uri-stem", stem)
            .with("cs-uri-query", "-")
            .with("sc-status", "200");
        e.timestamp = DateTime::from_timestamp(ts, 0);
        e
    }

    fn file_finding(path: &str) -> Finding {
        let meta = RuleMeta::new("r", "r", RuleLevel::High, RuleKind::Yara);
        let mut f = Finding::from_event(Arc::new(meta), &Event::new(path, Position::Line(1)));
        f.file = Some(FileInfo {
            size: 1,
            modified: None,
            changed: None,
            md5: String::new(),
            sha1: String::new(),
            sha256: String::new(),
        });
        f
    }

    #[test]
    fn normalises_request_paths() {
        assert_eq!(normalise_path("/A/./b/../Sh%65ll.ASPX"), "/a/shell.aspx");
        assert_eq!(
            normalise_path("https://h:443//x//y.jsp;jsessionid=1?q=1#f"),
            "/x/y.jsp"
        );
        assert_eq!(
            normalise_path(r"\aspnet_client\x.aspx"),
            "/aspnet_client/x.aspx"
        );
        assert_eq!(normalise_path("/%zz%4"), "/%zz%4");
        assert_eq!(normalise_path("/../../etc"), "/etc");
        let long = "/a".repeat(20_000);
        assert!(normalise_path(&long).len() <= MAX_URI);
    }

    #[test]
    fn ties_requests_to_files() {
        let mut findings = vec![
            file_finding("/mnt/c/inetpub/wwwroot/aspnet_client/help.aspx"),
            file_finding("/mnt/c/inetpub/wwwroot/other/help.aspx"),
            file_finding("/opt/tomcat/work/Catalina/localhost/ROOT/org/apache/jsp/Nova_jsp.class"),
            file_finding("/elsewhere/x.php"),
        ];
        let roots = vec![PathBuf::from("/mnt/c/inetpub/wwwroot")];
        let mut tb = TieBack::from_findings(&findings, &roots, 2);
        assert_eq!(tb.entries().len(), 3, "{:?}", tb.entries());
        tb.observe(&web(
            "iis.log",
            3,
            300,
            "/ASPNET_CLIENT/help.aspx",
            "1.2.3.4",
        ));
        tb.observe(&web(
            "iis.log",
            1,
            100,
            "/aspnet_client/help.aspx",
            "1.2.3.5",
        ));
        tb.observe(&web(
            "iis.log",
            2,
            200,
            "/aspnet_client/help.aspx",
            "1.2.3.6",
        ));
        tb.observe(&web(
            "iis.log",
            4,
            400,
            "/aspnet_client/nothelp.aspx",
            "9.9.9.9",
        ));
        tb.observe(&web("catalina.log", 7, 50, "/Nova.jsp", "5.5.5.5"));
        tb.observe(&web("x.log", 8, 60, "/x.php", "6.6.6.6"));
        let n = tb.attach(&mut findings);
        assert_eq!(n, 2);
        let ips: Vec<_> = findings[0]
            .related
            .iter()
            .map(|r| r.client_ip.clone().unwrap())
            .collect();
        assert_eq!(
            ips,
            vec!["1.2.3.5", "1.2.3.6"],
            "earliest two kept, in time order"
        );
        assert!(
            findings[1].related.is_empty(),
            "exact match on the other file wins"
        );
        let r = &findings[2].related[0];
        assert_eq!(r.client_ip.as_deref(), Some("5.5.5.5"));
        assert_eq!(r.method.as_deref(), Some("POST"));
        assert_eq!(r.status.as_deref(), Some("200"));
        assert_eq!(r.uri.as_deref(), Some("/Nova.jsp"));
        assert_eq!(r.source.position, Position::Line(7));
        assert!(findings[3].related.is_empty());
        let e = &tb.entries()[0];
        assert_eq!((e.kept, e.total), (2, 3));
    }

    #[test]
    fn suffix_matches_both_ways_and_merge() {
        let mut findings = vec![file_finding("/img/wwwroot/up/a.aspx")];
        // Web root given above the document root.
        let tb0 = TieBack::from_findings(&findings, &[PathBuf::from("/img")], 10);
        let mut t1 = tb0.clone();
        let mut t2 = tb0.clone();
        t1.observe(&web("a.log", 1, 10, "/up/a.aspx", "1.1.1.1"));
        let mut full = web("b.log", 1, 5, "-", "2.2.2.2");
        full.fields.retain(|(k, _)| &**k != "cs-uri-stem");
        full.push("cs-uri", "/vdir/wwwroot/up/a.aspx?cmd=whoami");
        t2.observe(&full);
        t2.observe(&web("b.log", 2, 6, "/a.aspx.bak", "3.3.3.3"));
        let mut merged = tb0;
        merged.merge(t1);
        merged.merge(t2);
        merged.attach(&mut findings);
        let uris: Vec<_> = findings[0]
            .related
            .iter()
            .map(|r| r.uri.clone().unwrap())
            .collect();
        assert_eq!(
            uris,
            vec!["/vdir/wwwroot/up/a.aspx?cmd=whoami", "/up/a.aspx"]
        );
    }

    proptest::proptest! {
        #[test]
        fn hostile_uris_never_panic_and_normalise_idempotently(uri in "\\PC{0,200}") {
            let once = normalise_path(&uri);
            proptest::prop_assert!(once.starts_with('/'));
            proptest::prop_assert!(!once.contains("//"));
            // Decoding percent-escapes twice may change the text, so compare on escape-free input.
            if !uri.contains('%') {
                proptest::prop_assert_eq!(normalise_path(&once), once.clone());
            }
            let mut tb = TieBack::new(3);
            tb.add("f", &uri);
            tb.observe(&web("l", 1, 1, &uri, "1.1.1.1"));
            let _ = crate::url_path(std::path::Path::new("/r"), std::path::Path::new(&uri));
            let _ = crate::tomcat_url_path(std::path::Path::new(&uri));
        }
    }

    #[test]
    fn stateful_side_equals_the_index_whatever_the_split() {
        let root = PathBuf::from("/var/www");
        let findings = vec![
            file_finding("/var/www/up/s.php"),
            file_finding("/var/www/a.php"),
        ];
        let events: Vec<Event> = (0..30)
            .map(|i| {
                let stem = if i % 3 == 0 {
                    "/up/s.php"
                } else {
                    "/index.html"
                };
                web(
                    &format!("access{}.log", i % 2),
                    i as u64 + 1,
                    1_700_000_000 + (29 - i) * 60,
                    stem,
                    "203.0.113.66",
                )
            })
            .collect();
        // The plain index fed in one pass.
        let mut tb = TieBack::from_findings(&findings, std::slice::from_ref(&root), 4);
        for e in &events {
            tb.observe(e);
        }
        let mut want = findings.clone();
        tb.attach(&mut want);
        // The detector fed in two units, in reverse order.
        let d = WebShellRequests::new(findings, &[root], 4);
        let (mut a, mut b) = (d.start(), d.start());
        for e in events.iter().rev() {
            if e.origin.path.ends_with("0.log") {
                d.observe(&mut a, e, &[]);
            } else {
                d.observe(&mut b, e, &[]);
            }
        }
        d.merge(&mut b, a);
        let out = d.finish(b);
        assert_eq!(out.findings[0].related.len(), 4);
        assert_eq!(out.findings[0].related, want[0].related);
        assert!(out.findings[1].related.is_empty());
        assert_eq!(
            out.notes,
            vec!["web shell /var/www/up/s.php: 10 requests, the first 4 attached"]
        );
    }
}
