//! The hooks: install/uninstall around a user's own hook, pre-commit on staged attestations,
//! and pre-push guarding a real remote against bad signatures and disagreeing outputs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::ledger::{World, hash};
use crate::common::{stderr, stdout};

const NAME: &str = "demo-linux-1.0";

/// builders' keys committed, a bare remote `remote.git` with the ledger pushed to it.
fn ledger(builders: &[&str]) -> (World, PathBuf) {
    let w = World::new(builders);
    w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let sigs = w.path("sigs");
    for b in builders {
        std::fs::write(sigs.join(format!("builder-keys/{b}.asc")), w.public_key(b)).unwrap();
    }
    w.git_ok(&sigs, &["add", "builder-keys"]);
    w.git_ok(&sigs, &["commit", "-qm", "Add builder keys"]);
    w.git_ok(w.root.path(), &["init", "-q", "--bare", "remote.git"]);
    w.git_ok(&sigs, &["remote", "add", "origin", "../remote.git"]);
    let push = w.git(&sigs, &["push", "-q", "origin", "main"]);
    assert!(push.status.success(), "{}", stderr(&push));
    (w, sigs)
}

/// `builder` builds with this output hash and signs it (committing it in the ledger).
fn build_and_sign(w: &World, builder: &str, out_hash: &str) {
    let b = w.build_dir(&format!("build-{builder}"), NAME, out_hash);
    w.gitian_ok(&b, &["sign", "-s", builder, "-r", "1.0", "-d", "../sigs", "demo-linux-1.0.yml"]);
}

fn remote_head(w: &World) -> String {
    w.git_ok(&w.path("remote.git"), &["rev-parse", "main"]).trim().to_string()
}

