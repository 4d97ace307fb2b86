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
        assert!(std::env::var_os("CI").is_none(), "man is missing in CI");
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

/// Release-like names: every string of up to three characters over the characters that decide
/// Psych's choices, number, date and time shapes, and the release names of the public ledgers.
fn release_like_names() -> Vec<String> {
    let alphabet: Vec<char> = "019aeEnNyYoO_.-:x ".chars().collect();
    let mut names = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..3 {
        let next: Vec<String> =
            last.iter().flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}"))).collect();
        names.extend(next.iter().cloned());
        last = next;
    }
    for t in [
        "2024-01-01",
        "2024-1-5",
        "2024-02-29",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-01-010",
        "2024-01-01T12:00:00",
        "2024-01-01t12:00:00Z",
        "2024-01-01 12:00:00",
        "2024-01-01T24:00:00",
        "2024-01-01T24:30:00",
        "2024-01-01T12:00:60",
        "2024-01-01T12:00:00+0530",
        "2024-01-01T12:00:00+530",
        "2024-01-01T12:00:00.123-08:00",
        "2024-02-31T12:00:00",
        "0.21.0-linux",
        "25.0",
        "0.10",
        "1_000",
        "1,000",
        "1__0",
        "1.0_1",
        "_1.7",
        "0x1F",
        "0x_1",
        "0b101",
        "0o17",
        "017",
        "019",
        "08a",
        "1e5",
        "1.5e+3",
        "1.5E-3",
        "1.e+5",
        "1:30",
        "1:30:59",
        "1:60",
        "1:30.5",
        "12:30:45.5",
        ".inf",
        "-.inf",
        ".NaN",
        "+.inf",
        "null",
        "Null",
        "NULL",
        "~",
        "yes",
        "No",
        "oN",
        "off",
        "true",
        "FALSE",
        "<<",
        "a: b",
        "a #b",
        "a#b",
        "a:",
        "-",
        "?x",
        "it's",
        "x\"y",
        "'q",
        "é",
        "naïve",
        "日本",
        "😀",
        "a\tb",
        "a b ",
        " a",
        "a\nb",
        "a\nb\n",
        "a\n\n",
        "a\n\nb\n\n",
        "  a\nb",
        "\na",
        "null\n",
        "no\n\n",
        "-x\n",
        "x\u{85}y",
        "v1.0-rc1",
        "2.0.0rc2",
        "v22.0",
        "23.0-osx-signed",
        "0.8.6",
        "bitcoin-core-0.21",
        "TEST",
        "Y-1",
        "n1",
    ] {
        names.push(t.to_string());
    }
    for ledger in ["gitian.sigs", "guix.sigs"] {
        if let Ok(dir) = std::fs::read_dir(corpus().join(ledger)) {
            names.extend(dir.filter_map(|e| e.ok()?.file_name().into_string().ok()));
        }
    }
    names
}

#[test]
fn test_sign_quotes_every_name_as_psych_does() {
    // The real Psych 4 / libyaml 0.2.5 (Debian 12's ruby, installed by scripts/install-deps).
    let ruby = std::process::Command::new("ruby").arg("--version").output();
    if ruby.is_err() {
        assert!(std::env::var_os("CI").is_none(), "ruby is missing in CI");
        eprintln!("skipped: ruby is not installed");
        return;
    }
    let names = release_like_names();
    let script = r#"
        require "json"; require "yaml"
        print JSON.generate(JSON.parse(STDIN.read).map { |s|
            (Psych::Omap["release", s].to_yaml rescue nil)
        })
    "#;
    let mut child = std::process::Command::new("ruby")
        .args(["-e", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(&names).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    // None: Psych itself fails on the name (`0x_`: Ruby's Integer() refuses what its pattern
    // took for a number), so gsign cannot sign it either.
    let psych: Vec<Option<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let mut differ = Vec::new();
    for (name, want) in names.iter().zip(&psych) {
        let Some(want) = want else { continue };
        let doc = git_gitian::core::assertion::Document {
            entries: vec![(
                "release".to_string(),
                git_gitian::core::assertion::Node::Str(name.clone()),
            )],
        };
        // Psych ends a document whose last value is a `|+` block with `...`.
        let got = doc.render();
        if got != *want && format!("{got}...\n") != *want {
            differ.push(format!("{name:?}: psych {want:?}, ours {got:?}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ:\n{}",
        differ.len(),
        names.len(),
        differ.join("\n")
    );
}
