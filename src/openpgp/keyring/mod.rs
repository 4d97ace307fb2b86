//! Certificates from key files, merged by primary fingerprint, as gpg's keyring holds them after
//! importing every file.
//!
//! Loading only indexes: each file is split into raw certificates (primary and subkey
//! fingerprints read, nothing else parsed) and kept. A certificate is parsed, merged across its
//! versions and canonicalised the first time a signature names one of its keys; a ledger's key
//! folder holds many keys no signature in the release uses. Parsing drops what never affects a
//! verdict: user attributes (photo IDs, often the largest packets) and third-party
//! certifications of user IDs.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use sequoia_openpgp as openpgp;

use openpgp::cert::raw::RawCert;
use openpgp::packet::Signature;
use openpgp::{Cert, Fingerprint, KeyHandle, KeyID, Packet};

mod file;
mod merge;

use file::{lowercase_first, parse_file, revokes};
use merge::build;

/// Certificates from key files, merged by primary fingerprint, indexed by every (sub)key id.
#[derive(Default)]
pub struct Keyring {
    entries: Vec<Entry>,
    by_primary: HashMap<Fingerprint, usize>,
    by_keyid: HashMap<KeyID, Vec<usize>>,
    /// Key revocations found outside any certificate (a revocation certificate in its own
    /// block or file), applied to the certificate they name, whenever it comes.
    revocations: Vec<Signature>,
    /// The verifier of what this library cannot check, if any.
    fallback: Option<Arc<dyn super::Fallback>>,
    /// Certificates the fallback checked a signature for: primary fingerprint -> why.
    fallback_used: Mutex<BTreeMap<String, String>>,
}

/// One certificate, all its versions.
pub(super) struct Entry {
    /// The first key file that held this certificate.
    pub(super) origin: String,
    fingerprint: Fingerprint,
    /// Every version read, in the order added.
    versions: Vec<Version>,
    /// Primary and subkey fingerprints over all versions.
    keys: Vec<Fingerprint>,
    /// Every key file that held a version, in the order added.
    origins: Vec<String>,
    /// Revocation certificates issued by this certificate's primary key, found on their own.
    revocations: Vec<Signature>,
    /// The merged certificate, built on first use; `None` when no version parses.
    cert: OnceLock<Option<Cert>>,
}

impl Entry {
    /// The merged certificate (built now if this is the first use).
    pub(super) fn cert(&self) -> Option<&Cert> {
        self.cert
            .get_or_init(|| {
                let raws: Vec<&RawCert<'static>> = self
                    .versions
                    .iter()
                    .filter_map(|v| match v {
                        Version::Raw(raw) => Some(&**raw),
                        Version::InFile(file, nth) => file
                            .certs
                            .get_or_init(|| {
                                parse_file(&file.bytes).map(|p| p.0).unwrap_or_default()
                            })
                            .get(*nth)
                            .filter(|raw| raw.fingerprint() == self.fingerprint),
                    })
                    .collect();
                let own: Vec<KeyID> = self.keys.iter().map(KeyID::from).collect();
                let cert = build(&raws, &own)?;
                if self.revocations.is_empty() {
                    return Some(cert);
                }
                // A revocation that does not verify is kept aside by the certificate, unused.
                let packets = self.revocations.iter().cloned().map(Packet::from);
                Some(cert.clone().insert_packets(packets).map_or(cert, |(c, _)| c))
            })
            .as_ref()
    }
}

impl Entry {
    /// Every version of the certificate read, as binary OpenPGP (for another verifier).
    pub(super) fn version_bytes(&self) -> Vec<Vec<u8>> {
        self.versions
            .iter()
            .filter_map(|v| match v {
                Version::Raw(raw) => Some(raw.as_bytes().to_vec()),
                Version::InFile(file, nth) => file
                    .certs
                    .get_or_init(|| parse_file(&file.bytes).map(|p| p.0).unwrap_or_default())
                    .get(*nth)
                    .map(|raw| raw.as_bytes().to_vec()),
            })
            .collect()
    }
}

