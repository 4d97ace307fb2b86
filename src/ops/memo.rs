//! What `verify` remembers between runs, so that a second run over a ledger does not redo the
//! work whose answer cannot have changed. Everything is keyed by a [`digest`] of the bytes it
//! depends on (BLAKE3, as collision resistant as SHA-256 and about three times faster here), so
//! a changed file, signature or key is simply not found:
//!
//! - checks of detached signatures that held: the name of a check is the SHA-256 of the data's
//!   digest, the whole signature packet and the whole key packet
//!   ([`crate::openpgp::verify_detached_memo`]); only the reading and hashing of the data and
//!   the public-key operation are skipped, the key's validity, expiry and revocation are judged
//!   anew on every run;
//! - what each key file holds (which certificates and keys), by the digest of the file, so
//!   that a key file is only parsed when a signature needs one of its certificates;
//! - what an attestation's YAML says (its `out_manifest`, `release` and `name`, or why it does
//!   not parse), by the digest of the attestation;
//! - next to it, sequoia's cache of public-key operations that held (self-signatures of keys),
//!   [`crate::openpgp::cache`].
//!
//! It lives in `$XDG_CACHE_HOME/git-gitian/verify/` and is the user's own state, like
//! `~/.gnupg`: whoever can write it can make a forged signature pass, as whoever can write
//! `~/.gnupg` can. So it is used only when [`check_private`] finds that nobody else can
//! (otherwise verify says why and runs without it). `git gitian verify --no-cache` neither
//! reads nor writes it.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::core::manifest::hex;
use crate::openpgp::{self, FileIndex, Memo};
use crate::ops::publish;

const FILE: &str = "memo.json";
/// Sequoia's cache of public-key operations that held.
const SIGNATURES: &str = "signatures";
const SCHEMA: &str = "git-gitian/verify-memo/v2";
/// Entries kept at most per kind; past that, only the ones this run used or added.
const MAX_ENTRIES: usize = 50_000;

/// The digest that names content in the memory.
pub type Digest = [u8; 32];

/// The [`Digest`] of `bytes`.
pub fn digest(bytes: &[u8]) -> Digest {
    blake3::hash(bytes).into()
}

/// A [`Digest`] of bytes that come in pieces.
#[derive(Default)]
pub struct Hasher(blake3::Hasher);

impl Hasher {
    /// Adds the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of all the pieces.
    pub fn finish(&self) -> Digest {
        self.0.finalize().into()
    }
}

/// What an attestation's YAML says, as far as verification needs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attestation {
    /// Why it does not parse, if it does not.
    pub error: Option<String>,
    /// The `release` field.
    pub release: Option<String>,
    /// The `name` field.
    pub name: Option<String>,
    /// The `out_manifest` text (of a guix SHA256SUMS file, the whole text).
    pub out_manifest: String,
    /// The manifest's short id as verify shows it (computed once, then remembered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    schema: String,
    checks: Vec<String>,
    attestations: HashMap<String, Attestation>,
    /// Key files: per certificate, its primary fingerprint and all its keys' (hex).
    #[serde(default)]
    key_files: HashMap<String, Vec<(String, Vec<String>)>>,
    /// Verdicts of GnuPG on signatures the in-process library cannot check.
    #[serde(default)]
    fallbacks: HashMap<String, FallbackVerdict>,
}

/// [`OnDisk`] as written: borrowing what the memory holds.
#[derive(Serialize)]
struct OnDiskRef<'a> {
    schema: &'a str,
    checks: Vec<String>,
    attestations: HashMap<String, &'a Attestation>,
    key_files: HashMap<String, Vec<(String, Vec<String>)>>,
    fallbacks: HashMap<String, &'a FallbackVerdict>,
}

/// A verdict of the other verifier ([`openpgp::Fallback`]), as remembered: only the statuses
/// of a completed check (good, expired or revoked key, expired signature, bad).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct FallbackVerdict {
    status: String,
    key: Option<String>,
    signing_key: Option<String>,
    /// Signature creation time, seconds since the epoch.
    created: Option<u64>,
}

