//! Tests of the descriptor reader.

use super::chars::is_yaml11_timestamp;
use super::positions::{Positions, Seg};
use super::*;

/// Every key, in the styles real descriptors use (quoted keys, `"package" : ...`,
/// comments in lists, a block script with tabs and blank lines).
const FULL: &str = r#"---
name: "bitcoin-core-linux-0.21"
enable_cache: true
sudo: yes
distro: "debian"
suites:
- "bionic"
- "focal"
architectures:
- "amd64"
- "i386"
multiarch:
- "i386"
packages:
# Common dependencies.
- "g++-8"
- "libc6-dev:i386"
reference_datetime: "2021-01-11 13:45:09"
remotes:
- "url": "https://github.com/bitcoin/bitcoin.git"
  "dir": "bitcoin"
  "commit": "v0.21.0"
- "url": "git@example.org:x/sigs.git"
  "dir": "signature"
files:
- "osslsigncode-2.0.tar.gz"
repositories:
- "distribution": "buster-backports"
  "source": "deb http://deb.debian.org/debian/ buster-backports main"
  packages:
  - "cmake"
alternatives:
- "package" : "i686-w64-mingw32-gcc"
  "path" : "/usr/bin/i686-w64-mingw32-gcc-posix"
docker_image_digests:
- "sha256:0123abcd"
- "sha256:4567ef01"
optionals:
- "bitcoin-0.21.0-win64-debug.zip"
normalize: [tar, "gzip"]
script: |
  set -e

  	echo "tab"
  make ${MAKEOPTS}
"#;

#[test]
fn limits_are_read_and_checked() {
    let d = Descriptor::parse(
        "x.yml",
        &minimal("limits:\n  memory: 8G\n  processes: 2000\n  disk: 100000\n"),
    )
    .unwrap();
    assert_eq!(d.limits.memory_mib, Some(8192));
    assert_eq!(d.limits.processes, Some(2000));
    assert_eq!(d.limits.disk_mib, Some(100000));
    let e = errors(&minimal("limits:\n  memory: lots\n  cpus: 2\n"));
    assert!(e.iter().any(|e| e.contains("'lots' is not a size")), "{e:?}");
    assert!(e.iter().any(|e| e.contains("unknown limit 'cpus'")), "{e:?}");
    let e = errors(&minimal("limits: 8G\n"));
    assert!(e.iter().any(|e| e.contains("'limits' must be a mapping")), "{e:?}");
}

fn errors(text: &str) -> Vec<String> {
    Descriptor::check("x.yml", text).errors.iter().map(ToString::to_string).collect()
}

fn error(text: &str) -> DescriptorError {
    Descriptor::parse("x.yml", text).unwrap_err()
}

fn warnings(text: &str) -> Vec<String> {
    Descriptor::check("x.yml", text).warnings.iter().map(ToString::to_string).collect()
}

/// A minimal valid descriptor, with `extra` lines appended.
fn minimal(extra: &str) -> String {
    format!(
        "---\nname: x\nsuites:\n- bookworm\narchitectures:\n- amd64\npackages: []\n\
             reference_datetime: \"2020-01-01 00:00:00\"\nremotes: []\nfiles: []\n{extra}"
    )
}

