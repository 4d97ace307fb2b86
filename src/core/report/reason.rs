//! Why: one sentence per signer that is not OK, one result line per release, one summary per
//! run. Every renderer says the same words, computed here from the rows alone (pure): which key,
//! which key file, which signature status, which other directories share a key, which
//! manifests tie, and what to do about it.

use std::collections::{BTreeMap, BTreeSet};

use super::super::consensus::{Cell, GroupReport, Row, Verdict};
use super::super::status::{RowStatus, SigStatus};
use super::text::list;

/// How many names a reason lists before `and N more`.
const NAMES: usize = 3;

fn key(row: &Row) -> String {
    row.key_fingerprint.clone().unwrap_or_else(|| "of unknown issuer".to_string())
}

fn key_file(row: &Row) -> String {
    match &row.key_origin {
        Some(f) => format!(" ({f})"),
        None => String::new(),
    }
}

/// The signed file's path inside the ledger.
pub fn data_path(g: &GroupReport, row: &Row) -> String {
    format!("{}/{}/{}", g.release, row.signer, row.file)
}

/// Why a signature does not count, from its status.
pub fn signature_reason(row: &Row) -> String {
    let k = key(row);
    let kf = key_file(row);
    let sig = row.sig_path.as_deref().unwrap_or("the signature");
    match &row.status {
        RowStatus::NoSignature => format!("{} has no signature (no_signature)", row.file),
        RowStatus::NoData => format!("{sig} signs {}, which is missing (no_data)", row.file),
        RowStatus::Signature(s) => match s {
            SigStatus::Good => "the signature is good".to_string(),
            SigStatus::NoPubkey => format!(
                "signed by key {k}, which is in no key file that was read (no_pubkey); add {}'s \
                 public key to builder-keys/ or pass --keys",
                row.signer
            ),
            SigStatus::Bad => format!(
                "the signature by key {k}{kf} does not match the bytes of {} (bad): the file \
                 changed after it was signed, or the signature is of another file",
                row.file
            ),
            SigStatus::ExpiredKey => format!(
                "key {k}{kf} had expired at the time of the check (expired_key), and policy.yml \
                 sets expired_keys_count: false"
            ),
            SigStatus::RevokedKey => format!("key {k}{kf} is revoked (revoked_key)"),
            SigStatus::ExpiredSig => format!(
                "the signature by key {k}{kf} had expired at the time of the check (expired_sig)"
            ),
            SigStatus::Error(e) => format!("{sig} could not be checked: {e} (error_rc2)"),
            SigStatus::NoSig => format!("{sig} holds no OpenPGP signature (error_nosig)"),
            SigStatus::Multi(all) => format!(
                "{sig} holds {} signatures and not every one is good ({}); gpg fails such a file",
                all.len(),
                row.status
            ),
            SigStatus::Inline(_) => format!(
                "{sig} is a whole signed message, not a detached signature of {} ({})",
                row.file, row.status
            ),
        },
    }
}

/// The signer directories, other than this row's, whose counting signature is by this row's key.
pub fn sharing(g: &GroupReport, i: usize) -> Vec<String> {
    let Some(k) = &g.rows[i].key_fingerprint else { return Vec::new() };
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    for r in &g.rows {
        if r.counts && r.key_fingerprint.as_ref() == Some(k) && r.signer != g.rows[i].signer {
            dirs.insert(&r.signer);
        }
    }
    dirs.into_iter().map(str::to_string).collect()
}

/// Per manifest group number: the distinct counting keys and the signers behind them.
fn groups_with_votes(g: &GroupReport) -> BTreeMap<usize, (BTreeSet<&str>, Vec<String>)> {
    let mut out: BTreeMap<usize, (BTreeSet<&str>, Vec<String>)> = BTreeMap::new();
    for (i, r) in g.rows.iter().enumerate() {
        let voter =
            r.counts && r.conflict.is_none() && r.file_error.is_none() && r.field_error.is_none();
        if let (true, Some(n), Some(k)) = (voter, g.manifest_group[i], &r.key_fingerprint) {
            let e = out.entry(n).or_default();
            e.0.insert(k);
            e.1.push(r.signer.clone());
        }
    }
    out
}