fn local_head(w: &World, sigs: &Path) -> String {
    w.git_ok(sigs, &["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn test_hooks_pre_push_guards_the_ledger() {
    let (w, sigs) = ledger(&["alice", "bob", "carol"]);

    // The first signer, then one who agrees: both pushed.
    build_and_sign(&w, "alice", &hash('a'));
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(push.status.success(), "first signer refused: {}", stderr(&push));
    assert!(
        stderr(&push).contains("verified: 1.0/alice/demo-linux-1.0-build.assert"),
        "{}",
        stderr(&push)
    );
    build_and_sign(&w, "bob", &hash('a'));
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(push.status.success(), "agreeing signer refused: {}", stderr(&push));
    assert_eq!(remote_head(&w), local_head(&w, &sigs));

    // verify from the remote's objects: OK for all.
    let v = w.gitian(w.root.path(), &["verify", "-d", "remote.git", "-r", "1.0"]);
    assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
    let table = stdout(&v);
    assert!(table.contains("result: OK"), "{table}");
    assert_eq!(table.lines().filter(|l| l.ends_with("  OK")).count(), 2, "{table}");

    // A third builder with one differing output: refused with the table naming the artifact.
    build_and_sign(&w, "carol", &hash('f'));
    let before = remote_head(&w);
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(!push.status.success(), "disagreeing attestation was pushed");
    let text = format!("{}{}", stdout(&push), stderr(&push));
    assert!(text.contains("MISMATCH"), "{text}");
    assert!(text.contains("demo-1.0-x86_64-linux-gnu.tar.gz"), "{text}");
    assert!(
        text.contains("refused: 1.0/carol/demo-linux-1.0-build.assert: outputs differ from the other signers': demo-1.0-x86_64-linux-gnu.tar.gz"),
        "{text}"
    );
    assert!(text.contains("git push --no-verify"), "{text}");
    assert_eq!(remote_head(&w), before);

    // git's own bypass.
    let push = w.git(&sigs, &["push", "--no-verify", "origin", "main"]);
    assert!(push.status.success(), "{}", stderr(&push));
    assert_eq!(remote_head(&w), local_head(&w, &sigs));

    // An assert edited after signing: refused as a bad signature.
    let assert_path = sigs.join("1.0/alice/demo-linux-1.0-build.assert");
    let text = std::fs::read_to_string(&assert_path).unwrap();
    std::fs::write(&assert_path, text.replacen(&hash('a'), &hash('f'), 1)).unwrap();
    w.git_ok(&sigs, &["commit", "-qam", "Edit alice's assert", "--no-verify"]);
    let before = remote_head(&w);
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(!push.status.success(), "edited assert was pushed");
    let text = format!("{}{}", stdout(&push), stderr(&push));
    assert!(
        text.contains("refused: 1.0/alice/demo-linux-1.0-build.assert: ")
            && text.contains("the signature does not match the file's bytes"),
        "{text}"
    );
    assert_eq!(remote_head(&w), before);
}

#[test]
fn test_hooks_pre_push_policy_and_unknown_keys() {
    let (w, sigs) = ledger(&["alice", "bob"]);
    build_and_sign(&w, "alice", &hash('a'));
    // bob disagrees with the only other signer: refused (a tie is no excuse).
    build_and_sign(&w, "bob", &hash('f'));
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(!push.status.success());
    assert!(stdout(&push).contains("refused: 1.0/bob/"), "{}", stdout(&push));

    // The ledger's policy lets the disagreement be recorded as evidence.
    let policy = std::fs::read_to_string(sigs.join("policy.yml")).unwrap();
    std::fs::write(
        sigs.join("policy.yml"),
        policy.replace("allow_disagreement: false", "allow_disagreement: true"),
    )
    .unwrap();
    w.git_ok(&sigs, &["commit", "-qam", "Record disagreements"]);
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(push.status.success(), "{}", stderr(&push));
    assert!(stdout(&push).contains("recorded as evidence"), "{}", stdout(&push));

    // A signer whose key is not in builder-keys/: refused, with the hint to add it.
    let w2 = World::new(&["mallory"]);
    let b = w2.build_dir("b", NAME, &hash('a'));
    let dest = sigs.to_str().unwrap();
    let out =
        w2.gitian(&b, &["sign", "-s", "mallory", "-r", "1.0", "-d", dest, "demo-linux-1.0.yml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(!push.status.success());
    let text = format!("{}{}", stdout(&push), stderr(&push));
    assert!(text.contains("refused: 1.0/mallory/demo-linux-1.0-build.assert"), "{text}");
    assert!(text.contains("no_pubkey"), "{text}");
    assert!(text.contains("builder-keys/<signer>.asc"), "{text}");
}

#[test]
fn test_hooks_users_own_pre_push_runs_and_survives_uninstall() {
    let w = World::new(&["alice"]);
    let sigs = w.path("sigs");
    std::fs::create_dir(&sigs).unwrap();
    w.git_ok(&sigs, &["init", "-q"]);
    let log = w.path("user-hook.log");
    let user_hook = format!(
        "#!/bin/bash\n# the user's own hook\nwhile read -r local_ref local_sha remote_ref remote_sha; do\n  echo \"$1 $local_ref $remote_ref\" >> {}\ndone\nexit 0\n",
        log.display()
    );
    let hook = sigs.join(".git/hooks/pre-push");
    std::fs::write(&hook, &user_hook).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o750)).unwrap();

    w.gitian_ok(&sigs, &["init"]);
    let installed = std::fs::read_to_string(&hook).unwrap();
    assert!(installed.starts_with("#!/bin/bash\n# >>> git-gitian >>>\n"), "{installed}");
    assert!(installed.contains(&user_hook["#!/bin/bash\n".len()..]), "user content altered");

    // A push: our check passes (alice is the first signer) and the user's hook still gets stdin.
    std::fs::write(sigs.join("builder-keys/alice.asc"), w.public_key("alice")).unwrap();
    w.git_ok(&sigs, &["add", "builder-keys"]);
    w.git_ok(&sigs, &["commit", "-qm", "keys"]);
    build_and_sign(&w, "alice", &hash('a'));
    w.git_ok(w.root.path(), &["init", "-q", "--bare", "remote.git"]);
    w.git_ok(&sigs, &["remote", "add", "origin", "../remote.git"]);
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(push.status.success(), "{}", stderr(&push));
    assert!(stderr(&push).contains("verified: 1.0/alice/"), "{}", stderr(&push));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "origin refs/heads/main refs/heads/main\n");

    // And when our check refuses, the user's hook does not run (the push is refused anyway).
    std::fs::write(&log, "").unwrap();
    let assert_path = sigs.join("1.0/alice/demo-linux-1.0-build.assert");
    std::fs::write(
        &assert_path,
        std::fs::read_to_string(&assert_path).unwrap().replace("build", "built"),
    )
    .unwrap();
    w.git_ok(&sigs, &["commit", "-qam", "edit", "--no-verify"]);
    assert!(!w.git(&sigs, &["push", "origin", "main"]).status.success());
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");

    let out = w.gitian_ok(&sigs, &["hooks", "uninstall"]);
    assert!(stderr(&out).contains("removed our block from"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), user_hook, "user hook not intact");
    assert_eq!(std::fs::metadata(&hook).unwrap().permissions().mode() & 0o777, 0o750);
    assert!(!sigs.join(".git/hooks/pre-commit").exists(), "our own pre-commit is removed");
    // The user's hook alone runs again.
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(push.status.success(), "{}", stderr(&push));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "origin refs/heads/main refs/heads/main\n");

    // install/uninstall twice: no change the second time.
    w.gitian_ok(&sigs, &["hooks", "install"]);
    let once = std::fs::read(&hook).unwrap();
    let out = w.gitian_ok(&sigs, &["hooks", "install"]);
    assert_eq!(std::fs::read(&hook).unwrap(), once);
    assert_eq!(stderr(&out), "");
}

