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
        Parser::new(text).document()
    }

    /// Writes the document as Psych 4 / libyaml 0.2.5 does (`--- !!omap`, `|` / `|-` blocks,
    /// single-quoted form for one line ending in a newline, `''` for empty).
    pub fn render(&self) -> String {
        let mut out = String::from("--- !!omap");
        if self.entries.is_empty() {
            out.push_str(" []\n");
            return out;
        }
        out.push('\n');
        render_omap(&mut out, &self.entries, 0);
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

fn render_omap(out: &mut String, entries: &[(String, Node)], indent: usize) {
    for (key, value) in entries {
        push_indent(out, indent);
        out.push_str("- ");
        out.push_str(&scalar_inline(key, indent + 2));
        out.push(':');
        match value {
            Node::Null => out.push('\n'),
            Node::Str(s) => {
                out.push(' ');
                render_str_value(out, s, indent + 4);
            }
            Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
            Node::Seq(items) => {
                out.push('\n');
                for item in items {
                    push_indent(out, indent + 2);
                    out.push_str("- ");
                    render_str_value(out, item, indent + 4);
                }
            }
            Node::Omap(inner) if inner.is_empty() => out.push_str(" !!omap []\n"),
            Node::Omap(inner) => {
                out.push_str(" !!omap\n");
                render_omap(out, inner, indent + 2);
            }
        }
    }
}

fn push_indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A string value after `key: `, ending with a newline. `indent` is the block content indent.
fn render_str_value(out: &mut String, s: &str, indent: usize) {
    if yaml_quote::style(s) == yaml_quote::Style::Literal {
        out.push_str(&yaml_quote::literal_header(s));
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
        return;
    }
    out.push_str(&scalar_inline(s, indent));
    out.push('\n');
}

/// Renders a scalar in flow context: plain, single- or double-quoted as Psych would pick
/// (`core::yaml_quote` holds the rule).
fn scalar_inline(s: &str, indent: usize) -> String {
    match yaml_quote::style(s) {
        yaml_quote::Style::Plain => s.to_string(),
        yaml_quote::Style::Single if yaml_quote::needs_str_tag(s) => {
            format!("!!str {}", single_quoted(s, indent))
        }
        yaml_quote::Style::Single => single_quoted(s, indent),
        yaml_quote::Style::Double | yaml_quote::Style::Literal => yaml_quote::double_quoted(s),
    }
}

/// libyaml's single-quoted writer: `'` doubled, each `\n` written as an empty line, long lines
/// broken at a lone space past column 80.
fn single_quoted(s: &str, indent: usize) -> String {
    let mut out = String::from("'");
    let mut column = indent + 1;
    let chars: Vec<char> = s.chars().collect();
    let mut prev_space = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            let next_is_space = chars.get(i + 1) == Some(&' ');
            if !prev_space && column > 80 && i != 0 && i + 1 != chars.len() && !next_is_space {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
                column = indent;
            } else {
                out.push(' ');
                column += 1;
            }
            prev_space = true;
        } else if c == '\n' {
            // A line break inside: one extra empty line, then the indent.
            out.push('\n');
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
            column = indent;
            prev_space = false;
        } else {
            if c == '\'' {
                out.push('\'');
                column += 1;
            }
            out.push(c);
            column += 1;
            prev_space = false;
        }
        i += 1;
    }
    out.push('\'');
    out
}

// ---------------------------------------------------------------------------------------------
// Reader

