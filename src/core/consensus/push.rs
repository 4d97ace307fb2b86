//! The pre-push judgement: may one attestation a push adds or changes be published, given the
//! verification of its release at the pushed commit?
//!
//! It is decided by the same rules as verify's consensus ([`super::tally`], one key one vote,
//! only attestations that count and are valid vote), with two differences that follow from the
//! question: the pushed attestation is compared with the *other* signers only (its own signer
//! directory does not vote), and a tie among them is [`OnTie::AllLead`]: agreeing with any of
//! the largest groups is agreeing (the push may be what breaks the tie).

use std::collections::{BTreeMap, BTreeSet};

use super::tally::{self, OnTie};
use super::{GroupReport, Verdict, normalised};
use crate::core::manifest::Manifest;
use crate::core::status::{RowStatus, SigStatus};

/// One attestation a push adds or changes, and the judgement of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// `<release>/<signer>/<file>`.
    pub path: String,
    /// Why it is refused; `None` when it may be pushed.
    pub refused: Option<String>,
    /// Artifacts whose hash differs from the other signers' (or is missing on one side).
    pub differing: Vec<String>,
    /// It disagrees, but the policy lets disagreement be recorded.
    pub allowed_disagreement: bool,
}

/// Which pushed attestation: `(release, signer, signed file)`.
pub type Pushed = (String, String, String);

/// Judges one pushed attestation against the verification of its release (`groups`, at the
/// pushed commit). `allow_disagreement` is the ledger policy's: outputs that differ are
/// recorded instead of refused.
pub fn judge_push(groups: &[GroupReport], pushed: &Pushed, allow_disagreement: bool) -> Judged {
    let (release, signer, file) = pushed;
    let path = format!("{release}/{signer}/{file}");
    let mut j = Judged { path, refused: None, differing: Vec::new(), allowed_disagreement: false };
    // Every row of it: one per signature file (a good .asc does not excuse a bad .sig).
    let found = groups.iter().find_map(|g| {
        let at: Vec<usize> = (0..g.rows.len())
            .filter(|&i| {
                let r = &g.rows[i];
                r.release == *release && r.signer == *signer && r.file == *file
            })
            .collect();
        (!at.is_empty()).then_some((g, at))
    });
    let Some((g, at)) = found else {
        // The signed file was deleted and only its signature remains, or the other way round.
        j.refused = Some("not found at the pushed commit (a signature without its file?)".into());
        return j;
    };
    if let Some(why) = at.iter().find_map(|&i| refusal_of_row(g, i)) {
        j.refused = Some(why);
        return j;
    }
    let i = at[0];
    let Some(mine) = &g.rows[i].manifest else {
        j.refused = Some("no manifest".into());
        return j;
    };
    let top = leading_manifests_of_others(g, i);
    if top.is_empty() || top.iter().any(|m| normalised(m) == normalised(mine)) {
        return j; // the first signer of this release, or agreeing
    }
    j.differing = differing_artifacts(mine, top[0]);
    if allow_disagreement {
        j.allowed_disagreement = true;
    } else {
        j.refused =
            Some(format!("outputs differ from the other signers': {}", j.differing.join(", ")));
    }
    j
}

/// Why row `i` cannot be published whatever the others say: it does not parse, contradicts its
/// path or another revision, or its signature does not count.
fn refusal_of_row(g: &GroupReport, i: usize) -> Option<String> {
    let row = &g.rows[i];
    let verdict = &g.verdicts[i];
    if let Some(e) = row.file_error.as_ref().or(row.field_error.as_ref()).or(row.conflict.as_ref())
    {
        return Some(format!("{}: {e}", verdict.as_str()));
    }
    let bad = matches!(
        verdict,
        Verdict::BadSignature | Verdict::Missing | Verdict::SharedKey | Verdict::Invalid
    );
    if !bad && row.counts {
        return None;
    }
    let why = match &row.status {
        RowStatus::Signature(SigStatus::Bad) => {
            "the signature does not match the file's bytes (edited after signing?)".to_string()
        }
        RowStatus::Signature(SigStatus::NoPubkey) => {
            "signed by a key that is not in builder-keys/ (no_pubkey)".to_string()
        }
        RowStatus::NoSignature => "it has no signature next to it (no_signature)".to_string(),
        RowStatus::Signature(s) if *verdict == Verdict::SharedKey && s.is_good() => format!(
            "its key {} also signs another signer's folder of this release",
            row.key_fingerprint.as_deref().unwrap_or("-")
        ),
        other => match &row.sig_path {
            Some(sig) => format!("signature status {other} ({sig})"),
            None => format!("signature status {other}"),
        },
    };
    Some(format!("{}: {why}", verdict.as_str()))
}

