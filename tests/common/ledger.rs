//! A hermetic world for the write path: a throwaway HOME and GNUPGHOME (short path, mode 700,
//! gpg-agent killed on drop), real ed25519 builder keys, a git identity, and the binary on PATH
//! so that installed hooks find `git gitian`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::gnupg::GnupgHome;
use super::{bin, stderr};

/// Test world. Dropping it stops its gpg-agent and removes everything.
pub struct World {
    /// Everything but the GnuPG home lives under here.
    pub root: tempfile::TempDir,
    /// The builders' keys.
    pub gpg: GnupgHome,
}

impl World {
    /// A fresh world with these builders, each with a passphrase-less signing key whose user id
    /// is `<name> <name@example.invalid>`.
    pub fn new(builders: &[&str]) -> Self {
        let root = tempfile::Builder::new().prefix("gg").tempdir_in("/tmp").unwrap();
        let w = Self { root, gpg: GnupgHome::new() };
        std::fs::create_dir(w.home()).unwrap();
        std::fs::write(
            w.home().join(".gitconfig"),
            "[user]\n\tname = Test Builder\n\temail = builder@example.invalid\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        for b in builders {
            w.gpg.key(b);
        }
        w
    }

    /// The GNUPGHOME.
    pub fn gnupghome(&self) -> PathBuf {
        self.gpg.path().to_path_buf()
    }

    /// The HOME (holds .gitconfig).
    pub fn home(&self) -> PathBuf {
        self.root.path().join("h")
    }

    /// A path under the world.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// A command with the world's environment.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        let bin_dir = bin().parent().unwrap().to_path_buf();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        c.env("PATH", path)
            .env("HOME", self.home())
            // The world's own memory of checks (verify, the hooks), whatever the caller's
            // environment says: no test reads another's.
            .env("XDG_CACHE_HOME", self.home().join(".cache"))
            .env("GNUPGHOME", self.gnupghome())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home().join(".gitconfig"))
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("COLUMNS")
            .stdin(Stdio::null());
        c
    }

    /// Runs `git-gitian args` in `dir`.
    pub fn gitian(&self, dir: &Path, args: &[&str]) -> Output {
        self.cmd(bin()).args(args).current_dir(dir).output().unwrap()
    }

    /// Runs `git-gitian args` in `dir` and asserts success.
    pub fn gitian_ok(&self, dir: &Path, args: &[&str]) -> Output {
        let out = self.gitian(dir, args);
        assert!(
            out.status.success(),
            "git-gitian {args:?} failed ({:?}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        out
    }

    /// Runs git in `dir`.
    pub fn git(&self, dir: &Path, args: &[&str]) -> Output {
        self.cmd("git").args(args).current_dir(dir).output().unwrap()
    }

    /// Runs git in `dir`, asserts success, returns stdout.
    pub fn git_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git(dir, args);
        assert!(out.status.success(), "git {args:?} failed:\n{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Armored public key of a builder.
    pub fn public_key(&self, builder: &str) -> Vec<u8> {
        self.gpg.export(builder)
    }

    /// `gpg --verify sig data`: whether GnuPG accepts the signature.
    pub fn gpg_verify(&self, sig: &Path, data: &Path) -> Output {
        self.cmd("gpg").arg("--verify").arg(sig).arg(data).output().unwrap()
    }

    /// A build directory with `<name>.yml` and `result/<name>-res.yml` whose first output has
    /// hash `out_hash`.
    pub fn build_dir(&self, rel: &str, name: &str, out_hash: &str) -> PathBuf {
        let dir = self.path(rel);
        std::fs::create_dir_all(dir.join("result")).unwrap();
        std::fs::write(dir.join(format!("{name}.yml")), descriptor(name)).unwrap();
        std::fs::write(dir.join(format!("result/{name}-res.yml")), res_yml(out_hash)).unwrap();
        dir
    }
}

/// A minimal valid descriptor named `name`.
pub fn descriptor(name: &str) -> String {
    format!(
        "---\nname: {name}\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\nreference_datetime: \"2020-01-01 00:00:00\"\nremotes: []\nfiles: []\nscript: |\n  true\n"
    )
}

/// A small result file in gbuild's bytes: two outputs (one under src/), a descriptor line and
/// a git line, one base manifest.
pub fn res_yml(out_hash: &str) -> String {
    let h = |c: char| c.to_string().repeat(64);
    format!(
        "--- !!omap\n- out_manifest: |\n    {out_hash}  demo-1.0-x86_64-linux-gnu.tar.gz\n    {}  src/demo-1.0.tar.gz\n- in_manifest: |-\n    {}  demo-desc.yml\n    git:0123456789abcdef0123456789abcdef01234567 demo\n- base_manifests: !!omap\n  - bookworm-amd64: |\n      {}  base-files_12.4_amd64.deb\n      {}  bash_5.2.15-2_amd64.deb\n- cache_common_manifest: ''\n- cache_package_manifest: ''\n",
        h('b'),
        h('c'),
        h('d'),
        h('e')
    )
}

/// A hash made of one repeated hex digit.
pub fn hash(c: char) -> String {
    c.to_string().repeat(64)
}
