//! The layering of `src/` (`cli -> ops -> {core, guest, git, ledger, openpgp, gpg}`), checked
//! by reading the sources: `core` is pure, and no lower layer uses a higher one.

use std::path::{Path, PathBuf};

use crate::common::root;

/// What `src/core` may not use: the file system, processes, the environment, git, gpg.
const IMPURE: [&str; 5] = ["std::fs", "std::process", "std::env", "git2", "gpgme"];

/// The layers above each effect module.
const HIGHER: [&str; 2] = ["crate::ops", "crate::cli"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The code of a Rust file without its comments (line comments, doc comments).
fn code(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// Whether `code` names `path` (`a::b`), also as a member of a grouped import
/// (`use std::{fs, io}` names `std::fs`).
fn names(code: &str, path: &str) -> bool {
    let word = |s: &str, at: usize, len: usize| {
        let before = s[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = s[at + len..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        before && after
    };
    if code.match_indices(path).any(|(at, _)| word(code, at, path.len())) {
        return true;
    }
    let Some((parent, last)) = path.rsplit_once("::") else { return false };
    let open = format!("{parent}::{{");
    code.match_indices(&open).any(|(at, _)| {
        let group = &code[at + open.len()..];
        let group = &group[..group.find('}').unwrap_or(group.len())];
        group.split(',').any(|item| item.split_whitespace().next() == Some(last))
    })
}

/// Every `file: forbidden path` under `dir`.
fn violations(dir: &Path, forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for file in rust_files(dir) {
        let code = code(&std::fs::read_to_string(&file).unwrap());
        for path in forbidden.iter().filter(|p| names(&code, p)) {
            out.push(format!("{}: {path}", file.display()));
        }
    }
    out
}

#[test]
fn test_layering_core_is_pure() {
    let found = violations(&root().join("src/core"), &IMPURE);
    assert!(found.is_empty(), "src/core must stay pure:\n{}", found.join("\n"));
}

#[test]
fn test_layering_effects_use_no_higher_layer() {
    let mut found = Vec::new();
    for module in ["core", "archive", "guest", "git", "ledger", "openpgp", "gpg"] {
        found.extend(violations(&root().join("src").join(module), &HIGHER));
    }
    found.extend(violations(&root().join("src/ops"), &["crate::cli"]));
    assert!(found.is_empty(), "a lower layer uses a higher one:\n{}", found.join("\n"));
}

/// The scanner itself finds what the two tests above forbid, in every spelling.
#[test]
fn test_layering_scanner_finds_each_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("a.rs", "use std::fs;\n", "std::fs"),
        ("b.rs", "fn f() { std::process::exit(1) }\n", "std::process"),
        ("c.rs", "use std::{\n    collections::BTreeMap,\n    env,\n};\n", "std::env"),
        ("d.rs", "use git2::Repository;\n", "git2"),
        ("e.rs", "fn f() -> gpgme::Context { todo!() }\n", "gpgme"),
    ];
    for (name, text, _) in cases {
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    std::fs::write(
        tmp.path().join("ok.rs"),
        "// std::fs in a comment\nuse std::fmt;\nfn envy() {}\n",
    )
    .unwrap();
    let found = violations(tmp.path(), &IMPURE);
    let want: Vec<String> =
        cases.iter().map(|(n, _, p)| format!("{}: {p}", tmp.path().join(n).display())).collect();
    assert_eq!(found, want);
}
