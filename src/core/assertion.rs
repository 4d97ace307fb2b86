//! Gitian result and assert files (spec §3, §4): read every YAML style found in the ledgers into
//! one model, and write exactly the bytes Gitian's Ruby (Psych over libyaml) writes.
//!
//! These files are an ordered map (`!!omap`) of a handful of keys whose values are strings
//! (manifests), a nested ordered map (`base_manifests`), a list or null (`optionals`). The reader
//! is a small parser for that subset rather than a general YAML library, for three reasons: the
//! ledgers hold three styles of the same content (`!!omap`/`!omap`, `|`/`|-` blocks, `'...'`
//! and `! '...'` folded single-quoted scalars) that must load identically; anchors and aliases
//! have no place in an attestation, so refusing them removes alias bombs outright; and it runs
//! in time linear in the input. Signed bytes are never re-serialized: the writer is only used to
//! produce new files.

use std::fmt;

mod reader;

pub use reader::excerpt;

use super::yaml_quote;

/// A value in a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Empty value (`- optionals:`).
    Null,
    /// A string scalar.
    Str(String),
    /// A list of strings.
    Seq(Vec<String>),
    /// A nested ordered map (`!!omap`).
    Omap(Vec<(String, Node)>),
}

/// A whole result or assert document: an ordered map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// The entries, in file order.
    pub entries: Vec<(String, Node)>,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

impl Document {
    /// Reads a result/assert document in any of the styles found in the ledgers.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        reader::Parser::new(text).document()
    }

    /// Writes the document as Psych 4 / libyaml 0.2.5 does (`--- !!omap`, `|` / `|-` blocks,
    /// single-quoted form for one line ending in a newline, `''` for empty, lines broken past
    /// column 80, `...` after a `|+` block).
    pub fn render(&self) -> String {
        let mut out = String::from("--- !!omap");
        if self.entries.is_empty() {
            out.push_str(" []\n");
            return out;
        }
        out.push('\n');
        // libyaml ends a document holding a `|+` block with `...`: its last lines are open.
        if render_omap(&mut out, &self.entries, 0) {
            out.push_str("...\n");
        }
        out
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string value of `key` (None when absent or not a string).
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Node::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Sets `key`: replaces its value in place when present, else appends it (Ruby `Omap#[]=`).
    pub fn set(&mut self, key: &str, node: Node) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = node,
            None => self.entries.push((key.to_string(), node)),
        }
    }
}

/// What `gbuild` writes to `result/<name>-res.yml` (spec §3), in its key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildResult {
    /// `sha256sum` lines of every file under build/out, sorted bytewise by path.
    pub out_manifest: String,
    /// Descriptor line, input files, `git:` lines.
    pub in_manifest: String,
    /// `<suite>-<arch>` -> sha256 lines of the guest's .deb files, in build order.
    pub base_manifests: Vec<(String, String)>,
    /// Manifest of cache/common (empty when caching is off).
    pub cache_common_manifest: String,
    /// Manifest of cache/<name> (empty when caching is off).
    pub cache_package_manifest: String,
}

impl BuildResult {
    /// The document in Gitian's key order.
    pub fn to_document(&self) -> Document {
        Document {
            entries: vec![
                ("out_manifest".into(), Node::Str(self.out_manifest.clone())),
                ("in_manifest".into(), Node::Str(self.in_manifest.clone())),
                (
                    "base_manifests".into(),
                    Node::Omap(
                        self.base_manifests
                            .iter()
                            .map(|(k, v)| (k.clone(), Node::Str(v.clone())))
                            .collect(),
                    ),
                ),
                ("cache_common_manifest".into(), Node::Str(self.cache_common_manifest.clone())),
                ("cache_package_manifest".into(), Node::Str(self.cache_package_manifest.clone())),
            ],
        }
    }

    /// The bytes of `result/<name>-res.yml`.
    pub fn render(&self) -> String {
        self.to_document().render()
    }
}

/// gsign's transformation (spec §4): the result with `release`, `name`, `type: build` and
/// `optionals` (the descriptor's list, or null when it has none) set in that order.
pub fn to_assert(
    result: &Document,
    release: &str,
    name: &str,
    optionals: Option<&[String]>,
) -> Document {
    let mut doc = result.clone();
    doc.set("release", Node::Str(release.to_string()));
    doc.set("name", Node::Str(name.to_string()));
    doc.set("type", Node::Str("build".to_string()));
    doc.set("optionals", optionals.map_or(Node::Null, |o| Node::Seq(o.to_vec())));
    doc
}

// ---------------------------------------------------------------------------------------------
// Writer