#[test]
fn test_hooks_pre_commit_needs_parsable_signed_attestations() {
    let w = World::new(&["alice"]);
    w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let sigs = w.path("sigs");
    let b = w.build_dir("b", NAME, &hash('a'));
    w.gitian_ok(
        &b,
        &["sign", "-s", "alice", "-r", "1.0", "-d", "../sigs", "-p", "true", "demo-linux-1.0.yml"],
    );

    // The assert alone: refused.
    w.git_ok(&sigs, &["add", "1.0"]);
    let commit = w.git(&sigs, &["commit", "-qm", "assert only"]);
    assert!(!commit.status.success(), "unsigned assert committed");
    let err = stderr(&commit);
    assert!(
        err.contains("1.0/alice/demo-linux-1.0-build.assert: its signature is not staged with it"),
        "{err}"
    );
    assert!(err.contains("--no-verify"), "{err}");

    // Signed and staged together: accepted.
    let out = w
        .cmd("gpg")
        .args(["--detach-sign", "-u", "alice"])
        .arg(sigs.join("1.0/alice/demo-linux-1.0-build.assert"))
        .output()
        .unwrap();
    assert!(out.status.success());
    w.git_ok(&sigs, &["add", "1.0"]);
    let commit = w.git(&sigs, &["commit", "-qm", "signed"]);
    assert!(commit.status.success(), "{}", stderr(&commit));

    // A SHA256SUMS that is not sha256sum output, with its signature: refused for the content.
    std::fs::create_dir_all(sigs.join("2.0/alice")).unwrap();
    std::fs::write(sigs.join("2.0/alice/all.SHA256SUMS"), "<html>not found</html>\n").unwrap();
    std::fs::write(sigs.join("2.0/alice/all.SHA256SUMS.asc"), "x").unwrap();
    // An assert that does not parse.
    std::fs::write(
        sigs.join("2.0/alice/x-build.assert"),
        "<html><body>502 Bad Gateway</body></html>\n",
    )
    .unwrap();
    std::fs::write(sigs.join("2.0/alice/x-build.assert.sig"), "x").unwrap();
    w.git_ok(&sigs, &["add", "2.0"]);
    let commit = w.git(&sigs, &["commit", "-qm", "junk"]);
    assert!(!commit.status.success());
    let err = stderr(&commit);
    assert!(
        err.contains(
            "2.0/alice/all.SHA256SUMS: '<html>not found</html>' is not a `<sha256>  <file>` line"
        ),
        "{err}"
    );
    assert!(err.contains("2.0/alice/x-build.assert: line "), "{err}");
}

