//! The original Ruby gverify's output, kept where scripts grep it: `<signer>: OK`, `MISMATCH`
//! or `BAD SIGNATURE` (bold under markup, as gverify made all three), each followed by an empty
//! line; `missing result at <path>` for a signer directory without the attestation and
//! `missing signature at <path>.sig` for one without gverify's detached `.sig`. Where gverify
//! had no word (a shared key, a copied attestation, a tie) the nearest of its words is printed
//! and a `note:` line after it says ours. With several releases, each is introduced by a
//! `--- <release> ---` line.

use super::super::consensus::{GroupReport, Layout, Row, Verdict, normalised};
use super::super::status::RowStatus;
use super::reason;
use super::text::clean;
use super::{Absent, Meta, dash};

/// gverify's three words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Ok,
    Mismatch,
    BadSignature,
}

impl Word {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Mismatch => "MISMATCH",
            Self::BadSignature => "BAD SIGNATURE",
        }
    }
}

/// The manifest gverify compares with when there is no consensus: the first signer
/// directory's, whatever its signature (gverify took the first directory the file system
/// returned; ours are sorted).
fn reference(g: &GroupReport) -> Option<String> {
    g.rows.iter().find_map(|r| r.manifest.as_deref()).map(normalised)
}

/// gverify's word for row `i`.
fn word(g: &GroupReport, i: usize) -> Word {
    let row = &g.rows[i];
    match g.verdicts[i] {
        Verdict::Ok => Word::Ok,
        Verdict::BadSignature | Verdict::SharedKey => Word::BadSignature,
        Verdict::Invalid if !row.counts => Word::BadSignature,
        Verdict::Mismatch | Verdict::Invalid | Verdict::Conflict | Verdict::Missing => {
            Word::Mismatch
        }
        Verdict::NoConsensus => match (reference(g), &row.manifest) {
            (Some(r), Some(m)) if r == normalised(m) => Word::Ok,
            _ => Word::Mismatch,
        },
    }
}

/// Whether gverify would have read this row's signature (only `<file>.sig`).
fn gverify_reads(g: &GroupReport, row: &Row) -> bool {
    g.layout != Layout::Gitian
        || row.sig_path.as_deref().is_none_or(|p| p.ends_with(&format!("{}.sig", row.file)))
}

fn one_row(out: &mut String, g: &GroupReport, i: usize, markup: bool, verbose: bool) {
    let (bold, reset) = if markup { ("\x1b[1m", "\x1b[0m") } else { ("", "") };
    let row = &g.rows[i];
    let signer = clean(&row.signer);
    let path = clean(&format!("{}/{}/{}/{}", g.ledger, g.release, row.signer, row.file));
    if row.status == RowStatus::NoSignature {
        out.push_str(&format!("missing signature at {path}.sig\n"));
        return;
    }
    if row.status == RowStatus::NoData {
        out.push_str(&format!("missing result at {path}\n"));
        return;
    }
    if !gverify_reads(g, row) {
        // Another signature file: gverify looks for `.sig` only.
        let has_sig = g.rows.iter().any(|r| {
            r.signer == row.signer
                && r.file == row.file
                && r.sig_path.is_some()
                && gverify_reads(g, r)
        });
        let why = reason::row_reason(g, i).unwrap_or_else(|| {
            format!("{} is signed ({})", dash(row.sig_path.as_deref()), row.status)
        });
        if !has_sig {
            out.push_str(&format!("missing signature at {path}.sig\n"));
        }
        out.push_str(&format!(
            "note: {signer}: {}; gverify reads only {}.sig\n",
            clean(&why),
            clean(&row.file)
        ));
        return;
    }
    if verbose {
        out.push_str(&format!(
            "gpg: {} signature by {}\n",
            row.status,
            dash(row.signing_key_fingerprint.as_deref().or(row.key_fingerprint.as_deref()))
        ));
    }
    let w = word(g, i);
    out.push_str(&format!("{bold}{signer}: {}{reset}\n", w.as_str()));
    if let Some(why) = reason::row_reason(g, i) {
        out.push_str(&format!("note: {}\n", clean(&why)));
    }
    out.push('\n');
    if verbose && w == Word::Mismatch {
        let base = match g.verdicts[i] {
            Verdict::NoConsensus => reference(g),
            _ => g.consensus.as_ref().map(normalised),
        };
        if let (Some(old), Some(new)) = (base, row.manifest.as_deref().map(normalised)) {
            for (o, n) in old.lines().zip(new.lines()) {
                if o != n {
                    out.push_str(&format!("- {}\n+ {}\n", clean(o), clean(n)));
                }
            }
        }
    }
}

