//! The table from STIX object paths to event fields, kept as data (`mapping.yml`) so that adding
//! a reader's field names is an edit to a table, not to code. Parsed once per indicator set.

use rustc_hash::FxHashMap;
use yaml_rust2::{Yaml, YamlLoader};

/// The embedded table.
const MAPPING_YML: &str = include_str!("mapping.yml");

/// How values of a path compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// Addresses and networks.
    Ip,
    /// DNS names: case-insensitive, trailing dot and port ignored.
    Domain,
    /// URLs: exact in STIX, substring (case-insensitive) in plain lists.
    Url,
    /// Hex digests: case-insensitive.
    Hash,
    /// File base names: case-insensitive.
    FileName,
    /// E-mail addresses: case-insensitive.
    Email,
    /// Anything else: exact.
    Text,
    /// Integers (ports, ids).
    Number,
}

impl ValueKind {
    fn parse(s: &str) -> Option<ValueKind> {
        Some(match s {
            "ip" => ValueKind::Ip,
            "domain" => ValueKind::Domain,
            "url" => ValueKind::Url,
            "hash" => ValueKind::Hash,
            "filename" => ValueKind::FileName,
            "email" => ValueKind::Email,
            "text" => ValueKind::Text,
            "number" => ValueKind::Number,
            _ => return None,
        })
    }

    /// Whether text of this kind compares without case.
    pub(crate) fn caseless(self) -> bool {
        matches!(
            self,
            ValueKind::Domain | ValueKind::Hash | ValueKind::FileName | ValueKind::Email
        )
    }
}

/// How a field's value is turned into the path's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    /// As it is.
    Whole,
    /// Last component of a path.
    Basename,
    /// One algorithm's entry of a `MD5=..,SHA256=..` list.
    Hashes(HashAlgo),
    /// Host of a URL or `host:port`.
    Host,
}

/// Digest algorithms found in Sysmon-style hash lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlgo {
    /// MD5 (32 hex digits).
    Md5,
    /// SHA-1 (40).
    Sha1,
    /// SHA-256 (64).
    Sha256,
}

impl HashAlgo {
    fn parse(s: &str) -> Option<HashAlgo> {
        match s {
            "MD5" => Some(HashAlgo::Md5),
            "SHA1" => Some(HashAlgo::Sha1),
            "SHA256" => Some(HashAlgo::Sha256),
            _ => None,
        }
    }

    /// The name used in hash lists.
    pub(crate) fn label(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "MD5",
            HashAlgo::Sha1 => "SHA1",
            HashAlgo::Sha256 => "SHA256",
        }
    }

    /// Digest length in hex digits.
    pub(crate) fn hex_len(self) -> usize {
        match self {
            HashAlgo::Md5 => 32,
            HashAlgo::Sha1 => 40,
            HashAlgo::Sha256 => 64,
        }
    }
}

/// Index of a path in [`Mapping::slots`].
pub(crate) type SlotId = u16;

/// One mapped object path.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// How its values compare.
    pub(crate) kind: ValueKind,
}

/// The parsed table.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    /// Paths, in table order.
    pub(crate) slots: Vec<Slot>,
    by_path: FxHashMap<String, SlotId>,
    /// Field name -> the paths it feeds and how.
    pub(crate) by_field: FxHashMap<Box<str>, Vec<(SlotId, Transform)>>,
}

impl Mapping {
    /// The embedded table. It is part of the program: a fault in it is a bug, caught by the
    /// tests, and reported as an error rather than a panic.
    pub(crate) fn builtin() -> Result<Mapping, String> {
        Mapping::parse(MAPPING_YML)
    }

