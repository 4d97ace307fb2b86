//! A ledger as the tree of one git commit, read straight from the objects (no checkout), so
//! that signers' unmerged branches count too. Blobs are read when needed, on any thread: a ledger
//! is streamed, never held whole.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use git2::{ObjectType, Oid, Repository};

use super::{Content, Entry, Kind, LedgerTree, SourceError};

/// A ledger as the tree of one commit.
pub struct GitTree {
    repo: Repository,
    /// The git directory, for [`Blob`]s read on other threads.
    git_dir: Arc<PathBuf>,
    tree: Oid,
    label: String,
    rev: String,
    /// Every tree read, by path: each tree object of the ledger is read (inflated and its id
    /// checked) once, however many files are looked up in it.
    dirs: Mutex<HashMap<String, Listing>>,
}

/// One tree's entries: (name, id, mode).
type Listing = Arc<Vec<(Vec<u8>, Oid, i32)>>;

/// A regular file of a [`GitTree`], read when (and each time) it is needed, on any thread: a
/// ledger is streamed, never held whole. Its id names its bytes, so what was learnt about a
/// blob is remembered by [`Blob::key`] without reading it.
#[derive(Clone)]
pub struct Blob {
    git_dir: Arc<PathBuf>,
    oid: Oid,
    /// `rev:path`, for messages.
    what: String,
}

thread_local! {
    /// Each thread's handle on each repository it read blobs from (a handle is not shared
    /// between threads).
    static REPOSITORIES: RefCell<HashMap<PathBuf, Repository>> = RefCell::new(HashMap::new());
}

impl Blob {
    /// The bytes, or the size when over `limit`.
    pub fn read(&self, limit: u64) -> Result<Content, SourceError> {
        REPOSITORIES.with(|repos| {
            let mut repos = repos.borrow_mut();
            let repo = match repos.entry(self.git_dir.as_ref().clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(Repository::open(&*self.git_dir).map_err(|e| gerr(&self.what, e))?)
                }
            };
            let odb = repo.odb().map_err(|e| gerr(&self.what, e))?;
            let (size, kind) = odb.read_header(self.oid).map_err(|e| gerr(&self.what, e))?;
            if kind != ObjectType::Blob {
                return Err(gerr(&self.what, "not a blob"));
            }
            if size as u64 > limit {
                return Ok(Content::TooLarge(size as u64));
            }
            let blob = repo.find_blob(self.oid).map_err(|e| gerr(&self.what, e))?;
            Ok(Content::Bytes(blob.content().to_vec()))
        })
    }

    /// A name of the bytes derived from the blob id alone (a key derivation apart from the
    /// digests of bytes, so it never equals one).
    pub fn key(&self) -> [u8; 32] {
        blake3::derive_key(
            "git-gitian verify 2026: the git blob id of a signed file",
            self.oid.as_bytes(),
        )
    }
}

impl std::fmt::Debug for GitTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitTree").field("label", &self.label).field("rev", &self.rev).finish()
    }
}

fn gerr(what: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError { what: what.to_string(), message: e.to_string() }
}

impl GitTree {
    /// The tree of commit `commit` in the repository at `path`.
    pub fn open(path: &Path, rev_label: &str, commit: &str) -> Result<Self, SourceError> {
        let what = path.display().to_string();
        let repo = Repository::open(path).map_err(|e| gerr(&what, e))?;
        let oid = Oid::from_str(commit).map_err(|e| gerr(&what, e))?;
        let tree = repo.find_commit(oid).and_then(|c| c.tree()).map_err(|e| gerr(&what, e))?.id();
        let git_dir = Arc::new(repo.path().to_path_buf());
        let label = format!("{}@{rev_label}", what);
        let dirs = Mutex::new(HashMap::new());
        Ok(Self { repo, git_dir, tree, label, rev: rev_label.to_string(), dirs })
    }

