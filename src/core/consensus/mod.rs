//! Consensus over the attestations of one release: who published what, whose signature holds,
//! which manifest the largest group of distinct keys agrees on, and per artifact who differs.
//!
//! Two notions are kept apart on purpose. `majority` describes the data as published: every
//! manifest counts whatever its signature, and it is the largest group of signer directories
//! (the corpus's `manifest_matches_majority`). `consensus` is the verdict: only signatures that
//! hold count, one key is one vote, a tie is no consensus, and a threshold may apply.

use std::collections::{BTreeMap, BTreeSet};

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
    /// The normalised manifest, when the file exists and parses.
    pub manifest: Option<Manifest>,
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
}

/// The normalised manifest text: the `hash  name` lines in written order.
pub fn normalised(m: &Manifest) -> String {
    m.entries.iter().map(|e| format!("{}  {}\n", e.hash, e.path)).collect()
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
    groups
        .into_iter()
        .map(|((layout, ledger, release, group), rows)| {
            compute_group(layout, ledger, release, group, rows, opts)
        })
        .collect()
}

/// The manifest a row claims, when it lists anything (an empty manifest claims nothing).
fn usable_manifest(row: &Row) -> Option<&Manifest> {
    row.manifest.as_ref().filter(|m| !m.is_empty())
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
    names
        .into_iter()
        .map(|name| {
            let mut by_hash: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for row in rows.iter().filter(|r| is_vote(r)) {
                if let (Some(m), Some(k)) = (&row.manifest, &row.key_fingerprint)
                    && let Some(h) = m.get(name)
                {
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
                .map(|row| {
                    let hash = row.manifest.as_ref().and_then(|m| m.get(name));
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
pub(crate) mod tests {
    use super::*;
    use crate::core::status::SigStatus;

    /// A Gitian row of release 1.0 signed by `key` with `status`, holding `manifest`.
    pub(crate) fn row(signer: &str, key: &str, status: &str, manifest: &str) -> Row {
        Row {
            layout: Layout::Gitian,
            ledger: "l".into(),
            release: "1.0".into(),
            group: String::new(),
            file: "x-build.assert".into(),
            signer: signer.into(),
            sig_path: Some(format!("1.0/{signer}/x-build.assert.sig")),
            status: RowStatus::Signature(match status {
                "good" => SigStatus::Good,
                "no_pubkey" => SigStatus::NoPubkey,
                _ => SigStatus::Bad,
            }),
            counts: status == "good",
            key_fingerprint: Some(key.into()),
            signing_key_fingerprint: Some(key.into()),
            key_origin: None,
            manifest: Some(Manifest::parse(manifest)),
            manifest_id: String::new(),
            file_error: None,
            field_error: None,
            revs: vec![],
            conflict: None,
        }
    }

    #[test]
    fn largest_group_of_keys_wins_and_mismatch_is_named() {
        let rows = vec![
            row("a", "K1", "good", "h1  f\nh2  g\n"),
            row("b", "K2", "good", "h1  f\nh2  g\n"),
            row("c", "K3", "good", "h1  f\nhX  g\n"),
        ];
        let r = &compute(rows, &Options { threshold: 2, ..Default::default() })[0];
        assert_eq!(r.verdicts, vec![Verdict::Ok, Verdict::Ok, Verdict::Mismatch]);
        assert_eq!(r.votes, 2);
        assert!(r.threshold_met());
        assert!(!r.passed());
        let g = r.artifacts.iter().find(|a| a.name == "g").unwrap();
        assert_eq!(g.cells, vec![Cell::Agrees, Cell::Agrees, Cell::Differs]);
        let f = r.artifacts.iter().find(|a| a.name == "f").unwrap();
        assert_eq!(f.cells, vec![Cell::Agrees; 3]);
    }

    #[test]
    fn unsigned_copies_make_a_majority_but_not_consensus() {
        let mut rows = vec![row("a", "K1", "good", "h1  f\n")];
        for s in ["x", "y", "z"] {
            rows.push(row(s, &format!("Q{s}"), "bad", "evil  f\n"));
        }
        let r = &compute(rows, &Options::default())[0];
        assert_eq!(r.majority, vec![false, true, true, true]);
        assert_eq!(r.consensus, Some(Manifest::parse("h1  f\n")));
        assert_eq!(r.verdicts[0], Verdict::Ok);
        assert!(r.verdicts[1..].iter().all(|v| *v == Verdict::BadSignature));
    }

    #[test]
    fn one_key_is_one_vote_and_is_flagged() {
        let rows = vec![
            row("a", "K1", "good", "evil  f\n"),
            row("a2", "K1", "good", "evil  f\n"),
            row("b", "K2", "good", "h1  f\n"),
        ];
        let r = &compute(rows, &Options::default())[0];
        // 1 vote each: a tie, so no consensus.
        assert_eq!(r.consensus, None);
        assert_eq!(r.verdicts[0], Verdict::SharedKey);
        assert_eq!(r.verdicts[1], Verdict::SharedKey);
        assert_eq!(r.verdicts[2], Verdict::NoConsensus);
        assert!(!r.passed());
    }

    #[test]
    fn tie_means_no_majority_and_threshold_applies() {
        let rows = vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "good", "h2  f\n")];
        let r = &compute(rows, &Options::default())[0];
        assert_eq!(r.majority, vec![false, false]);
        assert_eq!(r.consensus, None);
        let rows = vec![row("a", "K1", "good", "h1  f\n")];
        let r = &compute(rows, &Options { threshold: 2, ..Default::default() })[0];
        assert!(!r.threshold_met() && !r.passed());
    }

    #[test]
    fn compare_to_pins_the_reference() {
        let rows = vec![
            row("a", "K1", "good", "h1  f\n"),
            row("b", "K2", "good", "h1  f\n"),
            row("c", "K3", "good", "h2  f\n"),
        ];
        let opts = Options { compare_to: Some("c".into()), ..Default::default() };
        let r = &compute(rows, &opts)[0];
        assert_eq!(r.verdicts, vec![Verdict::Mismatch, Verdict::Mismatch, Verdict::Ok]);
    }

    #[test]
    fn a_required_signer_is_met_only_by_the_key_kept_under_that_name() {
        let rows = || {
            vec![
                row("alice", "K9", "good", "h1  f\n"),
                row("b", "K2", "good", "h1  f\n"),
                row("c", "K3", "good", "h1  f\n"),
            ]
        };
        let keys = |k: &str| BTreeMap::from([("alice".to_string(), BTreeSet::from([k.into()]))]);
        let mut opts = Options { required_signers: vec!["alice".into()], ..Default::default() };
        // A folder named alice, signed by K9, while alice's key is K1.
        opts.required_keys = keys("K1");
        let r = &compute(rows(), &opts)[0];
        assert_eq!(r.missing_required, ["alice"]);
        assert!(!r.passed());
        // No key kept under the name at all: never met.
        opts.required_keys.clear();
        assert_eq!(compute(rows(), &opts)[0].missing_required, ["alice"]);
        opts.required_keys = keys("K9");
        let r = &compute(rows(), &opts)[0];
        assert!(r.missing_required.is_empty() && r.passed());
    }

    #[test]
    fn artifacts_of_rows_that_do_not_vote_are_unchecked() {
        let rows = vec![
            row("a", "K1", "good", "h1  f\n"),
            row("b", "K2", "good", "h1  f\n"),
            row("c", "K3", "bad", "h2  f\n"),
            row("d", "K4", "good", "h2  g\n"),
        ];
        let r = &compute(rows, &Options::default())[0];
        let grid: Vec<_> = r.artifacts.iter().map(|a| (a.name.as_str(), a.cells.clone())).collect();
        use Cell::*;
        assert_eq!(
            grid,
            [
                ("f", vec![Agrees, Agrees, Unchecked, Absent]),
                ("g", vec![Absent, Absent, Absent, Agrees])
            ]
        );
    }
}
