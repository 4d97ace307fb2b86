//! In-process verification of detached OpenPGP signatures against the ledger's keys (sequoia).
//!
//! The verdicts are GnuPG 2.2's, as `gpg --verify` gives them with a keyring holding every key
//! file (see `../shared/corpus/README.md`): subkey signatures map to their primary key, key
//! expiry and revocation are judged at a given time (not at signing time), SHA-1 and DSA are
//! accepted ([`policy::GpgPolicy`]), and several versions of a certificate merge as gpg's import
//! does. Nothing here reads a user's keyring, starts a process or touches the network;
//! `crate::gpg::verify` is the gpgme cross-check.

mod armor;
pub mod cache;
mod fallback;
mod keyring;
mod message;
pub mod policy;

use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::packet::{Key, Signature, key};
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, Fingerprint, KeyHandle};

pub use fallback::Fallback;
pub use keyring::{FileIndex, KeyError, Keyring};
use message::SigFile;
use policy::GpgPolicy;

pub use crate::core::status::SigStatus;

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
/// A file with several signatures gets a [`SigStatus::Multi`] verdict naming the first
/// signature's key: good only when every signature is (`gpg --verify` fails the file when any
/// fails); [`verify_detached_all`] returns them one by one.
pub fn verify_detached(
    keyring: &Keyring,
    data: &[u8],
    signature: &[u8],
    at: SystemTime,
) -> Verdict {
    combine(verify_detached_all(keyring, data, signature, at))
}

/// One verdict for a file from the verdicts of its signatures (never empty: a file without
/// signatures yields one NoSig verdict).
pub fn combine(mut all: Vec<Verdict>) -> Verdict {
    if all.len() == 1 {
        return all.swap_remove(0);
    }
    let statuses = all.iter().map(|v| v.status.clone()).collect();
    let mut first = all.swap_remove(0);
    first.status = SigStatus::Multi(statuses);
    first
}

/// [`verify_detached`] that skips the hashing and the public-key operation of a check that held
/// before for the same data (`data_digest`, a collision-resistant digest of it), signature
/// packet and key packet, and records the ones that hold. The data is asked of `data` only
/// when a check must be done. Everything else (which key, its validity, expiry and revocation
/// at `at`) is judged anew. The verdict is the one [`verify_detached`] gives.
pub fn verify_detached_memo<'a>(
    keyring: &Keyring,
    data: &'a (dyn Fn() -> &'a [u8] + 'a),
    data_digest: &'a [u8; 32],
    signature: &[u8],
    at: SystemTime,
    memo: &'a dyn Memo,
) -> Verdict {
    combine(verify_all(keyring, Data::Lazy(data), Some((data_digest, memo)), signature, at))
}

/// Like [`verify_detached`], one verdict per signature in the file (at most 64), in file order.
pub fn verify_detached_all(
    keyring: &Keyring,
    data: &[u8],
    signature: &[u8],
    at: SystemTime,
) -> Vec<Verdict> {
    verify_all(keyring, Data::Bytes(data), None, signature, at)
}

