//! The git side of reading a ledger: which revisions to read (`--all-branches`), whether a
//! path is a repository, blob ids. The trees themselves are read by `crate::ledger::GitTree`.

use std::path::Path;

use git2::Repository;

use crate::ledger::SourceError;

/// Whether `path` is inside a git repository (work tree or bare).
pub fn is_repository(path: &Path) -> bool {
    Repository::open(path).is_ok()
}

/// The repository around `path` (searching upwards), as its work tree or git dir path.
pub fn discover(path: &Path) -> Option<std::path::PathBuf> {
    let repo = Repository::discover(path).ok()?;
    Some(repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf())
}

/// Resolves revisions of the repository at `path`: the given ones, plus every local and
/// remote-tracking branch with `all_branches`, or HEAD when there are none. Returns
/// (label, commit id) pairs without duplicates of the same label.
pub fn revisions(
    path: &Path,
    revs: &[String],
    all_branches: bool,
) -> Result<Vec<(String, String)>, SourceError> {
    let what = path.display().to_string();
    let repo = Repository::open(path).map_err(|e| SourceError::new(&what, e.message()))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for rev in revs {
        let obj = repo.revparse_single(rev).map_err(|e| {
            SourceError::new(&what, format!("unknown revision '{rev}': {}", e.message()))
        })?;
        let commit = obj
            .peel_to_commit()
            .map_err(|e| SourceError::new(&what, format!("'{rev}': {}", e.message())))?;
        out.push((rev.clone(), commit.id().to_string()));
    }
    if all_branches {
        let branches = repo.branches(None).map_err(|e| SourceError::new(&what, e.message()))?;
        let mut found = Vec::new();
        for b in branches {
            let (branch, _) = b.map_err(|e| SourceError::new(&what, e.message()))?;
            let name = branch.get().shorthand().unwrap_or("?").to_string();
            if name.ends_with("/HEAD") {
                continue;
            }
            if let Ok(c) = branch.get().peel_to_commit() {
                found.push((name, c.id().to_string()));
            }
        }
        found.sort();
        out.extend(found);
    }
    if revs.is_empty() && !all_branches {
        let head = repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(|e| SourceError::new(&what, format!("no HEAD commit: {}", e.message())))?;
        out.push(("HEAD".to_string(), head.id().to_string()));
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|(label, _)| seen.insert(label.clone()));
    Ok(out)
}

/// `git hash-object` of some bytes (a blob id), as hex.
pub fn blob_id(bytes: &[u8]) -> String {
    // The CPU's SHA-1 instructions (libgit2's hash_object, with collision detection, was a
    // tenth of a warm verify of both public ledgers); the id is only shown, never trusted.
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()));
    h.update(bytes);
    crate::core::manifest::hex(h.finalize().as_slice())
}

/// What a ledger directory is, for the header of verify's report: a plain directory, or the
/// work tree of a repository at a commit, with or without uncommitted changes (ignored files
/// aside). `None` when `path` is not the top of a work tree.
pub fn describe_work_tree(path: &Path) -> Option<String> {
    let repo = Repository::open(path).ok()?;
    let top = repo.workdir()?.canonicalize().ok()?;
    if top != path.canonicalize().ok()? {
        return None;
    }
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map_or("no commit yet".to_string(), |c| c.id().to_string()[..12].to_string());
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).include_ignored(false);
    let dirty = repo.statuses(Some(&mut opts)).map(|s| !s.is_empty()).unwrap_or(true);
    let state = if dirty { "with uncommitted changes" } else { "no uncommitted changes" };
    Some(format!("work tree at {head}, {state}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn blob_id_is_git_hash_object() {
        // `git hash-object` of the empty file and of "hello\n".
        assert_eq!(super::blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(super::blob_id(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
    }
}
