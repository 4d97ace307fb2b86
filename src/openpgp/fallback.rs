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
    /// certificate given as every version read of it (binary OpenPGP each), key expiry judged
    /// at `at`; `None` when it cannot check it either.
    fn verify(&self, cert: &[Vec<u8>], sig: &[u8], data: &[u8], at: SystemTime) -> Option<Verdict>;
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
