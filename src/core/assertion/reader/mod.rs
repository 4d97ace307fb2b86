//! The reader of result and assert files: the subset of YAML Gitian's files use, read to the
//! strings libyaml 0.2.5 (under Ruby's Psych) gives, in time linear in the input.
//!
//! Layouts met in the ledgers, all read here: `--- !!omap` / `--- !omap` / `--- !omap ` headers;
//! nested ordered maps at any deeper indentation (`- base_manifests: !omap` then four spaces);
//! `|`, `|-`, `|+` and `>` blocks; single-quoted scalars folded over lines with blank lines for
//! line breaks, with or without the non-specific tag `!`; double-quoted scalars with escapes,
//! escaped line breaks (`\` at a line end) and escaped spaces after a fold (`\ `). Line breaks
//! are LF, CRLF or a lone CR, as for libyaml. Anchors and aliases are refused.
//!
//! Messages quote at most [`EXCERPT`] characters of the input: a hostile file must not make
//! its own error message (and every report showing it) as large as itself.

use std::collections::HashSet;

use super::{Document, Node, ParseError};

/// Longest piece of the input quoted in an error message (in characters).
pub const EXCERPT: usize = 40;
/// Deepest nesting of ordered maps read (real files nest two levels).
const MAX_DEPTH: usize = 32;

