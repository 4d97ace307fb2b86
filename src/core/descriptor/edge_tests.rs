//! Unit tests of the descriptor's edges (tests.rs holds the rest): limits at their exact value.
use super::*;

/// A valid descriptor of exactly `len` bytes (a comment pads it).
fn descriptor_of_length(len: usize) -> String {
    let mut text = "---\nname: x\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\n\
                    reference_datetime: \"2020-01-01 00:00:00\"\nremotes: []\nfiles: []\n# "
        .to_string();
    while text.len() + 64 < len {
        text.push_str(&"x".repeat(63));
        text.push_str("\n# ");
    }
    text.push_str(&"x".repeat(len - text.len() - 1));
    text.push('\n');
    text
}

#[test]
fn a_descriptor_of_exactly_one_mib_is_read_and_one_byte_more_is_not() {
    let exact = descriptor_of_length(MAX_DESCRIPTOR_BYTES);
    assert_eq!(exact.len(), MAX_DESCRIPTOR_BYTES);
    assert_eq!(Descriptor::parse("x.yml", &exact).unwrap().name, "x");
    let over = descriptor_of_length(MAX_DESCRIPTOR_BYTES + 1);
    let e = Descriptor::parse("x.yml", &over).unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Input, "descriptor is larger than 1 MiB"));
}

/// A problem with a value points at the value, a missing or mistyped one at its key; they
/// differ when the value is written on the next line.
#[test]
fn a_value_on_the_line_after_its_key_is_reported_at_the_value() {
    let text = descriptor_of_length(300).replace("name: x\n", "name:\n  \"a/b\"\n");
    let e = Descriptor::parse("x.yml", &text).unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.starts_with("name 'a/b' may contain only"), "{e}");
    let text = descriptor_of_length(300).replace("name: x\n", "name:\n  [x]\n");
    let e = Descriptor::parse("x.yml", &text).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "'name' must be a string"));
}

/// A list item that is not a string is reported at its own line, whatever kind of scalar
/// it is (each kind is located on its own).
#[test]
fn an_item_of_each_scalar_kind_is_reported_at_its_line() {
    for item in ["true", "7", "-7", "1.5", "~", "18446744073709551616", "-9223372036854775809"] {
        let text =
            descriptor_of_length(300).replace("files: []\n", &format!("files:\n\n- {item}\n"));
        let e = Descriptor::parse("x.yml", &text).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (10, Some("files[0]")), "{item}: {e}");
    }
}

/// A repository's source becomes one line of sources.list: blank or several lines are refused.
#[test]
fn a_repository_source_is_one_non_empty_line() {
    let with_source = |source: &str| {
        descriptor_of_length(300).replace(
            "files: []\n",
            &format!(
                "files: []\nrepositories:\n- source: {source}\n  distribution: bookworm\n  \
                 packages: []\n"
            ),
        )
    };
    for bad in ["''", "'  '", "\"deb http://a b main\\ndeb http://c d main\""] {
        let e = Descriptor::parse("x.yml", &with_source(bad)).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (10, "repositories[0].source must be one non-empty sources.list line"),
            "{bad}"
        );
    }
    let d = Descriptor::parse("x.yml", &with_source("deb http://a b main")).unwrap();
    assert_eq!(d.repositories[0].source, "deb http://a b main");
}

/// The first problems are located with an index that stops at their top-level key: a nested
/// key of the same name earlier in the text (`repositories[0].packages`) does not stop it.
#[test]
fn a_top_level_key_is_located_past_a_nested_key_of_the_same_name() {
    let text = "---\nname: x\nsuites: [bookworm]\narchitectures: [amd64]\nrepositories:\n\
                - source: deb http://a b main\n  distribution: bookworm\n  packages: [cmake]\n\
                packages:\n- good\n- bad package\nreference_datetime: \"2020-01-01 00:00:00\"\n\
                remotes: []\nfiles: []\n";
    let e = Descriptor::parse("x.yml", text).unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (11, Some("packages[1]")), "{e}");
}

/// A node with no position of its own or below it (an empty mapping as a list item) is placed
/// at the nearest key above it; a list or mapping value at its first item.
#[test]
fn nodes_without_a_scalar_borrow_a_position_from_around_them() {
    let text = descriptor_of_length(300).replace("remotes: []\n", "remotes:\n\n- {}\n");
    let e = Descriptor::parse("x.yml", &text).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (7, "missing field 'remotes[0].dir'"));
    let text = descriptor_of_length(300).replace("files: []\n", "files: []\nsudo:\n\n- x\n");
    let w = Descriptor::check("x.yml", &text).warnings;
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].line, w[0].message.as_str()),
        (11, "'sudo' is a list, which Gitian takes as true; write true or false")
    );
}

/// A key written with the non-specific tag (`! 'name'`, as Psych writes it) is located like
/// any other key.
#[test]
fn a_key_with_the_non_specific_tag_is_located() {
    let text = descriptor_of_length(300).replace("name: x\n", "\n! 'name': a/b\n");
    let e = Descriptor::parse("x.yml", &text).unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (3, Some("name")), "{e}");
}
