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

#[test]
fn test_formats_three_styles_give_equal_manifests() {
    // In 0.13.0-linux, `|` and `! '...'` styles coexist for the same build.
    let mut manifests = std::collections::BTreeMap::new();
    for path in asserts().into_iter().filter(|p| p.to_string_lossy().contains("0.13.0-linux")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let style = if text.contains("out_manifest: !") { "quoted" } else { "block" };
        let doc = Document::parse(&text).unwrap();
        manifests
            .entry(style)
            .or_insert_with(Vec::new)
            .push(Manifest::parse(doc.str("out_manifest").unwrap()));
    }
    let quoted = &manifests["quoted"];
    let block = &manifests["block"];
    assert!(quoted.iter().any(|q| block.contains(q)), "no quoted manifest equals a block one");
}