/// At most [`EXCERPT`] characters of `s`, with `...` when cut, control characters escaped.
pub fn excerpt(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == EXCERPT {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

pub(super) struct Parser<'a> {
    text: &'a str,
    /// (byte offset of the line in `text`, the line without its break).
    lines: Vec<(usize, &'a str)>,
    pos: usize,
    depth: usize,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#')
}

/// Whether `rest` (after a `-`) makes the line a sequence item.
fn is_item(rest: &str) -> bool {
    rest.is_empty() || rest.starts_with([' ', '\t'])
}

/// Splits at LF, CRLF and lone CR, as libyaml's line breaks.
fn split_lines(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    // The LF of a CRLF, which ends no line of its own.
    let mut skip = usize::MAX;
    for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        if i == skip {
            start = i + 1;
            continue;
        }
        lines.push((start, &text[start..i]));
        start = i + 1;
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            skip = i + 1;
        }
    }
    if start < bytes.len() {
        lines.push((start, &text[start..]));
    }
    lines
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Self { text, lines: split_lines(text), pos: 0, depth: 0 }
    }

    fn line(&self, i: usize) -> &'a str {
        self.lines[i].1
    }

    fn err<T>(&self, line: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { line: line + 1, message: message.into() })
    }

    fn skip_blank(&mut self) {
        while self.pos < self.lines.len() && is_blank(self.line(self.pos)) {
            self.pos += 1;
        }
    }

    /// Skips blank and comment lines; the next line and its indentation, if any.
    fn next_content_line(&mut self) -> Option<(&'a str, usize)> {
        self.skip_blank();
        let line = self.lines.get(self.pos)?.1;
        Some((line, indent_of(line)))
    }

    pub(super) fn document(&mut self) -> Result<Document, ParseError> {
        self.skip_blank();
        while self.pos < self.lines.len() && self.line(self.pos).starts_with('%') {
            self.pos += 1;
            self.skip_blank();
        }
        if self.pos >= self.lines.len() {
            return self.err(0, "empty document");
        }
        let mut empty = false;
        let first = self.line(self.pos);
        if first == "---" || first.starts_with("--- ") || first.starts_with("---\t") {
            let rest = first[3..].trim_matches([' ', '\t']);
            match rest {
                "" | "!!omap" | "!omap" | "!<tag:yaml.org,2002:omap>" => {}
                "!!omap []" | "!omap []" | "[]" => empty = true,
                _ => {
                    let msg = format!("expected an ordered map, found '{}'", excerpt(rest));
                    return self.err(self.pos, msg);
                }
            }
            self.pos += 1;
        }
        let entries = match (empty, self.next_content_line()) {
            (true, _) | (false, None) => Vec::new(),
            (false, Some((_, indent))) => self.omap(indent)?,
        };
        self.skip_blank();
        if self.pos < self.lines.len() && self.line(self.pos).trim_end() != "..." {
            return self.err(self.pos, "unexpected content after the ordered map");
        }
        if entries.is_empty() && !empty {
            return self.err(self.pos.min(self.lines.len().saturating_sub(1)), "no entries");
        }
        Ok(Document { entries })
    }

    /// Items `- key: value` at exactly `indent`.
    fn omap(&mut self, indent: usize) -> Result<Vec<(String, Node)>, ParseError> {
        if self.depth >= MAX_DEPTH {
            return self.err(self.pos, "ordered maps nested too deeply");
        }
        self.depth += 1;
        let mut entries: Vec<(String, Node)> = Vec::new();
        let mut keys: HashSet<String> = HashSet::new();
        while let Some((line, ind)) = self.next_content_line() {
            if ind < indent {
                break;
            }
            if ind > indent {
                return self.err(self.pos, "unexpected indentation");
            }
            let item = match line[ind..].strip_prefix('-') {
                Some(rest) if is_item(rest) => rest,
                _ => {
                    if line[ind..].starts_with("...") && indent == 0 {
                        break;
                    }
                    return self.err(self.pos, "expected an ordered-map item '- key: value'");
                }
            };
            let line_no = self.pos;
            // The column of the key: the mapping inside this item.
            let map_col = ind + 1 + (item.len() - item.trim_start_matches([' ', '\t']).len());
            let (key, rest) = self.key(item, line_no)?;
            if !keys.insert(key.clone()) {
                return self.err(line_no, format!("duplicate key '{}'", excerpt(&key)));
            }
            self.pos += 1;
            let value = self.value(rest, (ind, map_col), line_no)?;
            entries.push((key, value));
        }
        self.depth -= 1;
        Ok(entries)
    }

    fn key(&self, item: &'a str, line_no: usize) -> Result<(String, &'a str), ParseError> {
        let item = item.trim_start_matches([' ', '\t']);
        let unterminated =
            || ParseError { line: line_no + 1, message: "unterminated quoted key".into() };
        let (key, rest) = if let Some(q) = item.strip_prefix('\'') {
            let end = q.find('\'').ok_or_else(unterminated)?;
            (q[..end].to_string(), &q[end + 1..])
        } else if let Some(q) = item.strip_prefix('"') {
            let end = q.find('"').ok_or_else(unterminated)?;
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

    /// The value after `key:`; `cols` are the columns of the item's `-` and of the key.
    fn value(
        &mut self,
        rest: &'a str,
        cols: (usize, usize),
        line_no: usize,
    ) -> Result<Node, ParseError> {
        let (item_col, map_col) = cols;
        let mut rest = rest.trim_matches([' ', '\t']);
        if rest.starts_with('&') || rest.starts_with('*') {
            return self.err(line_no, "anchors and aliases are not allowed in an attestation");
        }
        let mut omap_tag = false;
        for tag in ["!!omap", "!omap", "!<tag:yaml.org,2002:omap>"] {
            if let Some(r) = rest.strip_prefix(tag)
                && (r.is_empty() || r.starts_with([' ', '\t']))
            {
                omap_tag = true;
                rest = r.trim_matches([' ', '\t']);
            }
        }
        if omap_tag {
            return match rest {
                "" => match self.next_content_line() {
                    Some((_, ind)) if ind >= map_col => Ok(Node::Omap(self.omap(ind)?)),
                    Some((_, ind)) if ind > item_col => {
                        self.err(self.pos, "unexpected indentation in a nested ordered map")
                    }
                    _ => Ok(Node::Omap(Vec::new())),
                },
                "[]" => Ok(Node::Omap(Vec::new())),
                _ => self.err(line_no, "expected a nested ordered map"),
            };
        }
        for tag in ["!!str", "!"] {
            if let Some(r) = rest.strip_prefix(tag)
                && (r.is_empty() || r.starts_with([' ', '\t']))
            {
                rest = r.trim_start_matches([' ', '\t']);
            }
        }
        if rest.starts_with('!') {
            return self.err(line_no, format!("unsupported tag in '{}'", excerpt(rest)));
        }
        if rest.is_empty() || rest.starts_with('#') {
            return self.null_or_seq(cols);
        }
        if rest.starts_with('|') || rest.starts_with('>') {
            return Ok(Node::Str(self.block_scalar(rest, map_col, line_no)?));
        }
        if rest.starts_with('\'') || rest.starts_with('"') {
            return Ok(Node::Str(self.quoted(rest, line_no)?));
        }
        if rest.starts_with('[') {
            return self.flow_seq(rest, line_no);
        }
        if matches!(rest, "~" | "null" | "Null" | "NULL") {
            return Ok(Node::Null);
        }
        Ok(Node::Str(self.plain(rest, map_col)))
    }

    /// Nothing after `key:`: null, or a block sequence on the following lines.
    fn null_or_seq(&mut self, (item_col, map_col): (usize, usize)) -> Result<Node, ParseError> {
        let save = self.pos;
        if let Some((l, ind)) = self.next_content_line()
            && ind > item_col
        {
            if ind >= map_col && l[ind..].strip_prefix('-').is_some_and(is_item) {
                return self.block_seq(ind);
            }
            return self.err(self.pos, "unexpected indented content");
        }
        self.pos = save;
        Ok(Node::Null)
    }

    fn block_seq(&mut self, indent: usize) -> Result<Node, ParseError> {
        let mut items = Vec::new();
        while let Some((line, ind)) = self.next_content_line() {
            let rest = match line[ind..].strip_prefix('-') {
                Some(rest) if ind == indent && is_item(rest) => rest,
                _ if ind > indent => return self.err(self.pos, "unexpected indentation in a list"),
                _ => break,
            };
            let line_no = self.pos;
            self.pos += 1;
            // An item's text belongs to the list: it goes on over lines indented past its `-`.
            match self.value(rest, (ind, ind), line_no)? {
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

    /// A plain scalar, folded over continuation lines indented past the key's column.
    fn plain(&mut self, first: &str, map_col: usize) -> String {
        let strip_comment = |s: &str| -> String {
            let s = match s.find(" #").or_else(|| s.find("\t#")) {
                Some(i) => &s[..i],
                None => s,
            };
            s.trim_end_matches([' ', '\t']).to_string()
        };
        let mut value = strip_comment(first);
        let mut pending_breaks = 0;
        let mut i = self.pos;
        while i < self.lines.len() {
            let line = self.line(i);
            if line.trim_matches([' ', '\t']).is_empty() {
                pending_breaks += 1;
                i += 1;
                continue;
            }
            let ind = indent_of(line);
            if ind <= map_col || line[ind..].starts_with('#') {
                break;
            }
            if pending_breaks == 0 {
                value.push(' ');
            } else {
                value.extend(std::iter::repeat_n('\n', pending_breaks));
            }
            pending_breaks = 0;
            value.push_str(&strip_comment(line.trim_start_matches([' ', '\t'])));
            i += 1;
            self.pos = i;
        }
        value
    }

    /// A single- or double-quoted scalar starting at `first` (a suffix of a line), possibly
    /// over several lines, folded as libyaml folds it.
    fn quoted(&mut self, first: &'a str, line_no: usize) -> Result<String, ParseError> {
        let start = first.as_ptr() as usize - self.text.as_ptr() as usize;
        let (value, end) = match scan_flow_scalar(self.text, start) {
            Ok(done) => done,
            Err((at, message)) => return self.err(self.line_at(at, line_no), message),
        };
        let end_line = self.line_at(end, line_no);
        let (line_start, line) = self.lines[end_line];
        let after = line[end - line_start..].trim_matches([' ', '\t']);
        if !after.is_empty() && !after.starts_with('#') {
            return self.err(end_line, "unexpected text after a quoted string");
        }
        self.pos = end_line + 1;
        Ok(value)
    }

    /// The line holding byte `offset` (searched from `from` on).
    fn line_at(&self, offset: usize, from: usize) -> usize {
        let rest = &self.lines[from..];
        from + rest.partition_point(|(start, _)| *start <= offset).saturating_sub(1)
    }

    /// A literal (`|`) or folded (`>`) block scalar with its chomping indicator.
    fn block_scalar(
        &mut self,
        header: &str,
        map_col: usize,
        line_no: usize,
    ) -> Result<String, ParseError> {
        let header = match header.find(" #").or_else(|| header.find("\t#")) {
            Some(i) => header[..i].trim_end_matches([' ', '\t']),
            None => header.trim_end_matches([' ', '\t']),
        };
        let folded = header.starts_with('>');
        let mut chomp = ' ';
        let mut explicit: Option<usize> = None;
        for c in header[1..].chars() {
            match c {
                '-' | '+' if chomp == ' ' => chomp = c,
                '1'..='9' if explicit.is_none() => explicit = Some(c as usize - '0' as usize),
                _ => {
                    let msg = format!("bad block scalar header '{}'", excerpt(header));
                    return self.err(line_no, msg);
                }
            }
        }
        // Content lines: blank ones, or indented at least as the first content line.
        let start = self.pos;
        let mut end = start;
        let mut block_indent = explicit.map(|e| map_col + e);
        while end < self.lines.len() {
            let line = self.line(end);
            let ind = indent_of(line);
            if line.len() == ind {
                end += 1;
                continue;
            }
            match block_indent {
                None if ind > map_col => block_indent = Some(ind),
                None => break,
                Some(b) if ind >= b => {}
                Some(_) => break,
            }
            end += 1;
        }
        let block_indent = block_indent.unwrap_or(map_col + 1);
        let mut body: Vec<&str> = self.lines[start..end]
            .iter()
            .map(|(_, line)| line.get(block_indent..).unwrap_or(""))
            .collect();
        self.pos = end;
        let mut trailing = 0;
        while body.last() == Some(&"") {
            body.pop();
            trailing += 1;
        }
        let mut text = if folded { fold_block(&body) } else { body.join("\n") };
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

mod scalar;
#[cfg(test)]
mod tests;

use scalar::{fold_block, scan_flow_scalar};
