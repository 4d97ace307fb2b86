//! `verify` over the two whole public ledgers (`../shared/ledgers/`, git bundles at pinned
//! revisions) against GnuPG's verdict on every signature, computed at test time by
//! `../shared/corpus/gpg-oracle.sh`; and the signatures the in-process library cannot check
//! (ECDSA on secp256k1), which GnuPG checks instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::gnupg::GnupgHome;
use crate::common::*;

const AT: &str = "2026-11-28T00:00:00Z";

fn ledgers() -> PathBuf {
    let p = root().join("../shared/ledgers");
    if p.exists() { p } else { PathBuf::from("/work/shared/ledgers") }
}

/// A bare copy of a ledger bundle.
fn clone_bundle(name: &str, into: &Path) -> PathBuf {
    let bundle = ledgers().join(format!("{name}.bundle"));
    let dest = into.join(format!("{name}.git"));
    let out = Command::new("git")
        .args(["clone", "-q", "--mirror"])
        .arg(&bundle)
        .arg(&dest)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "clone {}: {}", bundle.display(), stderr(&out));
    dest
}

/// The keys gpg-oracle.sh imports, as files: every version of guix.sigs' `builder-keys/*` in
/// the history of its main branch, and gitian.sigs' `gitian-keys/*` at pull request 621.
fn extract_keys(guix: &Path, gitian: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let commits =
        git(guix, &["log", "--full-history", "--format=%H", "main", "--", "builder-keys"]);
    let mut blobs = std::collections::BTreeSet::new();
    for c in commits.lines() {
        for line in git(guix, &["ls-tree", "-r", c, "--", "builder-keys/"]).lines() {
            let (meta, path) = line.split_once('\t').unwrap();
            let blob = meta.split(' ').nth(2).unwrap().to_string();
            blobs.insert((blob, path.rsplit('/').next().unwrap().to_string()));
        }
    }
    let pr621 = git(gitian, &["ls-tree", "-r", "pr621", "--", "gitian-keys/"]);
    for line in pr621.lines() {
        let (meta, path) = line.split_once('\t').unwrap();
        blobs.insert((meta.split(' ').nth(2).unwrap().to_string(), path.replace('/', "_")));
    }
    assert!(blobs.len() > 60, "{} key files", blobs.len());
    for (blob, name) in blobs {
        // A guix key, else one of gitian.sigs' pull request.
        let read = |repo: &Path| {
            let o =
                Command::new("git").args(["cat-file", "blob", &blob]).current_dir(repo).output();
            o.ok().filter(|o| o.status.success()).map(|o| o.stdout)
        };
        let out = read(guix).or_else(|| read(gitian)).unwrap_or_else(|| panic!("blob {blob}"));
        std::fs::write(into.join(format!("{name}.{blob}")), out).unwrap();
    }
}

/// Rows keyed by (ledger, release, file, signer, sig_path), the 8 compared columns each.
fn rows(tsv: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for line in tsv.lines().filter(|l| !l.starts_with("ledger\t")) {
        let f: Vec<String> = line.split('\t').map(str::to_string).collect();
        assert_eq!(f.len(), 10, "{line}");
        let key = format!("{}\t{}\t{}\t{}\t{}", f[0], f[1], f[2], f[3], f[9]);
        assert!(out.insert(key, f[..8].to_vec()).is_none(), "duplicate row {line}");
    }
    out
}

/// Rows whose `manifest_matches_majority` gpg-oracle.sh computes from a line-by-line reading
/// of `out_manifest` (awk, not YAML) where YAML reads otherwise. In 0.9.3rc2, gdm85's
/// `out_manifest` is a single-quoted scalar without blank lines between its lines: libyaml
/// (Ruby's Psych, so gverify) and this reader fold it into one line, which matches no other
/// signer's manifest; the awk reading sees the majority's lines. Each listed row must differ in
/// that column only (and must differ: a listed row that agrees fails too).
const AWK_NOT_YAML: &[&str] = &["gitian\t0.9.3rc2\tbitcoin-build.assert\tgdm85\t"];

