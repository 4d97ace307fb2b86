//! What the in-process library cannot check, handed to another verifier ([`Fallback`]): with
//! the nettle backend, signatures by keys on curves it lacks (ECDSA on secp256k1, used by
//! guix.sigs builders since 25.x). The verdict is then the other verifier's, made with that
//! certificate alone; [`crate::gpg::fallback`] is GnuPG's.

use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::crypto::mpi;
use openpgp::packet::{Key, key};

use super::Verdict;

/// Another verifier, for signatures by keys the in-process library cannot use.
pub trait Fallback: Send + Sync {
    /// The verdict on `sig` (one binary signature packet) over `data`, by a key of the
    /// certificate given as every version read of it (binary OpenPGP each), whose primary and
    /// signing key fingerprints are `key` (uppercase hex), key expiry judged at `at`; `None`
    /// when it cannot check it either.
    fn verify(
        &self,
        cert: &[Vec<u8>],
        key: (&str, &str),
        sig: &[u8],
        data: &[u8],
        at: SystemTime,
    ) -> Option<Verdict>;
}

/// Why the in-process library cannot verify signatures made with `key`, if it cannot.
pub(super) fn unsupported<P: key::KeyParts, R: key::KeyRole>(key: &Key<P, R>) -> Option<String> {
    let algo = key.pk_algo();
    if !algo.is_supported() {
        return Some(format!("the {algo} algorithm"));
    }
    match key.mpis() {
        mpi::PublicKey::ECDSA { curve, .. }
        | mpi::PublicKey::EdDSA { curve, .. }
        | mpi::PublicKey::ECDH { curve, .. }
            if !curve.is_supported() =>
        {
            Some(format!("{algo} on {}", curve_name(curve)))
        }
        _ => None,
    }
}

/// A curve's usual name (sequoia names the ones it does not know by OID only).
fn curve_name(curve: &openpgp::types::Curve) -> String {
    match curve {
        openpgp::types::Curve::Unknown(oid) if **oid == [0x2b, 0x81, 0x04, 0x00, 0x0a] => {
            "secp256k1".to_string()
        }
        other => other.to_string(),
    }
}

/// The name under which the other verifier's verdict on `sig` (one binary signature packet)
/// over the data with digest `data`, by the certificate read as `cert` (every version), is
/// remembered. The verdict depends on the time it is judged at only through expiry, revocation
/// and packets made after that time; when neither the certificate nor the signature holds an
/// expiry or a revocation and nothing in them was made after `at`, nothing in them can change
/// the verdict at any later time, and the name leaves the time out (so a run at another time
/// finds it). Otherwise the name holds `at` to the second.
pub(super) fn memo_key(cert: &[Vec<u8>], sig: &[u8], data: &[u8; 32], at: SystemTime) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"git-gitian fallback verdict v1\0");
    h.update(data);
    for part in std::iter::once(sig).chain(cert.iter().map(Vec::as_slice)) {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    match cert.iter().map(Vec::as_slice).chain([sig]).all(|b| timeless_by(b, at)) {
        true => h.update(b"timeless"),
        false => {
            let secs = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            h.update(b"at");
            h.update(secs.to_le_bytes());
        }
    }
    h.finalize().into()
}

/// Whether the OpenPGP packets in `bytes` hold nothing whose meaning changes after `at`: no
/// revocation, no key or signature expiry (in either subpacket area), no key or signature made
/// after `at`. Packets that do not parse make it false.
fn timeless_by(bytes: &[u8], at: SystemTime) -> bool {
    use openpgp::Packet;
    use openpgp::packet::signature::subpacket::SubpacketTag;
    use openpgp::parse::Parse;
    use openpgp::types::SignatureType;
    let Ok(pile) = openpgp::PacketPile::from_bytes(bytes) else { return false };
    pile.descendants().all(|packet| match packet {
        Packet::Signature(sig) => {
            let revocation = matches!(
                sig.typ(),
                SignatureType::KeyRevocation
                    | SignatureType::SubkeyRevocation
                    | SignatureType::CertificationRevocation
            );
            let expiry = [SubpacketTag::KeyExpirationTime, SubpacketTag::SignatureExpirationTime]
                .into_iter()
                .any(|tag| {
                    sig.hashed_area().subpacket(tag).is_some()
                        || sig.unhashed_area().subpacket(tag).is_some()
                });
            let made = sig.signature_creation_time();
            !revocation && !expiry && made.is_some_and(|t| t <= at)
        }
        Packet::PublicKey(k) => k.creation_time() <= at,
        Packet::PublicSubkey(k) => k.creation_time() <= at,
        Packet::SecretKey(_) | Packet::SecretSubkey(_) => false,
        _ => true,
    })
}