/// The lines for every release, in the order the releases and signers are sorted.
pub fn render(groups: &[GroupReport], meta: &Meta, markup: bool, verbose: bool) -> String {
    let mut out = String::new();
    let several = groups.len() > 1;
    for g in groups {
        if several {
            let group = if g.group.is_empty() { String::new() } else { format!(" {}", g.group) };
            out.push_str(&format!("--- {}{group} ---\n", clean(&g.release)));
        }
        let absent: Vec<&Absent> =
            meta.absent.iter().filter(|a| a.ledger == g.ledger && a.release == g.release).collect();
        let mut order: Vec<(&str, Option<usize>, Option<&Absent>)> =
            g.rows.iter().enumerate().map(|(i, r)| (r.signer.as_str(), Some(i), None)).collect();
        order.extend(absent.iter().map(|a| (a.signer.as_str(), None, Some(*a))));
        order.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
        for (_, i, a) in order {
            match (i, a) {
                (Some(i), _) => one_row(&mut out, g, i, markup, verbose),
                (None, Some(a)) => out.push_str(&format!(
                    "missing result at {}\n",
                    clean(&format!("{}/{}/{}/{}", a.ledger, a.release, a.signer, a.file))
                )),
                (None, None) => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consensus::{Options, compute, tests::row};

    #[test]
    fn invalid_rows_are_bad_signatures_unless_their_signature_counts() {
        let mut rows = vec![
            row("a", "K1", "good", "h  f\n"),
            row("b", "K2", "good", "h  f\n"),
            row("c", "K3", "bad", "h  f\n"),
            row("d", "K4", "good", "h  f\n"),
        ];
        rows[2].file_error = Some("not an attestation".into());
        rows[3].field_error = Some("release: 2.0".into());
        let g = &compute(rows, &Options::default())[0];
        assert_eq!(&g.verdicts[2..], [Verdict::Invalid, Verdict::Invalid]);
        let words: Vec<_> = (0..4).map(|i| word(g, i).as_str()).collect();
        assert_eq!(words, ["OK", "OK", "BAD SIGNATURE", "MISMATCH"]);
    }

    #[test]
    fn a_tie_is_judged_against_the_first_directory_whatever_its_signature() {
        // b and c tie; gverify compared every signer with the first directory's manifest (a's,
        // whose signature is bad). gpg's line names the signing subkey when there is one.
        let mut rows = vec![
            row("a", "K1", "bad", "h2  f\n"),
            row("b", "K2", "good", "h1  f\n"),
            row("c", "K3", "good", "h2  f\n"),
        ];
        rows[2].signing_key_fingerprint = Some("S3".into());
        rows[0].signing_key_fingerprint = None;
        let groups = compute(rows, &Options::default());
        let g = &groups[0];
        assert_eq!(g.verdicts[1..], [Verdict::NoConsensus, Verdict::NoConsensus]);
        let tie = "note: no consensus: manifests #1 (b) and #2 (c) tie with 1 key each\n";
        let bad = "note: the signature by key K1 does not match the bytes of x-build.assert \
                   (bad): the file changed after it was signed, or the signature is of another \
                   file\n";
        let meta = Meta::default();
        assert_eq!(
            render(&groups, &meta, false, false),
            format!("a: BAD SIGNATURE\n{bad}\nb: MISMATCH\n{tie}\nc: OK\n{tie}\n")
        );
        assert_eq!(
            render(&groups, &meta, false, true),
            format!(
                "gpg: bad signature by K1\na: BAD SIGNATURE\n{bad}\n\
                 gpg: good signature by K2\nb: MISMATCH\n{tie}\n- h2  f\n+ h1  f\n\
                 gpg: good signature by S3\nc: OK\n{tie}\n"
            )
        );
    }

    #[test]
    fn signatures_gverify_would_not_read_are_notes() {
        // a signed with `.asc` only, b with both `.sig` and `.asc`; c's signature lost its file.
        let asc = |signer: &str| {
            let mut r = row(signer, &format!("K{signer}"), "good", "h  f\n");
            r.sig_path = Some(format!("1.0/{signer}/x-build.assert.asc"));
            r
        };
        let mut c = row("c", "Kc", "good", "h  f\n");
        c.status = RowStatus::NoData;
        c.manifest = None;
        let rows = vec![asc("a"), asc("b"), row("b", "Kb", "good", "h  f\n"), c];
        let groups = compute(rows, &Options::default());
        assert_eq!(
            render(&groups, &Meta::default(), false, false),
            "missing signature at l/1.0/a/x-build.assert.sig\n\
             note: a: 1.0/a/x-build.assert.asc is signed (good); gverify reads only \
             x-build.assert.sig\n\
             note: b: 1.0/b/x-build.assert.asc is signed (good); gverify reads only \
             x-build.assert.sig\n\
             b: OK\n\n\
             missing result at l/1.0/c/x-build.assert\n"
        );
        // Guix's signatures are `.asc`, and gverify read them.
        let mut guix = asc("a");
        guix.layout = Layout::Guix;
        let groups = compute(vec![guix], &Options::default());
        assert_eq!(render(&groups, &Meta::default(), false, false), "a: OK\n\n");
    }

    #[test]
    fn several_groups_are_introduced_by_release_and_group_with_their_absent_signers() {
        let mut rows = vec![row("a", "K1", "good", "h  f\n"), row("a", "K1", "good", "h  f\n")];
        rows[1].group = "all".into();
        rows[1].release = "2.0".into();
        let absent = |ledger: &str, release: &str| Absent {
            ledger: ledger.into(),
            release: release.into(),
            signer: "0".into(),
            file: "x-build.assert".into(),
        };
        // Absent directories of another ledger or release are not this release's.
        let meta = Meta {
            absent: vec![absent("l", "2.0"), absent("other", "1.0"), absent("l", "3.0")],
            ..Meta::default()
        };
        let groups = compute(rows, &Options::default());
        assert_eq!(
            render(&groups, &meta, true, false),
            "--- 1.0 ---\n\x1b[1ma: OK\x1b[0m\n\n\
             --- 2.0 all ---\nmissing result at l/2.0/0/x-build.assert\n\x1b[1ma: OK\x1b[0m\n\n"
        );
    }
}
