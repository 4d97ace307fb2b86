//! Remotes of a descriptor (spec §2.2 step 7): each is fetched from its URL into a bare cache
//! repository shared by every build on the host (`$XDG_CACHE_HOME/git-gitian/remotes/`), only
//! when the pinned commit is not there yet (so a second build of the same commit, in any
//! folder, needs no network), and `inputs/<dir>` is a git worktree of it, detached at the
//! commit, submodules updated. The guest gets the whole checkout with a real `.git` folder, as
//! Gitian copied its clone: a worktree's `.git` is a file naming a host path, so a standalone
//! copy is made for it at copy-in time ([`standalone`]). An `inputs/<dir>` that is a clone of
//! its own (Gitian's layout) is kept and fetched into in place. A commit that names a tag on the
//! remote is fetched as that tag, so annotated tags stay tags (`git describe` works).
//!
//! git is run as a program (as Gitian does): submodules and every transport come for free.

use std::fs;
use std::path::{Path, PathBuf};

use crate::process::{self, Invocation, ProcessError};

/// What to fetch for one remote.
#[derive(Debug, Clone)]
pub struct RemoteSpec {
    /// Folder name under `inputs/`.
    pub dir: String,
    /// URL or path.
    pub url: String,
    /// Tag, branch or full SHA.
    pub commit: String,
}

/// Fetch behaviour (gbuild's flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchOptions {
    /// No network: check out the commit in the existing clone.
    pub skip_fetch: bool,
    /// Also fetch every tag.
    pub fetch_tags: bool,
    /// Also fetch every branch.
    pub fetch_branches: bool,
}

/// A remote checked out at its commit.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// `inputs/<dir>`.
    pub path: PathBuf,
    /// The full SHA of HEAD.
    pub sha: String,
    /// HEAD's author date, `YYYY-MM-DD HH:MM:SS` in UTC.
    pub author_date: String,
    /// Whether anything was fetched.
    pub fetched: bool,
}

/// A git step failed.
#[derive(Debug, thiserror::Error)]
#[error("remote '{dir}': {message}")]
pub struct FetchError {
    /// The remote's dir.
    pub dir: String,
    /// What failed.
    pub message: String,
}

fn git(repo: &Path) -> Invocation {
    Invocation::new("git").arg("-C").arg(repo).env("GIT_TERMINAL_PROMPT", "0")
}

fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Fetches (if needed) and checks out one remote under `inputs`. The repository is fetched once
/// into `cache` (`<cache>/<sha256 of the URL>.git`, bare, shared by every build on the host)
/// and `inputs/<dir>` is a git worktree of it, detached at the commit. A folder that already
/// is a clone of its own (Gitian's layout) is kept and used as one.
pub fn prepare(
    inputs: &Path,
    cache: &Path,
    r: &RemoteSpec,
    opts: FetchOptions,
) -> Result<Fetched, FetchError> {
    let path = inputs.join(&r.dir);
    if path.exists() && !path.join(".git").is_file() {
        return prepare_clone(inputs, r, opts);
    }
    let fail = |e: ProcessError| FetchError { dir: r.dir.clone(), message: e.to_string() };
    let io_fail = |what: &str, p: &Path, e: std::io::Error| FetchError {
        dir: r.dir.clone(),
        message: format!("{what} '{}': {e}", p.display()),
    };
    let repo =
        cache.join(format!("{}.git", &crate::core::manifest::sha256_hex(r.url.as_bytes())[..32]));
    fs::create_dir_all(cache).map_err(|e| io_fail("cannot create", cache, e))?;
    // One build at a time fetches into a cache repository (FETCH_HEAD is shared).
    let lock_path = repo.with_extension("lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_fail("cannot open", &lock_path, e))?;
    lock.lock().map_err(|e| io_fail("cannot lock", &lock_path, e))?;
    if !repo.join("HEAD").is_file() {
        process::run_ok(&Invocation::new("git").args(["init", "-q", "--bare"]).arg(&repo))
            .map_err(fail)?;
    }
    let mut fetched = false;
    let resolve = |rev: &str| {
        process::run_ok(&git(&repo).args([
            "rev-parse",
            "--verify",
            "-q",
            &format!("{rev}^{{commit}}"),
        ]))
        .map(|s| s.trim().to_string())
        .map_err(fail)
    };
    let sha = if opts.skip_fetch {
        resolve(&r.commit).map_err(|_| FetchError {
            dir: r.dir.clone(),
            message: format!(
                "'{}' is not in this host's copy of {} (--skip-fetch does not fetch: run without it)",
                r.commit, r.url
            ),
        })?
    } else if fetch(&repo, r, opts, &[])? {
        fetched = true;
        resolve("FETCH_HEAD")?
    } else {
        r.commit.clone()
    };
    attach_worktree(&repo, inputs, &path, r, &sha)?;
    drop(lock);
    finish(r, path, fetched)
}

/// Checks `sha` out at `path` (`inputs/<dir>`) as a worktree of the cache repository `repo`.
/// A worktree of another cache repository (the URL changed) is made anew; one whose build
/// folder moved is repaired; worktrees whose folders are gone are forgotten.
fn attach_worktree(
    repo: &Path,
    inputs: &Path,
    path: &Path,
    r: &RemoteSpec,
    sha: &str,
) -> Result<(), FetchError> {
    let fail = |e: ProcessError| FetchError { dir: r.dir.clone(), message: e.to_string() };
    let io_fail = |what: &str, p: &Path, e: std::io::Error| FetchError {
        dir: r.dir.clone(),
        message: format!("{what} '{}': {e}", p.display()),
    };
    let abs_repo = fs::canonicalize(repo).map_err(|e| io_fail("cannot read", repo, e))?;
    if path.exists() {
        let theirs = process::run_ok(&git(path).args([
            "rev-parse",
            "--path-format=absolute",
            "--git-common-dir",
        ]))
        .ok()
        .and_then(|s| fs::canonicalize(s.trim()).ok());
        if theirs.as_deref() == Some(abs_repo.as_path()) {
            let abs = fs::canonicalize(path).map_err(|e| io_fail("cannot read", path, e))?;
            let _ = process::run(&git(repo).args(["worktree", "repair"]).arg(abs));
        } else {
            fs::remove_dir_all(path).map_err(|e| io_fail("cannot remove", path, e))?;
        }
    }
    process::run_ok(&git(repo).args(["worktree", "prune"])).map_err(fail)?;
    if path.exists() {
        process::run_ok(&git(path).args(["checkout", "-q", "-f", "--detach", sha]))
            .map_err(fail)?;
    } else {
        fs::create_dir_all(inputs).map_err(|e| io_fail("cannot create", inputs, e))?;
        let abs = fs::canonicalize(inputs).map_err(|e| io_fail("cannot read", inputs, e))?;
        process::run_ok(
            &git(repo)
                .args(["worktree", "add", "-q", "-f", "--detach"])
                .arg(abs.join(&r.dir))
                .arg(sha),
        )
        .map_err(fail)?;
    }
    Ok(())
}

/// What to copy into the guest for `inputs/<dir>`: the folder itself when it is a clone of
/// its own; for a worktree (whose `.git` file points into the host's cache), a standalone
/// checkout made under `scratch/<dir>`: the same files, and a `.git` folder with the cache's
/// objects and tags, HEAD detached at the same commit, the worktree's index, and the
/// submodules' repositories moved in with relative links, as a clone would have them.
pub fn standalone(worktree: &Path, scratch: &Path) -> Result<PathBuf, FetchError> {
    if !worktree.join(".git").is_file() {
        return Ok(worktree.to_path_buf());
    }
    let name = worktree.file_name().unwrap_or_default();
    let dir = name.to_string_lossy().into_owned();
    let fail = |e: ProcessError| FetchError { dir: dir.clone(), message: e.to_string() };
    let io_fail = |what: &str, p: &Path, e: std::io::Error| FetchError {
        dir: dir.clone(),
        message: format!("{what} '{}': {e}", p.display()),
    };
    let rev = |what: &str| {
        process::run_ok(&git(worktree).args(["rev-parse", "--path-format=absolute", what]))
            .map(|s| PathBuf::from(s.trim()))
            .map_err(fail)
    };
    let common = rev("--git-common-dir")?;
    let own = rev("--git-dir")?;
    let head = process::run_ok(&git(worktree).args(["rev-parse", "HEAD"])).map_err(fail)?;
    let dest = scratch.join(name);
    let _ = fs::remove_dir_all(&dest);
    fs::create_dir_all(scratch).map_err(|e| io_fail("cannot create", scratch, e))?;
    process::run_ok(&Invocation::new("cp").arg("-a").arg(worktree).arg(&dest)).map_err(fail)?;
    let dot_git = dest.join(".git");
    fs::remove_file(&dot_git).map_err(|e| io_fail("cannot remove", &dot_git, e))?;
    process::run_ok(
        &Invocation::new("git")
            .args(["clone", "-q", "--bare", "--local"])
            .arg(&common)
            .arg(&dot_git),
    )
    .map_err(fail)?;
    let in_git = |args: &[&str]| {
        process::run_ok(&Invocation::new("git").arg("--git-dir").arg(&dot_git).args(args))
            .map_err(fail)
    };
    in_git(&["remote", "remove", "origin"])?;
    in_git(&["config", "core.bare", "false"])?;
    // Initialized submodules are recorded in the (shared) configuration.
    let subs = process::run(&git(worktree).args(["config", "-z", "--get-regexp", "^submodule\\."]))
        .map_err(fail)?;
    let subs = String::from_utf8_lossy(&subs.stdout);
    for entry in subs.split('\0').filter(|e| !e.is_empty()) {
        let (key, value) = entry.split_once('\n').unwrap_or((entry, ""));
        in_git(&["config", key, value])?;
    }
    fs::write(dot_git.join("HEAD"), format!("{}\n", head.trim()))
        .map_err(|e| io_fail("cannot write", &dot_git, e))?;
    if own.join("index").is_file() {
        fs::copy(own.join("index"), dot_git.join("index"))
            .map_err(|e| io_fail("cannot copy", &own.join("index"), e))?;
    }
    if own.join("modules").is_dir() {
        process::run_ok(
            &Invocation::new("cp").arg("-a").arg(own.join("modules")).arg(dot_git.join("modules")),
        )
        .map_err(fail)?;
        relink_submodules(&dest, &dest, worktree, &own, &dot_git)
            .map_err(|m| FetchError { dir: dir.clone(), message: m })?;
    }
    Ok(dest)
}

/// Points every submodule's `.git` file under `dir` (a copy of `worktree`) at its repository
/// moved from `own` (the worktree's git folder) to `dot_git`, and each repository's
/// `core.worktree` back at the submodule, both as relative paths.
fn relink_submodules(
    top: &Path,
    dir: &Path,
    worktree: &Path,
    own: &Path,
    dot_git: &Path,
) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read '{}': {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if !ft.is_dir() || ft.is_symlink() || (dir == top && entry.file_name() == ".git") {
            continue;
        }
        let gitfile = path.join(".git");
        if gitfile.is_file() {
            let text = fs::read_to_string(&gitfile)
                .map_err(|e| format!("cannot read '{}': {e}", gitfile.display()))?;
            let target = text.trim().strip_prefix("gitdir: ").unwrap_or(text.trim());
            let rel_sub = path.strip_prefix(top).map_err(|e| e.to_string())?;
            let original = worktree.join(rel_sub).join(target);
            let original = fs::canonicalize(&original).unwrap_or(original);
            let own = fs::canonicalize(own).unwrap_or_else(|_| own.to_path_buf());
            let Ok(inside) = original.strip_prefix(&own) else {
                return Err(format!(
                    "submodule '{}' has its repository outside the worktree's",
                    rel_sub.display()
                ));
            };
            let moved = dot_git.join(inside);
            fs::write(&gitfile, format!("gitdir: {}\n", relative(&path, &moved).display()))
                .map_err(|e| format!("cannot write '{}': {e}", gitfile.display()))?;
            process::run_ok(
                &Invocation::new("git")
                    .arg("config")
                    .arg("-f")
                    .arg(moved.join("config"))
                    .arg("core.worktree")
                    .arg(relative(&moved, &path)),
            )
            .map_err(|e| e.to_string())?;
        }
        relink_submodules(top, &path, worktree, own, dot_git)?;
    }
    Ok(())
}

