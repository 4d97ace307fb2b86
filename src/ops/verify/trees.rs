//! Branch handling: which trees of which ledgers are read, and which one of each ledger is its
//! main revision. Policy and keys come from the main revisions (and `--keys`) only; every other
//! revision (`--all-branches`, further `--rev`s) only contributes attestations, and one that
//! cannot be read is reported as a problem rather than stopping the run.

use std::path::Path;

use super::{LedgerSpec, VerifyError};
use crate::git::ledger as gitledger;
use crate::ledger::GitTree;
use crate::ledger::{FsTree, LedgerTree, SourceError};

/// The trees to read.
pub(super) struct Trees {
    /// (ledger index, tree) for every revision read for attestations.
    pub(super) all: Vec<(usize, Box<dyn LedgerTree>)>,
    /// One per ledger, in ledger order: the ledger's main revision (the directory; the first
    /// `--rev`; else HEAD), the only source of policy and keys.
    pub(super) mains: Vec<Box<dyn LedgerTree>>,
    /// Per ledger: whether several revisions are read (then one failing is a problem).
    pub(super) several: Vec<bool>,
    /// Revisions that could not even be opened.
    pub(super) problems: Vec<String>,
}

/// Opens every tree of the query's ledgers.
pub(super) fn open(ledgers: &[LedgerSpec]) -> Result<Trees, VerifyError> {
    let mut t =
        Trees { all: Vec::new(), mains: Vec::new(), several: Vec::new(), problems: Vec::new() };
    for (i, spec) in ledgers.iter().enumerate() {
        match spec {
            LedgerSpec::Dir(path) => {
                if !path.is_dir() {
                    return Err(SourceError {
                        what: path.display().to_string(),
                        message: "not a directory".into(),
                    }
                    .into());
                }
                let label = path.display().to_string();
                t.all.push((i, Box::new(FsTree::new(path, label.clone()))));
                t.mains.push(Box::new(FsTree::new(path, label)));
                t.several.push(false);
            }
            LedgerSpec::Git { path, revs, all_branches } => {
                let found = gitledger::revisions(path, revs, *all_branches)?;
                let several = found.len() > 1;
                t.mains.push(Box::new(main_revision(path, revs, &found)?));
                for (label, commit) in found {
                    match GitTree::open(path, &label, &commit) {
                        Ok(tree) => t.all.push((i, Box::new(tree))),
                        Err(e) if several => {
                            t.problems.push(format!("{}@{label}: not read: {e}", path.display()))
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                t.several.push(several);
            }
        }
    }
    Ok(t)
}

/// The first revision named, else HEAD.
fn main_revision(
    path: &Path,
    revs: &[String],
    found: &[(String, String)],
) -> Result<GitTree, VerifyError> {
    if let (Some(_), Some((label, commit))) = (revs.first(), found.first()) {
        return Ok(GitTree::open(path, label, commit)?);
    }
    // The keys and policy come from HEAD: a repository without one must name its main revision.
    let head = gitledger::revisions(path, &[], false).map_err(|e| SourceError {
        message: format!(
            "{}; name the main revision, whose keys and policy.yml are used, with --rev",
            e.message
        ),
        ..e
    })?;
    let (label, commit) = head.first().ok_or_else(|| SourceError {
        what: path.display().to_string(),
        message: "no HEAD commit".into(),
    })?;
    Ok(GitTree::open(path, label, commit)?)
}