    /// The entries of the tree at `path` (read once, then remembered).
    fn listing(&self, path: &str) -> Result<Listing, SourceError> {
        if let Some(listing) = self.dirs.lock().ok().and_then(|d| d.get(path).cloned()) {
            return Ok(listing);
        }
        let (oid, mode) = self.entry_oid(path)?;
        if mode != 0o040000 {
            return Err(gerr(&format!("{}:{path}", self.rev), "not a directory"));
        }
        let tree = self.repo.find_tree(oid).map_err(|e| gerr(&self.label, e))?;
        let listing: Listing = Arc::new(
            tree.iter().map(|e| (e.name_bytes().to_vec(), e.id(), e.filemode())).collect(),
        );
        // git writes a tree's entries sorted (a tree's name compared as if it ended in `/`) and
        // each name once; a tree that is not is malformed (git fsck: treeNotSorted,
        // duplicateEntries), and its entries could be read differently by other tools.
        let sort_key = |(name, _, mode): &(Vec<u8>, Oid, i32)| {
            let mut k = name.clone();
            if *mode == 0o040000 {
                k.push(b'/');
            }
            k
        };
        if listing.windows(2).any(|w| w[0].0 == w[1].0 || sort_key(&w[0]) >= sort_key(&w[1])) {
            let what = format!("{}:{path}", self.rev);
            return Err(gerr(&what, "malformed tree (entries unsorted or duplicated)"));
        }
        if let Ok(mut dirs) = self.dirs.lock() {
            dirs.insert(path.to_string(), listing.clone());
        }
        Ok(listing)
    }

    fn entry_oid(&self, path: &str) -> Result<(Oid, i32), SourceError> {
        if path.is_empty() {
            return Ok((self.tree, 0o040000));
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let listing = self.listing(parent)?;
        let found = listing.iter().find(|(n, _, _)| n.as_slice() == name.as_bytes());
        found.map(|(_, id, mode)| (*id, *mode)).ok_or_else(|| {
            gerr(&format!("{}:{path}", self.rev), "the path does not exist in the tree")
        })
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
        Ok(self
            .listing(path)?
            .iter()
            .map(|(name, _, mode)| {
                let kind = match mode {
                    0o040000 => Kind::Dir,
                    0o100644 | 0o100755 | 0o100664 => Kind::File,
                    0o120000 => Kind::Symlink,
                    _ => Kind::Other,
                };
                let name = std::str::from_utf8(name).map(str::to_string).map_err(|_| name.clone());
                Entry { name, kind }
            })
            .collect())
    }

    fn blob(&self, path: &str) -> Option<Result<Blob, SourceError>> {
        let what = format!("{}:{path}", self.rev);
        Some(self.entry_oid(path).and_then(|(oid, mode)| match mode {
            0o100644 | 0o100755 | 0o100664 => Ok(Blob { git_dir: self.git_dir.clone(), oid, what }),
            _ => Err(gerr(&what, "not a regular file")),
        }))
    }

    fn read(&self, path: &str, limit: u64) -> Result<Content, SourceError> {
        let (oid, mode) = self.entry_oid(path)?;
        if !matches!(mode, 0o100644 | 0o100755 | 0o100664) {
            return Err(gerr(&format!("{}:{path}", self.rev), "not a regular file"));
        }
        // The header gives the size without inflating the object.
        let odb = self.repo.odb().map_err(|e| gerr(&self.label, e))?;
        let (size, kind) = odb.read_header(oid).map_err(|e| gerr(&self.label, e))?;
        if kind != ObjectType::Blob {
            return Err(gerr(&format!("{}:{path}", self.rev), "not a blob"));
        }
        if size as u64 > limit {
            return Ok(Content::TooLarge(size as u64));
        }
        let blob = self.repo.find_blob(oid).map_err(|e| gerr(&self.label, e))?;
        Ok(Content::Bytes(blob.content().to_vec()))
    }
}
