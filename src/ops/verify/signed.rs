//! A signed file of a ledger on disk, read (or only digested) by whichever thread first needs it.

use std::sync::{Arc, OnceLock};

use super::MAX_ATTESTATION;
use crate::ledger::{Content, FsTree, LedgerTree, SourceError};
use crate::ops::memo;

/// A signed file's content, and its digest once someone needed it. A file of a ledger on disk
/// is read by whichever thread first needs it, so the worker threads read in parallel; when
/// the memory names it, only its digest is needed, computed as the file streams through a
/// small buffer, and its bytes are read only if something was not remembered.
pub(super) struct Signed {
    content: OnceLock<Result<Content, SourceError>>,
    /// A file on disk not read yet, and whether its digest is taken first (with a memory).
    deferred: Option<(Arc<FsTree>, String, bool)>,
    /// `None`: over the size limit.
    digest: OnceLock<Result<Option<memo::Digest>, SourceError>>,
}

impl Signed {
    pub(super) fn new(content: Content) -> Self {
        Self { content: OnceLock::from(Ok(content)), deferred: None, digest: OnceLock::new() }
    }

    pub(super) fn deferred(tree: Arc<FsTree>, path: String, digest_first: bool) -> Self {
        Self {
            content: OnceLock::new(),
            deferred: Some((tree, path, digest_first)),
            digest: OnceLock::new(),
        }
    }

    /// The content, read now if it was not yet. Bytes read after the digest was taken must be
    /// the digested ones: a file that changed in between is an error, never judged under the
    /// other bytes' name.
    pub(super) fn content(&self) -> Result<&Content, &SourceError> {
        self.content
            .get_or_init(|| {
                let Some((tree, path, digest_first)) = &self.deferred else {
                    return Ok(Content::Bytes(Vec::new()));
                };
                let digested = match digest_first {
                    true => self.digest().map_err(Clone::clone)?.copied(),
                    false => None,
                };
                let content = tree.read(path, MAX_ATTESTATION)?;
                if let Some(d) = digested
                    && !matches!(&content, Content::Bytes(b) if memo::digest(b) == d)
                {
                    return Err(SourceError {
                        what: path.clone(),
                        message: "changed while it was being verified".into(),
                    });
                }
                Ok(content)
            })
            .as_ref()
    }

    /// The bytes, or none when they cannot be had (the run then fails with the reason).
    pub(super) fn bytes(&self) -> &[u8] {
        match self.content() {
            Ok(Content::Bytes(b)) => b,
            _ => &[],
        }
    }

    /// The digest of the content (`None`: over the size limit), streamed from the disk when
    /// the content was not read.
    pub(super) fn digest(&self) -> Result<Option<&memo::Digest>, &SourceError> {
        self.digest
            .get_or_init(|| match (&self.deferred, self.content.get()) {
                (Some((tree, path, _)), None) => {
                    let mut h = memo::Hasher::default();
                    let size = tree.read_through(path, MAX_ATTESTATION, |b| h.update(b))?;
                    Ok(size.map(|_| h.finish()))
                }
                _ => match self.content() {
                    Ok(Content::Bytes(b)) => Ok(Some(memo::digest(b))),
                    Ok(Content::TooLarge(_)) => Ok(None),
                    Err(e) => Err(e.clone()),
                },
            })
            .as_ref()
            .map(Option::as_ref)
    }

    /// Why the file could not be read, if it could not (by what was done with it so far).
    pub(super) fn error(&self) -> Option<&SourceError> {
        match (self.content.get(), self.digest.get()) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(e),
            _ => None,
        }
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
        let e = signed.content().unwrap_err();
        assert!(e.message.contains("changed while it was being verified"), "{e}");
        assert!(signed.bytes().is_empty());
        assert!(signed.error().is_some());
    }

    #[test]
    fn digest_streams_without_reading_and_agrees_with_the_bytes() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (_dir, tree) = tree_with("a.assert", &big);
        let signed = Signed::deferred(tree.clone(), "a.assert".into(), true);
        assert_eq!(signed.digest().unwrap(), Some(&memo::digest(&big)));
        assert!(signed.content.get().is_none(), "the digest read the content into memory");
        assert_eq!(signed.bytes(), &big[..]);
        // Without a memory, nothing is digested first.
        let plain = Signed::deferred(tree, "a.assert".into(), false);
        assert_eq!(plain.bytes(), &big[..]);
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
