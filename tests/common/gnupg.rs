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

    /// A home whose gpg believes it is `time` (`20261128T000000`), for verdicts on expiry.
    pub fn at_time(time: &str) -> Self {
        let home = Self::new();
        std::fs::write(home.path().join("gpg.conf"), format!("faked-system-time {time}\n"))
            .unwrap();
        home
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
    /// `algo` (`ed25519`, `rsa2048`, ...).
    pub fn key_with(&self, name: &str, algo: &str) {
        let uid = format!("{name} <{name}@example.invalid>");
        self.gpg(&["--quick-gen-key", &uid, algo, "sign", "never"]);
    }

    /// An ed25519 signing key for `name`, as [`Self::key_with`].
    pub fn key(&self, name: &str) {
        self.key_with(name, "ed25519");
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

    /// Signs `file` with `name`'s key into `<file>.sig` (binary, detached).
    pub fn sign(&self, name: &str, file: &Path) {
        let sig = format!("{}.sig", file.display());
        let file = file.display().to_string();
        let user = format!("{name}@example.invalid");
        self.gpg(&["-u", &user, "--detach-sign", "-o", &sig, &file]);
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
