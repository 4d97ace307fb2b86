//! `git gitian lint`: the real descriptors of `../shared/descriptors/` and broken ones.

use std::path::{Path, PathBuf};

use crate::common::*;

/// The one real descriptor that is not valid YAML (its `name` closes with a typographic quote).
const INVALID: &str =
    "Bitcoin-ABC__bitcoin-abc__contrib_gitian-descriptors_gitian-linux.yml__89bbb0531ea5.yml";

/// The shared real descriptors (`../shared/descriptors`), as the workplace lays them out.
fn descriptors_dir() -> PathBuf {
    let p = root().join("../shared/descriptors");
    if p.exists() { p } else { PathBuf::from("/work/shared/descriptors") }
}

fn real_descriptors() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(descriptors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    names.sort();
    names
}

/// Writes `files` into a temp dir and runs `lint` on them there, by relative name.
fn lint(files: &[(&str, &[u8])]) -> (tempfile::TempDir, std::process::Output) {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    let mut args = vec!["lint"];
    args.extend(files.iter().map(|(n, _)| *n));
    let out = run_in(tmp.path(), &args);
    (tmp, out)
}

const GOOD: &str = r#"---
name: "bitcoin-core-linux-0.20"
enable_cache: true
suites:
- "bionic"
architectures:
- "amd64"
packages:
- "curl"
- "g++-8"
remotes:
- "url": "https://github.com/bitcoin/bitcoin.git"
  "dir": "bitcoin"
files: []
script: |
  make
"#;

