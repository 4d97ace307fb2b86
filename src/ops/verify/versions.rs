//! The versions of one file across the revisions read, made into rows: identical versions are
//! one row listing every revision; versions that differ are a conflict only when each is
//! validly signed (two good signatures by one key over different bytes). A version whose
//! signature does not count (unsigned, bad, someone else's key) cannot unseat a signed one: it
//! is reported as its own row, with its revisions.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::consensus::Row;

/// One version of a row with the digest of its bytes (data and signature).
pub(super) type Version = (Row, [u8; 32]);

/// Rows for every file, given each file's versions (one per revision it was read at).
pub(super) fn rows(versions: impl IntoIterator<Item = Vec<Version>>) -> Vec<Row> {
    let mut rows = Vec::new();
    for vs in versions {
        // Identical versions merge, their revisions listed in the order read.
        let mut by_fp: BTreeMap<[u8; 32], Row> = BTreeMap::new();
        for (row, fp) in vs {
            by_fp.entry(fp).and_modify(|r| r.revs.extend(row.revs.clone())).or_insert(row);
        }
        let signed: BTreeSet<[u8; 32]> =
            by_fp.iter().filter(|(_, r)| r.counts).map(|(fp, _)| *fp).collect();
        let conflict = (signed.len() > 1).then(|| {
            let all: Vec<String> = signed.iter().map(|fp| by_fp[fp].revs.join(",")).collect();
            format!("differs between revisions ({})", all.join(" / "))
        });
        for (fp, mut row) in by_fp {
            if signed.contains(&fp) {
                row.conflict = conflict.clone();
            }
            rows.push(row);
        }
    }
    rows
}
