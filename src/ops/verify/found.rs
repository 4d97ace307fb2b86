//! Row logic: what was found in a signer directory, what its signed file says, the verdict on
//! its signature, and the row handed to `core::consensus`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::signed::Signed;
use crate::core::assertion::Document;
use crate::core::consensus::{self, Layout, Row};
use crate::core::manifest::Manifest;
use crate::core::policy::Policy;
use crate::core::status::RowStatus;
use crate::core::sums;
use crate::git::ledger as gitledger;
use crate::ledger::Content;
use crate::openpgp::{self, Keyring, SigStatus};
use crate::ops::memo::{self, Attestation, Memory};

/// What the signed file says, before the signature is known.
pub(super) struct Parsed {
    manifest: Option<std::sync::Arc<Manifest>>,
    manifest_id: String,
    file_error: Option<String>,
    field_error: Option<String>,
}

/// A signature file's bytes until it is verified.
pub(super) struct SigSlot(Mutex<Option<Content>>);

impl SigSlot {
    pub(super) fn new(content: Content) -> Self {
        Self(Mutex::new(Some(content)))
    }
}

impl Clone for SigSlot {
    fn clone(&self) -> Self {
        Self(Mutex::new(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()))
    }
}

/// A signed file and/or signature found in a signer directory, before verification.
#[derive(Clone)]
pub(super) struct Found {
    pub(super) layout: Layout,
    pub(super) release: String,
    pub(super) group: String,
    pub(super) signer: String,
    pub(super) file: String,
    /// Shared by the records of each signature over it.
    pub(super) data: Option<Arc<Signed>>,
    pub(super) data_path: String,
    /// The signature file, let go of once verified (a signature is verified once).
    pub(super) sig: Option<SigSlot>,
    pub(super) sig_path: Option<String>,
    pub(super) file_error: Option<String>,
}