/// Why a release has no consensus: the tied manifests and their signers, or that nothing counts.
pub fn no_consensus(g: &GroupReport) -> String {
    let votes = groups_with_votes(g);
    let top = votes.values().map(|(k, _)| k.len()).max().unwrap_or(0);
    if top == 0 {
        let signed = g.rows.iter().filter_map(|r| r.status.signature());
        let unknown = signed.clone().all(|s| *s == SigStatus::NoPubkey);
        return if unknown && signed.count() > 0 {
            "no consensus: no signature counts, every one is by a key in no key file".to_string()
        } else {
            "no consensus: no signature counts".to_string()
        };
    }
    let tied: Vec<String> = votes
        .iter()
        .filter(|(_, (k, _))| k.len() == top)
        .map(|(n, (_, signers))| format!("#{n} ({})", list(signers, NAMES)))
        .collect();
    if tied.len() < 2 {
        return "no consensus: the --compare-to signer has no manifest in this release".to_string();
    }
    let keys = if top == 1 { "1 key".to_string() } else { format!("{top} keys") };
    format!("no consensus: manifests {} tie with {keys} each", tied.join(" and "))
}

/// The artifacts on which row `i` differs from the consensus (differs, absent, or extra).
pub fn differing(g: &GroupReport, i: usize) -> Vec<String> {
    g.artifacts
        .iter()
        .filter(|a| match &a.cells[i] {
            Cell::Differs => true,
            Cell::Absent => a.consensus.is_some(),
            _ => g.consensus.as_ref().is_some_and(|c| c.get(&a.name).is_none()),
        })
        .map(|a| a.name.clone())
        .collect()
}

/// One sentence on why row `i` is not OK; `None` when it is.
pub fn row_reason(g: &GroupReport, i: usize) -> Option<String> {
    let row = &g.rows[i];
    Some(match g.verdicts[i] {
        Verdict::Ok => return None,
        Verdict::Conflict => {
            format!(
                "{}: {}",
                row.file,
                row.conflict.as_deref().unwrap_or("differs between revisions")
            )
        }
        Verdict::Missing if row.status == RowStatus::NoData => format!(
            "{} signs {}, which is missing (no_data)",
            row.sig_path.as_deref().unwrap_or("a signature"),
            row.file
        ),
        Verdict::Missing => format!(
            "{} has no signature next to it (no_signature); `git gitian sign` writes both",
            data_path(g, row)
        ),
        Verdict::Invalid => match (&row.file_error, &row.field_error) {
            (Some(e), _) => e.clone(),
            (None, Some(e)) => format!(
                "{}: {e}: an attestation copied from another release or descriptor does not count",
                data_path(g, row)
            ),
            (None, None) => "the attestation is invalid".to_string(),
        },
        Verdict::BadSignature => signature_reason(row),
        Verdict::SharedKey => format!(
            "key {} also signed {} in this release: one key is one vote, so none of these \
             directories counts as a builder of its own",
            key(row),
            list(&sharing(g, i), NAMES)
        ),
        Verdict::NoConsensus => no_consensus(g),
        Verdict::Mismatch => {
            let d = differing(g, i);
            let n = g.manifest_group[i].map_or(String::new(), |n| format!(" #{n}"));
            if d.is_empty() {
                format!("manifest{n} differs from the consensus #1 (same artifacts, other lines)")
            } else {
                format!(
                    "manifest{n} differs from the consensus on {} of {} artifacts: {}",
                    d.len(),
                    g.artifacts.len(),
                    list(&d, NAMES)
                )
            }
        }
    })
}

fn names(g: &GroupReport, pick: impl Fn(usize) -> bool, with_status: bool) -> String {
    let n: Vec<String> = (0..g.rows.len())
        .filter(|&i| pick(i))
        .map(|i| {
            let r = &g.rows[i];
            if with_status { format!("{}: {}", r.signer, r.status) } else { r.signer.clone() }
        })
        .collect();
    list(&n, NAMES)
}

fn count(g: &GroupReport, v: &Verdict) -> usize {
    g.verdicts.iter().filter(|x| *x == v).count()
}

