//! `git gitian init`: a sigs repository from the template, hooks installed, idempotent.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::common::ledger::World;
use crate::common::stderr;

/// Every file under `dir` (the .git directory included): bytes, mode and mtime.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32, i64, i64)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, u32, i64, i64)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if m.is_dir() {
                out.insert(format!("{rel}/"), (Vec::new(), m.mode(), 0, 0));
                walk(root, &p, out);
            } else {
                out.insert(rel, (std::fs::read(&p).unwrap(), m.mode(), m.mtime(), m.mtime_nsec()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn test_init_creates_a_committed_template_with_hooks() {
    let w = World::new(&[]);
    let out = w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let sigs = w.path("sigs");
    for (path, text) in git_gitian::ops::init::TEMPLATE {
        assert_eq!(std::fs::read_to_string(sigs.join(path)).unwrap(), text, "{path}");
    }
    let attrs = std::fs::read_to_string(sigs.join(".gitattributes")).unwrap();
    for line in ["*assert* -text", "*.SHA256SUMS -text", "*.sig -text", "*.asc -text"] {
        assert!(attrs.lines().any(|l| l == line), "{line} missing");
    }
    let policy = std::fs::read_to_string(sigs.join("policy.yml")).unwrap();
    let parsed = git_gitian::core::policy::Policy::parse(&policy).unwrap();
    assert_eq!(parsed.threshold, 2);
    assert!(!parsed.allow_disagreement);
    for hook in ["pre-commit", "pre-push"] {
        let p = sigs.join(".git/hooks").join(hook);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("#!/bin/sh\n# >>> git-gitian >>>\n"), "{text}");
        assert!(text.contains(&format!("git gitian hooks run {hook} \"$@\"")));
        assert_ne!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o111, 0);
    }
    assert_eq!(w.git_ok(&sigs, &["log", "--format=%s"]), "Initialize sigs repository\n");
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain", "--untracked-files=all"]), "");
    assert_eq!(
        w.git_ok(
            &sigs,
            &[
                "check-attr",
                "text",
                "1.0/a/x-build.assert",
                "1.0/a/x-build.assert.sig",
                "1.0/a/all.SHA256SUMS.asc"
            ]
        ),
        "1.0/a/x-build.assert: text: unset\n1.0/a/x-build.assert.sig: text: unset\n1.0/a/all.SHA256SUMS.asc: text: unset\n"
    );
    assert!(stderr(&out).contains("committed"), "{}", stderr(&out));
}

#[test]
fn test_init_twice_changes_nothing() {
    let w = World::new(&[]);
    w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let sigs = w.path("sigs");
    let before = snapshot(&sigs);
    let out = w.gitian_ok(&sigs, &["init"]);
    assert!(stderr(&out).contains("nothing to do"), "{}", stderr(&out));
    let after = snapshot(&sigs);
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (k, v) in &before {
        assert!(after[k] == *v, "{k} changed on the second init");
    }
}

#[test]
fn test_init_in_an_existing_repository_keeps_the_users_files() {
    let w = World::new(&[]);
    let sigs = w.path("sigs");
    std::fs::create_dir(&sigs).unwrap();
    w.git_ok(&sigs, &["init", "-q"]);
    std::fs::write(sigs.join("README.md"), "our own readme\n").unwrap();
    w.git_ok(&sigs, &["add", "README.md"]);
    w.git_ok(&sigs, &["commit", "-qm", "first"]);
    std::fs::write(sigs.join("wip.txt"), "staged work\n").unwrap();
    w.git_ok(&sigs, &["add", "wip.txt"]);
    // A hooks directory of the user's own choosing.
    w.git_ok(&sigs, &["config", "core.hooksPath", "myhooks"]);

    w.gitian_ok(&sigs, &["init"]);
    assert_eq!(std::fs::read_to_string(sigs.join("README.md")).unwrap(), "our own readme\n");
    assert_eq!(
        w.git_ok(&sigs, &["log", "-1", "--format=%s"]),
        "Add sigs repository template files\n"
    );
    assert_eq!(
        w.git_ok(&sigs, &["show", "--name-only", "--format=", "HEAD"]),
        ".gitattributes\nbuilder-keys/README.md\npolicy.yml\n"
    );
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain"]), "A  wip.txt\n?? myhooks/\n");
    assert!(sigs.join("myhooks/pre-push").exists());
    assert!(!sigs.join(".git/hooks/pre-push").exists());
}
