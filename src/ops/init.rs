//! `init`: a sigs repository from `sigs-template/`, with the hooks installed.
//!
//! - A new (or still commit-less) repository gets every template file, committed.
//! - A repository that already has commits (a clone of a real ledger, say) gets its hooks and
//!   nothing else unless asked: a policy file changes every later verdict, so it is added only
//!   with `--policy`, and the other missing template files only with `--template`; what would
//!   be added is reported.
//! - Re-runnable after a kill at any point: the `.git` folder is made aside and renamed into
//!   place whole, files are written aside and renamed, and the leftovers of a killed run
//!   (`.gitian-init-*`, `.gitian-tmp-*`) are removed first. Idempotent: a second run writes
//!   nothing.
//! - Files are created with mode 0666 less the umask, as git and Gitian create them.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::git::repo::{Repo, RepoError};
use crate::ops::hooks::{self, HookChange, HooksError};

/// The template's files, as git paths and bytes.
pub const TEMPLATE: [(&str, &str); 4] = [
    ("README.md", include_str!("../../sigs-template/README.md")),
    (".gitattributes", include_str!("../../sigs-template/.gitattributes")),
    ("builder-keys/README.md", include_str!("../../sigs-template/builder-keys/README.md")),
    (POLICY, include_str!("../../sigs-template/policy.yml")),
];

/// The template file that changes verdicts.
pub const POLICY: &str = "policy.yml";

/// Subject of the first commit.
pub const FIRST_COMMIT: &str = "Initialize sigs repository";

/// Prefix of the folder a new `.git` is made in before it is renamed into place.
const INIT_SCRATCH: &str = ".gitian-init-";
/// Prefix of files being written.
const TMP_FILE: &str = ".gitian-tmp-";

/// Could not create the repository.
#[derive(Debug, Error)]
pub enum InitError {
    /// git failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The hooks could not be installed.
    #[error(transparent)]
    Hooks(#[from] HooksError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What to add to a repository that already has commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InitOptions {
    /// Add `policy.yml` when it is missing.
    pub policy: bool,
    /// Add the other missing template files.
    pub template: bool,
}

/// What `init` did.
#[derive(Debug, Clone)]
pub struct InitOutcome {
    /// The repository's top directory.
    pub dir: PathBuf,
    /// Whether a new git repository was made.
    pub created_repo: bool,
    /// Template files written (files already there are left as they are).
    pub written: Vec<String>,
    /// Template files missing from a repository with commits, not added (not asked for).
    pub not_added: Vec<String>,
    /// The hooks.
    pub hooks: Vec<HookChange>,
    /// The commit made, if any: id and subject.
    pub commit: Option<(String, String)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InitError {
    let path = path.display().to_string();
    move |source| InitError::Io { path, source }
}

/// Creates (or completes) a sigs repository at `dir`.
pub fn init(dir: &Path, home: Option<&Path>, opts: InitOptions) -> Result<InitOutcome, InitError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    remove_leftovers(dir, INIT_SCRATCH);
    let created_repo = !dir.join(".git").exists();
    if created_repo {
        make_git_dir(dir)?;
    }
    let repo = Repo::open(dir)?;
    let hooks = hooks::install(&repo, home)?;

    let fresh = !repo.has_head_commit();
    let mut written = Vec::new();
    let mut not_added = Vec::new();
    let mut to_commit = Vec::new();
    for (path, text) in TEMPLATE {
        let file = repo.workdir().join(path);
        if let Some(parent) = file.parent() {
            remove_leftovers(parent, TMP_FILE);
        }
        if repo.head_blob(path).is_some() {
            continue; // the repository has its own version: never touched
        }
        let asked = fresh || if path == POLICY { opts.policy } else { opts.template };
        match fs::read(&file) {
            Ok(bytes) if bytes == text.as_bytes() && asked => to_commit.push(path.to_string()),
            Ok(_) => {} // the user's own file, not committed yet: theirs to commit
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !asked {
                    not_added.push(path.to_string());
                    continue;
                }
                write_file(&file, text.as_bytes())?;
                written.push(path.to_string());
                to_commit.push(path.to_string());
            }
            Err(e) => return Err(io(&file)(e)),
        }
    }
    let mut commit = None;
    if !to_commit.is_empty() {
        // One writer of the ledger at a time; git's lock files nobody holds open are a killed
        // run's.
        use crate::ops::sign::LedgerLock;
        let _turn = LedgerLock::take(&repo).map_err(|e| InitError::Io {
            path: LedgerLock::path(&repo).display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        repo.remove_stale_locks();
        let subject = if fresh {
            FIRST_COMMIT.to_string()
        } else {
            "Add sigs repository template files".to_string()
        };
        if let Some(id) = repo.commit_paths(&to_commit, &subject, None)? {
            commit = Some((id.to_string(), subject));
        }
    }
    let dir = repo.workdir().to_path_buf();
    Ok(InitOutcome { dir, created_repo, written, not_added, hooks, commit })
}

/// Makes `dir/.git` whole or not at all: the repository is created in a scratch folder inside
/// `dir` and its `.git` renamed into place (a non-bare `.git` does not record where its work
/// tree is, so it works from there).
fn make_git_dir(dir: &Path) -> Result<(), InitError> {
    let scratch = tempfile::Builder::new().prefix(INIT_SCRATCH).tempdir_in(dir).map_err(io(dir))?;
    Repo::init(scratch.path())?;
    let target = dir.join(".git");
    fs::rename(scratch.path().join(".git"), &target).map_err(io(&target))?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    Ok(())
}

/// Removes what a killed run left in `dir`: entries named `<prefix>*`.
fn remove_leftovers(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
    }
}

/// Writes `path` whole or not at all, created with mode 0666 less the umask.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), InitError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!("{TMP_FILE}{}-{name}", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o666)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path))
        .and_then(|()| fs::File::open(parent)?.sync_all());
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(io(path))
}