impl FallbackVerdict {
    fn from_verdict(v: &openpgp::Verdict) -> Option<Self> {
        use openpgp::SigStatus::*;
        matches!(v.status, Good | ExpiredKey | RevokedKey | ExpiredSig | Bad).then(|| Self {
            status: v.status.as_str(),
            key: v.key_fingerprint.clone(),
            signing_key: v.signing_key_fingerprint.clone(),
            created: v
                .created
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
        })
    }

    fn to_verdict(&self) -> Option<openpgp::Verdict> {
        use openpgp::SigStatus::*;
        let status = match self.status.as_str() {
            "good" => Good,
            "expired_key" => ExpiredKey,
            "revoked_key" => RevokedKey,
            "expired_sig" => ExpiredSig,
            "bad" => Bad,
            _ => return None,
        };
        Some(openpgp::Verdict {
            status,
            key_fingerprint: self.key.clone(),
            signing_key_fingerprint: self.signing_key.clone(),
            key_origin: None,
            created: self
                .created
                .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)),
        })
    }
}

/// The remembered answers, readable from every thread; new ones are collected for [`save`].
#[derive(Default)]
pub struct Memory {
    checks: HashSet<[u8; 32]>,
    attestations: HashMap<[u8; 32], Attestation>,
    key_files: HashMap<[u8; 32], FileIndex>,
    fallbacks: HashMap<[u8; 32], FallbackVerdict>,
    new_fallbacks: Mutex<Vec<([u8; 32], FallbackVerdict)>>,
    new_key_files: Mutex<Vec<([u8; 32], FileIndex)>>,
    new_checks: Mutex<Vec<[u8; 32]>>,
    new_attestations: Mutex<Vec<([u8; 32], Attestation)>>,
    used: Mutex<HashSet<[u8; 32]>>,
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Memory {
    /// Reads what `dir` remembers; a missing or unreadable file remembers nothing.
    pub fn load(dir: &Path) -> Self {
        let mut m = Self::default();
        let Ok(bytes) = std::fs::read(dir.join(FILE)) else { return m };
        let Ok(disk) = serde_json::from_slice::<OnDisk>(&bytes) else { return m };
        if disk.schema != SCHEMA {
            return m;
        }
        m.checks = disk.checks.iter().filter_map(|s| unhex(s)).collect();
        m.attestations =
            disk.attestations.into_iter().filter_map(|(k, v)| Some((unhex(&k)?, v))).collect();
        m.key_files = disk
            .key_files
            .into_iter()
            .filter_map(|(k, certs)| {
                let certs = certs
                    .into_iter()
                    .map(|(primary, keys)| {
                        Some((
                            primary.parse().ok()?,
                            keys.iter().map(|k| k.parse().ok()).collect::<Option<Vec<_>>>()?,
                        ))
                    })
                    .collect::<Option<FileIndex>>()?;
                Some((unhex(&k)?, certs))
            })
            .collect();
        m.fallbacks =
            disk.fallbacks.into_iter().filter_map(|(k, v)| Some((unhex(&k)?, v))).collect();
        m
    }

    /// Notes that this run used the entry `key` (kept first when the file is pruned).
    fn mark_used(&self, key: &[u8; 32]) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(*key);
        }
    }

    /// What the key file with this digest holds, if known.
    pub fn key_file(&self, digest: &Digest) -> Option<&FileIndex> {
        self.key_files.get(digest).inspect(|_| self.mark_used(digest))
    }

    /// Remembers what the key file with this digest holds.
    pub fn record_key_file(&self, digest: Digest, index: FileIndex) {
        if let Ok(mut new) = self.new_key_files.lock() {
            new.push((digest, index));
        }
    }

    /// What the attestation with this digest says, if known.
    pub fn attestation(&self, digest: &Digest) -> Option<Attestation> {
        self.attestations.get(digest).inspect(|_| self.mark_used(digest)).cloned()
    }

    /// Remembers what the attestation with this digest says.
    pub fn record_attestation(&self, digest: Digest, a: Attestation) {
        if let Ok(mut new) = self.new_attestations.lock() {
            new.push((digest, a));
        }
    }

    /// Writes the file when this run learnt something (atomically: a temporary file renamed
    /// over the old one).
    pub fn save(self, dir: &Path) -> std::io::Result<()> {
        let new_checks = self.new_checks.into_inner().unwrap_or_default();
        let new_attestations = self.new_attestations.into_inner().unwrap_or_default();
        let new_key_files = self.new_key_files.into_inner().unwrap_or_default();
        let new_fallbacks = self.new_fallbacks.into_inner().unwrap_or_default();
        if new_checks.is_empty()
            && new_attestations.is_empty()
            && new_key_files.is_empty()
            && new_fallbacks.is_empty()
        {
            return Ok(());
        }
        let used = self.used.into_inner().unwrap_or_default();
        let mut checks = self.checks;
        let mut attestations = self.attestations;
        if checks.len() + new_checks.len() > MAX_ENTRIES {
            checks.retain(|k| used.contains(k));
        }
        if attestations.len() + new_attestations.len() > MAX_ENTRIES {
            attestations.retain(|k, _| used.contains(k));
        }
        let mut key_files = self.key_files;
        if key_files.len() + new_key_files.len() > MAX_ENTRIES {
            key_files.retain(|k, _| used.contains(k));
        }
        let mut fallbacks = self.fallbacks;
        if fallbacks.len() + new_fallbacks.len() > MAX_ENTRIES {
            fallbacks.retain(|k, _| used.contains(k));
        }
        fallbacks.extend(new_fallbacks);
        checks.extend(new_checks);
        attestations.extend(new_attestations);
        key_files.extend(new_key_files);
        let mut list: Vec<String> = checks.iter().map(|k| hex(k)).collect();
        list.sort();
        let disk = OnDiskRef {
            schema: SCHEMA,
            checks: list,
            attestations: attestations.iter().map(|(k, v)| (hex(k), v)).collect(),
            key_files: key_files
                .iter()
                .map(|(k, certs)| {
                    let certs = certs
                        .iter()
                        .map(|(p, keys)| (p.to_hex(), keys.iter().map(|k| k.to_hex()).collect()))
                        .collect();
                    (hex(k), certs)
                })
                .collect(),
            fallbacks: fallbacks.iter().map(|(k, v)| (hex(k), v)).collect(),
        };
        // Streamed: the attestations' manifests are most of it (17 MB for both public ledgers).
        publish::write_file_with(&dir.join(FILE), |w| {
            serde_json::to_writer(w, &disk).map_err(std::io::Error::other)
        })
    }
}

