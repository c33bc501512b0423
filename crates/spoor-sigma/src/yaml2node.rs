//! YAML text -> a small tree of nodes that remember their line, so that every rule problem can be
//! reported as `file:line: reason`. `yaml-rust2` gives events with positions; its own document
//! type drops them, so we build the tree here.

use yaml_rust2::parser::{Event as YamlEvent, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting accepted; Sigma rules need about six levels.
const MAX_DEPTH: usize = 64;
/// Most nodes one document may expand to (guards alias bombs; a file of many rules is many
/// documents, each with its own budget).
const MAX_NODES: usize = 200_000;

/// A YAML node with its 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it holds.
    pub kind: NodeKind,
    /// 1-based line where it starts.
    pub line: usize,
    /// 1-based column where it starts.
    pub col: usize,
}

/// The three shapes of YAML data.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar; `plain` is false for quoted and block scalars (always strings).
    Scalar { text: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// True for a plain `null`, `~` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true } if is_null_text(text))
    }
}

/// Whether a plain scalar means null in YAML 1.2's core schema.
pub fn is_null_text(t: &str) -> bool {
    matches!(t, "" | "~" | "null" | "Null" | "NULL")
}

/// A YAML problem: a syntax error, or a limit (depth, size, aliases) the text broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// True when a limit was broken rather than the YAML syntax.
    pub limit: bool,
}

impl YamlError {
    /// The typed error (`SIGMA-E002` syntax or `SIGMA-E003` limit) and its place.
    pub fn diagnostic(&self) -> (crate::SigmaError, crate::Location) {
        let e = if self.limit {
            crate::SigmaError::YamlLimit(self.message.clone())
        } else {
            crate::SigmaError::YamlSyntax(self.message.clone())
        };
        (e, crate::Location::at(self.line, self.column))
    }
}

enum Frame {
    Seq(Vec<Node>, usize, (usize, usize)),
    Map(Vec<(Node, Node)>, Option<Node>, usize, (usize, usize)),
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: Vec<(usize, Node)>,
    nodes: usize,
    /// Of `nodes`, how many came from expanding aliases.
    alias_nodes: usize,
    error: Option<YamlError>,
}

impl TreeBuilder {
    fn fail(&mut self, (line, column): (usize, usize), message: &str) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line,
                column,
                message: message.to_string(),
                limit: true,
            });
        }
    }

    fn finish_node(&mut self, node: Node) {
        self.nodes += count_nodes(&node);
        if self.nodes > MAX_NODES {
            let message = if self.alias_nodes > MAX_NODES / 2 {
                format!("document expands to more than {MAX_NODES} nodes through its aliases (an alias bomb?)")
            } else {
                format!("document has more than {MAX_NODES} nodes")
            };
            self.fail((node.line, node.col), &message);
            return;
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, key, ..)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    // Only called on finished nodes; children were counted when they finished, so a container
    // counts one, except aliases, which are counted whole in `on_event`.
    let _ = node;
    1
}

fn subtree_size(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(subtree_size).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| subtree_size(k) + subtree_size(v))
                .sum::<usize>()
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, ev: YamlEvent, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = mark.line().max(1);
        let col = mark.col() + 1;
        let at = (line, col);
        match ev {
            YamlEvent::Scalar(text, style, anchor, _tag) => {
                let node = Node {
                    kind: NodeKind::Scalar {
                        text,
                        plain: style == TScalarStyle::Plain,
                    },
                    line,
                    col,
                };
                self.remember(anchor, &node);
                self.finish_node(node);
            }
            YamlEvent::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return self.fail(at, "nesting too deep");
                }
                self.stack.push(Frame::Seq(Vec::new(), anchor, at));
            }
            YamlEvent::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return self.fail(at, "nesting too deep");
                }
                self.stack.push(Frame::Map(Vec::new(), None, anchor, at));
            }
            YamlEvent::SequenceEnd => {
                if let Some(Frame::Seq(items, anchor, start)) = self.stack.pop() {
                    let node = Node {
                        kind: NodeKind::Seq(items),
                        line: start.0,
                        col: start.1,
                    };
                    self.remember(anchor, &node);
                    self.finish_node(node);
                }
            }
            YamlEvent::MappingEnd => {
                if let Some(Frame::Map(entries, _, anchor, start)) = self.stack.pop() {
                    // A block mapping's start event is marked after its first key (at the
                    // `:`); the mapping starts where that key does.
                    let first_key = entries.first().map(|(k, _)| (k.line, k.col));
                    let start = first_key.map_or(start, |k| k.min(start));
                    let node = Node {
                        kind: NodeKind::Map(entries),
                        line: start.0,
                        col: start.1,
                    };
                    self.remember(anchor, &node);
                    self.finish_node(node);
                }
            }
            YamlEvent::Alias(id) => {
                let found = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone());
                match found {
                    Some(node) => {
                        let n = subtree_size(&node);
                        self.nodes += n;
                        self.alias_nodes += n;
                        self.finish_node(node);
                    }
                    None => self.fail(at, "alias to an unknown anchor"),
                }
            }
            YamlEvent::DocumentStart => {
                // Anchors and the node budget belong to one document.
                self.nodes = 0;
                self.alias_nodes = 0;
                self.anchors.clear();
            }
            YamlEvent::Nothing
            | YamlEvent::StreamStart
            | YamlEvent::StreamEnd
            | YamlEvent::DocumentEnd => {}
        }
    }
}

/// Parses every document of a YAML stream.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = TreeBuilder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(YamlError {
            line: e.marker().line().max(1),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
            limit: false,
        });
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_styles() {
        let docs = parse_documents("a: 1\nb:\n  - 'x'\n  - y\n---\nc: null\n").unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.line, 3);
        let NodeKind::Seq(items) = &b.kind else {
            panic!("not a seq")
        };
        assert_eq!(
            items[0].kind,
            NodeKind::Scalar {
                text: "x".into(),
                plain: false
            }
        );
        assert_eq!(items[1].line, 4);
        assert!(docs[1].get("c").unwrap().is_null());
    }

    #[test]
    fn syntax_error_has_line() {
        let e = parse_documents("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            y.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_documents(&y).expect_err("an alias bomb");
        assert!(e.message.contains("alias"), "{}", e.message);
    }

    /// Issue 17: the node budget belongs to each document, so a file of 6,000 rules loads,
    /// and an oversized document is not blamed on aliases it does not have.
    #[test]
    fn issue17_many_documents_each_have_their_own_budget() {
        let rule = "title: r\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n    Image|endswith: ['\\\\a.exe', '\\\\b.exe']\n  condition: sel\n";
        let file: String = (0..6_000).map(|_| format!("---\n{rule}")).collect();
        assert_eq!(parse_documents(&file).expect("6,000 rules").len(), 6_000);
        let big: String = (0..210_000).map(|i| format!("- {i}\n")).collect();
        let e = parse_documents(&big).expect_err("too big");
        assert!(!e.message.contains("alias"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let y = "[".repeat(500) + &"]".repeat(500);
        assert!(parse_documents(&y).is_err());
    }
}
