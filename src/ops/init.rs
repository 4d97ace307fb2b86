//! `init`: a sigs repository from `sigs-template/`, with the hooks installed. Idempotent: a
//! second run finds every file in place and writes nothing.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::git::repo::{Repo, RepoError};
use crate::ops::hooks::{self, HookChange, HooksError};
use crate::ops::publish;

/// The template's files, as git paths and bytes.
pub const TEMPLATE: [(&str, &str); 4] = [
    ("README.md", include_str!("../../sigs-template/README.md")),
    (".gitattributes", include_str!("../../sigs-template/.gitattributes")),
    ("builder-keys/README.md", include_str!("../../sigs-template/builder-keys/README.md")),
    ("policy.yml", include_str!("../../sigs-template/policy.yml")),
];

/// Subject of the first commit.
pub const FIRST_COMMIT: &str = "Initialize sigs repository";

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
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
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
    /// The hooks.
    pub hooks: Vec<HookChange>,
    /// The commit made, if any: id and subject.
    pub commit: Option<(String, String)>,
}

/// Creates (or completes) a sigs repository at `dir`.
pub fn init(dir: &Path, home: Option<&Path>) -> Result<InitOutcome, InitError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| InitError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (repo, created_repo) = if dir.join(".git").exists() {
        (Repo::open(dir)?, false)
    } else {
        (Repo::init(dir)?, true)
    };
    let hooks = hooks::install(&repo, home)?;

    let mut written = Vec::new();
    let mut to_commit = Vec::new();
    for (path, text) in TEMPLATE {
        let file = repo.workdir().join(path);
        let committed = repo.head_blob(path);
        if committed.is_some() {
            continue; // the repository has its own version: never touched
        }
        match std::fs::read(&file) {
            Ok(bytes) if bytes == text.as_bytes() => to_commit.push(path.to_string()),
            Ok(_) => {} // the user's own file, not committed yet: theirs to commit
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                publish::write_file(&file, text.as_bytes()).map_err(io(&file))?;
                written.push(path.to_string());
                to_commit.push(path.to_string());
            }
            Err(e) => return Err(io(&file)(e)),
        }
    }
    let mut commit = None;
    if !to_commit.is_empty() {
        let subject = if repo.has_head_commit() {
            "Add sigs repository template files".to_string()
        } else {
            FIRST_COMMIT.to_string()
        };
        if let Some(id) = repo.commit_paths(&to_commit, &subject, None)? {
            commit = Some((id.to_string(), subject));
        }
    }
    Ok(InitOutcome { dir: repo.workdir().to_path_buf(), created_repo, written, hooks, commit })
}