/// Differences between gpg's rows and ours, one line each. Where gpg names no key (`-`: a
/// `no_data` row, the signing subkey of a `bad` one), the key we name is accepted.
fn differences(
    want: &BTreeMap<String, Vec<String>>,
    got: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for (key, w) in want {
        let Some(g) = got.get(key) else {
            diffs.push(format!("missing   {}", w.join("\t")));
            continue;
        };
        let differ: Vec<usize> =
            (0..8).filter(|&i| w[i] != g[i] && !(i >= 5 && w[i] == "-")).collect();
        let awk_not_yaml = AWK_NOT_YAML.iter().any(|k| key.starts_with(k));
        if awk_not_yaml && differ != [6] {
            diffs.push(format!("listed in AWK_NOT_YAML, differs otherwise: {}", g.join("\t")));
        } else if !differ.is_empty() && !awk_not_yaml {
            diffs.push(format!("gpg says  {}\n    ours  {}", w.join("\t"), g.join("\t")));
        }
    }
    for listed in AWK_NOT_YAML {
        let agrees = want.iter().any(|(k, w)| k.starts_with(listed) && got.get(k) == Some(w));
        if agrees {
            diffs.push(format!("listed in AWK_NOT_YAML but agrees: {listed}"));
        }
    }
    for (key, g) in got {
        if !want.contains_key(key) {
            diffs.push(format!("extra     {}", g.join("\t")));
        }
    }
    diffs
}

#[test]
#[ignore = "slow on purpose (gpg over all 8,984 signatures, about 5 minutes); .ci/run runs it"]
fn test_ledgers_every_signature_of_both_ledgers_as_gpg_judges_it() {
    let tmp = tempfile::tempdir().unwrap();
    let gitian = clone_bundle("gitian.sigs", tmp.path());
    let guix = clone_bundle("guix.sigs", tmp.path());
    let keys = tmp.path().join("keys");
    extract_keys(&guix, &gitian, &keys);

    let oracle = Command::new("sh")
        .arg(corpus().join("gpg-oracle.sh"))
        .arg(&gitian)
        .arg(&guix)
        .env("GITIAN_RELEASES", "ALL")
        .env("GUIX_RELEASES", "ALL")
        .env("TMPDIR", tmp.path())
        .env_remove("GNUPGHOME")
        .output()
        .unwrap();
    assert!(oracle.status.success(), "gpg-oracle.sh: {}", stderr(&oracle));
    let want = rows(&stdout(&oracle));
    assert!(want.len() > 8_900, "gpg judged only {} signatures", want.len());

    let mut got = BTreeMap::new();
    for ledger in [&gitian, &guix] {
        let (l, k) = (ledger.display().to_string(), keys.display().to_string());
        let args = ["verify", "-d", &l, "--keys", &k, "--at", AT, "--format", "tsv", "--no-cache"];
        let out = run_in(tmp.path(), &args);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}: {}", l, stderr(&out));
        got.extend(rows(&stdout(&out)));
    }
    let diffs = differences(&want, &got);
    assert!(
        diffs.is_empty(),
        "{} of {} rows differ from gpg:\n{}",
        diffs.len(),
        want.len(),
        diffs.join("\n")
    );
}

#[test]
fn test_ledgers_secp256k1_signatures_are_checked_by_gnupg() {
    // guix.sigs builders sign with ECDSA on secp256k1 since 25.x; sequoia over nettle lacks the
    // curve, so these rows were error_rc2 where gpg says good.
    let home = GnupgHome::new();
    home.gpg(&["--quick-gen-key", "K1 <k1@example.invalid>", "secp256k1", "sign", "2099-01-01"]);
    let listing = String::from_utf8(home.gpg(&["--with-colons", "--list-keys"])).unwrap();
    let fpr = listing.lines().find_map(|l| l.strip_prefix("fpr:")).unwrap();
    let fpr = fpr.trim_matches(':').to_string();
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("sigs");
    for signer in ["k1", "k1-edited"] {
        std::fs::create_dir_all(ledger.join("25.0").join(signer)).unwrap();
    }
    std::fs::create_dir_all(ledger.join("builder-keys")).unwrap();
    std::fs::write(ledger.join("builder-keys/k1.gpg"), home.gpg(&["--armor", "--export"])).unwrap();
    let sums = format!("{}  bitcoin-25.0-x86_64-linux-gnu.tar.gz\n", "ab".repeat(32));
    let good = ledger.join("25.0/k1/all.SHA256SUMS");
    std::fs::write(&good, &sums).unwrap();
    let g = good.display().to_string();
    home.gpg(&[
        "--detach-sign",
        "--digest-algo",
        "sha256",
        "--armor",
        "-o",
        &format!("{g}.asc"),
        &g,
    ]);
    // The same signature over other bytes.
    let edited = ledger.join("25.0/k1-edited/all.SHA256SUMS");
    std::fs::write(&edited, sums.replace("ab", "cd")).unwrap();
    std::fs::copy(format!("{g}.asc"), ledger.join("25.0/k1-edited/all.SHA256SUMS.asc")).unwrap();

    let l = ledger.display().to_string();
    let out = run_in(tmp.path(), &["verify", "-d", &l, "--format", "tsv", "--no-cache", "-v"]);
    let tsv = stdout(&out);
    let status = |signer: &str| {
        let row = tsv.lines().find(|r| r.split('\t').nth(3) == Some(signer)).unwrap();
        let f: Vec<&str> = row.split('\t').collect();
        (f[4].to_string(), f[5].to_string())
    };
    assert_eq!(status("k1"), ("good".to_string(), fpr.clone()), "{tsv}\n{}", stderr(&out));
    assert_eq!(status("k1-edited").0, "bad", "{tsv}");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("signatures by key {fpr} (ECDSA on secp256k1"))
            && err.contains("checked by GnuPG"),
        "{err}"
    );
    // Without -v, no note.
    let quiet = run_in(tmp.path(), &["verify", "-d", &l, "--format", "tsv", "--no-cache"]);
    assert!(!stderr(&quiet).contains("GnuPG"), "{}", stderr(&quiet));
}

