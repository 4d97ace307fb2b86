//! The commit of an attestation's files, made again on a branch another writer moved.

use std::path::{Path, PathBuf};

use super::{CommitOutcome, Format, SignError, SignRequest, Wanted};
use crate::git::repo::{Repo, RepoError};
use crate::gpg::GpgSigner;

/// How many times a commit is made again when another writer moved the branch meanwhile.
pub(super) const COMMIT_ATTEMPTS: usize = 5;

/// Commits the attestation files (all of them, signatures included) when the destination is
/// a git work tree that does not ignore them.
#[allow(clippy::too_many_arguments)]
pub(super) fn commit(
    req: &SignRequest,
    repo: Option<&Repo>,
    wanted: &[Wanted],
    dir: &Path,
    what: &str,
    unsigned: &[PathBuf],
    identity: &str,
    gpg: &mut Option<GpgSigner>,
) -> Result<CommitOutcome, SignError> {
    let Some(repo) = repo else { return Ok(CommitOutcome::NotARepository) };
    let mut paths = Vec::new();
    for w in wanted {
        paths.push(repo.rel_path(&dir.join(&w.name))?);
        paths.push(repo.rel_path(&dir.join(&w.sig_name))?);
    }
    if paths.iter().any(|p| repo.is_ignored(p)) {
        return Ok(CommitOutcome::NotARepository);
    }
    if req.no_commit {
        return Ok(CommitOutcome::Skipped);
    }
    if !unsigned.is_empty() || wanted.iter().any(|w| !dir.join(&w.sig_name).exists()) {
        return Ok(CommitOutcome::AwaitingSignature);
    }
    // Name the attestation by what changes: the assert's name, or the SUMS kinds.
    let mut replacing = false;
    let mut changed = Vec::new();
    for w in wanted {
        let at_head = repo.head_blob(&repo.rel_path(&dir.join(&w.name))?);
        replacing |= at_head.as_ref().is_some_and(|b| *b != w.bytes);
        if at_head.as_ref() != Some(&w.bytes) {
            changed.push(w.name.trim_end_matches(".SHA256SUMS"));
        }
    }
    let what = if req.format == Format::Guix && !changed.is_empty() {
        changed.join("+")
    } else {
        what.to_string()
    };
    let subject = format!(
        "{} {} {} {what} attestation",
        if replacing { "Update" } else { "Add" },
        req.signer,
        req.release
    );
    let message = match &req.commit_note {
        Some(note) => format!("{subject}\n\n{note}\n"),
        None => subject.clone(),
    };
    let sign_commit = req.sign_commit || repo.config_bool("commit.gpgSign").unwrap_or(false);
    let id = if sign_commit {
        let commit_key =
            repo.config_string("user.signingKey").unwrap_or_else(|| identity.to_string());
        let mut signer = match gpg.take() {
            Some(g) if commit_key == identity => g,
            _ => GpgSigner::new(&commit_key)?,
        };
        let mut sign = |text: &str| -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
            let sig = signer.sign_detached(text.as_bytes(), true)?;
            Ok(String::from_utf8(sig)?)
        };
        commit_again_if_moved(|| repo.commit_paths(&paths, &message, Some(&mut sign)))?
    } else {
        commit_again_if_moved(|| repo.commit_paths(&paths, &message, None))?
    };
    Ok(match id {
        Some(id) => CommitOutcome::Committed { id: id.to_string(), subject, signed: sign_commit },
        None => CommitOutcome::AlreadyCommitted,
    })
}

/// Runs `commit` again (it rebuilds on the new HEAD) while another writer moved the branch
/// between its read and its update, a few times at most.
pub(super) fn commit_again_if_moved<T>(
    mut commit: impl FnMut() -> Result<T, RepoError>,
) -> Result<T, RepoError> {
    let mut attempt = 1;
    loop {
        match commit() {
            Err(e) if e.is_moved() && attempt < COMMIT_ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}
