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

/// Runs the verification.
pub fn verify(q: &Query) -> Result<Report, VerifyError> {
    let trees::Trees { all: trees, mains, several, mut problems } = trees::open(&q.ledgers)?;
    let mut warnings = Vec::new();

    // Key files: every ledger's key folders at its main revision, then --keys, then in
    // memory. Read here; parsed on another thread while the ledger is collected.
    let mut key_files: Vec<(String, Vec<u8>)> = Vec::new();
    for tree in &mains {
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

    let policy = policy::load(&mains, q.threshold)?;

    let several_revisions = several.iter().any(|&s| s);
    let labels: Vec<String> = q.ledgers.iter().map(ledger_label).collect();
    // The memory is trusted like ~/.gnupg: only when nobody else can write it.
    let cache_dir = q.cache.as_deref().filter(|dir| match memo::check_private(dir) {
        Ok(()) => true,
        Err(why) => {
            warnings.push(format!("the verify memory is not used: {why}"));
            false
        }
    });
    let cache = cache_dir.map(memo::load_signatures);
    let memory = cache_dir.map(Memory::load);
    let (keyring, key_warnings, outcome) = pipeline(
        key_files,
        extra_keys,
        cache,
        memory.as_ref(),
        || -> Result<_, VerifyError> {
            // Everything found, in every tree.
            let mut items: Vec<(usize, Option<String>, Found)> = Vec::new();
            for (ledger_idx, tree) in &trees {
                match collect_tree(tree.as_ref(), q, &mut problems) {
                    Ok(found) => {
                        items.extend(found.into_iter().map(|f| (*ledger_idx, tree.rev(), f)))
                    }
                    // One unreadable revision among several: the others are still judged.
                    Err(e) if several[*ledger_idx] => {
                        problems.push(format!("{}: not read: {e}", tree.label()));
                    }
                    Err(e) => return Err(e),
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
    let mut rows = versions::rows(versions.into_values());
    versions::group_descriptors(&mut rows);
    if rows.is_empty() && problems.is_empty() {
        let names: Vec<String> = q.ledgers.iter().map(ledger_label).collect();
        return Err(VerifyError::Empty(names.join(", ")));
    }
    let opts = consensus::Options {
        threshold: policy.threshold,
        compare_to: q.compare_to.clone(),
        required_signers: policy.required_signers.clone(),
        required_keys: policy::required_keys(&keyring, &policy.required_signers),
    };
    let groups = consensus::compute(rows, &opts);
    if let (Some(dir), Some(memory)) = (cache_dir, memory) {
        // A cache that cannot be written only makes the next run slower.
        let _ = memo::save_signatures(dir);
        let _ = memory.save(dir);
    }
    Ok(Report { groups, problems, warnings, keys_loaded: keyring.len(), policy })
}

fn ledger_label(spec: &LedgerSpec) -> String {
    match spec {
        LedgerSpec::Dir(p) | LedgerSpec::Git { path: p, .. } => p.display().to_string(),
    }
}