fn verify_all<'a>(
    keyring: &Keyring,
    data: Data<'a>,
    memo: Option<(&'a [u8; 32], &'a dyn Memo)>,
    signature: &[u8],
    at: SystemTime,
) -> Vec<Verdict> {
    match message::parse(signature) {
        SigFile::Error(reason) => vec![Verdict::bare(SigStatus::Error(reason))],
        SigFile::NoSig => vec![Verdict::bare(SigStatus::NoSig)],
        SigFile::Detached(sigs) => {
            sigs.iter().map(|sig| check(keyring, sig, Payload::Detached(data, memo), at)).collect()
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

/// [`verify_detached`] over many (data, signature) pairs, spread over the machine's cores;
/// verdicts in input order, the same as one call each would give. Certificates are parsed once,
/// by whichever thread needs them first.
pub fn verify_detached_batch(
    keyring: &Keyring,
    jobs: &[(&[u8], &[u8])],
    at: SystemTime,
) -> Vec<Verdict> {
    let threads =
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(jobs.len());
    if threads <= 1 {
        return jobs.iter().map(|(data, sig)| verify_detached(keyring, data, sig, at)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut verdicts: Vec<Option<Verdict>> = vec![None; jobs.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((data, sig)) = jobs.get(i) else { break };
                        done.push((i, verify_detached(keyring, data, sig, at)));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            // A worker that died leaves its jobs unanswered; they become errors below.
            if let Ok(done) = worker.join() {
                for (i, verdict) in done {
                    verdicts[i] = Some(verdict);
                }
            }
        }
    });
    verdicts
        .into_iter()
        .map(|v| v.unwrap_or_else(|| Verdict::bare(SigStatus::Error("verification failed".into()))))
        .collect()
}

/// The data a detached signature is over: at hand, or read when a check needs it.
#[derive(Clone, Copy)]
enum Data<'a> {
    Bytes(&'a [u8]),
    Lazy(&'a (dyn Fn() -> &'a [u8] + 'a)),
}

impl<'a> Data<'a> {
    fn get(self) -> &'a [u8] {
        match self {
            Data::Bytes(b) => b,
            Data::Lazy(f) => f(),
        }
    }
}

/// What a signature is checked against.
#[derive(Clone, Copy)]
enum Payload<'a> {
    /// Data from another file, with what is remembered of earlier checks over it.
    Detached(Data<'a>, Option<(&'a [u8; 32], &'a dyn Memo)>),
    /// The literal body of the signed message the signature came with.
    Inline(&'a [u8]),
}

/// Signature checks that held before (see [`verify_detached_memo`]).
pub trait Memo: Sync {
    /// Whether the check named by `key` held before.
    fn held(&self, key: &[u8; 32]) -> bool;
    /// Records that the check named by `key` held.
    fn record(&self, key: [u8; 32]);
    /// The verdict another verifier ([`Fallback`]) gave on the check named by `key`, if one
    /// was recorded (its key origin is the caller's to set).
    fn fallback_verdict(&self, _key: &[u8; 32]) -> Option<Verdict> {
        None
    }
    /// Records another verifier's verdict on the check named by `key`.
    fn record_fallback_verdict(&self, _key: [u8; 32], _verdict: &Verdict) {}
}

/// The name of one check: a signature (the whole packet), the key it was checked with (the whole
/// key packet) and the digest of the data, hashed together.
fn memo_key(
    sig: &Signature,
    key: &Key<key::PublicParts, key::UnspecifiedRole>,
    data: &[u8; 32],
) -> Option<[u8; 32]> {
    use openpgp::serialize::MarshalInto;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"git-gitian detached signature check v1\0");
    h.update(data);
    let sig = sig.to_vec().ok()?;
    h.update((sig.len() as u64).to_le_bytes());
    h.update(&sig);
    let key = key.to_vec().ok()?;
    h.update((key.len() as u64).to_le_bytes());
    h.update(&key);
    Some(h.finalize().into())
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
    // The first failure is the verdict when no candidate holds, but a key that is not for
    // signing is only named when no signing key was tried: another certificate binding
    // someone's key as its authentication subkey does not take their failures either.
    let mut first = None;
    let mut not_signing = None;
    for (entry, fpr) in candidates {
        let fallback =
            entry.cert().and_then(|c| by_fallback(keyring, entry, c, &fpr, sig, payload, at));
        let verdict = fallback.unwrap_or_else(|| {
            let status = match entry.cert() {
                Some(cert) => status_with(cert, &fpr, sig, payload, at),
                None => SigStatus::Error("the certificate holding the key is unreadable".into()),
            };
            Verdict {
                status,
                key_fingerprint: entry.cert().map(|c| c.fingerprint().to_hex()),
                signing_key_fingerprint: Some(fpr.to_hex()),
                key_origin: Some(entry.origin.clone()),
                created,
            }
        });
        if !matches!(verdict.status, SigStatus::Bad | SigStatus::Error(_)) {
            return verdict;
        }
        if matches!(&verdict.status, SigStatus::Error(e) if e.ends_with(NOT_SIGNING)) {
            not_signing.get_or_insert(verdict);
        } else {
            first.get_or_insert(verdict);
        }
    }
    first
        .or(not_signing)
        .unwrap_or_else(|| Verdict::bare(SigStatus::Error("no candidate key".into())))
}

/// The fallback's verdict on `sig` when the in-process library cannot use the primary key of
/// `cert` or its signing key `fpr` (see [`fallback`]); `None` when it can, when there is no
/// fallback, or when the fallback cannot check it either. Detached signatures only.
fn by_fallback(
    keyring: &Keyring,
    entry: &keyring::Entry,
    cert: &Cert,
    fpr: &Fingerprint,
    sig: &Signature,
    payload: Payload<'_>,
    at: SystemTime,
) -> Option<Verdict> {
    use openpgp::serialize::MarshalInto;
    let Payload::Detached(data, memo) = payload else { return None };
    let signing = cert.keys().key_handle(fpr.clone()).next()?;
    let reason = fallback::unsupported(cert.primary_key().key())
        .or_else(|| fallback::unsupported(signing.key()))?;
    let fallback = keyring.fallback()?;
    let sig_bytes = openpgp::Packet::from(sig.clone()).to_vec().ok()?;
    let versions = entry.version_bytes();
    // What the other verifier said before on the same bytes, when it cannot have changed.
    let memo = memo.map(|(digest, m)| (fallback::memo_key(&versions, &sig_bytes, digest, at), m));
    let mut verdict = match memo.and_then(|(key, m)| m.fallback_verdict(&key)) {
        Some(remembered) => remembered,
        None => {
            let key = (cert.fingerprint().to_hex(), fpr.to_hex());
            let key = (key.0.as_str(), key.1.as_str());
            let verdict = fallback.verify(&versions, key, &sig_bytes, data.get(), at)?;
            if let Some((key, m)) = memo {
                m.record_fallback_verdict(key, &verdict);
            }
            verdict
        }
    };
    verdict.key_origin = Some(entry.origin.clone());
    keyring.note_fallback(&cert.fingerprint().to_hex(), &reason);
    Some(verdict)
}

/// How a key that is not for signing is refused.
const NOT_SIGNING: &str = "is not a signing key";

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
    // A signature made after the verdict time is judged when it was made: a key that had
    // expired or was revoked by then cannot vouch for it, whatever its state at `--at`.
    let at = sig.signature_creation_time().map_or(at, |created| created.max(at));
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
    // A key whose binding says it is not for signing (an authentication or encryption
    // subkey, perhaps someone else's key material bound to this certificate) signs nothing
    // here, as in gpg. A key with no flags at all (old keys) is judged by its algorithm.
    if vka.key_flags().is_some_and(|f| !f.for_signing()) {
        return SigStatus::Error(format!("key {fpr} {NOT_SIGNING}"));
    }
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
    if let Payload::Detached(data, Some((digest, memo))) = payload {
        let Some(name) = memo_key(sig, key, digest) else {
            return maths_hold(sig, key, Payload::Detached(data, None));
        };
        if memo.held(&name) {
            return true;
        }
        let held = maths_hold(sig, key, Payload::Detached(data, None));
        if held {
            memo.record(name);
        }
        return held;
    }
    let data = match payload {
        // The parser hashed the literal data (one-pass or cleartext framing) as it read it.
        // Its cleartext hashing takes a lone CR for a line end, which gpg does not; a text
        // signature that fails that way gets gpg's canonicalisation of the text below.
        Payload::Inline(body) if sig.computed_digest().is_some() => {
            if sig.verify_signature(key).is_ok() {
                return true;
            }
            if sig.typ() != SignatureType::Text {
                return false;
            }
            body
        }
        Payload::Inline(data) => data,
        Payload::Detached(data, _) => data.get(),
    };
    if sig.typ() != SignatureType::Text {
        return sig.verify_message(key, data).is_ok();
    }
    // gpg hashes text signatures canonicalised to CRLF line ends, and also tries the PGP 2
    // canonicalisation (lone CR becomes CRLF too); either one verifying is good. Streamed into
    // the hash, so a huge file is never copied.
    let context = || {
        let mut c = sig.hash_algo().context().ok()?.for_signature(sig.version());
        if let Some(salt) = sig.salt() {
            c.update(salt);
        }
        Some(c)
    };
    let (Some(mut first), Some(mut second)) = (context(), context()) else { return false };
    text_canonical(data, |chunk| first.update(chunk));
    text_canonical_pgp2(data, |chunk| second.update(chunk));
    sig.verify_hash(key, first).is_ok() || sig.verify_hash(key, second).is_ok()
}

/// Text canonicalisation as gpg's text filter does it: every line loses its trailing CR and LF
/// characters, and a line that ended with LF ends with CRLF. Output goes to `out` in pieces.
fn text_canonical(data: &[u8], mut out: impl FnMut(&[u8])) {
    for line in data.split_inclusive(|&b| b == b'\n') {
        let end = line.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(0, |p| p + 1);
        out(&line[..end]);
        if line.ends_with(b"\n") {
            out(b"\r\n");
        }
    }
}

/// The canonicalisation gpg tries second: LF and lone CR both become CRLF, CRLF stays.
fn text_canonical_pgp2(data: &[u8], mut out: impl FnMut(&[u8])) {
    let mut buf = Vec::with_capacity(8192);
    let mut last = None;
    for &c in data {
        match (c, last) {
            (b'\n', Some(b'\r')) => buf.push(b'\n'),
            (b'\n', _) => buf.extend_from_slice(b"\r\n"),
            (c, Some(b'\r')) => buf.extend_from_slice(&[b'\n', c]),
            (c, _) => buf.push(c),
        }
        last = Some(c);
        if buf.len() >= 8190 {
            out(&buf);
            buf.clear();
        }
    }
    out(&buf);
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
