//! `git gitian verify` over the real corpus (from directories and from git objects) and over
//! hostile ledgers.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const AT: &str = "2026-11-28T00:00:00Z";

/// Rows of a TSV without the columns the issue leaves free (manifest_id, sig_path).
fn comparable(tsv: &str) -> Vec<String> {
    tsv.lines().map(|l| l.split('\t').take(8).collect::<Vec<_>>().join("\t")).collect()
}

fn corpus_args(a: &Path, b: &Path) -> Vec<String> {
    let c = corpus();
    vec![
        "verify".into(),
        "-d".into(),
        a.display().to_string(),
        "-d".into(),
        b.display().to_string(),
        "--keys".into(),
        c.join("keys").display().to_string(),
        "--format".into(),
        "tsv".into(),
        "--at".into(),
        AT.into(),
    ]
}

fn assert_rows_equal(got: &str) {
    let expected = std::fs::read_to_string(corpus().join("expected.tsv")).unwrap();
    let want = comparable(&expected);
    let got = comparable(got);
    let mut diffs = Vec::new();
    for line in &want {
        if !got.contains(line) {
            diffs.push(format!("missing: {line}"));
        }
    }
    for line in &got {
        if !want.contains(line) {
            diffs.push(format!("extra:   {line}"));
        }
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(got, want, "same rows, other order");
}

#[test]
fn test_verify_corpus_tsv_matches_expected() {
    let c = corpus();
    let args = corpus_args(&c.join("gitian.sigs"), &c.join("guix.sigs"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_in(&c, &args);
    assert_eq!(out.status.code(), Some(1), "the corpus has no_pubkey rows: {}", stderr(&out));
    assert_rows_equal(&stdout(&out));
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(st.success());
}

/// A git repository holding `ledger`, committed, with the work tree then emptied so that only
/// git objects can give the answer.
fn repo_from(ledger: &Path, into: &Path) -> PathBuf {
    copy_tree(ledger, into);
    git(into, &["init", "-q", "-b", "main"]);
    git(into, &["config", "core.autocrlf", "false"]);
    std::fs::write(into.join(".gitattributes"), "* -text\n").unwrap();
    git(into, &["add", "-A"]);
    git(into, &["commit", "-q", "-m", "ledger"]);
    for e in std::fs::read_dir(into).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() != ".git" && p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        }
    }
    into.to_path_buf()
}

#[test]
fn test_verify_corpus_from_git_objects_gives_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let c = corpus();
    let a = repo_from(&c.join("gitian.sigs"), &tmp.path().join("gitian.sigs"));
    let b = repo_from(&c.join("guix.sigs"), &tmp.path().join("guix.sigs"));
    let mut args = corpus_args(&a, &b);
    args.extend(["--rev".into(), "main".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_in(tmp.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_rows_equal(&stdout(&out));
}
