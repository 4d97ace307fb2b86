//! In-process verification of detached OpenPGP signatures against the ledger's keys (sequoia).
//!
//! The verdicts are GnuPG 2.2's, as `gpg --verify` gives them with a keyring holding every key
//! file (see `../shared/corpus/README.md`): subkey signatures map to their primary key, key
//! expiry and revocation are judged at a given time (not at signing time), SHA-1 and DSA are
//! accepted ([`policy::GpgPolicy`]), and several versions of a certificate merge as gpg's import
//! does. Nothing here reads a user's keyring, starts a process or touches the network;
//! `crate::gpg::verify` is the gpgme cross-check.

mod armor;
mod keyring;
mod message;
pub mod policy;

use std::fmt;
use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::packet::{Key, Signature, key};
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, Fingerprint, KeyHandle};

pub use keyring::{KeyError, Keyring};
use message::SigFile;
use policy::GpgPolicy;

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
    for (entry, fpr) in candidates {
        let status = match entry.cert() {
            Some(cert) => status_with(cert, &fpr, sig, payload, at),
            None => SigStatus::Error("the certificate holding the key is unreadable".into()),
        };
        let verdict = Verdict {
            status,
            key_fingerprint: entry.cert().map(|c| c.fingerprint().to_hex()),
            signing_key_fingerprint: Some(fpr.to_hex()),
            key_origin: Some(entry.origin.clone()),
            created,
        };
        if !matches!(verdict.status, SigStatus::Bad | SigStatus::Error(_)) {
            return verdict;
        }
        first.get_or_insert(verdict);
    }
    first.unwrap_or_else(|| Verdict::bare(SigStatus::Error("no candidate key".into())))
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
    // Validate only this key: `vc.keys()` would check every subkey's binding (RSA
    // verifications each) before filtering by handle.
    let Ok(vka) = ka.clone().with_policy(&policy, at) else {
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

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
