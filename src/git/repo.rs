//! A repository we write to: commits of exactly the given paths (never the rest of the index),
//! GPG-signed commits, the hooks directory, and what is staged or about to be pushed.

use std::path::{Component, Path, PathBuf};

use git2::build::TreeUpdateBuilder;
use git2::{ObjectType, Oid, Repository};
use thiserror::Error;

/// A git operation failed.
#[derive(Debug, Error)]
pub enum RepoError {
    /// libgit2 failed while doing `context`.
    #[error("{context}")]
    Git {
        /// What we were doing.
        context: String,
        /// libgit2's error code.
        code: git2::ErrorCode,
        /// What libgit2 said, when it said something.
        #[source]
        source: Option<GitCause>,
    },
    /// user.name / user.email are not set.
    #[error("cannot commit in {repo}: author identity unknown")]
    NoIdentity {
        /// The repository.
        repo: String,
        /// What libgit2 said.
        #[source]
        source: Option<GitCause>,
    },
    /// Signing the commit failed.
    #[error("cannot sign the commit")]
    Sign(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A path outside the work tree, or a bare repository.
    #[error("{0}")]
    Path(String),
}

/// What libgit2 said, in words: its message without the `; class=...; code=...` it appends,
/// and nothing at all for its "no error".
#[derive(Debug, Error)]
#[error("{0}")]
pub struct GitCause(String);

impl GitCause {
    /// The cause worth showing of a libgit2 error, if any.
    pub fn of(e: &git2::Error) -> Option<Self> {
        let message = e.message().trim();
        (!message.is_empty() && message != "no error").then(|| Self(message.to_string()))
    }
}

impl RepoError {
    /// Whether a lock file held by another process (or left by a killed one) stopped us.
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Git { code: git2::ErrorCode::Locked, .. })
    }

    /// Whether a ref moved under us (another commit landed between our read and our update).
    pub fn is_moved(&self) -> bool {
        matches!(self, Self::Git { code: git2::ErrorCode::Modified, .. })
    }
}

fn ctx(context: impl Into<String>) -> impl FnOnce(git2::Error) -> RepoError {
    let context = context.into();
    move |e| RepoError::Git { context, code: e.code(), source: GitCause::of(&e) }
}

/// Signs the text of a commit object, returning an armored detached signature.
pub type CommitSigner<'a> =
    &'a mut dyn FnMut(&str) -> Result<String, Box<dyn std::error::Error + Send + Sync>>;

/// One staged change (index differs from HEAD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// Path in the repository, `/`-separated.
    pub path: String,
    /// The staged bytes; `None` when the change is a deletion.
    pub blob: Option<Vec<u8>>,
}

/// An open repository with a work tree.
pub struct Repo {
    inner: Repository,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("git_dir", &self.inner.path()).finish()
    }
}

/// A path as git spells it: relative, `/`-separated, no `.`/`..`.
fn git_path(rel: &Path) -> Result<String, RepoError> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(
                p.to_str()
                    .ok_or_else(|| RepoError::Path(format!("{} is not UTF-8", rel.display())))?,
            ),
            Component::CurDir => {}
            _ => {
                return Err(RepoError::Path(format!("{} is outside the work tree", rel.display())));
            }
        }
    }
    Ok(parts.join("/"))
}

impl Repo {
    /// The repository containing `start`, if any (searching upwards like git).
    pub fn discover(start: &Path) -> Option<Self> {
        Repository::discover(start).ok().filter(|r| !r.is_bare()).map(|inner| Self { inner })
    }

    /// The repository whose top is exactly `dir`.
    pub fn open(dir: &Path) -> Result<Self, RepoError> {
        let inner =
            Repository::open_ext(dir, git2::RepositoryOpenFlags::NO_SEARCH, &[] as &[&Path])
                .map_err(ctx(format!("cannot open the git repository {}", dir.display())))?;
        Self::non_bare(inner)
    }

    /// The repository git runs a hook in (`GIT_DIR` and friends, else the current directory).
    pub fn open_from_env() -> Result<Self, RepoError> {
        let inner = Repository::open_from_env().map_err(ctx("not in a git repository"))?;
        Self::non_bare(inner)
    }

