//! Unit tests of the consensus: who agrees, per group, with exact verdicts.
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
        manifest: Some(Arc::new(Manifest::parse(manifest))),
        manifest_id: String::new(),
        file_error: None,
        field_error: None,
        revs: vec![],
        conflict: None,
    }
}

#[test]
fn groups_computed_on_several_threads_are_the_same_in_the_same_order() {
    let mut rows = Vec::new();
    for r in 0..9 {
        for (signer, key, status, m) in [
            ("a", "K1", "good", "aa  x\n"),
            ("b", "K2", "good", "aa  x\nbb  y\n"),
            ("c", "K3", if r % 2 == 0 { "good" } else { "bad" }, "aa  x\n"),
        ] {
            let mut row = row(signer, key, status, m);
            row.release = format!("{r}.0");
            rows.push(row);
        }
    }
    let one = compute(rows.clone(), &Options { threshold: 2, ..Default::default() });
    let four = compute(rows, &Options { threshold: 2, threads: 4, ..Default::default() });
    assert_eq!(one.len(), 9);
    assert_eq!(one, four);
    assert_eq!(
        four.iter().map(|g| g.release.as_str()).collect::<Vec<_>>()[..3],
        ["0.0", "1.0", "2.0"]
    );
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

#[test]
fn the_layouts_are_named_as_in_json() {
    assert_eq!((Layout::Gitian.as_str(), Layout::Guix.as_str()), ("gitian", "guix"));
}

/// A conflict outranks a missing signature, which outranks a file that does not parse or
/// contradicts its path, which outranks a signature that does not count.
#[test]
fn each_row_gets_the_verdict_of_its_worst_problem() {
    let mut rows = vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "good", "h1  f\n")];
    let mut conflict = row("c", "K3", "bad", "h1  f\n");
    (conflict.conflict, conflict.status) = (Some("differs".into()), RowStatus::NoSignature);
    let mut missing = row("d", "K4", "bad", "h1  f\n");
    (missing.status, missing.file_error) = (RowStatus::NoSignature, Some("too large".into()));
    let mut unparsed = row("e", "K5", "bad", "h1  f\n");
    unparsed.file_error = Some("not UTF-8".into());
    let mut misplaced = row("f", "K6", "good", "h1  f\n");
    misplaced.field_error = Some("release is 2.0".into());
    rows.extend([conflict, missing, unparsed, misplaced, row("g", "K7", "bad", "h1  f\n")]);
    let r = &compute(rows, &Options::default())[0];
    use Verdict::*;
    assert_eq!(r.verdicts, [Ok, Ok, Conflict, Missing, Invalid, Invalid, BadSignature]);
    assert_eq!(r.votes, 2, "only a and b vote");
}

#[test]
fn a_required_signer_who_disagrees_or_does_not_count_is_missing() {
    let opts = Options {
        required_signers: vec!["alice".into()],
        required_keys: BTreeMap::from([("alice".to_string(), BTreeSet::from(["K1".into()]))]),
        ..Default::default()
    };
    let others = || vec![row("b", "K2", "good", "h1  f\n"), row("c", "K3", "good", "h1  f\n")];
    for alice in [row("alice", "K1", "good", "h2  f\n"), row("alice", "K1", "bad", "h1  f\n")] {
        let mut rows = others();
        rows.push(alice);
        let r = &compute(rows, &opts)[0];
        assert_eq!(r.missing_required, ["alice"]);
    }
}

#[test]
fn compare_to_pins_every_artifact_to_that_signers_hash() {
    let rows = vec![
        row("a", "K1", "good", "h1  f\nh1  g\n"),
        row("b", "K2", "good", "h1  f\nh1  g\n"),
        row("c", "K3", "good", "h2  f\nh1  g\n"),
    ];
    let opts = Options { compare_to: Some("c".into()), ..Default::default() };
    let r = &compute(rows, &opts)[0];
    let f = &r.artifacts[0];
    assert_eq!((f.name.as_str(), f.consensus.as_deref(), f.votes), ("f", Some("h2"), 1));
    assert_eq!(f.cells, [Cell::Differs, Cell::Differs, Cell::Agrees]);
    assert_eq!(r.artifacts[1].votes, 3);
}

#[test]
fn artifacts_without_consensus_are_undecided() {
    let rows = vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "good", "h2  f\n")];
    let r = &compute(rows, &Options::default())[0];
    let f = &r.artifacts[0];
    assert_eq!((f.consensus.as_deref(), f.votes), (None, 0));
    assert_eq!(f.cells, [Cell::Undecided, Cell::Undecided]);
}

/// Manifests are numbered: 1 the consensus, then by votes (distinct keys), then by text; a
/// row without a manifest has no number.
#[test]
fn manifests_are_numbered_consensus_first_then_by_votes() {
    let mut rows = vec![
        row("a", "K1", "good", "h5  f\n"),
        row("b", "K2", "good", "h1  f\n"),
        row("c", "K3", "good", "h2  f\n"),
        row("d", "K4", "good", "h2  f\n"),
        row("e", "K5", "good", "h2  f\n"),
        row("f", "K6", "good", "h4  f\n"),
        row("g", "K7", "good", "h4  f\n"),
        row("h", "K8", "bad", "h0  f\n"),
        row("i", "K9", "good", "h3  f\n"),
    ];
    rows[1].manifest = None;
    let r = &compute(rows, &Options::default())[0];
    assert_eq!(
        r.manifest_group,
        [Some(4), None, Some(1), Some(1), Some(1), Some(2), Some(2), Some(5), Some(3)]
    );
    // Pinned to a signer, that signer's manifest is number 1 whatever its votes.
    let mut rows = r.rows.clone();
    rows[1].manifest = Some(Arc::new(Manifest::parse("h1  f\n")));
    let opts = Options { compare_to: Some("a".into()), ..Default::default() };
    let r = &compute(rows, &opts)[0];
    assert_eq!(
        r.manifest_group,
        [Some(1), Some(4), Some(2), Some(2), Some(2), Some(3), Some(3), Some(6), Some(5)]
    );
}