/// One version of a certificate: parsed, or the `nth` certificate of a key file whose index
/// was known (then the file is parsed the first time one of its certificates is needed).
enum Version {
    Raw(Box<RawCert<'static>>),
    InFile(Arc<KeyFile>, usize),
}

/// A key file's bytes, and its certificates once parsed.
struct KeyFile {
    bytes: Vec<u8>,
    certs: OnceLock<Vec<RawCert<'static>>>,
}

/// What a key file holds: for each certificate in file order, its primary fingerprint and the
/// fingerprints of all its keys.
pub type FileIndex = Vec<(Fingerprint, Vec<Fingerprint>)>;

/// A key file that held no usable certificate.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct KeyError {
    /// How the file is named in reports (`add_file`'s `origin`).
    pub origin: String,
    /// What was wrong, in lowercase.
    pub reason: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("certificates", &self.entries.len()).finish()
    }
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every certificate in an armored or binary key file (several certs per file, several
    /// files with versions of the same cert merge as gpg's import does). `origin` is how reports
    /// name the file (e.g. "builder-keys/laanwj.gpg"). Returns how many certificates it held.
    ///
    /// Secret key material is never used (dropped when the certificate is parsed). A file with
    /// no readable certificate at all is an error; unreadable ones among readable ones are
    /// skipped, as gpg's import skips them.
    pub fn add_file(&mut self, origin: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        self.add_parsed(origin, bytes).map(|(index, _)| index.len())
    }

    /// [`Keyring::add_file`], returning what the file holds (for [`Keyring::add_known_file`]
    /// on a later run).
    ///
    /// `None` instead of an index when the file holds what an index cannot stand for (a
    /// revocation certificate outside any certificate): it is then parsed on every run.
    pub fn add_file_indexed(
        &mut self,
        origin: &str,
        bytes: &[u8],
    ) -> Result<Option<FileIndex>, KeyError> {
        self.add_parsed(origin, bytes).map(|(index, indexable)| indexable.then_some(index))
    }

    /// Adds a key file; returns what it holds and whether that index stands for all of it.
    fn add_parsed(&mut self, origin: &str, bytes: &[u8]) -> Result<(FileIndex, bool), KeyError> {
        let (certs, revocations, first_error) =
            parse_file(bytes).map_err(|reason| KeyError { origin: origin.to_string(), reason })?;
        let indexable = revocations.is_empty();
        for sig in revocations {
            self.add_revocation(sig);
        }
        if certs.is_empty() && !indexable {
            return Ok((Vec::new(), false));
        }
        if certs.is_empty() {
            let reason = match first_error {
                Some(e) => format!("no readable OpenPGP certificate: {}", lowercase_first(&e)),
                None => "no OpenPGP certificate".to_string(),
            };
            return Err(KeyError { origin: origin.to_string(), reason });
        }
        let mut index = Vec::with_capacity(certs.len());
        for raw in certs {
            let keys: Vec<Fingerprint> = raw.keys().map(|k| k.fingerprint()).collect();
            index.push((raw.fingerprint(), keys.clone()));
            self.insert(origin, raw.fingerprint(), keys, Version::Raw(Box::new(raw)));
        }
        Ok((index, indexable))
    }

    /// A key revocation found on its own: applied to the certificate whose primary key issued
    /// it (now, or when that certificate is added).
    fn add_revocation(&mut self, sig: Signature) {
        for entry in &mut self.entries {
            if revokes(&sig, &entry.fingerprint) {
                entry.revocations.push(sig.clone());
                entry.cert = OnceLock::new();
            }
        }
        self.revocations.push(sig);
    }

    /// Adds the certificates of a key file whose [`FileIndex`] is known from an earlier run of
    /// [`Keyring::add_file_indexed`] over the same bytes, without parsing it: the file is parsed
    /// when a signature first needs one of its certificates (a certificate whose fingerprint
    /// then differs from the index is not used).
    pub fn add_known_file(&mut self, origin: &str, bytes: Vec<u8>, index: &FileIndex) {
        let file = Arc::new(KeyFile { bytes, certs: OnceLock::new() });
        for (nth, (fingerprint, keys)) in index.iter().enumerate() {
            let version = Version::InFile(file.clone(), nth);
            self.insert(origin, fingerprint.clone(), keys.clone(), version);
        }
    }

    /// Hands signatures by keys this library cannot use (see [`super::Fallback`]) to `fallback`.
    pub fn set_fallback(&mut self, fallback: Arc<dyn super::Fallback>) {
        self.fallback = Some(fallback);
    }

    pub(super) fn fallback(&self) -> Option<&dyn super::Fallback> {
        self.fallback.as_deref()
    }

    pub(super) fn note_fallback(&self, fingerprint: &str, why: &str) {
        if let Ok(mut used) = self.fallback_used.lock() {
            used.entry(fingerprint.to_string()).or_insert_with(|| why.to_string());
        }
    }

    /// The certificates whose signatures the fallback checked (primary fingerprint, and the
    /// algorithm this library lacks), in fingerprint order.
    pub fn fallback_used(&self) -> Vec<(String, String)> {
        self.fallback_used.lock().map(|u| u.clone().into_iter().collect()).unwrap_or_default()
    }

    /// Number of distinct certificates (by primary fingerprint).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Primary fingerprints (40 uppercase hex) of every certificate, in the order first added.
    pub fn fingerprints(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(|e| e.fingerprint.to_hex())
    }

    /// The origin of the certificate whose primary fingerprint is `fingerprint` (hex).
    pub fn origin_of(&self, fingerprint: &str) -> Option<&str> {
        let fpr: Fingerprint = fingerprint.parse().ok()?;
        self.by_primary.get(&fpr).map(|&i| self.entries[i].origin.as_str())
    }

    fn insert(
        &mut self,
        origin: &str,
        fingerprint: Fingerprint,
        keys: Vec<Fingerprint>,
        version: Version,
    ) {
        let index = match self.by_primary.get(&fingerprint) {
            Some(&i) => i,
            None => {
                let revocations =
                    self.revocations.iter().filter(|s| revokes(s, &fingerprint)).cloned().collect();
                self.entries.push(Entry {
                    origin: origin.to_string(),
                    fingerprint: fingerprint.clone(),
                    versions: Vec::new(),
                    keys: Vec::new(),
                    origins: Vec::new(),
                    revocations,
                    cert: OnceLock::new(),
                });
                self.by_primary.insert(fingerprint, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[index];
        if !entry.origins.iter().any(|o| o == origin) {
            entry.origins.push(origin.to_string());
        }
        entry.versions.push(version);
        // A new version invalidates a certificate built from the earlier ones.
        entry.cert = OnceLock::new();
        for fpr in keys {
            if !entry.keys.contains(&fpr) {
                let ids = self.by_keyid.entry(KeyID::from(&fpr)).or_default();
                if !ids.contains(&index) {
                    ids.push(index);
                }
                entry.keys.push(fpr);
            }
        }
    }

    /// Records that the key file `origin` holds the same bytes as the key file `same_as`,
    /// added before: its certificates are held by both.
    pub fn add_copy(&mut self, origin: &str, same_as: &str) {
        for entry in &mut self.entries {
            if entry.origins.iter().any(|o| o == same_as)
                && !entry.origins.iter().any(|o| o == origin)
            {
                entry.origins.push(origin.to_string());
            }
        }
    }

    /// Every key file that holds the certificate whose primary fingerprint is `fingerprint`
    /// (hex), in the order they were added.
    pub fn origins_of(&self, fingerprint: &str) -> &[String] {
        let Ok(fpr) = fingerprint.parse::<Fingerprint>() else { return &[] };
        self.by_primary.get(&fpr).map_or(&[], |&i| self.entries[i].origins.as_slice())
    }

    /// Every (certificate, key) whose key matches one of the signature's issuers, fingerprints
    /// first, without duplicates.
    pub(super) fn candidates(&self, issuers: &[KeyHandle]) -> Vec<(&Entry, Fingerprint)> {
        let mut found: Vec<(usize, Fingerprint)> = Vec::new();
        for issuer in issuers {
            let Some(entries) = self.by_keyid.get(&KeyID::from(issuer)) else { continue };
            for &i in entries {
                for fpr in &self.entries[i].keys {
                    if issuer.aliases(KeyHandle::from(fpr))
                        && !found.iter().any(|(j, f)| *j == i && f == fpr)
                    {
                        found.push((i, fpr.clone()));
                    }
                }
            }
        }
        found.into_iter().map(|(i, fpr)| (&self.entries[i], fpr)).collect()
    }

    #[cfg(test)]
    pub(super) fn entries(&self) -> &[Entry] {
        &self.entries
    }
}
