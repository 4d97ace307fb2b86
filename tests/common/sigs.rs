//! A hermetic signed ledger for the verify tests: a throwaway GnuPG home with real keys (alice,
//! bob, carol, mallory), and a ledger folder whose release 1.0 alice, bob and carol signed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::gnupg::GnupgHome;
use super::{bin, git, stderr};

pub fn assert_text(release: &str, name: &str, manifest: &str) -> String {
    use git_gitian::core::assertion::{BuildResult, Document, to_assert};
    let r = BuildResult {
        out_manifest: manifest.to_string(),
        in_manifest: format!("{}  {name}-desc.yml\ngit:{} src", "d".repeat(64), "a".repeat(40)),
        ..Default::default()
    };
    let doc = Document::parse(&r.render()).unwrap();
    to_assert(&doc, release, name, None).render()
}

pub const GOOD: &str = "1111111111111111111111111111111111111111111111111111111111111111  hello-1.0.tar.gz\n2222222222222222222222222222222222222222222222222222222222222222  hello-1.0.zip\n";
pub const EVIL: &str = "1111111111111111111111111111111111111111111111111111111111111111  hello-1.0.tar.gz\n6666666666666666666666666666666666666666666666666666666666666666  hello-1.0.zip\n";

/// A ledger with release 1.0 signed by alice, bob and carol, all agreeing. Its verify runs have
/// their own cache folder, and GNUPGHOME set to the home holding every key (mallory's too):
/// nothing may come from there.
pub struct Ledger {
    /// The keys (alice, bob, carol, mallory).
    pub gpg: GnupgHome,
    /// The ledger folder.
    pub dir: tempfile::TempDir,
    /// XDG_CACHE_HOME of its verify runs.
    pub cache: tempfile::TempDir,
}

impl Ledger {
    pub fn new() -> Self {
        let gpg = GnupgHome::new();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("builder-keys")).unwrap();
        for who in ["alice", "bob", "carol", "mallory"] {
            gpg.key(who);
            if who != "mallory" {
                gpg.export_to(who, &dir.path().join("builder-keys").join(format!("{who}.asc")));
            }
        }
        let l = Self { gpg, dir, cache: tempfile::tempdir().unwrap() };
        for who in ["alice", "bob", "carol"] {
            l.attest("1.0", who, who, GOOD);
        }
        l
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `<release>/<signer>/hello-build.assert` and signs it with `key`.
    pub fn attest(&self, release: &str, signer: &str, key: &str, manifest: &str) -> PathBuf {
        self.attest_named(release, signer, key, "hello", manifest)
    }

    /// Writes `<release>/<signer>/<name>-build.assert` and signs it with `key`.
    pub fn attest_named(
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

    pub fn verify(&self, extra: &[&str]) -> (i32, serde_json::Value, String) {
        let mut args = vec!["verify", "-d", self.path().to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let code = out.status.code().unwrap_or(-1);
        let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (code, json, stderr(&out))
    }

    /// The binary in the ledger's folder, with the key-holding GNUPGHOME and its own cache.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin())
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("GNUPGHOME", self.gpg.path())
            .env("XDG_CACHE_HOME", self.cache.path())
            .output()
            .unwrap()
    }

    /// Commits everything on the current branch (a git repository is made on first use).
    pub fn commit(&self, message: &str) {
        if !self.path().join(".git").exists() {
            git(self.path(), &["init", "-q", "-b", "main"]);
        }
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", message]);
    }

    pub fn rows(json: &serde_json::Value, signer: &str) -> Vec<serde_json::Value> {
        json["releases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["signers"].as_array().unwrap().clone())
            .filter(|s| s["signer"] == signer)
            .collect()
    }

    pub fn row(json: &serde_json::Value, signer: &str) -> serde_json::Value {
        json["releases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["signers"].as_array().unwrap().clone())
            .find(|s| s["signer"] == signer)
            .unwrap_or_else(|| panic!("no row for {signer} in {json:#}"))
    }
}

/// gpg's verdict on `sig` over `data` with only the key files given imported into a fresh home:
/// its `[GNUPG:]` status lines.
pub fn gpg_status(key_files: &[&Path], data: &Path, sig: &Path) -> String {
    let g = GnupgHome::new();
    for f in key_files {
        g.gpg(&["--import", &f.display().to_string()]);
    }
    g.verify_status(data, sig)
}
