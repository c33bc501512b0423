//! Recursive-descent parser for STIX patterns. Operator precedence, tightest first: comparison
//! `AND`, comparison `OR`; observation `AND`, `OR`, `FOLLOWEDBY`; qualifiers bind to the
//! observation expression before them. Parentheses may nest [`MAX_DEPTH`] deep.

use super::ast::{
    CompOp, CompareExpr, Comparison, Literal, ObjectPath, ObsExpr, PathPart, Pattern,
};
use super::lexer::{tokenize, Tok, Token};
use super::PatternError;

/// How deep parentheses and brackets may nest.
pub(crate) const MAX_DEPTH: usize = 32;
/// How many qualifiers one observation expression may carry.
const MAX_QUALIFIERS: usize = 4;
/// Longest pattern accepted, in bytes.
pub(crate) const MAX_PATTERN_LEN: usize = 64 * 1024;

/// Parses a pattern.
pub(crate) fn parse(text: &str) -> Result<Pattern, PatternError> {
    if text.len() > MAX_PATTERN_LEN {
        return Err(PatternError {
            offset: 0,
            message: format!("pattern longer than {MAX_PATTERN_LEN} bytes"),
        });
    }
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        observations: Vec::new(),
    };
    let root = p.followed_by(0)?;
    p.expect(&Tok::Eof, "end of pattern")?;
    Ok(Pattern {
        root,
        observations: p.observations,
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    observations: Vec<CompareExpr>,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Colon => "':'".into(),
        Tok::Dot => "'.'".into(),
        Tok::Comma => "','".into(),
        Tok::Star => "'*'".into(),
        Tok::Eq => "'='".into(),
        Tok::Ne => "'!='".into(),
        Tok::Lt => "'<'".into(),
        Tok::Le => "'<='".into(),
        Tok::Gt => "'>'".into(),
        Tok::Ge => "'>='".into(),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Keyword(k) => (*k).to_string(),
        Tok::Str(_) => "a string".into(),
        Tok::Int(_) | Tok::Float(_) => "a number".into(),
        Tok::Time(_) => "a timestamp".into(),
        Tok::Bytes(_) => "a binary literal".into(),
        Tok::Eof => "end of pattern".into(),
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.kind)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.tokens
            .get(self.pos + ahead)
            .map_or(&Tok::Eof, |t| &t.kind)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(0, |t| t.offset)
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn error<T>(&self, expected: &str) -> Result<T, PatternError> {
        Err(PatternError {
            offset: self.offset(),
            message: format!("expected {expected}, found {}", describe(self.peek())),
        })
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), PatternError> {
        if self.peek() == t {
            self.bump();
            Ok(())
        } else {
            self.error(what)
        }
    }

    fn keyword(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Tok::Keyword(w) if *w == k) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn too_deep<T>(&self) -> Result<T, PatternError> {
        Err(PatternError {
            offset: self.offset(),
            message: format!("nested more than {MAX_DEPTH} levels"),
        })
    }

    fn followed_by(&mut self, depth: usize) -> Result<ObsExpr, PatternError> {
        let mut items = vec![self.obs_or(depth)?];
        while self.keyword("FOLLOWEDBY") {
            items.push(self.obs_or(depth)?);
        }
        Ok(flat(items, ObsExpr::FollowedBy))
    }

    fn obs_or(&mut self, depth: usize) -> Result<ObsExpr, PatternError> {
        let mut items = vec![self.obs_and(depth)?];
        while self.keyword("OR") {
            items.push(self.obs_and(depth)?);
        }
        Ok(flat(items, ObsExpr::Or))
    }

    fn obs_and(&mut self, depth: usize) -> Result<ObsExpr, PatternError> {
        let mut items = vec![self.obs_qualified(depth)?];
        while self.keyword("AND") {
            items.push(self.obs_qualified(depth)?);
        }
        Ok(flat(items, ObsExpr::And))
    }

    fn obs_qualified(&mut self, depth: usize) -> Result<ObsExpr, PatternError> {
        let mut expr = self.obs_primary(depth)?;
        let mut count = 0;
        loop {
            let at = self.offset();
            if self.keyword("WITHIN") {
                let secs = match self.bump() {
                    Tok::Int(n) if n > 0 => n as f64,
                    Tok::Float(f) if f > 0.0 && f.is_finite() => f,
                    _ => {
                        self.pos -= 1;
                        return self.error("a positive number of seconds after WITHIN");
                    }
                };
                if !self.keyword("SECONDS") {
                    return self.error("SECONDS");
                }
                expr = ObsExpr::Within(Box::new(expr), secs);
            } else if self.keyword("REPEATS") {
                let n = match self.bump() {
                    Tok::Int(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
                    _ => {
                        self.pos -= 1;
                        return self.error("a positive integer after REPEATS");
                    }
                };
                if !self.keyword("TIMES") {
                    return self.error("TIMES");
                }
                expr = ObsExpr::Repeats(Box::new(expr), n);
            } else if self.keyword("START") {
                let Tok::Time(start) = self.bump() else {
                    self.pos -= 1;
                    return self.error("a timestamp t'...' after START");
                };
                if !self.keyword("STOP") {
                    return self.error("STOP");
                }
                let Tok::Time(stop) = self.bump() else {
                    self.pos -= 1;
                    return self.error("a timestamp t'...' after STOP");
                };
                if stop <= start {
                    return Err(PatternError {
                        offset: at,
                        message: "STOP must be later than START".into(),
                    });
                }
                expr = ObsExpr::StartStop(Box::new(expr), start, stop);
            } else {
                return Ok(expr);
            }
            count += 1;
            if count > MAX_QUALIFIERS {
                return Err(PatternError {
                    offset: at,
                    message: format!("more than {MAX_QUALIFIERS} qualifiers in a row"),
                });
            }
        }
    }

    fn obs_primary(&mut self, depth: usize) -> Result<ObsExpr, PatternError> {
        if depth >= MAX_DEPTH {
            return self.too_deep();
        }
        match self.peek() {
            Tok::LBracket => {
                self.bump();
                let expr = self.comp_or(depth + 1)?;
                self.expect(&Tok::RBracket, "']' or a comparison operator (AND, OR)")?;
                self.observations.push(expr);
                Ok(ObsExpr::Observation(self.observations.len() - 1))
            }
            Tok::LParen => {
                self.bump();
                let expr = self.followed_by(depth + 1)?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(expr)
            }
            _ => self.error("'[' or '('"),
        }
    }

    fn comp_or(&mut self, depth: usize) -> Result<CompareExpr, PatternError> {
        let mut items = vec![self.comp_and(depth)?];
        while self.keyword("OR") {
            items.push(self.comp_and(depth)?);
        }
        Ok(flat(items, CompareExpr::Or))
    }

    fn comp_and(&mut self, depth: usize) -> Result<CompareExpr, PatternError> {
        let mut items = vec![self.comp_test(depth)?];
        while self.keyword("AND") {
            items.push(self.comp_test(depth)?);
        }
        Ok(flat(items, CompareExpr::And))
    }

    fn comp_test(&mut self, depth: usize) -> Result<CompareExpr, PatternError> {
        if depth >= MAX_DEPTH {
            return self.too_deep();
        }
        if *self.peek() == Tok::LParen {
            self.bump();
            let expr = self.comp_or(depth + 1)?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(expr);
        }
        if self.keyword("EXISTS") {
            let path = self.object_path()?;
            return Ok(CompareExpr::Test(Comparison {
                path,
                negated: false,
                op: CompOp::Exists,
                literal: Literal::None,
            }));
        }
        let path = self.object_path()?;
        let negated = self.keyword("NOT");
        let op = match self.peek() {
            Tok::Eq => CompOp::Eq,
            Tok::Ne => CompOp::Ne,
            Tok::Lt => CompOp::Lt,
            Tok::Le => CompOp::Le,
            Tok::Gt => CompOp::Gt,
            Tok::Ge => CompOp::Ge,
            Tok::Keyword("IN") => CompOp::In,
            Tok::Keyword("LIKE") => CompOp::Like,
            Tok::Keyword("MATCHES") => CompOp::Matches,
            Tok::Keyword("ISSUBSET") => CompOp::IsSubset,
            Tok::Keyword("ISSUPERSET") => CompOp::IsSuperset,
            _ => return self.error("a comparison operator"),
        };
        self.bump();
        let literal = match op {
            CompOp::In => self.set_literal()?,
            CompOp::Like | CompOp::Matches | CompOp::IsSubset | CompOp::IsSuperset => {
                match self.bump() {
                    Tok::Str(s) => Literal::Str(s),
                    _ => {
                        self.pos -= 1;
                        return self.error("a string");
                    }
                }
            }
            _ => {
                let lit = self.literal()?;
                let orderable = !matches!(lit, Literal::Bool(_));
                if matches!(op, CompOp::Lt | CompOp::Le | CompOp::Gt | CompOp::Ge) && !orderable {
                    self.pos -= 1;
                    return self.error("an orderable constant (number, string, timestamp)");
                }
                lit
            }
        };
        Ok(CompareExpr::Test(Comparison {
            path,
            negated,
            op,
            literal,
        }))
    }

    fn literal(&mut self) -> Result<Literal, PatternError> {
        Ok(match self.bump() {
            Tok::Str(s) => Literal::Str(s),
            Tok::Int(i) => Literal::Int(i),
            Tok::Float(f) => Literal::Float(f),
            Tok::Time(t) => Literal::Time(t),
            Tok::Bytes(b) => Literal::Bytes(b),
            Tok::Keyword("true") => Literal::Bool(true),
            Tok::Keyword("false") => Literal::Bool(false),
            _ => {
                self.pos -= 1;
                return self.error("a constant");
            }
        })
    }

    fn set_literal(&mut self) -> Result<Literal, PatternError> {
        self.expect(&Tok::LParen, "'(' to open the set after IN")?;
        let mut items = vec![self.literal()?];
        while *self.peek() == Tok::Comma {
            self.bump();
            items.push(self.literal()?);
        }
        self.expect(&Tok::RParen, "',' or ')'")?;
        Ok(Literal::Set(items))
    }

    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let Tok::Ident(object_type) = self.peek().clone() else {
            return self.error("an object path (type:property)");
        };
        self.bump();
        self.expect(&Tok::Colon, "':' after the object type")?;
        let mut parts = vec![match self.bump() {
            Tok::Ident(s) | Tok::Str(s) => PathPart::Prop(s),
            _ => {
                self.pos -= 1;
                return self.error("a property name");
            }
        }];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    match self.bump() {
                        Tok::Ident(s) | Tok::Str(s) => parts.push(PathPart::Prop(s)),
                        _ => {
                            self.pos -= 1;
                            return self.error("a property name after '.'");
                        }
                    }
                }
                Tok::LBracket
                    if matches!(self.peek_at(1), Tok::Int(_) | Tok::Star)
                        && *self.peek_at(2) == Tok::RBracket =>
                {
                    self.bump();
                    let index = match self.bump() {
                        Tok::Int(i) => Some(i),
                        _ => None,
                    };
                    self.bump();
                    parts.push(PathPart::Index(index));
                }
                _ => break,
            }
        }
        Ok(ObjectPath { object_type, parts })
    }
}

