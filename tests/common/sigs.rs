//! A hermetic signed ledger for the verify tests: a throwaway GnuPG home with real keys (alice,
//! bob, carol, mallory), and a ledger folder whose release 1.0 alice, bob and carol signed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{bin, git, stderr, stdout};

/// A throwaway GnuPG home with real keys; the agent is killed on drop.
pub struct Gpg {
    /// The GNUPGHOME.
    pub home: tempfile::TempDir,
}

impl Gpg {
    pub fn new() -> Self {
        // Short path: the agent socket lives inside and must fit in 108 bytes.
        let home = tempfile::Builder::new().prefix("gg").tempdir_in("/tmp").unwrap();
        std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        Self { home }
    }

    pub fn gpg(&self, args: &[&str]) -> std::process::Output {
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

    pub fn key(&self, name: &str) {
        self.gpg(&[
            "--quick-gen-key",
            &format!("{name} <{name}@example.invalid>"),
            "ed25519",
            "sign",
            "never",
        ]);
    }

    pub fn export(&self, name: &str, to: &Path) {
        let out = self.gpg(&["--armor", "--export", &format!("{name}@example.invalid")]);
        std::fs::write(to, out.stdout).unwrap();
    }

    /// A key made at `when` (gpg's `--faked-system-time`), expiring after `expire` (`1y`).
    pub fn key_at(&self, name: &str, when: &str, expire: &str) {
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
    pub fn sign_at(&self, name: &str, file: &Path, when: &str) {
        let sig = format!("{}.sig", file.display());
        let user = format!("{name}@example.invalid");
        let file = file.display().to_string();
        self.gpg(&["--faked-system-time", when, "-u", &user, "--detach-sign", "-o", &sig, &file]);
    }

    /// The primary fingerprint of `name`'s key.
    pub fn fingerprint(&self, name: &str) -> String {
        let out = self.gpg(&["--with-colons", "--list-keys", &format!("{name}@example.invalid")]);
        let text = String::from_utf8(out.stdout).unwrap();
        let line = text.lines().find(|l| l.starts_with("fpr:")).unwrap();
        line.split(':').nth(9).unwrap().to_string()
    }

    /// The revocation certificate gpg wrote when it made `name`'s key, made usable (gpg puts a
    /// colon before its armor header against accidental use).
    pub fn revocation(&self, name: &str) -> Vec<u8> {
        let path =
            self.home.path().join(format!("openpgp-revocs.d/{}.rev", self.fingerprint(name)));
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find(":-----BEGIN").unwrap();
        text.as_bytes()[start + 1..].to_vec()
    }

    pub fn sign(&self, name: &str, file: &Path) {
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
    pub gpg: Gpg,
    /// The ledger folder.
    pub dir: tempfile::TempDir,
    /// XDG_CACHE_HOME of its verify runs.
    pub cache: tempfile::TempDir,
}

impl Ledger {
    pub fn new() -> Self {
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
            .env("GNUPGHOME", self.gpg.home.path())
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
