//! Settings: the git config keys git-gitian reads, each beside its default, and the default
//! paths of its per-user state. Values are read through git itself (`git config`), so every
//! way git has of setting them works: `~/.gitconfig`, the repository's `.git/config`,
//! `include.path`, `git -c gitian.sigs=... gitian ...` and `GIT_CONFIG_COUNT`/`_KEY_n`/`_VALUE_n`.
//!
//! Precedence, for every key: the command-line flag, then its environment variable where it has
//! one (`GITIAN_BASE_DIR`), then git config, then the default below.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::guest::process::{self, Invocation};

/// One git config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key, as documented (`gitian.baseDir`); git compares keys without case.
    pub name: &'static str,
    /// The flag it stands in for.
    pub flag: &'static str,
    /// The default when neither the flag nor the key is set, in words.
    pub default: &'static str,
    /// What it sets.
    pub doc: &'static str,
}

/// The sigs repository `sign` writes into and `verify` and `status` read.
pub const SIGS: Key = Key {
    name: "gitian.sigs",
    flag: "sign -d, verify -d, status -d",
    default: "the repository around the current directory",
    doc: "the sigs repository (a path; ~/ is your home)",
};
/// Extra public keys for `verify`.
pub const KEYS: Key = Key {
    name: "gitian.keys",
    flag: "verify --keys",
    default: "none: only the ledger's own key folders",
    doc: "a key file or folder of keys verify uses besides the ledger's (may be given several times)",
};
/// Who signs.
pub const SIGNER: Key = Key {
    name: "gitian.signer",
    flag: "sign -s, status -s",
    default: "none: sign requires -s",
    doc: "your signer name: the gpg key to sign with and your folder in the ledger",
};
/// The guest backend of `build`.
pub const BACKEND: Key = Key {
    name: "gitian.backend",
    flag: "build --backend",
    default: "auto",
    doc: "kvm, lxc, sandbox, docker, podman, vbox, auto, all or a comma list",
};
/// The folder of base images.
pub const BASE_DIR: Key = Key {
    name: "gitian.baseDir",
    flag: "build/make-base --base-dir (or GITIAN_BASE_DIR)",
    default: "$XDG_CACHE_HOME/git-gitian/base, else ~/.cache/git-gitian/base",
    doc: "where make-base writes base images and build finds them",
};
/// Bold markup in gverify lines.
pub const COLOR: Key = Key {
    name: "gitian.color",
    flag: "verify -m/--no-markup",
    default: "bold gverify lines, as gverify",
    doc: "always, never or auto (bold only on a terminal); also true/false",
};
/// Whether `sign` commits.
pub const COMMIT: Key = Key {
    name: "gitian.commit",
    flag: "sign --commit/--no-commit",
    default: "true",
    doc: "false leaves committing to you, as gsign did",
};

/// Every key, in the order the man page lists them.
pub const ALL: [Key; 7] = [SIGS, KEYS, SIGNER, BACKEND, BASE_DIR, COLOR, COMMIT];

/// `$XDG_CACHE_HOME/git-gitian`, else `~/.cache/git-gitian` (`/tmp/.cache/...` without a home).
pub fn cache_root() -> PathBuf {
    let xdg = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    let cache = xdg.unwrap_or_else(|| {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from).join(".cache")
    });
    cache.join("git-gitian")
}

/// The default folder of base images.
pub fn default_base_dir() -> PathBuf {
    cache_root().join("base")
}

/// The kvm backend's file of remembered boot-probe answers.
pub fn default_kvm_probe() -> PathBuf {
    cache_root().join("kvm-probe")
}

/// What `verify` remembers between runs.
pub fn verify_cache_dir() -> PathBuf {
    cache_root().join("verify")
}

/// The bare repositories of the remotes builds fetch.
pub fn remotes_dir() -> PathBuf {
    cache_root().join("remotes")
}

/// Where `check` keeps what it prepares in a guest once per base image (the LD_PRELOAD shim,
/// the experiment locale).
pub fn check_cache_dir() -> PathBuf {
    cache_root().join("check")
}

/// The `gitian.*` values git sees from a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitConfig {
    /// Lowercased key -> every value, in git's order (the last one wins for single values).
    values: BTreeMap<String, Vec<String>>,
}

impl GitConfig {
    /// Reads every `gitian.*` key as `git config` run in `dir` sees it (the repository's own
    /// config when `dir` is in one, the user's and the system's, `git -c` and `GIT_CONFIG_*`).
    /// git missing or failing reads as nothing set.
    pub fn load(dir: &Path) -> Self {
        let inv = Invocation::new("git")
            .args(["config", "-z", "--get-regexp", r"^gitian\."])
            .cwd(dir.to_path_buf());
        match process::run(&inv) {
            Ok(out) if out.code == 0 => Self::parse(&out.stdout),
            _ => Self::default(),
        }
    }

    /// Parses `git config -z` output: `key\nvalue\0` records.
    pub fn parse(bytes: &[u8]) -> Self {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for record in bytes.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let text = String::from_utf8_lossy(record);
            let (key, value) = text.split_once('\n').unwrap_or((&text, "true"));
            values.entry(key.to_ascii_lowercase()).or_default().push(value.to_string());
        }
        Self { values }
    }

    /// The value of `key` (the last one set).
    pub fn get(&self, key: Key) -> Option<&str> {
        self.values.get(&key.name.to_ascii_lowercase())?.last().map(String::as_str)
    }

    /// Every value of a multi-valued key.
    pub fn all(&self, key: Key) -> &[String] {
        self.values.get(&key.name.to_ascii_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// A path value: `~/` is the home folder, a relative path is relative to `cwd`.
    pub fn path(&self, key: Key, cwd: &Path) -> Option<PathBuf> {
        self.get(key).map(|v| expand_path(v, cwd))
    }

    /// A boolean as git reads one (`true/yes/on/1`, `false/no/off/0`, empty is false);
    /// `Err` with the value when it is neither.
    pub fn bool(&self, key: Key) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse_bool(v).map(Some).ok_or_else(|| v.to_string()),
        }
    }
}

/// git's booleans.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

/// `~/x` under `$HOME`; a relative path joined to `cwd`.
pub fn expand_path(v: &str, cwd: &Path) -> PathBuf {
    match (v.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => cwd.join(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_git_config_z_output_last_value_wins() {
        let c = GitConfig::parse(
            b"gitian.sigs\n/a\0gitian.basedir\n/b\0gitian.sigs\n/c\0gitian.commit\0",
        );
        assert_eq!(c.get(SIGS), Some("/c"));
        assert_eq!(c.all(SIGS), ["/a", "/c"]);
        assert_eq!(c.get(BASE_DIR), Some("/b"));
        assert_eq!(c.bool(COMMIT), Ok(Some(true)));
        assert_eq!(c.get(SIGNER), None);
    }

    #[test]
    fn booleans_as_git_reads_them() {
        assert_eq!(parse_bool("Off"), Some(false));
        assert_eq!(parse_bool("YES"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }
}
