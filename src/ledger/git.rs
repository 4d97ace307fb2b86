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
            read_object(repo, self.oid, ObjectType::Blob, limit, &self.what)
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

/// The bytes of the object `oid` of kind `kind`, or its size when over `limit`, checked to be
/// the bytes its id names: what verify remembers of a blob is keyed by its id, so a damaged or
/// altered object store must not pass other bytes under it. The check is done here, with the
/// CPU's SHA-1 instructions, and not by libgit2 (its strict verification, with collision
/// detection, is turned off by [`GitTree::open`]): on both public ledgers it was a quarter of
/// a cold verify. Collision detection guards against two colliding objects made by one party;
/// git runs it when objects arrive (index-pack), and a signer who could make such a pair could
/// as well sign two different files.
fn read_object(
    repo: &Repository,
    oid: Oid,
    kind: ObjectType,
    limit: u64,
    what: &str,
) -> Result<Content, SourceError> {
    use sha1::Digest;
    let odb = repo.odb().map_err(|e| gerr(what, e))?;
    // The header gives the size without inflating the object.
    let (size, found) = odb.read_header(oid).map_err(|e| gerr(what, e))?;
    if found != kind {
        return Err(gerr(what, format!("not a {}", kind.str())));
    }
    if size as u64 > limit {
        return Ok(Content::TooLarge(size as u64));
    }
    let object = odb.read(oid).map_err(|e| gerr(what, e))?;
    let data = object.data();
    let mut h = sha1::Sha1::new();
    h.update(format!("{} {}\0", kind.str(), data.len()));
    h.update(data);
    if h.finalize().as_slice() != oid.as_bytes() {
        return Err(gerr(what, "the object's bytes do not match its id (damaged object store)"));
    }
    Ok(Content::Bytes(data.to_vec()))
}

/// The entries of a tree object's bytes: (name, id, mode) each; `None` when malformed.
fn parse_tree(mut bytes: &[u8]) -> Option<Vec<(Vec<u8>, Oid, i32)>> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let space = bytes.iter().position(|&b| b == b' ')?;
        let mode = i32::from_str_radix(std::str::from_utf8(&bytes[..space]).ok()?, 8).ok()?;
        let rest = &bytes[space + 1..];
        let nul = rest.iter().position(|&b| b == 0)?;
        let id = rest.get(nul + 1..nul + 21)?;
        entries.push((rest[..nul].to_vec(), Oid::from_bytes(id).ok()?, mode));
        bytes = &rest[nul + 21..];
    }
    Some(entries)
}

impl GitTree {
    /// The tree of commit `commit` in the repository at `path`.
    pub fn open(path: &Path, rev_label: &str, commit: &str) -> Result<Self, SourceError> {
        let what = path.display().to_string();
        // Every object read here is checked by read_object (see there).
        git2::opts::strict_hash_verification(false);
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
        let what = format!("{}:{path}", self.rev);
        let Content::Bytes(bytes) =
            read_object(&self.repo, oid, ObjectType::Tree, u64::MAX, &what)?
        else {
            unreachable!("no size is over u64::MAX")
        };
        let listing: Listing =
            Arc::new(parse_tree(&bytes).ok_or_else(|| gerr(&what, "malformed tree"))?);
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
        read_object(&self.repo, oid, ObjectType::Blob, limit, &format!("{}:{path}", self.rev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with one commit of `a/x.assert` (and `a/b/y`); returns its dir and commit.
    fn repo_with_files() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let x = repo.blob(b"out_manifest: x\n").unwrap();
        let y = repo.blob(b"y\n").unwrap();
        let mut b = repo.treebuilder(None).unwrap();
        b.insert("y", y, 0o100644).unwrap();
        let inner = b.write().unwrap();
        let mut a = repo.treebuilder(None).unwrap();
        a.insert("x.assert", x, 0o100644).unwrap();
        a.insert("b", inner, 0o040000).unwrap();
        let a = a.write().unwrap();
        let mut root = repo.treebuilder(None).unwrap();
        root.insert("a", a, 0o040000).unwrap();
        let tree = repo.find_tree(root.write().unwrap()).unwrap();
        let sig = git2::Signature::new("t", "t@example.invalid", &git2::Time::new(0, 0)).unwrap();
        let commit = repo.commit(None, &sig, &sig, "c", &tree, &[]).unwrap();
        (dir, commit.to_string())
    }

    #[test]
    fn reads_trees_and_blobs_by_path() {
        let (dir, commit) = repo_with_files();
        let tree = GitTree::open(dir.path(), "HEAD", &commit).unwrap();
        let names: Vec<_> = tree.list("a").unwrap().into_iter().map(|e| (e.name, e.kind)).collect();
        assert_eq!(
            names,
            [(Ok("b".to_string()), Kind::Dir), (Ok("x.assert".to_string()), Kind::File)]
        );
        match tree.read("a/b/y", 100).unwrap() {
            Content::Bytes(b) => assert_eq!(b, b"y\n"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(tree.read("a/x.assert", 3).unwrap(), Content::TooLarge(16)));
        assert!(tree.read("a/b", 100).unwrap_err().message.contains("not a regular file"));
    }

    #[test]
    fn an_object_whose_bytes_are_not_the_ones_its_id_names_is_refused() {
        // The memory of verify is keyed by blob ids: a loose object replaced by other bytes
        // (valid zlib, valid header) must not be read under the old id.
        let (dir, commit) = repo_with_files();
        let repo = Repository::open(dir.path()).unwrap();
        let oid = repo.blob(b"out_manifest: x\n").unwrap().to_string();
        let path = dir.path().join("objects").join(&oid[..2]).join(&oid[2..]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, b"blob 16\0out_manifest: y\n").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, z.finish().unwrap()).unwrap();
        let tree = GitTree::open(dir.path(), "HEAD", &commit).unwrap();
        let e = tree.read("a/x.assert", 100).unwrap_err();
        assert!(e.message.contains("do not match its id"), "{e}");
        let blob = tree.blob("a/x.assert").unwrap().unwrap();
        assert!(blob.read(100).unwrap_err().message.contains("do not match its id"));
        // The untouched file still reads.
        assert!(matches!(tree.read("a/b/y", 100), Ok(Content::Bytes(_))));
    }

    #[test]
    fn malformed_tree_bytes_are_refused() {
        assert_eq!(parse_tree(b""), Some(vec![]));
        let mut ok = b"100644 a\0".to_vec();
        ok.extend([7u8; 20]);
        let parsed = parse_tree(&ok).unwrap();
        assert_eq!(parsed, vec![(b"a".to_vec(), Oid::from_bytes(&[7; 20]).unwrap(), 0o100644)]);
        assert_eq!(parse_tree(&ok[..ok.len() - 1]), None);
        assert_eq!(parse_tree(b"10x644 a\0"), None);
        assert_eq!(parse_tree(b"100644 a"), None);
    }
}
