//! The reader against libyaml's strings, and its bounds.

use super::super::{Document, Node};

fn value(text: &str, key: &str) -> Node {
    let doc = Document::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    doc.get(key).unwrap_or_else(|| panic!("{text:?}: no {key}")).clone()
}

/// `big` is `small`'s input eight times over: a reader linear in its input reads `small`
/// eight times in about the time it reads `big` once; a quadratic one takes eight times
/// longer for `big`. Compared with each other, not with a clock's seconds, and each side
/// timed over as much work, so that a loaded machine slows both alike (a short run fits in
/// one time slice where a long one is preempted: under a load of 17 on 2 cores, one run of
/// `small` against one of `big` gave 13x to 32x); the fastest of three, taken in turns, and
/// a factor of three of room.
fn assert_linear(what: &str, small: impl Fn(), big: impl Fn()) {
    let time = |f: &dyn Fn()| {
        let start = std::time::Instant::now();
        f();
        start.elapsed()
    };
    let (mut s, mut b) = (std::time::Duration::MAX, std::time::Duration::MAX);
    for _ in 0..3 {
        s = s.min(time(&|| (0..8).for_each(|_| small())));
        b = b.min(time(&big));
    }
    assert!(
        b < s * 3 + std::time::Duration::from_millis(50),
        "{what}: {s:?} for 8 runs of 1x, {b:?} for one of 8x"
    );
}

fn s(text: &str) -> String {
    match value(text, "a") {
        Node::Str(s) => s,
        other => panic!("{text:?}: {other:?}"),
    }
}

// Expected strings are what libyaml 0.2.5 reads from the same bytes.

#[test]
fn nested_omap_indented_by_four_spaces() {
    // gitian.sigs 0.10.0-linux and other 2014-2015 asserts.
    let text = "--- !omap \n- out_manifest: |\n    h  f\n\n- base_manifests: !omap \n    - precise-amd64: |\n        x  a.deb\n    - precise-i386: |\n        y  b.deb\n- name: n\n";
    let Node::Omap(inner) = value(text, "base_manifests") else { panic!() };
    assert_eq!(
        inner,
        vec![
            ("precise-amd64".into(), Node::Str("x  a.deb\n".into())),
            ("precise-i386".into(), Node::Str("y  b.deb\n".into())),
        ]
    );
    assert_eq!(value(text, "name"), Node::Str("n".into()));
    // One space deeper than the parent's dash is neither the parent's level nor a map.
    assert!(Document::parse("--- !omap\n- a: !omap\n - b: x\n").is_err());
    assert_eq!(value("--- !omap\n  - a: x\n  - b: y\n", "b"), Node::Str("y".into()));
}

#[test]
fn escaped_space_after_a_folded_break_keeps_both_spaces() {
    // `hash` at a line end, then `\ name`: the fold gives one space, the escape another.
    let text =
        "--- !omap\n- a: ! \"Reading\\nabc\n      \\ adduser.deb\\ndef\n      \\ apt.deb\\n\"\n";
    assert_eq!(s(text), "Reading\nabc  adduser.deb\ndef  apt.deb\n");
    assert_eq!(s("--- !omap\n- a: \"x\n  \\ y\"\n"), "x  y");
    assert_eq!(s("--- !omap\n- a: \"x\\\n  \\ y\"\n"), "x y");
    assert_eq!(s("--- !omap\n- a: \"x  \n\n  \\ y\"\n"), "x\n y");
    assert_eq!(s("--- !omap\n- a: \"x\\\n\n  y\"\n"), "x\ny");
    assert_eq!(s("--- !omap\n- a: \"x \\\n  y\"\n"), "x y");
    assert_eq!(s("--- !omap\n- a: \"x\ty\t\n  z\"\n"), "x\ty z");
    assert_eq!(s("--- !omap\n- a: 'x\n  \t y'\n"), "x y");
    assert_eq!(s("--- !omap\n- a: 'x\n- b: y'\n"), "x - b: y");
}

