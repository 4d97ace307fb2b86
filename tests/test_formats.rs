//! The result/assert format over every real assert in the corpus.

use git_gitian::core::assertion::Document;
use git_gitian::core::manifest::Manifest;

use crate::common::corpus;

fn asserts() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let root = corpus().join("gitian.sigs");
    for rel in std::fs::read_dir(&root).unwrap() {
        let rel = rel.unwrap().path();
        if !rel.is_dir() {
            continue;
        }
        for signer in std::fs::read_dir(&rel).unwrap() {
            for f in std::fs::read_dir(signer.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|e| e == "assert") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn test_formats_every_corpus_assert_parses_and_modern_ones_round_trip() {
    let files = asserts();
    assert!(files.len() > 80, "corpus has {} asserts", files.len());
    let mut round_tripped = 0;
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let doc = Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for key in ["out_manifest", "in_manifest", "release", "name", "type"] {
            assert!(doc.str(key).is_some(), "{}: no {key}", path.display());
        }
        let out = Manifest::parse(doc.str("out_manifest").unwrap());
        assert!(!out.is_empty(), "{}", path.display());
        for e in &out.entries {
            assert_eq!(e.hash.len(), 64, "{}: {e:?}", path.display());
        }
        if text.starts_with("--- !!omap\n") {
            // libyaml 0.2.5 (the spec's golden bytes) writes `- optionals:` and indents the
            // closing quote of a one-line single-quoted manifest; the published files were
            // written by libyaml 0.1.x, with a trailing space and the quote in column 0.
            let ours = doc.render();
            let theirs =
                text.replace("- optionals: \n", "- optionals:\n").replace("\n\n'\n", "\n\n    '\n");
            assert!(ours == theirs, "{} does not round-trip", path.display());
            round_tripped += 1;
        }
    }
    assert!(round_tripped > 0);
}

/// How an assert writes its `out_manifest` (ledgers.md: three styles coexist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ManifestStyle {
    /// `out_manifest: |` then the lines, indented.
    Block,
    /// `out_manifest: '...'`, a blank line between entries.
    Quoted,
    /// `out_manifest: ! '...'`, the same with a non-specific tag.
    Tagged,
}

fn manifest_style(text: &str) -> ManifestStyle {
    let line = text.lines().find(|l| l.contains("out_manifest:")).expect("an out_manifest line");
    let value = line.split_once("out_manifest:").unwrap().1.trim_start();
    if value.starts_with("! '") {
        ManifestStyle::Tagged
    } else if value.starts_with('\'') {
        ManifestStyle::Quoted
    } else {
        assert!(value.starts_with('|'), "unknown style: {line}");
        ManifestStyle::Block
    }
}

/// The `hash  name` pairs written in the out_manifest section, found in the raw text whatever
/// its style (64 hex digits, two spaces, a name), independently of the YAML reader.
fn raw_entries(text: &str) -> Vec<(String, String)> {
    let start = text.find("out_manifest:").unwrap();
    let end = text[start..].find("\n- ").map_or(text.len(), |e| start + e);
    let re = regex::Regex::new(r"([0-9a-f]{64})  ([^\s']+)").unwrap();
    re.captures_iter(&text[start..end]).map(|c| (c[1].to_string(), c[2].to_string())).collect()
}

#[test]
fn test_formats_three_styles_give_equal_manifests() {
    use std::collections::BTreeMap;
    let mut by_style: BTreeMap<ManifestStyle, Vec<(String, Manifest)>> = BTreeMap::new();
    for path in asserts() {
        let text = std::fs::read_to_string(&path).unwrap();
        let style = manifest_style(&text);
        let m = Manifest::parse(Document::parse(&text).unwrap().str("out_manifest").unwrap());
        // Each style read gives exactly the entries written, in order: a reader that folded
        // the quoted styles' lines, or kept their blank lines, fails here.
        let got: Vec<(String, String)> =
            m.entries.iter().map(|e| (e.hash.clone(), e.path.clone())).collect();
        assert_eq!(got, raw_entries(&text), "{style:?} {}", path.display());
        let release = path.parent().unwrap().parent().unwrap().file_name().unwrap();
        by_style.entry(style).or_default().push((release.to_string_lossy().into_owned(), m));
    }
    // All three occur in the corpus, told apart.
    let counts: Vec<(ManifestStyle, usize)> = by_style.iter().map(|(s, v)| (*s, v.len())).collect();
    assert_eq!(
        counts,
        [(ManifestStyle::Block, 58), (ManifestStyle::Quoted, 26), (ManifestStyle::Tagged, 4)]
    );
    // In 0.13.0-linux, `|` and `! '...'` coexist for the same build: equal manifests.
    let in_013 = |s: ManifestStyle| -> Vec<Manifest> {
        by_style[&s].iter().filter(|(r, _)| r == "0.13.0-linux").map(|(_, m)| m.clone()).collect()
    };
    let (block, tagged) = (in_013(ManifestStyle::Block), in_013(ManifestStyle::Tagged));
    assert_eq!((block.len(), tagged.len()), (11, 4));
    for t in &tagged {
        assert!(block.contains(t), "a tagged manifest equal to no block one");
    }
}
