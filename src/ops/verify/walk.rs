//! The ledger walk: release, signer and file names of one tree, checked and collected.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::found::Found;
use super::signed::Signed;
use super::{KEY_DIRS, MAX_ATTESTATION, MAX_SIGNATURE, Query, SIG_EXTS, VerifyError};
use crate::core::consensus::Layout;
use crate::core::layout::check_component;
use crate::core::sums;
use crate::ledger::{Content, Entry, FsTree, Kind, LedgerTree};

/// Everything found in one tree. With `--name`, the (release, signer) directories that hold
/// nothing of that name go to `absent` (gverify's `missing result at`).
pub(super) fn collect_tree(
    tree: &dyn LedgerTree,
    q: &Query,
    problems: &mut Vec<String>,
    absent: &mut Vec<(String, String)>,
) -> Result<Vec<Found>, VerifyError> {
    let on_disk = tree.on_disk().map(Arc::new);
    let label = tree.label();
    let mut found = Vec::new();
    let root = tree.list("")?;
    let mut release_names = Vec::new();
    for entry in &root {
        let shown = show_name(entry);
        let Ok(name) = &entry.name else {
            problems
                .push(format!("{label}: refused release directory '{shown}': name is not UTF-8"));
            continue;
        };
        if name.starts_with('.') || KEY_DIRS.contains(&name.as_str()) {
            continue;
        }
        if !q.releases.is_empty() && !q.releases.contains(name) {
            continue;
        }
        match entry.kind {
            Kind::Dir => {}
            Kind::Symlink => {
                problems.push(format!("{label}: refused release '{shown}': it is a symlink"));
                continue;
            }
            _ => continue,
        }
        if let Err(e) = check_component("release", name) {
            problems.push(format!("{label}: refused {e}"));
            continue;
        }
        release_names.push(name.clone());
    }
    release_names.sort();
    for release in release_names {
        for entry in tree.list(&release)? {
            let shown = show_name(&entry);
            let signer = match (&entry.name, entry.kind) {
                (Ok(n), Kind::Dir) => n.clone(),
                (_, Kind::Symlink) => {
                    problems.push(format!(
                        "{label}: refused signer '{release}/{shown}': it is a symlink"
                    ));
                    continue;
                }
                (Err(_), _) => {
                    problems.push(format!(
                        "{label}: refused signer '{release}/{shown}': name is not UTF-8"
                    ));
                    continue;
                }
                _ => continue,
            };
            if let Err(e) = check_component("signer", &signer) {
                problems.push(format!("{label}: {release}: refused {e}"));
                continue;
            }
            let before = found.len();
            collect_signer(tree, on_disk.as_ref(), q, &release, &signer, &mut found, problems)?;
            if q.name.is_some() && found.len() == before {
                absent.push((release.clone(), signer));
            }
        }
    }
    Ok(found)
}

fn classify(name: &str) -> Option<(Layout, String)> {
    if name.ends_with(".assert") {
        Some((Layout::Gitian, String::new()))
    } else {
        sums::kind_of(name).map(|k| (Layout::Guix, k.to_string()))
    }
}

fn collect_signer(
    tree: &dyn LedgerTree,
    on_disk: Option<&Arc<FsTree>>,
    q: &Query,
    release: &str,
    signer: &str,
    found: &mut Vec<Found>,
    problems: &mut Vec<String>,
) -> Result<(), VerifyError> {
    let label = tree.label();
    let dir = format!("{release}/{signer}");
    let mut files: BTreeMap<String, Kind> = BTreeMap::new();
    for entry in tree.list(&dir)? {
        match entry.name {
            Ok(n) => {
                files.insert(n, entry.kind);
            }
            Err(b) => problems.push(format!(
                "{label}: refused file '{dir}/{}': name is not UTF-8",
                String::from_utf8_lossy(&b).escape_default()
            )),
        }
    }
    let wanted = |data_name: &str| match &q.name {
        Some(n) => data_name == format!("{n}-build.assert"),
        None => true,
    };
    let mut sig_used: std::collections::BTreeSet<String> = Default::default();
    for (name, kind) in &files {
        let Some((layout, group)) = classify(name) else { continue };
        if !wanted(name) {
            continue;
        }
        // A refused name is never read.
        if let Err(e) = check_component("file", name) {
            problems.push(format!("{label}: refused {e}"));
            continue;
        }
        let data_path = format!("{dir}/{name}");
        let mut file_error = None;
        let data = match kind {
            Kind::File => Some(Arc::new(match (on_disk, tree.blob(&data_path)) {
                (Some(fs), _) => Signed::deferred(fs.clone(), data_path.clone(), q.cache.is_some()),
                (None, Some(Ok(blob))) => Signed::git(blob),
                (None, Some(Err(e))) => Signed::read(Err(e)),
                (None, None) => Signed::read(tree.read(&data_path, MAX_ATTESTATION)),
            })),
            Kind::Symlink => {
                file_error = Some(format!("{data_path} is a symlink: not followed"));
                Some(Arc::new(Signed::new(Content::Bytes(Vec::new()))))
            }
            _ => continue,
        };
        let sigs: Vec<String> = SIG_EXTS
            .iter()
            .map(|ext| format!("{name}.{ext}"))
            .filter(|s| files.contains_key(s))
            .collect();
        let base = Found {
            layout,
            release: release.to_string(),
            group,
            signer: signer.to_string(),
            file: name.clone(),
            data,
            data_path: data_path.clone(),
            sig: None,
            sig_path: None,
            file_error,
        };
        if sigs.is_empty() {
            found.push(base);
            continue;
        }
        for sig in sigs {
            sig_used.insert(sig.clone());
            let sig_path = format!("{dir}/{sig}");
            let (content, err) = match files[&sig] {
                Kind::File => (tree.read(&sig_path, MAX_SIGNATURE)?, None),
                _ => (
                    Content::Bytes(Vec::new()),
                    Some(format!("{sig_path} is a symlink: not followed")),
                ),
            };
            found.push(Found {
                sig: Some(content),
                sig_path: Some(sig_path),
                file_error: base.file_error.clone().or(err),
                ..base.clone()
            });
        }
    }
    // Signatures whose signed file is missing.
    for (name, kind) in &files {
        if sig_used.contains(name) {
            continue;
        }
        let Some((stem, _)) = name.rsplit_once('.').filter(|(_, ext)| SIG_EXTS.contains(ext))
        else {
            continue;
        };
        let Some((layout, group)) = classify(stem) else { continue };
        if !wanted(stem) {
            continue;
        }
        let sig_path = format!("{dir}/{name}");
        let sig = match kind {
            Kind::File => tree.read(&sig_path, MAX_SIGNATURE)?,
            _ => Content::Bytes(Vec::new()),
        };
        found.push(Found {
            layout,
            release: release.to_string(),
            group,
            signer: signer.to_string(),
            file: stem.to_string(),
            data: None,
            data_path: format!("{dir}/{stem}"),
            sig: Some(sig),
            sig_path: Some(sig_path),
            file_error: None,
        });
    }
    Ok(())
}

fn show_name(entry: &Entry) -> String {
    match &entry.name {
        Ok(s) => s.escape_default().to_string(),
        Err(bytes) => String::from_utf8_lossy(bytes).escape_default().to_string(),
    }
}