#[test]
fn test_sign_refuses_a_release_named_after_the_key_folder_or_the_policy() {
    // Attack 11 of issue 11: `sign -r builder-keys` wrote an attestation into the key folder.
    let (w, sigs) = ledger(&["alice"]);
    let b = w.build_dir("build-alice", NAME, &hash('a'));
    let keys_before = w.git_ok(&sigs, &["ls-files", "-s", "builder-keys"]);
    for release in ["builder-keys", "keys", "gitian-keys", "policy.yml", "Builder-Keys"] {
        let out = w.gitian(
            &b,
            &["sign", "-s", "alice", "-r", release, "-d", "../sigs", "demo-linux-1.0.yml"],
        );
        assert_eq!(out.status.code(), Some(2), "{release}: {}", stderr(&out));
        assert!(stderr(&out).contains("reserved"), "{release}: {}", stderr(&out));
        assert!(!sigs.join(release).join("alice").exists(), "{release}: written");
    }
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain"]), "");
    assert_eq!(w.git_ok(&sigs, &["ls-files", "-s", "builder-keys"]), keys_before);
}

/// Every ref of the remote with its commit.
fn remote_refs(w: &World) -> String {
    w.git_ok(&w.path("remote.git"), &["for-each-ref"])
}

/// Pushes with `args`; asserts the push fails with each of `lines` as a whole line of its
/// output, and the remote unchanged. Then puts the local branch back to the remote's.
fn assert_refused(w: &World, sigs: &Path, args: &[&str], lines: &[String]) {
    let before = remote_refs(w);
    let push = w.git(sigs, args);
    let out = stdout(&push);
    assert!(!push.status.success(), "pushed:\n{out}{}", stderr(&push));
    for line in lines {
        assert!(out.lines().any(|l| l == line), "no line\n{line}\nin\n{out}{}", stderr(&push));
    }
    assert!(stderr(&push).contains("git push --no-verify"), "{}", stderr(&push));
    assert_eq!(remote_refs(w), before, "the remote changed");
    w.git_ok(sigs, &["reset", "-q", "--hard", "origin/main"]);
    w.git_ok(sigs, &["clean", "-q", "-f", "-d"]);
}

/// A detached signature of `file` by `who`, written to `sig`.
fn sign_as(w: &World, who: &str, file: &Path, sig: &Path) {
    let (sig, file) = (sig.display().to_string(), file.display().to_string());
    w.gpg.gpg(&["--detach-sign", "-u", who, "-o", &sig, &file]);
}

fn commit_all(w: &World, sigs: &Path, message: &str) {
    w.git_ok(sigs, &["add", "-A"]);
    w.git_ok(sigs, &["commit", "-qm", message, "--no-verify"]);
}

const ASSERT: &str = "demo-linux-1.0-build.assert";

