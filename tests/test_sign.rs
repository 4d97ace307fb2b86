//! `git gitian sign`: gsign's bytes, real GnuPG signatures, commits of exactly the attestation,
//! refusal to overwrite, sign-later, the guix layout, and crash safety under `kill -9`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use git_gitian::core::assertion::Document;
use git_gitian::ops::sign::{DescriptorInfo, assert_bytes};

use crate::common::ledger::{World, descriptor, hash, res_yml};
use crate::common::{corpus, stderr};

const NAME: &str = "demo-linux-1.0";
const ASSERT: &str = "1.0/alice/demo-linux-1.0-build.assert";

/// A world with builders, an initialized sigs repository `sigs/` and a build dir `b/`.
fn setup(builders: &[&str]) -> (World, PathBuf, PathBuf) {
    let w = World::new(builders);
    let sigs = w.path("sigs");
    w.gitian_ok(w.root.path(), &["init", "sigs"]);
    let b = w.build_dir("b", NAME, &hash('a'));
    (w, sigs, b)
}

fn sign(w: &World, b: &Path, signer: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["sign", "-s", signer, "-r", "1.0", "-d", "../sigs"];
    args.extend_from_slice(extra);
    args.push("demo-linux-1.0.yml");
    w.gitian(b, &args)
}

fn expected_assert(out_hash: &str, release: &str) -> Vec<u8> {
    format!(
        "{}- release: '{release}'\n- name: {NAME}\n- type: build\n- optionals:\n",
        res_yml(out_hash)
    )
    .into_bytes()
}