/// `to` relative to the folder `from` (both absolute or both relative to the same folder).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let same = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in same..a.len() {
        out.push("..");
    }
    for c in &b[same..] {
        out.push(c);
    }
    out
}

/// A clone of its own at `inputs/<dir>` (Gitian's layout, kept for folders that already are
/// clones): fetched into and checked out in place.
fn prepare_clone(inputs: &Path, r: &RemoteSpec, opts: FetchOptions) -> Result<Fetched, FetchError> {
    let fail = |e: ProcessError| FetchError { dir: r.dir.clone(), message: e.to_string() };
    let path = inputs.join(&r.dir);
    if !path.exists() {
        fs::create_dir_all(inputs)
            .map_err(|e| FetchError { dir: r.dir.clone(), message: e.to_string() })?;
        process::run_ok(&Invocation::new("git").args(["init", "-q"]).arg(&path)).map_err(fail)?;
    }
    let mut fetched = false;
    if opts.skip_fetch {
        process::run_ok(&git(&path).args(["checkout", "-q", "-f", &r.commit])).map_err(fail)?;
    } else if fetch(&path, r, opts, &["--update-head-ok"])? {
        process::run_ok(&git(&path).args(["checkout", "-q", "-f", "FETCH_HEAD"])).map_err(fail)?;
        fetched = true;
    } else {
        process::run_ok(&git(&path).args(["checkout", "-q", "-f", &r.commit])).map_err(fail)?;
    }
    finish(r, path, fetched)
}

