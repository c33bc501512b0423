//! Sigma value modifiers (`field|contains|all`), parsed from their names.

use std::fmt;

/// One value modifier of Sigma 2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    /// `re` sub-modifier `i`.
    ReI,
    /// `re` sub-modifier `m`.
    ReM,
    /// `re` sub-modifier `s`.
    ReS,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Wide,
    Lt,
    Lte,
    Gt,
    Gte,
    Cidr,
    Expand,
    FieldRef,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Modifier {
    /// Parses a modifier name; `after_re` allows the `i`, `m` and `s` sub-modifiers.
    pub fn parse(name: &str, after_re: bool) -> Option<Modifier> {
        use Modifier::*;
        Some(match name {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "exists" => Exists,
            "cased" => Cased,
            "neq" => Neq,
            "windash" => Windash,
            "re" => Re,
            "i" if after_re => ReI,
            "m" if after_re => ReM,
            "s" if after_re => ReS,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "utf16le" => Utf16Le,
            "utf16be" => Utf16Be,
            "utf16" => Utf16,
            "wide" => Wide,
            "lt" => Lt,
            "lte" => Lte,
            "gt" => Gt,
            "gte" => Gte,
            "cidr" => Cidr,
            "expand" => Expand,
            "fieldref" => FieldRef,
            "minute" => Minute,
            "hour" => Hour,
            "day" => Day,
            "week" => Week,
            "month" => Month,
            "year" => Year,
            _ => return None,
        })
    }

    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        use Modifier::*;
        match self {
            Contains => "contains",
            StartsWith => "startswith",
            EndsWith => "endswith",
            All => "all",
            Exists => "exists",
            Cased => "cased",
            Neq => "neq",
            Windash => "windash",
            Re => "re",
            ReI => "i",
            ReM => "m",
            ReS => "s",
            Base64 => "base64",
            Base64Offset => "base64offset",
            Utf16Le => "utf16le",
            Utf16Be => "utf16be",
            Utf16 => "utf16",
            Wide => "wide",
            Lt => "lt",
            Lte => "lte",
            Gt => "gt",
            Gte => "gte",
            Cidr => "cidr",
            Expand => "expand",
            FieldRef => "fieldref",
            Minute => "minute",
            Hour => "hour",
            Day => "day",
            Week => "week",
            Month => "month",
            Year => "year",
        }
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Splits `Field|mod1|mod2` into the field name and its modifiers.
pub fn split_key(key: &str) -> Result<(Option<String>, Vec<Modifier>), String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default().trim();
    let mut mods = Vec::new();
    let mut after_re = false;
    for name in parts {
        let name = name.trim();
        let lower = name.to_ascii_lowercase();
        match Modifier::parse(&lower, after_re) {
            Some(m) => {
                if m == Modifier::Re {
                    after_re = true;
                }
                mods.push(m);
            }
            None => return Err(format!("unknown modifier '{name}'")),
        }
    }
    let field = (!field.is_empty()).then(|| field.to_string());
    Ok((field, mods))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keys() {
        let (f, m) = split_key("CommandLine|contains|all").unwrap();
        assert_eq!(f.as_deref(), Some("CommandLine"));
        assert_eq!(m, vec![Modifier::Contains, Modifier::All]);
        let (f, m) = split_key("|all").unwrap();
        assert_eq!(f, None);
        assert_eq!(m, vec![Modifier::All]);
        assert_eq!(
            split_key("x|re|i|m").unwrap().1,
            vec![Modifier::Re, Modifier::ReI, Modifier::ReM]
        );
        assert!(split_key("x|i").is_err());
        assert!(split_key("x|containz").is_err());
    }
}
