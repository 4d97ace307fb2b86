//! Unit tests of the reasons: exact sentences, result lines and summaries.
use super::*;
use crate::core::consensus::{Options, compute, tests::row};

const M1: &str = "h1  f\n";
const M2: &str = "h2  f\n";

fn group(rows: Vec<Row>, threshold: usize) -> GroupReport {
    compute(rows, &Options { threshold, ..Default::default() }).remove(0)
}

#[test]
fn result_lines_name_every_cause() {
    let g = group(
        vec![
            row("a", "K1", "good", M1),
            row("b", "K2", "good", M1),
            row("c", "K3", "good", M2),
            row("d", "K4", "bad", M1),
        ],
        2,
    );
    assert_eq!(
        result_line(&g),
        "FAILED: 1 of 4 signatures does not count (d: bad); 1 of 4 differs from the \
         consensus (c); threshold 2 met"
    );
    assert_eq!(data_path(&g, &g.rows[0]), "1.0/a/x-build.assert");
    assert_eq!(row_reason(&g, 0), None);
    assert_eq!(
        row_reason(&g, 2).as_deref(),
        Some("manifest #2 differs from the consensus on 1 of 1 artifacts: f")
    );
    let ok = group(vec![row("a", "K1", "good", M1), row("b", "K2", "good", M1)], 2);
    assert_eq!(result_line(&ok), "OK: threshold 2 met");
    let shared = group(
        vec![row("a", "K1", "good", M1), row("b", "K1", "good", M1), row("c", "K2", "good", M1)],
        0,
    );
    assert_eq!(result_line(&shared), "FAILED: 2 share a key (a, b)");
}

#[test]
fn no_consensus_says_what_ties_or_that_nothing_counts() {
    let tie = group(vec![row("a", "K1", "good", M1), row("b", "K2", "good", M2)], 0);
    let want = "no consensus: manifests #1 (a) and #2 (b) tie with 1 key each";
    assert_eq!(no_consensus(&tie), want);
    assert_eq!(result_line(&tie), format!("FAILED: {want}"));
    let unknown = group(vec![row("a", "K1", "no_pubkey", M1), row("b", "K2", "no_pubkey", M1)], 0);
    assert_eq!(
        no_consensus(&unknown),
        "no consensus: no signature counts, every one is by a key in no key file"
    );
    let bad = group(vec![row("a", "K1", "bad", M1), row("b", "K2", "no_pubkey", M1)], 0);
    assert_eq!(no_consensus(&bad), "no consensus: no signature counts");

    // Release 1.0 fails on a mismatch (one of its groups), 2.0 on the tie.
    let mismatch = group(
        vec![row("a", "K1", "good", M1), row("b", "K2", "good", M1), row("c", "K3", "good", M2)],
        0,
    );
    let mut two = tie.clone();
    two.release = "2.0".into();
    let s = Summary::of(&[group(vec![row("a", "K1", "good", M1)], 0), mismatch, two]);
    assert_eq!((s.releases, s.ok, s.failed), (2, 0, 2));
    assert_eq!(s.text(), "2 releases: 0 OK, 2 FAILED (1 with a mismatch, 1 without consensus)");

    let hint = "pass --keys PATH (a key file or a folder of them) with the builders' public \
                keys, or keep them in the ledger's builder-keys/";
    let warn = |w: &str| vec![(w.to_string(), hint.to_string())];
    assert_eq!(
        key_warnings(std::slice::from_ref(&unknown), 0),
        warn("no public key was loaded: none of the 2 signatures can be verified")
    );
    assert_eq!(
        key_warnings(std::slice::from_ref(&unknown), 1),
        warn("only 1 public key was loaded: 2 of 2 signatures are by keys in no key file")
    );
    // Half the signatures by unknown keys is not "few keys".
    assert_eq!(key_warnings(&[bad], 1), []);
    assert_eq!(key_warnings(&[tie], 2), []);
}

#[test]
fn every_signature_status_has_its_reason_naming_the_key_and_its_file() {
    let mut r = row("a", "K1", "bad", M1);
    r.key_origin = Some("builder-keys/a.asc".into());
    let says = |r: &Row, s: SigStatus| {
        let mut r = r.clone();
        r.status = RowStatus::Signature(s);
        signature_reason(&r)
    };
    let sig = "1.0/a/x-build.assert.sig";
    let kf = "K1 (builder-keys/a.asc)";
    assert_eq!(says(&r, SigStatus::Good), "the signature is good");
    assert_eq!(
        says(&r, SigStatus::Bad),
        format!(
            "the signature by key {kf} does not match the bytes of x-build.assert (bad): the \
             file changed after it was signed, or the signature is of another file"
        )
    );
    assert_eq!(
        says(&r, SigStatus::ExpiredKey),
        format!(
            "key {kf} had expired at the time of the check (expired_key), and policy.yml sets \
             expired_keys_count: false"
        )
    );
    assert_eq!(says(&r, SigStatus::RevokedKey), format!("key {kf} is revoked (revoked_key)"));
    assert_eq!(
        says(&r, SigStatus::ExpiredSig),
        format!("the signature by key {kf} had expired at the time of the check (expired_sig)")
    );
    assert_eq!(
        says(&r, SigStatus::Error("truncated packet".into())),
        format!("{sig} could not be checked: truncated packet (error_rc2)")
    );
    assert_eq!(
        says(&r, SigStatus::NoSig),
        format!("{sig} holds no OpenPGP signature (error_nosig)")
    );
    assert_eq!(
        says(&r, SigStatus::Multi(vec![SigStatus::Good, SigStatus::Bad])),
        format!(
            "{sig} holds 2 signatures and not every one is good (multi:good+bad); gpg fails such \
             a file"
        )
    );
    assert_eq!(
        says(&r, SigStatus::Inline(Box::new(SigStatus::Good))),
        format!(
            "{sig} is a whole signed message, not a detached signature of x-build.assert (inline:good)"
        )
    );
    // An issuer in no key file: no key file to name, and the key as the signature names it.
    r.key_origin = None;
    assert_eq!(
        says(&r, SigStatus::NoPubkey),
        "signed by key K1, which is in no key file that was read (no_pubkey); add a's public key \
         to builder-keys/ or pass --keys"
    );
    r.key_fingerprint = None;
    assert_eq!(says(&r, SigStatus::RevokedKey), "key of unknown issuer is revoked (revoked_key)");
    r.sig_path = None;
    assert_eq!(
        says(&r, SigStatus::NoSig),
        "the signature holds no OpenPGP signature (error_nosig)"
    );
}

