//! The pre-push hook's checks of what a push takes away from the remote: a branch deleted, an
//! attestation removed, a key file removed or its certificates replaced, an attestation
//! re-signed by another key than the one that signed the remote's version. Each is refused
//! with the path and why; `git push --no-verify` stays the reviewed way out.

use std::collections::BTreeSet;
use std::path::Path;

use crate::core::consensus::GroupReport;
use crate::core::layout::KEY_DIRS;
use crate::git::push::{self, Change};
use crate::git::repo::RepoError;
use crate::ledger::GitTree;
use crate::ledger::{Content, LedgerTree};
use crate::openpgp::Keyring;
use crate::ops::verify::MAX_KEY_FILE;

/// A refusal: the path (or ref) and why.
pub type Refusal = (String, String);

/// Deleting a branch of the remote removes every attestation only it holds.
pub fn branch_deletion(remote_ref: &str) -> Refusal {
    (
        remote_ref.to_string(),
        "deletes this branch on the remote, and with it every attestation only it holds".into(),
    )
}

/// The remote's commit of the pushed ref is not in this repository (a forced push over
/// history not fetched): what the push removes cannot be known.
pub fn unknown_remote_commit(remote_ref: &str, sha: &str) -> Refusal {
    (
        remote_ref.to_string(),
        format!(
            "the remote's commit {sha} is not here, so what this push removes cannot be checked: fetch it first"
        ),
    )
}

/// Refusals for what the pushed commit `new` removes or replaces compared with the remote's
/// commit `old` (both ids) of the repository at `repo`: attestations (signed files and
/// signatures) and key files removed, and key files whose certificates are not the same ones.
pub fn removals_and_keys(
    repo: &Path,
    old: &str,
    new: &str,
    is_attestation: impl Fn(&str) -> bool,
) -> Result<Vec<Refusal>, RepoError> {
    let mut out = Vec::new();
    for (change, path) in push::tree_changes(repo, old, new)? {
        let in_key_dir = path.split('/').next().is_some_and(|d| KEY_DIRS.contains(&d));
        match change {
            Change::Removed if in_key_dir => out.push((
                path,
                "removes a key file that is on the remote (its signers' attestations would no \
                 longer verify)"
                    .into(),
            )),
            Change::Removed if is_attestation(&path) => out.push((
                path,
                "removes an attestation that is on the remote (attestations are evidence; \
                 publish a new one next to it instead)"
                    .into(),
            )),
            Change::Modified if in_key_dir => {
                let before = certificates(repo, old, &path);
                let after = certificates(repo, new, &path);
                if before != after {
                    out.push((
                        path,
                        format!(
                            "replaces the certificates of a key file that is on the remote \
                             (was {}, now {}): a key file may be updated, never given \
                             another key",
                            list(&before),
                            list(&after)
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// An attestation already on the remote, re-signed: it must be by the key that signed the
/// remote's version (`before`), else someone else's attestation was re-signed under their name.
pub fn resigned_by_another_key(
    before: &[GroupReport],
    after: &[GroupReport],
    (release, signer, file): &(String, String, String),
) -> Option<String> {
    let keys = |groups: &[GroupReport]| -> BTreeSet<String> {
        groups
            .iter()
            .flat_map(|g| &g.rows)
            .filter(|r| r.release == *release && r.signer == *signer && r.file == *file && r.counts)
            .filter_map(|r| r.key_fingerprint.clone())
            .collect()
    };
    let (was, now) = (keys(before), keys(after));
    if was.is_empty() || now.is_subset(&was) {
        return None;
    }
    Some(format!(
        "re-signed by key {}, but the remote's version is signed by {}: only its signer's own \
         key may sign it again",
        list(&now.difference(&was).cloned().collect()),
        list(&was)
    ))
}

/// Whether commit `rev` of the repository at `repo` has the folder `dir`.
pub fn has_dir(repo: &Path, rev: impl std::fmt::Display, dir: &str) -> bool {
    let rev = rev.to_string();
    GitTree::open(repo, &rev, &rev).is_ok_and(|t| t.list(dir).is_ok())
}

/// Primary fingerprints of the certificates in the key file `path` at commit `rev`.
fn certificates(repo: &Path, rev: &str, path: &str) -> BTreeSet<String> {
    let Ok(tree) = GitTree::open(repo, rev, rev) else { return BTreeSet::new() };
    let Ok(Content::Bytes(bytes)) = tree.read(path, MAX_KEY_FILE) else { return BTreeSet::new() };
    let mut keyring = Keyring::new();
    let _ = keyring.add_file(path, &bytes);
    keyring.fingerprints().collect()
}

fn list(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        return "none".into();
    }
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}