#[test]
fn escapes_and_line_breaks_as_libyaml() {
    assert_eq!(
        s("--- !omap\n- a: \"\\0\\a\\e\\N\\_\\L\\P\\x41\\u00e9\"\n"),
        "\0\u{7}\u{1b}\u{85}\u{a0}\u{2028}\u{2029}A\u{e9}"
    );
    // A NUL from an escape is a character like any other, not a marker.
    assert_eq!(s("--- !omap\n- a: \"x\\0\n  y\"\n"), "x\0 y");
    assert_eq!(s("--- !omap\r- a: x\r- b: y\r"), "x");
    assert_eq!(s("--- !omap\r\n- a: |\r\n    x\r\n    y\r\n"), "x\ny\n");
    assert!(Document::parse("--- !omap\n- a: 'x\n---\n  y'\n").is_err());
    assert!(Document::parse("--- !omap\n- a: \"\\q\"\n").is_err());
    assert!(Document::parse("--- !omap\n- a: \"\\ud800\"\n").is_err());
}

#[test]
fn blocks_and_plain_scalars_as_libyaml() {
    assert_eq!(s("--- !omap\n- a: |2\n    x\n"), "x\n");
    assert_eq!(s("--- !omap\n- a: |1\n    x\n"), " x\n");
    assert_eq!(s("--- !omap\n- a: |+\n    x\n\n\n- b: y\n"), "x\n\n\n");
    assert_eq!(s("--- !omap\n- a: >\n    x\n    y\n\n     z\n    w\n"), "x y\n\n z\nw\n");
    assert_eq!(s("--- !omap\n- a: x\n   - y\n"), "x - y");
    assert_eq!(s("--- !omap\n- a: x # c\n"), "x");
    assert_eq!(s("--- !omap\n- a: |\n   x\n  # c\n- b: y\n"), "x\n");
    assert!(Document::parse("--- !omap\n- a: |\n  x\n").is_err());
    assert!(Document::parse("--- !omap\n- a: x\n  y\n").is_err());
    assert_eq!(value("--- !omap\n-   a: x\n-   b:\n     - c\n", "b"), Node::Seq(vec!["c".into()]));
    assert!(Document::parse("--- !omap\n- a:\n - c\n").is_err());
}

#[test]
fn a_huge_line_is_quoted_short_and_read_fast() {
    // Bad input item 14: `--- !omap` CR, 300,000 spaces, `x`.
    let line = |n: usize| format!("--- !omap\r{}x", " ".repeat(n));
    let (short, long) = (line(37_500), line(300_000));
    assert_linear("a long line", || drop(Document::parse(&short)), || drop(Document::parse(&long)));
    let e = Document::parse(&long).unwrap_err();
    assert!(e.to_string().len() < 200, "{}", e.to_string().len());
    let text = format!("--- !omap {}x", " ".repeat(300_000));
    let e = Document::parse(&text).unwrap_err();
    assert!(e.to_string().len() < 200, "{}", e.to_string().len());
    let text = format!("--- {}\n", "y".repeat(1 << 20));
    let e = Document::parse(&text).unwrap_err();
    assert!(e.message.ends_with("...'"), "{e}");
}

#[test]
fn many_keys_and_deep_nesting_stay_linear_and_bounded() {
    let keys = |n: usize| {
        let mut text = String::from("--- !omap\n");
        for i in 0..n {
            text.push_str(&format!("- k{i}: 1\n"));
        }
        text
    };
    let (few, many) = (keys(2_500), keys(20_000));
    assert_linear("many keys", || drop(Document::parse(&few)), || drop(Document::parse(&many)));
    assert_eq!(Document::parse(&many).unwrap().entries.len(), 20_000);
    let dup = format!("{many}- k7: 2\n");
    assert!(Document::parse(&dup).unwrap_err().message.contains("duplicate key 'k7'"));
    let mut deep = String::from("--- !omap\n");
    for d in 0..200 {
        deep.push_str(&format!("{}- k: !omap\n", " ".repeat(2 * d)));
    }
    assert!(Document::parse(&deep).unwrap_err().message.contains("nested too deeply"));
}

#[test]
fn lines_end_at_lf_cr_and_crlf_as_yaml_says() {
    use super::split_lines as lines;
    assert_eq!(lines(""), vec![]);
    assert_eq!(lines("a"), vec![(0, "a")]);
    assert_eq!(lines("a\n"), vec![(0, "a")]);
    assert_eq!(lines("a\nb"), vec![(0, "a"), (2, "b")]);
    assert_eq!(lines("a\r\nb\r\n"), vec![(0, "a"), (3, "b")]);
    assert_eq!(lines("a\rb\n\nc"), vec![(0, "a"), (2, "b"), (4, ""), (5, "c")]);
    assert_eq!(lines("\r\n\r\n"), vec![(0, ""), (2, "")]);
    assert_eq!(lines("a\r\rb"), vec![(0, "a"), (2, ""), (3, "b")]);
    assert_eq!(lines("a\n\rb"), vec![(0, "a"), (2, ""), (3, "b")]);
    assert_eq!(lines("é\r\nü"), vec![(0, "é"), (4, "ü")]);
}

