//! The condition language: `selection and not 1 of filter_*`, with Sigma's precedence
//! (or < and < not < `x of` < parentheses). A recursive-descent parser with a depth limit.

use crate::ast::{ConditionAst, Quantifier};

const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(u32),
    LParen,
    RParen,
    Pipe,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::LParen);
            }
            ')' => {
                chars.next();
                out.push(Token::RParen);
            }
            '|' => {
                chars.next();
                out.push(Token::Pipe);
            }
            _ => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || d == '(' || d == ')' || d == '|' {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                let word = &s[i..end];
                if !word
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '?'))
                {
                    return Err(format!("unexpected text '{word}' in condition"));
                }
                match word.parse::<u32>() {
                    Ok(n) => out.push(Token::Number(n)),
                    Err(_) => out.push(Token::Word(word.to_string())),
                }
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err("condition nested too deeply".into())
        } else {
            Ok(())
        }
    }

    fn or(&mut self) -> Result<ConditionAst, String> {
        self.enter()?;
        let mut items = vec![self.and()?];
        while is_kw(self.peek(), "or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            ConditionAst::Or(items)
        })
    }

    fn and(&mut self) -> Result<ConditionAst, String> {
        let mut items = vec![self.not()?];
        while is_kw(self.peek(), "and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            ConditionAst::And(items)
        })
    }

    fn not(&mut self) -> Result<ConditionAst, String> {
        if is_kw(self.peek(), "not") {
            self.pos += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(ConditionAst::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<ConditionAst, String> {
        match self.next() {
            Some(Token::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::RParen) => Ok(inner),
                    _ => Err("missing ')' in condition".into()),
                }
            }
            Some(Token::Number(n)) => self.of(Quantifier::AtLeast(n)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("all") => self.of(Quantifier::All),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("any") => {
                self.of(Quantifier::AtLeast(1))
            }
            Some(Token::Word(w)) => {
                if ["and", "or", "not", "of", "them"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    Err(format!("unexpected '{w}' in condition"))
                } else {
                    Ok(ConditionAst::Ident(w))
                }
            }
            Some(Token::RParen) => Err("unexpected ')' in condition".into()),
            Some(Token::Pipe) => {
                Err("aggregation expressions ('|') are not part of Sigma 2".into())
            }
            None => Err("condition ends too early".into()),
        }
    }

    fn of(&mut self, q: Quantifier) -> Result<ConditionAst, String> {
        if !is_kw(self.peek(), "of") {
            return Err("expected 'of' after a count in condition".into());
        }
        self.pos += 1;
        match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("them") => Ok(ConditionAst::Of(q, None)),
            Some(Token::Word(w)) => Ok(ConditionAst::Of(q, Some(w))),
            _ => Err("expected a search identifier pattern or 'them' after 'of'".into()),
        }
    }
}

/// Parses one condition string.
pub fn parse_condition(s: &str) -> Result<ConditionAst, String> {
    // Checked before tokenizing, so that `| count() > 5` gets this message, not one about `>`.
    if s.contains('|') {
        return Err("aggregation expressions ('| count() ...') are Sigma 1 and not supported; use a correlation rule".into());
    }
    let tokens = tokenize(s)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let ast = p.or()?;
    if p.pos != p.tokens.len() {
        return Err("unexpected text after the end of the condition".into());
    }
    Ok(ast)
}

/// Sigma's identifier pattern match: `*` matches any run of characters.
pub fn ident_matches(pattern: &str, name: &str) -> bool {
    fn rec(p: &[u8], n: &[u8]) -> bool {
        // Iterative wildcard match with backtracking on the last star: linear enough for
        // identifier lengths.
        let (mut pi, mut ni) = (0, 0);
        let (mut star, mut mark) = (None, 0);
        while ni < n.len() {
            if pi < p.len() && p[pi] == b'*' {
                star = Some(pi);
                mark = ni;
                pi += 1;
            } else if pi < p.len() && p[pi] == n[ni] {
                pi += 1;
                ni += 1;
            } else if let Some(s) = star {
                pi = s + 1;
                mark += 1;
                ni = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == b'*')
    }
    rec(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConditionAst::*;

    fn id(s: &str) -> ConditionAst {
        Ident(s.into())
    }

    #[test]
    fn precedence() {
        assert_eq!(
            parse_condition("a or b and not c").unwrap(),
            Or(vec![id("a"), And(vec![id("b"), Not(Box::new(id("c")))])])
        );
        assert_eq!(
            parse_condition("(a or b) and c").unwrap(),
            And(vec![Or(vec![id("a"), id("b")]), id("c")])
        );
        assert_eq!(
            parse_condition("1 of selection_* and not all of filter*").unwrap(),
            And(vec![
                Of(Quantifier::AtLeast(1), Some("selection_*".into())),
                Not(Box::new(Of(Quantifier::All, Some("filter*".into()))))
            ])
        );
        assert_eq!(
            parse_condition("all of them").unwrap(),
            Of(Quantifier::All, None)
        );
        assert_eq!(
            parse_condition("2 of sel*").unwrap(),
            Of(Quantifier::AtLeast(2), Some("sel*".into()))
        );
        assert_eq!(
            parse_condition("NOT a AND b").unwrap(),
            And(vec![Not(Box::new(id("a"))), id("b")])
        );
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "a and",
            "(a",
            "a b",
            "1 sel",
            "sel | count() > 5",
            "a )",
            "of them",
            "a # b",
        ] {
            assert!(parse_condition(bad).is_err(), "{bad}");
        }
        let deep = "(".repeat(200) + "a" + &")".repeat(200);
        assert!(parse_condition(&deep).is_err());
    }

    #[test]
    fn patterns() {
        assert!(ident_matches("selection_*", "selection_img"));
        assert!(ident_matches("*", "x"));
        assert!(ident_matches("sel*img*", "sel_a_img_b"));
        assert!(!ident_matches("filter*", "selection"));
        assert!(ident_matches("exact", "exact"));
        assert!(!ident_matches("exact", "exactly"));
    }
}
