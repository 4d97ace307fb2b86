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
        skip("ruby is not installed");
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
        // Byte for byte, `...` after a `|+` block included.
        let got = doc.render();
        if got != *want {
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

// ---------------------------------------------------------------------------------------------
// Configuration, Gitian habits, errors, status, build's plan.

use crate::common::ledger::{World, hash};

/// A world with alice's key, a sigs repository made by init, and a work dir `b` with a result.
fn signing_world() -> (World, std::path::PathBuf, std::path::PathBuf) {
    let w = World::new(&["alice"]);
    w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let b = w.build_dir("b", "demo", &hash('a'));
    let sigs = w.path("sigs");
    (w, sigs, b)
}

#[test]
fn test_cli_config_from_git_dash_c_and_git_config_env_and_includes() {
    let (w, sigs, b) = signing_world();
    // `git -c gitian.sigs=... -c gitian.signer=... gitian sign`: git passes them in
    // GIT_CONFIG_PARAMETERS to git-gitian, found on PATH.
    let out = w
        .cmd("git")
        .args(["-c", &format!("gitian.sigs={}", sigs.display()), "-c", "gitian.signer=alice"])
        .args(["gitian", "sign", "-r", "1.0", "demo.yml"])
        .current_dir(&b)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sigs.join("1.0/alice/demo-build.assert.sig").exists());
    // The signer's first commit says sign commits (until gitian.commit is set); later ones not.
    let body = w.git_ok(&sigs, &["log", "-1", "--format=%b"]);
    assert!(body.contains("gitian.commit false"), "{body}");
    let again = w.gitian(&b, &["sign", "-s", "alice", "-r", "1.1", "-d", "../sigs", "demo.yml"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(w.git_ok(&sigs, &["log", "-1", "--format=%b"]).trim(), "", "a second note");

    // GIT_CONFIG_COUNT/KEY/VALUE, and gitian.commit=false (gsign's way: nothing committed).
    let head = w.git_ok(&sigs, &["rev-parse", "HEAD"]);
    let out = w
        .cmd(crate::common::bin())
        .args(["sign", "-r", "2.0", "demo.yml"])
        .env("GIT_CONFIG_COUNT", "3")
        .env("GIT_CONFIG_KEY_0", "gitian.sigs")
        .env("GIT_CONFIG_VALUE_0", &sigs)
        .env("GIT_CONFIG_KEY_1", "gitian.signer")
        .env("GIT_CONFIG_VALUE_1", "alice")
        .env("GIT_CONFIG_KEY_2", "gitian.commit")
        .env("GIT_CONFIG_VALUE_2", "false")
        .current_dir(&b)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sigs.join("2.0/alice/demo-build.assert.sig").exists());
    assert_eq!(w.git_ok(&sigs, &["rev-parse", "HEAD"]), head, "gitian.commit=false committed");

    // An included file (include.path in the global config), read by verify for -d.
    let inc = w.path("inc.gitconfig");
    std::fs::write(&inc, format!("[gitian]\n\tsigs = {}\n", sigs.display())).unwrap();
    let global = w.home().join(".gitconfig");
    let mut text = std::fs::read_to_string(&global).unwrap();
    text.push_str(&format!("[include]\n\tpath = {}\n", inc.display()));
    std::fs::write(&global, text).unwrap();
    let out = w.gitian(w.root.path(), &["verify", "-r", "1.0", "--format", "tsv"]);
    assert!(
        stdout(&out).contains("1.0\tdemo-build.assert\talice"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn test_cli_gitian_flags_work_or_name_their_replacement() {
    let (w, sigs, b) = signing_world();
    // gsign's spelling of the signing program, and `true` to sign later.
    let out = w.gitian(
        &b,
        &[
            "sign",
            "-s",
            "alice",
            "-r",
            "1.0",
            "-d",
            "../sigs",
            "--signing_program",
            "true",
            "demo.yml",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sigs.join("1.0/alice/demo-build.assert").exists());
    for (args, want) in [
        (vec!["make-base", "--lxc"], "git gitian build --backend lxc"),
        (vec!["make-base", "--docker"], "--backend docker"),
        (vec!["make-base", "--vbox"], "--backend vbox"),
        (vec!["make-base", "--docker-image-digest", "x"], "no docker image to pin"),
        (vec!["verify", "-p", "gpg"], "--gpg-keyring"),
        (vec!["verify", "--verify-program", "gpg"], "--gpg-keyring"),
        (vec!["build", "--lxc", "x.yml"], "USE_LXC=1"),
        (vec!["gbuild", "x.yml"], "git gitian build"),
        (vec!["gsign"], "git gitian sign"),
        (vec!["gverify"], "git gitian verify"),
        (vec!["make-base-vm"], "git gitian make-base"),
    ] {
        let out = w.gitian(&b, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.lines().any(|l| l.starts_with("hint: ") && l.contains(want)),
            "{args:?}: {err}"
        );
    }
    // make-base-vm's and gverify's own flags parse (checked with --help-free dry parsing).
    let out = w.gitian(
        &b,
        &[
            "make-base",
            "-s",
            "bookworm",
            "-a",
            "amd64",
            "-d",
            "debian",
            "--disksize",
            "1",
            "--base-dir",
            "/nonexistent/x/y",
            "--bogus",
        ],
    );
    assert!(stderr(&out).contains("'--bogus'"), "{}", stderr(&out));
    // gsign's release rule: what gsign refused is refused, with the reason.
    for (rel, why) in
        [("bad rel", "gsign refuses"), ("1.0;rm", "gsign refuses"), (".", "names a folder")]
    {
        let out = w.gitian(&b, &["sign", "-s", "alice", "-r", rel, "-d", "../sigs", "demo.yml"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(why), "{rel}: {}", stderr(&out));
    }
    // gverify accepts a descriptor that holds only `name:`.
    std::fs::write(b.join("only-name.yml"), "---\nname: demo\n").unwrap();
    let out =
        w.gitian(&b, &["verify", "-d", "../sigs", "-r", "1.0", "only-name.yml", "--format", "tsv"]);
    assert!(stdout(&out).contains("demo-build.assert"), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn test_cli_errors_say_each_thing_once_without_libgit2_internals() {
    let w = World::new(&[]);
    let s = w.path("s");
    std::fs::create_dir(&s).unwrap();
    w.git_ok(&s, &["init", "-q"]);
    let broken = w.path("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join(".git"), "gitdir: /nonexistent/x\n").unwrap();
    for args in [vec!["verify", "-d", "s", "--rev", "nosuch"], vec!["init", "broken"]] {
        let out = w.gitian(w.root.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(!err.contains("class=") && !err.contains("code="), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        for pair in lines.windows(2) {
            let above = pair[0].trim_start_matches("error: ").trim_start_matches("caused by: ");
            let below = pair[1].trim_start_matches("caused by: ");
            assert!(
                !(pair[1].starts_with("caused by: ") && above.contains(below)),
                "{args:?}: {err}"
            );
        }
        assert!(!err.contains("no error"), "{err}");
    }
}

#[test]
fn test_cli_status_shows_what_is_not_signed_the_key_and_the_hooks() {
    let (w, sigs, b) = signing_world();
    let empty_base = w.path("base");
    std::fs::create_dir(&empty_base).unwrap();
    let status = |w: &World| {
        let out = w
            .cmd(crate::common::bin())
            .args(["status", "-s", "alice", "-d", "../sigs"])
            .env("GITIAN_BASE_DIR", &empty_base)
            .current_dir(&b)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let text = status(&w);
    assert!(text.contains("none (make one with `git gitian make-base`)"), "{text}");
    assert!(text.contains("backend auto: "), "{text}");
    assert!(text.contains("built and not signed: demo-res.yml"), "{text}");
    assert!(text.contains("not in the ledger's key folders"), "{text}");
    assert!(text.contains("hooks: pre-commit installed, pre-push installed"), "{text}");
    // bob's release, then alice signs hers and publishes her key.
    std::fs::create_dir_all(sigs.join("0.9/bob")).unwrap();
    std::fs::write(sigs.join("0.9/bob/demo-build.assert"), "x").unwrap();
    w.gitian_ok(&b, &["sign", "-s", "alice", "-r", "1.0", "-d", "../sigs", "demo.yml"]);
    std::fs::write(sigs.join("builder-keys/alice.asc"), w.public_key("alice")).unwrap();
    let text = status(&w);
    assert!(text.contains("built and not signed: nothing"), "{text}");
    assert!(text.contains("releases you have not signed (1): 0.9"), "{text}");
    assert!(text.contains("in the ledger as builder-keys/alice.asc"), "{text}");
    assert!(text.contains("(2 releases)"), "{text}");
    // A hook that lost its executable bit is not installed (git ignores it).
    use std::os::unix::fs::PermissionsExt;
    let hook = sigs.join(".git/hooks/pre-push");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = status(&w);
    assert!(text.contains("pre-push not installed"), "{text}");
}

#[test]
fn test_build_checks_its_plan_before_choosing_a_backend_and_dry_run_prints_it() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    git(&src, &["init", "-q", "-b", "main"]);
    std::fs::write(src.join("f"), "x").unwrap();
    git(&src, &["add", "f"]);
    git(&src, &["commit", "-qm", "one"]);
    git(&src, &["tag", "v1"]);
    let desc = tmp.path().join("d.yml");
    std::fs::write(
        &desc,
        format!(
            "---\nname: planned\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\nremotes:\n- url: {}\n  dir: hello\nfiles: []\nscript: |\n  echo built\n",
            src.display()
        ),
    )
    .unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let base = tmp.path().join("no-base-here");
    // A backend that cannot exist would be refused when chosen: the plan's errors come first.
    for (args, want) in [
        (vec!["-c", "hullo=v1"], "no remote with dir 'hullo' (its remotes: hello)"),
        (vec!["-c", "hello=v2"], "'v2' is neither a branch, a tag nor a full commit id"),
        (vec!["-c", "hello=v1", "-u", "other=/x"], "no remote with dir 'other'"),
        (vec![], "remote 'hello' has no commit"),
    ] {
        let mut all = vec!["build", "--backend", "vbox"];
        all.extend(args.iter().copied());
        all.push(desc.to_str().unwrap());
        let out = gitian_build_cmd(&work, &all, &base).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        assert!(!work.join("var").exists(), "{args:?}: the build lock was taken");
    }
    let out = gitian_build_cmd(
        &work,
        &["build", "--backend", "sandbox", "--dry-run", "-c", "hello=v1", desc.to_str().unwrap()],
        &base,
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    let tag = git(&src, &["rev-parse", "v1"]);
    for want in [
        "descriptor: planned".to_string(),
        "backend: sandbox (asked: sandbox)".to_string(),
        // No `distro:` in the descriptor: Gitian's default, ubuntu.
        format!("base image: bookworm amd64 {}", base.join("ubuntu-bookworm-amd64").display()),
        "missing: git gitian make-base".to_string(),
        format!("remote: hello {} at v1: refs/tags/v1 -> {tag}", src.display()),
        "  echo built".to_string(),
    ] {
        assert!(plan.contains(&want), "{want:?} not in:\n{plan}");
    }
    assert!(
        !work.join("var").exists() && !work.join("inputs").exists(),
        "--dry-run touched the work dir"
    );
}

/// Gitian's `USE_DOCKER=1` on this host with no Docker daemon answering (DOCKER_HOST points at
/// nothing): the real probe finds podman and the build uses it, saying why; without podman on
/// PATH, the error names Docker's problem and what to do.
#[test]
fn test_build_use_docker_falls_back_to_podman_on_this_host() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("d.yml"),
        "---\nname: podman\ndistro: debian\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\nreference_datetime: \"2021-01-01 00:00:00\"\nremotes: []\nfiles: []\nscript: |\n  true\n",
    )
    .unwrap();
    let base = tmp.path().join("no-base-here");
    let run = |path: Option<&std::path::Path>| {
        let mut cmd = gitian_build_cmd(tmp.path(), &["build", "--dry-run", "d.yml"], &base);
        cmd.env("USE_DOCKER", "1").env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
        if let Some(p) = path {
            cmd.env("PATH", p);
        }
        cmd.output().unwrap()
    };
    let out = run(None);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(
        plan.contains("backend: podman (asked: auto)\n  using podman (USE_* environment)\n"),
        "{plan}"
    );
    // docker alone on PATH: nothing to fall back to.
    let bin_dir = tmp.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    let docker = ["/usr/local/bin/docker", "/usr/bin/docker"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("docker is required by the tests (scripts/install-deps)");
    std::os::unix::fs::symlink(docker, bin_dir.join("docker")).unwrap();
    let out = run(Some(&bin_dir));
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        "error: backend 'docker' (from USE_* in the environment) cannot run: no Docker daemon answers (start dockerd or set DOCKER_HOST)\n\
         hint: pass --backend with one of the backends that can run here\n"
    );
}

#[test]
fn test_build_ci_streams_the_build_log() {
    let base = std::env::var_os("GITIAN_TEST_BASE_DIR")
        .map_or_else(git_gitian::config::default_base_dir, std::path::PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let made = gitian_build_cmd(
        tmp.path(),
        &["make-base", "--suite", "bookworm", "--arch", "amd64"],
        &base,
    )
    .output()
    .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    std::fs::write(
        tmp.path().join("d.yml"),
        "---\nname: streamed\ndistro: debian\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\nreference_datetime: \"2021-01-01 00:00:00\"\nremotes: []\nfiles: []\nscript: |\n  echo streamed-line-$((6 * 7))\n  sleep 15\n  echo second-line-$((6 * 8))\n",
    )
    .unwrap();
    let build = |ci: bool| {
        let mut cmd =
            gitian_build_cmd(tmp.path(), &["build", "--backend", "sandbox", "d.yml"], &base);
        if ci {
            cmd.env("CI", "1");
        }
        cmd
    };
    let quiet = build(false).output().unwrap();
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("streamed-line-42"), "{}", stderr(&quiet));
    // Streamed while the script runs: the first line reaches stderr while the script is still
    // in its sleep (the second line is not in the log yet), not only once the build is over.
    let mut child = build(true).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(pipe).lines() {
            let line = line.unwrap();
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let log = tmp.path().join("var/build.log");
    loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("the first line of the script never reached stderr");
        if line.contains("streamed-line-42") {
            let written = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(!written.contains("second-line-48"), "not streamed: the log was complete");
            break;
        }
    }
    let status = child.wait().unwrap();
    let streamed = reader.join().unwrap();
    assert!(status.success(), "{streamed}");
    assert!(streamed.contains("second-line-48"), "{streamed}");
    let at = streamed.find("second-line-48").unwrap();
    assert!(streamed[at..].contains("Done."), "{streamed}");
}

/// A man page as `man` shows it (plain ASCII, wide lines).
fn man_text(page: &std::path::Path) -> String {
    let out = std::process::Command::new("man")
        .arg("-l")
        .arg(page)
        .env("LC_ALL", "C")
        .env("MANWIDTH", "250")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .unwrap();
    assert!(out.status.success(), "man -l {}: {}", page.display(), stderr(&out));
    stdout(&out)
}

fn have_man() -> bool {
    let ok = std::process::Command::new("man").arg("--version").output().is_ok();
    if !ok {
        skip("man is not installed");
    }
    ok
}

#[test]
fn test_cli_man_pages_have_every_section_and_name_only_pages_that_exist() {
    if !have_man() {
        return;
    }
    let dir = root().join("man");
    let mut pages: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    let reference = regex_lite_refs;
    for page in pages.iter().filter(|p| !p.ends_with("gitian.1")) {
        let text = man_text(page);
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "EXIT STATUS", "SEE ALSO"] {
            assert!(
                text.lines().any(|l| l == section),
                "{}: no {section}:\n{text}",
                page.display()
            );
        }
        // DESCRIPTION says more than NAME does.
        let desc: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "DESCRIPTION")
            .skip(1)
            .take_while(|l| l.is_empty() || l.starts_with(' '))
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(desc.len() >= 2, "{}: DESCRIPTION is one line: {desc:?}", page.display());
        for bad in ["corpus", "where git-gitian is developed", "expected.tsv"] {
            assert!(!text.contains(bad), "{}: says {bad:?}", page.display());
        }
        for (name, section) in reference(&text) {
            // The page's own header and footer spell it in capitals.
            let name = if name.starts_with("GIT-GITIAN") { name.to_lowercase() } else { name };
            if name.starts_with("git-gitian") || name == "gitian" {
                assert!(
                    dir.join(format!("{name}.{section}")).exists(),
                    "{}: {name}({section}) does not exist",
                    page.display()
                );
            } else {
                let found = std::process::Command::new("man")
                    .args(["-w", &section, &name])
                    .output()
                    .unwrap();
                assert!(
                    found.status.success(),
                    "{}: {name}({section}) is not installed",
                    page.display()
                );
            }
        }
    }
    let top = man_text(&dir.join("git-gitian.1"));
    for section in ["ENVIRONMENT", "FILES", "CONFIGURATION", "COMING FROM GITIAN"] {
        assert!(top.lines().any(|l| l == section), "git-gitian(1) has no {section}");
    }
    for key in git_gitian::config::ALL {
        assert!(top.contains(key.name), "git-gitian(1) does not document {}", key.name);
    }
    // Every command of the README is an example of git-gitian(1).
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let examples: String = top
        .lines()
        .skip_while(|l| *l != "EXAMPLES")
        .take_while(|l| *l != "EXIT STATUS")
        .collect::<Vec<_>>()
        .join("\n");
    let mut in_block = false;
    let mut recipes = 0;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = line == "```sh";
            continue;
        }
        if in_block {
            let cmd = line.split("  #").next().unwrap().trim();
            if !cmd.is_empty() {
                recipes += 1;
                assert!(
                    examples.contains(cmd),
                    "README's `{cmd}` is not in git-gitian(1) EXAMPLES"
                );
            }
        }
    }
    assert!(recipes >= 10, "only {recipes} README recipes found");
}

/// Every `name(N)` in a text.
fn regex_lite_refs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    for (i, _) in text.match_indices('(') {
        let Some(&d) = b.get(i + 1) else { continue };
        if !d.is_ascii_digit() || b.get(i + 2) != Some(&b')') {
            continue;
        }
        let start = text[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .map_or(0, |p| p + 1);
        let name = &text[start..i];
        if !name.is_empty() && name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push((name.to_string(), (d as char).to_string()));
        }
    }
    out
}