    /// Creates a repository at `dir` (made if missing).
    pub fn init(dir: &Path) -> Result<Self, RepoError> {
        let inner = Repository::init(dir)
            .map_err(ctx(format!("cannot create a git repository in {}", dir.display())))?;
        Ok(Self { inner })
    }

    fn non_bare(inner: Repository) -> Result<Self, RepoError> {
        if inner.is_bare() {
            return Err(RepoError::Path(format!(
                "{} is a bare repository; a sigs repository needs a work tree",
                inner.path().display()
            )));
        }
        Ok(Self { inner })
    }

    /// The work tree's top directory.
    pub fn workdir(&self) -> &Path {
        self.inner.workdir().expect("non-bare repository has a work tree")
    }

    /// The `.git` directory (of this work tree).
    pub fn git_dir(&self) -> &Path {
        self.inner.path()
    }

    /// The git directory shared by all work trees (where branches live).
    pub fn common_dir(&self) -> &Path {
        self.inner.commondir()
    }

    /// Where git looks for hooks: `core.hooksPath` (relative to the work tree top, `~/`
    /// expanded, as git does for hooks) or `<common git dir>/hooks`.
    pub fn hooks_dir(&self, home: Option<&Path>) -> PathBuf {
        let configured = self.config_string("core.hooksPath").filter(|s| !s.is_empty());
        match configured {
            Some(p) => {
                let expanded = match (p.strip_prefix("~/"), home) {
                    (Some(rest), Some(home)) => home.join(rest),
                    _ => PathBuf::from(&p),
                };
                if expanded.is_absolute() { expanded } else { self.workdir().join(expanded) }
            }
            None => self.inner.commondir().join("hooks"),
        }
    }

