//! A file that remembers which signature checks held, across runs.
//!
//! GnuPG remembers, in its keyring, that a key's self-signatures were checked at import; every
//! `gpg --verify` after that skips those public-key operations. A verifier that reads its keys
//! from the ledger on every run has no import step, so without this file it would redo every
//! RSA/DSA/EdDSA check of every run. Sequoia's signature verification cache keeps, for each
//! check that held, a 32-byte digest (SHA-512 truncated to 256 bits) of the signature's MPIs,
//! its hash algorithm, the digest of the signed data and the key's MPIs. A check is only
//! skipped when that exact triple was verified before: other data, another signature or another
//! key give another entry. Only successful checks are kept.
//!
//! The file is the user's own state, like `~/.gnupg`: whoever can write it can make a forged
//! signature pass, as whoever can write `~/.gnupg` can. `git gitian verify --no-cache` neither
//! reads nor writes it. The file itself is read and written by `crate::ops::memo`.

use std::sync::mpsc;

use sequoia_openpgp::packet::signature::cache::SignatureVerificationCache as Cache;

const MAGIC: &[u8] = b"git-gitian verified-signatures v1\n";
const ENTRY: usize = 32;
/// At most this many entries are kept (3.2 MB); the ones used or added by this run first.
const MAX_ENTRIES: usize = 100_000;

/// A load in progress (sequoia restores on a thread of its own).
pub struct Loading(Option<mpsc::Receiver<()>>);

impl Loading {
    /// Waits until the entries are in place.
    pub fn wait(self) {
        if let Some(rx) = self.0 {
            let _ = rx.recv();
        }
    }
}

/// Starts loading the entries of a cache file's `bytes` into the process's verification
/// cache. Bytes that are not such a file are an empty cache.
pub fn load(bytes: &[u8]) -> Loading {
    let Some(body) = bytes.strip_prefix(MAGIC) else { return Loading(None) };
    let entries: Vec<Vec<u8>> = body.chunks_exact(ENTRY).map(<[u8]>::to_vec).collect();
    if entries.is_empty() {
        return Loading(None);
    }
    let (tx, rx) = mpsc::channel();
    Cache::restore(entries.into_iter(), move || {
        let _ = tx.send(());
    });
    Loading(Some(rx))
}

/// The cache file's bytes, when this run added entries since the last call (then `None` until
/// it adds more).
pub fn dump() -> Option<Vec<u8>> {
    if Cache::insertions() == 0 {
        return None;
    }
    let (mut keep, rest): (Vec<_>, Vec<_>) =
        Cache::dump().into_iter().partition(|e| e.inserted() || e.accessed());
    keep.truncate(MAX_ENTRIES);
    keep.extend(rest.into_iter().take(MAX_ENTRIES - keep.len()));
    let mut out = Vec::with_capacity(MAGIC.len() + keep.len() * ENTRY);
    out.extend_from_slice(MAGIC);
    for e in &keep {
        out.extend_from_slice(e.value());
    }
    Cache::clear_insertions();
    Some(out)
}