#[test]
fn test_hooks_pre_push_refuses_what_takes_attestations_or_keys_away() {
    // Attack 9 of issue 11: the pre-push hook accepted a push deleting other signers'
    // attestations, one replacing an existing builder's key (then re-signing their assert),
    // and a good .asc next to a garbage .sig.
    let (w, sigs) = ledger(&["alice", "bob"]);
    // mallory has a key in the same home, not in the ledger.
    w.gpg.key("mallory");
    build_and_sign(&w, "alice", &hash('a'));
    build_and_sign(&w, "bob", &hash('a'));
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(push.status.success(), "{}", stderr(&push));
    let push_main = ["push", "origin", "main"];

    // Deleting bob's attestation.
    w.git_ok(&sigs, &["rm", "-q", "-r", "1.0/bob"]);
    commit_all(&w, &sigs, "remove bob");
    let why = "removes an attestation that is on the remote (attestations are evidence; publish a new one next to it instead)";
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[
            format!("refused: 1.0/bob/{ASSERT}: {why}"),
            format!("refused: 1.0/bob/{ASSERT}.sig: {why}"),
        ],
    );

    // Replacing bob's key by mallory's, and re-signing bob's assert with it.
    let (bob, mallory) = (w.gpg.fingerprint("bob"), w.gpg.fingerprint("mallory"));
    std::fs::write(sigs.join("builder-keys/bob.asc"), w.public_key("mallory")).unwrap();
    let bob_assert = sigs.join(format!("1.0/bob/{ASSERT}"));
    let text = std::fs::read_to_string(&bob_assert).unwrap();
    std::fs::write(&bob_assert, text.replacen(&hash('a'), &hash('f'), 1)).unwrap();
    sign_as(&w, "mallory", &bob_assert, &sigs.join(format!("1.0/bob/{ASSERT}.sig")));
    commit_all(&w, &sigs, "bob's key is mallory's now");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[
            format!(
                "refused: builder-keys/bob.asc: replaces the certificates of a key file that is on the remote (was {bob}, now {mallory}): a key file may be updated, never given another key"
            ),
            format!(
                "refused: 1.0/bob/{ASSERT}: re-signed by key {mallory}, but the remote's version is signed by {bob}: only its signer's own key may sign it again"
            ),
        ],
    );
    // Adding mallory's key under a new name and re-signing bob's assert with it.
    std::fs::write(sigs.join("builder-keys/bob2.asc"), w.public_key("mallory")).unwrap();
    std::fs::write(&bob_assert, text.replacen(&hash('a'), &hash('f'), 1)).unwrap();
    sign_as(&w, "mallory", &bob_assert, &sigs.join(format!("1.0/bob/{ASSERT}.sig")));
    commit_all(&w, &sigs, "bob2");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[format!(
            "refused: 1.0/bob/{ASSERT}: re-signed by key {mallory}, but the remote's version is signed by {bob}: only its signer's own key may sign it again"
        )],
    );
    // Removing a key file.
    w.git_ok(&sigs, &["rm", "-q", "builder-keys/bob.asc"]);
    commit_all(&w, &sigs, "no bob");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &["refused: builder-keys/bob.asc: removes a key file that is on the remote (its signers' attestations would no longer verify)".to_string()],
    );

    // A good .asc next to a garbage .sig (the .asc sorts first).
    let sig = sigs.join(format!("1.0/alice/{ASSERT}.sig"));
    std::fs::copy(&sig, sigs.join(format!("1.0/alice/{ASSERT}.asc"))).unwrap();
    std::fs::write(&sig, "garbage, not a signature\n").unwrap();
    commit_all(&w, &sigs, "alice's .asc");
    let push = w.git(&sigs, &push_main);
    let refusal = format!(
        "refused: 1.0/alice/{ASSERT}: UNVERIFIED: signature status error_rc2 (1.0/alice/{ASSERT}.sig)"
    );
    assert!(stdout(&push).lines().any(|l| l == refusal), "{}", stdout(&push));
    assert_refused(&w, &sigs, &push_main, &[refusal]);

    // Deleting a branch of the remote.
    w.git_ok(&sigs, &["push", "-q", "--no-verify", "origin", "main:topic"]);
    assert_refused(
        &w,
        &sigs,
        &["push", "origin", ":topic"],
        &["refused: refs/heads/topic: deletes this branch on the remote, and with it every attestation only it holds".to_string()],
    );
    assert!(remote_refs(&w).contains("refs/heads/topic"));
    // A re-signature by the same key, of an unchanged file, goes through.
    sign_as(&w, "bob", &bob_assert, &sigs.join(format!("1.0/bob/{ASSERT}.sig")));
    commit_all(&w, &sigs, "bob signs again");
    let push = w.git(&sigs, &push_main);
    assert!(push.status.success(), "{}{}", stdout(&push), stderr(&push));
}

