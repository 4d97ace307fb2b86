//! Detached-signature verification through gpgme, to cross-check `crate::openpgp`.
//!
//! Every call starts gpg processes (that is why `openpgp` verifies in process); this exists so
//! tests can show both verifiers give the same verdict, in `openpgp`'s vocabulary, on the same
//! keys. It reads only the GNUPGHOME it is given, never the network.

use std::ffi::CStr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use gpgme::{Context, Protocol};

use crate::openpgp::{SigStatus, Verdict};

/// A gpgme context bound to one GNUPGHOME.
pub struct GpgmeVerifier {
    ctx: Context,
}

impl GpgmeVerifier {
    /// Opens an OpenPGP context on `gnupghome` (which must exist, mode 700), offline.
    pub fn new(gnupghome: &Path) -> Result<Self, gpgme::Error> {
        let mut ctx = Context::from_protocol(Protocol::OpenPgp)?;
        ctx.set_engine_home_dir(gnupghome.to_string_lossy().as_bytes())?;
        ctx.set_offline(true);
        // Without it gpgme passes only the status lines it interprets to the status handler.
        ctx.set_flag("full-status", "1")?;
        Ok(Self { ctx })
    }

    /// Imports a key file; returns how many keys gpg considered.
    pub fn import(&mut self, bytes: &[u8]) -> Result<u32, gpgme::Error> {
        Ok(self.ctx.import(bytes)?.considered())
    }

    /// Verifies a detached signature the way `gpg --verify SIG DATA` does, in `openpgp`'s
    /// vocabulary. Key expiry is judged at gpg's notion of now (`faked-system-time` in the
    /// home's gpg.conf moves it). The first signature's verdict, as in `openpgp`.
    pub fn verify_detached(&mut self, data: &[u8], sig: &[u8]) -> Verdict {
        let (result, nodata) = self.with_nodata(|ctx| ctx.verify_detached(sig, data));
        match result {
            Ok(result) => match result.signatures().next() {
                Some(s) => self.verdict(&s),
                // gpg prints "not a detached signature" for a whole signed message and gives no
                // status at all; its verdict on it is what `gpg --verify FILE` says.
                None if nodata.is_empty() => self.verify_inline(sig),
                None => nodata_verdict(&nodata),
            },
            Err(e) if e.code() == gpgme::Error::NO_DATA.code() => nodata_verdict(&nodata),
            Err(e) => bare(SigStatus::Error(e.to_string())),
        }
    }

    fn verify_inline(&mut self, sig: &[u8]) -> Verdict {
        let mut plain = Vec::new();
        let (result, nodata) = self.with_nodata(|ctx| ctx.verify_opaque(sig, &mut plain));
        match result {
            Ok(result) => match result.signatures().next() {
                Some(s) => {
                    let mut v = self.verdict(&s);
                    v.status = SigStatus::Inline(Box::new(v.status));
                    v
                }
                None => nodata_verdict(&nodata),
            },
            Err(e) if e.code() == gpgme::Error::NO_DATA.code() => nodata_verdict(&nodata),
            Err(e) => bare(SigStatus::Error(e.to_string())),
        }
    }

    /// Runs `op` while collecting the arguments of gpg's `NODATA` status lines, which tell "no
    /// signature found" (4) from unreadable input (1-3); gpgme folds them all into NO_DATA.
    fn with_nodata<R>(&mut self, op: impl FnOnce(&mut Context) -> R) -> (R, Vec<String>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        // gpgme 0.11 hands the keyword and its arguments over in swapped order, so accept both.
        let handler = move |a: Option<&CStr>, b: Option<&CStr>| {
            let a = a.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let b = b.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let arg = match (a.as_str(), b.as_str()) {
                ("NODATA", arg) | (arg, "NODATA") => Some(arg.trim().to_string()),
                _ => None,
            };
            if let (Some(arg), Ok(mut lines)) = (arg, sink.lock()) {
                lines.push(arg);
            }
            Ok(())
        };
        let result = self.ctx.with_status_handler(handler, op);
        let nodata = lines.lock().map(|l| l.clone()).unwrap_or_default();
        (result, nodata)
    }

    fn verdict(&mut self, s: &gpgme::results::Signature<'_>) -> Verdict {
        let status = match s.status() {
            Ok(()) => SigStatus::Good,
            Err(e) => match e.code() {
                c if c == gpgme::Error::KEY_EXPIRED.code() => SigStatus::ExpiredKey,
                c if c == gpgme::Error::SIG_EXPIRED.code() => SigStatus::ExpiredSig,
                c if c == gpgme::Error::CERT_REVOKED.code() => SigStatus::RevokedKey,
                c if c == gpgme::Error::BAD_SIGNATURE.code() => SigStatus::Bad,
                c if c == gpgme::Error::NO_PUBKEY.code() => SigStatus::NoPubkey,
                _ => SigStatus::Error(e.to_string()),
            },
        };
        let issuer = s.fingerprint().ok().map(str::to_ascii_uppercase);
        let (key_fingerprint, signing_key_fingerprint) = match (&status, &issuer) {
            (SigStatus::NoPubkey, _) | (_, None) => (issuer.clone(), None),
            (_, Some(issuer)) => match self.ctx.get_key(issuer.as_str()) {
                Ok(key) => {
                    let primary = key.fingerprint().ok().map(str::to_ascii_uppercase);
                    let signing = key
                        .subkeys()
                        .filter_map(|k| k.fingerprint().ok().map(str::to_ascii_uppercase))
                        .find(|fpr| fpr.ends_with(issuer.as_str()));
                    (primary, signing)
                }
                Err(_) => (Some(issuer.clone()), None),
            },
        };
        Verdict {
            status,
            key_fingerprint,
            signing_key_fingerprint,
            key_origin: None,
            created: s.creation_time(),
        }
    }
}

/// One-shot form of [`GpgmeVerifier::verify_detached`]; a context that cannot be opened is an
/// `Error` verdict.
pub fn verify_detached_gpgme(gnupghome: &Path, data: &[u8], sig: &[u8]) -> Verdict {
    match GpgmeVerifier::new(gnupghome) {
        Ok(mut v) => v.verify_detached(data, sig),
        Err(e) => bare(SigStatus::Error(format!("gpgme: {e}"))),
    }
}

/// `NODATA 4` is gpg's "no signature found"; anything else is input it could not read.
fn nodata_verdict(nodata: &[String]) -> Verdict {
    if nodata.iter().any(|arg| arg == "4") {
        bare(SigStatus::NoSig)
    } else {
        bare(SigStatus::Error(format!(
            "gpg found no valid OpenPGP data (NODATA {})",
            nodata.join(" ")
        )))
    }
}

fn bare(status: SigStatus) -> Verdict {
    Verdict {
        status,
        key_fingerprint: None,
        signing_key_fingerprint: None,
        key_origin: None,
        created: None,
    }
}