    /// A string from the repository's git config (with global and system config).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.inner.config().ok()?.get_string(key).ok()
    }

    /// A boolean from git config.
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.inner.config().ok()?.get_bool(key).ok()
    }

    /// Whether `.gitignore` rules ignore `path` (a git path).
    pub fn is_ignored(&self, path: &str) -> bool {
        self.inner.is_path_ignored(path).unwrap_or(false)
    }

    /// Whether HEAD points at a commit.
    pub fn has_head_commit(&self) -> bool {
        self.head_commit().is_some()
    }

    fn head_commit(&self) -> Option<git2::Commit<'_>> {
        self.inner.head().ok()?.peel_to_commit().ok()
    }

    /// The bytes of `path` in HEAD's tree.
    pub fn head_blob(&self, path: &str) -> Option<Vec<u8>> {
        let tree = self.head_commit()?.tree().ok()?;
        self.blob_in(&tree, path)
    }

    fn blob_in(&self, tree: &git2::Tree<'_>, path: &str) -> Option<Vec<u8>> {
        let entry = tree.get_path(Path::new(path)).ok()?;
        let blob = self.inner.find_blob(entry.id()).ok()?;
        Some(blob.content().to_vec())
    }

    /// The bytes of `path` at revision `rev` (any commit id).
    pub fn blob_at(&self, rev: Oid, path: &str) -> Option<Vec<u8>> {
        let tree = self.inner.find_commit(rev).ok()?.tree().ok()?;
        self.blob_in(&tree, path)
    }

    /// `abs` (inside the work tree) as a git path. The longest existing ancestor is
    /// canonicalized (symlinked temp directories, `..`), the rest must be plain names.
    pub fn rel_path(&self, abs: &Path) -> Result<String, RepoError> {
        let top = self.workdir().canonicalize().map_err(|e| RepoError::Path(e.to_string()))?;
        let mut existing = abs;
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name);
                    existing = parent;
                }
                _ => return Err(RepoError::Path(format!("{} does not exist", abs.display()))),
            }
        }
        let mut full = existing
            .canonicalize()
            .map_err(|e| RepoError::Path(format!("{}: {e}", existing.display())))?;
        full.extend(rest.iter().rev());
        let rel = full.strip_prefix(&top).map_err(|_| {
            RepoError::Path(format!("{} is outside the work tree {}", abs.display(), top.display()))
        })?;
        git_path(rel)
    }

    /// Commits exactly `paths` (git paths, read from the work tree byte for byte, no filters)
    /// on top of HEAD, leaving every other staged change staged and uncommitted. The index gets
    /// the same entries first, so a kill between here and the ref update leaves them staged, and
    /// a retry commits them. `None` when HEAD already has these bytes. `sign` makes it a
    /// GPG-signed commit (`gpgsig` header).
    pub fn commit_paths(
        &self,
        paths: &[String],
        message: &str,
        sign: Option<CommitSigner<'_>>,
    ) -> Result<Option<Oid>, RepoError> {
        let repo = &self.inner;
        let head = self.head_commit();
        let base_tree = match &head {
            Some(c) => Some(c.tree().map_err(ctx("cannot read HEAD's tree"))?),
            None => None,
        };
        let mut update = TreeUpdateBuilder::new();
        let mut blobs = Vec::new();
        for path in paths {
            let bytes = std::fs::read(self.workdir().join(path))
                .map_err(|e| RepoError::Path(format!("cannot read {path}: {e}")))?;
            let id = repo.blob(&bytes).map_err(ctx(format!("cannot store {path}")))?;
            update.upsert(path, id, git2::FileMode::Blob);
            blobs.push((path, id));
        }
        let base = match &base_tree {
            Some(t) => t.clone(),
            None => {
                let empty =
                    repo.treebuilder(None).and_then(|b| b.write()).map_err(ctx("empty tree"))?;
                repo.find_tree(empty).map_err(ctx("empty tree"))?
            }
        };
        let tree_id = update.create_updated(repo, &base).map_err(ctx("cannot build the tree"))?;

        self.stage(&blobs)?;
        if base_tree.as_ref().is_some_and(|t| t.id() == tree_id) {
            return Ok(None);
        }

        let tree = repo.find_tree(tree_id).map_err(ctx("cannot read the new tree"))?;
        let who = repo.signature().map_err(|e| RepoError::NoIdentity {
            repo: self.workdir().display().to_string(),
            source: GitCause::of(&e),
        })?;
        let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
        let oid = match sign {
            None => repo
                .commit(None, &who, &who, message, &tree, &parents)
                .map_err(ctx("cannot commit"))?,
            Some(sign) => {
                let buf = repo
                    .commit_create_buffer(&who, &who, message, &tree, &parents)
                    .map_err(ctx("cannot create the commit"))?;
                let text =
                    buf.as_str().ok_or_else(|| RepoError::Path("commit is not UTF-8".into()))?;
                let signature = sign(text).map_err(RepoError::Sign)?;
                repo.commit_signed(text, &signature, None)
                    .map_err(ctx("cannot write the signed commit"))?
            }
        };
        self.move_head(oid, head.as_ref().map(git2::Commit::id), message)?;
        Ok(Some(oid))
    }

    /// Stages `blobs` (path, id of the bytes to commit) in the index, byte for byte: the
    /// index holds the raw bytes the commit will hold, whatever the attribute filters.
    fn stage(&self, blobs: &[(&String, Oid)]) -> Result<(), RepoError> {
        let repo = &self.inner;
        let mut index = repo.index().map_err(ctx("cannot open the index"))?;
        index.read(true).map_err(ctx("cannot read the index"))?;
        let mut index_changed = false;
        for (path, id) in blobs {
            if index.get_path(Path::new(path.as_str()), 0).is_some_and(|e| e.id == *id) {
                continue;
            }
            index
                .add_path(Path::new(path.as_str()))
                .map_err(ctx(format!("cannot stage {path}")))?;
            // add_path applies attribute filters; the commit holds the raw bytes, so must the index.
            if let Some(mut entry) = index.get_path(Path::new(path.as_str()), 0)
                && entry.id != *id
            {
                entry.id = *id;
                index.add(&entry).map_err(ctx(format!("cannot stage {path}")))?;
            }
            index_changed = true;
        }
        if index_changed {
            index.write().map_err(ctx("cannot write the index"))?;
        }
        Ok(())
    }

    /// Removes the lock files git keeps while it writes HEAD, its branch and the index
    /// (`HEAD.lock`, `refs/heads/<branch>.lock`, `index.lock`) when no process holds them open:
    /// a killed writer left them, and every later commit would fail on them ("failed to lock
    /// file"). A git at work holds its lock file open from creating it to renaming it, so one
    /// held open is left alone (and then reported by the commit). For callers that hold the
    /// ledger's own lock (`ops::sign::LedgerLock`). Returns the files removed.
    pub fn remove_stale_locks(&self) -> Vec<PathBuf> {
        let mut locks = vec![self.git_dir().join("index.lock"), self.git_dir().join("HEAD.lock")];
        if let Some(branch) = self
            .inner
            .find_reference("HEAD")
            .ok()
            .and_then(|h| h.symbolic_target().map(str::to_string))
        {
            locks.push(self.common_dir().join(format!("{branch}.lock")));
        }
        locks.retain(|l| l.is_file() && !held_open(l) && std::fs::remove_file(l).is_ok());
        locks
    }

    /// Moves HEAD's branch (or a detached HEAD) to `oid`, only if it still is at `old`.
    fn move_head(&self, oid: Oid, old: Option<Oid>, message: &str) -> Result<(), RepoError> {
        let repo = &self.inner;
        let head_ref = repo.find_reference("HEAD").map_err(ctx("cannot read HEAD"))?;
        let first_line = message.lines().next().unwrap_or("");
        let log = format!("commit{}: {first_line}", if old.is_none() { " (initial)" } else { "" });
        match head_ref.symbolic_target() {
            Some(branch) => {
                let branch = branch.to_string();
                match old {
                    Some(old) => repo.reference_matching(&branch, oid, true, old, &log),
                    None => repo.reference(&branch, oid, false, &log),
                }
                .map_err(|e| {
                    let moved = e.code() == git2::ErrorCode::Modified;
                    let why = if moved { ": another commit landed on it meanwhile" } else { "" };
                    ctx(format!("cannot move {branch}{why}"))(e)
                })?;
            }
            None => {
                repo.set_head_detached(oid).map_err(ctx("cannot move HEAD"))?;
            }
        }
        Ok(())
    }

    /// Every change staged for the next commit (index against HEAD).
    pub fn staged(&self) -> Result<Vec<Staged>, RepoError> {
        let repo = &self.inner;
        let head_tree = match self.head_commit() {
            Some(c) => Some(c.tree().map_err(ctx("cannot read HEAD's tree"))?),
            None => None,
        };
        let index = repo.index().map_err(ctx("cannot open the index"))?;
        let diff = repo
            .diff_tree_to_index(head_tree.as_ref(), Some(&index), None)
            .map_err(ctx("cannot compare the index with HEAD"))?;
        let mut out = Vec::new();
        for delta in diff.deltas() {
            let file = delta.new_file();
            let path = file
                .path()
                .or_else(|| delta.old_file().path())
                .and_then(Path::to_str)
                .unwrap_or_default()
                .to_string();
            let blob = if delta.status() == git2::Delta::Deleted {
                None
            } else {
                let blob =
                    repo.find_blob(file.id()).map_err(ctx(format!("cannot read staged {path}")))?;
                Some(blob.content().to_vec())
            };
            out.push(Staged { path, blob });
        }
        Ok(out)
    }

    /// Resolves a revision (`HEAD`, a branch, a commit id) to a commit id.
    pub fn resolve(&self, rev: &str) -> Result<Oid, RepoError> {
        let obj =
            self.inner.revparse_single(rev).map_err(ctx(format!("unknown revision '{rev}'")))?;
        let commit =
            obj.peel(ObjectType::Commit).map_err(ctx(format!("'{rev}' is not a commit")))?;
        Ok(commit.id())
    }

    /// Paths added or modified by the commits reachable from `local` but not from `remote_old`
    /// (when we have it) nor from any `refs/remotes/<remote>/*`: what a push would publish.
    /// A merge counts a path only when it differs from every parent.
    pub fn pushed_paths(
        &self,
        local: Oid,
        remote_old: Option<Oid>,
        remote: &str,
    ) -> Result<Vec<String>, RepoError> {
        let repo = &self.inner;
        let mut walk = repo.revwalk().map_err(ctx("cannot walk history"))?;
        walk.push(local).map_err(ctx(format!("cannot walk from {local}")))?;
        if let Some(old) = remote_old.filter(|o| repo.find_commit(*o).is_ok()) {
            walk.hide(old).map_err(ctx("cannot walk history"))?;
        }
        if !remote.is_empty() && git2::Remote::is_valid_name(remote) {
            // A glob that matches nothing is fine.
            let _ = walk.hide_glob(&format!("refs/remotes/{remote}/*"));
        }
        let mut paths = std::collections::BTreeSet::new();
        for id in walk {
            let commit =
                repo.find_commit(id.map_err(ctx("cannot walk history"))?).map_err(ctx("commit"))?;
            let tree = commit.tree().map_err(ctx("tree"))?;
            let mut per_parent: Option<std::collections::BTreeSet<String>> = None;
            let parent_trees: Vec<Option<git2::Tree<'_>>> = if commit.parent_count() == 0 {
                vec![None]
            } else {
                commit.parents().map(|p| p.tree().ok()).collect()
            };
            for parent in parent_trees {
                let diff = repo
                    .diff_tree_to_tree(parent.as_ref(), Some(&tree), None)
                    .map_err(ctx("cannot diff a pushed commit"))?;
                let changed: std::collections::BTreeSet<String> = diff
                    .deltas()
                    .filter(|d| d.status() != git2::Delta::Deleted)
                    .filter_map(|d| d.new_file().path().and_then(Path::to_str).map(str::to_string))
                    .collect();
                per_parent = Some(match per_parent {
                    None => changed,
                    Some(prev) => prev.intersection(&changed).cloned().collect(),
                });
            }
            paths.extend(per_parent.unwrap_or_default());
        }
        Ok(paths.into_iter().collect())
    }

    /// The underlying libgit2 repository, for readers elsewhere in `git`.
    pub fn raw(&self) -> &Repository {
        &self.inner
    }
}