#[test]
fn test_hooks_pre_push_refusals_name_the_file_and_why() {
    // Issue 16: each refusal with its exact line, and the remote unchanged.
    let (w, sigs) = ledger(&["alice", "bob"]);
    build_and_sign(&w, "alice", &hash('a'));
    let push = w.git(&sigs, &["push", "origin", "main"]);
    assert!(push.status.success(), "{}", stderr(&push));
    let push_main = ["push", "origin", "main"];
    let alice = w.gpg.fingerprint("alice");

    // A missing signature.
    let b = w.build_dir("build-bob", NAME, &hash('a'));
    w.gitian_ok(
        &b,
        &["sign", "-s", "bob", "-r", "1.0", "-d", "../sigs", "-p", "true", "demo-linux-1.0.yml"],
    );
    commit_all(&w, &sigs, "bob unsigned");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[format!(
            "refused: 1.0/bob/{ASSERT}: MISSING: it has no signature next to it (no_signature)"
        )],
    );

    // A signer folder verify refuses (a name starting with '-'): not found at the commit.
    std::fs::create_dir_all(sigs.join("1.0/-x")).unwrap();
    for f in [ASSERT.to_string(), format!("{ASSERT}.sig")] {
        std::fs::copy(sigs.join("1.0/alice").join(&f), sigs.join("1.0/-x").join(&f)).unwrap();
    }
    commit_all(&w, &sigs, "-x");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[format!(
            "refused: 1.0/-x/{ASSERT}: not found at the pushed commit (a signature without its file?)"
        )],
    );

    // SHARED KEY: alice's key signs a second folder.
    std::fs::create_dir_all(sigs.join("1.0/alice2")).unwrap();
    for f in [ASSERT.to_string(), format!("{ASSERT}.sig")] {
        std::fs::copy(sigs.join("1.0/alice").join(&f), sigs.join("1.0/alice2").join(&f)).unwrap();
    }
    commit_all(&w, &sigs, "alice2");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[format!(
            "refused: 1.0/alice2/{ASSERT}: SHARED KEY: its key {alice} also signs another signer's folder of this release"
        )],
    );

    // INVALID: alice's signed files copied into another release.
    std::fs::create_dir_all(sigs.join("2.0/alice")).unwrap();
    for f in [ASSERT.to_string(), format!("{ASSERT}.sig")] {
        std::fs::copy(sigs.join("1.0/alice").join(&f), sigs.join("2.0/alice").join(&f)).unwrap();
    }
    commit_all(&w, &sigs, "2.0");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[format!("refused: 2.0/alice/{ASSERT}: INVALID: its release field is '1.0', not '2.0'")],
    );

    // allow_disagreement does not let a bad signature through.
    let policy = std::fs::read_to_string(sigs.join("policy.yml")).unwrap();
    std::fs::write(
        sigs.join("policy.yml"),
        policy.replace("allow_disagreement: false", "allow_disagreement: true"),
    )
    .unwrap();
    commit_all(&w, &sigs, "allow disagreement");
    w.git_ok(&sigs, &["push", "-q", "--no-verify", "origin", "main"]);
    build_and_sign(&w, "bob", &hash('f'));
    let bob_assert = sigs.join(format!("1.0/bob/{ASSERT}"));
    let text = std::fs::read_to_string(&bob_assert).unwrap();
    std::fs::write(&bob_assert, text.replacen(&hash('f'), &hash('e'), 1)).unwrap();
    commit_all(&w, &sigs, "bob edits after signing");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &[format!(
            "refused: 1.0/bob/{ASSERT}: UNVERIFIED: the signature does not match the file's bytes (edited after signing?)"
        )],
    );

    // Guix SHA256SUMS: a good one goes through, one edited after signing is refused.
    let sums = |who: &str, h: char| {
        let d = sigs.join(format!("3.0/{who}"));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("all.SHA256SUMS");
        std::fs::write(&f, format!("{}  demo-3.0.tar.gz\n", hash(h))).unwrap();
        let (asc, file) = (d.join("all.SHA256SUMS.asc"), f.display().to_string());
        w.gpg.gpg(&["--armor", "--detach-sign", "-u", who, "-o", asc.to_str().unwrap(), &file]);
        f
    };
    sums("alice", 'a');
    commit_all(&w, &sigs, "alice 3.0");
    let push = w.git(&sigs, &push_main);
    assert!(push.status.success(), "{}{}", stdout(&push), stderr(&push));
    assert!(stderr(&push).contains("verified: 3.0/alice/all.SHA256SUMS"), "{}", stderr(&push));
    let f = sums("bob", 'a');
    std::fs::write(&f, format!("{}  demo-3.0.tar.gz\n", hash('b'))).unwrap();
    commit_all(&w, &sigs, "bob 3.0");
    assert_refused(
        &w,
        &sigs,
        &push_main,
        &["refused: 3.0/bob/all.SHA256SUMS: UNVERIFIED: the signature does not match the file's bytes (edited after signing?)".to_string()],
    );
}
