//! A small YAML node tree with positions, built from `yaml-rust2`'s event parser.
//!
//! Netplan reads YAML through libyaml's document loader (`yaml_parser_load()`) and interprets
//! every scalar by its *text*, whatever its YAML tag or style (`dhcp4: "yes"` is true, `id: 010`
//! is `"010"`): so the tree keeps scalars as text and mapping entries in document order
//! (duplicate keys included, like libyaml). Only the first document of a file is read, as
//! `yaml_parser_load()` does. Aliases are expanded, within a budget: the tree (anchored
//! copies and expansions included) holds at most [`MAX_NODES`] nodes and [`MAX_TEXT_BYTES`]
//! of scalar text, so a small file whose aliases would expand to gigabytes ("billion laughs"
//! counts nodes, a long string aliased many times counts bytes) is an error with a position,
//! not an exhausted memory.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;

/// Deepest nesting accepted (the tree is dropped recursively).
const MAX_DEPTH: usize = 512;
/// Most nodes accepted, counting alias expansions (guards against "billion laughs"). A
/// Netplan file of a thousand interfaces holds some 20,000; at the limit the tree takes about
/// 10 MB (a million nodes took 80 MB).
const MAX_NODES: usize = 100_000;
/// Most scalar text accepted, counting alias expansions: 16 times the largest file read
/// ([`crate::bounded_read::NETPLAN_FILE_CAP`]); real Netplan files hold a few KiB.
pub(crate) const MAX_TEXT_BYTES: usize = 16 << 20;

/// 1-based line and column of a node's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub line: usize,
    pub column: usize,
}

impl Mark {
    fn from_marker(marker: &Marker) -> Mark {
        Mark {
            line: marker.line().max(1),
            column: marker.col() + 1,
        }
    }
}

/// One YAML node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub value: Value,
    pub mark: Mark,
}

/// The content of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Scalar(String),
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// A word for the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Scalar(_) => "scalar",
            Value::Sequence(_) => "sequence",
            Value::Mapping(_) => "mapping",
        }
    }
}

/// A syntax error: position and the parser's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub mark: Mark,
    pub message: String,
}

enum Frame {
    Sequence {
        items: Vec<Node>,
        mark: Mark,
        anchor: usize,
    },
    Mapping {
        pairs: Vec<(Node, Node)>,
        key: Option<Node>,
        mark: Mark,
        anchor: usize,
    },
}

