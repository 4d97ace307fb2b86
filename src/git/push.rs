//! What a push changes on the remote: the paths the pushed commit's tree adds, modifies or
//! removes compared with the remote's current commit (for the pre-push hook's checks of
//! removed attestations and replaced keys).

use std::path::Path;

use git2::{Delta, Oid, Repository};

use super::repo::{GitCause, RepoError};

/// A commit's id, as `Repo::resolve` gives it (so that callers outside `git` need not name
/// git2).
pub type CommitId = Oid;

/// How a path differs between the remote's commit and the pushed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only in the pushed commit.
    Added,
    /// In both, with other bytes or mode.
    Modified,
    /// Only in the remote's commit.
    Removed,
}

/// Every path (files, recursively) that differs between the trees of commits `old` and `new`
/// of the repository at `path`, in path order.
pub fn tree_changes(path: &Path, old: &str, new: &str) -> Result<Vec<(Change, String)>, RepoError> {
    let ctx = |context: &str| {
        let context = format!("{}: {context}", path.display());
        move |e: git2::Error| RepoError::Git { context, code: e.code(), source: GitCause::of(&e) }
    };
    let repo = Repository::open(path).map_err(ctx("cannot open the repository"))?;
    let tree = |rev: &str| -> Result<git2::Tree<'_>, RepoError> {
        let oid = Oid::from_str(rev).map_err(ctx("not a commit id"))?;
        repo.find_commit(oid).and_then(|c| c.tree()).map_err(ctx(&format!("commit {rev}")))
    };
    let (old, new) = (tree(old)?, tree(new)?);
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(ctx("cannot compare the pushed commit with the remote's"))?;
    let mut out: Vec<(Change, String)> = diff
        .deltas()
        .filter_map(|d| {
            let (change, file) = match d.status() {
                Delta::Added => (Change::Added, d.new_file()),
                Delta::Deleted => (Change::Removed, d.old_file()),
                _ => (Change::Modified, d.new_file()),
            };
            Some((change, file.path()?.to_str()?.to_string()))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}
