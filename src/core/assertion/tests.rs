//! The writer against Psych 4 / libyaml 0.2.5 (Ruby 3.1) and the reader against the writer.

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
    // An empty list is a flow `[]` (Ruby's `[].to_yaml` inside the map).
    let a = to_assert(&doc, "v1", "demo-linux-1.0", Some(&[])).render();
    assert!(a.ends_with("- type: build\n- optionals: []\n"), "{a}");
    assert_eq!(Document::parse(&a).unwrap().get("optionals"), Some(&Node::Seq(vec![])));
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
        assert_eq!(scalar_inline(input, Some(2), 2), want, "{input}");
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

/// Single quotes opening at column `indent`, continued at `indent`.
fn single_quoted(s: &str, indent: usize) -> String {
    flow_scalar(s, Quote::Single, Some(indent), indent)
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

/// Ruby 3.1's `Psych::Omap#to_yaml` of the same entries (Psych 4.0.3, libyaml 0.2.5): libyaml
/// breaks a plain, single- or double-quoted value at a lone space once the line is past column
/// 80, counting from the start of the line (the key included), and goes on at the value's indent.
#[test]
fn long_values_break_past_column_80_counting_from_the_line_start() {
    let mut doc = Document::default();
    doc.set("out_manifest", Node::Str(format!("{}  my file.tar.gz\n", "h".repeat(64))));
    doc.set("name", Node::Str(format!("{}end", "word ".repeat(16))));
    let quoted = format!("-{}  x", "q".repeat(76));
    doc.set("base_manifests", Node::Omap(vec![("w".into(), Node::Str(quoted))]));
    let items = vec![format!("{}x", "r ".repeat(39)), "<<".to_string()];
    doc.set("optionals", Node::Seq(items));
    let want = format!(
        "--- !!omap
- out_manifest: '{h}  my
    file.tar.gz

    '
- name: word word word word word word word word word word word word word word word
    word end
- base_manifests: !!omap
  - w: \"-{q}
      \\ x\"
- optionals:
  - r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r r
    x
  - !!str '<<'
",
        h = "h".repeat(64),
        q = "q".repeat(76)
    );
    assert_eq!(doc.render(), want);
    assert_eq!(Document::parse(&want).unwrap(), doc);
}

/// A key is never broken, however long (libyaml writes keys with breaks off).
#[test]
fn keys_are_not_broken() {
    let key = format!("a: {} b", "k".repeat(90));
    assert_eq!(scalar_inline(&key, None, 2), format!("'{key}'"));
    let doc = Document { entries: vec![(key.clone(), Node::Str("v".into()))] };
    assert_eq!(doc.render(), format!("--- !!omap\n- '{key}': v\n"));
}

/// Ruby: a `|+` block anywhere (a value ending in two line breaks) makes libyaml end the
/// document with `...`; other blocks do not.
#[test]
fn a_keep_block_anywhere_ends_the_document_with_three_dots() {
    let keep =
        |node: Node| Document { entries: vec![("a".into(), node), ("b".into(), Node::Null)] };
    let text = keep(Node::Str("x\ny\n\n".into())).render();
    assert_eq!(text, "--- !!omap\n- a: |+\n    x\n    y\n\n- b:\n...\n");
    let text = keep(Node::Seq(vec!["z".into(), "x\ny\n\n".into()])).render();
    assert_eq!(text, "--- !!omap\n- a:\n  - z\n  - |+\n    x\n    y\n\n- b:\n...\n");
    let inner = Node::Omap(vec![("c".into(), Node::Str("x\ny\n\n".into()))]);
    assert_eq!(
        keep(inner).render(),
        "--- !!omap\n- a: !!omap\n  - c: |+\n      x\n      y\n\n- b:\n...\n"
    );
    for node in [Node::Str("x\ny\n".into()), Node::Str("x\ny".into()), Node::Seq(vec![])] {
        assert!(!keep(node.clone()).render().ends_with("...\n"), "{node:?}");
    }
    assert_eq!(
        Document::parse(&keep(Node::Str("x\ny\n\n".into())).render()).unwrap(),
        keep(Node::Str("x\ny\n\n".into()))
    );
}

/// Ruby: a lone space at column 80 stays, at 81 breaks; after a break in double quotes the
/// escaped space (`\ `) counts its two columns.
#[test]
fn the_break_comes_at_column_81_exactly() {
    let mut doc = Document::default();
    doc.set("k", Node::Str(format!("{} y", "x".repeat(75))));
    doc.set("l", Node::Str(format!("{} y", "x".repeat(76))));
    doc.set("m", Node::Str(format!("-{}  {} z", "q".repeat(80), "r".repeat(75))));
    let (x, q, r) = ("x".repeat(75), "q".repeat(80), "r".repeat(75));
    let want =
        format!("--- !!omap\n- k: {x} y\n- l: {x}x\n    y\n- m: \"-{q}\n    \\ {r}\n    z\"\n");
    assert_eq!(doc.render(), want);
    assert_eq!(Document::parse(&want).unwrap(), doc);
}

#[test]
fn str_is_the_text_of_a_string_value_only() {
    let doc = Document {
        entries: vec![
            ("a".into(), Node::Str("x".into())),
            ("b".into(), Node::Null),
            ("c".into(), Node::Seq(vec!["y".into()])),
            ("d".into(), Node::Str(String::new())),
        ],
    };
    let got: Vec<_> = ["a", "b", "c", "d", "e"].map(|k| doc.str(k)).into();
    assert_eq!(got, [Some("x"), None, None, Some(""), None]);
}

/// Ruby: LS and PS in single quotes are line breaks to libyaml, the indent written after them.
#[test]
fn ls_and_ps_in_single_quotes_are_followed_by_the_indent() {
    let doc = Document {
        entries: vec![
            ("k".into(), Node::Str("l\u{2028}y".into())),
            ("m".into(), Node::Str("n\u{2029}".into())),
        ],
    };
    let text = doc.render();
    assert_eq!(text, "--- !!omap\n- k: 'l\u{2028}    y'\n- m: 'n\u{2029}    '\n");
    assert_eq!(Document::parse(&text).unwrap(), doc);
}