/// Submodules updated, HEAD's SHA and author date.
fn finish(r: &RemoteSpec, path: PathBuf, fetched: bool) -> Result<Fetched, FetchError> {
    let fail = |e: ProcessError| FetchError { dir: r.dir.clone(), message: e.to_string() };
    process::run_ok(&git(&path).args([
        "submodule",
        "update",
        "-q",
        "--init",
        "--recursive",
        "--force",
    ]))
    .map_err(fail)?;
    let sha = process::run_ok(&git(&path).args(["log", "--format=%H", "-1"])).map_err(fail)?;
    let author_date = process::run_ok(&git(&path).env("TZ", "UTC").args([
        "log",
        "--date=format-local:%F %T",
        "--format=%ad",
        "-1",
    ]))
    .map_err(|_| FetchError {
        dir: r.dir.clone(),
        message: format!("error looking up author date in {}", r.dir),
    })?;
    Ok(Fetched {
        path,
        sha: sha.trim().to_string(),
        author_date: author_date.trim().to_string(),
        fetched,
    })
}

/// Parses gbuild's `dir=value[,dir=value...]` (split at `,`, then at the first `=`).
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

/// Fetches into `repo` from `r.url` the branches and tags `opts` asks for and, unless `repo`
/// already holds `r.commit` (a full id), the commit itself: as a tag when the remote names a
/// tag so (annotated tags stay tags). `extra` goes to every fetch. True when the commit was
/// fetched (it is then FETCH_HEAD).
fn fetch(
    repo: &Path,
    r: &RemoteSpec,
    opts: FetchOptions,
    extra: &[&str],
) -> Result<bool, FetchError> {
    let fail = |e: ProcessError| FetchError { dir: r.dir.clone(), message: e.to_string() };
    let fetch = || git(repo).args(["fetch", "-q", "-f"]).args(extra.iter().copied());
    for (wanted, refspec) in [
        (opts.fetch_branches, "+refs/heads/*:refs/heads/*"),
        (opts.fetch_tags, "+refs/tags/*:refs/tags/*"),
    ] {
        if wanted {
            process::run_ok(&fetch().arg(&r.url).arg(refspec)).map_err(fail)?;
        }
    }
    if has_commit(repo, &r.commit) {
        return Ok(false);
    }
    let mut what = vec![r.commit.clone()];
    if !opts.fetch_tags {
        let refs =
            process::run_ok(&git(repo).args(["ls-remote", &r.url, &r.commit])).map_err(fail)?;
        if refs.contains("\trefs/tags/") {
            what = vec!["tag".into(), r.commit.clone()];
        }
    }
    process::run_ok(&fetch().arg("--no-tags").arg(&r.url).args(what)).map_err(fail)?;
    Ok(true)
}

