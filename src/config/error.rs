//! Configuration errors with their place in the file: byte spans from
//! `toml` (syntax and type errors) and from a second parse with
//! `toml_edit::ImDocument` (semantic errors, looked up by key path) become
//! 1-based `file:line:col: message` lines. Used by `load`/`parse` only.

use std::fmt;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Table, Value};

/// One step of a key path into a TOML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// A table key.
    Key(String),
    /// An index into an array or array of tables.
    Index(usize),
}

impl From<&str> for PathSeg {
    fn from(k: &str) -> Self {
        PathSeg::Key(k.to_string())
    }
}

impl From<usize> for PathSeg {
    fn from(i: usize) -> Self {
        PathSeg::Index(i)
    }
}

/// Builds a key path: `cfg_path!["neighbors", 2, "remote_as"]`.
macro_rules! cfg_path {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::config::PathSeg::from($seg)),*]
    };
}
pub(crate) use cfg_path;

/// One configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as named to `load`/`parse`.
    pub file: String,
    /// 1-based line and column, when the error has a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{}:{}: {}", self.file, line, col, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every error found in a configuration, in file order: one
/// `file:line:col: message` line each when displayed.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    /// True when no error was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The errors, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }
}

/// 1-based line and column (in characters) of a byte offset of `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One source file: its name, its text and (when it parses) its span tree.
pub(crate) struct Source {
    pub file: String,
    pub text: String,
    doc: Option<ImDocument<String>>,
    /// Byte offset of the start of each line, so placing an error costs a
    /// binary search rather than a scan of the text (20,000 errors in a
    /// 3 MB file would otherwise be quadratic).
    line_starts: Vec<usize>,
}

/// A node of the span tree while walking a key path.
enum Node<'a> {
    Table(&'a Table),
    Value(&'a Value),
    Tables(&'a toml_edit::ArrayOfTables),
}

impl<'a> Node<'a> {
    fn of(item: &'a Item) -> Option<Node<'a>> {
        match item {
            Item::Table(t) => Some(Node::Table(t)),
            Item::Value(v) => Some(Node::Value(v)),
            Item::ArrayOfTables(a) => Some(Node::Tables(a)),
            Item::None => None,
        }
    }
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
            Node::Tables(a) => a.span(),
        }
    }
}

impl Source {
    /// A source whose span tree is built from `text` (a text that does not
    /// parse has none: its syntax error is reported by the first parse).
    pub fn new(file: &str, text: String) -> Source {
        let doc = ImDocument::parse(text.clone()).ok();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            file: file.to_string(),
            text,
            doc,
            line_starts,
        }
    }

    /// [`line_col`] of a byte offset, by binary search over the line starts.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        (line, self.text[start..offset].chars().count() + 1)
    }

    /// An error at a byte span (or without a position).
    pub fn at_span(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            position: span.map(|s| self.line_col(s.start)),
            message: one_line(message.into()),
        }
    }

    /// The source text of a span, when it is short enough to quote.
    pub fn snippet(&self, span: Option<Range<usize>>) -> Option<&str> {
        let s = span?;
        let t = self.text.get(s)?.trim();
        (!t.is_empty() && t.len() <= 80 && !t.contains('\n')).then_some(t)
    }

    /// An error at the value under `path` (or at its key, or at the nearest
    /// enclosing table that has a place in the file).
    pub fn at(&self, path: &[PathSeg], message: impl Into<String>) -> ConfigError {
        self.at_span(self.span(path, false), message)
    }

    /// The span of the value (or key, with `want_key`) under `path`,
    /// falling back to the deepest enclosing node with a span.
    pub fn span(&self, path: &[PathSeg], want_key: bool) -> Option<Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Table(doc.as_table());
        let mut best = None;
        for (i, seg) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let (key_span, next) = match (&node, seg) {
                (Node::Table(t), PathSeg::Key(k)) => match t.get_key_value(k) {
                    Some((key, item)) => (key.span(), Node::of(item)),
                    None => (None, None),
                },
                (Node::Value(Value::InlineTable(t)), PathSeg::Key(k)) => match t.get_key_value(k) {
                    Some((key, item)) => (key.span(), Node::of(item)),
                    None => (None, None),
                },
                (Node::Value(Value::Array(a)), PathSeg::Index(n)) => {
                    (None, a.get(*n).map(Node::Value))
                }
                (Node::Tables(a), PathSeg::Index(n)) => (None, a.get(*n).map(Node::Table)),
                _ => (None, None),
            };
            let Some(next) = next else { break };
            let here = if last && want_key {
                key_span.clone().or_else(|| next.span())
            } else {
                next.span().or(key_span)
            };
            if here.is_some() {
                best = here;
            }
            node = next;
        }
        best
    }
}

/// A message on one line whatever the file held: control characters of a
/// quoted value (a name written `"a\nb"`) are shown escaped (`\n`, `\0`).
fn one_line(message: String) -> String {
    if !message.chars().any(char::is_control) {
        return message;
    }
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_value_with_control_characters_stays_on_one_line() {
        // Found by the config fuzz target: `export_policy = "é\u0000\n"`.
        let src = Source::new("f.toml", "x = 1\n".to_string());
        let e = src.at_span(Some(0..1), "unknown export policy \"é\0\n\" (known: none)");
        assert_eq!(e.message, "unknown export policy \"é\\0\\n\" (known: none)");
        assert!(!e.to_string().contains('\n'), "{e}");
        let plain = src.at_span(None, "unknown location \"zürich\"");
        assert_eq!(plain.message, "unknown location \"zürich\"");
    }

    #[test]
    fn line_col_is_one_based_and_counts_characters() {
        let text = "a = 1\nname = \"zürich\" x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        let x = text.find(" x").map_or(0, |i| i + 1);
        assert_eq!(line_col(text, x), (2, 17));
        assert_eq!(line_col(text, 10_000), (3, 1));
        let src = Source::new("f.toml", text.to_string());
        for offset in [0, 5, 6, 10, x, text.len(), 10_000] {
            assert_eq!(src.line_col(offset), line_col(text, offset), "{offset}");
        }
    }

    #[test]
    fn span_lookup_finds_values_in_arrays_of_tables_and_inline_tables() {
        let text = "[[n]]\na = 1\n\n[[n]]\na = 2\nb = { c = [5, 6] }\n";
        let src = Source::new("f.toml", text.to_string());
        let seg = |k: &str| PathSeg::from(k);
        let e = src.at(
            &[
                seg("n"),
                PathSeg::Index(1),
                seg("b"),
                seg("c"),
                PathSeg::Index(1),
            ],
            "m",
        );
        assert_eq!(e.to_string(), "f.toml:6:15: m");
        let e = src.at(&[seg("n"), PathSeg::Index(1), seg("missing")], "m");
        assert_eq!(
            e.position,
            Some((4, 1)),
            "falls back to the enclosing table"
        );
    }
}