#[test]
fn test_descriptor_parse_every_key() {
    let d = Descriptor::parse("gitian-linux.yml", FULL).unwrap();
    assert_eq!(
        d,
        Descriptor {
            name: "bitcoin-core-linux-0.21".to_owned(),
            distro: "debian".to_owned(),
            suites: vec!["bionic".to_owned(), "focal".to_owned()],
            architectures: vec!["amd64".to_owned(), "i386".to_owned()],
            packages: vec!["g++-8".to_owned(), "libc6-dev:i386".to_owned()],
            reference_datetime: Some("2021-01-11 13:45:09".to_owned()),
            remotes: vec![
                Remote {
                    url: Some("https://github.com/bitcoin/bitcoin.git".to_owned()),
                    dir: "bitcoin".to_owned(),
                    commit: Some("v0.21.0".to_owned()),
                },
                Remote {
                    url: Some("git@example.org:x/sigs.git".to_owned()),
                    dir: "signature".to_owned(),
                    commit: None,
                },
            ],
            files: vec!["osslsigncode-2.0.tar.gz".to_owned()],
            script: "set -e\n\n\techo \"tab\"\nmake ${MAKEOPTS}\n".to_owned(),
            enable_cache: true,
            sudo: true,
            multiarch: vec!["i386".to_owned()],
            repositories: vec![Repository {
                source: "deb http://deb.debian.org/debian/ buster-backports main".to_owned(),
                distribution: "buster-backports".to_owned(),
                packages: vec!["cmake".to_owned()],
            }],
            alternatives: vec![Alternative {
                package: "i686-w64-mingw32-gcc".to_owned(),
                path: "/usr/bin/i686-w64-mingw32-gcc-posix".to_owned(),
            }],
            docker_image_digests: vec!["sha256:0123abcd".to_owned(), "sha256:4567ef01".to_owned()],
            optionals: Some(vec!["bitcoin-0.21.0-win64-debug.zip".to_owned()]),
            limits: Default::default(),
            normalize: vec!["tar".to_owned(), "gzip".to_owned()],
        }
    );
    assert!(Descriptor::check("x.yml", FULL).warnings.is_empty());
}

#[test]
fn test_descriptor_defaults() {
    let d = Descriptor::parse("x.yml", &minimal("")).unwrap();
    assert_eq!(d.distro, "ubuntu");
    assert_eq!(d.script, "");
    assert!(!d.enable_cache && !d.sudo);
    assert_eq!(d.optionals, None);
    assert!(d.multiarch.is_empty() && d.repositories.is_empty() && d.alternatives.is_empty());
    // Null values of optional keys are their defaults; `optionals: []` is not null.
    let d = Descriptor::parse("x.yml", &minimal("script:\noptionals:\nsudo: ~\n")).unwrap();
    assert_eq!((d.script.as_str(), d.optionals, d.sudo), ("", None, false));
    let d = Descriptor::parse("x.yml", &minimal("optionals: []\n")).unwrap();
    assert_eq!(d.optionals, Some(vec![]));
}

#[test]
fn test_descriptor_no_document_marker_and_flow_style() {
    let text = "name: x\nsuites: [bionic]\narchitectures: [amd64]\npackages: [a, b]\n\
                    remotes: [{url: 'https://e.org/r', dir: r}]\nfiles: []\n";
    let d = Descriptor::parse("x.yml", text).unwrap();
    assert_eq!(d.packages, ["a", "b"]);
    assert_eq!(d.remotes[0].dir, "r");
}

#[test]
fn test_descriptor_error_suites_not_a_list_names_its_line() {
    let text = "---\nname: \"x\"\nenable_cache: true\n# comment\n\ndistro: ubuntu\n\
                    suites: bionic\narchitectures: [amd64]\npackages: []\nremotes: []\n\
                    reference_datetime: \"2020-01-01 00:00:00\"\nfiles: []\n";
    let e = error(text);
    assert_eq!(e.to_string(), "x.yml:7: 'suites' must be a list");
    assert_eq!((e.line, e.field.as_deref(), e.kind), (7, Some("suites"), ErrorKind::Invalid));
    assert_eq!(e.hint.as_deref(), Some("found a string; write it as a list: [\"bionic\"]"));
}

#[test]
fn test_descriptor_error_missing_field_at_document_start() {
    let text = "---\nname: x\narchitectures: [amd64]\npackages: []\nremotes: []\nfiles: []\n\
                    reference_datetime: \"2020-01-01 00:00:00\"\n";
    let e = Descriptor::parse("gitian-linux.yml", text).unwrap_err();
    assert_eq!(e.to_string(), "gitian-linux.yml:1: missing field 'suites'");
    assert_eq!((e.field.as_deref(), e.kind), (Some("suites"), ErrorKind::Missing));
    // Leading comments are not the document.
    let e = error(&format!("# a comment\n\n{}", &text[4..]));
    assert_eq!(e.to_string(), "x.yml:3: missing field 'suites'");
}

