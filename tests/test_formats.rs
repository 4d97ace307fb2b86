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

/// The style of an assert's `out_manifest`: a literal block, a single-quoted scalar (blank
/// lines for line breaks), or the same with the non-specific tag `! `.
fn style_of(text: &str) -> &'static str {
    let line = text.lines().find(|l| l.starts_with("- out_manifest:")).unwrap_or("");
    match line.trim_start_matches("- out_manifest:").trim_start() {
        v if v.starts_with('|') => "block",
        v if v.starts_with("! '") => "tagged",
        v if v.starts_with('\'') => "single",
        v => panic!("unknown out_manifest style: {v:.20}"),
    }
}

/// The `hash  name` lines of the raw text of `out_manifest`, found without YAML: each line of
/// the value with its indentation, `! `, quotes and blank lines taken away.
fn manifest_lines_by_hand(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("- ") {
            if inside {
                break;
            }
            inside = line.starts_with("- out_manifest:");
        }
        if !inside {
            continue;
        }
        let l = line.trim_start_matches("- out_manifest:").trim_start();
        let l = l.trim_start_matches(['|', '!']).trim().trim_matches('\'');
        let is_hash = l.len() > 66 && l[..64].bytes().all(|b| b.is_ascii_hexdigit());
        if is_hash && &l[64..66] == "  " {
            lines.push(l.to_string());
        }
    }
    lines
}

#[test]
fn test_formats_three_styles_give_equal_manifests() {
    // Each style is told apart by its first bytes, found in the corpus, and read to exactly
    // the lines its raw text holds.
    let mut seen = std::collections::BTreeMap::new();
    let mut by_group: std::collections::BTreeMap<_, Vec<(&str, Manifest)>> = Default::default();
    for path in asserts() {
        let text = std::fs::read_to_string(&path).unwrap();
        let style = style_of(&text);
        let doc = Document::parse(&text).unwrap();
        let out = doc.str("out_manifest").unwrap();
        let read: Vec<String> = out.lines().map(str::to_string).collect();
        assert_eq!(read, manifest_lines_by_hand(&text), "{} ({style})", path.display());
        *seen.entry(style).or_insert(0) += 1;
        let group = path.parent().unwrap().parent().unwrap().to_path_buf();
        by_group.entry(group).or_default().push((style, Manifest::parse(out)));
    }
    for style in ["block", "single", "tagged"] {
        assert!(seen.get(style).is_some_and(|&n| n > 0), "no {style} assert in {seen:?}");
    }
    // In 0.13.0-linux the block and tagged styles coexist for the same build: equal manifests.
    let linux = by_group.iter().find(|(g, _)| g.ends_with("0.13.0-linux")).unwrap().1;
    let of = |s: &str| linux.iter().filter(|(st, _)| *st == s).map(|(_, m)| m).collect::<Vec<_>>();
    let (block, tagged) = (of("block"), of("tagged"));
    assert!(!block.is_empty() && !tagged.is_empty());
    assert!(tagged.iter().any(|t| block.contains(t)), "no tagged manifest equals a block one");
}