impl Found {
    /// What makes two versions of a found file the same: where it is (a field that contradicts
    /// the folder depends on it, and two signers' identical files are two rows) and its bytes.
    pub(super) fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let place = [&self.release, &self.signer, &self.file, &self.data_path];
        for part in place.into_iter().chain(self.sig_path.as_ref()) {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update([self.sig_path.is_some() as u8]);
        // A git blob (G) by its id; else absent (N), unreadable (E), over the limit (L) or
        // these bytes (B).
        let blob = self.data.as_deref().and_then(Signed::blob_key);
        if let Some(key) = blob {
            h.update(b"G");
            h.update(key);
        }
        let held = self.data.as_deref().filter(|_| blob.is_none()).map(Signed::content);
        let mut parts = Vec::new();
        if blob.is_none() {
            parts.push(self.data.as_ref().map(|_| held.as_deref().and_then(|h| h.as_ref().ok())));
        }
        let sig = self.sig.as_ref().map(|m| m.0.lock().unwrap_or_else(|e| e.into_inner()));
        parts.push(sig.as_ref().map(|g| g.as_ref()));
        for part in parts {
            match part {
                None => h.update(b"N"),
                Some(None) => h.update(b"E"),
                Some(Some(Content::Bytes(b))) => {
                    h.update(b"B");
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
                Some(Some(Content::TooLarge(n))) => {
                    h.update(b"L");
                    h.update(n.to_le_bytes());
                }
            }
        }
        h.finalize().into()
    }

    /// The manifest and field checks of the signed file.
    pub(super) fn parse(&self, memory: Option<&Memory>, shared: &Manifests) -> Parsed {
        let mut p = Parsed {
            manifest: None,
            manifest_id: "-".to_string(),
            file_error: self.file_error.clone(),
            field_error: None,
        };
        let Some(signed) = self.data.as_deref() else { return p };
        // A remembered attestation was UTF-8 when it was read: looked up by its digest first,
        // without reading it. A guix SHA256SUMS file is remembered under a name of its own.
        let key = match (memory, signed.digest()) {
            // A file that cannot be read fails the whole run (after the workers finish).
            (_, Err(_)) => return p,
            (Some(memory), Ok(Some(digest))) => Some((memory, memo_key(self.layout, digest))),
            _ => None,
        };
        if let Some(said) = key.and_then(|(memory, k)| memory.attestation(&k)) {
            match self.layout {
                Layout::Gitian => self.take_attestation(&mut p, said, shared),
                Layout::Guix => take_sums(&mut p, said, shared),
            }
            return p;
        }
        let held = signed.content();
        let Ok(content) = held.as_ref() else { return p };
        match content {
            Content::TooLarge(n) => {
                p.file_error
                    .get_or_insert(format!("{} is {n} bytes, over the limit", self.data_path));
            }
            Content::Bytes(bytes) => match self.layout {
                Layout::Guix => {
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    let said = Attestation {
                        error: None,
                        release: None,
                        name: None,
                        manifest_id: Some(short_id(bytes)),
                        out_manifest: text,
                    };
                    if let Some((memory, k)) = key {
                        memory.record_attestation(k, said.clone());
                    }
                    take_sums(&mut p, said, shared);
                }
                Layout::Gitian => match std::str::from_utf8(bytes) {
                    Err(_) => {
                        p.file_error.get_or_insert(format!("{} is not UTF-8", self.data_path));
                    }
                    Ok(text) => {
                        let mut said = read_attestation(text);
                        if said.error.is_none() {
                            let m = Manifest::parse(&said.out_manifest);
                            said.manifest_id = Some(gitian_manifest_id(&m));
                        }
                        if let Some((memory, k)) = key {
                            memory.record_attestation(k, said.clone());
                        }
                        self.take_attestation(&mut p, said, shared);
                    }
                },
            },
        }
        p
    }

    /// What the attestation says, into `p`.
    fn take_attestation(&self, p: &mut Parsed, said: Attestation, shared: &Manifests) {
        match said.error {
            Some(e) => {
                p.file_error.get_or_insert(format!("{}: {e}", self.data_path));
                p.manifest_id = "empty".into();
            }
            None => {
                let m = shared.get(&said.out_manifest, Manifest::parse);
                p.manifest_id = said.manifest_id.unwrap_or_else(|| gitian_manifest_id(&m));
                p.manifest = Some(m);
                p.field_error = check_fields(
                    said.release.as_deref(),
                    said.name.as_deref(),
                    &self.release,
                    &self.file,
                );
            }
        }
    }

    /// The verdict on the signature, if there is one.
    pub(super) fn verify(
        &self,
        keyring: &Keyring,
        at: SystemTime,
        memory: Option<&Memory>,
    ) -> Option<openpgp::Verdict> {
        let sig = self.sig.as_ref()?.0.lock().ok().and_then(|mut s| s.take());
        let too_large = || openpgp::Verdict {
            status: SigStatus::Error("file too large".into()),
            key_fingerprint: None,
            signing_key_fingerprint: None,
            key_origin: None,
            created: None,
        };
        let s = match sig {
            Some(Content::Bytes(s)) => s,
            Some(Content::TooLarge(_)) => return Some(too_large()),
            // Verified before: its bytes were let go of (never happens: one job per version).
            None => {
                return Some(openpgp::Verdict {
                    status: SigStatus::Error("verified twice".into()),
                    ..too_large()
                });
            }
        };
        Some(match (self.data.as_deref(), memory) {
            // The data is read only if the check was not remembered.
            (Some(signed), Some(memory)) => match signed.digest() {
                Ok(Some(digest)) => {
                    let held = OnceLock::new();
                    let bytes = || super::signed::bytes(held.get_or_init(|| signed.content()));
                    openpgp::verify_detached_memo(keyring, &bytes, digest, &s, at, memory)
                }
                // Unreadable: the run fails with the reason after the workers finish.
                Ok(None) | Err(_) => too_large(),
            },
            (Some(signed), None) => match signed.content().as_ref() {
                Ok(Content::Bytes(d)) => openpgp::verify_detached(keyring, d, &s, at),
                _ => too_large(),
            },
            // No signed file: still learn who issued the signature.
            (None, _) => openpgp::verify_detached(keyring, b"", &s, at),
        })
    }

    pub(super) fn to_row(
        &self,
        ledger: &str,
        parsed: Parsed,
        verdict: Option<openpgp::Verdict>,
        policy: &Policy,
    ) -> Row {
        let Parsed { manifest, manifest_id, file_error, field_error } = parsed;
        let (status, counts, key, signing, origin) = match (&verdict, &self.data) {
            (None, _) => (RowStatus::NoSignature, false, None, None, None),
            (Some(_), None) => (RowStatus::NoData, false, None, None, None),
            (Some(v), Some(_)) => {
                let counts = v.status.is_good()
                    || (v.status.is_good_but_expired_key() && policy.expired_keys_count);
                (
                    RowStatus::Signature(v.status.clone()),
                    counts,
                    v.key_fingerprint.clone(),
                    v.signing_key_fingerprint.clone(),
                    v.key_origin.clone(),
                )
            }
        };
        // A no_data row still names the issuer of its signature.
        let key = key.or_else(|| verdict.as_ref().and_then(|v| v.key_fingerprint.clone()));
        Row {
            layout: self.layout,
            ledger: ledger.to_string(),
            release: self.release.clone(),
            group: self.group.clone(),
            file: self.file.clone(),
            signer: self.signer.clone(),
            sig_path: self.sig_path.clone(),
            status,
            counts,
            key_fingerprint: key,
            signing_key_fingerprint: signing,
            key_origin: origin,
            manifest,
            manifest_id,
            file_error,
            field_error,
            revs: Vec::new(),
            conflict: None,
        }
    }
}

/// Manifests parsed so far, by the digest of the text they were parsed from: the rows that
/// say the same (most signers of a release) share one.
#[derive(Default)]
pub(super) struct Manifests(std::sync::Mutex<std::collections::HashMap<[u8; 32], Arc<Manifest>>>);

impl Manifests {
    /// The manifest `parse` makes of `text`, parsed once.
    fn get(&self, text: &str, parse: fn(&str) -> Manifest) -> Arc<Manifest> {
        let key = memo::digest(text.as_bytes());
        if let Some(m) = self.0.lock().ok().and_then(|known| known.get(&key).cloned()) {
            return m;
        }
        let m = Arc::new(parse(text));
        match self.0.lock() {
            Ok(mut known) => known.entry(key).or_insert(m).clone(),
            Err(_) => m,
        }
    }
}

/// What is remembered of a signed file with this digest is kept under this name: the digest
/// for an attestation, a name derived from it for a guix SHA256SUMS file (read otherwise).
fn memo_key(layout: Layout, digest: &memo::Digest) -> memo::Digest {
    match layout {
        Layout::Gitian => *digest,
        Layout::Guix => {
            blake3::derive_key("git-gitian verify 2026: a guix SHA256SUMS file", digest)
        }
    }
}

/// A guix SHA256SUMS file's manifest, from what was read or remembered of it.
fn take_sums(p: &mut Parsed, said: Attestation, shared: &Manifests) {
    let m = shared.get(&said.out_manifest, sums::parse);
    p.manifest_id = match (m.is_empty(), said.manifest_id) {
        (true, _) => "empty".into(),
        (false, Some(id)) => id,
        (false, None) => short_id(said.out_manifest.as_bytes()),
    };
    p.manifest = Some(m);
}

/// An attestation's manifest id: of its manifest as text, one `hash  path` line per entry.
fn gitian_manifest_id(m: &Manifest) -> String {
    match m.is_empty() {
        true => "empty".into(),
        false => short_id(consensus::normalised(m).as_bytes()),
    }
}

fn short_id(bytes: &[u8]) -> String {
    gitledger::blob_id(bytes).chars().take(12).collect()
}

/// What an attestation's YAML says, or why it does not parse.
fn read_attestation(text: &str) -> Attestation {
    match Document::parse(text) {
        Err(e) => Attestation {
            error: Some(e.to_string()),
            release: None,
            name: None,
            out_manifest: String::new(),
            manifest_id: None,
        },
        Ok(doc) => Attestation {
            error: None,
            release: doc.str("release").map(str::to_string),
            name: doc.str("name").map(str::to_string),
            out_manifest: doc.str("out_manifest").unwrap_or("").to_string(),
            manifest_id: None,
        },
    }
}

/// gverify compares `release` and `name` too: an attestation whose fields contradict the
/// directory it sits in (a copy from another release or descriptor) is refused.
fn check_fields(
    said_release: Option<&str>,
    said_name: Option<&str>,
    release: &str,
    file: &str,
) -> Option<String> {
    if let Some(r) = said_release
        && r != release
    {
        return Some(format!("its release field is '{r}', not '{release}'"));
    }
    if let (Some(n), Some(stem)) = (said_name, file.strip_suffix("-build.assert"))
        && n != stem
    {
        return Some(format!("its name field is '{n}', not '{stem}'"));
    }
    None
}
