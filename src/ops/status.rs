//! `status`: what a builder wants to know at a glance, from a work dir and a sigs repository.
//! Every question is answered from files on this machine (no network); the one that can be
//! slow is which backend `auto` would pick, whose KVM boot probe runs once per host boot.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::core::assertion::Document;
use crate::git::repo::Repo;
use crate::guest::select;
use crate::openpgp::Keyring;
use crate::ops::{base, hooks, verify};

/// What `status` looks at.
#[derive(Debug, Clone)]
pub struct StatusInput {
    /// The work dir (result/ is read from it).
    pub workdir: PathBuf,
    /// The sigs repository, if one was found.
    pub sigs: Option<PathBuf>,
    /// The signer, if known.
    pub signer: Option<String>,
    /// The folder of base images.
    pub base_dir: PathBuf,
    /// `$HOME`, for `core.hooksPath` with `~`.
    pub home: Option<PathBuf>,
}

/// One base image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// `debian-bookworm-amd64`.
    pub name: String,
    /// How long ago it was made.
    pub age: Option<Duration>,
}

/// The user's key as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// No signer given.
    NoSigner,
    /// No usable secret key (missing, expired or revoked) in the user's GnuPG.
    NoUsableKey(String),
    /// The key is usable; `in_ledger` holds the key file that has it, if any.
    Usable {
        /// Primary fingerprint.
        fingerprint: String,
        /// The ledger's key file holding it.
        in_ledger: Option<String>,
    },
}

/// Everything `status` reports.
#[derive(Debug, Clone)]
pub struct Status {
    /// Base images present.
    pub base_images: Vec<BaseImage>,
    /// The backends `auto` picks and why (or why none).
    pub auto: Result<select::Choice, String>,
    /// `result/<name>-res.yml` files whose outputs no attestation of the signer holds.
    pub unsigned_results: Vec<String>,
    /// Releases of the ledger without an attestation by the signer.
    pub releases_not_signed: Vec<String>,
    /// Releases in the ledger.
    pub releases: usize,
    /// The signer's key.
    pub key: KeyState,
    /// Hook name -> installed.
    pub hooks: Vec<(String, bool)>,
}

/// Answers every question.
pub fn status(input: &StatusInput) -> Status {
    let base_images = base_images(&input.base_dir);
    let kvm_base = base_images.first().map(|b| {
        let arch = b.name.rsplit('-').next().unwrap_or("amd64").to_string();
        (input.base_dir.join(&b.name), arch)
    });
    let probe = select::HostProbe { kvm_base, probe_cache: base::default_kvm_probe() };
    let env = select::from_gitian_env(|k| std::env::var(k).ok());
    let auto = select::resolve(&select::Selection::Auto, env, &probe);
    let releases = input.sigs.as_deref().map(ledger_releases).unwrap_or_default();
    let signer = input.signer.as_deref();
    let releases_not_signed = match signer {
        Some(s) => releases
            .iter()
            .filter(|(_, signers)| !signers.iter().any(|x| x == s))
            .map(|(r, _)| r.clone())
            .collect(),
        None => Vec::new(),
    };
    let unsigned_results = match (signer, input.sigs.as_deref()) {
        (Some(s), Some(sigs)) => unsigned_results(&input.workdir, sigs, s, &releases),
        _ => Vec::new(),
    };
    let key = match signer {
        None => KeyState::NoSigner,
        Some(s) => key_state(s, input.sigs.as_deref()),
    };
    let hooks =
        input.sigs.as_deref().map(|d| hooks_state(d, input.home.as_deref())).unwrap_or_default();
    Status {
        base_images,
        auto,
        unsigned_results,
        releases_not_signed,
        releases: releases.len(),
        key,
        hooks,
    }
}

/// Complete base images under `dir`, newest first.
fn base_images(dir: &Path) -> Vec<BaseImage> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(SystemTime, BaseImage)> = entries
        .flatten()
        .filter(|e| base::is_complete(&e.path()))
        .map(|e| {
            let made = e.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
            let age = SystemTime::now().duration_since(made).ok();
            (made, BaseImage { name: e.file_name().to_string_lossy().into_owned(), age })
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    out.into_iter().map(|(_, b)| b).collect()
}

/// Release folders of a ledger work tree and the signer folders in each, sorted (also what
/// shell completion offers for `-r` and `-s`).
pub fn ledger_releases(sigs: &Path) -> Vec<(String, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir(sigs) else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || verify::KEY_DIRS.contains(&name.as_str()) || !e.path().is_dir()
        {
            continue;
        }
        let Ok(inner) = std::fs::read_dir(e.path()) else { continue };
        let signers: Vec<String> = inner
            .flatten()
            .filter(|s| s.path().is_dir() && holds_attestation(&s.path()))
            .map(|s| s.file_name().to_string_lossy().into_owned())
            .collect();
        if !signers.is_empty() {
            out.push((name, signers));
        }
    }
    out.sort();
    out
}

fn holds_attestation(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|files| {
        files.flatten().any(|f| {
            let n = f.file_name().to_string_lossy().into_owned();
            n.ends_with(".assert") || n.ends_with(".SHA256SUMS")
        })
    })
}

/// Results in `workdir/result/` whose `out_manifest` no attestation of `signer` holds.
fn unsigned_results(
    workdir: &Path,
    sigs: &Path,
    signer: &str,
    releases: &[(String, Vec<String>)],
) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(workdir.join("result")) else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix("-res.yml") else { continue };
        let Some(outputs) = out_manifest(&e.path()) else { continue };
        let assert = crate::core::layout::assert_file(name);
        let signed =
            releases.iter().filter(|(_, s)| s.iter().any(|x| x == signer)).any(|(r, _)| {
                out_manifest(&sigs.join(r).join(signer).join(&assert)).as_deref()
                    == Some(outputs.as_str())
            });
        if !signed {
            out.push(file);
        }
    }
    out.sort();
    out
}

fn out_manifest(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Document::parse(&text).ok()?.str("out_manifest").map(str::to_string)
}

/// The signer's usable secret key and the ledger key file that holds it.
fn key_state(signer: &str, sigs: Option<&Path>) -> KeyState {
    let fingerprint = match crate::gpg::GpgSigner::new(signer) {
        Ok(k) => k.fingerprint(),
        Err(e) => return KeyState::NoUsableKey(e.to_string()),
    };
    let mut keyring = Keyring::new();
    for dir in verify::KEY_DIRS {
        let Some(Ok(files)) = sigs.map(|s| std::fs::read_dir(s.join(dir))) else { continue };
        for f in files.flatten() {
            let origin = format!("{dir}/{}", f.file_name().to_string_lossy());
            if let Ok(bytes) = std::fs::read(f.path()) {
                let _ = keyring.add_file(&origin, &bytes);
            }
        }
    }
    let in_ledger = keyring.origin_of(&fingerprint).map(str::to_string);
    KeyState::Usable { fingerprint, in_ledger }
}

/// Whether each of our hooks has its block installed.
fn hooks_state(sigs: &Path, home: Option<&Path>) -> Vec<(String, bool)> {
    let Some(repo) = Repo::discover(sigs) else { return Vec::new() };
    let dir = repo.hooks_dir(home);
    hooks::HOOKS
        .iter()
        .map(|(name, _)| {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            // git ignores a hook that is not executable.
            let executable =
                std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
            (name.to_string(), executable && text.contains(crate::core::hook_script::BEGIN))
        })
        .collect()
}
