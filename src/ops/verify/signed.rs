//! A signed file of a ledger, read (or only digested) by whichever thread first needs it, and
//! let go of once its job is done: a ledger read from git objects is streamed, never held whole.

use std::sync::{Arc, Mutex, OnceLock};

use super::MAX_ATTESTATION;
use crate::ledger::git::Blob;
use crate::ledger::{Content, FsTree, LedgerTree, SourceError};
use crate::ops::memo;

/// The content as read (shared with whoever is using it when it is let go of).
pub(super) type Held = Arc<Result<Content, SourceError>>;

/// Where the bytes come from.
enum Source {
    /// Given when found (a symlink's placeholder).
    Given,
    /// A file on disk, and whether its digest is taken first (with a memory).
    Disk(Arc<FsTree>, String, bool),
    /// A git blob: its id names the bytes, so its digest needs no reading.
    Git(Blob),
}

/// A signed file's content, and its digest once someone needed it. A file is read by whichever
/// thread first needs it, so the worker threads read in parallel; when the memory names it,
/// only its digest is needed (a blob's from its id; a file on disk's streamed through a small
/// buffer), and its bytes are read only if something was not remembered.
pub(super) struct Signed {
    content: Mutex<Option<Held>>,
    source: Source,
    /// `None`: over the size limit.
    digest: OnceLock<Result<Option<memo::Digest>, SourceError>>,
}

impl Signed {
    pub(super) fn new(content: Content) -> Self {
        Self::read(Ok(content))
    }

    /// A file read already, or that could not be read (its signer is then INVALID).
    pub(super) fn read(content: Result<Content, SourceError>) -> Self {
        let held = Some(Arc::new(content));
        Self { content: Mutex::new(held), source: Source::Given, digest: OnceLock::new() }
    }

    pub(super) fn deferred(tree: Arc<FsTree>, path: String, digest_first: bool) -> Self {
        let source = Source::Disk(tree, path, digest_first);
        Self { content: Mutex::new(None), source, digest: OnceLock::new() }
    }

    pub(super) fn git(blob: Blob) -> Self {
        Self { content: Mutex::new(None), source: Source::Git(blob), digest: OnceLock::new() }
    }

    /// The content, read now if it is not held. Bytes read after the digest was taken must be
    /// the digested ones: a file that changed in between is an error, never judged under the
    /// other bytes' name.
    pub(super) fn content(&self) -> Held {
        if let Some(held) = self.content.lock().ok().and_then(|c| c.clone()) {
            return held;
        }
        let read = match &self.source {
            Source::Given => Ok(Content::Bytes(Vec::new())),
            Source::Git(blob) => blob.read(MAX_ATTESTATION),
            Source::Disk(tree, path, digest_first) => self.read_disk(tree, path, *digest_first),
        };
        let held = Arc::new(read);
        if let Ok(mut slot) = self.content.lock() {
            *slot = Some(held.clone());
        }
        held
    }

    fn read_disk(
        &self,
        tree: &FsTree,
        path: &str,
        digest_first: bool,
    ) -> Result<Content, SourceError> {
        let digested = match digest_first {
            true => self.digest().map_err(Clone::clone)?.copied(),
            false => None,
        };
        let content = tree.read(path, MAX_ATTESTATION)?;
        if let Some(d) = digested
            && !matches!(&content, Content::Bytes(b) if memo::digest(b) == d)
        {
            return Err(SourceError {
                what: path.to_string(),
                message: "changed while it was being verified".into(),
            });
        }
        Ok(content)
    }

    /// Lets go of the bytes read, when they can be read again (an error is kept).
    pub(super) fn release(&self) {
        if matches!(self.source, Source::Given) {
            return;
        }
        if let Ok(mut slot) = self.content.lock()
            && slot.as_deref().is_some_and(Result::is_ok)
        {
            *slot = None;
        }
    }

    /// The blob's own name of its bytes, when it is a git blob.
    pub(super) fn blob_key(&self) -> Option<[u8; 32]> {
        match &self.source {
            Source::Git(blob) => Some(blob.key()),
            _ => None,
        }
    }