struct Parser<'a> {
    lines: Vec<&'a str>,
    pos: usize,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines: Vec<&str> =
            text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        Self { lines, pos: 0 }
    }

    fn err<T>(&self, line: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { line: line + 1, message: message.into() })
    }

    fn skip_blank(&mut self) {
        while self.pos < self.lines.len() && is_blank(self.lines[self.pos]) {
            self.pos += 1;
        }
    }

    /// Skips blank and comment lines; the next line and its indentation, if any.
    fn next_content_line(&mut self) -> Option<(&'a str, usize)> {
        self.skip_blank();
        let line = *self.lines.get(self.pos)?;
        Some((line, indent_of(line)))
    }

    fn document(&mut self) -> Result<Document, ParseError> {
        self.skip_blank();
        while self.pos < self.lines.len() && self.lines[self.pos].starts_with('%') {
            self.pos += 1;
            self.skip_blank();
        }
        if self.pos >= self.lines.len() {
            return self.err(0, "empty document");
        }
        let mut empty = false;
        let first = self.lines[self.pos];
        if first == "---" || first.starts_with("--- ") || first.starts_with("---\t") {
            let rest = first[3..].trim();
            match rest {
                "" | "!!omap" | "!omap" | "!<tag:yaml.org,2002:omap>" => {}
                "!!omap []" | "!omap []" | "[]" => empty = true,
                _ => return self.err(self.pos, format!("expected an ordered map, found '{rest}'")),
            }
            self.pos += 1;
        }
        let entries = if empty { Vec::new() } else { self.omap(0)? };
        self.skip_blank();
        if self.pos < self.lines.len() {
            let line = self.lines[self.pos];
            if line.trim_end() != "..." {
                return self.err(self.pos, "unexpected content after the ordered map");
            }
        }
        if entries.is_empty() && !empty {
            return self.err(self.pos.min(self.lines.len().saturating_sub(1)), "no entries");
        }
        Ok(Document { entries })
    }

    /// Items `- key: value` at exactly `indent`.
    fn omap(&mut self, indent: usize) -> Result<Vec<(String, Node)>, ParseError> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some((line, ind)) = self.next_content_line() {
            if ind < indent {
                break;
            }
            if ind > indent {
                return self.err(self.pos, "unexpected indentation");
            }
            let Some(item) = line[ind..].strip_prefix("- ") else {
                if line[ind..].starts_with("...") && indent == 0 {
                    break;
                }
                return self.err(self.pos, "expected an ordered-map item '- key: value'");
            };
            let line_no = self.pos;
            let (key, rest) = self.key(item, line_no)?;
            if entries.iter().any(|(k, _)| *k == key) {
                return self.err(line_no, format!("duplicate key '{key}'"));
            }
            self.pos += 1;
            let value = self.value(rest, indent, line_no)?;
            entries.push((key, value));
        }
        Ok(entries)
    }

    fn key(&self, item: &'a str, line_no: usize) -> Result<(String, &'a str), ParseError> {
        let item = item.trim_start();
        let (key, rest) = if let Some(q) = item.strip_prefix('\'') {
            let end = q.find('\'').ok_or_else(|| ParseError {
                line: line_no + 1,
                message: "unterminated quoted key".into(),
            })?;
            (q[..end].to_string(), &q[end + 1..])
        } else if let Some(q) = item.strip_prefix('"') {
            let end = q.find('"').ok_or_else(|| ParseError {
                line: line_no + 1,
                message: "unterminated quoted key".into(),
            })?;
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = item
                .find(": ")
                .or_else(|| item.strip_suffix(':').map(str::len))
                .or_else(|| item.find(":\t"));
            match end {
                Some(e) => (item[..e].trim_end().to_string(), &item[e..]),
                None => return self.err(line_no, "expected 'key: value'"),
            }
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            return self.err(line_no, "expected ':' after the key");
        };
        if key.starts_with(['&', '*', '!', '?']) {
            return self.err(line_no, "anchors, aliases, tags and complex keys are not allowed");
        }
        Ok((key, rest))
    }

    /// The value after `key:`; `indent` is the indentation of the `- ` of its item.
    fn value(&mut self, rest: &'a str, indent: usize, line_no: usize) -> Result<Node, ParseError> {
        let mut rest = rest.trim();
        if rest.starts_with('&') || rest.starts_with('*') {
            return self.err(line_no, "anchors and aliases are not allowed in an attestation");
        }
        // Tags: omap, non-specific `!`, explicit str.
        let mut omap_tag = false;
        for tag in ["!!omap", "!omap", "!<tag:yaml.org,2002:omap>"] {
            if rest == tag || rest.starts_with(&format!("{tag} ")) {
                omap_tag = true;
                rest = rest[tag.len()..].trim();
            }
        }
        if omap_tag {
            return match rest {
                "" => Ok(Node::Omap(self.omap(indent + 2)?)),
                "[]" => Ok(Node::Omap(Vec::new())),
                _ => self.err(line_no, "expected a nested ordered map"),
            };
        }
        for tag in ["!!str ", "! "] {
            if let Some(r) = rest.strip_prefix(tag) {
                rest = r.trim_start();
            }
        }
        if rest == "!" || rest == "!!str" {
            rest = "";
        }
        if rest.starts_with('!') {
            return self.err(line_no, format!("unsupported tag in '{rest}'"));
        }
        if rest.is_empty() || rest.starts_with('#') {
            // Null, or a block sequence on the following lines.
            let save = self.pos;
            self.skip_blank();
            if self.pos < self.lines.len() {
                let l = self.lines[self.pos];
                let ind = indent_of(l);
                if ind > indent && (l[ind..].starts_with("- ") || &l[ind..] == "-") {
                    return self.block_seq(ind);
                }
                if ind > indent {
                    return self.err(self.pos, "unexpected indented content");
                }
            }
            self.pos = save;
            return Ok(Node::Null);
        }
        if rest.starts_with('|') || rest.starts_with('>') {
            return Ok(Node::Str(self.block_scalar(rest, indent, line_no)?));
        }
        if rest.starts_with('\'') {
            return Ok(Node::Str(self.quoted(rest, indent, line_no, '\'')?));
        }
        if rest.starts_with('"') {
            return Ok(Node::Str(self.quoted(rest, indent, line_no, '"')?));
        }
        if rest.starts_with('[') {
            return self.flow_seq(rest, line_no);
        }
        if matches!(rest, "~" | "null" | "Null" | "NULL") {
            return Ok(Node::Null);
        }
        Ok(Node::Str(self.plain(rest, indent)))
    }

    fn block_seq(&mut self, indent: usize) -> Result<Node, ParseError> {
        let mut items = Vec::new();
        while let Some((line, ind)) = self.next_content_line() {
            if ind != indent || !(line[ind..].starts_with("- ") || &line[ind..] == "-") {
                if ind > indent {
                    return self.err(self.pos, "unexpected indentation in a list");
                }
                break;
            }
            let line_no = self.pos;
            self.pos += 1;
            let rest = line[ind + 1..].trim_start();
            match self.value(rest, indent, line_no)? {
                Node::Str(s) => items.push(s),
                Node::Null => items.push(String::new()),
                _ => return self.err(line_no, "a list item must be a string"),
            }
        }
        Ok(Node::Seq(items))
    }

    fn flow_seq(&self, rest: &str, line_no: usize) -> Result<Node, ParseError> {
        let Some(inner) = rest.strip_prefix('[').and_then(|r| r.trim_end().strip_suffix(']'))
        else {
            return self.err(line_no, "multi-line flow sequences are not supported");
        };
        let items = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let unq = |q: char| s.strip_prefix(q).and_then(|t| t.strip_suffix(q));
                unq('\'')
                    .map(|t| t.replace("''", "'"))
                    .or_else(|| unq('"').map(str::to_string))
                    .unwrap_or_else(|| s.to_string())
            })
            .collect();
        Ok(Node::Seq(items))
    }

    /// A plain scalar, folded over more-indented continuation lines.
    fn plain(&mut self, first: &str, indent: usize) -> String {
        let strip_comment = |s: &str| -> String {
            match s.find(" #") {
                Some(i) => s[..i].trim_end().to_string(),
                None => s.trim_end().to_string(),
            }
        };
        let mut value = strip_comment(first);
        let mut pending_breaks = 0;
        while self.pos < self.lines.len() {
            let line = self.lines[self.pos];
            if line.trim().is_empty() {
                pending_breaks += 1;
                self.pos += 1;
                continue;
            }
            let ind = indent_of(line);
            if ind <= indent || line[ind..].starts_with("- ") || line[ind..].starts_with('#') {
                break;
            }
            if pending_breaks == 0 {
                value.push(' ');
            } else {
                value.extend(std::iter::repeat_n('\n', pending_breaks));
            }
            pending_breaks = 0;
            value.push_str(&strip_comment(line.trim_start()));
            self.pos += 1;
        }
        // Blank lines consumed after the scalar belong to nobody; step back over them.
        while pending_breaks > 0 {
            self.pos -= 1;
            pending_breaks -= 1;
        }
        value
    }

    /// A single- or double-quoted scalar, possibly over several lines (YAML line folding).
    fn quoted(
        &mut self,
        first: &str,
        indent: usize,
        line_no: usize,
        q: char,
    ) -> Result<String, ParseError> {
        // Raw lines of the scalar: from after the opening quote to the closing one.
        let mut raw_lines: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut text: &str = &first[1..];
        let mut line_idx = line_no;
        loop {
            let bytes = text.as_bytes();
            let mut closed_at = None;
            let mut i = 0;
            while i < bytes.len() {
                // Copy the plain run up to the next quote (or backslash) in one piece.
                let special = if q == '\'' {
                    bytes[i..].iter().position(|&b| b == b'\'')
                } else {
                    bytes[i..].iter().position(|&b| b == b'"' || b == b'\\')
                };
                let Some(off) = special else {
                    current.push_str(&text[i..]);
                    break;
                };
                let j = i + off;
                current.push_str(&text[i..j]);
                match bytes[j] {
                    b'\'' if bytes.get(j + 1) == Some(&b'\'') => {
                        current.push('\'');
                        i = j + 2;
                    }
                    b'\'' | b'"' => {
                        closed_at = Some(j);
                        break;
                    }
                    _ => {
                        let Some(e) = text[j + 1..].chars().next() else {
                            // Escaped line break: joins lines without a space.
                            current.push('\u{0}');
                            break;
                        };
                        i = j + 1 + e.len_utf8();
                        match e {
                            'n' => current.push_str("\u{1}n"),
                            't' => current.push('\t'),
                            'r' => current.push('\r'),
                            '0' => current.push('\0'),
                            '"' => current.push('"'),
                            '\\' => current.push('\\'),
                            '/' => current.push('/'),
                            ' ' => current.push(' '),
                            'x' | 'u' | 'U' => {
                                let n = match e {
                                    'x' => 2,
                                    'u' => 4,
                                    _ => 8,
                                };
                                let hex: String = text[i..].chars().take(n).collect();
                                i += hex.len();
                                let ch =
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                                match ch {
                                    Some(ch) => current.push(ch),
                                    None => {
                                        return self
                                            .err(line_idx, "bad escape in double-quoted string");
                                    }
                                }
                            }
                            _ => return self.err(line_idx, format!("unknown escape '\\{e}'")),
                        }
                    }
                }
            }
            if let Some(i) = closed_at {
                let after = text[i + 1..].trim();
                if !after.is_empty() && !after.starts_with('#') {
                    return self.err(line_idx, "unexpected text after a quoted string");
                }
                raw_lines.push(std::mem::take(&mut current));
                break;
            }
            raw_lines.push(std::mem::take(&mut current));
            // Continue on the next line.
            line_idx += 1;
            self.pos = line_idx + 1;
            if line_idx >= self.lines.len() {
                return self.err(line_no, "unterminated quoted string");
            }
            let next = self.lines[line_idx];
            if !next.trim().is_empty()
                && indent_of(next) <= indent
                && !next.trim_start().starts_with(q)
            {
                return self.err(line_idx, "quoted string continues at a smaller indentation");
            }
            text = next;
        }
        self.pos = line_idx + 1;
        Ok(fold_flow_lines(&raw_lines))
    }

    /// A literal (`|`) or folded (`>`) block scalar with its chomping indicator.
    fn block_scalar(
        &mut self,
        header: &str,
        indent: usize,
        line_no: usize,
    ) -> Result<String, ParseError> {
        let header = match header.find(" #") {
            Some(i) => header[..i].trim_end(),
            None => header.trim_end(),
        };
        let folded = header.starts_with('>');
        let mut chomp = ' ';
        let mut explicit: Option<usize> = None;
        for c in header[1..].chars() {
            match c {
                '-' | '+' => chomp = c,
                '1'..='9' => explicit = Some(c as usize - '0' as usize),
                _ => return self.err(line_no, format!("bad block scalar header '{header}'")),
            }
        }
        // Content lines: blank ones, or indented deeper than the item.
        let start = self.pos;
        let mut end = start;
        let mut block_indent = explicit.map(|e| indent + e);
        while end < self.lines.len() {
            let line = self.lines[end];
            if line.trim().is_empty() {
                end += 1;
                continue;
            }
            let ind = indent_of(line);
            match block_indent {
                None if ind > indent => block_indent = Some(ind),
                None => break,
                Some(b) if ind >= b => {}
                Some(_) => break,
            }
            end += 1;
        }
        // Trailing blank lines belong to the scalar only for chomping purposes.
        let block_indent = block_indent.unwrap_or(indent + 1);
        let mut body: Vec<&str> = Vec::new();
        for line in &self.lines[start..end] {
            if line.len() >= block_indent {
                body.push(&line[block_indent..]);
            } else {
                if !line.trim().is_empty() {
                    return self.err(start, "bad indentation in a block scalar");
                }
                body.push("");
            }
        }
        self.pos = end;
        let mut trailing = 0;
        while body.last() == Some(&"") {
            body.pop();
            trailing += 1;
        }
        let mut text = String::new();
        if folded {
            let mut prev_more_indented = false;
            for (i, line) in body.iter().enumerate() {
                let more = line.starts_with(' ') || line.starts_with('\t');
                if i > 0 {
                    let prev_empty = body[i - 1].is_empty();
                    if line.is_empty() || prev_empty || more || prev_more_indented {
                        text.push('\n');
                    } else {
                        text.push(' ');
                    }
                }
                prev_more_indented = more;
                text.push_str(line);
            }
        } else {
            text = body.join("\n");
        }
        if !body.is_empty() {
            match chomp {
                '-' => {}
                '+' => {
                    text.push('\n');
                    text.extend(std::iter::repeat_n('\n', trailing));
                }
                _ => text.push('\n'),
            }
        } else if chomp == '+' {
            text.extend(std::iter::repeat_n('\n', trailing));
        }
        Ok(text)
    }
}