/// Runs verify over `ledger` at `at` with the verify memory in `cache`; the row of signer k1:
/// (status, key).
fn k1_row_with_memory(ledger: &Path, cache: &Path, at: &str) -> (String, String) {
    let out = Command::new(bin())
        .args(["verify", "-d", &ledger.display().to_string(), "--format", "tsv", "--at", at])
        .env("XDG_CACHE_HOME", cache)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GNUPGHOME")
        .output()
        .unwrap();
    let tsv = stdout(&out);
    let row = tsv.lines().find(|r| r.split('\t').nth(3) == Some("k1")).expect("a k1 row");
    let f: Vec<&str> = row.split('\t').collect();
    (f[4].to_string(), f[5].to_string())
}

#[test]
fn test_ledgers_gnupg_verdicts_are_remembered_only_while_they_cannot_change() {
    // A warm verify of guix.sigs ran gpg for every secp256k1 signature again (about 2.5 s of
    // a 4 s run): GnuPG's verdicts are now remembered, by the bytes of the certificate, the
    // signature and the data, and by the verdict time unless nothing in the certificate or
    // the signature can change with time (no expiry, no revocation, nothing made later).
    // Shown by editing the remembered verdict: where it is used, the edit shows.
    for (expire, timeless) in [("never", true), ("2099-01-01", false)] {
        let home = GnupgHome::new();
        home.gpg(&["--quick-gen-key", "K1 <k1@example.invalid>", "secp256k1", "sign", expire]);
        let tmp = tempfile::tempdir().unwrap();
        let ledger = tmp.path().join("sigs");
        std::fs::create_dir_all(ledger.join("25.0/k1")).unwrap();
        std::fs::create_dir_all(ledger.join("builder-keys")).unwrap();
        std::fs::write(ledger.join("builder-keys/k1.gpg"), home.gpg(&["--armor", "--export"]))
            .unwrap();
        let sums = ledger.join("25.0/k1/all.SHA256SUMS");
        std::fs::write(&sums, format!("{}  bitcoin-25.0.tar.gz\n", "ab".repeat(32))).unwrap();
        let s = sums.display().to_string();
        home.gpg(&["--detach-sign", "--armor", "-o", &format!("{s}.asc"), &s]);

        let cache = tmp.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let (t1, t2) = ("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z");
        assert_eq!(k1_row_with_memory(&ledger, &cache, t1).0, "good", "{expire}");
        let memo = cache.join("git-gitian/verify/memo.json");
        let text = std::fs::read_to_string(&memo).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let fallbacks = json["fallbacks"].as_object().expect("fallbacks remembered");
        assert_eq!(fallbacks.len(), 1, "{expire}: {text}");
        assert_eq!(fallbacks.values().next().unwrap()["status"], "good");
        std::fs::write(&memo, text.replace("\"status\":\"good\"", "\"status\":\"bad\"")).unwrap();

        assert_eq!(k1_row_with_memory(&ledger, &cache, t1).0, "bad", "{expire}: same time");
        let later = if timeless { "bad" } else { "good" };
        assert_eq!(k1_row_with_memory(&ledger, &cache, t2).0, later, "{expire}: later time");
        // Before the key was made, the verdict is judged anew (gpg: no valid key then).
        assert_ne!(k1_row_with_memory(&ledger, &cache, "2001-01-01T00:00:00Z").0, "bad");
    }
}
