//! The verify workflow: read one or more ledgers (directories, or git trees at revisions), check
//! every signature against the keys kept in the ledgers and given with `--keys`, parse every
//! manifest, and hand the rows to `core::consensus`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::core::assertion::Document;
use crate::core::consensus::{self, GroupReport, Layout, Row};
use crate::core::layout::check_component;
use crate::core::manifest::Manifest;
use crate::core::policy::{self, Policy};
use crate::core::sums;
use crate::git::ledger as gitledger;
use crate::ledger::{Content, Entry, FsTree, GitTree, Kind, LedgerTree, SourceError};
use crate::openpgp::{self, Keyring, SigStatus};
use crate::ops::memo::{self, Attestation, Memory};

/// Largest attestation read (a real assert averages 67 kB; the largest seen is under 1 MB).
pub const MAX_ATTESTATION: u64 = 32 << 20;
/// Largest signature read.
pub const MAX_SIGNATURE: u64 = 1 << 20;
/// Largest key file read.
pub const MAX_KEY_FILE: u64 = 8 << 20;
/// Folders of a ledger that hold public keys rather than releases.
pub const KEY_DIRS: [&str; 3] = ["builder-keys", "keys", "gitian-keys"];
/// Signature file extensions, in the order they are looked for.
pub const SIG_EXTS: [&str; 4] = ["sig", "asc", "gpg", "pgp"];

/// One ledger to read.
#[derive(Debug, Clone)]
pub enum LedgerSpec {
    /// Files on disk.
    Dir(PathBuf),
    /// Git objects at revisions of the repository at `path`.
    Git {
        /// Work tree or bare repository.
        path: PathBuf,
        /// Revisions (HEAD when empty and not `all_branches`).
        revs: Vec<String>,
        /// Every local and remote-tracking branch.
        all_branches: bool,
    },
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct Query {
    /// The ledgers.
    pub ledgers: Vec<LedgerSpec>,
    /// Release directories (all when empty).
    pub releases: Vec<String>,
    /// Only `<name>-build.assert` files (Gitian layout) when set.
    pub name: Option<String>,
    /// Extra key files or folders.
    pub keys: Vec<PathBuf>,
    /// Key material given in memory: (origin shown in reports, bytes).
    pub extra_keys: Vec<(String, Vec<u8>)>,
    /// Time at which expiry is judged.
    pub at: SystemTime,
    /// Threshold (overrides the policy's).
    pub threshold: Option<usize>,
    /// gverify's reference signer.
    pub compare_to: Option<String>,
    /// The folder of what earlier runs learnt ([`crate::ops::memo`]); nothing read or written
    /// when `None`.
    pub cache: Option<PathBuf>,
}

/// Where `verify` remembers what earlier runs learnt.
pub fn default_cache() -> PathBuf {
    crate::ops::base::cache_root().join("verify")
}

/// The whole outcome.
#[derive(Debug, Clone)]
pub struct Report {
    /// One report per (ledger, release, group).
    pub groups: Vec<GroupReport>,
    /// Findings that fail the run but belong to no row (refused names, symlinks, bad keys).
    pub problems: Vec<String>,
    /// Findings that do not fail the run (unreadable key files, skipped entries).
    pub warnings: Vec<String>,
    /// Certificates loaded.
    pub keys_loaded: usize,
    /// The policy applied.
    pub policy: Policy,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
            && !self.groups.is_empty()
            && self.groups.iter().all(GroupReport::passed)
    }
}