/// Parses the first document of `text`. `Ok(None)` when the text holds no document at all
/// (empty, or only comments), like libyaml's loader returning no root node.
pub(crate) fn parse_first_document(text: &str) -> Result<Option<Node>, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<Option<Node>> = Vec::new();
    let mut root: Option<Node> = None;
    let mut budget = Budget::default();

    loop {
        let (event, marker) = parser.next_token().map_err(|e| SyntaxError {
            mark: Mark::from_marker(e.marker()),
            message: e.info().to_string(),
        })?;
        let mark = Mark::from_marker(&marker);
        let too_big = |mark: Mark, what: &str| SyntaxError {
            mark,
            message: format!("document too large: {what}"),
        };
        let finished = match event {
            Event::StreamEnd | Event::DocumentEnd => return Ok(root),
            Event::Nothing | Event::StreamStart | Event::DocumentStart => None,
            Event::Scalar(text, _style, anchor, _tag) => {
                let node = Node {
                    value: Value::Scalar(text),
                    mark,
                };
                budget.charge(&node, mark)?;
                remember(&mut anchors, anchor, &node, &mut budget)?;
                Some(node)
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(id)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| SyntaxError {
                        mark,
                        message: "alias refers to a node that is not complete yet".to_string(),
                    })?;
                // Counted before it is copied: an expansion over budget is never made.
                budget.charge(node, mark)?;
                Some(node.clone())
            }
            Event::SequenceStart(anchor, _tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_big(mark, "nested too deeply"));
                }
                stack.push(Frame::Sequence {
                    items: Vec::new(),
                    mark,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, _tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_big(mark, "nested too deeply"));
                }
                stack.push(Frame::Mapping {
                    pairs: Vec::new(),
                    key: None,
                    mark,
                    anchor,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Sequence {
                    items,
                    mark,
                    anchor,
                }) => {
                    let node = Node {
                        value: Value::Sequence(items),
                        mark,
                    };
                    budget.nodes += 1;
                    remember(&mut anchors, anchor, &node, &mut budget)?;
                    Some(node)
                }
                Some(Frame::Mapping {
                    pairs,
                    key,
                    mark,
                    anchor,
                }) => {
                    let mut pairs = pairs;
                    if let Some(key) = key {
                        // Cannot happen with a conforming parser; keep the key with a null value.
                        let null = Node {
                            value: Value::Scalar(String::new()),
                            mark: key.mark,
                        };
                        pairs.push((key, null));
                    }
                    let node = Node {
                        value: Value::Mapping(pairs),
                        mark,
                    };
                    budget.nodes += 1;
                    remember(&mut anchors, anchor, &node, &mut budget)?;
                    Some(node)
                }
                None => {
                    return Err(SyntaxError {
                        mark,
                        message: "unbalanced collection end".to_string(),
                    });
                }
            },
        };
        let Some(node) = finished else { continue };
        if budget.nodes > MAX_NODES {
            return Err(too_big(mark, "too many nodes (alias expansion?)"));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping { pairs, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

/// Keeps a copy of an anchored node for its aliases; the copy costs as much as the node.
fn remember(
    anchors: &mut Vec<Option<Node>>,
    anchor: usize,
    node: &Node,
    budget: &mut Budget,
) -> Result<(), SyntaxError> {
    if anchor == 0 {
        return Ok(());
    }
    budget.charge(node, node.mark)?;
    if anchors.len() <= anchor {
        anchors.resize(anchor + 1, None);
    }
    anchors[anchor] = Some(node.clone());
    Ok(())
}

/// What the tree holds so far, copies included.
#[derive(Default)]
struct Budget {
    nodes: usize,
    text_bytes: usize,
}

impl Budget {
    /// Adds `node` (all of it) to the tree's cost; an error at `mark` when the cost goes
    /// over either limit.
    fn charge(&mut self, node: &Node, mark: Mark) -> Result<(), SyntaxError> {
        let mut todo = vec![node];
        while let Some(n) = todo.pop() {
            self.nodes = self.nodes.saturating_add(1);
            match &n.value {
                Value::Scalar(text) => self.text_bytes = self.text_bytes.saturating_add(text.len()),
                Value::Sequence(items) => todo.extend(items),
                Value::Mapping(pairs) => {
                    for (k, v) in pairs {
                        todo.push(k);
                        todo.push(v);
                    }
                }
            }
            let message = if self.nodes > MAX_NODES {
                "too many nodes (alias expansion?)".to_string()
            } else if self.text_bytes > MAX_TEXT_BYTES {
                format!(
                    "more than {} MiB of text (alias expansion?)",
                    MAX_TEXT_BYTES >> 20
                )
            } else {
                continue;
            };
            return Err(SyntaxError {
                mark,
                message: format!("document too large: {message}"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scalar(node: &Node) -> &str {
        node.as_scalar().unwrap()
    }

    #[test]
    fn scalars_keep_their_text_and_positions() {
        let root = parse_first_document("network:\n  dhcp4: yes\n  id: 010\n  q: \"on\"\n")
            .unwrap()
            .unwrap();
        let Value::Mapping(pairs) = &root.value else {
            panic!("{root:?}")
        };
        let (key, value) = &pairs[0];
        assert_eq!(scalar(key), "network");
        assert_eq!(key.mark, Mark { line: 1, column: 1 });
        let Value::Mapping(inner) = &value.value else {
            panic!()
        };
        let texts: Vec<(&str, &str)> = inner.iter().map(|(k, v)| (scalar(k), scalar(v))).collect();
        assert_eq!(texts, [("dhcp4", "yes"), ("id", "010"), ("q", "on")]);
        assert_eq!(
            inner[0].1.mark,
            Mark {
                line: 2,
                column: 10
            }
        );
    }

    #[test]
    fn empty_and_comment_only_files_have_no_document() {
        assert_eq!(parse_first_document(""), Ok(None));
        assert_eq!(parse_first_document("# nothing\n\n"), Ok(None));
        assert_eq!(parse_first_document("\u{feff}# bom\n"), Ok(None));
    }

    #[test]
    fn only_the_first_document_is_read() {
        let root = parse_first_document("a: 1\n---\nb: 2\n").unwrap().unwrap();
        let Value::Mapping(pairs) = root.value else {
            panic!()
        };
        assert_eq!(pairs.len(), 1);
        assert_eq!(scalar(&pairs[0].0), "a");
    }

    #[test]
    fn duplicate_keys_are_kept_in_order() {
        let root = parse_first_document("a: 1\na: 2\n").unwrap().unwrap();
        let Value::Mapping(pairs) = root.value else {
            panic!()
        };
        assert_eq!(pairs.len(), 2);
        assert_eq!(scalar(&pairs[1].1), "2");
    }

    #[test]
    fn aliases_are_expanded() {
        let root = parse_first_document("a: &x [1, 2]\nb: *x\n")
            .unwrap()
            .unwrap();
        let Value::Mapping(pairs) = root.value else {
            panic!()
        };
        assert_eq!(pairs[0].1.value, pairs[1].1.value);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_first_document("network:\n  ethernets:\n    eth0: a: b\n").unwrap_err();
        assert_eq!(err.mark.line, 3);
        assert!(err.message.contains("mapping values"), "{err:?}");
        let err = parse_first_document("a: [1, 2\n").unwrap_err();
        assert!(err.mark.line >= 1, "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        // yaml-rust2 itself stops at 256 levels ("recursion limit exceeded"); either limit
        // gives an error with a position instead of a stack overflow.
        let err = parse_first_document(&text).unwrap_err();
        assert!(
            err.message.contains("too deeply") || err.message.contains("recursion limit"),
            "{err:?}"
        );
        assert_eq!(err.mark.line, 1);
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_first_document(&text).unwrap_err();
        assert!(err.message.contains("too many nodes"), "{err:?}");
    }

    #[test]
    fn a_long_string_aliased_many_times_is_refused_before_it_is_copied() {
        // 1 MiB of text, aliased 64 times on line 2: 64 MiB if expanded.
        let text = format!(
            "a: &s {}\nb: [{}]\n",
            "x".repeat(1 << 20),
            vec!["*s"; 64].join(", ")
        );
        let err = parse_first_document(&text).unwrap_err();
        assert_eq!(
            err.message,
            "document too large: more than 16 MiB of text (alias expansion?)"
        );
        // The alias that goes over: the 14th (with the text, the anchor's copy and the two
        // keys, 16 MiB and 2 bytes).
        assert_eq!(err.mark.line, 2);
        assert_eq!(err.mark.column, 5 + 4 * 13);
    }

    #[test]
    fn nested_anchors_count_their_copies() {
        // No alias at all: each anchor keeps a copy of everything inside it.
        let big = "y".repeat(1 << 20);
        let depth = 20;
        let text = format!(
            "{}{big}{}",
            (0..depth).map(|i| format!("&a{i} [")).collect::<String>(),
            "]".repeat(depth)
        );
        let err = parse_first_document(&text).unwrap_err();
        assert!(err.message.contains("MiB of text"), "{err:?}");
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse_first_document(&text);
        }

        #[test]
        fn never_panics_on_yaml_punctuation(text in "[a-z:\\-\\[\\]{}&*!|>'\" \n\t#,?%@`]{0,80}") {
            let _ = parse_first_document(&text);
        }
    }
}
