//! Consensus over the attestations of one release: who published what, whose signature holds,
//! which manifest the largest group of distinct keys agrees on, and per artifact who differs.
//!
//! Two notions are kept apart on purpose. `majority` describes the data as published: every
//! manifest counts whatever its signature, and it is the largest group of signer directories
//! (the corpus's `manifest_matches_majority`). `consensus` is the verdict: only signatures that
//! hold count, one key is one vote, a tie is no consensus, and a threshold may apply.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::manifest::Manifest;
use super::status::RowStatus;

pub mod matrix;
pub mod push;
pub mod tally;

use tally::strict_winner;

/// The attestation layout a row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layout {
    /// `<release>/<signer>/<name>-build.assert` + `.sig`
    Gitian,
    /// `<version>/<signer>/<kind>.SHA256SUMS` + `.asc`
    Guix,
}

impl Layout {
    /// `gitian` or `guix`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gitian => "gitian",
            Self::Guix => "guix",
        }
    }
}

/// One signed file (or lone signature) of one signer, with everything checked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Layout of the file.
    pub layout: Layout,
    /// Ledger label (the `-d` path as given, or `rev:path`), for multi-ledger runs.
    pub ledger: String,
    /// Release directory.
    pub release: String,
    /// Consensus group inside the release: empty for Gitian, the SUMS kind for Guix.
    pub group: String,
    /// The signed file's name.
    pub file: String,
    /// Signer directory.
    pub signer: String,
    /// Path of the signature inside the ledger, when there is one.
    pub sig_path: Option<String>,
    /// Signature status (written in the corpus vocabulary: `good`, `expired_key`,
    /// `no_signature`, ...).
    pub status: RowStatus,
    /// Whether the signature counts toward consensus (good, or expired when policy allows).
    pub counts: bool,
    /// Primary key fingerprint (or issuer id for no_pubkey).
    pub key_fingerprint: Option<String>,
    /// The (sub)key that signed.
    pub signing_key_fingerprint: Option<String>,
    /// The key file in the ledger (or --keys) that holds the signing key.
    pub key_origin: Option<String>,
    /// The normalised manifest, when the file exists and parses (shared by the rows that
    /// say the same: most signers of a release do).
    pub manifest: Option<Arc<Manifest>>,
    /// First 12 hex digits of the git blob id of the normalised manifest (the whole file for
    /// Guix), `empty` for no manifest lines, `-` for no file.
    pub manifest_id: String,
    /// Why the file did not parse or was refused (too large, not UTF-8, ...).
    pub file_error: Option<String>,
    /// A field inside the attestation that contradicts its place in the ledger
    /// (`release` or `name` differing from the directory or file name).
    pub field_error: Option<String>,
    /// The revisions this version of the file was read from (git sources).
    pub revs: Vec<String>,
    /// Set when the same file differs between revisions.
    pub conflict: Option<String>,
}

/// The verdict on one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signature holds, manifest agrees with the consensus.
    Ok,
    /// Signature holds, manifest differs from the consensus.
    Mismatch,
    /// Signature does not hold (status says why).
    BadSignature,
    /// Signed file without a signature, or signature without its file.
    Missing,
    /// Signature holds but the release has no consensus (tie, or nobody counts).
    NoConsensus,
    /// The key also signed another signer directory of this release.
    SharedKey,
    /// The attestation contradicts its path, or does not parse.
    Invalid,
    /// The file differs between the revisions read.
    Conflict,
}

impl Verdict {
    /// Label used in tables and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Mismatch => "MISMATCH",
            Self::BadSignature => "UNVERIFIED",
            Self::Missing => "MISSING",
            Self::NoConsensus => "NO CONSENSUS",
            Self::SharedKey => "SHARED KEY",
            Self::Invalid => "INVALID",
            Self::Conflict => "CONFLICT",
        }
    }
}

/// Per-artifact cell for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Same hash as the artifact's consensus.
    Agrees,
    /// Another hash than the consensus.
    Differs,
    /// The artifact is not in this row's manifest.
    Absent,
    /// This row's signature does not count, so its hashes are not compared.
    Unchecked,
    /// There is no consensus for this artifact.
    Undecided,
}

