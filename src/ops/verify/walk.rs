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

/// One signer directory being collected.
struct SignerDir<'a> {
    tree: &'a dyn LedgerTree,
    on_disk: Option<&'a Arc<FsTree>>,
    q: &'a Query,
    release: &'a str,
    signer: &'a str,
    /// `release/signer`.
    dir: String,
}

impl SignerDir<'_> {
    /// Whether `--name` selects the attestation `data_name`.
    fn wanted(&self, data_name: &str) -> bool {
        match &self.q.name {
            Some(n) => data_name == format!("{n}-build.assert"),
            None => true,
        }
    }

    /// The directory's entries by name; a name that is not UTF-8 is refused.
    fn files(&self, problems: &mut Vec<String>) -> Result<BTreeMap<String, Kind>, VerifyError> {
        let mut files = BTreeMap::new();
        for entry in self.tree.list(&self.dir)? {
            match entry.name {
                Ok(n) => {
                    files.insert(n, entry.kind);
                }
                Err(b) => problems.push(format!(
                    "{}: refused file '{}/{}': name is not UTF-8",
                    self.tree.label(),
                    self.dir,
                    String::from_utf8_lossy(&b).escape_default()
                )),
            }
        }
        Ok(files)
    }

    /// The signed file `name` (read lazily where the tree allows), or `None` when it is
    /// neither a file nor a symlink; a symlink is never followed.
    fn signed(&self, name: &str, kind: Kind) -> Option<(Arc<Signed>, Option<String>)> {
        let data_path = format!("{}/{name}", self.dir);
        match kind {
            Kind::File => Some((
                Arc::new(match (self.on_disk, self.tree.blob(&data_path)) {
                    (Some(fs), _) => {
                        Signed::deferred(fs.clone(), data_path, self.q.cache.is_some())
                    }
                    (None, Some(Ok(blob))) => Signed::git(blob),
                    (None, Some(Err(e))) => Signed::read(Err(e)),
                    (None, None) => Signed::read(self.tree.read(&data_path, MAX_ATTESTATION)),
                }),
                None,
            )),
            Kind::Symlink => Some((
                Arc::new(Signed::new(Content::Bytes(Vec::new()))),
                Some(format!("{data_path} is a symlink: not followed")),
            )),
            _ => None,
        }
    }

    /// A signature file's bytes, or nothing and why when it is not a regular file.
    fn signature(
        &self,
        sig_path: &str,
        kind: Kind,
    ) -> Result<(Content, Option<String>), VerifyError> {
        Ok(match kind {
            Kind::File => (self.tree.read(sig_path, MAX_SIGNATURE)?, None),
            _ => {
                (Content::Bytes(Vec::new()), Some(format!("{sig_path} is a symlink: not followed")))
            }
        })
    }

    fn found(&self, layout: Layout, group: String, file: &str) -> Found {
        Found {
            layout,
            release: self.release.to_string(),
            group,
            signer: self.signer.to_string(),
            file: file.to_string(),
            data: None,
            data_path: format!("{}/{file}", self.dir),
            sig: None,
            sig_path: None,
            file_error: None,
        }
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
    let d = SignerDir { tree, on_disk, q, release, signer, dir: format!("{release}/{signer}") };
    let files = d.files(problems)?;
    let mut sig_used: std::collections::BTreeSet<String> = Default::default();
    for (name, kind) in &files {
        let Some((layout, group)) = classify(name) else { continue };
        if !d.wanted(name) {
            continue;
        }
        // A refused name is never read.
        if let Err(e) = check_component("file", name) {
            problems.push(format!("{}: refused {e}", tree.label()));
            continue;
        }
        let Some((data, file_error)) = d.signed(name, *kind) else { continue };
        let base = Found { data: Some(data), file_error, ..d.found(layout, group, name) };
        let sigs: Vec<String> = SIG_EXTS
            .iter()
            .map(|ext| format!("{name}.{ext}"))
            .filter(|s| files.contains_key(s))
            .collect();
        if sigs.is_empty() {
            found.push(base);
            continue;
        }
        for sig in sigs {
            let sig_path = format!("{}/{sig}", d.dir);
            let (content, err) = d.signature(&sig_path, files[&sig])?;
            sig_used.insert(sig);
            found.push(Found {
                sig: Some(super::found::SigSlot::new(content)),
                sig_path: Some(sig_path),
                file_error: base.file_error.clone().or(err),
                ..base.clone()
            });
        }
    }
    orphan_signatures(&d, &files, &sig_used, found)
}

/// Signatures whose signed file is missing.
fn orphan_signatures(
    d: &SignerDir<'_>,
    files: &BTreeMap<String, Kind>,
    sig_used: &std::collections::BTreeSet<String>,
    found: &mut Vec<Found>,
) -> Result<(), VerifyError> {
    for (name, kind) in files {
        if sig_used.contains(name) {
            continue;
        }
        let Some((stem, _)) = name.rsplit_once('.').filter(|(_, ext)| SIG_EXTS.contains(ext))
        else {
            continue;
        };
        let Some((layout, group)) = classify(stem) else { continue };
        if !d.wanted(stem) {
            continue;
        }
        let sig_path = format!("{}/{name}", d.dir);
        // A signature that is not a regular file counts as empty (no_data), as before.
        let (sig, _) = d.signature(&sig_path, *kind)?;
        found.push(Found {
            sig: Some(super::found::SigSlot::new(sig)),
            sig_path: Some(sig_path),
            ..d.found(layout, group, stem)
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