#[test]
fn test_descriptor_error_remote_dir_with_slash() {
    let text = "name: x\nremotes:\n- url: https://e.org/r\n  dir: a/b\n";
    let text = format!("{text}suites: [a]\narchitectures: [amd64]\npackages: []\nfiles: []\n");
    let e = error(&text);
    assert_eq!(
        e.to_string(),
        "x.yml:4: remotes[0].dir 'a/b' may contain only letters, digits, '_', '.' and '-'"
    );
    assert_eq!(e.field.as_deref(), Some("remotes[0].dir"));
    // The same on the item's first line, as the brief's example has it.
    let e = error("name: x\nremotes:\n- dir: a/b\n");
    assert_eq!(e.to_string(), "x.yml:1: missing field 'suites'", "errors come sorted by line");
    let all = errors("name: x\nremotes:\n- dir: a/b\n");
    assert!(
        all.contains(
            &"x.yml:3: remotes[0].dir 'a/b' may contain only letters, digits, '_', '.' and '-'"
                .to_owned()
        )
    );
}

#[test]
fn test_descriptor_every_problem_is_reported_with_its_line() {
    let text = "\
name: 'x y'
suites: [bionic, 'a b', '']
architectures:
- amd64
- arm64
packages:
- gcc
- 'x; rm -rf /'
remotes:
- url: 'https://x/a b'
  dir: ..
  commit: 1234
-
  url: https://x/y
- just-a-string
files: [.., a/b]
docker_image_digests: [a]
";
    assert_eq!(
        errors(text),
        [
            "x.yml:1: name 'x y' may contain only letters, digits, '_', '.' and '-'",
            "x.yml:2: suites[1] 'a b' may contain only letters, digits, '_', '.' and '-'",
            "x.yml:2: 'suites[2]' is empty",
            "x.yml:5: unknown architecture 'arm64'",
            "x.yml:8: packages[1] 'x; rm -rf /' may contain only letters, digits, '.', '+', \
                 '-', ':', '=', '~', '_' and '/'",
            "x.yml:10: remotes[0].url 'https://x/a b' may contain only letters, digits, '_', \
                 '@', '/', '.', ':', '+' and '-'",
            "x.yml:11: remotes[0].dir '..' cannot be '.' or '..'",
            "x.yml:12: 'remotes[0].commit' must be a string",
            "x.yml:14: missing field 'remotes[1].dir'",
            "x.yml:15: remotes[2] must be a mapping",
            "x.yml:16: files[0] '..' cannot be '.' or '..'",
            "x.yml:16: files[1] 'a/b' may contain only letters, digits, '_', '.' and '-'",
            "x.yml:17: 'docker_image_digests' has 1 entries and 'suites' 3; they must be the \
                 same size",
        ]
    );
}

#[test]
fn test_descriptor_architectures() {
    for arch in ARCHITECTURES {
        let text = minimal("").replace("- amd64", &format!("- {arch}"));
        assert_eq!(Descriptor::parse("x.yml", &text).unwrap().architectures, [arch]);
    }
    let e = error(&minimal("").replace("- amd64", "- x86_64"));
    assert_eq!(e.to_string(), "x.yml:6: unknown architecture 'x86_64'");
    assert_eq!(e.hint.as_deref(), Some("use one of i386, amd64, linux64"));
    assert_eq!(
        (bits("i386"), bits("amd64"), bits("linux64"), bits("arm64")),
        (Some(32), Some(64), Some(64), None)
    );
    assert_eq!(
        (personality("i386"), personality("amd64"), personality("linux64")),
        (Some("i386"), Some("x86_64"), Some("linux64"))
    );
}