fn head(w: &World, repo: &Path) -> String {
    w.git_ok(repo, &["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn test_sign_spec_golden_bytes() {
    // Spec §3's serialization example as the result, §4's tail as gsign appends it.
    let res = "--- !!omap\n- out_manifest: |\n    h1  f1\n    h2  src/f2\n- in_manifest: |-\n    d  x-desc.yml\n    git:abc bitcoin\n- base_manifests: !!omap\n  - bionic-amd64: |\n      aaa  a_1.deb\n      bbb  b_1.deb\n- cache_common_manifest: ''\n- cache_package_manifest: ''\n";
    let doc = Document::parse(res).unwrap();
    let plain = DescriptorInfo { name: NAME.into(), optionals: None };
    assert_eq!(
        String::from_utf8(assert_bytes(&doc, "v1", &plain)).unwrap(),
        format!("{res}- release: v1\n- name: demo-linux-1.0\n- type: build\n- optionals:\n")
    );
    let dmg = DescriptorInfo { name: NAME.into(), optionals: Some(vec!["a.dmg".into()]) };
    assert_eq!(
        String::from_utf8(assert_bytes(&doc, "v1", &dmg)).unwrap(),
        format!(
            "{res}- release: v1\n- name: demo-linux-1.0\n- type: build\n- optionals:\n  - a.dmg\n"
        )
    );
}

/// The published asserts of bitcoin-core/gitian.sigs were written by gsign: cut off gsign's four
/// keys to get the result back, sign it again, and get the same bytes (modulo libyaml 0.1's
/// trailing space after `optionals:` and its column for a closing quote, as in test_formats).
#[test]
fn test_sign_reproduces_published_gsign_asserts() {
    let mut files = Vec::new();
    for rel in std::fs::read_dir(corpus().join("gitian.sigs")).unwrap() {
        let rel = rel.unwrap().path();
        for signer in std::fs::read_dir(&rel).unwrap() {
            for f in std::fs::read_dir(signer.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|e| e == "assert") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    let mut checked = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        if !text.starts_with("--- !!omap\n") {
            continue;
        }
        let cut = text.find("\n- release: ").unwrap() + 1;
        let doc = Document::parse(&text[..cut]).unwrap();
        let full = Document::parse(&text).unwrap();
        let info = DescriptorInfo { name: full.str("name").unwrap().into(), optionals: None };
        let ours =
            String::from_utf8(assert_bytes(&doc, full.str("release").unwrap(), &info)).unwrap();
        let theirs =
            text.replace("- optionals: \n", "- optionals:\n").replace("\n\n'\n", "\n\n    '\n");
        assert!(ours == theirs, "{} is not reproduced", path.display());
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} modern asserts in the corpus");

    // And through the command line, from a result file on disk to the assert file written.
    let w = World::new(&[]);
    let path = files.iter().find(|p| p.to_string_lossy().contains("0.20.1-linux")).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let full = Document::parse(&text).unwrap();
    let name = full.str("name").unwrap();
    let b = w.path("b");
    std::fs::create_dir_all(b.join("result")).unwrap();
    std::fs::write(b.join("d.yml"), descriptor(name)).unwrap();
    let cut = text.find("\n- release: ").unwrap() + 1;
    std::fs::write(b.join(format!("result/{name}-res.yml")), &text[..cut]).unwrap();
    let out = w.gitian_ok(
        &b,
        &["sign", "-s", "x", "-r", "0.20.1-linux", "-d", "../out", "-p", "true", "d.yml"],
    );
    let written =
        std::fs::read_to_string(w.path(&format!("out/0.20.1-linux/x/{name}-build.assert")))
            .unwrap();
    assert!(written == text.replace("- optionals: \n", "- optionals:\n"), "{}", stderr(&out));
}

#[test]
fn test_sign_commits_exactly_the_attestation_and_gpg_accepts_it() {
    let (w, sigs, b) = setup(&["alice"]);
    // Something else staged in the sigs repository must stay staged, uncommitted.
    std::fs::write(sigs.join("notes.txt"), "mine\n").unwrap();
    w.git_ok(&sigs, &["add", "notes.txt"]);
    let before = head(&w, &sigs);

    let out = sign(&w, &b, "alice", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("committed"), "{}", stderr(&out));

    assert_eq!(std::fs::read(sigs.join(ASSERT)).unwrap(), expected_assert(&hash('a'), "1.0"));
    let sig = sigs.join(format!("{ASSERT}.sig"));
    let bytes = std::fs::read(&sig).unwrap();
    assert!(!bytes.starts_with(b"-----BEGIN"), "gitian signatures are binary");
    let v = w.gpg_verify(&sig, &sigs.join(ASSERT));
    assert!(v.status.success(), "gpg --verify: {}", stderr(&v));
    assert!(stderr(&v).contains("Good signature from \"alice"), "{}", stderr(&v));

    let log = w.git_ok(&sigs, &["log", "-1", "--format=%s%n%an <%ae>%n%P"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], "Add alice 1.0 demo-linux-1.0 attestation");
    assert_eq!(lines[1], "Test Builder <builder@example.invalid>");
    assert_eq!(lines[2], before);
    let files = w.git_ok(&sigs, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files, format!("{ASSERT}\n{ASSERT}.sig\n"));
    // The committed blob is the file, byte for byte.
    let blob = w
        .cmd("git")
        .args(["show", &format!("HEAD:{ASSERT}.sig")])
        .current_dir(&sigs)
        .output()
        .unwrap();
    assert_eq!(blob.stdout, bytes);
    let status = w.git_ok(&sigs, &["status", "--porcelain"]);
    assert_eq!(status, "A  notes.txt\n", "only the user's own change is left");
}

#[test]
fn test_sign_again_is_a_no_op_and_different_bytes_need_force() {
    let (w, sigs, b) = setup(&["alice"]);
    assert!(sign(&w, &b, "alice", &[]).status.success());
    let commit = head(&w, &sigs);
    let meta = |p: &str| std::fs::metadata(sigs.join(p)).unwrap().modified().unwrap();
    let (m1, m2) = (meta(ASSERT), meta(&format!("{ASSERT}.sig")));

    let again = sign(&w, &b, "alice", &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("nothing to do"), "{}", stderr(&again));
    assert_eq!(head(&w, &sigs), commit);
    assert_eq!((meta(ASSERT), meta(&format!("{ASSERT}.sig"))), (m1, m2), "files rewritten");

    // Another result: refused, with the difference shown, and nothing touched.
    std::fs::write(b.join(format!("result/{NAME}-res.yml")), res_yml(&hash('f'))).unwrap();
    let refused = sign(&w, &b, "alice", &[]);
    assert_eq!(refused.status.code(), Some(2));
    let err = stderr(&refused);
    assert!(err.contains("already exists with different content"), "{err}");
    assert!(
        err.contains(&format!("-    {}  demo-1.0-x86_64-linux-gnu.tar.gz", hash('a'))),
        "{err}"
    );
    assert!(
        err.contains(&format!("+    {}  demo-1.0-x86_64-linux-gnu.tar.gz", hash('f'))),
        "{err}"
    );
    assert!(err.contains("hint: pass --force"), "{err}");
    assert_eq!(std::fs::read(sigs.join(ASSERT)).unwrap(), expected_assert(&hash('a'), "1.0"));
    assert_eq!(head(&w, &sigs), commit);

    // Also when the old one is only in HEAD (deleted from the work tree).
    std::fs::remove_file(sigs.join(ASSERT)).unwrap();
    let refused = sign(&w, &b, "alice", &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("(committed)"), "{}", stderr(&refused));
    w.git_ok(&sigs, &["checkout", "--", ASSERT]);

    let forced = sign(&w, &b, "alice", &["--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(std::fs::read(sigs.join(ASSERT)).unwrap(), expected_assert(&hash('f'), "1.0"));
    assert!(w.gpg_verify(&sigs.join(format!("{ASSERT}.sig")), &sigs.join(ASSERT)).status.success());
    assert_eq!(
        w.git_ok(&sigs, &["log", "-1", "--format=%s"]).trim(),
        "Update alice 1.0 demo-linux-1.0 attestation"
    );
}

#[test]
fn test_sign_later_with_true_then_sign() {
    let (w, sigs, b) = setup(&["alice"]);
    let commit = head(&w, &sigs);
    let later = sign(&w, &b, "alice", &["-p", "true"]);
    assert!(later.status.success(), "{}", stderr(&later));
    assert!(stderr(&later).contains("nothing committed"), "{}", stderr(&later));
    assert_eq!(std::fs::read(sigs.join(ASSERT)).unwrap(), expected_assert(&hash('a'), "1.0"));
    assert!(!sigs.join(format!("{ASSERT}.sig")).exists());
    assert_eq!(head(&w, &sigs), commit);

    // gsign's default program, run by hand as Bitcoin's release process did.
    let out = w
        .cmd("gpg")
        .args(["--detach-sign", "-u", "alice"])
        .arg(sigs.join(ASSERT))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let done = sign(&w, &b, "alice", &["-p", "true"]);
    assert!(done.status.success(), "{}", stderr(&done));
    assert_eq!(
        w.git_ok(&sigs, &["show", "--name-only", "--format=", "HEAD"]),
        format!("{ASSERT}\n{ASSERT}.sig\n")
    );
}

#[test]
fn test_sign_with_gsigns_default_program_and_a_signed_commit() {
    let (w, sigs, b) = setup(&["alice"]);
    let out = sign(&w, &b, "alice", &["-p", "gpg --detach-sign", "--sign-commit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.gpg_verify(&sigs.join(format!("{ASSERT}.sig")), &sigs.join(ASSERT)).status.success());
    let v = w.git(&sigs, &["verify-commit", "-v", "HEAD"]);
    assert!(v.status.success(), "git verify-commit: {}", stderr(&v));
    assert!(stderr(&v).contains("Good signature from \"alice"), "{}", stderr(&v));
}

#[test]
fn test_sign_refuses_bad_names_and_missing_things() {
    let (w, _sigs, b) = setup(&["alice"]);
    for (signer, release) in
        [("../x", "1.0"), ("alice", "a/b"), (".hidden", "1.0"), ("alice", "..")]
    {
        let out = w.gitian(
            &b,
            &["sign", "-s", signer, "-r", release, "-d", "../sigs", "demo-linux-1.0.yml"],
        );
        assert_eq!(out.status.code(), Some(2), "{signer} {release}");
        assert!(stderr(&out).contains("name"), "{}", stderr(&out));
    }
    assert!(!w.path("x").exists() && !w.path("sigs/a").exists());

    std::fs::remove_file(b.join(format!("result/{NAME}-res.yml"))).unwrap();
    let out = sign(&w, &b, "alice", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("result/demo-linux-1.0-res.yml does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: run `git gitian build"), "{}", stderr(&out));

    let b2 = w.build_dir("b2", NAME, &hash('a'));
    let out = w
        .gitian(&b2, &["sign", "-s", "nobody", "-r", "1.0", "-d", "../sigs", "demo-linux-1.0.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no usable secret key for 'nobody'"), "{}", stderr(&out));
    assert!(!w.path("sigs/1.0/nobody").exists(), "nothing written when signing fails");
}

#[test]
fn test_sign_default_destination_from_git_config_or_cwd() {
    let (w, sigs, b) = setup(&["alice"]);
    // Outside any repository and without gitian.sigs: no destination.
    let out = w.gitian(&b, &["sign", "-s", "alice", "-r", "1.0", "demo-linux-1.0.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("gitian.sigs"), "{}", stderr(&out));

    w.git_ok(w.root.path(), &["config", "--global", "gitian.sigs", sigs.to_str().unwrap()]);
    let out = w.gitian(&b, &["sign", "-s", "alice", "-r", "1.0", "demo-linux-1.0.yml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sigs.join(ASSERT).exists());
    w.git_ok(w.root.path(), &["config", "--global", "--unset", "gitian.sigs"]);

    // From inside the sigs repository, results elsewhere: -r 2.0, default destination = here.
    std::fs::create_dir_all(sigs.join("result")).unwrap();
    std::fs::copy(
        b.join(format!("result/{NAME}-res.yml")),
        sigs.join(format!("result/{NAME}-res.yml")),
    )
    .unwrap();
    std::fs::copy(b.join(format!("{NAME}.yml")), sigs.join("d.yml")).unwrap();
    let out = w.gitian(&sigs, &["sign", "-s", "alice", "-r", "2.0", "d.yml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sigs.join("2.0/alice/demo-linux-1.0-build.assert.sig").exists());
    let status = w.git_ok(&sigs, &["status", "--porcelain"]);
    assert_eq!(status, "?? d.yml\n?? result/\n", "the build files are not swept in");
}

/// `git gitian sign` in Guix format as alice, release 1.0, into ../sigs.
const GUIX_ALICE: &[&str] =
    &["sign", "--format", "guix", "-s", "alice", "-r", "1.0", "-d", "../sigs"];

#[test]
fn test_sign_guix_format() {
    let (w, sigs, b) = setup(&["alice"]);
    // A second, code-signed result.
    std::fs::write(b.join("signer.yml"), descriptor("demo-signer")).unwrap();
    std::fs::write(
        b.join("result/demo-signer-res.yml"),
        format!(
            "--- !!omap\n- out_manifest: |\n    {}  demo-1.0-setup.exe\n- in_manifest: ''\n- base_manifests: !!omap []\n",
            hash('9')
        ),
    )
    .unwrap();
    let out = w.gitian(&b, &[GUIX_ALICE, &["demo-linux-1.0.yml"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = sigs.join("1.0/alice");
    let sums = std::fs::read_to_string(dir.join("noncodesigned.SHA256SUMS")).unwrap();
    assert_eq!(
        sums,
        format!(
            "{}  demo-1.0-x86_64-linux-gnu.tar.gz\n{}  demo-1.0.tar.gz\n",
            hash('a'),
            hash('b')
        )
    );
    let asc = std::fs::read_to_string(dir.join("noncodesigned.SHA256SUMS.asc")).unwrap();
    assert!(asc.starts_with("-----BEGIN PGP SIGNATURE-----"), "{asc}");
    assert!(
        w.gpg_verify(
            &dir.join("noncodesigned.SHA256SUMS.asc"),
            &dir.join("noncodesigned.SHA256SUMS")
        )
        .status
        .success()
    );
    assert!(!dir.join("all.SHA256SUMS").exists());

    // Code-signed results added: all.SHA256SUMS, noncodesigned unchanged.
    let out =
        w.gitian(&b, &[GUIX_ALICE, &["--codesigned", "signer.yml", "demo-linux-1.0.yml"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let all = std::fs::read_to_string(dir.join("all.SHA256SUMS")).unwrap();
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(all.contains("demo-1.0-setup.exe"));
    assert!(
        w.gpg_verify(&dir.join("all.SHA256SUMS.asc"), &dir.join("all.SHA256SUMS")).status.success()
    );
    assert_eq!(std::fs::read_to_string(dir.join("noncodesigned.SHA256SUMS")).unwrap(), sums);
    let files = w.git_ok(&sigs, &["show", "--name-only", "--format=%s", "HEAD"]);
    assert_eq!(
        files,
        "Add alice 1.0 all attestation\n\n1.0/alice/all.SHA256SUMS\n1.0/alice/all.SHA256SUMS.asc\n"
    );

    // A different build attests differently: refused, as guix-attest does.
    std::fs::write(b.join(format!("result/{NAME}-res.yml")), res_yml(&hash('f'))).unwrap();
    let out = w.gitian(&b, &[GUIX_ALICE, &["demo-linux-1.0.yml"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("partial build"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.join("noncodesigned.SHA256SUMS")).unwrap(), sums);
}

/// What the signer directory may hold after a kill: nothing, or a complete attestation whose
/// signature GnuPG accepts. Returns whether the attestation is there.
fn check_after_kill(w: &World, sigs: &Path, want: &[u8], old: Option<&[u8]>) -> bool {
    let dir = sigs.join("1.0/alice");
    let assert_path = sigs.join(ASSERT);
    let sig_path = sigs.join(format!("{ASSERT}.sig"));
    let names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => Vec::new(),
    };
    if names.is_empty() {
        return false;
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec!["demo-linux-1.0-build.assert", "demo-linux-1.0-build.assert.sig"],
        "a kill left a partial signer directory"
    );
    let bytes = std::fs::read(&assert_path).unwrap();
    assert!(bytes == want || Some(&bytes[..]) == old, "a kill left an assert with other bytes");
    let v = w.gpg_verify(&sig_path, &assert_path);
    assert!(v.status.success(), "a kill left a signature that does not verify: {}", stderr(&v));
    bytes == want
}

/// Stray files a kill may leave in the work tree (none allowed besides the attestation).
fn check_worktree(w: &World, sigs: &Path) {
    let status = w.git_ok(sigs, &["status", "--porcelain", "--untracked-files=all", "--ignored"]);
    for line in status.lines() {
        assert!(
            line.ends_with(ASSERT) || line.ends_with(&format!("{ASSERT}.sig")),
            "stray file after kill: {line}"
        );
    }
}

/// Lock files a killed libgit2 leaves behind (`index.lock`, `refs/heads/main.lock`).
fn stale_locks(sigs: &Path) -> Vec<PathBuf> {
    let git = sigs.join(".git");
    let mut out: Vec<PathBuf> = ["index.lock", "HEAD.lock", "refs/heads/main.lock"]
        .iter()
        .map(|p| git.join(p))
        .filter(|p| p.exists())
        .collect();
    out.sort();
    out
}

/// SIGKILL swept over a run's duration: whatever instant it lands at, the ledger holds nothing
/// or a complete attestation, and the retry finishes. Where the kills land is up to timing;
/// test_sign_kill_9_while_the_signature_is_made kills mid-write for certain.
#[test]
fn test_sign_kill_9_leaves_nothing_or_a_complete_attestation() {
    let (w, sigs, b) = setup(&["alice"]);
    let base = head(&w, &sigs);
    let want = expected_assert(&hash('a'), "1.0");
    let reset = || {
        w.git_ok(&sigs, &["reset", "-q", "--hard", &base]);
        w.git_ok(&sigs, &["clean", "-q", "-fdx"]);
    };
    // How long one complete run takes here.
    let t0 = Instant::now();
    assert!(sign(&w, &b, "alice", &[]).status.success());
    let full = t0.elapsed();
    reset();

    let args = ["sign", "-s", "alice", "-r", "1.0", "-d", "../sigs", "demo-linux-1.0.yml"];
    let steps = 24;
    let mut outcomes = [0usize; 3]; // nothing, complete, committed
    for i in 0..steps {
        let delay = full.mul_f64(i as f64 / steps as f64 * 1.2);
        let mut child = w.cmd(crate::common::bin()).args(args).current_dir(&b).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let present = check_after_kill(&w, &sigs, &want, None);
        check_worktree(&w, &sigs);
        let committed = head(&w, &sigs) != base;
        outcomes[if committed { 2 } else { usize::from(present) }] += 1;
        // A kill inside libgit2's index or ref update leaves git's own lock file; nobody holds
        // it open, so the retry removes it and finishes the job.
        let again = sign(&w, &b, "alice", &[]);
        assert!(again.status.success(), "retry after kill at {delay:?}: {}", stderr(&again));
        assert_eq!(std::fs::read(sigs.join(ASSERT)).unwrap(), want);
        assert_eq!(
            w.git_ok(&sigs, &["show", "--name-only", "--format=", "HEAD"]),
            format!("{ASSERT}\n{ASSERT}.sig\n")
        );
        assert_eq!(w.git_ok(&sigs, &["status", "--porcelain", "--untracked-files=all"]), "");
        let scratch = sigs.join(".git/gitian-sign");
        let left = std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "scratch directories of killed runs are cleaned up");
        reset();
    }
    eprintln!(
        "kill -9 outcomes over {steps} runs (full run {full:?}): nothing {}, complete {}, committed {}",
        outcomes[0], outcomes[1], outcomes[2]
    );

    // Replacing with --force: the old pair or the new pair, never an old signature over new bytes.
    assert!(sign(&w, &b, "alice", &[]).status.success());
    let base = head(&w, &sigs);
    let old = want.clone();
    std::fs::write(b.join(format!("result/{NAME}-res.yml")), res_yml(&hash('f'))).unwrap();
    let new = expected_assert(&hash('f'), "1.0");
    for i in 0..steps / 2 {
        let delay = full.mul_f64(i as f64 / (steps / 2) as f64 * 1.2);
        let mut child =
            w.cmd(crate::common::bin()).args(args).arg("--force").current_dir(&b).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        assert!(sigs.join(ASSERT).exists(), "the old attestation vanished");
        check_after_kill(&w, &sigs, &new, Some(&old));
        for lock in stale_locks(&sigs) {
            std::fs::remove_file(lock).unwrap();
        }
        check_worktree(&w, &sigs);
        w.git_ok(&sigs, &["reset", "-q", "--hard", &base]);
        w.git_ok(&sigs, &["clean", "-q", "-fdx"]);
    }
}

/// The scriptable tour for the README: two throwaway builders sign one result, verify says OK.
#[test]
fn test_sign_two_builders_script() {
    let w = World::new(&[]);
    let b = w.build_dir("b", NAME, &hash('a'));
    let sigs = w.path("demo-sigs");
    let out = w
        .cmd("sh")
        .arg(crate::common::root().join("scripts/two-builders.sh"))
        .args(["demo-linux-1.0.yml", "1.0"])
        .arg(&sigs)
        .current_dir(&b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("result: OK"), "{text}");
    assert_eq!(text.lines().filter(|l| l.ends_with("  OK")).count(), 2, "{text}");
    assert_eq!(
        w.git_ok(&sigs, &["log", "--format=%s"]),
        "Add bob 1.0 demo-linux-1.0 attestation\nAdd alice 1.0 demo-linux-1.0 attestation\nAdd builder keys of alice and bob\nInitialize sigs repository\n"
    );
}

/// git's lock files: one that no process holds open was left by a killed writer and is
/// removed (issue 10: the next run repairs what a kill left); one held open by a live process
/// (a git at work) is left alone, the files are written and signed, the commit waits, and the
/// error says what to do; after that the same command finishes.
#[test]
fn test_sign_removes_a_stale_lock_and_reports_a_live_one() {
    let (w, sigs, b) = setup(&["alice"]);
    let lock = sigs.join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    std::fs::write(sigs.join(".git/refs/heads/main.lock"), "").unwrap();
    let out = sign(&w, &b, "alice", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stale_locks(&sigs).is_empty(), "{:?}", stale_locks(&sigs));
    assert_eq!(
        w.git_ok(&sigs, &["log", "-1", "--format=%s"]).trim(),
        "Add alice 1.0 demo-linux-1.0 attestation"
    );

    let (w, sigs, b) = setup(&["alice"]);
    let lock = sigs.join(".git/index.lock");
    // A process holding the lock open, as a git writing the index does.
    let mut holder = std::process::Command::new("sh")
        .args(["-c", "exec 3>>\"$1\"; echo ready; exec sleep 60", "sh"])
        .arg(&lock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    let out = sign(&w, &b, "alice", &[]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hint: another git process seems to be running"),
        "{}",
        stderr(&out)
    );
    assert!(w.gpg_verify(&sigs.join(format!("{ASSERT}.sig")), &sigs.join(ASSERT)).status.success());
    // The holder is gone: the lock is a dead process's now, and the same command finishes.
    let out = sign(&w, &b, "alice", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.git_ok(&sigs, &["log", "-1", "--format=%s"]).trim(),
        "Add alice 1.0 demo-linux-1.0 attestation"
    );
}

/// Issue 10 item 5: signers running at once into one ledger (real processes, real keys) all
/// commit, none loses another's attestation, and the index is left equal to HEAD. Before
/// the ledger lock, a loser failed with libgit2's "old reference value does not match" and
/// left an index staging the deletion of the winner's files.
#[test]
fn test_sign_concurrent_signers_never_lose_an_attestation() {
    let signers = ["alice", "bob", "carol"];
    let (w, sigs, b) = setup(&signers);
    let rounds = 6;
    for round in 0..rounds {
        let release = format!("r{round}");
        let before: usize =
            w.git_ok(&sigs, &["rev-list", "--count", "HEAD"]).trim().parse().unwrap();
        let children: Vec<_> = signers
            .iter()
            .map(|s| {
                let args = ["sign", "-s", s, "-r", &release, "-d", "../sigs", "demo-linux-1.0.yml"];
                w.cmd(crate::common::bin())
                    .args(args)
                    .current_dir(&b)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (s, child) in signers.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}, {s}: {}", stderr(&out));
            assert!(!stderr(&out).contains("class="), "raw libgit2 text: {}", stderr(&out));
        }
        let files = w.git_ok(&sigs, &["ls-tree", "-r", "--name-only", "HEAD", &release]);
        let want: String = signers
            .iter()
            .flat_map(|s| {
                let a = format!("{release}/{s}/{NAME}-build.assert");
                [format!("{a}\n"), format!("{a}.sig\n")]
            })
            .collect();
        assert_eq!(files, want, "round {round}: an attestation is missing from HEAD");
        let after: usize =
            w.git_ok(&sigs, &["rev-list", "--count", "HEAD"]).trim().parse().unwrap();
        assert_eq!(after, before + signers.len(), "round {round}: one commit per signer");
        assert_eq!(
            w.git_ok(&sigs, &["status", "--porcelain", "--untracked-files=all"]),
            "",
            "round {round}: the index or work tree differs from HEAD"
        );
    }
}

/// Issue 16 item 5: kills that land mid-write for certain. The signing program says it is
/// running (the assert is staged, its signature being made) and blocks; sign is SIGKILLed
/// right then. The ledger keeps its previous state (no assert without its signature), and
/// the next run cleans the scratch directory and finishes the job.
#[test]
fn test_sign_kill_9_while_the_signature_is_made() {
    let (w, sigs, b) = setup(&["alice"]);
    let want = expected_assert(&hash('a'), "1.0");
    let base = head(&w, &sigs);
    let ready = w.path("ready");
    let blocker = w.path("block.sh");
    std::fs::write(
        &blocker,
        format!("#!/bin/sh\necho $$ > {}.tmp && mv {0}.tmp {0}\nexec sleep 600\n", ready.display()),
    )
    .unwrap();
    std::fs::set_permissions(&blocker, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let scratch = sigs.join(".git/gitian-sign");
    for round in 0..3 {
        let _ = std::fs::remove_file(&ready);
        let program = blocker.display().to_string();
        let args = [
            "sign",
            "-s",
            "alice",
            "-r",
            "1.0",
            "-d",
            "../sigs",
            "-p",
            &program,
            "demo-linux-1.0.yml",
        ];
        let mut child = w.cmd(crate::common::bin()).args(args).current_dir(&b).spawn().unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        while !ready.exists() {
            assert!(child.try_wait().unwrap().is_none(), "sign ended before signing");
            assert!(Instant::now() < deadline, "the signing program never started");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // Mid-write: sign is alive, waiting on the program, its staging directory is there.
        assert!(child.try_wait().unwrap().is_none());
        let staged = std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0);
        assert_eq!(staged, 1, "round {round}: no staging directory: the kill is not mid-write");
        child.kill().unwrap();
        child.wait().unwrap();
        let pid = std::fs::read_to_string(&ready).unwrap();
        let _ = std::process::Command::new("kill").args(["-9", pid.trim()]).status();

        assert!(!sigs.join(ASSERT).exists(), "round {round}: an assert without its signature");
        assert_eq!(head(&w, &sigs), base);
        assert_eq!(w.git_ok(&sigs, &["status", "--porcelain", "--untracked-files=all"]), "");
    }
    let again = sign(&w, &b, "alice", &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(std::fs::read(sigs.join(ASSERT)).unwrap(), want);
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0, "scratch of killed runs left");
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain", "--untracked-files=all"]), "");

    // Replacing it with --force, killed while the new signature is made: the old pair stays,
    // whole and valid (never the new bytes under the old signature).
    let signed = head(&w, &sigs);
    let old_sig = std::fs::read(sigs.join(format!("{ASSERT}.sig"))).unwrap();
    std::fs::write(b.join(format!("result/{NAME}-res.yml")), res_yml(&hash('f'))).unwrap();
    let _ = std::fs::remove_file(&ready);
    let program = blocker.display().to_string();
    let args = ["sign", "-s", "alice", "-r", "1.0", "-d", "../sigs", "-p", &program, "--force"];
    let mut child = w
        .cmd(crate::common::bin())
        .args(args)
        .arg("demo-linux-1.0.yml")
        .current_dir(&b)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    while !ready.exists() {
        assert!(child.try_wait().unwrap().is_none(), "sign --force ended before signing");
        assert!(Instant::now() < deadline, "the signing program never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 1, "the kill is not mid-write");
    child.kill().unwrap();
    child.wait().unwrap();
    let pid = std::fs::read_to_string(&ready).unwrap();
    let _ = std::process::Command::new("kill").args(["-9", pid.trim()]).status();
    assert_eq!(std::fs::read(sigs.join(ASSERT)).unwrap(), want, "the old assert was replaced");
    assert_eq!(std::fs::read(sigs.join(format!("{ASSERT}.sig"))).unwrap(), old_sig);
    let v = w.gpg_verify(&sigs.join(format!("{ASSERT}.sig")), &sigs.join(ASSERT));
    assert!(v.status.success(), "{}", stderr(&v));
    assert_eq!(head(&w, &sigs), signed);
    assert_eq!(w.git_ok(&sigs, &["status", "--porcelain", "--untracked-files=all"]), "");
}
