//! The checker's frame: it walks the tree, collects errors and warnings with their lines, and
//! turns a YAML failure into a message that points at its cause. What each key must hold is in
//! `fields.rs` (top level), `values.rs` (shapes and characters) and `nested.rs` (list items).

use std::cell::OnceCell;

use super::depth::TOO_DEEP;
use super::error::{DescriptorError, DescriptorWarning, ErrorKind};
use super::model::Descriptor;
use super::positions::{Positions, Seg, document_line};
use super::tree::{Node, TAGS_UNSUPPORTED, TOO_MANY_NODES, read_tree};

/// Walks the tree, builds the descriptor and collects problems.
pub(super) struct Checker<'t> {
    pub(super) file: &'t str,
    pub(super) text: &'t str,
    pub(super) errors: Vec<DescriptorError>,
    pub(super) warnings: Vec<DescriptorWarning>,
    /// Every node's position, read at the first problem (one parse for all of them).
    positions: OnceCell<Positions>,
    /// Lookups answered by a partial index so far (see [`Self::with_positions`]).
    partial_lookups: std::cell::Cell<usize>,
    /// [`document_line`], once.
    doc_line: OnceCell<usize>,
}

/// A path being checked: the segments (for [`locate`]) and the display name (`remotes[0].dir`).
#[derive(Clone)]
pub(super) struct Path {
    pub(super) segs: Vec<Seg>,
    pub(super) name: String,
}

impl Path {
    pub(super) fn key(key: &str) -> Self {
        Self { segs: vec![Seg::Key(key.to_owned(), 0)], name: key.to_owned() }
    }
    pub(super) fn index(&self, i: usize) -> Self {
        let mut segs = self.segs.clone();
        segs.push(Seg::Index(i));
        Self { segs, name: format!("{}[{i}]", self.name) }
    }
    pub(super) fn field(&self, key: &str) -> Self {
        let mut segs = self.segs.clone();
        segs.push(Seg::Key(key.to_owned(), 0));
        Self { segs, name: format!("{}.{key}", self.name) }
    }
}

/// Which node of a path a message points at.
#[derive(Clone, Copy)]
pub(super) enum At {
    /// The key itself (type and "missing" problems of a key).
    Key,
    /// The value.
    Value,
}

/// Questions about positions answered by a partial index before the whole one is built.
const PARTIAL_LOOKUPS: usize = 8;

/// Stop collecting after this many errors.
pub(super) const MAX_ERRORS: usize = 50;

impl<'t> Checker<'t> {
    pub(super) fn new(file: &'t str, text: &'t str) -> Self {
        let (positions, doc_line) = (OnceCell::new(), OnceCell::new());
        let partial_lookups = std::cell::Cell::new(0);
        let (errors, warnings) = (Vec::new(), Vec::new());
        Self { file, text, errors, warnings, positions, partial_lookups, doc_line }
    }

    /// Where the document starts (for problems without a node of their own).
    pub(super) fn doc_line(&self) -> usize {
        *self.doc_line.get_or_init(|| document_line(self.text))
    }

    /// Answers `f` about the node at `path`. The first few questions are answered by indexing
    /// only up to the path's top-level key (a few problems cost what they cost before: a
    /// partial parse each); after [`PARTIAL_LOOKUPS`] of them the whole document is indexed
    /// once, so many problems cost one parse in all, not one each.
    fn with_positions<R>(&self, path: &[Seg], f: impl FnOnce(&Positions) -> R) -> R {
        if self.positions.get().is_none()
            && self.partial_lookups.get() < PARTIAL_LOOKUPS
            && let [Seg::Key(key, 0), ..] = path
        {
            self.partial_lookups.set(self.partial_lookups.get() + 1);
            return f(&Positions::index_to(self.text, key));
        }
        f(self.positions.get_or_init(|| Positions::index(self.text)))
    }

    pub(super) fn line_of(&self, path: &Path, at: At) -> usize {
        let at_key = matches!(at, At::Key) && matches!(path.segs.last(), Some(Seg::Key(..)));
        self.with_positions(&path.segs, |p| p.locate(&path.segs, at_key))
            .map(|(line, _)| line)
            .unwrap_or_else(|| self.doc_line())
    }

    /// Whether no more errors are collected.
    pub(super) fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    pub(super) fn error(
        &mut self,
        path: &Path,
        at: At,
        kind: ErrorKind,
        message: String,
        hint: Option<String>,
    ) {
        if self.full() {
            return;
        }
        let line = self.line_of(path, at);
        self.errors.push(DescriptorError {
            file: self.file.to_owned(),
            line,
            field: Some(path.name.clone()),
            message,
            hint,
            kind,
        });
    }

