//! The one throwaway GnuPG home of the tests: a short path in /tmp (the agent's socket lives
//! inside and must fit in 108 bytes), mode 0700, real keys made by the real gpg, every daemon
//! killed on drop. Host commands go through xshell: one line per gpg call, arguments
//! interpolated as words (never through a shell), the failing command named in the panic.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use xshell::{Shell, cmd};

/// A GNUPGHOME with passphrase-less keys.
pub struct GnupgHome {
    dir: tempfile::TempDir,
    sh: Shell,
}

impl GnupgHome {
    /// An empty home. gpg is required (scripts/install-deps installs it): a missing gpg fails
    /// the test rather than skipping it.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("gg").tempdir_in("/tmp").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let sh = Shell::new().unwrap();
        cmd!(sh, "gpg --version")
            .quiet()
            .ignore_stdout()
            .run()
            .expect("gpg is required by the tests (scripts/install-deps installs gnupg)");
        Self { dir, sh }
    }

    /// An empty home whose `gpg.conf` is `conf`.
    pub fn with_conf(conf: &str) -> Self {
        let home = Self::new();
        std::fs::write(home.path().join("gpg.conf"), conf).unwrap();
        home
    }

    /// A home whose gpg believes it is `time` (`20261128T000000`), for verdicts on expiry.
    pub fn at_time(time: &str) -> Self {
        Self::with_conf(&format!("faked-system-time {time}\n"))
    }

    /// The GNUPGHOME.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `gpg ARGS` in batch mode with an empty passphrase, `input` on stdin; asserts success
    /// and returns stdout.
    pub fn gpg_with_input(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let (home, sh, empty) = (self.path(), &self.sh, "");
        cmd!(sh, "gpg --homedir {home} --batch --yes --pinentry-mode loopback --passphrase {empty} {args...}")
            .stdin(input)
            .quiet()
            .ignore_stderr()
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
            .stdout
    }

    /// `gpg ARGS` as [`Self::gpg_with_input`], with nothing on stdin.
    pub fn gpg(&self, args: &[&str]) -> Vec<u8> {
        self.gpg_with_input(args, b"")
    }

    /// A signing key (never expires) with user id `<name> <name@example.invalid>`, of
    /// `algo` (`ed25519`, `rsa2048`, `secp256k1`, ...).
    pub fn key_with(&self, name: &str, algo: &str) {
        let uid = format!("{name} <{name}@example.invalid>");
        self.gpg(&["--quick-gen-key", &uid, algo, "sign", "never"]);
    }

    /// An ed25519 signing key for `name`, as [`Self::key_with`].
    pub fn key(&self, name: &str) {
        self.key_with(name, "ed25519");
    }

    /// An ed25519 key for `name` made at `when` (gpg's `--faked-system-time`, `20200101T000000`),
    /// expiring after `expire` (`1y`).
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

    /// `name`'s armored public key.
    pub fn export(&self, name: &str) -> Vec<u8> {
        let key = self.gpg(&["--armor", "--export", &format!("{name}@example.invalid")]);
        assert!(!key.is_empty(), "no public key for {name}");
        key
    }

    /// Writes `name`'s armored public key to `to`.
    pub fn export_to(&self, name: &str, to: &Path) {
        std::fs::write(to, self.export(name)).unwrap();
    }

    /// The primary fingerprint of `name`'s key.
    pub fn fingerprint(&self, name: &str) -> String {
        let out = self.gpg(&["--with-colons", "--list-keys", &format!("{name}@example.invalid")]);
        let text = String::from_utf8(out).unwrap();
        let line = text.lines().find(|l| l.starts_with("fpr:")).expect("a fingerprint");
        line.split(':').nth(9).unwrap().to_string()
    }

    /// The revocation certificate gpg wrote when it made `name`'s key, made usable (gpg puts a
    /// colon before its armor header against accidental use).
    pub fn revocation(&self, name: &str) -> Vec<u8> {
        let path = self.path().join(format!("openpgp-revocs.d/{}.rev", self.fingerprint(name)));
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find(":-----BEGIN").unwrap();
        text.as_bytes()[start + 1..].to_vec()
    }

    /// Signs `file` with `name`'s key into `<file>.sig` (binary, detached).
    pub fn sign(&self, name: &str, file: &Path) {
        let sig = format!("{}.sig", file.display());
        let file = file.display().to_string();
        let user = format!("{name}@example.invalid");
        self.gpg(&["-u", &user, "--detach-sign", "-o", &sig, &file]);
    }

    /// Signs `file` with `name`'s key into `<file>.sig`, at `when` (gpg's clock).
    pub fn sign_at(&self, name: &str, file: &Path, when: &str) {
        let sig = format!("{}.sig", file.display());
        let file = file.display().to_string();
        let user = format!("{name}@example.invalid");
        self.gpg(&["--faked-system-time", when, "-u", &user, "--detach-sign", "-o", &sig, &file]);
    }

    /// `armored` OpenPGP data in binary (`gpg --dearmor`).
    pub fn dearmor(&self, armored: &[u8]) -> Vec<u8> {
        self.gpg_with_input(&["--dearmor"], armored)
    }

    /// Imports `key` (bytes of any kind, garbage too) whatever gpg thinks of it; whether it
    /// took is for [`Self::has_keys`] to say.
    pub fn import_any(&self, key: &[u8]) {
        let (home, sh) = (self.path(), &self.sh);
        let _ = cmd!(sh, "gpg --homedir {home} --batch --quiet --import")
            .stdin(key)
            .quiet()
            .ignore_status()
            .ignore_stdout()
            .ignore_stderr()
            .run();
    }

    /// Whether the home holds any public key.
    pub fn has_keys(&self) -> bool {
        let (home, sh) = (self.path(), &self.sh);
        let out = cmd!(sh, "gpg --homedir {home} --batch --with-colons --list-keys")
            .quiet()
            .ignore_status()
            .ignore_stderr()
            .read()
            .unwrap_or_default();
        out.lines().any(|l| l.starts_with("pub:"))
    }

    /// gpg's verdict on the detached `sig` over `data`: its `[GNUPG:]` status lines, whatever
    /// the exit status (a bad signature is an answer, not a failure of the fixture).
    pub fn verify_status(&self, data: &Path, sig: &Path) -> String {
        let (home, sh) = (self.path(), &self.sh);
        cmd!(sh, "gpg --homedir {home} --batch --status-fd 1 --verify {sig} {data}")
            .quiet()
            .ignore_status()
            .ignore_stderr()
            .read()
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Default for GnupgHome {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let home = self.dir.path();
        let sh = &self.sh;
        let _ = cmd!(sh, "gpgconf --homedir {home} --kill all")
            .quiet()
            .ignore_status()
            .ignore_stdout()
            .ignore_stderr()
            .run();
    }
}