/// The manifests the largest groups of the other signers' keys agree on (one key one vote;
/// only rows that vote in verify's consensus vote here), every tied one, in text order.
fn leading_manifests_of_others(g: &GroupReport, i: usize) -> Vec<&Manifest> {
    let me = &g.rows[i].signer;
    let mut votes: BTreeMap<String, (BTreeSet<&str>, &Manifest)> = BTreeMap::new();
    for (k, other) in g.rows.iter().enumerate() {
        if k == i || other.signer == *me || !super::is_vote(other) {
            continue;
        }
        if let (Some(m), Some(key)) = (super::usable_manifest(other), &other.key_fingerprint) {
            votes.entry(normalised(m)).or_insert_with(|| (BTreeSet::new(), m)).0.insert(key);
        }
    }
    tally::leaders(votes.values().map(|(keys, m)| (*m, keys.len())), OnTie::AllLead)
}

/// Artifact names whose hash differs between two manifests, or that only one lists.
pub fn differing_artifacts(mine: &Manifest, theirs: &Manifest) -> Vec<String> {
    let a: BTreeMap<&str, &str> =
        mine.entries.iter().map(|e| (e.path.as_str(), e.hash.as_str())).collect();
    let b: BTreeMap<&str, &str> =
        theirs.entries.iter().map(|e| (e.path.as_str(), e.hash.as_str())).collect();
    let names: BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
    names.into_iter().filter(|n| a.get(n) != b.get(n)).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consensus::tests::row;
    use crate::core::consensus::{Options, Row, compute};

    fn pushed(signer: &str) -> Pushed {
        ("1.0".into(), signer.into(), "x-build.assert".into())
    }

    fn judge(rows: Vec<Row>, signer: &str, allow: bool) -> Judged {
        judge_push(&compute(rows, &Options::default()), &pushed(signer), allow)
    }

    #[test]
    fn the_first_signer_and_an_agreeing_one_may_push() {
        let j = judge(vec![row("a", "K1", "good", "h1  f\n")], "a", false);
        assert_eq!(j.refused, None);
        let rows = vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "good", "h1  f\n")];
        assert_eq!(judge(rows, "b", false).refused, None);
    }

    #[test]
    fn differing_outputs_are_refused_or_recorded_when_allowed() {
        let rows = || {
            vec![row("a", "K1", "good", "h1  f\nh1  g\n"), row("b", "K2", "good", "h2  f\nh1  g\n")]
        };
        let j = judge(rows(), "b", false);
        assert_eq!(j.refused.as_deref(), Some("outputs differ from the other signers': f"));
        assert_eq!(j.differing, vec!["f"]);
        let j = judge(rows(), "b", true);
        assert_eq!((j.refused, j.allowed_disagreement), (None, true));
    }

    /// The pre-push tie rule: the others are split 1-1, so agreeing with either is agreeing
    /// (verify would say NO CONSENSUS for the group, and this push breaks the tie); a third
    /// manifest is refused and compared with the first tied one in text order.
    #[test]
    fn a_tie_among_the_others_accepts_any_tied_manifest() {
        let others = || vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "good", "h2  f\n")];
        for mine in ["h1  f\n", "h2  f\n"] {
            let mut rows = others();
            rows.push(row("c", "K3", "good", mine));
            assert_eq!(judge(rows, "c", false).refused, None, "{mine}");
        }
        let mut rows = others();
        rows.push(row("c", "K3", "good", "h3  f\n"));
        assert_eq!(judge(rows, "c", false).differing, vec!["f"]);
    }

    /// One key is one vote: two directories signed by one key do not outvote one other key,
    /// so the pushed manifest agreeing with the single key is accepted.
    #[test]
    fn one_key_is_one_vote_among_the_others() {
        let rows = vec![
            row("a", "K1", "good", "evil  f\n"),
            row("a2", "K1", "good", "evil  f\n"),
            row("b", "K2", "good", "h1  f\n"),
            row("c", "K3", "good", "h1  f\n"),
        ];
        assert_eq!(judge(rows, "c", false).refused, None);
    }

    /// Where the two copies of the rule disagreed: the hook let any row whose signature counts
    /// vote, verify's consensus only rows that parse, match their path and do not conflict.
    /// An attestation verify calls INVALID (here: its `release` field contradicts its
    /// directory) no longer decides what the next signer must publish.
    #[test]
    fn an_invalid_attestation_of_another_signer_does_not_vote() {
        let mut bad = row("a", "K1", "good", "h1  f\n");
        bad.field_error = Some("release is 2.0, not 1.0".into());
        let rows = vec![bad, row("b", "K2", "good", "h2  f\n")];
        assert_eq!(judge(rows, "b", false).refused, None);
    }

    /// The same for an empty manifest: it claims no output, so it does not vote.
    #[test]
    fn an_empty_manifest_of_another_signer_does_not_vote() {
        let rows = vec![row("a", "K1", "good", ""), row("b", "K2", "good", "h2  f\n")];
        assert_eq!(judge(rows, "b", false).refused, None);
    }

    #[test]
    fn a_signature_that_does_not_count_is_refused_with_its_reason() {
        let rows = vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "bad", "h1  f\n")];
        assert_eq!(
            judge(rows, "b", false).refused.as_deref(),
            Some(
                "UNVERIFIED: the signature does not match the file's bytes (edited after signing?)"
            )
        );
        let rows = vec![row("b", "K2", "no_pubkey", "h1  f\n")];
        assert_eq!(
            judge(rows, "b", false).refused.as_deref(),
            Some("UNVERIFIED: signed by a key that is not in builder-keys/ (no_pubkey)")
        );
        let j = judge(vec![row("a", "K1", "good", "h1  f\n")], "zz", false);
        assert_eq!(
            j.refused.as_deref(),
            Some("not found at the pushed commit (a signature without its file?)")
        );
    }

    #[test]
    fn a_key_that_signs_another_signers_folder_is_refused() {
        let rows = vec![row("a", "K1", "good", "h1  f\n"), row("b", "K1", "good", "h1  f\n")];
        assert_eq!(
            judge(rows, "b", false).refused.as_deref(),
            Some("SHARED KEY: its key K1 also signs another signer's folder of this release")
        );
    }

    #[test]
    fn a_signature_by_a_revoked_key_is_refused_with_its_status_and_file() {
        let mut revoked = row("b", "K2", "good", "h1  f\n");
        (revoked.status, revoked.counts) = (RowStatus::Signature(SigStatus::RevokedKey), false);
        let rows = vec![row("a", "K1", "good", "h1  f\n"), revoked];
        assert_eq!(
            judge(rows, "b", false).refused.as_deref(),
            Some("UNVERIFIED: signature status revoked_key (1.0/b/x-build.assert.sig)")
        );
    }

    #[test]
    fn an_attestation_that_does_not_parse_is_refused_with_the_reason() {
        let mut broken = row("b", "K2", "good", "h1  f\n");
        broken.file_error = Some("not UTF-8".into());
        let rows = vec![row("a", "K1", "good", "h1  f\n"), broken];
        assert_eq!(judge(rows, "b", false).refused.as_deref(), Some("INVALID: not UTF-8"));
    }

    /// A signer's second signature of the same file (a `.sig` and an `.asc`) is still that
    /// signer: it does not vote for the pushed manifest against the others.
    #[test]
    fn the_pushed_signers_other_signature_does_not_vote() {
        let mine = || row("b", "K2", "good", "h2  f\n");
        let mut asc = mine();
        asc.sig_path = Some("1.0/b/x-build.assert.asc".into());
        let rows = vec![row("a", "K1", "good", "h1  f\n"), mine(), asc];
        assert_eq!(
            judge(rows, "b", false).refused.as_deref(),
            Some("outputs differ from the other signers': f")
        );
    }

    #[test]
    fn differing_names_both_ways() {
        let a = Manifest::parse("h1  a\nh2  b\n");
        let b = Manifest::parse("h1  a\nh3  b\nh4  c\n");
        assert_eq!(differing_artifacts(&a, &b), vec!["b", "c"]);
    }
}