/// Writes `entries`; true when a value was written as a block keeping its final line breaks
/// (`|+`).
fn render_omap(out: &mut String, entries: &[(String, Node)], indent: usize) -> bool {
    let mut keeps = false;
    for (key, value) in entries {
        push_indent(out, indent);
        out.push_str("- ");
        out.push_str(&scalar_inline(key, None, indent + 2));
        out.push(':');
        match value {
            Node::Null => out.push('\n'),
            Node::Str(s) => {
                out.push(' ');
                keeps |= render_str_value(out, s, indent + 4);
            }
            Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
            Node::Seq(items) => {
                out.push('\n');
                for item in items {
                    push_indent(out, indent + 2);
                    out.push_str("- ");
                    keeps |= render_str_value(out, item, indent + 4);
                }
            }
            Node::Omap(inner) if inner.is_empty() => out.push_str(" !!omap []\n"),
            Node::Omap(inner) => {
                out.push_str(" !!omap\n");
                keeps |= render_omap(out, inner, indent + 2);
            }
        }
    }
    keeps
}

fn push_indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A string value after `key: ` or `- `, ending with a newline. `indent` is the block content
/// indent, that of the lines a value continues on. True when written as a block keeping its
/// final line breaks (`|+`).
fn render_str_value(out: &mut String, s: &str, indent: usize) -> bool {
    if yaml_quote::style(s) == yaml_quote::Style::Literal {
        let header = yaml_quote::literal_header(s);
        out.push_str(&header);
        out.push('\n');
        // The final break belongs to the chomping; every other line is written indented.
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            if !line.is_empty() {
                push_indent(out, indent);
                out.push_str(line);
            }
            out.push('\n');
        }
        return header.ends_with('+');
    }
    // libyaml counts columns in characters, from the start of the line.
    let column = out[out.rfind('\n').map_or(0, |i| i + 1)..].chars().count();
    out.push_str(&scalar_inline(s, Some(column), indent));
    out.push('\n');
    false
}

/// Renders a scalar in flow context: plain, single- or double-quoted as Psych would pick
/// (`core::yaml_quote` holds the rule). `at` is the column it starts at, `None` for a key
/// (libyaml never breaks a key); `indent` is that of its continuation lines.
fn scalar_inline(s: &str, at: Option<usize>, indent: usize) -> String {
    match yaml_quote::style(s) {
        yaml_quote::Style::Plain => flow_scalar(s, Quote::None, at, indent),
        yaml_quote::Style::Single if yaml_quote::needs_str_tag(s) => {
            // `<<` has no space to break at.
            format!("!!str {}", flow_scalar(s, Quote::Single, None, indent))
        }
        yaml_quote::Style::Single => flow_scalar(s, Quote::Single, at, indent),
        yaml_quote::Style::Double | yaml_quote::Style::Literal => {
            flow_scalar(s, Quote::Double, at, indent)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// libyaml's plain, single-quoted and double-quoted writers. In single quotes `'` is doubled
/// and a `\n` written as an empty line (LS and PS as they are), the indent after it; in double
/// quotes characters are escaped as `yaml_quote::double_quoted` escapes them. When `at` (the
/// column of the first character or quote) is known, a space past column 80, neither first nor
/// last and not after another space, is written as a line break then `indent` spaces: in plain
/// and single-quoted text only when no space follows it, in double quotes always, a following
/// space then escaped (`\ `).
fn flow_scalar(s: &str, quote: Quote, at: Option<usize>, indent: usize) -> String {
    let (mark, body): (&str, Vec<char>) = match quote {
        Quote::None => ("", s.chars().collect()),
        Quote::Single => ("'", s.chars().collect()),
        Quote::Double => {
            let q = yaml_quote::double_quoted(s);
            ("\"", q[1..q.len() - 1].chars().collect())
        }
    };
    let mut out = String::from(mark);
    let mut column = at.unwrap_or(0) + mark.len();
    let (mut prev_space, mut breaks) = (false, false);
    for (i, &c) in body.iter().enumerate() {
        if c == ' ' {
            let next_is_space = body.get(i + 1) == Some(&' ');
            let inside = i != 0 && i + 1 != body.len();
            let lone = quote == Quote::Double || !next_is_space;
            if at.is_some() && !prev_space && column > 80 && inside && lone {
                out.push('\n');
                push_indent(&mut out, indent);
                column = indent;
                if next_is_space {
                    out.push('\\');
                    column += 1;
                }
            } else {
                out.push(' ');
                column += 1;
            }
            prev_space = true;
        } else if matches!(c, '\n' | '\u{2028}' | '\u{2029}') {
            // A line break inside single quotes (the others are escaped or refused there): `\n`
            // after one more (an empty line), LS and PS as they are; the indent comes next.
            if c == '\n' && !breaks {
                out.push('\n');
            }
            out.push(c);
            breaks = true;
            prev_space = false;
        } else {
            if breaks {
                push_indent(&mut out, indent);
                column = indent;
                breaks = false;
            }
            if c == '\'' && quote == Quote::Single {
                out.push('\'');
                column += 1;
            }
            out.push(c);
            column += 1;
            prev_space = false;
        }
    }
    if breaks {
        push_indent(&mut out, indent);
    }
    out.push_str(mark);
    out
}

#[cfg(test)]
mod tests;