/// One artifact across the signers of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// File name from the manifests.
    pub name: String,
    /// The hash held by the largest group of counting keys (None on a tie).
    pub consensus: Option<String>,
    /// Distinct keys agreeing on it.
    pub votes: usize,
    /// One cell per row of the group, in row order.
    pub cells: Vec<Cell>,
}

/// The result for one (ledger, release, group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupReport {
    /// Layout of the group.
    pub layout: Layout,
    /// Ledger label.
    pub ledger: String,
    /// Release directory.
    pub release: String,
    /// Group inside the release.
    pub group: String,
    /// The rows, sorted by file then signer.
    pub rows: Vec<Row>,
    /// Verdict per row, same order.
    pub verdicts: Vec<Verdict>,
    /// Whether each row's manifest is the published majority (corpus semantics).
    pub majority: Vec<bool>,
    /// Consensus group number per row (1 = the consensus manifest, 2.. = others by size),
    /// None when the row has no manifest.
    pub manifest_group: Vec<Option<usize>>,
    /// The consensus manifest, if any.
    pub consensus: Option<Manifest>,
    /// Distinct keys behind the consensus.
    pub votes: usize,
    /// The threshold applied (0: none).
    pub threshold: usize,
    /// Required signers missing from the agreeing group.
    pub missing_required: Vec<String>,
    /// Per-artifact consensus and cells.
    pub artifacts: Vec<Artifact>,
}

impl GroupReport {
    /// Whether every check passed for this group.
    pub fn passed(&self) -> bool {
        self.consensus.is_some()
            && self.votes >= self.threshold.max(1)
            && self.missing_required.is_empty()
            && self.verdicts.iter().all(|v| *v == Verdict::Ok)
    }

    /// Whether the threshold holds.
    pub fn threshold_met(&self) -> bool {
        self.consensus.is_some() && self.votes >= self.threshold
    }
}

/// Options of the consensus computation.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Minimum number of distinct agreeing keys.
    pub threshold: usize,
    /// Pin the reference manifest to this signer's (gverify `--compare-to`).
    pub compare_to: Option<String>,
    /// Signers that must be in the agreeing group.
    pub required_signers: Vec<String>,
    /// Primary fingerprints of the keys kept under each required signer's name (in the key
    /// folder, e.g. `builder-keys/alice.asc`): a required signer is met only by its folder's
    /// attestation signed by one of these, never by a folder of that name signed by another key.
    pub required_keys: BTreeMap<String, BTreeSet<String>>,
    /// Groups computed at once (0 and 1: one after the other); the result is the same.
    pub threads: usize,
}

/// The normalised manifest text: the `hash  name` lines in written order.
pub fn normalised(m: &Manifest) -> String {
    let mut text =
        String::with_capacity(m.entries.iter().map(|e| e.hash.len() + e.path.len() + 3).sum());
    for e in &m.entries {
        text.push_str(&e.hash);
        text.push_str("  ");
        text.push_str(&e.path);
        text.push('\n');
    }
    text
}

/// Groups rows by (ledger, release, group) and computes every group's report.
pub fn compute(mut rows: Vec<Row>, opts: &Options) -> Vec<GroupReport> {
    rows.sort_by(|a, b| {
        (a.layout, &a.ledger, &a.release, &a.group, &a.file, &a.signer, &a.sig_path).cmp(&(
            b.layout,
            &b.ledger,
            &b.release,
            &b.group,
            &b.file,
            &b.signer,
            &b.sig_path,
        ))
    });
    let mut groups: BTreeMap<(Layout, String, String, String), Vec<Row>> = BTreeMap::new();
    for row in rows {
        groups
            .entry((row.layout, row.ledger.clone(), row.release.clone(), row.group.clone()))
            .or_default()
            .push(row);
    }
    let one =
        |((layout, ledger, release, group), rows): ((Layout, String, String, String), Vec<Row>)| {
            compute_group(layout, ledger, release, group, rows, opts)
        };
    let threads = opts.threads.min(groups.len());
    if threads <= 1 {
        return groups.into_iter().map(one).collect();
    }
    // Each group is a job, taken by whichever thread is free; results in group order.
    let jobs: Vec<Mutex<Option<_>>> = groups.into_iter().map(|g| Mutex::new(Some(g))).collect();
    let done: Vec<OnceLock<GroupReport>> = jobs.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    if let Some(g) = job.lock().ok().and_then(|mut j| j.take()) {
                        let _ = done[i].set(one(g));
                    }
                }
            });
        }
    });
    done.into_iter().filter_map(OnceLock::into_inner).collect()
}