/// Whether `dir` is itself a bare repository.
pub fn is_bare_repository(dir: &Path) -> bool {
    Repository::open_ext(dir, git2::RepositoryOpenFlags::NO_SEARCH, &[] as &[&Path])
        .is_ok_and(|r| r.is_bare())
}

/// A unified diff of two texts, as `git diff` would print it, for error messages.
pub fn unified_diff(old: &[u8], new: &[u8], path: &str) -> String {
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(2);
    let patch = git2::Patch::from_buffers(
        old,
        Some(Path::new(path)),
        new,
        Some(Path::new(path)),
        Some(&mut opts),
    );
    match patch.and_then(|mut p| p.to_buf()) {
        Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => String::new(),
    }
}

/// Whether a process this user can see holds `path` open (from /proc/<pid>/fd).
fn held_open(path: &Path) -> bool {
    let Ok(path) = path.canonicalize() else { return false };
    let Ok(procs) = std::fs::read_dir("/proc") else { return true };
    procs.flatten().any(|p| {
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { return false };
        fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_path_rejects_escapes() {
        assert_eq!(git_path(Path::new("a/./b")).unwrap(), "a/b");
        assert!(git_path(Path::new("../a")).is_err());
        assert!(git_path(Path::new("/a")).is_err());
    }

    #[test]
    fn unified_diff_shows_the_changed_line() {
        let d = unified_diff(b"a\nb\nc\n", b"a\nB\nc\n", "x.assert");
        assert!(d.contains("-b\n+B\n"), "{d}");
        assert!(d.contains("x.assert"), "{d}");
    }

    /// Issue 10 item 7: libgit2's "no error" and its `; class=...; code=...` tails never
    /// reach the user; the code still tells a lock and a moved ref apart.
    #[test]
    fn libgit2_messages_are_words_only() {
        use git2::{ErrorClass, ErrorCode};
        let chain = |e: &RepoError| {
            let mut out = vec![e.to_string()];
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                out.push(s.to_string());
                source = s.source();
            }
            out
        };
        let raw = git2::Error::new(
            ErrorCode::Modified,
            ErrorClass::Reference,
            "old reference value does not match",
        );
        assert!(raw.to_string().contains("class="));
        let e = ctx("cannot move refs/heads/main")(raw);
        assert_eq!(
            chain(&e),
            ["cannot move refs/heads/main", "old reference value does not match"]
        );
        assert!(e.is_moved() && !e.is_locked());
        let e = ctx("cannot write the index")(git2::Error::new(
            ErrorCode::Locked,
            ErrorClass::None,
            "no error",
        ));
        assert_eq!(chain(&e), ["cannot write the index"]);
        assert!(e.is_locked());
    }
}
