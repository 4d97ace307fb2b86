//! The CPU-bound part of verify: keys parsed on one thread while the ledger is collected, then
//! every thread parses attestations and verifies signatures, each job taken by whichever is free.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use super::VerifyError;
use super::found::{Found, Parsed};
use super::keys::build_keyring;
use crate::openpgp::{self, Keyring};
use crate::ops::memo::Memory;

/// What the collection found, with the work to do on it.
pub(super) struct Work {
    pub(super) items: Vec<(usize, Option<String>, Found)>,
    pub(super) fingerprints: Vec<[u8; 32]>,
    pub(super) first_of: HashMap<[u8; 32], usize>,
    /// Indices into `items` of the distinct versions: one parse and one verification each.
    pub(super) unique: Vec<usize>,
    parsed: Vec<OnceLock<Parsed>>,
    /// Manifests parsed so far, shared by the rows that say the same.
    manifests: super::found::Manifests,
    verdicts: Vec<OnceLock<Option<openpgp::Verdict>>>,
    next_job: AtomicUsize,
}

impl Work {
    pub(super) fn new(
        items: Vec<(usize, Option<String>, Found)>,
        fingerprints: Vec<[u8; 32]>,
        first_of: HashMap<[u8; 32], usize>,
        unique: Vec<usize>,
    ) -> Self {
        let n = unique.len();
        Self {
            items,
            fingerprints,
            first_of,
            unique,
            parsed: (0..n).map(|_| OnceLock::new()).collect(),
            manifests: Default::default(),
            verdicts: (0..n).map(|_| OnceLock::new()).collect(),
            next_job: AtomicUsize::new(0),
        }
    }

    /// Takes jobs while there are any: each parses a signed file, verifies its signature (once
    /// the keyring is there) and lets go of its bytes, so that a ledger read from git objects
    /// is streamed: only the files being worked on are in memory.
    fn help(&self, keyring: &OnceLock<Keyring>, at: SystemTime, memory: Option<&Memory>) {
        let n = self.unique.len();
        loop {
            let i = self.next_job.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            let found = &self.items[self.unique[i]].2;
            let _ = self.parsed[i].set(found.parse(memory, &self.manifests));
            let _ = self.verdicts[i].set(found.verify(keyring.wait(), at, memory));
            if let Some(signed) = found.data.as_deref() {
                signed.release();
            }
        }
    }
}

/// Sets a cell to a fallback when its thread leaves without setting it (a panic), so the
/// threads waiting on it finish and the scope can pass the panic on.
struct SetOnDrop<'a, T, F: FnMut() -> T>(&'a OnceLock<T>, F);

impl<T, F: FnMut() -> T> Drop for SetOnDrop<'_, T, F> {
    fn drop(&mut self) {
        if self.0.get().is_none() {
            let _ = self.0.set((self.1)());
        }
    }
}

/// Key files read (origin, bytes) and warnings about the ones skipped.
pub(super) type KeyFiles = (Vec<(String, Vec<u8>)>, Vec<String>);

pub(super) type Outcome = Result<(Work, Vec<Parsed>, Vec<Option<openpgp::Verdict>>), VerifyError>;

/// The CPU-bound part, spread over the machine's cores (up to four): the keys are parsed on
/// one thread while this one collects the ledger (`collect`); then every thread parses
/// attestations, then verifies signatures, each job taken by whichever thread is free. Returns
/// the keyring, the key files' warnings, and the collection with a parse and a verdict per
/// distinct version.
pub(super) fn pipeline(
    mut key_files: Vec<(String, Vec<u8>)>,
    more_keys: impl FnOnce() -> Result<KeyFiles, VerifyError> + Send,
    cache: Option<openpgp::cache::Loading>,
    memory: (&OnceLock<Option<Memory>>, impl FnOnce() -> Option<Memory> + Send),
    collect: impl FnOnce() -> Result<Work, VerifyError>,
    at: SystemTime,
) -> (Keyring, Result<Vec<String>, VerifyError>, Outcome) {
    let (slot, load) = memory;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(2, 4);
    let keyring: OnceLock<Keyring> = OnceLock::new();
    let work: OnceLock<Option<Work>> = OnceLock::new();
    let (key_warnings, error) = std::thread::scope(|scope| {
        let keys = scope.spawn(|| {
            let memory = {
                let _guard = SetOnDrop(slot, || None);
                slot.get_or_init(load).as_ref()
            };
            let warnings = keys(&mut key_files, more_keys, cache, memory, &keyring);
            if warnings.is_ok()
                && let Some(w) = work.wait()
            {
                w.help(&keyring, at, memory);
            }
            warnings
        });
        for _ in 2..threads {
            scope.spawn(|| {
                if let Some(w) = work.wait() {
                    w.help(&keyring, at, slot.wait().as_ref());
                }
            });
        }
        let error = {
            let _guard = SetOnDrop(&work, || None);
            match collect() {
                Ok(w) => {
                    let _ = work.set(Some(w));
                    None
                }
                Err(e) => {
                    let _ = work.set(None);
                    Some(e)
                }
            }
        };
        if let Some(w) = work.get().and_then(Option::as_ref) {
            w.help(&keyring, at, slot.wait().as_ref());
        }
        let warnings = keys.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (warnings, error)
    });
    let keyring = keyring.into_inner().unwrap_or_default();
    let outcome = match (error, work.into_inner().flatten()) {
        (Some(e), _) => Err(e),
        // Only a panic leaves neither, and the scope has passed it on.
        (None, None) => unreachable!("the collection neither finished nor failed"),
        (None, Some(mut w)) => {
            let parsed = std::mem::take(&mut w.parsed)
                .into_iter()
                .map(|p| p.into_inner().expect("every parse job ran"))
                .collect();
            let verdicts = std::mem::take(&mut w.verdicts)
                .into_iter()
                .map(|v| v.into_inner().expect("every verification ran"))
                .collect();
            Ok((w, parsed, verdicts))
        }
    };
    (keyring, key_warnings, outcome)
}

/// The key thread's part, once the memory is read (on this thread, while the main thread
/// collects the ledger): the rest of the key files, the keyring made of them all and set in
/// `keyring` (an empty one on failure); returns the warnings.
fn keys(
    key_files: &mut Vec<(String, Vec<u8>)>,
    more_keys: impl FnOnce() -> Result<KeyFiles, VerifyError>,
    cache: Option<openpgp::cache::Loading>,
    memory: Option<&Memory>,
    keyring: &OnceLock<Keyring>,
) -> Result<Vec<String>, VerifyError> {
    let _guard = SetOnDrop(keyring, Keyring::new);
    let (more, mut warnings) = more_keys()?;
    key_files.extend(more);
    let (ring, parse_warnings) = build_keyring(std::mem::take(key_files), memory);
    warnings.extend(parse_warnings);
    if let Some(loading) = cache {
        loading.wait();
    }
    let _ = keyring.set(ring);
    Ok(warnings)
}