#[test]
fn test_lint_real_descriptors_only_the_invalid_one_fails() {
    let dir = descriptors_dir();
    let names = real_descriptors();
    assert!(names.len() >= 12, "expected the shared descriptors in {}", dir.display());
    assert!(names.iter().any(|n| n == INVALID));
    let mut args = vec!["lint".to_owned()];
    args.extend(names.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_in(&dir, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let stdout = stdout(&out);
    let ok: Vec<&str> = stdout.lines().collect();
    assert_eq!(ok.len(), names.len() - 1, "{stdout}");
    for name in names.iter().filter(|n| *n != INVALID) {
        assert!(
            stdout.contains(&format!("ok: {name}: ")),
            "{name} did not pass:\n{}",
            stderr(&out)
        );
    }
    assert!(stdout.contains(
        "ok: bitcoin__bitcoin__contrib_gitian-descriptors_gitian-linux.yml__2ecaf214331b.yml: \
         bitcoin-core-linux-22, suites focal, architectures amd64, remotes bitcoin, 24 packages\n"
    ));
    assert!(stdout.contains(
        "ok: zcash__zcash__contrib_gitian-descriptors_gitian-linux.yml__1922653b64d2.yml: \
         zcash-5.8.0, suites bookworm bullseye buster, architectures amd64, remotes zcash, \
         21 packages\n"
    ));
    assert!(stdout.contains(
        "ok: arlolra__tor-browser-bundle__gitian_descriptors_linux_gitian-sandbox.yml__735537ef81d4.yml: \
         sandbox-linux, suites jessie, architectures i386 amd64, remotes errors gb sandbox, \
         6 packages\n"
    ));

    let stderr = stderr(&out);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors,
        [format!(
            "error: {INVALID}:2: the string opened with '\"' is closed with '\u{201d}', a \
             typographic quote, so YAML reads on and fails at line 5: did not find expected key"
        )]
    );
    assert!(stderr.contains("hint: replace '\u{201d}' with '\"' on line 2\n"), "{stderr}");
    // Keys Gitian never reads are reported, not refused.
    assert!(stderr.contains(
        "warning: arlolra__tor-browser-bundle__gitian_descriptors_linux_gitian-sandbox.yml__735537ef81d4.yml:17: \
         unknown key 'backports_packages' (Gitian ignores it)\n"
    ));
}

#[test]
fn test_lint_every_real_descriptor_alone() {
    let dir = descriptors_dir();
    for name in real_descriptors() {
        let out = run_in(&dir, &["lint", &name]);
        let expected = if name == INVALID { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(expected), "{name}: {}", stderr(&out));
    }
}

#[test]
fn test_lint_good_descriptor_summary() {
    let (_tmp, out) = lint(&[("gitian-linux.yml", GOOD.as_bytes())]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ok: gitian-linux.yml: bitcoin-core-linux-0.20, suites bionic, architectures amd64, \
         remotes bitcoin, 2 packages\n"
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn test_lint_bad_descriptors_exact_errors() {
    let missing_suites = GOOD.replace("suites:\n- \"bionic\"\n", "");
    let suites_string = GOOD.replace("suites:\n- \"bionic\"\n", "suites: bionic\n");
    let bad_arch = GOOD.replace("- \"amd64\"", "- \"arm64\"");
    let bad_name = GOOD.replace("bitcoin-core-linux-0.20", "bitcoin core");
    let bad_url = GOOD.replace("bitcoin/bitcoin.git", "bitcoin/bitcoin.git?x=1");
    let bad_dir = GOOD.replace("\"dir\": \"bitcoin\"", "\"dir\": \"../bitcoin\"");
    let unquoted_date =
        GOOD.replace("files: []", "files: []\nreference_datetime: 2020-01-01 00:00:00");
    let (_tmp, out) = lint(&[
        ("missing-suites.yml", missing_suites.as_bytes()),
        ("suites-string.yml", suites_string.as_bytes()),
        ("bad-arch.yml", bad_arch.as_bytes()),
        ("bad-name.yml", bad_name.as_bytes()),
        ("bad-url.yml", bad_url.as_bytes()),
        ("bad-dir.yml", bad_dir.as_bytes()),
        ("unquoted-date.yml", unquoted_date.as_bytes()),
        ("good.yml", GOOD.as_bytes()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "ok: good.yml: bitcoin-core-linux-0.20, suites bionic, architectures amd64, remotes \
         bitcoin, 2 packages\n"
    );
    assert_eq!(
        stderr(&out),
        "\
error: missing-suites.yml:1: missing field 'suites'
hint: write it as 'suites: [bookworm]'
error: suites-string.yml:4: 'suites' must be a list
hint: found a string; write it as a list: [\"bionic\"]
error: bad-arch.yml:7: unknown architecture 'arm64'
hint: use one of i386, amd64, linux64
error: bad-name.yml:2: name 'bitcoin core' may contain only letters, digits, '_', '.' and '-'
hint: ' ' is not allowed
error: bad-url.yml:12: remotes[0].url 'https://github.com/bitcoin/bitcoin.git?x=1' may contain only letters, digits, '_', '@', '/', '.', ':', '+' and '-'
hint: '?' is not allowed
error: bad-dir.yml:13: remotes[0].dir '../bitcoin' may contain only letters, digits, '_', '.' and '-'
hint: '/' is not allowed
error: unquoted-date.yml:15: 'reference_datetime' is an unquoted timestamp, which Gitian's YAML reads as a time and fails on
hint: quote it: reference_datetime: \"2020-01-01 00:00:00\"
"
    );
}

#[test]
fn test_lint_alias_bomb_is_refused() {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        bomb.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    let started = std::time::Instant::now();
    let (_tmp, out) = lint(&[("bomb.yml", bomb.as_bytes())]);
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: bomb.yml:1: the YAML expands to too many values (an alias bomb?); descriptors \
         need no aliases\n"
    );
}

#[test]
fn test_lint_non_utf8_and_huge_files() {
    let mut latin1 = GOOD.as_bytes().to_vec();
    let at = GOOD.find("make").unwrap();
    latin1.splice(at..at, [b'\xe9']);
    let mut huge = Vec::new();
    while huge.len() < 3 << 20 {
        huge.extend_from_slice(b"- \"a-package-name-of-some-length\"\n");
    }
    let (_tmp, out) = lint(&[("latin1.yml", &latin1), ("huge.yml", &huge)]);
    assert_eq!(out.status.code(), Some(1));
    let huge_line = (1 << 20) / 34 + 1;
    assert_eq!(
        stderr(&out),
        format!(
            "error: latin1.yml:16: not valid UTF-8: byte 0xe9 at column 3\n\
             hint: save the descriptor as UTF-8\n\
             error: huge.yml:{huge_line}: descriptor is larger than 1 MiB\n\
             hint: a descriptor is a short YAML file; is this the right file?\n"
        )
    );
}

#[test]
fn test_lint_unreadable_file_exits_2_and_checks_the_rest() {
    let (tmp, _) = lint(&[("good.yml", GOOD.as_bytes())]);
    let out = run_in(tmp.path(), &["lint", "missing.yml", "good.yml", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).starts_with("ok: good.yml: "));
    let stderr = stderr(&out);
    assert!(
        stderr.starts_with("error: cannot read 'missing.yml': No such file or directory"),
        "{stderr}"
    );
    assert!(stderr.contains("error: cannot read '.': "), "{stderr}");
}

#[test]
fn test_lint_needs_a_file() {
    let out = run_in(Path::new("/"), &["lint"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 11 item 15: hostile descriptors are answered at once with the right verdicts (the
/// timings are in bench/lint): 64,000 nested `[`, 4,000 unknown keys, 20,000 duplicate keys.
#[test]
fn test_lint_hostile_sizes_are_answered_with_their_lines() {
    let nested = "[".repeat(64_000);
    let keys: String =
        GOOD.to_string() + &(0..4000).map(|i| format!("k{i}: 1\n")).collect::<String>();
    let dups = "name: a\n".repeat(20_000);
    let (_tmp, out) = lint(&[
        ("nested.yml", nested.as_bytes()),
        ("keys.yml", keys.as_bytes()),
        ("dups.yml", dups.as_bytes()),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "error: nested.yml:1: the YAML nests deeper than 128 levels; descriptors need 3\n"
        ),
        "{err}"
    );
    let first_key = GOOD.lines().count() + 1;
    assert!(err.contains(&format!("warning: keys.yml:{first_key}: unknown key 'k0'")), "{err}");
    let last = first_key + 3999;
    assert!(err.contains(&format!("warning: keys.yml:{last}: unknown key 'k3999'")), "{err}");
    assert!(stdout(&out).contains("ok: keys.yml: "), "{}", stdout(&out));
    assert!(err.contains("error: dups.yml:2: duplicate key 'name' (first at line 1)\n"), "{err}");
    // 50 duplicates (the cap), then the five absent required keys.
    assert_eq!(err.matches("error: dups.yml:").count(), 50 + 5, "{err}");
}

/// Issue 15: `normalize:` (ours) is checked like Gitian's keys: a format `normalize` does not
/// handle, or one listed twice, is an error naming the file, line and item.
#[test]
fn test_lint_normalize_key() {
    let good = GOOD.replace("files: []\n", "files: []\nnormalize: [tar, gzip, zip]\n");
    let bad = GOOD.replace("files: []\n", "files: []\nnormalize:\n- tar\n- tgz\n");
    let twice = GOOD.replace("files: []\n", "files: []\nnormalize: [zip, zip]\n");
    let (_tmp, out) = lint(&[
        ("good.yml", good.as_bytes()),
        ("bad.yml", bad.as_bytes()),
        ("twice.yml", twice.as_bytes()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ok: good.yml: "), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        "error: bad.yml:17: unknown normalize format 'tgz'\n\
         hint: use some of tar, gzip, zip, ar\n\
         error: twice.yml:15: normalize format 'zip' is listed twice\n\
         hint: keep one (the first is normalize[0])\n"
    );
}
