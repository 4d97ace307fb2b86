//! The verify workflow: read one or more ledgers (directories, or git trees at revisions), check
//! every signature against the keys kept in the ledgers and given with `--keys`, parse every
//! manifest, and hand the rows to `core::consensus`.

//!
//! One concern a file: [`walk`] finds the files of a ledger tree, [`keys`] loads the keyring,
//! [`pipeline`] spreads the parsing and verification over threads, [`found`] turns what was
//! found into rows, [`signed`] reads a signed file once.

mod found;
mod keys;
mod pipeline;
mod policy;
mod signed;
mod trees;
mod versions;
mod walk;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::core::consensus::{self, GroupReport, Row};
use crate::core::policy::Policy;
use crate::core::report::Absent;
use crate::ledger::SourceError;
use crate::ops::memo::{self, Memory};

use found::Found;
use keys::{read_path_keys, read_tree_keys};
use pipeline::{Work, pipeline};
use signed::Signed;
use versions::Version;
use walk::collect_tree;

/// Largest attestation read (a real assert averages 67 kB; the largest seen is under 1 MB).
pub const MAX_ATTESTATION: u64 = 32 << 20;
/// Largest signature read.
pub const MAX_SIGNATURE: u64 = 1 << 20;
/// Largest key file read.
pub const MAX_KEY_FILE: u64 = 8 << 20;
/// Folders of a ledger that hold public keys rather than releases.
pub use crate::core::layout::KEY_DIRS;
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
    crate::config::verify_cache_dir()
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
    /// Signer directories without the `--name`d attestation.
    pub absent: Vec<Absent>,
    /// How some checks were made (shown with `-v`): the certificates whose signatures GnuPG
    /// checked because the in-process library lacks their algorithm.
    pub notes: Vec<String>,
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

/// Runs the verification.
pub fn verify(q: &Query) -> Result<Report, VerifyError> {
    let trees::Trees { all: trees, mains, several, mut problems } = trees::open(&q.ledgers)?;
    let mut warnings = Vec::new();
    let mut absent_dirs: Vec<(usize, String, String)> = Vec::new();

    // Key files: every ledger's key folders at its main revision, then --keys, then in
    // memory. Read here; parsed on another thread while the ledger is collected.
    let mut key_files: Vec<(String, Vec<u8>)> = Vec::new();
    for tree in &mains {
        read_tree_keys(tree.as_ref(), "", &mut key_files, &mut warnings, 0)?;
    }
    let policy = policy::load(&mains, q.threshold)?;
    let labels: Vec<String> = q.ledgers.iter().map(ledger_label).collect();
    let cache_dir = private_cache(q, &mut warnings);
    let cache = cache_dir.map(memo::load_signatures);
    let memory = std::sync::OnceLock::new();
    let (keyring, key_warnings, outcome) = pipeline(
        key_files,
        || extra_key_files(q),
        cache,
        (&memory, || cache_dir.map(Memory::load)),
        || {
            let mut c = Collected { problems: &mut problems, absent: &mut absent_dirs };
            collect_work(&trees, &several, q, &mut c)
        },
        q.at,
    );
    warnings.extend(key_warnings?);
    let (work, parsed, verdicts) = outcome?;
    // Everything is remembered now; saved before the rows are made (less held at once).
    if let (Some(dir), Some(memory)) = (cache_dir, memory.into_inner().flatten()) {
        // A cache that cannot be written only makes the next run slower.
        let _ = memo::save_signatures(dir);
        let _ = memory.save(dir);
    }
    let Work { items, fingerprints, first_of, unique, .. } = work;
    check_named_releases(q, &items, &trees)?;

    let mut computed: Vec<Option<Row>> = unique
        .iter()
        .zip(parsed.into_iter().zip(verdicts))
        .map(|(&i, (parsed, verdict))| {
            let (ledger_idx, _, found) = &items[i];
            Some(row_of(found, &labels[*ledger_idx], parsed, verdict, &policy))
        })
        .collect();
    let versions = spread_rows(&items, &fingerprints, &first_of, &mut computed);
    let mut rows = versions::rows(versions.into_values());
    versions::group_descriptors(&mut rows);
    if rows.is_empty() && problems.is_empty() {
        return Err(VerifyError::Empty(labels.join(", ")));
    }
    let opts = consensus::Options {
        threshold: policy.threshold,
        compare_to: q.compare_to.clone(),
        required_signers: policy.required_signers.clone(),
        required_keys: policy::required_keys(&keyring, &policy.required_signers),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()).min(4),
    };
    let groups = consensus::compute(rows, &opts);
    let absent = absent_signers(absent_dirs, &items, &labels, q);
    let notes = fallback_notes(&keyring);
    // What was found (every signature file read) is not freed piece by piece: the process
    // ends soon after verify (see cli::verify).
    std::mem::forget(items);
    Ok(Report { groups, problems, warnings, keys_loaded: keyring.len(), policy, absent, notes })
}

/// The key files given with `--keys` (named relative to the folder given, e.g.
/// `keys/gitian-pr621/X.pgp`) and in memory, with their warnings.
fn extra_key_files(q: &Query) -> Result<pipeline::KeyFiles, VerifyError> {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for path in &q.keys {
        let base = path.parent().unwrap_or(Path::new(""));
        read_path_keys(path, base, &mut files, &mut warnings)?;
    }
    files.extend(q.extra_keys.iter().cloned());
    Ok((files, warnings))
}

