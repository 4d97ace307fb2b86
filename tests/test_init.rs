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

/// The template files init writes, read from the repository's `sigs-template/` folder. The code
/// embeds that same folder, so comparing with it shows only that init writes it verbatim; what
/// the files must say is pinned separately (`test_init_creates_a_committed_template_with_hooks`).
fn template_files() -> Vec<(String, Vec<u8>)> {
    let dir = crate::common::root().join("sigs-template");
    ["README.md", ".gitattributes", "builder-keys/README.md", "policy.yml"]
        .iter()
        .map(|p| (p.to_string(), std::fs::read(dir.join(p)).unwrap()))
        .collect()
}

#[test]
fn test_init_creates_a_committed_template_with_hooks() {
    let w = World::new(&[]);
    let out = w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let sigs = w.path("sigs");
    for (path, bytes) in template_files() {
        assert_eq!(std::fs::read(sigs.join(&path)).unwrap(), bytes, "{path}");
        // 0666 less the default umask (022), as git and Gitian create files.
        let mode = std::fs::metadata(sigs.join(&path)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{path} mode {mode:o}");
    }
    assert_eq!(
        w.git_ok(&sigs, &["ls-files"]),
        ".gitattributes\nREADME.md\nbuilder-keys/README.md\npolicy.yml\n"
    );
    let attrs = std::fs::read_to_string(sigs.join(".gitattributes")).unwrap();
    for line in ["*assert* -text", "*.SHA256SUMS -text", "*.sig -text", "*.asc -text"] {
        assert!(attrs.lines().any(|l| l == line), "{line} missing");
    }
    // The policy a new ledger starts with, pinned here (not read from the template): every key
    // spelled out, and what it means to the parser.
    let policy = std::fs::read_to_string(sigs.join("policy.yml")).unwrap();
    let settings: Vec<&str> =
        policy.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    assert_eq!(
        settings,
        [
            "threshold: 2",
            "required_signers: []",
            "expired_keys_count: true",
            "allow_disagreement: false"
        ]
    );
    assert_eq!(
        git_gitian::core::policy::Policy::parse(&policy).unwrap(),
        git_gitian::core::policy::Policy {
            threshold: 2,
            required_signers: Vec::new(),
            expired_keys_count: true,
            allow_disagreement: false,
        }
    );
    let keys_readme = std::fs::read_to_string(sigs.join("builder-keys/README.md")).unwrap();
    assert!(keys_readme.contains("`<signer>.asc`"), "{keys_readme}");
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

/// The policy init writes is the one verify applies to the new ledger: one good signature is
/// short of its threshold (exit 1, and it says so), two are enough.
#[test]
fn test_init_policy_is_in_force_for_verify() {
    use crate::common::ledger::hash;
    let w = World::new(&["alice", "bob"]);
    w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let sigs = w.path("sigs");
    for b in ["alice", "bob"] {
        std::fs::write(sigs.join(format!("builder-keys/{b}.asc")), w.public_key(b)).unwrap();
    }
    let verify = |w: &World| {
        let out = w.gitian(&sigs, &["verify", "-r", "1.0", "--format", "json"]);
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        (out.status.code(), json["releases"][0].clone())
    };
    for (i, b) in ["alice", "bob"].into_iter().enumerate() {
        let dir = w.build_dir(&format!("build-{b}"), "demo-linux-1.0", &hash('a'));
        let args = ["sign", "-s", b, "-r", "1.0", "-d", "../sigs", "demo-linux-1.0.yml"];
        w.gitian_ok(&dir, &args);
        let (code, rel) = verify(&w);
        assert_eq!(rel["threshold"], 2, "{rel:#}");
        assert_eq!(rel["consensus_votes"], i + 1, "{rel:#}");
        if i == 0 {
            assert_eq!((code, &rel["threshold_met"]), (Some(1), &false.into()), "{rel:#}");
        } else {
            assert_eq!((code, &rel["threshold_met"]), (Some(0), &true.into()), "{rel:#}");
        }
    }
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
fn test_init_in_a_repository_with_commits_adds_nothing_unless_asked() {
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

    let out = w.gitian_ok(&sigs, &["init"]);
    let err = stderr(&out);
    assert_eq!(w.git_ok(&sigs, &["log", "--format=%s"]), "first\n", "{err}");
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain"]), "A  wip.txt\n?? myhooks/\n");
    assert!(!sigs.join("policy.yml").exists() && !sigs.join(".gitattributes").exists());
    assert!(err.contains("not added policy.yml") && err.contains("--policy"), "{err}");
    assert!(err.contains("not added .gitattributes") && err.contains("--template"), "{err}");
    assert!(sigs.join("myhooks/pre-push").exists());
    assert!(!sigs.join(".git/hooks/pre-push").exists());

    w.gitian_ok(&sigs, &["init", "--policy"]);
    assert_eq!(std::fs::read_to_string(sigs.join("README.md")).unwrap(), "our own readme\n");
    assert_eq!(
        w.git_ok(&sigs, &["show", "--name-only", "--format=%s", "HEAD"]),
        "Add sigs repository template files\n\npolicy.yml\n"
    );
    w.gitian_ok(&sigs, &["init", "--template"]);
    assert_eq!(
        w.git_ok(&sigs, &["show", "--name-only", "--format=", "HEAD"]),
        ".gitattributes\nbuilder-keys/README.md\n"
    );
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain"]), "A  wip.txt\n?? myhooks/\n");
}

#[test]
fn test_init_on_a_clone_of_a_real_ledger_changes_nothing() {
    let w = World::new(&[]);
    let bundle = crate::common::corpus().join("../ledgers/guix.sigs.bundle");
    let bundle =
        if bundle.exists() { bundle } else { "/work/shared/ledgers/guix.sigs.bundle".into() };
    let sigs = w.path("guix.sigs");
    let out =
        w.git(w.root.path(), &["clone", "-q", bundle.to_str().unwrap(), sigs.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verify = |w: &World| {
        let out =
            w.gitian(&sigs, &["verify", "-r", "25.0", "--format", "json", "--at", "2024-01-01"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let head = w.git_ok(&sigs, &["rev-parse", "HEAD"]);
    let before = verify(&w);
    assert!(before.contains("\"release\": \"25.0\""), "{before}");
    let out = w.gitian_ok(&sigs, &["init"]);
    assert!(stderr(&out).contains("not added policy.yml"), "{}", stderr(&out));
    assert_eq!(w.git_ok(&sigs, &["rev-parse", "HEAD"]), head);
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain", "--untracked-files=all"]), "");
    assert_eq!(verify(&w), before, "init changed a verdict");
    assert!(sigs.join(".git/hooks/pre-push").exists());
}

#[test]
fn test_init_files_follow_the_umask() {
    let w = World::new(&[]);
    let script = format!("umask 077 && exec '{}' init sigs", crate::common::bin().display());
    let out = w.cmd("sh").args(["-c", &script]).current_dir(w.root.path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for (path, _) in template_files() {
        let mode = std::fs::metadata(w.path("sigs").join(&path)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{path}");
    }
}

#[test]
fn test_init_killed_at_any_point_is_finished_by_the_next_run() {
    // SIGKILL a real `init` of a new directory after increasing delays; each time, the next
    // `init` must finish the job: the same four committed files, the hooks, no leftovers.
    let w = World::new(&[]);
    let mut landed_mid_init = 0;
    for step in 0..40u64 {
        let dir = w.path(&format!("s{step}"));
        let mut child = w
            .cmd(crate::common::bin())
            .args(["init", dir.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(step * 750));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let committed = dir.join(".git").exists()
            && w.git(&dir, &["rev-parse", "-q", "--verify", "HEAD"]).status.success();
        if !status.success() && dir.exists() && !committed {
            landed_mid_init += 1;
        }
        let again = w.gitian(w.root.path(), &["init", dir.to_str().unwrap()]);
        assert!(again.status.success(), "after a kill at {step}: {}", stderr(&again));
        assert_eq!(
            w.git_ok(&dir, &["ls-files"]),
            ".gitattributes\nREADME.md\nbuilder-keys/README.md\npolicy.yml\n",
            "after a kill at {step}"
        );
        assert_eq!(w.git_ok(&dir, &["log", "--format=%s"]), "Initialize sigs repository\n");
        assert_eq!(w.git_ok(&dir, &["status", "--porcelain", "--untracked-files=all"]), "");
        assert!(dir.join(".git/hooks/pre-commit").exists());
    }
    // The kills must really have landed inside init, not only before or after it.
    assert!(landed_mid_init > 0, "no kill landed while init was running");
    eprintln!("{landed_mid_init} of 40 kills landed mid-init");
}

#[test]
fn test_init_on_a_read_only_file_system_names_the_path_and_what_to_do() {
    // A real read-only mount (tmpfs, ro): needs root to mount.
    if crate::common::is_root() {
        let w = World::new(&[]);
        let ro = w.path("ro");
        std::fs::create_dir(&ro).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
            .arg(&ro)
            .status()
            .unwrap();
        assert!(mounted.success());
        let out = w.gitian(w.root.path(), &["init", "ro/sigs"]);
        let _ = std::process::Command::new("umount").arg(&ro).status();
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("error: cannot write {}", ro.join("sigs").display())),
            "{err}"
        );
        assert!(err.contains("hint: that file system is mounted read-only"), "{err}");
    } else {
        crate::common::skip("mounting a read-only tmpfs needs root");
    }
}

#[test]
fn test_init_repairs_the_locks_a_killed_run_left() {
    // A kill while libgit2 moved the branch or wrote the index leaves git's lock files; the
    // next `init` failed on them for good ("failed to lock file ... main.lock", seen in a CI
    // run of the kill sweep above). Under the ledger's own lock they are a killed run's.
    let w = World::new(&[]);
    let dir = w.path("locked");
    let d = dir.to_str().unwrap();
    w.git_ok(w.root.path(), &["init", "-q", "-b", "main", d]);
    std::fs::create_dir_all(dir.join(".git/refs/heads")).unwrap();
    std::fs::write(dir.join(".git/refs/heads/main.lock"), b"").unwrap();
    std::fs::write(dir.join(".git/index.lock"), b"").unwrap();
    let out = w.gitian(w.root.path(), &["init", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.git_ok(&dir, &["ls-files"]),
        ".gitattributes\nREADME.md\nbuilder-keys/README.md\npolicy.yml\n"
    );
    assert!(!dir.join(".git/refs/heads/main.lock").exists());
    assert!(!dir.join(".git/index.lock").exists());
}
