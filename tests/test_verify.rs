//! `git gitian verify` over the real corpus (from directories and from git objects) and over
//! hostile ledgers.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::sigs::*;
use crate::common::*;

const AT: &str = "2026-11-28T00:00:00Z";

/// Rows of a TSV without the columns the issue leaves free (manifest_id, sig_path).
fn comparable(tsv: &str) -> Vec<String> {
    tsv.lines().map(|l| l.split('\t').take(8).collect::<Vec<_>>().join("\t")).collect()
}

/// `run_in` with a cache folder of its own, removed afterwards: no test reads another's memory.
fn run_fresh(dir: &Path, args: &[&str]) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("XDG_CACHE_HOME", cache.path())
        .env_remove("GNUPGHOME")
        .output()
        .unwrap()
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
    let out = run_fresh(&c, &args);
    assert_eq!(out.status.code(), Some(1), "the corpus has no_pubkey rows: {}", stderr(&out));
    assert_rows_equal(&stdout(&out));
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
    let out = run_fresh(tmp.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_rows_equal(&stdout(&out));
}

#[test]
fn test_verify_honest_ledger_passes_with_threshold() {
    let l = Ledger::new();
    let (code, json, err) = l.verify(&["--threshold", "3"]);
    assert_eq!(code, 0, "{err}{json:#}");
    assert_eq!(json["passed"], true);
    for who in ["alice", "bob", "carol"] {
        let r = Ledger::row(&json, who);
        assert_eq!(r["signature_status"], "good");
        assert_eq!(r["verdict"], "OK");
        assert_eq!(r["key_file"], format!("builder-keys/{who}.asc"));
    }
    let (code, json, _) = l.verify(&["--threshold", "4"]);
    assert_eq!(code, 1);
    assert_eq!(json["releases"][0]["threshold_met"], false);
}

#[test]
fn test_verify_one_differing_artifact_is_named_in_table_and_grid() {
    let l = Ledger::new();
    l.attest("1.0", "dave", "mallory", EVIL);
    let key = l.path().join("builder-keys/dave.asc");
    l.gpg.export_to("mallory", &key);
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(Ledger::row(&json, "dave")["verdict"], "MISMATCH");
    let zip = json["releases"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "hello-1.0.zip")
        .unwrap()
        .clone();
    assert_eq!(zip["signers"]["dave"], "differs");
    assert_eq!(zip["signers"]["alice"], "agrees");
    let out = l.run(&["verify", "-d", l.path().to_str().unwrap()]);
    let table = stdout(&out);
    assert!(table.contains("MISMATCH") && table.contains("hello-1.0.zip"), "{table}");
    let out =
        l.run(&["verify", "-d", l.path().to_str().unwrap(), "--format", "gverify", "--no-markup"]);
    // gverify's status line, then our reason as a note, then gverify's empty line.
    let note = "note: manifest #2 differs from the consensus on 1 of 2 artifacts: hello-1.0.zip";
    assert!(stdout(&out).contains(&format!("dave: MISMATCH\n{note}\n\n")), "{}", stdout(&out));
    assert!(stdout(&out).contains("alice: OK\n\n"));
}

#[test]
fn test_verify_assert_edited_after_signing_is_bad() {
    let l = Ledger::new();
    let f = l.path().join("1.0/bob/hello-build.assert");
    let text = std::fs::read_to_string(&f).unwrap().replace("2222", "2223");
    std::fs::write(&f, text).unwrap();
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(Ledger::row(&json, "bob")["signature_status"], "bad");
    assert_ne!(Ledger::row(&json, "bob")["verdict"], "OK");
}

#[test]
fn test_verify_signature_copied_from_another_signer_or_file() {
    let l = Ledger::new();
    // bob's signature over bob's bytes, next to carol's (different) bytes: bad.
    l.attest("1.0", "erin", "carol", EVIL);
    std::fs::copy(
        l.path().join("1.0/bob/hello-build.assert.sig"),
        l.path().join("1.0/erin/hello-build.assert.sig"),
    )
    .unwrap();
    // A signature of another release's file.
    l.attest("2.0", "alice", "alice", GOOD);
    l.attest("2.0", "bob", "bob", GOOD);
    std::fs::copy(
        l.path().join("1.0/bob/hello-build.assert.sig"),
        l.path().join("2.0/bob/hello-build.assert.sig"),
    )
    .unwrap();
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(Ledger::row(&json, "erin")["signature_status"], "bad");
    let rel2: Vec<_> =
        json["releases"].as_array().unwrap().iter().filter(|r| r["release"] == "2.0").collect();
    let bob2 =
        rel2[0]["signers"].as_array().unwrap().iter().find(|s| s["signer"] == "bob").unwrap();
    assert_eq!(bob2["signature_status"], "bad");
}

