//! The algorithm policy of GnuPG 2.2, so that in-process verdicts match `gpg --verify`.
//!
//! Sequoia's `StandardPolicy` rejects SHA-1 data signatures and, by date, SHA-1 self-signatures
//! and small DSA keys. Real ledgers hold 2014-era signatures and keys that GnuPG 2.2 still
//! accepts, and a verifier that silently turned those into failures would disagree with every
//! builder who checks with gpg. GnuPG 2.2's only default rejection is MD5 (`weak-digest`), for
//! data signatures and self-signatures alike.

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::ValidErasedKeyAmalgamation;
use openpgp::packet::{Packet, Signature, key};
use openpgp::policy::{HashAlgoSecurity, Policy};
use openpgp::types::{AEADAlgorithm, HashAlgorithm, SymmetricAlgorithm};

/// Accepts what GnuPG 2.2 accepts by default: every algorithm but MD5 signatures.
#[derive(Debug, Default, Clone, Copy)]
pub struct GpgPolicy;

impl GpgPolicy {
    /// Whether GnuPG 2.2 rejects signatures made with `algo` by default.
    pub fn is_weak_digest(algo: HashAlgorithm) -> bool {
        algo == HashAlgorithm::MD5
    }
}

impl Policy for GpgPolicy {
    fn signature(&self, sig: &Signature, _sec: HashAlgoSecurity) -> openpgp::Result<()> {
        if Self::is_weak_digest(sig.hash_algo()) {
            return Err(openpgp::Error::PolicyViolation(
                format!("{} signatures are rejected", sig.hash_algo()),
                None,
            )
            .into());
        }
        Ok(())
    }

    fn key(&self, _ka: &ValidErasedKeyAmalgamation<key::PublicParts>) -> openpgp::Result<()> {
        Ok(())
    }

    fn symmetric_algorithm(&self, _algo: SymmetricAlgorithm) -> openpgp::Result<()> {
        Ok(())
    }

    fn aead_algorithm(&self, _algo: AEADAlgorithm) -> openpgp::Result<()> {
        Ok(())
    }

    fn packet(&self, _packet: &Packet) -> openpgp::Result<()> {
        Ok(())
    }
}