#[test]
fn empty_documents_and_empty_nested_maps() {
    for text in ["--- !!omap []\n", "--- !omap []\n", "--- []\n"] {
        let doc = Document::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(doc.entries.is_empty(), "{text:?}");
    }
    // Without `[]` a document must have entries.
    assert!(Document::parse("--- !!omap\n").is_err());
    // A nested `!!omap` followed by its parent's next item is an empty map.
    let text = "--- !!omap\n- a: !!omap\n- b: x\n";
    assert_eq!(value(text, "a"), Node::Omap(vec![]));
    assert_eq!(value(text, "b"), Node::Str("x".into()));
    assert_eq!(value("--- !!omap\n- a: !!omap []\n", "a"), Node::Omap(vec![]));
    assert!(Document::parse("--- !!omap [x]\n").is_err());
}

#[test]
fn plain_scalars_fold_over_blank_lines_and_lists_refuse_deeper_items() {
    assert_eq!(s("--- !!omap\n- a: x\n\n   y\n"), "x\ny");
    assert_eq!(s("--- !!omap\n- a: x\n\n\n   y\n   z\n"), "x\n\ny z");
    // A plain item goes on over deeper lines, `-` included (libyaml: "x - y"); after a quoted
    // item a deeper line is an error.
    let list = |text: &str| value(text, "a");
    assert_eq!(list("--- !!omap\n- a:\n  - x\n   - y\n"), Node::Seq(vec!["x - y".into()]));
    let e = Document::parse("--- !!omap\n- a:\n  - 'x'\n   - y\n").unwrap_err();
    assert_eq!(
        (e.line, e.to_string().contains("unexpected indentation in a list")),
        (4, true),
        "{e}"
    );
}

#[test]
fn block_scalars_of_blank_lines_keep_them_only_with_plus() {
    let text = "--- !!omap\n- a: |+\n\n\n- b: |\n\n- c: |-\n\n- d: >+\n\n- e: x\n";
    let got: Vec<_> = ["a", "b", "c", "d"].map(|k| value(text, k)).into();
    let want = ["\n\n", "", "", "\n"].map(|v| Node::Str(v.into()));
    assert_eq!(got, want);
}

#[test]
fn a_final_line_break_ends_the_last_line_and_adds_none() {
    // The error is on the `---` line, the last one: no empty line after it.
    let e = Document::parse("--- !!omap\n").unwrap_err();
    assert_eq!((e.line, e.to_string().contains("no entries")), (1, true), "{e}");
    let e = Document::parse("--- !!omap\r\n").unwrap_err();
    assert_eq!(e.line, 1, "{e}");
}

#[test]
fn empty_values_and_list_items_continued_past_their_column() {
    let text = "--- !!omap\n- a:\n- b: x\n";
    assert_eq!(value(text, "a"), Node::Null);
    assert_eq!(value(text, "b"), Node::Str("x".into()));
    let list = "--- !!omap\n- a:\n  - x\n     y\n  - z\n";
    assert_eq!(value(list, "a"), Node::Seq(vec!["x y".into(), "z".into()]));
}

#[test]
fn backslashes_escape_only_in_double_quotes() {
    assert_eq!(s("--- !!omap\n- a: 'x\\ny\\f'\n"), "x\\ny\\f");
    // Also where a backslash starts the text or a word.
    assert_eq!(s("--- !!omap\n- a: '\\n x \\t'\n"), "\\n x \\t");
}

#[test]
fn form_feed_and_vertical_tab_escapes() {
    assert_eq!(s("--- !!omap\n- a: \"x\\fy\\vz\"\n"), "x\u{c}y\u{b}z");
}