#[test]
fn test_verify_whole_attestation_copied_to_another_release_is_refused() {
    let l = Ledger::new();
    // Copy alice's signed files of 1.0 into 2.0: the signature holds, the release field does not.
    std::fs::create_dir_all(l.path().join("2.0/alice")).unwrap();
    for f in ["hello-build.assert", "hello-build.assert.sig"] {
        std::fs::copy(l.path().join("1.0/alice").join(f), l.path().join("2.0/alice").join(f))
            .unwrap();
    }
    let (code, json, _) = l.verify(&["-r", "2.0"]);
    assert_eq!(code, 1);
    let r = Ledger::row(&json, "alice");
    assert_eq!(r["signature_status"], "good");
    assert_eq!(r["verdict"], "INVALID");
    assert!(r["problem"].as_str().unwrap().contains("release field"), "{r}");
}

#[test]
fn test_verify_one_key_signing_several_signers_is_one_vote() {
    let l = Ledger::new();
    // mallory's key, published under two names, signs two directories with a forged manifest.
    for who in ["m1", "m2", "m3"] {
        l.attest("1.0", who, "mallory", EVIL);
    }
    l.gpg.export_to("mallory", &l.path().join("builder-keys/m1.asc"));
    let (code, json, _) = l.verify(&["--threshold", "2"]);
    assert_eq!(code, 1);
    let rel = &json["releases"][0];
    // Consensus is the honest manifest: 3 keys against 1.
    assert_eq!(rel["consensus_votes"], 3);
    for who in ["m1", "m2", "m3"] {
        let r = Ledger::row(&json, who);
        assert_eq!(r["verdict"], "SHARED KEY", "{r}");
        assert_eq!(r["key_file"], "builder-keys/m1.asc");
    }
    assert_eq!(Ledger::row(&json, "alice")["verdict"], "OK");
    let out = l.run(&["verify", "-d", l.path().to_str().unwrap()]);
    assert!(stdout(&out).contains("builder-keys/m1.asc"), "{}", stdout(&out));
}

#[test]
fn test_verify_hostile_names_are_refused() {
    let l = Ledger::new();
    for name in ["-rf", "a..b", "tab\tname", "new\nline", "..."] {
        let d = l.path().join("1.0").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(l.path().join("1.0/alice/hello-build.assert"), d.join("hello-build.assert"))
            .unwrap();
        std::fs::copy(
            l.path().join("1.0/alice/hello-build.assert.sig"),
            d.join("hello-build.assert.sig"),
        )
        .unwrap();
    }
    std::fs::create_dir_all(l.path().join("-1.0/alice")).unwrap();
    let nonutf8 = std::ffi::OsStr::new(unsafe_free_bytes());
    std::fs::create_dir_all(l.path().join("1.0").join(nonutf8)).unwrap();
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    let problems: Vec<String> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    for needle in ["'-rf'", "a..b", "tab\\tname", "new\\nline", "'...'", "'-1.0'", "not UTF-8"] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "no problem for {needle}: {problems:#?}"
        );
    }
    // None of them became a row.
    let signers: Vec<String> = json["releases"][0]["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signer"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(signers, ["alice", "bob", "carol"]);
}

fn unsafe_free_bytes() -> &'static std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(b"bad\xffname")
}

#[test]
fn test_verify_symlinks_are_not_followed() {
    let l = Ledger::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "x").unwrap();
    std::os::unix::fs::symlink(l.path().join("1.0/alice"), l.path().join("1.0/zed")).unwrap();
    std::fs::create_dir_all(l.path().join("1.0/yan")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret"),
        l.path().join("1.0/yan/hello-build.assert"),
    )
    .unwrap();
    std::fs::copy(
        l.path().join("1.0/alice/hello-build.assert.sig"),
        l.path().join("1.0/yan/hello-build.assert.sig"),
    )
    .unwrap();
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    let problems = json["problems"].to_string();
    assert!(problems.contains("1.0/zed") && problems.contains("symlink"), "{problems}");
    let yan = Ledger::row(&json, "yan");
    assert_ne!(yan["verdict"], "OK");
    assert!(yan["problem"].as_str().unwrap().contains("symlink"), "{yan}");
}