#[test]
fn test_descriptor_reference_datetime() {
    let unquoted = minimal("").replace("\"2020-01-01 00:00:00\"", "2020-01-01 00:00:00");
    let e = error(&unquoted);
    assert_eq!(
        e.to_string(),
        "x.yml:8: 'reference_datetime' is an unquoted timestamp, which Gitian's YAML reads \
             as a time and fails on"
    );
    assert_eq!(e.hint.as_deref(), Some("quote it: reference_datetime: \"2020-01-01 00:00:00\""));
    let single = minimal("").replace("\"2020-01-01 00:00:00\"", "'2020-01-01 00:00:00'");
    assert!(Descriptor::parse("x.yml", &single).is_ok());
    for bad in ["2020-02-30 00:00:00", "2020-1-1 00:00:00", "2020-01-01T00:00:00", "soon"] {
        let text = minimal("").replace("2020-01-01 00:00:00", bad);
        assert_eq!(
            error(&text).to_string(),
            format!(
                "x.yml:8: 'reference_datetime' '{bad}' is not a date and time as \
                     'YYYY-MM-DD HH:MM:SS'"
            )
        );
    }
    // Without it, an empty remotes list is an error; a missing one always is.
    let text = minimal("").replace("reference_datetime: \"2020-01-01 00:00:00\"\n", "");
    assert_eq!(error(&text).to_string(), "x.yml:8: must supply 'reference_datetime' or 'remotes'");
    let text = minimal("").replace("remotes: []\n", "");
    assert_eq!(error(&text).to_string(), "x.yml:1: missing field 'remotes'");
}

#[test]
fn test_yaml11_timestamp_recognition() {
    for yes in
        ["2013-06-01 00:00:00", "2013-6-1 0:00:00", "2013-06-01", "2001-12-14t21:59:43.10-05:00"]
    {
        assert!(is_yaml11_timestamp(yes), "{yes}");
    }
    for no in ["2013/06/01", "2013-06", "20130601", "2013-06-01x", "2013-06-01 00:00"] {
        assert!(!is_yaml11_timestamp(no), "{no}");
    }
}

#[test]
fn test_descriptor_truthiness_of_enable_cache_and_sudo() {
    let cases: [(&str, bool, bool); 11] = [
        ("true", true, false),
        ("false", false, false),
        ("yes", true, false),
        ("off", false, false),
        ("NO", false, false),
        ("~", false, false),
        ("\"no\"", true, true),
        ("0", true, true),
        ("[]", true, true),
        ("y", true, true),
        ("oFf", false, false),
    ];
    for (value, expected, warned) in cases {
        let checked = Descriptor::check("x.yml", &minimal(&format!("enable_cache: {value}\n")));
        let d = checked.descriptor.unwrap();
        assert_eq!(d.enable_cache, expected, "{value}");
        assert_eq!(!checked.warnings.is_empty(), warned, "{value}");
    }
    assert_eq!(
        warnings(&minimal("sudo: \"false\"\n")),
        ["x.yml:11: 'sudo' is the string \"false\", which Gitian takes as true; write true or \
              false"]
    );
}

#[test]
fn test_descriptor_unknown_keys_are_warnings() {
    let text = minimal("backports_packages:\n- a\nsuite: bionic\n")
        .replace("remotes: []", "remotes:\n- dir: d\n  url: https://e.org/d\n  branch: main");
    let checked = Descriptor::check("x.yml", &text);
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    assert_eq!(
        warnings(&text),
        [
            "x.yml:12: unknown key 'remotes[0].branch' (Gitian ignores it)",
            "x.yml:14: unknown key 'backports_packages' (Gitian ignores it)",
            "x.yml:16: unknown key 'suite' (Gitian ignores it); did you mean 'suites'?",
        ]
    );
}

#[test]
fn test_descriptor_duplicate_key() {
    let e = error(&minimal("name: y\n"));
    assert_eq!(e.to_string(), "x.yml:11: duplicate key 'name' (first at line 2)");
}

