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

    #[test]
    fn single_quoted_folds_at_a_lone_space_past_column_80() {
        let long = "x".repeat(85);
        // Past column 80, a lone space inside the text becomes a break and the indent.
        assert_eq!(single_quoted(&format!("{long} tail"), 2), format!("'{long}\n  tail'"));
        // A run of spaces, a space at the end and a space before column 80 are kept.
        assert_eq!(single_quoted(&format!("{long}  tail"), 2), format!("'{long}  tail'"));
        assert_eq!(single_quoted(&format!("{long} "), 2), format!("'{long} '"));
        assert_eq!(single_quoted("a b", 2), "'a b'");
        // Spaces count as columns: here the break comes after "b", not after "c".
        let x = "x".repeat(75);
        assert_eq!(single_quoted(&format!("{x} a b c d"), 2), format!("'{x} a b\n  c d'"));
        assert_eq!(single_quoted(" a", 90), "' a'");
        // Quotes are doubled (and count as two columns); a line break is an empty line.
        assert_eq!(single_quoted("it's\nx", 2), "'it''s\n\n  x'");
        let q = "'".repeat(40);
        let doubled = "'".repeat(80);
        assert_eq!(single_quoted(&format!("{q} b"), 2), format!("'{doubled}\n  b'"));
    }
}
