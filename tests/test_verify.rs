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

/// A throwaway GnuPG home with real keys; the agent is killed on drop.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Self {
        // Short path: the agent socket lives inside and must fit in 108 bytes.
        let home = tempfile::Builder::new().prefix("gg").tempdir_in("/tmp").unwrap();
        std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        Self { home }
    }

    fn gpg(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn key(&self, name: &str) {
        self.gpg(&[
            "--quick-gen-key",
            &format!("{name} <{name}@example.invalid>"),
            "ed25519",
            "sign",
            "never",
        ]);
    }

    fn export(&self, name: &str, to: &Path) {
        let out = self.gpg(&["--armor", "--export", &format!("{name}@example.invalid")]);
        std::fs::write(to, out.stdout).unwrap();
    }

    /// A key made at `when` (gpg's `--faked-system-time`), expiring after `expire` (`1y`).
    fn key_at(&self, name: &str, when: &str, expire: &str) {
        let uid = format!("{name} <{name}@example.invalid>");
        self.gpg(&[
            "--faked-system-time",
            when,
            "--quick-gen-key",
            &uid,
            "ed25519",
            "sign",
            expire,
        ]);
    }

    /// A detached signature made at `when`.
    fn sign_at(&self, name: &str, file: &Path, when: &str) {
        let sig = format!("{}.sig", file.display());
        let user = format!("{name}@example.invalid");
        let file = file.display().to_string();
        self.gpg(&["--faked-system-time", when, "-u", &user, "--detach-sign", "-o", &sig, &file]);
    }

    /// The primary fingerprint of `name`'s key.
    fn fingerprint(&self, name: &str) -> String {
        let out = self.gpg(&["--with-colons", "--list-keys", &format!("{name}@example.invalid")]);
        let text = String::from_utf8(out.stdout).unwrap();
        let line = text.lines().find(|l| l.starts_with("fpr:")).unwrap();
        line.split(':').nth(9).unwrap().to_string()
    }

    /// The revocation certificate gpg wrote when it made `name`'s key, made usable (gpg puts a
    /// colon before its armor header against accidental use).
    fn revocation(&self, name: &str) -> Vec<u8> {
        let path =
            self.home.path().join(format!("openpgp-revocs.d/{}.rev", self.fingerprint(name)));
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find(":-----BEGIN").unwrap();
        text.as_bytes()[start + 1..].to_vec()
    }

    fn sign(&self, name: &str, file: &Path) {
        let sig = format!("{}.sig", file.display());
        self.gpg(&[
            "-u",
            &format!("{name}@example.invalid"),
            "--detach-sign",
            "-o",
            &sig,
            &file.display().to_string(),
        ]);
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

fn assert_text(release: &str, name: &str, manifest: &str) -> String {
    use git_gitian::core::assertion::{BuildResult, Document, to_assert};
    let r = BuildResult {
        out_manifest: manifest.to_string(),
        in_manifest: format!("{}  {name}-desc.yml\ngit:{} src", "d".repeat(64), "a".repeat(40)),
        ..Default::default()
    };
    let doc = Document::parse(&r.render()).unwrap();
    to_assert(&doc, release, name, None).render()
}

const GOOD: &str = "1111111111111111111111111111111111111111111111111111111111111111  hello-1.0.tar.gz\n2222222222222222222222222222222222222222222222222222222222222222  hello-1.0.zip\n";
const EVIL: &str = "1111111111111111111111111111111111111111111111111111111111111111  hello-1.0.tar.gz\n6666666666666666666666666666666666666666666666666666666666666666  hello-1.0.zip\n";

/// A ledger with release 1.0 signed by alice, bob and carol, all agreeing. Its verify runs have
/// their own cache folder, and GNUPGHOME set to the home holding every key (mallory's too):
/// nothing may come from there.
struct Ledger {
    gpg: Gpg,
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Ledger {
    fn new() -> Self {
        let gpg = Gpg::new();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("builder-keys")).unwrap();
        for who in ["alice", "bob", "carol", "mallory"] {
            gpg.key(who);
            if who != "mallory" {
                gpg.export(who, &dir.path().join("builder-keys").join(format!("{who}.asc")));
            }
        }
        let l = Self { gpg, dir, cache: tempfile::tempdir().unwrap() };
        for who in ["alice", "bob", "carol"] {
            l.attest("1.0", who, who, GOOD);
        }
        l
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `<release>/<signer>/hello-build.assert` and signs it with `key`.
    fn attest(&self, release: &str, signer: &str, key: &str, manifest: &str) -> PathBuf {
        self.attest_named(release, signer, key, "hello", manifest)
    }

    /// Writes `<release>/<signer>/<name>-build.assert` and signs it with `key`.
    fn attest_named(
        &self,
        release: &str,
        signer: &str,
        key: &str,
        name: &str,
        manifest: &str,
    ) -> PathBuf {
        let d = self.path().join(release).join(signer);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join(format!("{name}-build.assert"));
        std::fs::write(&f, assert_text(release, name, manifest)).unwrap();
        self.gpg.sign(key, &f);
        f
    }

    fn verify(&self, extra: &[&str]) -> (i32, serde_json::Value, String) {
        let mut args = vec!["verify", "-d", self.path().to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let code = out.status.code().unwrap_or(-1);
        let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (code, json, stderr(&out))
    }

    /// The binary in the ledger's folder, with the key-holding GNUPGHOME and its own cache.
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin())
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("GNUPGHOME", self.gpg.home.path())
            .env("XDG_CACHE_HOME", self.cache.path())
            .output()
            .unwrap()
    }

    /// Commits everything on the current branch (a git repository is made on first use).
    fn commit(&self, message: &str) {
        if !self.path().join(".git").exists() {
            git(self.path(), &["init", "-q", "-b", "main"]);
        }
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", message]);
    }

    fn rows(json: &serde_json::Value, signer: &str) -> Vec<serde_json::Value> {
        json["releases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["signers"].as_array().unwrap().clone())
            .filter(|s| s["signer"] == signer)
            .collect()
    }

    fn row(json: &serde_json::Value, signer: &str) -> serde_json::Value {
        json["releases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["signers"].as_array().unwrap().clone())
            .find(|s| s["signer"] == signer)
            .unwrap_or_else(|| panic!("no row for {signer} in {json:#}"))
    }
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
    l.gpg.export("mallory", &key);
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
    assert!(stdout(&out).contains("dave: MISMATCH\n\n"), "{}", stdout(&out));
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
    l.gpg.export("mallory", &l.path().join("builder-keys/m1.asc"));
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
    l.gpg.export("mallory", &p.join("builder-keys/dave.asc"));
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
    l.gpg.export("mallory", &key);
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
    // dave's key is in nobody's ledger, only in the GnuPG home the keys were made in.
    l.attest("1.0", "dave", "mallory", GOOD);
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(Ledger::row(&json, "dave")["signature_status"], "no_pubkey");
    let mut args =
        vec!["verify", "-d", l.path().to_str().unwrap(), "--format", "json", "--gpg-keyring"];
    args.push("--threshold");
    args.push("4");
    let out = Command::new(bin())
        .args(&args)
        .env("GNUPGHOME", l.gpg.home.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json:#}");
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

/// gpg's verdict on `sig` over `data` with only the key files given imported into a fresh home:
/// its `[GNUPG:]` status lines.
fn gpg_status(key_files: &[&Path], data: &Path, sig: &Path) -> String {
    let g = Gpg::new();
    for f in key_files {
        g.gpg(&["--import", &f.display().to_string()]);
    }
    let out = Command::new("gpg")
        .arg("--homedir")
        .arg(g.home.path())
        .args(["--batch", "--status-fd", "1", "--verify"])
        .arg(sig)
        .arg(data)
        .output()
        .unwrap();
    stdout(&out)
}

#[test]
fn test_verify_a_revocation_certificate_in_the_key_folder_revokes_the_key() {
    // Attack 1 of issue 11: a revocation certificate appended to a key file, or in its own file
    // in the key folder, was ignored; gpg reports the key revoked.
    let l = Ledger::new();
    let keys = l.path().join("builder-keys");
    let bob_key = std::fs::read(keys.join("bob.asc")).unwrap();
    let rev = l.gpg.revocation("bob");
    let data = l.path().join("1.0/bob/hello-build.assert");
    let sig = l.path().join("1.0/bob/hello-build.assert.sig");
    // Appended to bob's key file, alone in a file of its own (sorted before bob's), and in
    // one binary stream right after the certificate's packets.
    let appended = [bob_key.clone(), rev.clone()].concat();
    let dearmor = |armored: &[u8]| {
        let p = l.path().join("x.asc");
        std::fs::write(&p, armored).unwrap();
        let out = l.gpg.gpg(&["--dearmor", "-o", "-", &p.display().to_string()]);
        std::fs::remove_file(p).unwrap();
        out.stdout
    };
    let binary = [dearmor(&bob_key), dearmor(&rev)].concat();
    for (name, bytes) in [("bob.asc", appended), ("bob-revoked.asc", rev), ("bob.gpg", binary)] {
        std::fs::write(keys.join("bob.asc"), &bob_key).unwrap();
        std::fs::write(keys.join(name), bytes).unwrap();
        let files = [keys.join("bob.asc"), keys.join(name)];
        let status = gpg_status(&[&files[0], &files[1]], &data, &sig);
        assert!(status.contains("[GNUPG:] REVKEYSIG"), "gpg: {status}");
        // Cold, then warm (the memory must not forget the revocation).
        for run in ["cold", "warm"] {
            let (code, json, err) = l.verify(&[]);
            assert_eq!(code, 1, "{run} {name}: {err}{json:#}");
            let bob = Ledger::row(&json, "bob");
            assert_eq!(bob["signature_status"], "revoked_key", "{run} {name}: {bob}");
            assert_ne!(bob["verdict"], "OK");
            assert_eq!(Ledger::row(&json, "alice")["verdict"], "OK");
        }
        std::fs::remove_file(keys.join(name)).unwrap();
        if name == "bob.gpg" {
            std::fs::write(keys.join("bob.asc"), &bob_key).unwrap();
        }
    }
}

#[test]
fn test_verify_all_branches_take_policy_and_keys_from_the_main_revision_only() {
    // Attack 2 of issue 11: with --all-branches, policy.yml came from the first branch by name
    // (so a branch could lower the threshold), and keys only on an unmerged branch counted.
    let l = Ledger::new();
    std::fs::write(l.path().join("policy.yml"), "threshold: 4\n").unwrap();
    l.commit("three builders, four needed");
    // Branch "aaa" (sorted first) lowers the threshold; branch "dave" adds a key and a signer.
    git(l.path(), &["checkout", "-q", "-b", "aaa"]);
    std::fs::write(l.path().join("policy.yml"), "threshold: 1\n").unwrap();
    l.commit("lower the threshold");
    git(l.path(), &["checkout", "-q", "main"]);
    git(l.path(), &["checkout", "-q", "-b", "dave"]);
    l.attest("1.0", "dave", "mallory", GOOD);
    l.gpg.export("mallory", &l.path().join("builder-keys/dave.asc"));
    l.commit("dave");
    git(l.path(), &["checkout", "-q", "main"]);

    let (code, json, err) = l.verify(&["--all-branches"]);
    assert_eq!(code, 1, "{err}{json:#}");
    let rel = &json["releases"][0];
    assert_eq!(rel["threshold"], 4, "{rel:#}");
    assert_eq!(rel["threshold_met"], false);
    let dave = Ledger::row(&json, "dave");
    assert_eq!(dave["signature_status"], "no_pubkey", "{dave}");
    assert_eq!(rel["consensus_votes"], 3);
    // The same with the revisions named: the first is the main one.
    let (code, json, _) = l.verify(&["--rev", "main", "--rev", "dave", "--rev", "aaa"]);
    assert_eq!(code, 1);
    assert_eq!(json["releases"][0]["threshold"], 4);
    assert_eq!(Ledger::row(&json, "dave")["signature_status"], "no_pubkey");
    // Given with --keys, dave's key counts, and so does his signature.
    let key = l.path().join("dave.asc");
    l.gpg.export("mallory", &key);
    let (code, json, err) = l.verify(&["--all-branches", "--keys", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}{json:#}");
    assert_eq!(Ledger::row(&json, "dave")["verdict"], "OK");
    assert_eq!(json["releases"][0]["consensus_votes"], 4);
}

#[test]
fn test_verify_an_unsigned_edit_on_a_branch_does_not_unseat_the_signed_version() {
    // Attack 3 of issue 11: an unsigned (or badly signed) edit of honest signers' asserts on
    // another branch turned their rows into conflicts, and so flipped the consensus.
    let l = Ledger::new();
    l.commit("three builders");
    git(l.path(), &["checkout", "-q", "-b", "edit"]);
    for who in ["bob", "carol"] {
        let f = l.path().join(format!("1.0/{who}/hello-build.assert"));
        std::fs::write(&f, assert_text("1.0", "hello", EVIL)).unwrap();
    }
    // mallory signs the one she edited as carol: still not carol's key.
    l.gpg.sign("mallory", &l.path().join("1.0/carol/hello-build.assert"));
    l.commit("edit bob's and carol's asserts");
    git(l.path(), &["checkout", "-q", "main"]);
    let (code, json, err) = l.verify(&["--all-branches"]);
    assert_eq!(code, 1, "the forged versions are still reported: {err}{json:#}");
    let rel = &json["releases"][0];
    assert_eq!(rel["consensus_votes"], 3, "{rel:#}");
    for who in ["alice", "bob", "carol"] {
        let rows = Ledger::rows(&json, who);
        let signed: Vec<_> = rows.iter().filter(|r| r["signature_status"] == "good").collect();
        assert_eq!(signed.len(), 1, "{who}: {rows:#?}");
        assert_eq!(signed[0]["verdict"], "OK", "{who}: {rows:#?}");
        for r in rows.iter().filter(|r| r["signature_status"] != "good") {
            assert_eq!(r["revisions"], serde_json::json!(["edit"]), "{r}");
            assert_ne!(r["verdict"], "CONFLICT", "{r}");
            assert_ne!(r["verdict"], "OK", "{r}");
        }
    }
    assert_eq!(Ledger::rows(&json, "bob").len(), 2);
}

#[test]
fn test_verify_a_malformed_tree_on_one_branch_is_a_problem_not_the_end() {
    // Attack 12 of issue 11: one malformed tree (duplicate or unsorted entries) on one branch
    // stopped the whole --all-branches run.
    let l = Ledger::new();
    l.commit("three builders");
    let p = l.path();
    let hex = git(p, &["rev-parse", "main:1.0/alice/hello-build.assert"]);
    let id: Vec<u8> =
        (0..20).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    // A signer folder whose entries are in reverse order (git looks names up by bisection),
    // one of them twice.
    let mut bad = Vec::new();
    for name in [
        "z-build.assert",
        "hello-build.assert.sig",
        "hello-build.assert",
        "c-build.assert",
        "b-build.assert",
        "a-build.assert",
        "a-build.assert",
    ] {
        bad.extend_from_slice(format!("100644 {name}\0").as_bytes());
        bad.extend_from_slice(&id);
    }
    let bad_file = p.join("bad-tree");
    std::fs::write(&bad_file, &bad).unwrap();
    let bad_tree = git(p, &["hash-object", "-t", "tree", "--literally", "-w", "bad-tree"]);
    std::fs::remove_file(&bad_file).unwrap();
    let signer_dir = format!("040000 tree {bad_tree}\tzed\n");
    let release = git(p, &["rev-parse", "main:1.0"]);
    let listing = git(p, &["ls-tree", &release]);
    let mktree = |input: String| {
        let mut child = Command::new("git")
            .args(["mktree", "--missing"])
            .current_dir(p)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
    };
    let new_release = mktree(format!("{listing}\n{signer_dir}"));
    let root = git(p, &["ls-tree", "main"])
        .lines()
        .map(|l| {
            if l.ends_with("\t1.0") { format!("040000 tree {new_release}\t1.0") } else { l.into() }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let new_root = mktree(root + "\n");
    let commit = git(p, &["commit-tree", &new_root, "-p", "main", "-m", "malformed"]);
    git(p, &["branch", "broken", &commit]);

    let (code, json, err) = l.verify(&["--all-branches"]);
    assert_eq!(code, 1, "{err}{json:#}");
    let problems = json["problems"].to_string();
    assert!(problems.contains("broken"), "the branch is named: {problems}");
    for who in ["alice", "bob", "carol"] {
        assert_eq!(Ledger::row(&json, who)["verdict"], "OK", "{json:#}");
    }
}

#[test]
fn test_verify_a_copy_of_a_signers_files_on_a_branch_is_its_own_row() {
    // With several revisions, versions were told apart by their bytes only: a copy of alice's
    // signed files into another signer folder on a branch became alice's row (and vanished).
    let l = Ledger::new();
    l.commit("three builders");
    git(l.path(), &["checkout", "-q", "-b", "copy"]);
    std::fs::create_dir_all(l.path().join("1.0/zed")).unwrap();
    for f in ["hello-build.assert", "hello-build.assert.sig"] {
        std::fs::copy(l.path().join("1.0/alice").join(f), l.path().join("1.0/zed").join(f))
            .unwrap();
    }
    l.commit("copy alice's attestation");
    git(l.path(), &["checkout", "-q", "main"]);
    let (code, json, err) = l.verify(&["--all-branches"]);
    assert_eq!(code, 1, "{err}{json:#}");
    let zed = Ledger::row(&json, "zed");
    assert_eq!(zed["revisions"], serde_json::json!(["copy"]), "{zed}");
    assert_eq!(zed["verdict"], "SHARED KEY", "{zed}");
    assert_eq!(Ledger::row(&json, "alice")["revisions"], serde_json::json!(["copy", "main"]));
}

#[test]
fn test_verify_policy_threshold_required_signers_and_expired_keys() {
    let l = Ledger::new();
    let policy = |text: &str| std::fs::write(l.path().join("policy.yml"), text).unwrap();
    let release = |json: &serde_json::Value| json["releases"][0].clone();
    policy("threshold: 4\n");
    let (code, json, _) = l.verify(&[]);
    assert_eq!((code, release(&json)["threshold"].clone()), (1, 4.into()));
    assert_eq!(release(&json)["threshold_met"], false);
    policy("threshold: 3\n");
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 0, "{err}{json:#}");
    // --threshold overrides the file.
    let (code, _, _) = l.verify(&["--threshold", "4"]);
    assert_eq!(code, 1);

    policy("required_signers: [alice, dave]\n");
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(release(&json)["missing_required_signers"], serde_json::json!(["dave"]));
    policy("required_signers: [alice]\n");
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 0, "{err}{json:#}");

    // dave's key expired (made in 2020 for a year); he signed while it was valid.
    l.gpg.key_at("dave", "20200101T000000", "1y");
    l.gpg.export("dave", &l.path().join("builder-keys/dave.asc"));
    let f = l.path().join("1.0/dave/hello-build.assert");
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(&f, assert_text("1.0", "hello", GOOD)).unwrap();
    l.gpg.sign_at("dave", &f, "20200601T000000");
    policy("");
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 0, "expired keys count by default: {err}{json:#}");
    assert_eq!(Ledger::row(&json, "dave")["signature_status"], "expired_key");
    assert_eq!(Ledger::row(&json, "dave")["counts"], true);
    assert_eq!(release(&json)["consensus_votes"], 4);
    policy("expired_keys_count: false\n");
    let (code, json, _) = l.verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(Ledger::row(&json, "dave")["counts"], false);
    assert_ne!(Ledger::row(&json, "dave")["verdict"], "OK");
    assert_eq!(release(&json)["consensus_votes"], 3);
}

#[test]
fn test_verify_a_required_signer_must_be_signed_by_the_key_kept_under_that_name() {
    // Attack 4 of issue 11: `required_signers: [alice]` was met by a folder named alice signed
    // by another key of the ledger.
    let l = Ledger::new();
    std::fs::write(l.path().join("policy.yml"), "required_signers: [alice]\n").unwrap();
    l.gpg.export("mallory", &l.path().join("builder-keys/zed.asc"));
    l.attest("1.0", "alice", "mallory", GOOD);
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 1, "{err}{json:#}");
    let rel = &json["releases"][0];
    assert_eq!(rel["missing_required_signers"], serde_json::json!(["alice"]), "{rel:#}");
    let alice = Ledger::row(&json, "alice");
    assert_eq!(alice["key_file"], "builder-keys/zed.asc");
    // Signed by her own key again: met. Her key in a folder named after her is hers too.
    l.attest("1.0", "alice", "alice", GOOD);
    std::fs::create_dir_all(l.path().join("builder-keys/alice")).unwrap();
    std::fs::rename(
        l.path().join("builder-keys/alice.asc"),
        l.path().join("builder-keys/alice/2026.asc"),
    )
    .unwrap();
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 0, "{err}{json:#}");
    // The same key kept under another name as well is still hers.
    l.gpg.export("alice", &l.path().join("builder-keys/a-copy.asc"));
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 0, "{err}{json:#}");
}

#[test]
fn test_verify_two_descriptors_in_one_release_are_two_consensus_groups() {
    // Attack 10 of issue 11: the asserts of two descriptors in one release folder competed for
    // one consensus, so the larger one's outputs made the other's signers MISMATCH.
    let l = Ledger::new();
    let other =
        "3333333333333333333333333333333333333333333333333333333333333333  world-1.0.tar.gz\n";
    for who in ["alice", "bob"] {
        l.attest_named("1.0", who, who, "world", other);
    }
    let (code, json, err) = l.verify(&["--threshold", "2"]);
    assert_eq!(code, 0, "{err}{json:#}");
    let groups: Vec<(String, u64)> = json["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["group"].as_str().unwrap().to_string(), r["consensus_votes"].as_u64().unwrap()))
        .collect();
    assert_eq!(groups, [("hello".to_string(), 3), ("world".to_string(), 2)]);
    for r in json["releases"].as_array().unwrap() {
        for s in r["signers"].as_array().unwrap() {
            assert_eq!(s["verdict"], "OK", "{s}");
        }
    }
    // --name picks one descriptor.
    let (code, json, _) = l.verify(&["--name", "world"]);
    assert_eq!(code, 0);
    assert_eq!(json["releases"].as_array().unwrap().len(), 1);
    assert_eq!(json["releases"][0]["signers"].as_array().unwrap().len(), 2);
}