/// The release's result: `OK`, or `FAILED: ` and every reason it failed, with the threshold.
pub fn result_line(g: &GroupReport) -> String {
    let total = g.rows.len();
    let mut parts = Vec::new();
    let of = |v: &Verdict| count(g, v);
    let is = |v: Verdict| move |i: usize| g.verdicts[i] == v;
    let n = of(&Verdict::BadSignature);
    if n > 0 {
        let verb = if n == 1 { "does" } else { "do" };
        let who = names(g, is(Verdict::BadSignature), true);
        parts.push(format!("{n} of {total} signatures {verb} not count ({who})"));
    }
    let n = of(&Verdict::Mismatch);
    if n > 0 {
        let verb = if n == 1 { "differs" } else { "differ" };
        let who = names(g, is(Verdict::Mismatch), false);
        parts.push(format!("{n} of {total} {verb} from the consensus ({who})"));
    }
    for (v, what, status) in [
        (Verdict::Missing, "missing", true),
        (Verdict::SharedKey, "share a key", false),
        (Verdict::Invalid, "invalid", false),
        (Verdict::Conflict, "differ between revisions", false),
    ] {
        let n = of(&v);
        if n > 0 {
            parts.push(format!("{n} {what} ({})", names(g, is(v.clone()), status)));
        }
    }
    if g.consensus.is_none() {
        parts.push(no_consensus(g));
    }
    if !g.missing_required.is_empty() {
        parts.push(format!("required signers not agreeing: {}", g.missing_required.join(", ")));
    }
    if g.threshold > 0 {
        if g.threshold_met() {
            parts.push(format!("threshold {} met", g.threshold));
        } else {
            let keys = if g.votes == 1 { "key agrees" } else { "keys agree" };
            parts.push(format!("threshold {} NOT met ({} {keys})", g.threshold, g.votes));
        }
    } else if g.consensus.is_some() && g.votes == 0 {
        parts.push("no agreeing key".to_string());
    }
    if g.passed() {
        let mut line = "OK".to_string();
        if g.threshold > 0 {
            line.push_str(&format!(": threshold {} met", g.threshold));
        }
        return line;
    }
    if parts.is_empty() {
        return "FAILED".to_string();
    }
    format!("FAILED: {}", parts.join("; "))
}

/// The main reason a release failed, for the run's summary (the most serious first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// A good signature over another manifest than the consensus.
    Mismatch,
    /// An attestation that does not parse or contradicts its path.
    Invalid,
    /// A file that differs between the revisions read.
    Conflict,
    /// One key signing several directories.
    SharedKey,
    /// A signature that is bad, expired, revoked or unreadable.
    BadSignature,
    /// Signatures by keys in no key file.
    NoKeys,
    /// A tie, or nothing counts.
    NoConsensus,
    /// A signed file or a signature missing.
    Missing,
    /// Fewer agreeing keys than the threshold.
    Threshold,
    /// A required signer not among the agreeing.
    Required,
}

impl Cause {
    /// Words after a count of releases: `640 without enough keys`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mismatch => "with a mismatch",
            Self::Invalid => "with an invalid attestation",
            Self::Conflict => "with a conflict between revisions",
            Self::SharedKey => "with a shared key",
            Self::BadSignature => "with a bad signature",
            Self::NoKeys => "without enough keys",
            Self::NoConsensus => "without consensus",
            Self::Missing => "with a missing file",
            Self::Threshold => "below the threshold",
            Self::Required => "without a required signer",
        }
    }

    /// A short name for machine output: `no_keys`, `mismatch`, ...
    pub fn id(self) -> &'static str {
        match self {
            Self::Mismatch => "mismatch",
            Self::Invalid => "invalid",
            Self::Conflict => "conflict",
            Self::SharedKey => "shared_key",
            Self::BadSignature => "bad_signature",
            Self::NoKeys => "no_keys",
            Self::NoConsensus => "no_consensus",
            Self::Missing => "missing",
            Self::Threshold => "threshold",
            Self::Required => "required_signer",
        }
    }
}

