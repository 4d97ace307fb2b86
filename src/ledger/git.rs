//! A ledger as the tree of one git commit, read straight from the objects (no checkout), so
//! that signers' unmerged branches count too.

use std::path::Path;

use git2::{ObjectType, Oid, Repository};

use super::{Content, Entry, Kind, LedgerTree, SourceError};

/// A ledger as the tree of one commit.
pub struct GitTree {
    repo: Repository,
    tree: Oid,
    label: String,
    rev: String,
}

impl std::fmt::Debug for GitTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitTree").field("label", &self.label).field("rev", &self.rev).finish()
    }
}

impl GitTree {
    /// The tree of commit `commit` in the repository at `path`.
    pub fn open(path: &Path, rev_label: &str, commit: &str) -> Result<Self, SourceError> {
        let what = path.display().to_string();
        let repo = Repository::open(path).map_err(|e| SourceError::new(&what, e.message()))?;
        let oid = Oid::from_str(commit).map_err(|e| SourceError::new(&what, e.message()))?;
        let tree = repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|e| SourceError::new(&what, e.message()))?
            .id();
        Ok(Self { repo, tree, label: format!("{}@{rev_label}", what), rev: rev_label.to_string() })
    }

    fn entry_oid(&self, path: &str) -> Result<(Oid, i32), SourceError> {
        let tree = self
            .repo
            .find_tree(self.tree)
            .map_err(|e| SourceError::new(&self.label, e.message()))?;
        if path.is_empty() {
            return Ok((self.tree, 0o040000));
        }
        let entry = tree
            .get_path(Path::new(path))
            .map_err(|e| SourceError::new(&format!("{}:{path}", self.rev), e.message()))?;
        Ok((entry.id(), entry.filemode()))
    }
}

impl LedgerTree for GitTree {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn rev(&self) -> Option<String> {
        Some(self.rev.clone())
    }

    fn list(&self, path: &str) -> Result<Vec<Entry>, SourceError> {
        let (oid, mode) = self.entry_oid(path)?;
        if mode != 0o040000 {
            return Err(SourceError::new(&format!("{}:{path}", self.rev), "not a directory"));
        }
        let tree =
            self.repo.find_tree(oid).map_err(|e| SourceError::new(&self.label, e.message()))?;
        Ok(tree
            .iter()
            .map(|e| {
                let kind = match e.filemode() {
                    0o040000 => Kind::Dir,
                    0o100644 | 0o100755 | 0o100664 => Kind::File,
                    0o120000 => Kind::Symlink,
                    _ => Kind::Other,
                };
                let name = std::str::from_utf8(e.name_bytes())
                    .map(str::to_string)
                    .map_err(|_| e.name_bytes().to_vec());
                Entry { name, kind }
            })
            .collect())
    }

    fn read(&self, path: &str, limit: u64) -> Result<Content, SourceError> {
        let (oid, mode) = self.entry_oid(path)?;
        if !matches!(mode, 0o100644 | 0o100755 | 0o100664) {
            return Err(SourceError::new(&format!("{}:{path}", self.rev), "not a regular file"));
        }
        // The header gives the size without inflating the object.
        let odb = self.repo.odb().map_err(|e| SourceError::new(&self.label, e.message()))?;
        let (size, kind) =
            odb.read_header(oid).map_err(|e| SourceError::new(&self.label, e.message()))?;
        if kind != ObjectType::Blob {
            return Err(SourceError::new(&format!("{}:{path}", self.rev), "not a blob"));
        }
        if size as u64 > limit {
            return Ok(Content::TooLarge(size as u64));
        }
        let blob =
            self.repo.find_blob(oid).map_err(|e| SourceError::new(&self.label, e.message()))?;
        Ok(Content::Bytes(blob.content().to_vec()))
    }
}
