//! GnuPG as [`crate::openpgp::Fallback`]: a signature whose key the in-process library cannot
//! use is checked by `gpg --verify` (through gpgme) in a throwaway GnuPG home that holds only
//! that certificate (every version read from the ledger), with gpg's clock set to the verdict
//! time. Nothing of the user's GnuPG is read; the homes are removed when verify ends.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::verify::GpgmeVerifier;
use crate::openpgp::{Fallback, SigStatus, Verdict};

/// A home made for one (certificate digest, verdict time); `None` when it could not be made.
type Homes = HashMap<(Vec<u8>, u64), Option<Arc<tempfile::TempDir>>>;

thread_local! {
    /// Each thread's gpgme context on each home it used (a context is not shared between
    /// threads): gpgme checks gpg's version once per context, so once per home and thread
    /// rather than once per signature.
    static CONTEXTS: std::cell::RefCell<HashMap<std::path::PathBuf, GpgmeVerifier>> =
        std::cell::RefCell::new(HashMap::new());
}

/// One throwaway home per (certificate, verdict time), made on first use.
#[derive(Default)]
pub struct GpgFallback {
    homes: Mutex<Homes>,
}

impl GpgFallback {
    pub fn new() -> Self {
        Self::default()
    }

    fn home(&self, cert: &[Vec<u8>], at: SystemTime) -> Option<Arc<tempfile::TempDir>> {
        let secs = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let key = (blake3::hash(&cert.concat()).as_bytes().to_vec(), secs);
        let mut homes = self.homes.lock().ok()?;
        homes.entry(key).or_insert_with(|| make_home(cert, secs).map(Arc::new)).clone()
    }
}

/// A home holding only `cert`, gpg's time frozen at `secs`; `None` when gpg cannot be run or
/// refuses the certificate.
fn make_home(cert: &[Vec<u8>], secs: u64) -> Option<tempfile::TempDir> {
    // Short path under /tmp: gpg's socket names must fit in 108 bytes.
    let home = tempfile::Builder::new().prefix("gitian-gpg").tempdir_in("/tmp").ok()?;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).ok()?;
    let time = chrono::DateTime::from_timestamp(secs as i64, 0)?.format("%Y%m%dT%H%M%S");
    // No agent: nothing here needs a secret key.
    let mut conf = std::fs::File::create(home.path().join("gpg.conf")).ok()?;
    writeln!(conf, "no-autostart\nfaked-system-time {time}!").ok()?;
    let mut verifier = GpgmeVerifier::new(home.path()).ok()?;
    let mut imported = 0;
    for version in cert {
        imported += verifier.import(version).unwrap_or(0);
    }
    (imported > 0).then_some(home)
}

impl Fallback for GpgFallback {
    fn verify(
        &self,
        cert: &[Vec<u8>],
        key: (&str, &str),
        sig: &[u8],
        data: &[u8],
        at: SystemTime,
    ) -> Option<Verdict> {
        let home = self.home(cert, at)?;
        let verdict = CONTEXTS.with(|contexts| {
            let mut contexts = contexts.borrow_mut();
            let verifier = match contexts.entry(home.path().to_path_buf()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(GpgmeVerifier::new(home.path()).ok()?)
                }
            };
            Some(verifier.verify_detached_by(data, sig, Some(key)))
        })?;
        match verdict.status {
            SigStatus::Error(_) | SigStatus::NoPubkey | SigStatus::NoSig => None,
            _ => Some(verdict),
        }
    }
}
