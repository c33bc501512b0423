//! Indicators -> the query that selects the rows an indicator set may match, as set membership
//! in the server: `multiSearchAnyCaseInsensitiveUTF8` over the mapped fields' texts for every
//! needle (addresses, domains, URLs, hashes, file names, e-mail, STIX `=`/`IN` values), and
//! `isIPAddressInRange` for networks, only on texts that are valid IPv4/IPv6 addresses
//! (`toIPv4OrNull`/`toIPv6OrNull` guard it, since it throws on `-`). The rows come back and
//! spoor's own indicator matcher decides on them, so the server's test only has to be a
//! superset of the local one: it never misses a match and never needs spoor's normalising rules.
//! The caller passes plain data (`spoor_ioc::Prefilter`'s fields), so this crate does not depend
//! on spoor-ioc.

use crate::convert::{lit, TimeRange};

/// Needles per `multiSearchAny*` call (ClickHouse takes at most 255).
const NEEDLES_PER_CALL: usize = 200;

/// What to look for, and where.
#[derive(Debug, Clone, Copy)]
pub struct IocTerms<'a> {
    /// Every field an indicator reads.
    pub fields: &'a [String],
    /// The fields that hold addresses.
    pub ip_fields: &'a [String],
    /// Lower-case texts one of which a matching value contains.
    pub needles: &'a [String],
    /// Networks (`10.0.0.0/8`, `fd00::/8`) one of which a matching address lies in.
    pub networks: &'a [String],
}

fn texts_of(fields: &[String], sep: &str) -> String {
    if fields.is_empty() {
        return "''".into();
    }
    let arrays: Vec<String> = fields
        .iter()
        .map(|f| format!("fields[{}]", lit(f)))
        .collect();
    format!(
        "arrayStringConcat(arrayConcat({}), {})",
        arrays.join(", "),
        lit(sep)
    )
}

/// The network test on the addresses found in `text`: dotted quads for IPv4 networks, colon
/// forms for IPv6 ones and for IPv4 networks as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
fn network_terms(networks: &[String]) -> Vec<String> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for n in networks {
        match n.parse::<ipnet::IpNet>() {
            Ok(ipnet::IpNet::V4(net)) => {
                v4.push(lit(&net.to_string()));
                v6.push(lit(&format!(
                    "::ffff:{}/{}",
                    net.network(),
                    96 + u32::from(net.prefix_len())
                )));
            }
            Ok(ipnet::IpNet::V6(net)) => v6.push(lit(&net.to_string())),
            Err(_) => {}
        }
    }
    let mut terms = Vec::new();
    if !v4.is_empty() {
        terms.push(format!(
            "arrayExists(a -> isNotNull(toIPv4OrNull(a)) AND arrayExists(n -> \
             isIPAddressInRange(if(isNotNull(toIPv4OrNull(a)), a, '0.0.0.0'), n), [{}]), \
             extractAll(ioc_ips, '[0-9]{{1,3}}\\\\.[0-9]{{1,3}}\\\\.[0-9]{{1,3}}\\\\.[0-9]{{1,3}}'))",
            v4.join(", ")
        ));
    }
    if !v6.is_empty() {
        terms.push(format!(
            "arrayExists(a -> isNotNull(toIPv6OrNull(a)) AND arrayExists(n -> \
             isIPAddressInRange(if(isNotNull(toIPv6OrNull(a)), a, '::'), n), [{}]), \
             extractAll(ioc_ips, '[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*'))",
            v6.join(", ")
        ));
    }
    terms
}

/// The query (`FORMAT JSONEachRow`, the rule queries' row shape with empty `hits`) selecting the
/// rows that may match, or `None` when nothing could match.
pub fn ioc_query(database: &str, table: &str, terms: IocTerms, range: TimeRange) -> Option<String> {
    let mut tests: Vec<String> = terms
        .needles
        .chunks(NEEDLES_PER_CALL)
        .map(|ch| {
            let items: Vec<String> = ch.iter().map(|n| lit(n)).collect();
            format!(
                "multiSearchAnyCaseInsensitiveUTF8(ioc_text, [{}])",
                items.join(", ")
            )
        })
        .collect();
    tests.extend(network_terms(terms.networks));
    if tests.is_empty() || terms.fields.is_empty() {
        return None;
    }
    let time = range
        .on_time_column("time")
        .map(|c| format!("{c} AND "))
        .unwrap_or_default();
    Some(format!(
        "WITH {} AS ioc_text, {} AS ioc_ips\n\
         SELECT path, pos_kind, pos, product, category, service, raw, event, CAST([], 'Array(UInt32)') AS hits\n\
         FROM {database}.{table} FINAL\n\
         WHERE {time}({})\n\
         FORMAT JSONEachRow",
        texts_of(terms.fields, "\n"),
        texts_of(terms.ip_fields, " "),
        tests.join("\n  OR ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_in_chunks_and_networks_guarded() {
        let needles: Vec<String> = (0..450).map(|i| format!("n{i}.example")).collect();
        let q = ioc_query(
            "db",
            "ev",
            IocTerms {
                fields: &["c-ip".into(), "cs-host".into()],
                ip_fields: &["c-ip".into()],
                needles: &needles,
                networks: &["10.0.0.0/8".into(), "fd00::/8".into(), "junk".into()],
            },
            TimeRange::default(),
        )
        .unwrap();
        assert_eq!(
            q.matches("multiSearchAnyCaseInsensitiveUTF8(").count(),
            3,
            "{q}"
        );
        assert!(q.contains("'::ffff:10.0.0.0/104'"), "{q}");
        assert!(q.contains("isIPAddressInRange(if(isNotNull(toIPv4OrNull(a)), a, '0.0.0.0'), n)"));
        assert!(!q.contains("junk"));
        assert!(ioc_query(
            "db",
            "ev",
            IocTerms {
                fields: &["a".into()],
                ip_fields: &[],
                needles: &[],
                networks: &[]
            },
            TimeRange::default()
        )
        .is_none());
    }
}
