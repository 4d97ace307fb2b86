//! One `sign` at a time per ledger.

use super::{SignError, io_err};
use crate::git::repo::Repo;

/// The lock file signers of one ledger take turns on, in the common git directory.
const LOCK: &str = "gitian-sign.lock";

/// Held from reading the signer directory to moving the branch: one `sign` at a time per
/// ledger. An flock: the kernel releases it when the process ends, however it ends, so a
/// kill never leaves the ledger locked (the empty file stays, as git's own `config` does).
#[derive(Debug)]
pub struct LedgerLock {
    _file: std::fs::File,
}

impl LedgerLock {
    /// The lock file of the ledger of `repo`.
    pub fn path(repo: &Repo) -> std::path::PathBuf {
        repo.common_dir().join(LOCK)
    }

    /// Waits for the ledger of `repo` to be free and takes it.
    pub fn take(repo: &Repo) -> Result<Self, SignError> {
        let path = Self::path(repo);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => return Ok(Self { _file: file }),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io_err(&path)(e.into())),
            }
        }
    }
}