/// The manifest a row claims, when it lists anything (an empty manifest claims nothing).
fn usable_manifest(row: &Row) -> Option<&Manifest> {
    row.manifest.as_deref().filter(|m| !m.is_empty())
}

/// Whether a row's manifest is a vote: its signature counts, and the file parses, agrees with
/// its path and is the same in every revision read.
fn is_vote(row: &Row) -> bool {
    row.counts && row.conflict.is_none() && row.field_error.is_none() && row.file_error.is_none()
}

fn compute_group(
    layout: Layout,
    ledger: String,
    release: String,
    group: String,
    rows: Vec<Row>,
    opts: &Options,
) -> GroupReport {
    // Every row's manifest as text, once (manifests are compared as text below).
    let norm: Vec<Option<String>> =
        rows.iter().map(|r| usable_manifest(r).map(normalised)).collect();
    // Published majority: signer directories per manifest, whatever the signatures.
    let mut published: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (row, text) in rows.iter().zip(&norm) {
        if let Some(t) = text {
            published.entry(t.clone()).or_default().insert(&row.signer);
        }
    }
    let majority_text = strict_winner(published.iter().map(|(k, v)| (k.clone(), v.len())));
    let majority =
        norm.iter().map(|t| t.is_some() && majority_text.as_ref() == t.as_ref()).collect();

    let shared = shared_keys(&rows);
    // Votes: distinct keys per manifest, only rows whose signature counts.
    let mut votes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (row, text) in rows.iter().zip(&norm).filter(|(r, _)| is_vote(r)) {
        if let (Some(t), Some(k)) = (text, &row.key_fingerprint) {
            votes.entry(t.clone()).or_default().insert(k.clone());
        }
    }
    let consensus_text = match &opts.compare_to {
        Some(signer) => rows.iter().position(|r| &r.signer == signer).and_then(|i| norm[i].clone()),
        None => strict_winner(votes.iter().map(|(k, v)| (k.clone(), v.len()))),
    };
    let consensus_votes =
        consensus_text.as_ref().and_then(|t| votes.get(t)).map_or(0, BTreeSet::len);

    let manifest_group = number_manifests(&norm, published.keys(), &votes, consensus_text.as_ref());

    let verdicts = rows
        .iter()
        .zip(&norm)
        .map(|(row, text)| verdict_of(row, text.as_ref(), consensus_text.as_ref(), &shared))
        .collect();

    let agreeing: BTreeSet<(&str, &str)> = rows
        .iter()
        .zip(&norm)
        .filter(|(r, t)| is_vote(r) && consensus_text.is_some() && **t == consensus_text)
        .filter_map(|(r, _)| Some((r.signer.as_str(), r.key_fingerprint.as_deref()?)))
        .collect();
    let met = |name: &str| {
        let keys = opts.required_keys.get(name);
        agreeing.iter().any(|(s, k)| *s == name && keys.is_some_and(|ks| ks.contains(*k)))
    };
    let missing_required = opts.required_signers.iter().filter(|s| !met(s)).cloned().collect();

    let artifacts = artifact_grid(&rows, opts.compare_to.as_deref());
    GroupReport {
        layout,
        ledger,
        release,
        group,
        consensus: consensus_text.map(|t| Manifest::parse(&t)),
        votes: consensus_votes,
        threshold: opts.threshold,
        missing_required,
        artifacts,
        majority,
        manifest_group,
        verdicts,
        rows,
    }
}