/// Whether the memory folder `dir` is the user's alone: the folder and its files owned by the
/// user and writable by nobody else, each folder above it owned by the user or root and
/// writable by others only when sticky (as `/tmp`). A folder that does not exist yet is judged
/// by the ones above it. The error says why not, naming the path.
pub fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    let absolute = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The part that exists, with symlinks resolved; the rest will be made by this user.
    let mut existing = absolute.as_path();
    let mut own = true;
    while !existing.exists() {
        own = false;
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    let real = existing.canonicalize().map_err(|e| format!("{}: {e}", existing.display()))?;
    let mut first = own;
    for p in real.ancestors() {
        let m = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let writable_by_others = m.mode() & 0o022 != 0;
        if first {
            if m.uid() != me {
                return Err(format!("{} is owned by uid {}, not by you", p.display(), m.uid()));
            }
            if writable_by_others {
                return Err(format!("{} is writable by others", p.display()));
            }
        } else if m.uid() != me && m.uid() != 0 {
            return Err(format!("{} is owned by uid {}, not by you or root", p.display(), m.uid()));
        } else if writable_by_others && m.mode() & 0o1000 == 0 {
            return Err(format!("{} is writable by others", p.display()));
        }
        first = false;
    }
    for name in [FILE, SIGNATURES] {
        let p = absolute.join(name);
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        if !m.file_type().is_file() {
            return Err(format!("{} is not a regular file", p.display()));
        }
        if m.uid() != me {
            return Err(format!("{} is owned by uid {}, not by you", p.display(), m.uid()));
        }
        if m.mode() & 0o022 != 0 {
            return Err(format!("{} is writable by others", p.display()));
        }
    }
    Ok(())
}