#[test]
fn test_verify_alias_bomb_huge_and_garbage_files() {
    let l = Ledger::new();
    // A YAML alias bomb, signed (so only the parser can refuse it).
    let d = l.path().join("1.0/bomb");
    std::fs::create_dir_all(&d).unwrap();
    let mut bomb = String::from(
        "--- !!omap\n- a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n",
    );
    for (i, c) in "bcdefghij".chars().enumerate() {
        let prev = (b'a' + i as u8) as char;
        bomb.push_str(&format!("- {c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    std::fs::write(d.join("hello-build.assert"), bomb).unwrap();
    l.gpg.sign("mallory", &d.join("hello-build.assert"));
    // A 1 GiB assert (sparse), with a garbage signature.
    let d = l.path().join("1.0/huge");
    std::fs::create_dir_all(&d).unwrap();
    let f = std::fs::File::create(d.join("hello-build.assert")).unwrap();
    f.set_len(1 << 30).unwrap();
    std::fs::write(d.join("hello-build.assert.sig"), b"garbage, not OpenPGP").unwrap();
    // Non-UTF-8 bytes, signed; and a truncated signature.
    let d = l.path().join("1.0/latin1");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("hello-build.assert"), b"--- !!omap\n- out_manifest: '\xe9t\xe9'\n")
        .unwrap();
    l.gpg.sign("mallory", &d.join("hello-build.assert"));
    // bob's own signature, truncated.
    let f = l.path().join("1.0/bob/hello-build.assert.sig");
    let sig = std::fs::read(&f).unwrap();
    std::fs::write(&f, &sig[..sig.len() / 2]).unwrap();

    let start = std::time::Instant::now();
    let (code, json, err) = l.verify(&[]);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    assert_eq!(code, 1, "{err}");
    for who in ["bomb", "huge", "latin1", "bob"] {
        let r = Ledger::row(&json, who);
        assert_ne!(r["verdict"], "OK", "{who}: {r}");
    }
    assert!(Ledger::row(&json, "bomb")["problem"].as_str().unwrap().contains("alias"));
    assert!(Ledger::row(&json, "huge")["problem"].as_str().unwrap().contains("over the limit"));
    assert!(Ledger::row(&json, "latin1")["problem"].as_str().unwrap().contains("not UTF-8"));
    let bob = Ledger::row(&json, "bob");
    assert!(bob["signature_status"].as_str().unwrap().starts_with("error"), "{bob}");
    assert!(Ledger::row(&json, "huge")["signature_status"].as_str().unwrap().starts_with("error"));
    // The honest signers still agree.
    assert_eq!(Ledger::row(&json, "alice")["verdict"], "OK");
}

#[test]
fn test_verify_missing_signature_and_missing_data() {
    let l = Ledger::new();
    std::fs::remove_file(l.path().join("1.0/bob/hello-build.assert.sig")).unwrap();
    std::fs::remove_file(l.path().join("1.0/carol/hello-build.assert")).unwrap();
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(Ledger::row(&json, "bob")["signature_status"], "no_signature");
    assert_eq!(Ledger::row(&json, "carol")["signature_status"], "no_data");
    let out =
        l.run(&["verify", "-d", l.path().to_str().unwrap(), "--format", "gverify", "--no-markup"]);
    let text = stdout(&out);
    assert!(text.contains("missing signature at") && text.contains("missing result at"), "{text}");
}

#[test]
fn test_verify_reads_unmerged_branches_and_reports_conflicts() {
    let l = Ledger::new();
    let p = l.path();
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "three builders"]);
    // dave attests on an unmerged branch.
    git(p, &["checkout", "-q", "-b", "dave"]);
    l.attest("1.0", "dave", "mallory", GOOD);
    l.gpg.export_to("mallory", &p.join("builder-keys/dave.asc"));
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "dave"]);
    // carol re-attests differently on another branch.
    git(p, &["checkout", "-q", "main"]);
    git(p, &["checkout", "-q", "-b", "carol2"]);
    l.attest("1.0", "carol", "carol", EVIL);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "carol again"]);
    git(p, &["checkout", "-q", "main"]);

    // dave's key is not at the main revision: given with --keys, his branch's attestation
    // counts.
    let key = p.join("dave-key.asc");
    l.gpg.export_to("mallory", &key);
    let (code, json, err) =
        l.verify(&["--rev", "main", "--rev", "dave", "--keys", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}{json:#}");
    assert_eq!(Ledger::row(&json, "dave")["verdict"], "OK");
    assert_eq!(Ledger::row(&json, "dave")["revisions"], serde_json::json!(["dave"]));
    assert_eq!(Ledger::row(&json, "alice")["revisions"], serde_json::json!(["main", "dave"]));
    assert_eq!(json["releases"][0]["consensus_votes"], 4);

    // carol signed two different versions with her own key: a conflict, both reported, neither
    // counted (the votes are alice's and bob's), each naming the revisions of both.
    let (code, json, _) = l.verify(&["--all-branches"]);
    assert_eq!(code, 1);
    let rel = &json["releases"][0];
    assert_eq!(rel["consensus_votes"], 2, "{rel:#}");
    let carol = Ledger::rows(&json, "carol");
    assert_eq!(carol.len(), 2, "both versions reported");
    let mut revisions = Vec::new();
    for c in &carol {
        assert_eq!(c["verdict"], "CONFLICT");
        assert_eq!(c["signature_status"], "good");
        revisions.push(c["revisions"].clone());
        let problem = c["problem"].as_str().unwrap();
        assert!(problem.contains("differs between revisions"), "{problem}");
        assert!(problem.contains("carol2") && problem.contains("main"), "{problem}");
    }
    revisions.sort_by_key(|r| r.to_string());
    assert_eq!(revisions, [serde_json::json!(["carol2"]), serde_json::json!(["dave", "main"])]);
    let table = stdout(&l.run(&["verify", "-d", p.to_str().unwrap(), "--all-branches"]));
    assert!(table.contains("CONFLICT") && table.contains("carol2"), "{table}");
}

#[test]
fn test_verify_errors_exit_2_with_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_fresh(tmp.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint: "));
    let out = run_fresh(tmp.path(), &["verify", "-d", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no attestations"), "{}", stderr(&out));
    let out = run_fresh(tmp.path(), &["verify", "-d", "/nonexistent/x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn test_verify_uses_your_keyring_only_when_asked() {
    let l = Ledger::new();
    // dave's key is in nobody's ledger, only in the GnuPG home the keys were made in, which is
    // GNUPGHOME for this run (and HOME's ~/.gnupg is that home too): it must not be read.
    l.attest("1.0", "dave", "mallory", GOOD);
    let home = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(l.gpg.path(), home.path().join(".gnupg")).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["verify", "-d", l.path().to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = Command::new(bin())
            .args(&args)
            .env("GNUPGHOME", l.gpg.path())
            .env("HOME", home.path())
            .env("XDG_CACHE_HOME", l.cache.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), json)
    };
    let (code, json) = run(&[]);
    assert_eq!(code, Some(1), "{json:#}");
    let dave = Ledger::row(&json, "dave");
    assert_eq!(dave["signature_status"], "no_pubkey", "{dave}");
    assert_eq!(dave["key_file"], serde_json::Value::Null, "{dave}");
    // The same run again (warm memory): still not.
    let (_, json) = run(&[]);
    assert_eq!(Ledger::row(&json, "dave")["signature_status"], "no_pubkey");
    let (code, json) = run(&["--gpg-keyring", "--threshold", "4"]);
    assert_eq!(code, Some(0), "{json:#}");
    assert_eq!(Ledger::row(&json, "dave")["key_file"], "gpg-keyring");
}

#[test]
fn test_verify_release_on_one_branch_only() {
    let l = Ledger::new();
    let p = l.path();
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "1.0"]);
    git(p, &["checkout", "-q", "-b", "next"]);
    for who in ["alice", "bob"] {
        l.attest("2.0", who, who, GOOD);
    }
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "2.0"]);
    git(p, &["checkout", "-q", "main"]);
    std::fs::remove_dir_all(p.join("2.0")).ok();
    let (code, json, err) = l.verify(&["--all-branches", "-r", "2.0"]);
    assert_eq!(code, 0, "{err}{json:#}");
    assert_eq!(json["releases"].as_array().unwrap().len(), 1);
    let (code, _, err) = l.verify(&["--all-branches", "-r", "3.0"]);
    assert_eq!(code, 2);
    assert!(err.contains("release '3.0' does not exist"), "{err}");
}

