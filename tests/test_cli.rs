//! The command line itself: help, man page drift.

use crate::common::*;

#[test]
fn test_cli_man_pages_match_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_in(tmp.path(), &["generate", "man", tmp.path().join("man").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<_> = std::fs::read_dir(root().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut fresh: Vec<_> = std::fs::read_dir(tmp.path().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    fresh.sort();
    assert_eq!(
        names, fresh,
        "man/ has other pages than the CLI: run `git-gitian generate man man`"
    );
    for name in names {
        let committed = std::fs::read(root().join("man").join(&name)).unwrap();
        let generated = std::fs::read(tmp.path().join("man").join(&name)).unwrap();
        assert!(
            committed == generated,
            "man/{name} drifted from the CLI: run `git-gitian generate man man`"
        );
    }
}

#[test]
fn test_cli_unknown_subcommand_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_in(tmp.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error:"));
}