    /// The digest of the content (`None`: over the size limit): a blob's from its id, a file's
    /// streamed from the disk when the content was not read.
    pub(super) fn digest(&self) -> Result<Option<&memo::Digest>, &SourceError> {
        self.digest
            .get_or_init(|| {
                let held = self.content.lock().ok().and_then(|c| c.clone());
                match (&self.source, held) {
                    (Source::Git(blob), _) => Ok(Some(blob.key())),
                    (Source::Disk(tree, path, _), None) => {
                        let mut h = memo::Hasher::default();
                        let size = tree.read_through(path, MAX_ATTESTATION, |b| h.update(b))?;
                        Ok(size.map(|_| h.finish()))
                    }
                    (_, held) => match held.unwrap_or_else(|| self.content()).as_ref() {
                        Ok(Content::Bytes(b)) => Ok(Some(memo::digest(b))),
                        Ok(Content::TooLarge(_)) => Ok(None),
                        Err(e) => Err(e.clone()),
                    },
                }
            })
            .as_ref()
            .map(Option::as_ref)
    }

    /// Why the file could not be read, if it could not (by what was done with it so far).
    pub(super) fn error(&self) -> Option<SourceError> {
        let held = self.content.lock().ok().and_then(|c| c.clone());
        if let Some(Err(e)) = held.as_deref() {
            return Some(e.clone());
        }
        match self.digest.get() {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }

    #[cfg(test)]
    fn is_held(&self) -> bool {
        self.content.lock().unwrap().is_some()
    }
}

/// The bytes of held content (none when it could not be read: the run then fails).
pub(super) fn bytes(held: &Held) -> &[u8] {
    match held.as_ref() {
        Ok(Content::Bytes(b)) => b,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_with(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Arc<FsTree>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let tree = Arc::new(FsTree::new(dir.path(), "ledger".into()));
        (dir, tree)
    }

    #[test]
    fn a_digested_file_that_changes_before_it_is_read_is_an_error() {
        let (dir, tree) = tree_with("a.assert", b"first bytes\n");
        let signed = Signed::deferred(tree, "a.assert".into(), true);
        let digest = *signed.digest().unwrap().unwrap();
        assert_eq!(digest, memo::digest(b"first bytes\n"));
        assert!(signed.error().is_none());
        std::fs::write(dir.path().join("a.assert"), b"other bytes\n").unwrap();
        let held = signed.content();
        let e = held.as_ref().as_ref().unwrap_err();
        assert!(e.message.contains("changed while it was being verified"), "{e}");
        assert!(bytes(&held).is_empty());
        assert!(signed.error().is_some());
    }

    #[test]
    fn digest_streams_without_reading_and_agrees_with_the_bytes() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (_dir, tree) = tree_with("a.assert", &big);
        let signed = Signed::deferred(tree.clone(), "a.assert".into(), true);
        assert_eq!(signed.digest().unwrap(), Some(&memo::digest(&big)));
        assert!(!signed.is_held(), "the digest read the content into memory");
        assert_eq!(bytes(&signed.content()), &big[..]);
        signed.release();
        assert!(!signed.is_held());
        // Without a memory, nothing is digested first.
        let plain = Signed::deferred(tree, "a.assert".into(), false);
        assert_eq!(bytes(&plain.content()), &big[..]);
        assert!(plain.digest.get().is_none());
    }

    #[test]
    fn a_symlink_or_fifo_is_neither_digested_nor_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        let fifo = dir.path().join("fifo");
        crate::process::run_ok(&crate::process::Invocation::new("mkfifo").arg(&fifo)).unwrap();
        let tree = Arc::new(FsTree::new(dir.path(), "ledger".into()));
        for name in ["link", "fifo"] {
            let signed = Signed::deferred(tree.clone(), name.into(), true);
            let e = signed.digest().unwrap_err();
            assert!(e.message.contains("not a regular file"), "{name}: {e}");
            assert!(signed.error().is_some());
        }
    }
}