/// Runs verify over the corpus (with `gitian` as the Gitian ledger) with its own cache folder.
fn corpus_run(gitian: &Path, cache_home: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let c = corpus();
    let mut args = corpus_args(gitian, &c.join("guix.sigs"));
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = Command::new(bin())
        .args(&args)
        .env("XDG_CACHE_HOME", cache_home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GNUPGHOME")
        .output()
        .unwrap();
    (out.status.code(), stdout(&out))
}

#[test]
fn test_verify_cache_of_checks_changes_no_verdict() {
    let c = corpus();
    let cache_home = tempfile::tempdir().unwrap();
    let dir = cache_home.path().join("git-gitian/verify");
    // Cold, then warm: the rows are the expected ones both times.
    let (code, cold) = corpus_run(&c.join("gitian.sigs"), cache_home.path(), &[]);
    assert_eq!(code, Some(1));
    assert_rows_equal(&cold);
    let bytes = std::fs::read(dir.join("signatures")).expect("the first run writes the cache");
    // 104 good or expired_key signatures and the keys' self-signatures were checked.
    assert!(bytes.len() > 34 + 104 * 32, "{} bytes", bytes.len());
    let memo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("memo.json")).unwrap()).unwrap();
    assert!(memo["checks"].as_array().unwrap().len() >= 104, "{memo}");
    // Every Gitian attestation but the one that is not UTF-8.
    assert!(memo["attestations"].as_object().unwrap().len() >= 80, "{memo}");
    // Every distinct readable key file (the warm run below parses only the ones it needs).
    assert!(memo["key_files"].as_object().unwrap().len() >= 60, "{memo}");
    let (_, warm) = corpus_run(&c.join("gitian.sigs"), cache_home.path(), &[]);
    assert_eq!(warm, cold);

    // An attestation edited after its signature was cached is bad, cache or not.
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&c.join("gitian.sigs"), copy.path());
    let ledger = copy.path().join("gitian.sigs");
    let good = cold
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|r| r[0] == "gitian" && r[4] == "good")
        .expect("a good gitian row");
    let assert_path = ledger.join(r_path(good[1], good[3], good[2]));
    let text = std::fs::read_to_string(&assert_path).unwrap();
    let pos = text.find("out_manifest").unwrap() + 20;
    let mut edited = text.into_bytes();
    edited[pos] = if edited[pos] == b'0' { b'1' } else { b'0' };
    std::fs::write(&assert_path, edited).unwrap();
    let (_, after) = corpus_run(&ledger, cache_home.path(), &[]);
    let row = after
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|r| r[1] == good[1] && r[2] == good[2] && r[3] == good[3])
        .expect("the edited row");
    assert_eq!(row[4], "bad", "{row:?}");

    // --no-cache neither reads nor writes it.
    let other = tempfile::tempdir().unwrap();
    let (_, uncached) = corpus_run(&c.join("gitian.sigs"), other.path(), &["--no-cache"]);
    assert_eq!(uncached, cold);
    assert!(!other.path().join("git-gitian").exists());
}

