//! Where a ledger is read from, behind one small trait ([`LedgerTree`]): a directory on disk
//! ([`dir::FsTree`]) or the tree of a git commit ([`git::GitTree`]), one file each. Both are read
//! the same way, never following symlinks and never reading more than a limit, so a hostile
//! ledger cannot make us read outside it or exhaust memory.
//!
//! An effect module beside `git` and `guest`: it uses nothing of `ops` or `cli`.

pub mod dir;
pub mod git;

pub use dir::FsTree;
pub use git::GitTree;

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (a git tree).
    Dir,
    /// A regular file (a git blob).
    File,
    /// A symbolic link: never followed.
    Symlink,
    /// Anything else (device, socket, submodule).
    Other,
}

/// One entry of a listing.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name, or its raw bytes when it is not UTF-8.
    pub name: Result<String, Vec<u8>>,
    /// What it is.
    pub kind: Kind,
}

/// A file's content, or its size when it is over the limit.
#[derive(Debug, Clone)]
pub enum Content {
    /// The bytes.
    Bytes(Vec<u8>),
    /// Larger than the limit (size in bytes).
    TooLarge(u64),
}

/// Could not read the ledger.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {message}")]
pub struct SourceError {
    /// The path or revision concerned.
    pub what: String,
    /// What went wrong.
    pub message: String,
}

impl SourceError {
    /// `what` (a path, a revision) could not be read, because of `e`.
    pub fn new(what: &str, e: impl std::fmt::Display) -> Self {
        Self { what: what.to_string(), message: e.to_string() }
    }
}

/// A read-only view of one ledger at one point in time.
pub trait LedgerTree {
    /// How reports name this view (a path, or `path@rev`).
    fn label(&self) -> String;
    /// The revision it was read at, for git sources.
    fn rev(&self) -> Option<String>;
    /// Lists a directory (`""` is the root, components joined with `/`).
    fn list(&self, path: &str) -> Result<Vec<Entry>, SourceError>;
    /// Reads a regular file, refusing more than `limit` bytes.
    fn read(&self, path: &str, limit: u64) -> Result<Content, SourceError>;
    /// The same view as a directory that any thread may read, when it is one.
    fn on_disk(&self) -> Option<FsTree> {
        None
    }
    /// A regular file as a git blob that any thread may read later, when this is a git tree.
    fn blob(&self, _path: &str) -> Option<Result<git::Blob, SourceError>> {
        None
    }
}
