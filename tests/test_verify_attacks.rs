//! `git gitian verify` against the attacks of issue 11 (each test failed before its fix):
//! revoked keys, branches' policy and keys, unsigned edits on branches, required signers, two
//! descriptors in one release, a memory others can write, malformed trees.

use std::path::Path;
use std::process::Command;

use crate::common::git;
use crate::common::sigs::*;

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
    let dearmor = |armored: &[u8]| l.gpg.dearmor(armored);
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
    l.gpg.export_to("mallory", &l.path().join("builder-keys/dave.asc"));
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
    l.gpg.export_to("mallory", &key);
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
    assert!(problems.contains("broken"), "the branch is named: {problems} {json:#}");
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
    l.gpg.export_to("dave", &l.path().join("builder-keys/dave.asc"));
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
    l.gpg.export_to("mallory", &l.path().join("builder-keys/zed.asc"));
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
    l.gpg.export_to("alice", &l.path().join("builder-keys/a-copy.asc"));
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

#[test]
fn test_verify_memory_others_can_write_is_not_used_and_no_cache_ignores_a_poisoned_one() {
    // Attack 8 of issue 11: the verify memory was trusted whatever its owner and permissions,
    // so another local user could make a forged attestation pass.
    use std::os::unix::fs::PermissionsExt;
    let l = Ledger::new();
    let (code, _, err) = l.verify(&[]);
    assert_eq!(code, 0, "{err}");
    let dir = l.cache.path().join("git-gitian/verify");
    let memo = dir.join("memo.json");
    // What the memory says each attestation holds: hello-1.0.zip is 6666... instead of 2222...
    let text = std::fs::read_to_string(&memo).unwrap();
    assert!(text.contains(&"2".repeat(64)), "{text}");
    std::fs::write(&memo, text.replace(&"2".repeat(64), &"6".repeat(64))).unwrap();
    std::fs::set_permissions(&memo, std::fs::Permissions::from_mode(0o600)).unwrap();
    let zip = |json: &serde_json::Value| {
        json["releases"][0]["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "hello-1.0.zip")
            .map(|a| a["consensus_sha256"].as_str().unwrap().to_string())
            .unwrap()
    };
    // The user's own memory is the user's own state (as ~/.gnupg): it is believed...
    let (_, json, _) = l.verify(&[]);
    assert_eq!(zip(&json), "6".repeat(64), "the poisoned memory was not read: {json:#}");
    // ...except with --no-cache.
    let (code, json, _) = l.verify(&["--no-cache"]);
    assert_eq!(code, 0);
    assert_eq!(zip(&json), "2".repeat(64));
    // Memory that others can write, or that someone else owns, is not used, and verify says why.
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    let parent = l.cache.path().join("git-gitian");
    type Toggle<'a> = Box<dyn Fn(bool) + 'a>;
    let mut cases: Vec<(&str, Toggle)> = vec![
        (
            "folder writable by others",
            Box::new(|on| mode(&dir, if on { 0o777 } else { 0o700 }).unwrap()),
        ),
        (
            "file writable by others",
            Box::new(|on| mode(&memo, if on { 0o666 } else { 0o600 }).unwrap()),
        ),
        (
            "parent writable by others",
            Box::new(|on| mode(&parent, if on { 0o777 } else { 0o700 }).unwrap()),
        ),
    ];
    // Only root can give a folder away.
    if crate::common::is_root() {
        cases.push((
            "folder owned by another user",
            Box::new(|on| {
                let uid = if on { 65534 } else { 0 };
                let st = Command::new("chown").arg(uid.to_string()).arg(&dir).status().unwrap();
                assert!(st.success());
            }),
        ));
    } else {
        crate::common::skip("the case of a memory owned by another user needs root");
    }
    for (what, set) in &cases {
        set(true);
        let (code, json, err) = l.verify(&[]);
        set(false);
        assert_eq!(code, 0, "{what}: {err}{json:#}");
        assert_eq!(zip(&json), "2".repeat(64), "{what}: the memory was used");
        let warnings = json["warnings"].to_string();
        assert!(warnings.contains("verify memory is not used"), "{what}: {warnings}");
        assert!(
            warnings.contains("writable by others") || warnings.contains("not by you"),
            "{what}: {warnings}"
        );
    }
    // Back to the user's own: believed again (the checks above changed nothing in it).
    let (_, json, _) = l.verify(&[]);
    assert_eq!(zip(&json), "6".repeat(64));
}

/// This process's user id (the owner of what it creates).
#[test]
fn test_verify_a_version_signed_by_another_ledger_key_is_no_conflict() {
    // Attack 3, with a key of the ledger: mallory (a builder of this ledger) re-signs her edit
    // of carol's assert on a branch. Only versions by one key conflict; hers is her own row.
    let l = Ledger::new();
    l.gpg.export_to("mallory", &l.path().join("builder-keys/mallory.asc"));
    l.commit("three builders, and mallory's key");
    git(l.path(), &["checkout", "-q", "-b", "edit"]);
    l.attest("1.0", "carol", "mallory", EVIL);
    l.commit("carol's assert, by mallory");
    git(l.path(), &["checkout", "-q", "main"]);
    let (code, json, err) = l.verify(&["--all-branches"]);
    assert_eq!(code, 1, "{err}{json:#}");
    let rel = &json["releases"][0];
    assert_eq!(rel["consensus_votes"], 3, "{rel:#}");
    let carol = Ledger::rows(&json, "carol");
    assert_eq!(carol.len(), 2, "{carol:#?}");
    for r in &carol {
        assert_ne!(r["verdict"], "CONFLICT", "{r}");
        let by_carol = r["key_file"] == "builder-keys/carol.asc";
        assert_eq!(r["verdict"], if by_carol { "OK" } else { "MISMATCH" }, "{r}");
    }
}

#[test]
fn test_verify_a_signature_file_with_a_bad_signature_after_a_good_one_fails() {
    // Attack 7 of issue 11: a .sig holding several signatures was judged by the first only;
    // gpg fails the file when any of them fails.
    let l = Ledger::new();
    let f = l.path().join("1.0/bob/hello-build.assert");
    let sig = l.path().join("1.0/bob/hello-build.assert.sig");
    let good = std::fs::read(&sig).unwrap();
    // bob's signature over other bytes, appended.
    let other = l.path().join("other");
    std::fs::write(&other, "other bytes\n").unwrap();
    l.gpg.sign("bob", &other);
    let bad = std::fs::read(l.path().join("other.sig")).unwrap();
    std::fs::remove_file(&other).unwrap();
    std::fs::remove_file(l.path().join("other.sig")).unwrap();
    std::fs::write(&sig, [good.clone(), bad].concat()).unwrap();
    let keys = l.path().join("builder-keys/bob.asc");
    let status = gpg_status(&[&keys], &f, &sig);
    assert!(status.contains("[GNUPG:] GOODSIG") && status.contains("[GNUPG:] BADSIG"), "{status}");
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 1, "{err}{json:#}");
    let bob = Ledger::row(&json, "bob");
    assert_eq!(bob["signature_status"], "multi:good+bad", "{bob}");
    assert_eq!(bob["counts"], false);
    assert_eq!(json["releases"][0]["consensus_votes"], 2);
    // Two good signatures (bob's, and alice's over bob's file): the file is good.
    l.gpg.sign("alice", &f);
    let alice_sig = std::fs::read(&sig).unwrap();
    std::fs::write(&sig, [good, alice_sig].concat()).unwrap();
    let (code, json, err) = l.verify(&[]);
    assert_eq!(code, 0, "{err}{json:#}");
    assert_eq!(Ledger::row(&json, "bob")["signature_status"], "multi:good+good");
}

#[test]
fn test_verify_all_branches_without_head_asks_for_the_main_revision() {
    // Keys and policy come from HEAD: a bare repository whose HEAD names no branch must say
    // which revision is the main one.
    let l = Ledger::new();
    l.commit("three builders");
    let bare = l.cache.path().join("bare.git");
    git(l.path(), &["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/nothing"]);
    let dir = bare.to_str().unwrap();
    let out = l.run(&["verify", "-d", dir, "--all-branches", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("name the main revision") && err.contains("--rev"), "{err}");
    let out = l.run(&["verify", "-d", dir, "--all-branches", "--rev", "main"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