fn flat<T>(mut items: Vec<T>, make: impl FnOnce(Vec<T>) -> T) -> T {
    if items.len() == 1 {
        if let Some(one) = items.pop() {
            return one;
        }
    }
    make(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Pattern {
        match parse(s) {
            Ok(p) => p,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn precedence_of_observation_operators() {
        // AND binds tighter than OR, OR tighter than FOLLOWEDBY.
        let p = ok("[a:x = 1] OR [a:x = 2] AND [a:x = 3] FOLLOWEDBY [a:x = 4]");
        assert_eq!(
            p.root,
            ObsExpr::FollowedBy(vec![
                ObsExpr::Or(vec![
                    ObsExpr::Observation(0),
                    ObsExpr::And(vec![ObsExpr::Observation(1), ObsExpr::Observation(2)])
                ]),
                ObsExpr::Observation(3)
            ])
        );
    }

    #[test]
    fn qualifiers_bind_to_the_expression_before() {
        let p = ok("([a:x = 1] FOLLOWEDBY [a:x = 2]) WITHIN 300 SECONDS");
        assert!(
            matches!(p.root, ObsExpr::Within(ref e, s) if s == 300.0 && matches!(**e, ObsExpr::FollowedBy(_)))
        );
        let p = ok("[a:x = 1] REPEATS 5 TIMES WITHIN 1.5 SECONDS");
        assert!(
            matches!(p.root, ObsExpr::Within(ref e, _) if matches!(**e, ObsExpr::Repeats(_, 5)))
        );
        let p = ok("[a:x = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'");
        assert!(matches!(p.root, ObsExpr::StartStop(..)));
    }

    #[test]
    fn comparison_forms() {
        let p = ok("[file:hashes.'SHA-256' = 'ab' AND (a:b NOT IN (1, 2) OR EXISTS a:c[*].d)]");
        let CompareExpr::And(items) = &p.observations[0] else {
            panic!("not AND: {:?}", p.observations[0]);
        };
        let CompareExpr::Test(first) = &items[0] else {
            panic!()
        };
        assert_eq!(first.path.canonical(), "file:hashes.sha-256");
        let CompareExpr::Or(inner) = &items[1] else {
            panic!()
        };
        let CompareExpr::Test(second) = &inner[0] else {
            panic!()
        };
        assert!(second.negated);
        assert_eq!(second.op, CompOp::In);
        assert_eq!(
            second.literal,
            Literal::Set(vec![Literal::Int(1), Literal::Int(2)])
        );
        let CompareExpr::Test(third) = &inner[1] else {
            panic!()
        };
        assert_eq!(third.op, CompOp::Exists);
        assert_eq!(third.path.canonical(), "a:c[*].d");
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = parse("[file:name = 'a'").unwrap_err();
        assert!(e.message.contains("expected ']'"), "{e}");
        assert_eq!(e.offset, 16);
        let e = parse("[file:name 'a']").unwrap_err();
        assert!(e.message.contains("comparison operator"), "{e}");
        let e = parse("[a:b = 1] WITHIN 0 SECONDS").unwrap_err();
        assert!(e.message.contains("positive"), "{e}");
        let e = parse("[a:b = 1] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'")
            .unwrap_err();
        assert!(e.message.contains("later"), "{e}");
        assert!(parse("[a:b > true]").is_err());
        assert!(parse("[a:b LIKE 3]").is_err());
        assert!(parse("").is_err());
        assert!(parse("[]").is_err());
        assert!(parse("[a:b = 1] [a:b = 2]").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = format!("{}[a:b = 1]{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let deep = format!("[{}a:b = 1{}]", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let long = vec!["[a:b = 1]"; 2000].join(" AND ");
        assert_eq!(ok(&long).observations.len(), 2000);
    }

    /// Hostile input: random soups of pattern fragments and bytes never panic, and whatever
    /// parses has at least one observation.
    #[test]
    fn random_input_never_panics() {
        const FRAGMENTS: &[&str] = &[
            "[",
            "]",
            "(",
            ")",
            "file:name",
            "ipv4-addr:value",
            ":",
            ".",
            "'a'",
            "'",
            "\\",
            "=",
            "!=",
            "<",
            ">=",
            " AND ",
            " OR ",
            " NOT ",
            " FOLLOWEDBY ",
            " IN ",
            "(1, 2)",
            " LIKE ",
            " MATCHES ",
            " ISSUBSET ",
            " EXISTS ",
            " WITHIN ",
            " SECONDS",
            " REPEATS ",
            " TIMES",
            " START ",
            " STOP ",
            "t'2016-01-01T00:00:00Z'",
            "b'AA=='",
            "h'0f'",
            "3",
            "-1",
            "2.5",
            "[*]",
            "[0]",
            "true",
            "\u{e9}",
            "\u{0}",
        ];
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let n = next() % 24;
            let mut text = String::new();
            for _ in 0..n {
                let r = next();
                match FRAGMENTS.get((r % FRAGMENTS.len() as u64) as usize) {
                    Some(f) if r % 17 != 0 => text.push_str(f),
                    _ => text.push(char::from_u32((r >> 8) as u32 % 0x3000).unwrap_or('?')),
                }
            }
            if let Ok(p) = parse(&text) {
                assert!(!p.observations.is_empty(), "{text}");
            }
        }
    }
}