#[test]
fn a_missing_signature_or_signed_file_is_named_by_its_path() {
    let mut no_sig = row("b", "K2", "good", M1);
    no_sig.status = RowStatus::NoSignature;
    no_sig.counts = false;
    no_sig.sig_path = None;
    let mut no_data = row("c", "K3", "good", M1);
    no_data.status = RowStatus::NoData;
    no_data.counts = false;
    no_data.manifest = None;
    let g = group(vec![row("a", "K1", "good", M1), no_sig, no_data], 0);
    assert_eq!(g.verdicts[1..], [Verdict::Missing, Verdict::Missing]);
    assert_eq!(
        row_reason(&g, 1).unwrap(),
        "1.0/b/x-build.assert has no signature next to it (no_signature); `git gitian sign` \
         writes both"
    );
    assert_eq!(
        row_reason(&g, 2).unwrap(),
        "1.0/c/x-build.assert.sig signs x-build.assert, which is missing (no_data)"
    );
    assert_eq!(signature_reason(&g.rows[1]), "x-build.assert has no signature (no_signature)");
    // Without a signature at all, nothing counts and no key is to blame.
    let g = group(vec![g.rows[1].clone()], 0);
    assert_eq!(no_consensus(&g), "no consensus: no signature counts");
}

#[test]
fn only_counting_unconflicted_valid_attestations_make_a_tie() {
    // c, d and e hold b's manifest with good signatures, but their files conflict between
    // revisions, do not parse, or contradict their path: a and b still tie, one key each.
    let mut rows = vec![
        row("a", "K1", "good", M1),
        row("b", "K2", "good", M2),
        row("c", "K3", "good", M2),
        row("d", "K4", "good", M2),
        row("e", "K5", "good", M2),
        row("f", "K6", "bad", M2),
    ];
    rows[2].conflict = Some("differs between HEAD and v1".into());
    rows[3].file_error = Some("not an attestation".into());
    rows[4].field_error = Some("release: 2.0".into());
    let g = group(rows, 0);
    assert_eq!(no_consensus(&g), "no consensus: manifests #1 (a) and #2 (b) tie with 1 key each");
}

#[test]
fn a_compare_to_signer_without_a_manifest_is_said() {
    let mut c = row("c", "K3", "good", M1);
    c.status = RowStatus::NoData;
    c.manifest = None;
    let rows = vec![row("a", "K1", "good", M1), row("b", "K2", "good", M1), c];
    let opts = Options { compare_to: Some("c".into()), ..Default::default() };
    let g = compute(rows, &opts).remove(0);
    assert_eq!(
        no_consensus(&g),
        "no consensus: the --compare-to signer has no manifest in this release"
    );
}

#[test]
fn a_manifest_without_an_artifact_of_the_consensus_differs_on_it() {
    let both = "h1  f\nh2  g\n";
    let g = group(
        vec![
            row("a", "K1", "good", both),
            row("b", "K2", "good", both),
            row("c", "K3", "good", M1),
        ],
        0,
    );
    assert_eq!(differing(&g, 2), ["g"]);
    assert_eq!(
        row_reason(&g, 2).unwrap(),
        "manifest #2 differs from the consensus on 1 of 2 artifacts: g"
    );
}

#[test]
fn releases_below_the_threshold_or_without_a_required_signer_say_so() {
    let rows = vec![row("a", "K1", "good", M1), row("b", "K2", "good", M1)];
    let ok = group(rows.clone(), 0);
    assert_eq!(result_line(&ok), "OK");
    assert_eq!(cause(&ok), None);
    let below = group(rows.clone(), 3);
    assert_eq!(result_line(&below), "FAILED: threshold 3 NOT met (2 keys agree)");
    assert_eq!(cause(&below), Some(Cause::Threshold));
    let opts = Options { required_signers: vec!["z".into()], ..Default::default() };
    let required = compute(rows, &opts).remove(0);
    assert_eq!(result_line(&required), "FAILED: required signers not agreeing: z");
    assert_eq!(cause(&required), Some(Cause::Required));
    let mut other = ok.clone();
    other.release = "2.0".into();
    assert_eq!(Summary::of(&[ok.clone(), other]).text(), "2 releases: 2 OK");
    let mut required2 = required.clone();
    required2.release = "2.0".into();
    assert_eq!(
        Summary::of(&[ok, below, required2]).text(),
        "2 releases: 0 OK, 2 FAILED (1 below the threshold, 1 without a required signer)"
    );
}

#[test]
fn no_key_warning_when_every_signature_was_verified_or_there_is_none() {
    let verified = group(vec![row("a", "K1", "good", M1), row("b", "K2", "bad", M1)], 0);
    assert_eq!(key_warnings(std::slice::from_ref(&verified), 0), []);
    let mut unsigned = verified.clone();
    for r in &mut unsigned.rows {
        r.status = RowStatus::NoSignature;
    }
    assert_eq!(key_warnings(&[unsigned], 0), []);
}