fn r_path(release: &str, signer: &str, file: &str) -> PathBuf {
    Path::new(release).join(signer).join(file)
}

/// Issue 13: gverify reads only `name` from a descriptor, so a descriptor holding only
/// `name:` selects the same attestations as `--name`.
#[test]
fn test_verify_descriptor_holding_only_its_name() {
    let c = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let desc = tmp.path().join("gitian-linux.yml");
    std::fs::write(&desc, "name: bitcoin-core-linux-0.20\n").unwrap();
    let mut base = corpus_args(&c.join("gitian.sigs"), &c.join("guix.sigs"));
    base.drain(3..5); // the gitian ledger only
    let mut by_desc: Vec<String> = base.clone();
    by_desc.extend(["-r".into(), "0.20.1-linux".into(), desc.display().to_string()]);
    let mut by_name = base;
    by_name.extend(["-r", "0.20.1-linux", "--name", "bitcoin-core-linux-0.20"].map(String::from));
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_fresh(&c, &args)
    };
    let (d, n) = (run(&by_desc), run(&by_name));
    assert_eq!(d.status.code(), n.status.code(), "{}", stderr(&d));
    assert!(!stdout(&d).is_empty(), "{}", stderr(&d));
    assert_eq!(stdout(&d), stdout(&n));
    assert_eq!(stdout(&d).lines().skip(1).count(), 19, "header + 19 rows: {}", stdout(&d));
    // Anything wrong with the name itself is still an error naming the line.
    std::fs::write(&desc, "# x\nname: a/b\n").unwrap();
    let d = run(&by_desc);
    assert_eq!(d.status.code(), Some(2));
    assert!(
        stderr(&d).contains("gitian-linux.yml:2: name 'a/b' may contain only"),
        "{}",
        stderr(&d)
    );
}
