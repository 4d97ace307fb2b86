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
}
