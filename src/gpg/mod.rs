//! The builder's own GnuPG through gpgme (gpgme lives only under this module): signing here,
//! and in `verify` a gpgme verifier used to cross-check the in-process one.
//!
//! Signing goes through the user's gpg-agent exactly as `gpg -u <signer>` would: `GNUPGHOME`,
//! pinentry, passphrase caching and smartcards all work because gpgme drives the real `gpg`.

pub mod fallback;
pub mod verify;

use thiserror::Error;

/// Could not sign.
#[derive(Debug, Error)]
pub enum GpgError {
    /// No usable secret key matches the identity.
    #[error("no usable secret key for '{identity}' in your GnuPG keyring")]
    NoSecretKey {
        /// What `-u` was given.
        identity: String,
    },
    /// gpgme or gpg failed.
    #[error("gpg: {context}")]
    Gpgme {
        /// What we were doing.
        context: String,
        /// gpgme's error.
        #[source]
        source: gpgme::Error,
    },
}

fn gpgme_err(context: impl Into<String>) -> impl FnOnce(gpgme::Error) -> GpgError {
    let context = context.into();
    move |source| GpgError::Gpgme { context, source }
}

/// A secret key chosen as `gpg -u <identity>` would choose it, ready to make signatures.
pub struct GpgSigner {
    ctx: gpgme::Context,
    key: gpgme::Key,
}

impl std::fmt::Debug for GpgSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpgSigner").field("fingerprint", &self.fingerprint()).finish()
    }
}

/// Whether a key may make signatures now.
fn is_usable(key: &gpgme::Key) -> bool {
    key.can_sign()
        && !key.is_revoked()
        && !key.is_expired()
        && !key.is_disabled()
        && !key.is_invalid()
}

impl GpgSigner {
    /// Finds the secret key for `identity` (fingerprint, key id, e-mail or part of a user id,
    /// as `gpg -u` takes). Like gpg, the first usable match in keyring order wins.
    pub fn new(identity: &str) -> Result<Self, GpgError> {
        let mut ctx = gpgme::Context::from_protocol(gpgme::Protocol::OpenPgp)
            .map_err(gpgme_err("cannot start gpgme"))?;
        let key = {
            let keys = ctx
                .find_secret_keys([identity])
                .map_err(gpgme_err(format!("cannot list secret keys for '{identity}'")))?;
            keys.filter_map(Result::ok).find(is_usable)
        };
        let key = key.ok_or_else(|| GpgError::NoSecretKey { identity: identity.into() })?;
        Ok(Self { ctx, key })
    }

    /// The primary key's fingerprint.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint().unwrap_or("?").to_string()
    }

    /// The primary user id, for messages.
    pub fn user_id(&self) -> String {
        self.key.user_ids().next().and_then(|u| u.id().ok().map(str::to_string)).unwrap_or_default()
    }

    /// A detached signature over exactly `data`: binary (Gitian's `.sig`) or armored (guix's
    /// `.asc`, and git's commit signatures).
    pub fn sign_detached(&mut self, data: &[u8], armor: bool) -> Result<Vec<u8>, GpgError> {
        self.ctx.set_armor(armor);
        self.ctx.clear_signers();
        self.ctx.add_signer(&self.key).map_err(gpgme_err("cannot use the signing key"))?;
        let mut sig = Vec::new();
        let result = self
            .ctx
            .sign_detached(data, &mut sig)
            .map_err(gpgme_err(format!("signing with {} failed", self.fingerprint())))?;
        if result.new_signatures().next().is_none() || sig.is_empty() {
            return Err(GpgError::Gpgme {
                context: format!("signing with {} made no signature", self.fingerprint()),
                source: gpgme::Error::GENERAL,
            });
        }
        Ok(sig)
    }

    /// Whether `sig` is a mathematically valid detached signature over `data` made by this key
    /// (any of its subkeys). Used to tell a finished earlier signing from a stale or foreign
    /// signature file; the ledger's verdicts come from `verify`, not from here.
    pub fn made_this(&mut self, data: &[u8], sig: &[u8]) -> bool {
        let Ok(result) = self.ctx.verify_detached(sig, data) else { return false };
        let ours: Vec<String> =
            self.key.subkeys().filter_map(|k| k.fingerprint().ok().map(str::to_string)).collect();
        result.signatures().any(|s| {
            let maths_ok = match s.status() {
                Ok(()) => true,
                Err(e) => [gpgme::Error::KEY_EXPIRED, gpgme::Error::SIG_EXPIRED]
                    .iter()
                    .any(|c| c.code() == e.code()),
            };
            let by_us = s.fingerprint().is_ok_and(|f| {
                ours.iter().any(|o| {
                    o.eq_ignore_ascii_case(f) || o.to_uppercase().ends_with(&f.to_uppercase())
                })
            });
            maths_ok && by_us
        })
    }
}

/// Every public key of the user's own GnuPG keyring (`GNUPGHOME`), exported as binary
/// OpenPGP. Only used when `verify --gpg-keyring` asks for it; trust settings are not read.
pub fn export_public_keys() -> Result<Vec<u8>, GpgError> {
    let mut ctx = gpgme::Context::from_protocol(gpgme::Protocol::OpenPgp)
        .map_err(gpgme_err("cannot start gpg"))?;
    let mut out = Vec::new();
    ctx.export_all(gpgme::ExportMode::empty(), &mut out)
        .map_err(gpgme_err("cannot export your public keys"))?;
    Ok(out)
}
