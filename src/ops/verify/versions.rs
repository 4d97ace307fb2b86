//! The versions of one file across the revisions read, made into rows: identical versions are
//! one row listing every revision; versions that differ are a conflict only when each is
//! validly signed by one and the same key (two good signatures by one key over different
//! bytes). A version whose signature does not count (unsigned, bad) or that another key signed
//! cannot unseat a signed one: it is reported as its own row, with its revisions (and votes, if
//! at all, with its own key).

use std::collections::{BTreeMap, BTreeSet};

use crate::core::consensus::{Layout, Row};

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
        // The validly signed versions, by key.
        let mut by_key: BTreeMap<&str, BTreeSet<[u8; 32]>> = BTreeMap::new();
        for (fp, r) in by_fp.iter().filter(|(_, r)| r.counts) {
            if let Some(key) = r.key_fingerprint.as_deref() {
                by_key.entry(key).or_default().insert(*fp);
            }
        }
        let mut conflicts: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for fps in by_key.values().filter(|fps| fps.len() > 1) {
            let all: Vec<String> = fps.iter().map(|fp| by_fp[fp].revs.join(",")).collect();
            let why = format!("differs between revisions ({})", all.join(" / "));
            conflicts.extend(fps.iter().map(|fp| (*fp, why.clone())));
        }
        for (fp, mut row) in by_fp {
            row.conflict = conflicts.remove(&fp);
            rows.push(row);
        }
    }
    rows
}

/// Gitian asserts of several descriptors in one release folder (e.g. `bitcoin-build.assert`
/// and `boost-build.assert`) are separate consensus groups, one per descriptor name, as
/// gverify compared one descriptor's asserts; a folder of one descriptor keeps the one group.
pub(super) fn group_descriptors(rows: &mut [Row]) {
    let mut names: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.layout == Layout::Gitian) {
        names.entry((&r.ledger, &r.release)).or_default().insert(&r.file);
    }
    let several: BTreeSet<(String, String)> = names
        .into_iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|((l, r), _)| (l.to_string(), r.to_string()))
        .collect();
    for r in rows.iter_mut().filter(|r| r.layout == Layout::Gitian) {
        if several.contains(&(r.ledger.clone(), r.release.clone())) {
            r.group = r.file.strip_suffix("-build.assert").unwrap_or(&r.file).to_string();
        }
    }
}
