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

#[test]
fn test_cli_git_gitian_help_opens_the_man_page() {
    // As installed by scripts/install: the binary on PATH, the pages where man finds them.
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = tmp.path().join("bin");
    let man1 = tmp.path().join("share/man/man1");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::create_dir_all(&man1).unwrap();
    std::fs::copy(bin(), bin_dir.join("git-gitian")).unwrap();
    for e in std::fs::read_dir(root().join("man")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, man1.join(p.file_name().unwrap())).unwrap();
    }
    if std::process::Command::new("man").arg("--version").output().is_err() {
        crate::common::skip("man is not installed");
        return;
    }
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    for (args, want) in [
        (vec!["gitian", "--help"], "git-gitian"),
        (vec!["gitian", "verify", "--help"], "threshold"),
    ] {
        let out = std::process::Command::new("git")
            .args(&args)
            .env("PATH", &path)
            .env("MANPATH", tmp.path().join("share/man"))
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(want), "git {args:?} did not show the man page: {text}");
    }
}

#[test]
fn test_cli_completions_for_bash_and_zsh() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_in(tmp.path(), &["generate", "completions", "bash"]);
    assert!(out.status.success());
    let bash = stdout(&out);
    assert!(bash.contains("_git_gitian()") && bash.contains("verify"), "{bash}");
    let script = tmp.path().join("c.bash");
    std::fs::write(&script, &bash).unwrap();
    let st = std::process::Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(st.success(), "bash completion does not parse");
    let out = run_in(tmp.path(), &["generate", "completions", "zsh"]);
    assert!(out.status.success() && stdout(&out).contains("#compdef git-gitian"));
}