    pub(super) fn invalid(&mut self, path: &Path, at: At, message: String, hint: Option<String>) {
        self.error(path, at, ErrorKind::Invalid, message, hint);
    }

    pub(super) fn warn(&mut self, path: &Path, at: At, message: String) {
        let line = self.line_of(path, at);
        self.warnings.push(DescriptorWarning {
            file: self.file.to_owned(),
            line,
            field: Some(path.name.clone()),
            message,
        });
    }

    /// Whether the scalar at `path` is written plain (not quoted, not a block scalar).
    pub(super) fn is_plain(&self, path: &Path) -> bool {
        let Some((line, column)) = self.with_positions(&path.segs, |p| p.scalar(&path.segs)) else {
            return false;
        };
        let first = self.text.lines().nth(line - 1).and_then(|l| l.chars().nth(column - 1));
        !matches!(first, Some('"' | '\'' | '|' | '>' | '!'))
    }

    pub(super) fn run(&mut self) -> Option<Descriptor> {
        let entries = self.root()?;
        self.descriptor(&entries)
    }

    /// Only the `name` (what verify needs of a descriptor), checked as [`Self::run`] checks it.
    pub(super) fn run_name(&mut self) -> Option<String> {
        let entries = self.root()?;
        self.name(&super::fields::Top::new(&entries))
    }

    /// The entries of the top-level mapping; a YAML error or another kind of root is reported.
    fn root(&mut self) -> Option<Vec<(Node, Node)>> {
        let root = match read_tree(self.text) {
            Ok(root) => root,
            Err((message, at)) => {
                self.syntax_error(message, at);
                return None;
            }
        };
        let entries = match root {
            Node::Map(entries) => entries,
            Node::Null => {
                self.top_error("descriptor is empty".to_owned(), None);
                return None;
            }
            other => {
                self.top_error(
                    format!("descriptor must be a mapping of keys, not {}", other.kind()),
                    Some("start with 'name: ...' at the left margin".to_owned()),
                );
                return None;
            }
        };
        Some(entries)
    }

    pub(super) fn top_error(&mut self, message: String, hint: Option<String>) {
        self.errors.push(DescriptorError {
            file: self.file.to_owned(),
            line: self.doc_line(),
            field: None,
            message,
            hint,
            kind: ErrorKind::Invalid,
        });
    }

    fn syntax_error(&mut self, message: String, at: Option<(usize, usize)>) {
        let line = at.map_or_else(|| self.doc_line(), |(l, _)| l);
        let mut error = DescriptorError {
            file: self.file.to_owned(),
            line,
            field: None,
            message: format!("invalid YAML: {message}"),
            hint: None,
            kind: ErrorKind::Syntax,
        };
        if message.starts_with("more than one YAML document") {
            // serde_yaml_ng gives no position: point at the second document's start.
            let second = self
                .text
                .lines()
                .enumerate()
                .skip(self.doc_line())
                .find(|(_, l)| l.starts_with("---") || l.starts_with("..."));
            if let Some((i, _)) = second {
                error.line = i + 1;
            }
            error.hint = Some("a descriptor is one YAML document".to_owned());
        } else if [TOO_MANY_NODES, TAGS_UNSUPPORTED, TOO_DEEP].contains(&message.as_str()) {
            error.message = message;
            error.kind = ErrorKind::Invalid;
        } else if let Some((quote_line, quote)) = typographic_quote(self.text, line) {
            // A string opened with '"' and "closed" with a typographic quote runs on until the
            // next '"', lines later, where the parser finally trips: point at the cause.
            let problem = message.split(", while").next().unwrap_or(&message);
            error.message = format!(
                "the string opened with '\"' is closed with '{quote}', a typographic quote, \
                 so YAML reads on and fails at line {line}: {problem}"
            );
            error.line = quote_line;
            error.hint = Some(format!("replace '{quote}' with '\"' on line {quote_line}"));
        }
        self.errors.push(error);
    }
}

/// The nearest line at or before `line` that opens a string with `"` and closes it with a
/// typographic quote (or has an odd number of `"` and a typographic quote).
fn typographic_quote(text: &str, line: usize) -> Option<(usize, char)> {
    let lines: Vec<&str> = text.lines().take(line).collect();
    lines.iter().enumerate().rev().find_map(|(i, l)| {
        let quote =
            l.chars().find(|c| matches!(c, '\u{201c}' | '\u{201d}' | '\u{2018}' | '\u{2019}'))?;
        (l.matches('"').count() % 2 == 1).then_some((i + 1, quote))
    })
}