/// The most serious reason a group failed; `None` when it passed.
pub fn cause(g: &GroupReport) -> Option<Cause> {
    if g.passed() {
        return None;
    }
    let has = |v: Verdict| g.verdicts.contains(&v);
    let unverified = |no_pubkey: bool| {
        g.rows.iter().zip(&g.verdicts).any(|(r, v)| {
            *v == Verdict::BadSignature
                && (r.status == RowStatus::Signature(SigStatus::NoPubkey)) == no_pubkey
        })
    };
    Some(if has(Verdict::Mismatch) {
        Cause::Mismatch
    } else if has(Verdict::Invalid) {
        Cause::Invalid
    } else if has(Verdict::Conflict) {
        Cause::Conflict
    } else if has(Verdict::SharedKey) {
        Cause::SharedKey
    } else if unverified(false) {
        Cause::BadSignature
    } else if unverified(true) {
        Cause::NoKeys
    } else if g.consensus.is_none() {
        Cause::NoConsensus
    } else if has(Verdict::Missing) {
        Cause::Missing
    } else if !g.missing_required.is_empty() {
        Cause::Required
    } else {
        Cause::Threshold
    })
}

/// The run in one line: releases (a ledger's release; every group of a Guix release together),
/// how many passed, and the failed ones by their main cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Distinct (ledger, release).
    pub releases: usize,
    /// Releases whose every group passed.
    pub ok: usize,
    /// The others.
    pub failed: usize,
    /// Failed releases per main cause, the most frequent first.
    pub causes: Vec<(Cause, usize)>,
}

impl Summary {
    /// Counts the groups' releases.
    pub fn of(groups: &[GroupReport]) -> Self {
        let mut by_release: BTreeMap<(&str, &str), Option<Cause>> = BTreeMap::new();
        for g in groups {
            let c = cause(g);
            let e = by_release.entry((&g.ledger, &g.release)).or_insert(None);
            *e = match (*e, c) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let mut causes: BTreeMap<Cause, usize> = BTreeMap::new();
        for c in by_release.values().flatten() {
            *causes.entry(*c).or_default() += 1;
        }
        let mut causes: Vec<(Cause, usize)> = causes.into_iter().collect();
        causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let failed = causes.iter().map(|c| c.1).sum();
        Self { releases: by_release.len(), ok: by_release.len() - failed, failed, causes }
    }

    /// `756 releases: 50 OK, 706 FAILED (640 without enough keys, 66 with a mismatch)`.
    pub fn text(&self) -> String {
        let noun = if self.releases == 1 { "release" } else { "releases" };
        let mut s = format!("{} {noun}: {} OK", self.releases, self.ok);
        if self.failed > 0 {
            let causes: Vec<String> =
                self.causes.iter().map(|(c, n)| format!("{n} {}", c.label())).collect();
            s.push_str(&format!(", {} FAILED ({})", self.failed, causes.join(", ")));
        }
        s
    }
}

/// Loud warnings, with a hint each, when no key or few keys were loaded: without them every
/// signature is UNVERIFIED and the real cause would otherwise go unsaid.
pub fn key_warnings(groups: &[GroupReport], keys_loaded: usize) -> Vec<(String, String)> {
    let rows = || groups.iter().flat_map(|g| &g.rows);
    let signatures = rows().filter(|r| r.status.signature().is_some()).count();
    let unknown =
        rows().filter(|r| r.status.signature().is_some_and(|s| *s == SigStatus::NoPubkey)).count();
    let hint = "pass --keys PATH (a key file or a folder of them) with the builders' public \
                keys, or keep them in the ledger's builder-keys/"
        .to_string();
    if signatures == 0 || unknown == 0 {
        return Vec::new();
    }
    if keys_loaded == 0 {
        let w = format!(
            "no public key was loaded: none of the {signatures} signatures can be verified"
        );
        return vec![(w, hint)];
    }
    if unknown * 2 > signatures {
        let keys = if keys_loaded == 1 { "key was" } else { "keys were" };
        let w = format!(
            "only {keys_loaded} public {keys} loaded: {unknown} of {signatures} signatures are \
             by keys in no key file"
        );
        return vec![(w, hint)];
    }
    Vec::new()
}

#[cfg(test)]
mod tests;
