//! A ledger in a directory on disk.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Content, Entry, Kind, LedgerTree, SourceError};

/// A ledger in a directory.
#[derive(Debug, Clone)]
pub struct FsTree {
    root: PathBuf,
    label: String,
}

impl FsTree {
    /// A view of `root`.
    pub fn new(root: &Path, label: String) -> Self {
        Self { root: root.to_path_buf(), label }
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() { self.root.clone() } else { self.root.join(rel) }
    }

    /// Opens a regular file (never through a symlink, never a FIFO or device), or gives its
    /// size when it is over `limit`.
    fn open(&self, rel: &str, limit: u64) -> Result<Opened, SourceError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path(rel);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| err(&path, e))?;
        if !meta.file_type().is_file() {
            return Err(err(&path, "not a regular file"));
        }
        if meta.len() > limit {
            return Ok(Opened::TooLarge(meta.len()));
        }
        // Replaced by a symlink since: refused (O_NOFOLLOW); by anything else: seen below.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(
                (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32
            )
            .open(&path)
            .map_err(|e| err(&path, e))?;
        let meta = file.metadata().map_err(|e| err(&path, e))?;
        if !meta.file_type().is_file() {
            return Err(err(&path, "not a regular file"));
        }
        Ok(Opened::File { path, file, len: meta.len() })
    }

    /// Reads a regular file as [`LedgerTree::read`] does, in pieces through a reused buffer
    /// handed to `each`, keeping nothing: `Some(size)`, or `None` when it is over `limit`.
    pub fn read_through(
        &self,
        rel: &str,
        limit: u64,
        mut each: impl FnMut(&[u8]),
    ) -> Result<Option<u64>, SourceError> {
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 << 10]);
        }
        let Opened::File { path, mut file, .. } = self.open(rel, limit)? else { return Ok(None) };
        BUF.with_borrow_mut(|buf| {
            let mut total = 0u64;
            loop {
                match file.read(buf) {
                    Ok(0) => return Ok(Some(total)),
                    Ok(n) => {
                        total += n as u64;
                        if total > limit {
                            return Ok(None);
                        }
                        each(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(err(&path, e)),
                }
            }
        })
    }
}

/// A file [`FsTree::open`] opened, or the size of one over the limit.
enum Opened {
    File { path: PathBuf, file: std::fs::File, len: u64 },
    TooLarge(u64),
}

fn err(what: &Path, e: impl std::fmt::Display) -> SourceError {
    SourceError::new(&what.display().to_string(), e)
}

impl LedgerTree for FsTree {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn rev(&self) -> Option<String> {
        None
    }

    fn list(&self, rel: &str) -> Result<Vec<Entry>, SourceError> {
        let dir = self.path(rel);
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| err(&dir, e))? {
            let entry = entry.map_err(|e| err(&dir, e))?;
            // The directory entry's own type (d_type): no stat per entry; lstat semantics.
            let ft = entry.file_type().map_err(|e| err(&entry.path(), e))?;
            let kind = if ft.is_symlink() {
                Kind::Symlink
            } else if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            let name = entry.file_name().into_string().map_err(|os| {
                use std::os::unix::ffi::OsStringExt;
                os.into_vec()
            });
            out.push(Entry { name, kind });
        }
        Ok(out)
    }

    fn on_disk(&self) -> Option<FsTree> {
        Some(self.clone())
    }

    fn read(&self, rel: &str, limit: u64) -> Result<Content, SourceError> {
        let (path, file, len) = match self.open(rel, limit)? {
            Opened::File { path, file, len } => (path, file, len),
            Opened::TooLarge(n) => return Ok(Content::TooLarge(n)),
        };
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(limit + 1).read_to_end(&mut buf).map_err(|e| err(&path, e))?;
        if buf.len() as u64 > limit {
            return Ok(Content::TooLarge(buf.len() as u64));
        }
        Ok(Content::Bytes(buf))
    }
}