/// YAML flow-scalar line folding: the first line keeps its leading text, every later line loses
/// its leading white space, trailing white space goes before each break; a single break becomes
/// a space and each empty line a newline. Markers: `\0` is an escaped break (join, no space),
/// `\1n` an escaped `\n` (kept literally).
fn fold_flow_lines(raw: &[String]) -> String {
    let mut out = String::new();
    let last = raw.len() - 1;
    let mut empties = 0;
    let mut joined = false;
    for (i, line) in raw.iter().enumerate() {
        let mut l: &str = line;
        if i > 0 {
            l = l.trim_start_matches([' ', '\t']);
        }
        if i < last {
            l = l.trim_end_matches([' ', '\t']);
        }
        let escaped_break = l.ends_with('\u{0}');
        let l = l.trim_end_matches('\u{0}');
        if i > 0 && i < last && l.is_empty() {
            empties += 1;
            continue;
        }
        if i > 0 {
            if empties > 0 {
                out.extend(std::iter::repeat_n('\n', empties));
            } else if !joined {
                out.push(' ');
            }
        }
        empties = 0;
        out.push_str(l);
        joined = escaped_break;
    }
    out.replace("\u{1}n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = "--- !!omap
- out_manifest: |
    h1  f1
    h2  src/f2
- in_manifest: |-
    d  x-desc.yml
    git:abc bitcoin
- base_manifests: !!omap
  - bionic-amd64: |
      aaa  a_1.deb
      bbb  b_1.deb
- cache_common_manifest: ''
- cache_package_manifest: ''
";

    fn golden_result() -> BuildResult {
        BuildResult {
            out_manifest: "h1  f1\nh2  src/f2\n".into(),
            in_manifest: "d  x-desc.yml\ngit:abc bitcoin".into(),
            base_manifests: vec![("bionic-amd64".into(), "aaa  a_1.deb\nbbb  b_1.deb\n".into())],
            cache_common_manifest: String::new(),
            cache_package_manifest: String::new(),
        }
    }

    #[test]
    fn renders_gbuild_golden_bytes() {
        assert_eq!(golden_result().render(), GOLDEN);
    }

    #[test]
    fn parses_golden_back() {
        assert_eq!(Document::parse(GOLDEN).unwrap(), golden_result().to_document());
    }

    #[test]
    fn single_line_and_empty_edge_cases() {
        let r = BuildResult { out_manifest: "h1  f1\n".into(), ..Default::default() };
        let text = r.render();
        assert!(text.contains("- out_manifest: 'h1  f1\n\n    '\n"), "{text}");
        assert!(text.contains("- base_manifests: !!omap []\n"), "{text}");
        assert_eq!(Document::parse(&text).unwrap(), r.to_document());
    }

    #[test]
    fn gsign_tail_matches_spec() {
        let doc = Document::parse(GOLDEN).unwrap();
        let a = to_assert(&doc, "v1", "demo-linux-1.0", None).render();
        assert!(a.ends_with(
            "- cache_package_manifest: ''\n- release: v1\n- name: demo-linux-1.0\n- type: build\n- optionals:\n"
        ));
        let opts = vec!["a.dmg".to_string()];
        let a = to_assert(&doc, "v1", "demo-linux-1.0", Some(&opts)).render();
        assert!(a.ends_with("- optionals:\n  - a.dmg\n"), "{a}");
        assert_eq!(Document::parse(&a).unwrap().get("optionals"), Some(&Node::Seq(opts)));
    }

    #[test]
    fn old_style_loads_the_same() {
        let old = "--- !omap \n- out_manifest: ! 'h1  f1\n\n    h2  src/f2\n\n'\n- in_manifest: ! 'd  x-desc.yml\n\n    git:abc bitcoin'\n- base_manifests: !omap\n  - bionic-amd64: ! 'aaa  a_1.deb\n\n      bbb  b_1.deb\n\n'\n- cache_common_manifest: ''\n- cache_package_manifest: ''\n- optionals: \n";
        let doc = Document::parse(old).unwrap();
        let mut expect = golden_result().to_document();
        expect.set("optionals", Node::Null);
        assert_eq!(doc, expect);
    }

    #[test]
    fn quoting_follows_psych() {
        let cases = [
            ("0.10", "'0.10'"),
            ("25.0", "'25.0'"),
            ("true", "'true'"),
            ("y", "\"y\""),
            ("0.21.0-linux", "0.21.0-linux"),
            ("test", "test"),
            ("-x", "\"-x\""),
            ("a: b", "'a: b'"),
            ("2021-01-11", "'2021-01-11'"),
            ("123", "'123'"),
            ("it's", "it's"),
        ];
        for (input, want) in cases {
            assert_eq!(scalar_inline(input, 2), want, "{input}");
        }
    }

    #[test]
    fn refuses_aliases_and_garbage() {
        assert!(Document::parse("--- !!omap\n- a: &x foo\n- b: *x\n").is_err());
        assert!(Document::parse("<html><body>502</body></html>\n").is_err());
        assert!(Document::parse("").is_err());
        assert!(Document::parse("--- !!omap\n- a: 'unterminated\n").is_err());
        let e = Document::parse("--- !!omap\n- a: 1\n  - b: 2\n").unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn multi_remote_in_manifest_and_keep_chomping() {
        let doc = Document {
            entries: vec![
                ("a".into(), Node::Str("x\ny\n\n".into())),
                ("b".into(), Node::Str("x\n\ny".into())),
            ],
        };
        let text = doc.render();
        assert_eq!(Document::parse(&text).unwrap(), doc, "{text}");
    }
}
