//! IP addresses and networks as indicators see them: an address matches as an address (never as a
//! substring), a network by prefix, whatever the field's decoration.
//!
//! Field values are read loosely, because logs decorate addresses: `10.0.0.1:443` and
//! `[2001:db8::1]:80` are read as the address before the port, an IPv6 zone (`fe80::1%eth0`) is
//! dropped, and an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is read as the IPv4 address. A
//! value with a prefix length (`10.0.0.0/8`) is a network. Anything else is not an address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 or IPv6 network: an address with a prefix length; a single address has the full length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Net {
    /// IPv4 network, host bits cleared.
    V4(u32, u8),
    /// IPv6 network, host bits cleared.
    V6(u128, u8),
}

fn mask4(addr: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        addr & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

fn mask6(addr: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        addr & (u128::MAX << (128 - u32::from(len.min(128))))
    }
}

impl Net {
    /// A network from an address and prefix length (host bits are cleared); `None` when the
    /// length is too long for the family.
    pub(crate) fn new(addr: IpAddr, len: u8) -> Option<Net> {
        match addr {
            IpAddr::V4(a) if len <= 32 => Some(Net::V4(mask4(u32::from(a), len), len)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) if len >= 96 => Some(Net::V4(mask4(u32::from(v4), len - 96), len - 96)),
                _ if len <= 128 => Some(Net::V6(mask6(u128::from(a), len), len)),
                _ => None,
            },
            IpAddr::V4(_) => None,
        }
    }

    /// A single address.
    pub(crate) fn host(addr: IpAddr) -> Net {
        match addr {
            IpAddr::V4(a) => Net::V4(u32::from(a), 32),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Net::V4(u32::from(v4), 32),
                None => Net::V6(u128::from(a), 128),
            },
        }
    }

    /// Whether every address of `self` lies in `other` (same family only).
    pub(crate) fn is_subset_of(&self, other: &Net) -> bool {
        match (*self, *other) {
            (Net::V4(a, la), Net::V4(b, lb)) => la >= lb && mask4(a, lb) == b,
            (Net::V6(a, la), Net::V6(b, lb)) => la >= lb && mask6(a, lb) == b,
            _ => false,
        }
    }

    /// The network of the first `len` bits of this one (`len` no longer than its own).
    pub(crate) fn truncate(&self, len: u8) -> Net {
        match *self {
            Net::V4(a, l) => Net::V4(mask4(a, len.min(l)), len.min(l)),
            Net::V6(a, l) => Net::V6(mask6(a, len.min(l)), len.min(l)),
        }
    }
}

/// Reads an indicator: an address or a network in CIDR notation, strictly (no ports).
pub(crate) fn parse_strict(text: &str) -> Option<Net> {
    let text = text.trim();
    match text.split_once('/') {
        Some((addr, len)) => {
            let addr: IpAddr = addr.parse().ok()?;
            if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let len: u8 = len.parse().ok()?;
            Net::new(addr, len)
        }
        None => text.parse::<IpAddr>().ok().map(Net::host),
    }
}

/// Reads a field value loosely (see the module docs).
pub(crate) fn parse_loose(text: &str) -> Option<Net> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    if let Some(net) = parse_strict(text) {
        return Some(net);
    }
    // `[v6]:port` or `[v6]`
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || is_port_suffix(after)) {
            return None;
        }
        return strip_zone(inside)
            .parse::<Ipv6Addr>()
            .ok()
            .map(|a| Net::host(IpAddr::V6(a)));
    }
    // `v4:port`
    if let Some((addr, port)) = text.rsplit_once(':') {
        if is_port_suffix(&text[addr.len()..]) && !port.is_empty() {
            if let Ok(a) = addr.parse::<Ipv4Addr>() {
                return Some(Net::host(IpAddr::V4(a)));
            }
        }
    }
    // zone id
    if text.contains('%') {
        return strip_zone(text)
            .parse::<Ipv6Addr>()
            .ok()
            .map(|a| Net::host(IpAddr::V6(a)));
    }
    None
}

fn strip_zone(text: &str) -> &str {
    text.split_once('%').map_or(text, |(a, _)| a)
}

fn is_port_suffix(s: &str) -> bool {
    match s.strip_prefix(':') {
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Net {
        parse_strict(s).unwrap()
    }

    #[test]
    fn addresses_are_not_substrings() {
        assert_ne!(parse_loose("45.61.136.121"), Some(v4("45.61.136.12")));
        assert_eq!(parse_loose("45.61.136.12"), Some(v4("45.61.136.12")));
    }

    #[test]
    fn loose_forms() {
        assert_eq!(parse_loose("10.0.0.1:443"), Some(v4("10.0.0.1")));
        assert_eq!(parse_loose("[::1]:80"), Some(v4("::1")));
        assert_eq!(parse_loose("[2001:db8::1]"), Some(v4("2001:db8::1")));
        assert_eq!(parse_loose("fe80::1%eth0"), Some(v4("fe80::1")));
        assert_eq!(parse_loose("::ffff:10.0.0.1"), Some(v4("10.0.0.1")));
        assert_eq!(parse_loose("10.0.0.1:"), None);
        assert_eq!(parse_loose("10.0.0.1:99999999"), None);
        assert_eq!(parse_loose("not an ip"), None);
        assert_eq!(parse_loose("10.0.0.1.evil.com"), None);
    }

    #[test]
    fn prefixes() {
        let net = v4("198.51.100.0/24");
        assert!(v4("198.51.100.77").is_subset_of(&net));
        assert!(!v4("198.51.101.77").is_subset_of(&net));
        assert!(!net.is_subset_of(&v4("198.51.100.77")));
        assert_eq!(v4("198.51.100.9/24"), net, "host bits are cleared");
        let net6 = v4("2001:db8::/32");
        assert!(v4("2001:db8:dead::1").is_subset_of(&net6));
        assert!(!v4("2001:db9::1").is_subset_of(&net6));
        assert!(!v4("10.0.0.1").is_subset_of(&net6));
        assert_eq!(parse_strict("10.0.0.0/33"), None);
        assert_eq!(parse_strict("10.0.0.0/"), None);
        assert_eq!(v4("10.1.2.3").truncate(8), v4("10.0.0.0/8"));
    }
}