/// Could not verify at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A ledger could not be read.
    #[error("cannot read ledger {0}")]
    Source(#[from] SourceError),
    /// A --keys path could not be read.
    #[error("cannot read keys {path}: {message}")]
    Keys {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
    /// The policy file is invalid.
    #[error("invalid policy: {0}")]
    Policy(String),
    /// Nothing to verify.
    #[error("no attestations found in {0}")]
    Empty(String),
    /// A named release is absent.
    #[error("release '{release}' does not exist in {ledger}")]
    NoRelease {
        /// The release.
        release: String,
        /// The ledger.
        ledger: String,
    },
}

/// One version of a row with the digest of its bytes (data and signature).
type Version = (Row, [u8; 32]);

/// Runs the verification.
pub fn verify(q: &Query) -> Result<Report, VerifyError> {
    let mut trees: Vec<(usize, Box<dyn LedgerTree>)> = Vec::new();
    for (i, spec) in q.ledgers.iter().enumerate() {
        match spec {
            LedgerSpec::Dir(path) => {
                if !path.is_dir() {
                    return Err(SourceError {
                        what: path.display().to_string(),
                        message: "not a directory".into(),
                    }
                    .into());
                }
                trees.push((i, Box::new(FsTree::new(path, path.display().to_string()))));
            }
            LedgerSpec::Git { path, revs, all_branches } => {
                for (label, commit) in gitledger::revisions(path, revs, *all_branches)? {
                    trees.push((i, Box::new(GitTree::open(path, &label, &commit)?)));
                }
            }
        }
    }

    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    // Key files: every ledger's key folders at every revision, then --keys, then in memory.
    // Read here; parsed on another thread while the ledger is collected.
    let mut key_files: Vec<(String, Vec<u8>)> = Vec::new();
    for (_, tree) in &trees {
        read_tree_keys(tree.as_ref(), "", &mut key_files, &mut warnings, 0)?;
    }
    let extra_keys = || -> Result<_, VerifyError> {
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        for path in &q.keys {
            // Reports name key files relative to the folder given, e.g.
            // `keys/gitian-pr621/X.pgp`.
            let base = path.parent().unwrap_or(Path::new(""));
            read_path_keys(path, base, &mut files, &mut warnings)?;
        }
        files.extend(q.extra_keys.iter().cloned());
        Ok((files, warnings))
    };

    // Policy: from the first ledger that has one.
    let mut policy = Policy::default();
    for (_, tree) in &trees {
        if let Ok(Content::Bytes(b)) = tree.read(policy::FILE, 1 << 20) {
            let text = String::from_utf8(b).map_err(|_| VerifyError::Policy("not UTF-8".into()))?;
            policy = Policy::parse(&text).map_err(VerifyError::Policy)?;
            break;
        }
    }
    if let Some(t) = q.threshold {
        policy.threshold = t;
    }

    let several_revisions = trees.len() > q.ledgers.len();
    let labels: Vec<String> = q.ledgers.iter().map(ledger_label).collect();
    let cache = q.cache.as_deref().map(memo::load_signatures);
    let memory = q.cache.as_deref().map(Memory::load);
    let (keyring, key_warnings, outcome) = pipeline(
        key_files,
        extra_keys,
        cache,
        memory.as_ref(),
        || -> Result<_, VerifyError> {
            // Everything found, in every tree.
            let mut items: Vec<(usize, Option<String>, Found)> = Vec::new();
            for (ledger_idx, tree) in &trees {
                for found in collect_tree(tree.as_ref(), q, &mut problems)? {
                    items.push((*ledger_idx, tree.rev(), found));
                }
            }
            // With several revisions the same bytes recur: verify and parse each distinct
            // version once.
            let fingerprints: Vec<[u8; 32]> = items
                .iter()
                .enumerate()
                .map(|(i, (_, _, f))| {
                    if several_revisions {
                        f.fingerprint()
                    } else {
                        let mut fp = [0u8; 32];
                        fp[..8].copy_from_slice(&(i as u64).to_le_bytes());
                        fp
                    }
                })
                .collect();
            let mut first_of: HashMap<[u8; 32], usize> = HashMap::new();
            let mut unique = Vec::new();
            for (i, fp) in fingerprints.iter().enumerate() {
                first_of.entry(*fp).or_insert_with(|| {
                    unique.push(i);
                    unique.len() - 1
                });
            }
            Ok(Work::new(items, fingerprints, first_of, unique))
        },
        q.at,
    );
    warnings.extend(key_warnings?);
    let (work, parsed, verdicts) = outcome?;
    let Work { items, fingerprints, first_of, unique, .. } = work;
    // A signed file that could not be read (read by the workers): the ledger is unreadable.
    for (_, _, found) in &items {
        if let Some(e) = found.data.as_deref().and_then(Signed::error) {
            return Err(e.clone().into());
        }
    }

    // A named release must exist in each ledger, at one revision at least.
    for (idx, spec) in q.ledgers.iter().enumerate() {
        for wanted in &q.releases {
            let seen = items.iter().any(|(l, _, f)| *l == idx && f.release == *wanted);
            let dir_exists = trees.iter().any(|(l, t)| *l == idx && t.list(wanted).is_ok());
            if !seen && !dir_exists {
                return Err(VerifyError::NoRelease {
                    release: wanted.clone(),
                    ledger: ledger_label(spec),
                });
            }
        }
    }
    let computed: Vec<Row> = unique
        .iter()
        .zip(parsed.into_iter().zip(verdicts))
        .map(|(&i, (parsed, verdict))| {
            let (ledger_idx, _, found) = &items[i];
            found.to_row(&labels[*ledger_idx], parsed, verdict, &policy)
        })
        .collect();
    let mut versions: BTreeMap<(usize, String), Vec<Version>> = BTreeMap::new();
    for (i, (ledger_idx, rev, _)) in items.iter().enumerate() {
        let fp = fingerprints[i];
        let mut row = computed[first_of[&fp]].clone();
        row.revs = rev.iter().cloned().collect();
        let key = (
            *ledger_idx,
            format!("{}\0{}\0{}\0{:?}", row.release, row.signer, row.file, row.sig_path),
        );
        versions.entry(key).or_default().push((row, fp));
    }
    let mut rows = Vec::new();
    for (_, mut vs) in versions {
        let distinct: std::collections::BTreeSet<[u8; 32]> = vs.iter().map(|(_, f)| *f).collect();
        if distinct.len() == 1 {
            let mut row = vs.remove(0).0;
            for (other, _) in vs {
                row.revs.extend(other.revs);
            }
            rows.push(row);
        } else {
            // The same file differs between revisions: report every version, count none.
            let mut by_fp: BTreeMap<[u8; 32], Row> = BTreeMap::new();
            for (row, fp) in vs {
                by_fp.entry(fp).and_modify(|r| r.revs.extend(row.revs.clone())).or_insert(row);
            }
            let all: Vec<String> = by_fp.values().map(|r| r.revs.join(",")).collect();
            for (_, mut row) in by_fp {
                row.conflict = Some(format!("differs between revisions ({})", all.join(" / ")));
                rows.push(row);
            }
        }
    }
    if rows.is_empty() && problems.is_empty() {
        let names: Vec<String> = q.ledgers.iter().map(ledger_label).collect();
        return Err(VerifyError::Empty(names.join(", ")));
    }
    let opts = consensus::Options {
        threshold: policy.threshold,
        compare_to: q.compare_to.clone(),
        required_signers: policy.required_signers.clone(),
    };
    let groups = consensus::compute(rows, &opts);
    if let (Some(dir), Some(memory)) = (&q.cache, memory) {
        // A cache that cannot be written only makes the next run slower.
        let _ = memo::save_signatures(dir);
        let _ = memory.save(dir);
    }
    Ok(Report { groups, problems, warnings, keys_loaded: keyring.len(), policy })
}

/// What the collection found, with the work to do on it.
struct Work {
    items: Vec<(usize, Option<String>, Found)>,
    fingerprints: Vec<[u8; 32]>,
    first_of: HashMap<[u8; 32], usize>,
    /// Indices into `items` of the distinct versions: one parse and one verification each.
    unique: Vec<usize>,
    parsed: Vec<OnceLock<Parsed>>,
    verdicts: Vec<OnceLock<Option<openpgp::Verdict>>>,
    next_parse: AtomicUsize,
    next_verify: AtomicUsize,
}

impl Work {
    fn new(
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
            verdicts: (0..n).map(|_| OnceLock::new()).collect(),
            next_parse: AtomicUsize::new(0),
            next_verify: AtomicUsize::new(0),
        }
    }

    /// Takes parse jobs while there are any, then (once the keyring is there) verifications.
    fn help(&self, keyring: &OnceLock<Keyring>, at: SystemTime, memory: Option<&Memory>) {
        let n = self.unique.len();
        loop {
            let i = self.next_parse.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            let _ = self.parsed[i].set(self.items[self.unique[i]].2.parse(memory));
        }
        let keyring = keyring.wait();
        loop {
            let i = self.next_verify.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            let _ = self.verdicts[i].set(self.items[self.unique[i]].2.verify(keyring, at, memory));
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
type KeyFiles = (Vec<(String, Vec<u8>)>, Vec<String>);

type Outcome = Result<(Work, Vec<Parsed>, Vec<Option<openpgp::Verdict>>), VerifyError>;

/// The CPU-bound part, spread over the machine's cores (up to four): the keys are parsed on
/// one thread while this one collects the ledger (`collect`); then every thread parses
/// attestations, then verifies signatures, each job taken by whichever thread is free. Returns
/// the keyring, the key files' warnings, and the collection with a parse and a verdict per
/// distinct version.
fn pipeline(
    mut key_files: Vec<(String, Vec<u8>)>,
    more_keys: impl FnOnce() -> Result<KeyFiles, VerifyError> + Send,
    cache: Option<openpgp::cache::Loading>,
    memory: Option<&Memory>,
    collect: impl FnOnce() -> Result<Work, VerifyError>,
    at: SystemTime,
) -> (Keyring, Result<Vec<String>, VerifyError>, Outcome) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(2, 4);
    let keyring: OnceLock<Keyring> = OnceLock::new();
    let work: OnceLock<Option<Work>> = OnceLock::new();
    let (key_warnings, error) = std::thread::scope(|scope| {
        let keys = scope.spawn(|| {
            let _guard = SetOnDrop(&keyring, Keyring::new);
            let (more, mut warnings) = match more_keys() {
                Ok(found) => found,
                Err(e) => {
                    let _ = keyring.set(Keyring::new());
                    return Err(e);
                }
            };
            key_files.extend(more);
            let (ring, parse_warnings) = build_keyring(std::mem::take(&mut key_files), memory);
            warnings.extend(parse_warnings);
            if let Some(loading) = cache {
                loading.wait();
            }
            let _ = keyring.set(ring);
            if let Some(w) = work.wait() {
                w.help(&keyring, at, memory);
            }
            Ok(warnings)
        });
        for _ in 2..threads {
            scope.spawn(|| {
                if let Some(w) = work.wait() {
                    w.help(&keyring, at, memory);
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
            w.help(&keyring, at, memory);
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

fn ledger_label(spec: &LedgerSpec) -> String {
    match spec {
        LedgerSpec::Dir(p) | LedgerSpec::Git { path: p, .. } => p.display().to_string(),
    }
}

fn show_name(entry: &Entry) -> String {
    match &entry.name {
        Ok(s) => s.escape_default().to_string(),
        Err(bytes) => String::from_utf8_lossy(bytes).escape_default().to_string(),
    }
}

/// Reads the key files of a ledger's key folders (recursively, three levels at most).
fn read_tree_keys(
    tree: &dyn LedgerTree,
    dir: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), VerifyError> {
    let entries = if dir.is_empty() {
        tree.list("")?
            .into_iter()
            .filter(|e| {
                e.kind == Kind::Dir && matches!(&e.name, Ok(n) if KEY_DIRS.contains(&n.as_str()))
            })
            .collect()
    } else {
        tree.list(dir)?
    };
    for entry in entries {
        let Ok(name) = &entry.name else { continue };
        let path = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
        match entry.kind {
            Kind::Dir if depth < 3 => read_tree_keys(tree, &path, out, warnings, depth + 1)?,
            // builder-keys/README.md (from `git gitian init`) explains the folder; not a key.
            Kind::File if name.ends_with(".md") => {}
            Kind::File if !dir.is_empty() => match tree.read(&path, MAX_KEY_FILE)? {
                Content::Bytes(b) => out.push((path, b)),
                Content::TooLarge(n) => {
                    warnings.push(format!("key file {path} skipped: {n} bytes"))
                }
            },
            Kind::Symlink => warnings.push(format!("key file {path} is a symlink: not followed")),
            _ => {}
        }
    }
    Ok(())
}

/// Every certificate of the key files; files with the same bytes are read once. With a memory,
/// a key file seen before is only indexed (parsed when a signature needs it).
fn build_keyring(files: Vec<(String, Vec<u8>)>, memory: Option<&Memory>) -> (Keyring, Vec<String>) {
    let mut keyring = Keyring::new();
    let mut warnings = Vec::new();
    // Keyed by length and the last bytes (an armor checksum, or key material), compared whole.
    let mut first = vec![true; files.len()];
    let mut seen: HashMap<(usize, &[u8]), Vec<usize>> = HashMap::new();
    for (i, (_, bytes)) in files.iter().enumerate() {
        let same = seen.entry((bytes.len(), &bytes[bytes.len().saturating_sub(48)..])).or_default();
        first[i] = !same.iter().any(|&j| files[j].1 == *bytes);
        if first[i] {
            same.push(i);
        }
    }
    for ((origin, bytes), first) in files.into_iter().zip(first) {
        if !first {
            continue;
        }
        let added = match memory {
            None => keyring.add_file(&origin, &bytes).map(drop),
            Some(memory) => {
                let digest = memo::digest(&bytes);
                match memory.key_file(&digest) {
                    Some(index) => {
                        keyring.add_known_file(&origin, bytes, index);
                        Ok(())
                    }
                    None => keyring
                        .add_file_indexed(&origin, &bytes)
                        .map(|index| memory.record_key_file(digest, index)),
                }
            }
        };
        if let Err(e) = added {
            warnings.push(format!("key file {origin} skipped: {e}"));
        }
    }
    (keyring, warnings)
}

/// Reads a `--keys` file, or every file under a `--keys` folder.
fn read_path_keys(
    path: &Path,
    base: &Path,
    out: &mut Vec<(String, Vec<u8>)>,
    warnings: &mut Vec<String>,
) -> Result<(), VerifyError> {
    let meta = std::fs::metadata(path).map_err(|e| VerifyError::Keys {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| VerifyError::Keys {
                path: path.display().to_string(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            read_path_keys(&p, base, out, warnings)?;
        }
    } else if meta.len() <= MAX_KEY_FILE {
        let bytes = std::fs::read(path).map_err(|e| VerifyError::Keys {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let origin = path.strip_prefix(base).unwrap_or(path).display().to_string();
        out.push((origin, bytes));
    } else {
        warnings.push(format!("key file {} skipped: too large", path.display()));
    }
    Ok(())
}

/// A signed file's content, and its digest once someone needed it. A file of a ledger on disk
/// is read by whichever thread first needs it, so the worker threads read in parallel; when
/// the memory names it, only its digest is needed, computed as the file streams through a
/// small buffer, and its bytes are read only if something was not remembered.
struct Signed {
    content: OnceLock<Result<Content, SourceError>>,
    /// A file on disk not read yet, and whether its digest is taken first (with a memory).
    deferred: Option<(Arc<FsTree>, String, bool)>,
    /// `None`: over the size limit.
    digest: OnceLock<Result<Option<memo::Digest>, SourceError>>,
}

impl Signed {
    fn new(content: Content) -> Self {
        Self { content: OnceLock::from(Ok(content)), deferred: None, digest: OnceLock::new() }
    }

    fn deferred(tree: Arc<FsTree>, path: String, digest_first: bool) -> Self {
        Self {
            content: OnceLock::new(),
            deferred: Some((tree, path, digest_first)),
            digest: OnceLock::new(),
        }
    }

    /// The content, read now if it was not yet. Bytes read after the digest was taken must be
    /// the digested ones: a file that changed in between is an error, never judged under the
    /// other bytes' name.
    fn content(&self) -> Result<&Content, &SourceError> {
        self.content
            .get_or_init(|| {
                let Some((tree, path, digest_first)) = &self.deferred else {
                    return Ok(Content::Bytes(Vec::new()));
                };
                let digested = match digest_first {
                    true => self.digest().map_err(Clone::clone)?.copied(),
                    false => None,
                };
                let content = tree.read(path, MAX_ATTESTATION)?;
                if let Some(d) = digested
                    && !matches!(&content, Content::Bytes(b) if memo::digest(b) == d)
                {
                    return Err(SourceError {
                        what: path.clone(),
                        message: "changed while it was being verified".into(),
                    });
                }
                Ok(content)
            })
            .as_ref()
    }

    /// The bytes, or none when they cannot be had (the run then fails with the reason).
    fn bytes(&self) -> &[u8] {
        match self.content() {
            Ok(Content::Bytes(b)) => b,
            _ => &[],
        }
    }

    /// The digest of the content (`None`: over the size limit), streamed from the disk when
    /// the content was not read.
    fn digest(&self) -> Result<Option<&memo::Digest>, &SourceError> {
        self.digest
            .get_or_init(|| match (&self.deferred, self.content.get()) {
                (Some((tree, path, _)), None) => {
                    let mut h = memo::Hasher::default();
                    let size = tree.read_through(path, MAX_ATTESTATION, |b| h.update(b))?;
                    Ok(size.map(|_| h.finish()))
                }
                _ => match self.content() {
                    Ok(Content::Bytes(b)) => Ok(Some(memo::digest(b))),
                    Ok(Content::TooLarge(_)) => Ok(None),
                    Err(e) => Err(e.clone()),
                },
            })
            .as_ref()
            .map(Option::as_ref)
    }

    /// Why the file could not be read, if it could not (by what was done with it so far).
    fn error(&self) -> Option<&SourceError> {
        match (self.content.get(), self.digest.get()) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(e),
            _ => None,
        }
    }
}

/// What the signed file says, before the signature is known.
struct Parsed {
    manifest: Option<Manifest>,
    manifest_id: String,
    file_error: Option<String>,
    field_error: Option<String>,
}

/// A signed file and/or signature found in a signer directory, before verification.
#[derive(Clone)]
struct Found {
    layout: Layout,
    release: String,
    group: String,
    signer: String,
    file: String,
    /// Shared by the records of each signature over it.
    data: Option<Arc<Signed>>,
    data_path: String,
    sig: Option<Content>,
    sig_path: Option<String>,
    file_error: Option<String>,
}

impl Found {
    fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        // Absent (N), unreadable (E), over the limit (L) or these bytes (B).
        let data = self.data.as_deref().map(|signed| signed.content().ok());
        for part in [data, self.sig.as_ref().map(Some)] {
            match part {
                None => h.update(b"N"),
                Some(None) => h.update(b"E"),
                Some(Some(Content::Bytes(b))) => {
                    h.update(b"B");
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
                Some(Some(Content::TooLarge(n))) => {
                    h.update(b"L");
                    h.update(n.to_le_bytes());
                }
            }
        }
        h.finalize().into()
    }

    /// The manifest and field checks of the signed file.
    fn parse(&self, memory: Option<&Memory>) -> Parsed {
        let mut p = Parsed {
            manifest: None,
            manifest_id: "-".to_string(),
            file_error: self.file_error.clone(),
            field_error: None,
        };
        let Some(signed) = self.data.as_deref() else { return p };
        // A remembered attestation was UTF-8 when it was read: looked up by its digest first,
        // without reading it.
        if let (Layout::Gitian, Some(memory)) = (self.layout, memory) {
            match signed.digest() {
                // A file that cannot be read fails the whole run (after the workers finish).
                Err(_) => return p,
                Ok(Some(digest)) => {
                    if let Some(said) = memory.attestation(digest) {
                        self.take_attestation(&mut p, said);
                        return p;
                    }
                }
                Ok(None) => {}
            }
        }
        let Ok(content) = signed.content() else { return p };
        match content {
            Content::TooLarge(n) => {
                p.file_error
                    .get_or_insert(format!("{} is {n} bytes, over the limit", self.data_path));
            }
            Content::Bytes(bytes) => match self.layout {
                Layout::Guix => {
                    let text = String::from_utf8_lossy(bytes);
                    let m = sums::parse(&text);
                    p.manifest_id = if m.is_empty() { "empty".into() } else { short_id(bytes) };
                    p.manifest = Some(m);
                }
                Layout::Gitian => match std::str::from_utf8(bytes) {
                    Err(_) => {
                        p.file_error.get_or_insert(format!("{} is not UTF-8", self.data_path));
                    }
                    Ok(text) => {
                        let said = read_attestation(text);
                        if let (Some(memory), Ok(Some(digest))) = (memory, signed.digest()) {
                            memory.record_attestation(*digest, said.clone());
                        }
                        self.take_attestation(&mut p, said);
                    }
                },
            },
        }
        p
    }

    /// What the attestation says, into `p`.
    fn take_attestation(&self, p: &mut Parsed, said: Attestation) {
        match said.error {
            Some(e) => {
                p.file_error.get_or_insert(format!("{}: {e}", self.data_path));
                p.manifest_id = "empty".into();
            }
            None => {
                let m = Manifest::parse(&said.out_manifest);
                let norm = consensus::normalised(&m);
                p.manifest_id =
                    if m.is_empty() { "empty".into() } else { short_id(norm.as_bytes()) };
                p.manifest = Some(m);
                p.field_error = check_fields(
                    said.release.as_deref(),
                    said.name.as_deref(),
                    &self.release,
                    &self.file,
                );
            }
        }
    }

    /// The verdict on the signature, if there is one.
    fn verify(
        &self,
        keyring: &Keyring,
        at: SystemTime,
        memory: Option<&Memory>,
    ) -> Option<openpgp::Verdict> {
        let sig = self.sig.as_ref()?;
        let too_large = || openpgp::Verdict {
            status: SigStatus::Error("file too large".into()),
            key_fingerprint: None,
            signing_key_fingerprint: None,
            key_origin: None,
            created: None,
        };
        let Content::Bytes(s) = sig else { return Some(too_large()) };
        Some(match (self.data.as_deref(), memory) {
            // The data is read only if the check was not remembered.
            (Some(signed), Some(memory)) => match signed.digest() {
                Ok(Some(digest)) => {
                    let bytes = || signed.bytes();
                    openpgp::verify_detached_memo(keyring, &bytes, digest, s, at, memory)
                }
                // Unreadable: the run fails with the reason after the workers finish.
                Ok(None) | Err(_) => too_large(),
            },
            (Some(signed), None) => match signed.content() {
                Ok(Content::Bytes(d)) => openpgp::verify_detached(keyring, d, s, at),
                _ => too_large(),
            },
            // No signed file: still learn who issued the signature.
            (None, _) => openpgp::verify_detached(keyring, b"", s, at),
        })
    }

    fn to_row(
        &self,
        ledger: &str,
        parsed: Parsed,
        verdict: Option<openpgp::Verdict>,
        policy: &Policy,
    ) -> Row {
        let Parsed { manifest, manifest_id, file_error, field_error } = parsed;
        let (status, counts, key, signing, origin) = match (&verdict, &self.data) {
            (None, _) => ("no_signature".to_string(), false, None, None, None),
            (Some(_), None) => ("no_data".to_string(), false, None, None, None),
            (Some(v), Some(_)) => {
                let counts = v.status == SigStatus::Good
                    || (v.status == SigStatus::ExpiredKey && policy.expired_keys_count);
                (
                    v.status.as_str(),
                    counts,
                    v.key_fingerprint.clone(),
                    v.signing_key_fingerprint.clone(),
                    v.key_origin.clone(),
                )
            }
        };
        // A no_data row still names the issuer of its signature.
        let key = key.or_else(|| verdict.as_ref().and_then(|v| v.key_fingerprint.clone()));
        Row {
            layout: self.layout,
            ledger: ledger.to_string(),
            release: self.release.clone(),
            group: self.group.clone(),
            file: self.file.clone(),
            signer: self.signer.clone(),
            sig_path: self.sig_path.clone(),
            status,
            counts,
            key_fingerprint: key,
            signing_key_fingerprint: signing,
            key_origin: origin,
            manifest,
            manifest_id,
            file_error,
            field_error,
            revs: Vec::new(),
            conflict: None,
        }
    }
}

fn short_id(bytes: &[u8]) -> String {
    gitledger::blob_id(bytes).chars().take(12).collect()
}

/// What an attestation's YAML says, or why it does not parse.
fn read_attestation(text: &str) -> Attestation {
    match Document::parse(text) {
        Err(e) => Attestation {
            error: Some(e.to_string()),
            release: None,
            name: None,
            out_manifest: String::new(),
        },
        Ok(doc) => Attestation {
            error: None,
            release: doc.str("release").map(str::to_string),
            name: doc.str("name").map(str::to_string),
            out_manifest: doc.str("out_manifest").unwrap_or("").to_string(),
        },
    }
}

/// gverify compares `release` and `name` too: an attestation whose fields contradict the
/// directory it sits in (a copy from another release or descriptor) is refused.
fn check_fields(
    said_release: Option<&str>,
    said_name: Option<&str>,
    release: &str,
    file: &str,
) -> Option<String> {
    if let Some(r) = said_release
        && r != release
    {
        return Some(format!("its release field is '{r}', not '{release}'"));
    }
    if let (Some(n), Some(stem)) = (said_name, file.strip_suffix("-build.assert"))
        && n != stem
    {
        return Some(format!("its name field is '{n}', not '{stem}'"));
    }
    None
}

fn collect_tree(
    tree: &dyn LedgerTree,
    q: &Query,
    problems: &mut Vec<String>,
) -> Result<Vec<Found>, VerifyError> {
    let on_disk = tree.on_disk().map(Arc::new);
    let label = tree.label();
    let mut found = Vec::new();
    let root = tree.list("")?;
    let mut release_names = Vec::new();
    for entry in &root {
        let shown = show_name(entry);
        let Ok(name) = &entry.name else {
            problems
                .push(format!("{label}: refused release directory '{shown}': name is not UTF-8"));
            continue;
        };
        if name.starts_with('.') || KEY_DIRS.contains(&name.as_str()) {
            continue;
        }
        if !q.releases.is_empty() && !q.releases.contains(name) {
            continue;
        }
        match entry.kind {
            Kind::Dir => {}
            Kind::Symlink => {
                problems.push(format!("{label}: refused release '{shown}': it is a symlink"));
                continue;
            }
            _ => continue,
        }
        if let Err(e) = check_component("release", name) {
            problems.push(format!("{label}: refused {e}"));
            continue;
        }
        release_names.push(name.clone());
    }
    release_names.sort();
    for release in release_names {
        for entry in tree.list(&release)? {
            let shown = show_name(&entry);
            let signer = match (&entry.name, entry.kind) {
                (Ok(n), Kind::Dir) => n.clone(),
                (_, Kind::Symlink) => {
                    problems.push(format!(
                        "{label}: refused signer '{release}/{shown}': it is a symlink"
                    ));
                    continue;
                }
                (Err(_), _) => {
                    problems.push(format!(
                        "{label}: refused signer '{release}/{shown}': name is not UTF-8"
                    ));
                    continue;
                }
                _ => continue,
            };
            if let Err(e) = check_component("signer", &signer) {
                problems.push(format!("{label}: {release}: refused {e}"));
                continue;
            }
            collect_signer(tree, on_disk.as_ref(), q, &release, &signer, &mut found, problems)?;
        }
    }
    Ok(found)
}

fn classify(name: &str) -> Option<(Layout, String)> {
    if name.ends_with(".assert") {
        Some((Layout::Gitian, String::new()))
    } else {
        sums::kind_of(name).map(|k| (Layout::Guix, k.to_string()))
    }
}

fn collect_signer(
    tree: &dyn LedgerTree,
    on_disk: Option<&Arc<FsTree>>,
    q: &Query,
    release: &str,
    signer: &str,
    found: &mut Vec<Found>,
    problems: &mut Vec<String>,
) -> Result<(), VerifyError> {
    let label = tree.label();
    let dir = format!("{release}/{signer}");
    let mut files: BTreeMap<String, Kind> = BTreeMap::new();
    for entry in tree.list(&dir)? {
        match entry.name {
            Ok(n) => {
                files.insert(n, entry.kind);
            }
            Err(b) => problems.push(format!(
                "{label}: refused file '{dir}/{}': name is not UTF-8",
                String::from_utf8_lossy(&b).escape_default()
            )),
        }
    }
    let wanted = |data_name: &str| match &q.name {
        Some(n) => data_name == format!("{n}-build.assert"),
        None => true,
    };
    let mut sig_used: std::collections::BTreeSet<String> = Default::default();
    for (name, kind) in &files {
        let Some((layout, group)) = classify(name) else { continue };
        if !wanted(name) {
            continue;
        }
        // A refused name is never read.
        if let Err(e) = check_component("file", name) {
            problems.push(format!("{label}: refused {e}"));
            continue;
        }
        let data_path = format!("{dir}/{name}");
        let mut file_error = None;
        let data = match kind {
            Kind::File => Some(Arc::new(match on_disk {
                Some(fs) => Signed::deferred(fs.clone(), data_path.clone(), q.cache.is_some()),
                None => Signed::new(tree.read(&data_path, MAX_ATTESTATION)?),
            })),
            Kind::Symlink => {
                file_error = Some(format!("{data_path} is a symlink: not followed"));
                Some(Arc::new(Signed::new(Content::Bytes(Vec::new()))))
            }
            _ => continue,
        };
        let sigs: Vec<String> = SIG_EXTS
            .iter()
            .map(|ext| format!("{name}.{ext}"))
            .filter(|s| files.contains_key(s))
            .collect();
        let base = Found {
            layout,
            release: release.to_string(),
            group,
            signer: signer.to_string(),
            file: name.clone(),
            data,
            data_path: data_path.clone(),
            sig: None,
            sig_path: None,
            file_error,
        };
        if sigs.is_empty() {
            found.push(base);
            continue;
        }
        for sig in sigs {
            sig_used.insert(sig.clone());
            let sig_path = format!("{dir}/{sig}");
            let (content, err) = match files[&sig] {
                Kind::File => (tree.read(&sig_path, MAX_SIGNATURE)?, None),
                _ => (
                    Content::Bytes(Vec::new()),
                    Some(format!("{sig_path} is a symlink: not followed")),
                ),
            };
            found.push(Found {
                sig: Some(content),
                sig_path: Some(sig_path),
                file_error: base.file_error.clone().or(err),
                ..base.clone()
            });
        }
    }
    // Signatures whose signed file is missing.
    for (name, kind) in &files {
        if sig_used.contains(name) {
            continue;
        }
        let Some((stem, _)) = name.rsplit_once('.').filter(|(_, ext)| SIG_EXTS.contains(ext))
        else {
            continue;
        };
        let Some((layout, group)) = classify(stem) else { continue };
        if !wanted(stem) {
            continue;
        }
        let sig_path = format!("{dir}/{name}");
        let sig = match kind {
            Kind::File => tree.read(&sig_path, MAX_SIGNATURE)?,
            _ => Content::Bytes(Vec::new()),
        };
        found.push(Found {
            layout,
            release: release.to_string(),
            group,
            signer: signer.to_string(),
            file: stem.to_string(),
            data: None,
            data_path: format!("{dir}/{stem}"),
            sig: Some(sig),
            sig_path: Some(sig_path),
            file_error: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_with(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Arc<FsTree>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let tree = Arc::new(FsTree::new(dir.path(), "ledger".into()));
        (dir, tree)
    }

    #[test]
    fn a_digested_file_that_changes_before_it_is_read_is_an_error() {
        let (dir, tree) = tree_with("a.assert", b"first bytes\n");
        let signed = Signed::deferred(tree, "a.assert".into(), true);
        let digest = *signed.digest().unwrap().unwrap();
        assert_eq!(digest, memo::digest(b"first bytes\n"));
        assert!(signed.error().is_none());
        std::fs::write(dir.path().join("a.assert"), b"other bytes\n").unwrap();
        let e = signed.content().unwrap_err();
        assert!(e.message.contains("changed while it was being verified"), "{e}");
        assert!(signed.bytes().is_empty());
        assert!(signed.error().is_some());
    }

    #[test]
    fn digest_streams_without_reading_and_agrees_with_the_bytes() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (_dir, tree) = tree_with("a.assert", &big);
        let signed = Signed::deferred(tree.clone(), "a.assert".into(), true);
        assert_eq!(signed.digest().unwrap(), Some(&memo::digest(&big)));
        assert!(signed.content.get().is_none(), "the digest read the content into memory");
        assert_eq!(signed.bytes(), &big[..]);
        // Without a memory, nothing is digested first.
        let plain = Signed::deferred(tree, "a.assert".into(), false);
        assert_eq!(plain.bytes(), &big[..]);
        assert!(plain.digest.get().is_none());
    }

    #[test]
    fn a_symlink_or_fifo_is_neither_digested_nor_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        let fifo = dir.path().join("fifo");
        crate::process::run_ok(&crate::process::Invocation::new("mkfifo").arg(&fifo)).unwrap();
        let tree = Arc::new(FsTree::new(dir.path(), "ledger".into()));
        for name in ["link", "fifo"] {
            let signed = Signed::deferred(tree.clone(), name.into(), true);
            let e = signed.digest().unwrap_err();
            assert!(e.message.contains("not a regular file"), "{name}: {e}");
            assert!(signed.error().is_some());
        }
    }
}