#[test]
fn test_descriptor_repositories_and_alternatives_checked() {
    let text = minimal(
        "repositories:\n- source: \"deb x\"\n  packages: [a]\nalternatives:\n- package: gcc\n  \
             path: usr/bin/gcc\n- nope\n",
    );
    assert_eq!(
        errors(&text),
        [
            "x.yml:12: missing field 'repositories[0].distribution'",
            "x.yml:16: alternatives[0].path 'usr/bin/gcc' must be an absolute path",
            "x.yml:17: alternatives[1] must be a mapping",
        ]
    );
}

#[test]
fn test_descriptor_wrong_types() {
    assert_eq!(
        errors(&minimal("script: [a]\nmultiarch: i386\n")),
        ["x.yml:11: 'script' must be a string", "x.yml:12: 'multiarch' must be a list"]
    );
    let e = error(&minimal("").replace("- bookworm", "- 18.04"));
    assert_eq!(e.to_string(), "x.yml:4: 'suites[0]' must be a string");
    assert_eq!(e.hint.as_deref(), Some("found a number; quote it: \"18.04\""));
    assert_eq!(
        error(&minimal("").replace("packages: []", "packages:")).to_string(),
        "x.yml:7: 'packages' must be a list"
    );
    assert_eq!(
        error("- a\n- b\n").to_string(),
        "x.yml:1: descriptor must be a mapping of keys, not a list"
    );
    assert_eq!(error("# nothing\n").to_string(), "x.yml:1: descriptor is empty");
    assert_eq!(error("").to_string(), "x.yml:1: descriptor is empty");
}

#[test]
fn test_descriptor_yaml_syntax_error_has_its_line() {
    let e = error("name: x\nsuites: [a\narchitectures: [amd64]\n\tfoo: 1\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(
        e.to_string(),
        "x.yml:3: invalid YAML: did not find expected ',' or ']', while parsing a flow \
             sequence at line 2 column 9"
    );
    assert_eq!(e.field, None);
}

/// The shape of Bitcoin-ABC's broken gitian-linux.yml (89bbb0531ea5).
#[test]
fn test_descriptor_typographic_quote_points_at_its_line() {
    let text =
        "---\nname: \"bitcoin-xbc-0.15-linux\u{201d}\nenable_cache: true\nsuites:\n- \"trusty\"\n";
    let e = error(text);
    assert_eq!(
        e.to_string(),
        "x.yml:2: the string opened with '\"' is closed with '\u{201d}', a typographic quote, so \
             YAML reads on and fails at line 5: did not find expected key"
    );
    assert_eq!(e.hint.as_deref(), Some("replace '\u{201d}' with '\"' on line 2"));
}

#[test]
fn test_descriptor_alias_bomb_is_refused_quickly() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    let e = error(&text);
    assert_eq!(
        e.message,
        "the YAML expands to too many values (an alias bomb?); descriptors need no aliases"
    );
    // A modest alias is fine.
    let d = Descriptor::parse("x.yml", &minimal("x: &n bookworm\n").replace("- bookworm", "- *n"));
    assert_eq!(d.unwrap_err().to_string(), "x.yml:4: invalid YAML: unknown anchor");
    let text = format!("x: &n bookworm\n{}", &minimal("")[4..]).replace("- bookworm", "- *n");
    assert_eq!(Descriptor::parse("x.yml", &text).unwrap().suites, ["bookworm"]);
}

#[test]
fn test_descriptor_tags() {
    assert_eq!(
        error(&minimal("").replace("name: x", "name: !foo x")).to_string(),
        "x.yml:2: YAML tags (like !foo) are not supported in descriptors"
    );
    let d = Descriptor::parse("x.yml", &minimal("").replace("name: x", "name: ! 'x'")).unwrap();
    assert_eq!(d.name, "x");
    let d = Descriptor::parse("x.yml", &minimal("").replace("name: x", "name: !!str 010")).unwrap();
    assert_eq!(d.name, "010");
}