/// Whether `dir`'s repository holds `commit`, given as a full id (a short id or a ref name might
/// name something else after a fetch).
fn has_commit(dir: &Path, commit: &str) -> bool {
    is_full_sha(commit)
        && process::run(&git(dir).args(["cat-file", "-e", &format!("{commit}^{{commit}}")]))
            .is_ok_and(|o| o.code == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, script: &str) -> String {
        let inv = Invocation::new("sh")
            .args(["-c", script])
            .cwd(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .env("GIT_AUTHOR_DATE", "2020-02-03T04:05:06Z")
            .env("GIT_COMMITTER_DATE", "2020-02-03T04:05:06Z");
        process::run_ok(&inv).unwrap().trim().to_string()
    }

    /// `root/up`: a repository with one commit, annotated tag `v1` on it; and that commit.
    fn tagged_upstream(root: &Path) -> (PathBuf, String) {
        let up = root.join("up");
        fs::create_dir(&up).unwrap();
        let sha = sh(
            &up,
            "git init -q . && echo hi > f && git add f && git commit -qm one && \
             git tag -a -m rel v1 && git rev-parse HEAD",
        );
        (up, sha)
    }

    #[test]
    fn pairs() {
        assert_eq!(
            parse_pairs("a=1,b=x=y"),
            vec![("a".into(), "1".into()), ("b".into(), "x=y".into())]
        );
    }

    #[test]
    fn fetches_once_and_keeps_annotated_tags() {
        let t = tempfile::tempdir().unwrap();
        let (up, sha) = tagged_upstream(t.path());
        let inputs = t.path().join("inputs");
        let spec =
            RemoteSpec { dir: "p".into(), url: up.display().to_string(), commit: "v1".into() };
        let cache = t.path().join("cache");
        let got = prepare(&inputs, &cache, &spec, FetchOptions::default()).unwrap();
        assert_eq!(got.sha, sha);
        assert_eq!(got.author_date, "2020-02-03 04:05:06");
        assert!(got.fetched);
        assert_eq!(sh(&got.path, "git cat-file -t refs/tags/v1"), "tag");
        assert_eq!(sh(&got.path, "git describe"), "v1");
        let spec = RemoteSpec { commit: sha.clone(), ..spec };
        let again = prepare(&inputs, &cache, &spec, FetchOptions::default()).unwrap();
        assert!(!again.fetched, "the commit was there: no second fetch");
        assert_eq!(again.sha, sha);
        // Another build folder gets its own worktree of the same cache, with no fetch.
        let other = prepare(&t.path().join("other"), &cache, &spec, FetchOptions::default());
        assert!(!other.unwrap().fetched);
        // A build folder that moved keeps working (its worktree is repaired).
        let moved = t.path().join("moved");
        fs::rename(&inputs, &moved).unwrap();
        let again = prepare(&moved, &cache, &spec, FetchOptions::default()).unwrap();
        assert_eq!(sh(&again.path, "git rev-parse HEAD"), sha);
        // Another URL for the same folder: a worktree of that URL's cache repository.
        let up2 = t.path().join("up2");
        fs::create_dir(&up2).unwrap();
        let sha2 = sh(
            &up2,
            "git init -q . && echo x > x && git add x && git commit -qm x && git rev-parse HEAD",
        );
        let spec2 = RemoteSpec { url: up2.display().to_string(), commit: sha2.clone(), ..spec };
        let got2 = prepare(&moved, &cache, &spec2, FetchOptions::default()).unwrap();
        assert!(got2.fetched);
        assert_eq!(sh(&got2.path, "git rev-parse HEAD; cat x"), format!("{sha2}\nx"));
    }

    #[test]
    fn a_clone_of_its_own_is_fetched_into_in_place() {
        let t = tempfile::tempdir().unwrap();
        let (up, sha) = tagged_upstream(t.path());
        let inputs = t.path().join("inputs");
        let own = inputs.join("p");
        fs::create_dir_all(&own).unwrap();
        sh(&own, "git init -q .");
        let spec =
            RemoteSpec { dir: "p".into(), url: up.display().to_string(), commit: "v1".into() };
        let cache = t.path().join("cache");
        let got = prepare(&inputs, &cache, &spec, FetchOptions::default()).unwrap();
        assert!(got.fetched);
        assert_eq!((got.path.as_path(), got.sha.as_str()), (own.as_path(), sha.as_str()));
        assert!(own.join(".git").is_dir(), "still a clone of its own");
        assert_eq!(
            sh(&own, "git cat-file -t refs/tags/v1; git rev-parse HEAD"),
            format!("tag\n{sha}")
        );
        assert!(!cache.exists(), "no cache repository for it");
        let spec = RemoteSpec { commit: sha.clone(), ..spec };
        assert!(!prepare(&inputs, &cache, &spec, FetchOptions::default()).unwrap().fetched);
    }

    #[test]
    fn inputs_are_worktrees_and_the_guest_copy_stands_alone() {
        let t = tempfile::tempdir().unwrap();
        let up = t.path().join("up");
        let lib = t.path().join("lib");
        fs::create_dir(&up).unwrap();
        fs::create_dir(&lib).unwrap();
        sh(&lib, "git init -q . && echo l > l && git add l && git commit -qm lib");
        let sha = sh(
            &up,
            "git init -q . && echo hi > f && git add f && git commit -qm one && \
             git tag -a -m rel v1 && echo two > f && git commit -qam two && git rev-parse HEAD",
        );
        let inputs = t.path().join("inputs");
        let cache = t.path().join("cache");
        let spec =
            RemoteSpec { dir: "p".into(), url: up.display().to_string(), commit: "v1".into() };
        prepare(&inputs, &cache, &spec, FetchOptions::default()).unwrap();
        let spec = RemoteSpec { commit: sha.clone(), ..spec };
        let got = prepare(&inputs, &cache, &spec, FetchOptions::default()).unwrap();
        // inputs/p is a git worktree of the cache repository, detached at the commit.
        let link = fs::read_to_string(got.path.join(".git")).unwrap();
        assert!(
            link.starts_with(&format!("gitdir: {}", fs::canonicalize(&cache).unwrap().display())),
            "{link}"
        );
        assert_eq!(sh(&got.path, "git rev-parse HEAD"), sha);
        // A submodule, added the way `git submodule update` lays it out in a worktree.
        let head = sh(
            &got.path,
            &format!(
                "git -c protocol.file.allow=always submodule add -q {} sub/lib && \
                 git commit -qm sub && git rev-parse HEAD",
                lib.display()
            ),
        );
        let scratch = t.path().join("scratch");
        let copy = standalone(&got.path, &scratch).unwrap();
        assert_eq!(copy, scratch.join("p"));
        assert!(copy.join(".git").is_dir());
        // The copy needs nothing from the host: move the cache and the worktree away.
        fs::rename(&cache, t.path().join("cache-gone")).unwrap();
        fs::rename(&inputs, t.path().join("inputs-gone")).unwrap();
        let moved = t.path().join("guest/p");
        fs::create_dir_all(moved.parent().unwrap()).unwrap();
        fs::rename(&copy, &moved).unwrap();
        assert_eq!(sh(&moved, "git rev-parse HEAD"), head);
        assert_eq!(sh(&moved, "git describe"), "v1-2-g".to_string() + &head[..7]);
        assert_eq!(sh(&moved, "git cat-file -t refs/tags/v1"), "tag");
        assert_eq!(sh(&moved, "git status --porcelain --ignore-submodules=none"), "");
        // Initialized and at the recorded commit (no `-`, `+` or `U` in front).
        let sub = sh(&moved, "git submodule status");
        assert!(!sub.starts_with(['-', '+', 'U']) && sub.contains(" sub/lib "), "{sub}");
        assert_eq!(sh(&moved, "git fsck --no-dangling 2>&1; git remote"), "");
        assert_eq!(sh(&moved.join("sub/lib"), "cat l; git log --format=%s"), "l\nlib");
        assert_eq!(
            sh(&moved, "git reset -q --hard && git clean -q -f -d && git status --porcelain"),
            ""
        );
        // A folder that is a clone of its own (Gitian's layout) is copied as it is.
        assert_eq!(standalone(&lib, &scratch).unwrap(), lib);
    }
}