/// The verify memory, trusted like ~/.gnupg: only when nobody else can write it.
fn private_cache<'q>(q: &'q Query, warnings: &mut Vec<String>) -> Option<&'q Path> {
    q.cache.as_deref().filter(|dir| match memo::check_private(dir) {
        Ok(()) => true,
        Err(why) => {
            warnings.push(format!("the verify memory is not used: {why}"));
            false
        }
    })
}

/// What collecting the trees finds beside the attestations.
struct Collected<'a> {
    problems: &'a mut Vec<String>,
    /// (ledger index, release, signer) of directories without the named attestation.
    absent: &'a mut Vec<(usize, String, String)>,
}

/// Everything found in every tree, each distinct version once.
fn collect_work(
    trees: &[(usize, Box<dyn crate::ledger::LedgerTree>)],
    several: &[bool],
    q: &Query,
    c: &mut Collected<'_>,
) -> Result<Work, VerifyError> {
    let mut items: Vec<(usize, Option<String>, Found)> = Vec::new();
    for (ledger_idx, tree) in trees {
        let mut absent = Vec::new();
        match collect_tree(tree.as_ref(), q, c.problems, &mut absent) {
            Ok(found) => items.extend(found.into_iter().map(|f| (*ledger_idx, tree.rev(), f))),
            // One unreadable revision among several: the others are still judged.
            Err(e) if several[*ledger_idx] => {
                c.problems.push(format!("{}: not read: {e}", tree.label()));
            }
            Err(e) => return Err(e),
        }
        c.absent.extend(absent.into_iter().map(|(r, s)| (*ledger_idx, r, s)));
    }
    // With several revisions the same bytes recur: verify and parse each distinct version once.
    let several_revisions = several.iter().any(|&s| s);
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
}

/// A named release must exist in each ledger, at one revision at least.
fn check_named_releases(
    q: &Query,
    items: &[(usize, Option<String>, Found)],
    trees: &[(usize, Box<dyn crate::ledger::LedgerTree>)],
) -> Result<(), VerifyError> {
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
    Ok(())
}

/// The row of one distinct version. A signed file that could not be read (read by the
/// workers) marks its signer INVALID; the rest of the ledger is still judged.
fn row_of(
    found: &Found,
    label: &str,
    parsed: found::Parsed,
    verdict: Option<crate::openpgp::Verdict>,
    policy: &Policy,
) -> Row {
    let mut row = found.to_row(label, parsed, verdict, policy);
    if let Some(e) = found.data.as_deref().and_then(Signed::error) {
        row.file_error = Some(format!("{}: cannot be read: {}", found.data_path, e.message));
        row.counts = false;
    }
    row
}

/// Every item's row, keyed by (ledger, release, signer, file, signature) for the versions.
/// Each computed row is moved to its last user and cloned only for the others (a version seen
/// at several revisions): a whole ledger's rows are not held twice.
fn spread_rows(
    items: &[(usize, Option<String>, Found)],
    fingerprints: &[[u8; 32]],
    first_of: &HashMap<[u8; 32], usize>,
    computed: &mut [Option<Row>],
) -> BTreeMap<(usize, String), Vec<Version>> {
    let mut uses = vec![0usize; computed.len()];
    for fp in fingerprints {
        uses[first_of[fp]] += 1;
    }
    let mut versions: BTreeMap<(usize, String), Vec<Version>> = BTreeMap::new();
    for (i, (ledger_idx, rev, _)) in items.iter().enumerate() {
        let fp = fingerprints[i];
        let at = first_of[&fp];
        uses[at] -= 1;
        let mut row = match uses[at] {
            0 => computed[at].take(),
            _ => computed[at].clone(),
        }
        .expect("a computed row is taken by its last user only");
        row.revs = rev.iter().cloned().collect();
        let key = (
            *ledger_idx,
            format!("{}\0{}\0{}\0{:?}", row.release, row.signer, row.file, row.sig_path),
        );
        versions.entry(key).or_default().push((row, fp));
    }
    versions
}

/// Signer directories without the named file. One without it at one revision may hold it at
/// another.
fn absent_signers(
    absent_dirs: Vec<(usize, String, String)>,
    items: &[(usize, Option<String>, Found)],
    labels: &[String],
    q: &Query,
) -> Vec<Absent> {
    absent_dirs
        .into_iter()
        .filter(|(l, r, s)| {
            !items.iter().any(|(il, _, f)| il == l && f.release == *r && f.signer == *s)
        })
        .map(|(l, release, signer)| Absent {
            ledger: labels[l].clone(),
            release,
            signer,
            file: format!("{}-build.assert", q.name.as_deref().unwrap_or_default()),
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What `-v` says of the signatures GnuPG checked.
fn fallback_notes(keyring: &crate::openpgp::Keyring) -> Vec<String> {
    keyring
        .fallback_used()
        .into_iter()
        .map(|(fpr, why)| {
            format!(
                "signatures by key {fpr} ({why}, which the in-process OpenPGP library lacks) \
                 were checked by GnuPG, in a throwaway home holding only that key"
            )
        })
        .collect()
}

fn ledger_label(spec: &LedgerSpec) -> String {
    match spec {
        LedgerSpec::Dir(p) | LedgerSpec::Git { path: p, .. } => p.display().to_string(),
    }
}
