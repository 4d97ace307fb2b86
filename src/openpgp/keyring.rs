//! Certificates from key files, merged by primary fingerprint, as gpg's keyring holds them after
//! importing every file.
//!
//! Loading only indexes: each file is split into raw certificates (primary and subkey
//! fingerprints read, nothing else parsed) and kept. A certificate is parsed, merged across its
//! versions and canonicalised the first time a signature names one of its keys; a ledger's key
//! folder holds many keys no signature in the release uses. Parsing drops what never affects a
//! verdict: user attributes (photo IDs, often the largest packets) and third-party
//! certifications of user IDs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

use sequoia_openpgp as openpgp;

use openpgp::cert::raw::{RawCert, RawCertParser, RawPacket};
use openpgp::packet::Signature;
use openpgp::packet::Tag;
use openpgp::parse::Parse;
use openpgp::types::SignatureType;
use openpgp::{Cert, Fingerprint, KeyHandle, KeyID, Packet};

use super::armor;

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

/// Parses and merges every version of a certificate, public parts only.
///
/// The versions' packets are gathered per component first (the primary key, each user ID,
/// each subkey), each distinct signature once, so a certificate held in several files is
/// parsed once rather than once per file and then merged. Certificates with secret key
/// packets take the general way: each version parsed, stripped and merged.
fn build(versions: &[&RawCert<'static>], own: &[KeyID]) -> Option<Cert> {
    let public_only = versions
        .iter()
        .all(|raw| raw.packets().all(|p| !matches!(p.tag(), Tag::SecretKey | Tag::SecretSubkey)));
    if public_only && let Some(cert) = build_merged(versions, own) {
        return Some(cert);
    }
    let mut merged: Option<Cert> = None;
    for raw in versions {
        let Ok(cert) = Cert::from_packets(relevant_packets(raw).into_iter()) else { continue };
        let cert = cert.strip_secret_key_material();
        merged = Some(match merged {
            None => cert,
            // Only fails for different fingerprints, which the index rules out.
            Some(m) => m.merge_public(cert).ok()?,
        });
    }
    merged
}

/// One certificate from the union of its versions' components and signatures; `None` when a
/// packet does not parse (the general way then says which versions are usable).
/// `own` holds the key ids of every key of every version.
fn build_merged(versions: &[&RawCert<'static>], own: &[KeyID]) -> Option<Cert> {
    use std::collections::HashSet;
    // Components in first-seen order, with their signatures.
    let mut components: Vec<(&[u8], Vec<RawPacket<'_>>)> = Vec::new();
    let mut index: HashMap<(Tag, &[u8]), usize> = HashMap::new();
    let mut seen_sigs: HashSet<(usize, &[u8])> = HashSet::new();
    let mut packets: Vec<RawPacket<'_>> = Vec::new();
    for raw in versions {
        let whole = raw.as_bytes();
        let mut current: Option<usize> = None;
        for p in raw.packets() {
            // The packet's body as a slice of the certificate's bytes (lives as long as they).
            let body = p.body();
            let body: &[u8] = whole
                .get((body.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?..)?
                .get(..body.len())?;
            match p.tag() {
                Tag::Signature => {
                    let Some(c) = current else { continue };
                    if !seen_sigs.insert((c, body)) {
                        continue;
                    }
                    // Third-party certifications never affect a verdict: dropped unparsed
                    // when the raw bytes tell (v4), after parsing otherwise.
                    if raw_certification_issuers(body).is_some_and(|issuers| {
                        !issuers.is_empty() && !issuers.iter().any(|i| own.contains(i))
                    }) {
                        continue;
                    }
                    components[c].1.push(p);
                }
                Tag::UserAttribute => current = None,
                Tag::PublicKey | Tag::UserID | Tag::PublicSubkey => {
                    let key = (p.tag(), body);
                    let c = *index.entry(key).or_insert_with(|| {
                        components.push((body, Vec::new()));
                        packets.push(p.clone());
                        components.len() - 1
                    });
                    current = Some(c);
                }
                // Trust packets, markers and anything unknown: not part of a certificate's
                // meaning.
                _ => {}
            }
        }
    }
    let mut out: Vec<Packet> = Vec::with_capacity(components.len() * 4);
    for (i, (_, sigs)) in components.iter().enumerate() {
        out.push(Packet::try_from(packets[i].clone()).ok()?);
        for sig in sigs {
            let packet = Packet::try_from(sig.clone()).ok()?;
            if let Packet::Signature(s) = &packet
                && is_third_party_certification(s, own)
            {
                continue;
            }
            out.push(packet);
        }
    }
    if !matches!(out.first(), Some(Packet::PublicKey(_))) {
        return None;
    }
    Cert::from_packets(out.into_iter()).ok()
}

/// For a version 4 certification of a user ID, the key ids its subpackets name as issuer
/// (issuer and issuer fingerprint, hashed or not); an empty list for any other signature type;
/// `None` when the bytes are not a well-formed v4 signature.
fn raw_certification_issuers(body: &[u8]) -> Option<Vec<KeyID>> {
    if body.first() != Some(&4) {
        return None;
    }
    let typ = *body.get(1)?;
    if !(0x10..=0x13).contains(&typ) {
        return Some(Vec::new());
    }
    let mut issuers = Vec::new();
    let mut pos = 4;
    for _ in 0..2 {
        let len = usize::from(u16::from_be_bytes([*body.get(pos)?, *body.get(pos + 1)?]));
        let area = body.get(pos + 2..pos + 2 + len)?;
        let mut i = 0;
        while i < area.len() {
            let (sub_len, header) = match area[i] {
                o @ 0..=191 => (usize::from(o), 1),
                o @ 192..=254 => {
                    (((usize::from(o) - 192) << 8) + usize::from(*area.get(i + 1)?) + 192, 2)
                }
                255 => {
                    let b = area.get(i + 1..i + 5)?;
                    (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
                }
            };
            let sub = area.get(i + header..i + header + sub_len)?;
            let (&t, data) = sub.split_first()?;
            match t & 0x7f {
                16 if data.len() == 8 => issuers.push(KeyID::from_bytes(data)),
                33 if data.len() == 21 && data[0] == 4 => {
                    issuers.push(KeyID::from_bytes(&data[13..21]));
                }
                _ => {}
            }
            i += header + sub_len;
        }
        pos += 2 + len;
    }
    Some(issuers)
}

/// The packets of `raw` that can affect a verdict: all but user attributes (with their
/// signatures) and certifications of user IDs by other keys.
fn relevant_packets(raw: &RawCert<'_>) -> Vec<Packet> {
    let own: Vec<KeyID> = raw.keys().map(|k| k.keyid()).collect();
    let mut out = Vec::with_capacity(raw.count());
    let mut in_attribute = false;
    for p in raw.packets() {
        match p.tag() {
            Tag::UserAttribute => {
                in_attribute = true;
                continue;
            }
            Tag::Signature if in_attribute => continue,
            Tag::Signature => {}
            _ => in_attribute = false,
        }
        let Ok(packet) = Packet::try_from(p) else { continue };
        if let Packet::Signature(sig) = &packet
            && is_third_party_certification(sig, &own)
        {
            continue;
        }
        out.push(packet);
    }
    out
}

fn is_third_party_certification(sig: &openpgp::packet::Signature, own: &[KeyID]) -> bool {
    use SignatureType::*;
    matches!(
        sig.typ(),
        GenericCertification | PersonaCertification | CasualCertification | PositiveCertification
    ) && {
        let issuers = sig.get_issuers();
        !issuers.is_empty() && !issuers.iter().any(|h| own.contains(&KeyID::from(h)))
    }
}

/// A key file's certificates, loose revocations and first problem.
type ParsedFile = (Vec<RawCert<'static>>, Vec<Signature>, Option<String>);

/// Every certificate of a key file, in file order, the key revocations found outside any
/// certificate (a revocation certificate, as `gpg --gen-revoke` writes it, appended or alone),
/// and the first problem met (unreadable blocks or certificates among readable ones are
/// skipped, as gpg's import skips them).
///
/// Refused whole (`Err`) when the library's certificate splitter indexed a packet that is not
/// in the certificate it returns: a packet that has no place in a certificate (an empty
/// one-pass, compressed, literal or session-key packet, bad input item 13) right after one. Its
/// packet list then points past the certificate's bytes, and reading the packets panics inside
/// the library; one contributed key file must not stop every verify of the ledger.
fn parse_file(bytes: &[u8]) -> Result<ParsedFile, String> {
    let mut certs = Vec::new();
    let mut revocations = Vec::new();
    let mut first_error = None;
    for block in key_blocks(bytes) {
        let binary = match dearmor(block) {
            Ok(binary) => binary,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        if starts_with_signature(&binary) {
            revocations.extend(loose_revocations(&binary));
            continue;
        }
        let parser = match RawCertParser::from_bytes(&*binary) {
            Ok(parser) => parser,
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        let mut last_ok = false;
        for raw in parser {
            match raw {
                Ok(raw) => {
                    certs.push(raw.into_owned());
                    last_ok = true;
                }
                Err(e) => {
                    // The splitter stops a certificate at a foreign packet with an error.
                    if last_ok && certs.last().is_some_and(|raw| !packets_in_bounds(raw)) {
                        return Err(format!(
                            "a packet that has no place in a certificate follows one: {}",
                            lowercase_first(&e.to_string())
                        ));
                    }
                    last_ok = false;
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
    Ok((certs, revocations, first_error))
}

/// Whether every packet `raw` lists lies inside its bytes: its bytes split again hold as many.
fn packets_in_bounds(raw: &RawCert<'_>) -> bool {
    RawCertParser::from_bytes(raw.as_bytes())
        .ok()
        .and_then(|mut parser| parser.next())
        .and_then(Result::ok)
        .is_some_and(|again| again.count() == raw.count())
}

/// Whether binary OpenPGP begins with a signature packet (a block that is no certificate).
fn starts_with_signature(binary: &[u8]) -> bool {
    match binary.first() {
        // New format: the tag is the low six bits; old format: bits 5-2.
        Some(&b) if b & 0xc0 == 0xc0 => b & 0x3f == 2,
        Some(&b) if b & 0x80 != 0 => (b >> 2) & 0x0f == 2,
        _ => false,
    }
}

/// The key revocation signatures of a block of loose signatures (at most 64 read).
fn loose_revocations(binary: &[u8]) -> Vec<Signature> {
    use openpgp::parse::{PacketParserResult, Parse as _};
    let mut out = Vec::new();
    let Ok(mut ppr) = openpgp::parse::PacketParser::from_bytes(binary) else { return out };
    for _ in 0..64 {
        let PacketParserResult::Some(pp) = ppr else { break };
        let Ok((packet, next)) = pp.next() else { break };
        if let Packet::Signature(sig) = packet
            && sig.typ() == SignatureType::KeyRevocation
        {
            out.push(sig);
        }
        ppr = next;
    }
    out
}

/// Whether `sig` claims to be issued by the primary key `primary` (checked later, with the
/// certificate, as every self-signature is).
fn revokes(sig: &Signature, primary: &Fingerprint) -> bool {
    sig.get_issuers().iter().any(|h| h.aliases(KeyHandle::from(primary)))
}

/// The binary OpenPGP of one key block: armor decoded (fast path, else sequoia's tolerant
/// reader), binary passed through.
fn dearmor(block: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if !block.starts_with(b"-----BEGIN PGP ") {
        return Ok(Cow::Borrowed(block));
    }
    if let Some(binary) = armor::decode(block) {
        return Ok(Cow::Owned(binary));
    }
    let mut reader =
        openpgp::armor::Reader::from_bytes(block, openpgp::armor::ReaderMode::Tolerant(None));
    let mut binary = Vec::new();
    reader.read_to_end(&mut binary).map_err(|e| format!("bad armor: {e}"))?;
    Ok(Cow::Owned(binary))
}

/// Splits a key file into parseable pieces: a binary file is one piece; an armored one is cut
/// at every armor header, so that files with several armored blocks (as gpg imports them) yield
/// every certificate, and text before a header is skipped.
fn key_blocks(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return vec![bytes];
    }
    const HEADER: &[u8] = b"-----BEGIN PGP ";
    let mut starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            bytes[i..].starts_with(HEADER)
                && (i == 0 || bytes[i - 1] == b'\n' || bytes[i - 1] == b'\r')
        })
        .collect();
    if starts.is_empty() {
        return vec![bytes];
    }
    // Each block ends where the next begins: the armor reader would read on into it.
    starts.push(bytes.len());
    starts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