/// Keys that signed more than one signer directory of a release (with a signature that counts).
fn shared_keys(rows: &[Row]) -> BTreeSet<&str> {
    let mut dirs_per_key: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.counts) {
        if let Some(k) = &row.key_fingerprint {
            dirs_per_key.entry(k).or_default().insert(&row.signer);
        }
    }
    dirs_per_key.into_iter().filter(|(_, d)| d.len() > 1).map(|(k, _)| k).collect()
}

/// Numbers the distinct manifests (1 = consensus, then by votes, then by text) and gives each
/// row its manifest's number.
fn number_manifests<'a>(
    norm: &[Option<String>],
    published: impl Iterator<Item = &'a String>,
    votes: &BTreeMap<String, BTreeSet<String>>,
    consensus: Option<&String>,
) -> Vec<Option<usize>> {
    let mut order: Vec<(&String, usize)> =
        published.map(|t| (t, votes.get(t).map_or(0, BTreeSet::len))).collect();
    order.sort_by(|a, b| {
        let a_first = Some(a.0) == consensus;
        let b_first = Some(b.0) == consensus;
        b_first.cmp(&a_first).then(b.1.cmp(&a.1)).then(a.0.cmp(b.0))
    });
    norm.iter()
        .map(|t| t.as_ref().map(|t| order.iter().position(|(o, _)| *o == t).map_or(0, |p| p + 1)))
        .collect()
}

/// The verdict on one row, given its manifest text, the consensus text and the shared keys.
fn verdict_of(
    row: &Row,
    text: Option<&String>,
    consensus: Option<&String>,
    shared: &BTreeSet<&str>,
) -> Verdict {
    if row.conflict.is_some() {
        Verdict::Conflict
    } else if row.status.is_missing() {
        Verdict::Missing
    } else if row.file_error.is_some() || row.field_error.is_some() {
        Verdict::Invalid
    } else if !row.counts {
        Verdict::BadSignature
    } else if row.key_fingerprint.as_deref().is_some_and(|k| shared.contains(k)) {
        Verdict::SharedKey
    } else {
        match (consensus, text) {
            (None, _) => Verdict::NoConsensus,
            (Some(c), Some(t)) if c == t => Verdict::Ok,
            _ => Verdict::Mismatch,
        }
    }
}

fn artifact_grid(rows: &[Row], compare_to: Option<&str>) -> Vec<Artifact> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for row in rows {
        if let Some(m) = &row.manifest {
            names.extend(m.entries.iter().map(|e| e.path.as_str()));
        }
    }
    let pinned = compare_to
        .and_then(|s| rows.iter().find(|r| r.signer == s))
        .and_then(|r| r.manifest.as_ref());
    // Each row's hash by path, as Manifest::get answers (the first entry of a path).
    let lookup: Vec<HashMap<&str, &str>> = rows
        .iter()
        .map(|row| {
            let mut by_path = HashMap::new();
            for e in row.manifest.iter().flat_map(|m| &m.entries) {
                by_path.entry(e.path.as_str()).or_insert(e.hash.as_str());
            }
            by_path
        })
        .collect();
    names
        .into_iter()
        .map(|name| {
            let mut by_hash: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (row, by_path) in rows.iter().zip(&lookup).filter(|(r, _)| is_vote(r)) {
                if let (Some(k), Some(h)) = (&row.key_fingerprint, by_path.get(name).copied()) {
                    by_hash.entry(h).or_default().insert(k);
                }
            }
            let consensus = match pinned {
                Some(m) => m.get(name).map(str::to_string),
                None => strict_winner(by_hash.iter().map(|(h, k)| (h.to_string(), k.len()))),
            };
            let votes = consensus.as_deref().and_then(|c| by_hash.get(c)).map_or(0, BTreeSet::len);
            let cells = rows
                .iter()
                .zip(&lookup)
                .map(|(row, by_path)| {
                    let hash = by_path.get(name).copied();
                    match (hash, &consensus) {
                        (None, _) => Cell::Absent,
                        (Some(_), _) if !is_vote(row) => Cell::Unchecked,
                        (Some(_), None) => Cell::Undecided,
                        (Some(h), Some(c)) if h == c => Cell::Agrees,
                        (Some(_), Some(_)) => Cell::Differs,
                    }
                })
                .collect();
            Artifact { name: name.to_string(), consensus, votes, cells }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