    /// Parses a mapping table.
    pub(crate) fn parse(text: &str) -> Result<Mapping, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("mapping table: {e}"))?;
        let Some(Yaml::Hash(top)) = docs.first() else {
            return Err("mapping table: not a mapping".into());
        };
        let mut map = Mapping {
            slots: Vec::new(),
            by_path: FxHashMap::default(),
            by_field: FxHashMap::default(),
        };
        for (key, entry) in top {
            let path = key.as_str().ok_or("mapping table: a key is not text")?;
            let kind = entry["kind"]
                .as_str()
                .and_then(ValueKind::parse)
                .ok_or_else(|| format!("mapping table: {path}: bad or missing kind"))?;
            let fields = entry["fields"]
                .as_vec()
                .ok_or_else(|| format!("mapping table: {path}: no fields"))?;
            let id = SlotId::try_from(map.slots.len())
                .map_err(|_| "mapping table: too many paths".to_string())?;
            map.slots.push(Slot { kind });
            map.by_path.insert(path.to_string(), id);
            for field in fields {
                let spec = field
                    .as_str()
                    .ok_or_else(|| format!("mapping table: {path}: a field is not text"))?;
                let (name, transform) = parse_field(spec)
                    .ok_or_else(|| format!("mapping table: {path}: bad field '{spec}'"))?;
                let roles = map.by_field.entry(name.into()).or_default();
                if !roles.contains(&(id, transform)) {
                    roles.push((id, transform));
                }
            }
        }
        Ok(map)
    }

    /// The slot of a canonical path.
    pub(crate) fn slot(&self, path: &str) -> Option<SlotId> {
        self.by_path.get(path).copied()
    }

    /// The slot's description; `None` for an id not from this table.
    pub(crate) fn get(&self, id: SlotId) -> Option<&Slot> {
        self.slots.get(usize::from(id))
    }
}

fn parse_field(spec: &str) -> Option<(&str, Transform)> {
    let (name, transform) = match spec.split_once('|') {
        None => (spec, Transform::Whole),
        Some((name, "basename")) => (name, Transform::Basename),
        Some((name, "host")) => (name, Transform::Host),
        Some((name, t)) => (
            name,
            Transform::Hashes(HashAlgo::parse(t.strip_prefix("hashes=")?)?),
        ),
    };
    (!name.is_empty()).then_some((name, transform))
}

/// Applies a transform to a field's text; `None` when the field holds no such value.
pub(crate) fn apply(transform: Transform, text: &str) -> Option<&str> {
    let out = match transform {
        Transform::Whole => text.trim(),
        Transform::Basename => {
            let t = text.trim();
            t.rsplit(['/', '\\']).next().unwrap_or(t)
        }
        Transform::Hashes(algo) => hash_entry(text, algo)?,
        Transform::Host => url_host(text)?,
    };
    (!out.is_empty()).then_some(out)
}

fn hash_entry(text: &str, algo: HashAlgo) -> Option<&str> {
    let text = text.trim();
    let is_digest = |s: &str| s.len() == algo.hex_len() && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_digest(text) {
        return Some(text);
    }
    text.split([',', ';', ' '])
        .filter_map(|part| part.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case(algo.label()))
        .map(|(_, v)| v.trim())
        .filter(|v| is_digest(v))
}