/// Starts loading sequoia's verification cache from `dir` (see [`crate::openpgp::cache`]).
pub fn load_signatures(dir: &Path) -> openpgp::cache::Loading {
    openpgp::cache::load(&std::fs::read(dir.join(SIGNATURES)).unwrap_or_default())
}

/// Writes sequoia's verification cache to `dir` when this run added entries.
pub fn save_signatures(dir: &Path) -> std::io::Result<()> {
    match openpgp::cache::dump() {
        Some(bytes) => publish::write_file(&dir.join(SIGNATURES), &bytes),
        None => Ok(()),
    }
}

impl Memo for Memory {
    fn held(&self, key: &[u8; 32]) -> bool {
        let held = self.checks.contains(key);
        if held {
            self.mark_used(key);
        }
        held
    }

    fn record(&self, key: [u8; 32]) {
        if let Ok(mut new) = self.new_checks.lock() {
            new.push(key);
        }
    }

    fn fallback_verdict(&self, key: &[u8; 32]) -> Option<openpgp::Verdict> {
        let verdict = self.fallbacks.get(key)?.to_verdict()?;
        self.mark_used(key);
        Some(verdict)
    }

    fn record_fallback_verdict(&self, key: [u8; 32], verdict: &openpgp::Verdict) {
        if let (Some(v), Ok(mut new)) =
            (FallbackVerdict::from_verdict(verdict), self.new_fallbacks.lock())
        {
            new.push((key, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_not_made_yet_is_judged_by_the_folders_above_it() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        let set = |m| std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(m));
        let dir = shared.join("git-gitian/verify");
        set(0o777).unwrap();
        let e = check_private(&dir).unwrap_err();
        assert!(e.contains("shared is writable by others"), "{e}");
        // Sticky, as /tmp: others cannot replace what this user makes in it.
        set(0o1777).unwrap();
        assert_eq!(check_private(&dir), Ok(()));
        set(0o700).unwrap();
        assert_eq!(check_private(&dir), Ok(()));
        // A symlink to a folder others can write is that folder.
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        assert!(check_private(&link).unwrap_err().contains("writable by others"));
    }

    #[test]
    fn remembers_across_save_and_load_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = Memory::load(dir.path());
        assert!(!m.held(&[1; 32]));
        m.record([1; 32]);
        let a = Attestation {
            error: None,
            release: Some("1.0".into()),
            name: Some("hello".into()),
            out_manifest: "abc  x\n".into(),
            manifest_id: Some("0123456789ab".into()),
        };
        m.record_attestation([2; 32], a.clone());
        m.save(dir.path()).unwrap();
        let m = Memory::load(dir.path());
        assert!(m.held(&[1; 32]));
        assert!(!m.held(&[2; 32]));
        assert_eq!(m.attestation(&[2; 32]), Some(a));
        assert_eq!(m.attestation(&[1; 32]), None);
        // Another schema or garbage remembers nothing.
        std::fs::write(dir.path().join(FILE), b"{\"schema\":\"other\"}").unwrap();
        assert!(!Memory::load(dir.path()).held(&[1; 32]));
        std::fs::write(dir.path().join(FILE), b"garbage").unwrap();
        assert!(!Memory::load(dir.path()).held(&[1; 32]));
    }
}