#[test]
fn test_descriptor_bytes_not_utf8_and_too_large() {
    let e = Descriptor::parse_bytes("x.yml", b"name: x\nsuites: [b\xffionic]\n").unwrap_err();
    assert_eq!(e.to_string(), "x.yml:2: not valid UTF-8: byte 0xff at column 11");
    assert_eq!(e.kind, ErrorKind::Input);
    let mut big = String::new();
    while big.len() <= MAX_DESCRIPTOR_BYTES {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let e = error(&big);
    let line = big[..MAX_DESCRIPTOR_BYTES].matches('\n').count() + 1;
    assert_eq!(e.to_string(), format!("x.yml:{line}: descriptor is larger than 1 MiB"));
}

#[test]
fn test_descriptor_second_document_is_refused_at_its_line() {
    let e = error(&minimal("---\nname: y\n"));
    assert_eq!(
        e.to_string(),
        "x.yml:11: invalid YAML: more than one YAML document (a second '---')"
    );
}

/// One parse places every node: keys exactly, scalars exactly, a mapping or list at its first
/// scalar (the same line; in flow style one column on), a missing path nowhere.
#[test]
fn test_locate_paths() {
    let text = "---\nname: x\nremotes:\n-\n  url: u\n  dir: d\n- {dir: e,\n   url: v}\nlist: [a,\n  b]\nempty: []\n";
    let p = Positions::index(text);
    let key = |k: &str| Seg::Key(k.to_owned(), 0);
    let locate = |path: &[Seg], at_key| p.locate(path, at_key);
    assert_eq!(locate(&[key("name")], true), Some((2, 1)));
    assert_eq!(locate(&[key("name")], false), Some((2, 7)));
    assert_eq!(locate(&[key("remotes"), Seg::Index(0)], false), Some((5, 3)));
    assert_eq!(locate(&[key("remotes"), Seg::Index(0), key("dir")], false), Some((6, 8)));
    assert_eq!(locate(&[key("remotes"), Seg::Index(1)], false), Some((7, 4)));
    assert_eq!(locate(&[key("remotes"), Seg::Index(1), key("url")], true), Some((8, 4)));
    assert_eq!(locate(&[key("list"), Seg::Index(1)], false), Some((10, 3)));
    assert_eq!(locate(&[key("empty")], false), Some((11, 1)));
    assert_eq!(locate(&[key("nope")], false), None);
    assert_eq!(locate(&[key("remotes"), Seg::Index(5)], false), None);
    assert_eq!(p.scalar(&[key("remotes")]), None);
    assert_eq!(p.scalar(&[key("list"), Seg::Index(0)]), Some((9, 8)));
}

/// Issue 11 item 15: 64,000 nested `[` took 11 s before "recursion limit exceeded"; the
/// depth is now refused by a linear scan, at the line it goes too deep, with the limit.
#[test]
fn test_descriptor_deep_nesting_is_refused_with_its_limit() {
    let e = error(&"[".repeat(64_000));
    assert_eq!(e.to_string(), "x.yml:1: the YAML nests deeper than 128 levels; descriptors need 3");
    let e = error(&format!("name: x\nlist: {}", "[\n".repeat(64_000)));
    assert_eq!(e.line, 2 + 128);
    // At the limit the reader decides, as before.
    let ok = minimal(&format!("extra: {}{}\n", "[".repeat(100), "]".repeat(100)));
    assert_eq!(Descriptor::check("x.yml", &ok).errors, vec![]);
}

/// Issue 11 item 15: 4,000 lines of `kN: 1` took 10 s (each warning parsed the text again).
/// Every warning still names its own line.
#[test]
fn test_descriptor_thousands_of_unknown_keys_each_have_their_line() {
    let text = minimal(&(0..4000).map(|i| format!("k{i}: 1\n")).collect::<String>());
    let checked = Descriptor::check("x.yml", &text);
    assert_eq!(checked.errors, vec![]);
    assert_eq!(checked.warnings.len(), 4000);
    for (i, w) in checked.warnings.iter().enumerate() {
        assert_eq!(w.line, 11 + i, "{w}");
        assert_eq!(w.message, format!("unknown key 'k{i}' (Gitian ignores it)"));
    }
}

/// Issue 11 item 15: 20,000 duplicate keys took over 20 s (a quadratic count, and each
/// duplicate located before the error cap was checked). The first 50 are reported.
#[test]
fn test_descriptor_twenty_thousand_duplicate_keys_stop_at_the_cap() {
    let text = minimal(&"name: y\n".repeat(20_000));
    let errors = Descriptor::check("x.yml", &text).errors;
    assert_eq!(errors.len(), 50);
    assert_eq!(errors[0].to_string(), "x.yml:11: duplicate key 'name' (first at line 2)");
    assert_eq!(errors[49].line, 60);
}

/// Many problems in list items, nested keys and non-string keys: each located once.
#[test]
fn test_descriptor_many_nested_problems_keep_their_lines() {
    let items: String = (0..3000).map(|i| format!("- {{dir: d{i}, x{i}: 1}}\n")).collect();
    let text = minimal("").replace("remotes: []\n", &format!("remotes:\n{items}"));
    let checked = Descriptor::check("x.yml", &text);
    assert_eq!(checked.errors, vec![]);
    assert_eq!(checked.warnings.len(), 3000);
    assert_eq!(checked.warnings[2999].line, 10 + 2999);
    assert_eq!(checked.warnings[2999].field.as_deref(), Some("remotes[2999].x2999"));
    let text = minimal(&(0..5000).map(|i| format!("{i}: 1\n")).collect::<String>());
    assert_eq!(Descriptor::check("x.yml", &text).warnings.len(), 5000);
}

/// Issue 13: gverify reads only `name` of a descriptor; so does `read_name`.
#[test]
fn test_descriptor_read_name_needs_only_the_name() {
    assert_eq!(Descriptor::read_name("x.yml", b"name: demo\n").unwrap(), "demo");
    assert_eq!(Descriptor::read_name("x.yml", b"---\nname: \"demo\"\nx: [\n]\n").unwrap(), "demo");
    let e = Descriptor::read_name("x.yml", b"suites: [a]\n").unwrap_err();
    assert_eq!(e.to_string(), "x.yml:1: missing field 'name'");
    let e = Descriptor::read_name("x.yml", b"# c\nname: a/b\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.yml:2: name 'a/b' may contain only letters, digits, '_', '.' and '-'"
    );
    let e = Descriptor::read_name("x.yml", b"name: [x\n").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(Descriptor::read_name("x.yml", b"name: \xff\n").is_err());
}

/// Issue 15: `normalize:` names formats `git gitian normalize` handles, each once; errors name
/// the line and the item.
#[test]
fn test_descriptor_normalize_key() {
    let d = Descriptor::parse("x.yml", &minimal("normalize:\n- zip\n- ar\n")).unwrap();
    assert_eq!(d.normalize, ["zip", "ar"]);
    for absent in ["", "normalize:\n", "normalize: []\n"] {
        assert!(Descriptor::parse("x.yml", &minimal(absent)).unwrap().normalize.is_empty());
    }
    assert!(warnings(&minimal("normalize: [tar]\n")).is_empty());
    let e = error(&minimal("normalize:\n- tar\n- rar\n"));
    assert_eq!(e.to_string(), "x.yml:13: unknown normalize format 'rar'");
    assert_eq!(e.field.as_deref(), Some("normalize[1]"));
    assert_eq!(e.hint.as_deref(), Some("use some of tar, gzip, zip, ar"));
    let e = error(&minimal("normalize: [gzip, tar, gzip]\n"));
    assert_eq!(e.to_string(), "x.yml:11: normalize format 'gzip' is listed twice");
    assert_eq!(e.hint.as_deref(), Some("keep one (the first is normalize[0])"));
    let e = error(&minimal("normalize: tar\n"));
    assert_eq!(e.to_string(), "x.yml:11: 'normalize' must be a list");
    assert_eq!(e.hint.as_deref(), Some("found a string; write it as a list: [\"tar\"]"));
    assert_eq!(errors(&minimal("normalize: [1]\n")), ["x.yml:11: 'normalize[0]' must be a string"]);
}