#[test]
fn every_simple_escape_and_the_eight_digit_one() {
    // Backslash then b, t, TAB, n, r, `"`, `/`, backslash, then \U with eight hex digits.
    assert_eq!(
        s("--- !!omap\n- a: \"\\b\\t\\\t\\n\\r\\\"\\/\\\\\\U0001F600.\"\n"),
        "\u{8}\t\t\n\r\"/\\\u{1F600}."
    );
    // Each read to its own end: the character after an escape is the next one.
    assert_eq!(s("--- !!omap\n- a: \"\\x41B\\u00e9C\\U00000044E\"\n"), "AB\u{e9}CDE");
}

#[test]
fn directives_and_bare_or_tab_document_starts() {
    // Ruby's Psych reads each of these as the map a: b.
    let ab = vec![("a".to_string(), Node::Str("b".into()))];
    for text in [
        "%YAML 1.1\n%TAG !e! tag:example.com,2000:\n--- !!omap\n- a: b\n",
        "%YAML 1.1\n\n# c\n%TAG !e! tag:example.com,2000:\n--- !!omap\n- a: b\n",
        "---\n- a: b\n",
        "---\t!!omap\n- a: b\n",
        "--- !!omap\n- a: b\n...\n",
        "- a: b\n",
    ] {
        let doc = Document::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(doc.entries, ab, "{text:?}");
    }
    let e = Document::parse("%YAML 1.1\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (1, "empty document"));
}

#[test]
fn content_after_the_map_is_refused_on_its_line() {
    let e = Document::parse("--- !omap\n  - a: x\nb\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (3, "unexpected content after the ordered map"));
    // After `...` the document has ended: the rest is not read (as Psych, which loads the first).
    assert_eq!(value("--- !omap\n- a: x\n...\nb\n", "a"), Node::Str("x".into()));
}

#[test]
fn a_dash_glued_to_text_is_no_item() {
    // libyaml refuses both too (`-a: b` is a map, not an ordered map's item).
    for text in ["--- !!omap\n-a: b\n", "--- !!omap\n- a:\n  -x\n"] {
        let e = Document::parse(text).unwrap_err();
        assert_eq!(e.line, text.lines().count(), "{text:?}: {e}");
    }
    // `-x` under a key is the plain text of that key's value, continued, in libyaml.
    assert_eq!(s("--- !!omap\n- a: y\n   -x\n"), "y -x");
}

/// libyaml's other line breaks inside quotes (Ruby reads the same): NEL folds as a line feed
/// does, LS and PS are kept, a break after them kept too.
#[test]
fn nel_ls_and_ps_break_quoted_lines() {
    let text = "--- !!omap\n- a: \"a\u{2028}  b\u{85}  c\r\n\n  d\u{2029}\n e\"\n";
    assert_eq!(s(text), "a\u{2028}b c\nd\u{2029}\ne");
    assert_eq!(s("--- !!omap\n- a: 'a\u{2028}\u{2028}b'\n"), "a\u{2028}\u{2028}b");
    assert!(Document::parse("--- !!omap\n- a: 'x\u{2028}--- y'\n").is_err());
}

#[test]
fn a_line_that_is_no_item_is_named_as_such() {
    let cases = [
        ("--- !!omap\n- a: b\nc: d\n", 3, "expected an ordered-map item '- key: value'"),
        (
            "--- !!omap\n- a: !!omap\n  - b: c\n  ...\n",
            4,
            "expected an ordered-map item '- key: value'",
        ),
        ("--- !!omap\n- a: b\n - c: d\n", 3, "unexpected indentation"),
    ];
    for (text, line, message) in cases {
        let e = Document::parse(text).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (line, message), "{text:?}");
    }
}

/// The key's column after several spaces past `-` bounds its value's lines (Ruby: `x` at column
/// 5 is the block's text, at column 4 or a plain continuation at 3 an error).
#[test]
fn a_key_after_several_spaces_sets_the_column_to_pass() {
    assert_eq!(s("--- !!omap\n-   a: |\n     x\n"), "x\n");
    assert!(Document::parse("--- !!omap\n-   a: |\n    x\n").is_err());
    assert!(Document::parse("--- !!omap\n-   a: x\n   y\n").is_err());
}

/// The nesting bound counts depth, not how many nested maps a document holds.
#[test]
fn many_sibling_nested_maps_are_not_too_deep() {
    let mut text = String::from("--- !!omap\n");
    for i in 0..100 {
        text.push_str(&format!("- k{i}: !!omap\n  - x: !!omap\n    - y: z\n"));
    }
    assert_eq!(Document::parse(&text).unwrap().entries.len(), 100);
}

/// Each checked against Ruby's Psych: the same values, or an error there too.
#[test]
fn comments_quoted_keys_and_what_follows_a_quote() {
    assert_eq!(value("--- !!omap\n- a: # c\n- b: x\n", "a"), Node::Null);
    assert_eq!(s("--- !!omap\n- a: x\n   # c\n- b: y\n"), "x");
    let text = "--- !!omap\n- 'a: b': x\n- \"y\": z\n- 'c' : w\n";
    let keys: Vec<_> = Document::parse(text).unwrap().entries.into_iter().map(|e| e.0).collect();
    assert_eq!(keys, ["a: b", "y", "c"]);
    assert_eq!(s("--- !!omap\n- a: 'x' # c\n"), "x");
    let e = Document::parse("--- !!omap\n- a: 'x' y\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "unexpected text after a quoted string"));
    let e = Document::parse("--- !!omap\n- a: !!omap\n - b: x\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (3, "unexpected indentation in a nested ordered map"));
}

#[test]
fn a_block_header_has_one_chomping_and_one_indent_digit() {
    for header in ["|-+", "|22", "|0", "|x", ">+-"] {
        let e = Document::parse(&format!("--- !!omap\n- a: {header}\n   x\n")).unwrap_err();
        let want = format!("bad block scalar header '{header}'");
        assert_eq!((e.line, e.message.as_str()), (2, want.as_str()));
    }
    assert_eq!(s("--- !!omap\n- a: |-2\n     x\n"), " x");
    assert_eq!(s("--- !!omap\n- a: |2-\n     x\n"), " x");
}

#[test]
fn an_empty_list_item_is_an_empty_string() {
    // Ruby reads nil: the model holds strings only.
    assert_eq!(
        value("--- !!omap\n- a:\n  -\n  - x\n", "a"),
        Node::Seq(vec![String::new(), "x".into()])
    );
}

#[test]
fn an_unterminated_quoted_key_is_named_on_its_line() {
    for text in ["--- !!omap\n- a: x\n- 'b: y\n", "--- !!omap\n- a: x\n- \"b: y\n"] {
        let e = Document::parse(text).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (3, "unterminated quoted key"), "{text:?}");
    }
}

/// A list ends at its parent's next item; a line at the list's level that is no item is an
/// error of the map holding it (Ruby refuses it too).
#[test]
fn a_list_ends_at_the_next_item_of_its_map() {
    let text = "--- !!omap\n- a:\n  - x\n- b: y\n";
    assert_eq!(value(text, "a"), Node::Seq(vec!["x".into()]));
    assert_eq!(value(text, "b"), Node::Str("y".into()));
    let e = Document::parse("--- !!omap\n- a:\n  - x\n  y\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (4, "unexpected indentation"));
}

/// `---` and `...` end a quoted string only at a line's start and before a blank (Ruby).
#[test]
fn document_markers_inside_a_line_are_text() {
    let text = "--- !!omap\n- a: 'wait ... ok --- x'\n- b: \"x\n  ...y\"\n";
    assert_eq!(value(text, "a"), Node::Str("wait ... ok --- x".into()));
    assert_eq!(value(text, "b"), Node::Str("x ...y".into()));
}

/// Ruby: in a `>` block an empty line between two lines is the one break (no space), empty
/// lines first are breaks, more-indented lines keep theirs; a block of blank lines keeps none
/// of their spaces.
#[test]
fn folded_blocks_as_libyaml_folds_them() {
    let cases = [
        ("    a\n\n    b\n", "a\nb\n"),
        ("    a\n\n\n    b\n", "a\n\nb\n"),
        ("    a\n     b\n    c\n", "a\n b\nc\n"),
        ("\n    a\n    b\n", "\na b\n"),
    ];
    for (body, want) in cases {
        assert_eq!(s(&format!("--- !!omap\n- a: >\n{body}")), want, "{body:?}");
    }
    assert_eq!(s("--- !!omap\n- a: |+\n   \n- b: y\n"), "\n");
}

#[test]
fn a_doubled_quote_in_single_quotes_is_one_quote() {
    assert_eq!(s("--- !!omap\n- a: 'it''s ''x'''\n"), "it's 'x'");
    assert_eq!(s("--- !!omap\n- a: ''''\n"), "'");
}
