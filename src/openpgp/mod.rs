//! In-process verification of detached OpenPGP signatures against the ledger's keys (sequoia).
//!
//! The verdicts are GnuPG 2.2's, as `gpg --verify` gives them with a keyring holding every key
//! file (see `../shared/corpus/README.md`): subkey signatures map to their primary key, key
//! expiry and revocation are judged at a given time (not at signing time), SHA-1 and DSA are
//! accepted ([`policy::GpgPolicy`]), and several versions of a certificate merge as gpg's import
//! does. Nothing here reads a user's keyring, starts a process or touches the network;
//! `crate::gpg::verify` is the gpgme cross-check.

mod message;
pub mod policy;

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::packet::{Key, Signature, key};
use openpgp::parse::Parse;
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, Fingerprint, KeyHandle, KeyID};

use message::SigFile;
use policy::GpgPolicy;

/// Certificates from key files, merged by primary fingerprint, indexed by every (sub)key id.
#[derive(Default)]
pub struct Keyring {
    entries: Vec<Entry>,
    by_primary: HashMap<Fingerprint, usize>,
    by_keyid: HashMap<KeyID, Vec<usize>>,
}

struct Entry {
    cert: Cert,
    /// The first key file that held this certificate.
    origin: String,
}

/// A key file that held no usable certificate.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct KeyError {
    /// How the file is named in reports (`add_file`'s `origin`).
    pub origin: String,
    /// What was wrong, in lowercase.
    pub reason: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("certificates", &self.entries.len()).finish()
    }
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every certificate in an armored or binary key file (several certs per file, several
    /// files with versions of the same cert merge as gpg's import does). `origin` is how reports
    /// name the file (e.g. "builder-keys/laanwj.gpg"). Returns how many certificates it held.
    ///
    /// Secret key material is dropped. Certificates sequoia cannot read are skipped as gpg's
    /// import skips them; a file with no readable certificate at all is an error.
    pub fn add_file(&mut self, origin: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        let mut held = 0;
        let mut first_error = None;
        for block in key_blocks(bytes) {
            let parser = match openpgp::cert::CertParser::from_bytes(block) {
                Ok(parser) => parser,
                Err(e) => {
                    first_error.get_or_insert_with(|| e.to_string());
                    continue;
                }
            };
            for cert in parser {
                match cert {
                    Ok(cert) => {
                        self.insert(origin, cert.strip_secret_key_material());
                        held += 1;
                    }
                    Err(e) => {
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        }
        if held == 0 {
            let reason = match first_error {
                Some(e) => format!("no readable OpenPGP certificate: {}", lowercase_first(&e)),
                None => "no OpenPGP certificate".to_string(),
            };
            return Err(KeyError { origin: origin.to_string(), reason });
        }
        Ok(held)
    }

    /// Number of distinct certificates (by primary fingerprint).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Primary fingerprints (40 uppercase hex) of every certificate, in the order first added.
    pub fn fingerprints(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(|e| e.cert.fingerprint().to_hex())
    }

    /// The origin of the certificate whose primary fingerprint is `fingerprint` (uppercase hex).
    pub fn origin_of(&self, fingerprint: &str) -> Option<&str> {
        let fpr: Fingerprint = fingerprint.parse().ok()?;
        self.by_primary.get(&fpr).map(|&i| self.entries[i].origin.as_str())
    }

    fn insert(&mut self, origin: &str, cert: Cert) {
        let fpr = cert.fingerprint();
        let index = match self.by_primary.get(&fpr) {
            Some(&i) => {
                let old = self.entries[i].cert.clone();
                // Only fails when the fingerprints differ, which the lookup rules out.
                if let Ok(merged) = old.merge_public(cert) {
                    self.entries[i].cert = merged;
                }
                i
            }
            None => {
                self.entries.push(Entry { cert, origin: origin.to_string() });
                self.by_primary.insert(fpr, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        for key in self.entries[index].cert.keys() {
            let ids = self.by_keyid.entry(key.key().keyid()).or_default();
            if !ids.contains(&index) {
                ids.push(index);
            }
        }
    }

    /// Every (certificate, key) whose key matches one of the signature's issuers, fingerprints
    /// first, without duplicates.
    fn candidates(&self, issuers: &[KeyHandle]) -> Vec<(usize, Fingerprint)> {
        let mut found: Vec<(usize, Fingerprint)> = Vec::new();
        for issuer in issuers {
            let Some(entries) = self.by_keyid.get(&KeyID::from(issuer)) else { continue };
            for &i in entries {
                for key in self.entries[i].cert.keys() {
                    let fpr = key.key().fingerprint();
                    if issuer.aliases(KeyHandle::from(&fpr))
                        && !found.iter().any(|(j, f)| *j == i && *f == fpr)
                    {
                        found.push((i, fpr));
                    }
                }
            }
        }
        found
    }
}

/// The status of one signature file, in the vocabulary of `../shared/corpus/README.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigStatus {
    /// The maths hold and the key is valid, unexpired and unrevoked at the verdict time.
    Good,
    /// Good maths, but the signing key or subkey (or its primary) had expired.
    ExpiredKey,
    /// Good maths, but the signing key or subkey (or its primary) is revoked.
    RevokedKey,
    /// Good maths, but the signature itself had expired.
    ExpiredSig,
    /// The signature does not match the data.
    Bad,
    /// The issuer is not among the keys.
    NoPubkey,
    /// Could not check; the reason.
    Error(String),
    /// No OpenPGP signature in the file.
    NoSig,
    /// The file is a complete signed message, not a detached signature; the message's own status.
    Inline(Box<SigStatus>),
}

impl SigStatus {
    /// The corpus vocabulary: good, expired_key, revoked_key, expired_sig, bad, no_pubkey,
    /// error_rc2 (Error), error_nosig (NoSig), inline:<inner> (Inline).
    pub fn as_str(&self) -> String {
        match self {
            Self::Good => "good".into(),
            Self::ExpiredKey => "expired_key".into(),
            Self::RevokedKey => "revoked_key".into(),
            Self::ExpiredSig => "expired_sig".into(),
            Self::Bad => "bad".into(),
            Self::NoPubkey => "no_pubkey".into(),
            Self::Error(_) => "error_rc2".into(),
            Self::NoSig => "error_nosig".into(),
            Self::Inline(inner) => format!("inline:{}", inner.as_str()),
        }
    }

    /// Only a good detached signature is good: an inline message's data is not the file next to
    /// it, whatever its own status.
    pub fn is_good(&self) -> bool {
        *self == Self::Good
    }
}

impl fmt::Display for SigStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// The verdict on one signature file.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub status: SigStatus,
    /// Primary key fingerprint (40 uppercase hex); for NoPubkey the issuer fingerprint, or the
    /// 16-hex key id when that is all the signature carries; None when there is no signature.
    pub key_fingerprint: Option<String>,
    /// The (sub)key that actually signed (uppercase hex), where known.
    pub signing_key_fingerprint: Option<String>,
    /// `origin` of the key file the signing certificate came from (first file that held it).
    pub key_origin: Option<String>,
    /// Signature creation time.
    pub created: Option<SystemTime>,
}

impl Verdict {
    fn bare(status: SigStatus) -> Self {
        Self {
            status,
            key_fingerprint: None,
            signing_key_fingerprint: None,
            key_origin: None,
            created: None,
        }
    }
}

/// Verifies a detached signature (armored or binary) over `data`, judging expiry/revocation at `at`.
///
/// A file with several signatures gets the verdict of the first, as the first status line of
/// `gpg --verify` gives it; [`verify_detached_all`] returns them all.
pub fn verify_detached(
    keyring: &Keyring,
    data: &[u8],
    signature: &[u8],
    at: SystemTime,
) -> Verdict {
    let mut all = verify_detached_all(keyring, data, signature, at);
    // Never empty: a file without signatures yields one NoSig verdict.
    all.swap_remove(0)
}

/// Like [`verify_detached`], one verdict per signature in the file (at most 64), in file order.
pub fn verify_detached_all(
    keyring: &Keyring,
    data: &[u8],
    signature: &[u8],
    at: SystemTime,
) -> Vec<Verdict> {
    match message::parse(signature) {
        SigFile::Error(reason) => vec![Verdict::bare(SigStatus::Error(reason))],
        SigFile::NoSig => vec![Verdict::bare(SigStatus::NoSig)],
        SigFile::Detached(sigs) => {
            sigs.iter().map(|sig| check(keyring, sig, Payload::Detached(data), at)).collect()
        }
        SigFile::Inline { sigs, body } => sigs
            .iter()
            .map(|sig| {
                let mut verdict = check(keyring, sig, Payload::Inline(&body), at);
                verdict.status = SigStatus::Inline(Box::new(verdict.status));
                verdict
            })
            .collect(),
    }
}

/// What a signature is checked against.
#[derive(Clone, Copy)]
enum Payload<'a> {
    /// Data from another file.
    Detached(&'a [u8]),
    /// The literal body of the signed message the signature came with.
    Inline(&'a [u8]),
}

/// Checks one signature in GnuPG's order: find the key, refuse what gpg refuses before looking
/// at the maths (weak digest, time conflicts, invalid key), then the maths, then expiry and
/// revocation. A key id shared by several certificates is tried against each.
fn check(keyring: &Keyring, sig: &Signature, payload: Payload<'_>, at: SystemTime) -> Verdict {
    let created = sig.signature_creation_time();
    if !matches!(sig.typ(), SignatureType::Binary | SignatureType::Text) {
        let mut v = Verdict::bare(SigStatus::Error(format!(
            "a {} signature is not a signature over data",
            sig.typ()
        )));
        v.created = created;
        return v;
    }
    let issuers = sig.get_issuers();
    let candidates = keyring.candidates(&issuers);
    if candidates.is_empty() {
        // gpg names the issuer by fingerprint when the signature carries one, else by key id
        // (all zeros when the signature names no issuer at all).
        let name = issuers
            .iter()
            .find(|h| matches!(h, KeyHandle::Fingerprint(_)))
            .or_else(|| issuers.first())
            .map(KeyHandle::to_hex)
            .unwrap_or_else(|| "0000000000000000".to_string());
        return Verdict {
            status: SigStatus::NoPubkey,
            key_fingerprint: Some(name),
            signing_key_fingerprint: None,
            key_origin: None,
            created,
        };
    }
    let mut first = None;
    for (index, fpr) in candidates {
        let entry = &keyring.entries[index];
        let verdict = Verdict {
            status: status_with(&entry.cert, &fpr, sig, payload, at),
            key_fingerprint: Some(entry.cert.fingerprint().to_hex()),
            signing_key_fingerprint: Some(fpr.to_hex()),
            key_origin: Some(entry.origin.clone()),
            created,
        };
        if !matches!(verdict.status, SigStatus::Bad | SigStatus::Error(_)) {
            return verdict;
        }
        first.get_or_insert(verdict);
    }
    first.expect("at least one candidate")
}

/// The status of `sig` if it was made by the key `fpr` of `cert`.
fn status_with(
    cert: &Cert,
    fpr: &Fingerprint,
    sig: &Signature,
    payload: Payload<'_>,
    at: SystemTime,
) -> SigStatus {
    let policy = GpgPolicy;
    if GpgPolicy::is_weak_digest(sig.hash_algo()) {
        return SigStatus::Error(format!("{} signatures are rejected", sig.hash_algo()));
    }
    let Some(ka) = cert.keys().key_handle(fpr.clone()).next() else {
        return SigStatus::Error("signing key vanished from its certificate".into());
    };
    let key = ka.key();
    if let Some(created) = sig.signature_creation_time()
        && key.creation_time() > created
    {
        return SigStatus::Error(format!("key {fpr} is newer than the signature"));
    }
    if key.creation_time() > at {
        return SigStatus::Error(format!("key {fpr} was created after the verdict time"));
    }
    let vc = match cert.with_policy(&policy, at) {
        Ok(vc) => vc,
        Err(e) => {
            return SigStatus::Error(format!(
                "certificate {} is not valid: {e}",
                cert.fingerprint()
            ));
        }
    };
    let Some(vka) = vc.keys().key_handle(fpr.clone()).next() else {
        return SigStatus::Error(format!("key {fpr} has no valid binding to its certificate"));
    };
    if !maths_hold(sig, key, payload) {
        return SigStatus::Bad;
    }
    if sig.signature_expiration_time().is_some_and(|t| t <= at) {
        SigStatus::ExpiredSig
    } else if vka.alive().is_err() {
        // A subkey's `alive` also checks the primary key.
        SigStatus::ExpiredKey
    } else if is_revoked(vc.revocation_status()) || is_revoked(vka.revocation_status()) {
        SigStatus::RevokedKey
    } else {
        SigStatus::Good
    }
}

fn is_revoked(status: RevocationStatus<'_>) -> bool {
    matches!(status, RevocationStatus::Revoked(_))
}

/// Whether `sig` is `key`'s signature over the payload (cryptography only).
fn maths_hold(
    sig: &Signature,
    key: &Key<key::PublicParts, key::UnspecifiedRole>,
    payload: Payload<'_>,
) -> bool {
    let data = match payload {
        Payload::Inline(body) if sig.computed_digest().is_some() => {
            // The parser hashed the literal data (one-pass or cleartext framing) as it read it.
            let _ = body;
            return sig.verify_signature(key).is_ok();
        }
        Payload::Inline(data) | Payload::Detached(data) => data,
    };
    if sig.typ() == SignatureType::Text {
        // gpg hashes text signatures canonicalised to CRLF line ends, and also tries the
        // PGP 2 canonicalisation (lone CR becomes CRLF too); either one verifying is good.
        [text_canonical(data), text_canonical_pgp2(data)]
            .iter()
            .any(|text| sig.verify_message(key, text).is_ok())
    } else {
        sig.verify_message(key, data).is_ok()
    }
}

/// Text canonicalisation as gpg's text filter does it: every line loses its trailing CR and LF
/// characters, and a line that ended with LF ends with CRLF.
fn text_canonical(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    for line in data.split_inclusive(|&b| b == b'\n') {
        let had_lf = line.ends_with(b"\n");
        let end = line.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(0, |p| p + 1);
        out.extend_from_slice(&line[..end]);
        if had_lf {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The canonicalisation gpg tries second: LF and lone CR both become CRLF, CRLF stays.
fn text_canonical_pgp2(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut last = None;
    for &c in data {
        match (c, last) {
            (b'\n', Some(b'\r')) => out.push(b'\n'),
            (b'\n', _) => out.extend_from_slice(b"\r\n"),
            (c, Some(b'\r')) => {
                out.push(b'\n');
                out.push(c);
            }
            (c, _) => out.push(c),
        }
        last = Some(c);
    }
    out
}

/// Splits a key file into parseable pieces: a binary file is one piece; an armored one is cut
/// at every armor header, so that files with several armored blocks (as gpg imports them) yield
/// every certificate, and text before a header is skipped.
fn key_blocks(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return vec![bytes];
    }
    const HEADER: &[u8] = b"-----BEGIN PGP ";
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            bytes[i..].starts_with(HEADER)
                && (i == 0 || bytes[i - 1] == b'\n' || bytes[i - 1] == b'\r')
        })
        .collect();
    if starts.is_empty() {
        return vec![bytes];
    }
    starts.into_iter().map(|i| &bytes[i..]).collect()
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