/// The host of `scheme://user@host:port/path`, of `host:port`, or of a bare host.
pub(crate) fn url_host(text: &str) -> Option<&str> {
    let t = text.trim();
    let rest = match t.find("://") {
        Some(i) => t.get(i + 3..)?,
        None => t,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(inner) = host_port.strip_prefix('[') {
        return inner.split_once(']').map(|(h, _)| h);
    }
    let host = host_port.split_once(':').map_or(host_port, |(h, _)| h);
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_shares_fields() {
        let m = Mapping::builtin().unwrap();
        let v4 = m.slot("ipv4-addr:value").unwrap();
        let v6 = m.slot("ipv6-addr:value").unwrap();
        let roles = &m.by_field["c-ip"];
        assert!(roles.contains(&(v4, Transform::Whole)));
        assert!(roles.contains(&(v6, Transform::Whole)));
        let md5 = m.slot("file:hashes.md5").unwrap();
        assert!(m.by_field["Hashes"].contains(&(md5, Transform::Hashes(HashAlgo::Md5))));
        let name = m.slot("file:name").unwrap();
        assert!(m.by_field["Image"].contains(&(name, Transform::Basename)));
        assert_eq!(m.get(name).unwrap().kind, ValueKind::FileName);
        let user = m.slot("user-account:account_login").unwrap();
        assert!(m.by_field["TargetUserName"].contains(&(user, Transform::Whole)));
    }

    /// The fields every reader of spoor produces for each path (from the indicator issue).
    #[test]
    fn reader_fields_are_mapped() {
        let m = Mapping::builtin().unwrap();
        let expect = [
            (
                "ipv4-addr:value",
                &[
                    "c-ip",
                    "s-ip",
                    "source.ip",
                    "destination.ip",
                    "client.ip",
                    "SourceIp",
                    "DestinationIp",
                    "IpAddress",
                    "SourceAddress",
                    "DestAddress",
                    "ClientIP",
                    "src_ip",
                    "dst_ip",
                ][..],
            ),
            (
                "ipv6-addr:value",
                &["c-ip", "SourceIp", "IpAddress", "destination.ip"][..],
            ),
            (
                "domain-name:value",
                &[
                    "QueryName",
                    "cs-host",
                    "dns.question.name",
                    "url.domain",
                    "DestinationHostname",
                    "Hostname",
                ][..],
            ),
            ("url:value", &["cs-uri", "url.full", "cs-referer"][..]),
            ("file:name", &["TargetFilename", "Image", "file.name"][..]),
            (
                "file:hashes.md5",
                &["Hashes", "hash.md5", "file.hash.md5", "md5"][..],
            ),
            (
                "file:hashes.sha-1",
                &["Hashes", "file.hash.sha1", "sha1"][..],
            ),
            (
                "file:hashes.sha-256",
                &["Hashes", "file.hash.sha256", "sha256"][..],
            ),
            ("process:command_line", &["CommandLine"][..]),
            (
                "user-account:user_id",
                &[
                    "User",
                    "TargetUserName",
                    "SubjectUserName",
                    "user.name",
                    "cs-username",
                ][..],
            ),
            (
                "user-account:account_login",
                &["User", "TargetUserName"][..],
            ),
            (
                "network-traffic:dst_port",
                &["DestinationPort", "destination.port", "s-port"][..],
            ),
            (
                "network-traffic:src_port",
                &["SourcePort", "source.port"][..],
            ),
        ];
        for (path, fields) in expect {
            let slot = m.slot(path).unwrap_or_else(|| panic!("{path} not mapped"));
            for f in fields {
                let roles = m
                    .by_field
                    .get(*f)
                    .unwrap_or_else(|| panic!("{f} not mapped"));
                assert!(
                    roles.iter().any(|(s, _)| *s == slot),
                    "{f} does not feed {path}"
                );
            }
        }
    }

    #[test]
    fn bad_tables_are_errors() {
        assert!(Mapping::parse("a:b: {kind: nope, fields: [x]}").is_err());
        assert!(Mapping::parse("a:b: {kind: ip}").is_err());
        assert!(Mapping::parse("a:b: {kind: ip, fields: ['x|hashes=CRC']}").is_err());
        assert!(Mapping::parse("- 1").is_err());
    }

    #[test]
    fn transforms() {
        assert_eq!(
            apply(Transform::Basename, r"C:\Windows\System32\cmd.exe"),
            Some("cmd.exe")
        );
        assert_eq!(apply(Transform::Basename, "/tmp/x.sh"), Some("x.sh"));
        assert_eq!(apply(Transform::Basename, "C:\\dir\\"), None);
        let sysmon = "SHA1=AA,MD5=26A5A7E71A601BE991073C78D513DEE3,SHA256=BB,IMPHASH=CC";
        assert_eq!(
            apply(Transform::Hashes(HashAlgo::Md5), sysmon),
            Some("26A5A7E71A601BE991073C78D513DEE3")
        );
        assert_eq!(
            apply(Transform::Hashes(HashAlgo::Sha1), sysmon),
            None,
            "not a digest"
        );
        assert_eq!(
            apply(
                Transform::Hashes(HashAlgo::Md5),
                "26a5a7e71a601be991073c78d513dee3"
            ),
            Some("26a5a7e71a601be991073c78d513dee3")
        );
        assert_eq!(
            apply(Transform::Host, "https://u@Cdn.Example.net:8443/a?b"),
            Some("Cdn.Example.net")
        );
        assert_eq!(
            apply(Transform::Host, "cdn.example.net:80"),
            Some("cdn.example.net")
        );
        assert_eq!(
            apply(Transform::Host, "http://[2001:db8::1]:80/"),
            Some("2001:db8::1")
        );
    }
}
