//! Remotes of a descriptor (spec §2.2 step 7): each is a git repository at `inputs/<dir>`,
//! fetched from its URL only when the pinned commit is not there yet (so a second build of the
//! same commit needs no network), checked out detached at the commit, submodules updated, and
//! copied whole (with `.git`) into the guest as Gitian does. A commit that names a tag on the
//! remote is fetched as that tag, so annotated tags stay tags (`git describe` works).
//!
//! git is run as a program (as Gitian does): submodules and every transport come for free.

use std::fs;
use std::path::{Path, PathBuf};

use crate::guest::process::{self, Invocation, ProcessError};

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

/// Fetches (if needed) and checks out one remote under `inputs`.
pub fn prepare(inputs: &Path, r: &RemoteSpec, opts: FetchOptions) -> Result<Fetched, FetchError> {
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
    } else {
        if opts.fetch_branches {
            process::run_ok(
                &git(&path)
                    .args(["fetch", "-q", "-f", "--update-head-ok", &r.url])
                    .arg("+refs/heads/*:refs/heads/*"),
            )
            .map_err(fail)?;
        }
        if opts.fetch_tags {
            process::run_ok(
                &git(&path)
                    .args(["fetch", "-q", "-f", "--update-head-ok", &r.url])
                    .arg("+refs/tags/*:refs/tags/*"),
            )
            .map_err(fail)?;
        }
        let have = is_full_sha(&r.commit)
            && process::run(&git(&path).args([
                "cat-file",
                "-e",
                &format!("{}^{{commit}}", r.commit),
            ]))
            .is_ok_and(|o| o.code == 0);
        if have {
            process::run_ok(&git(&path).args(["checkout", "-q", "-f", &r.commit])).map_err(fail)?;
        } else {
            let mut what = vec![r.commit.clone()];
            if !opts.fetch_tags {
                let refs = process::run_ok(&git(&path).args(["ls-remote", &r.url, &r.commit]))
                    .map_err(fail)?;
                if refs.contains("\trefs/tags/") {
                    what = vec!["tag".into(), r.commit.clone()];
                }
            }
            process::run_ok(
                &git(&path)
                    .args(["fetch", "-q", "-f", "--no-tags", "--update-head-ok", &r.url])
                    .args(what),
            )
            .map_err(fail)?;
            process::run_ok(&git(&path).args(["checkout", "-q", "-f", "FETCH_HEAD"]))
                .map_err(fail)?;
            fetched = true;
        }
    }
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
        let up = t.path().join("up");
        fs::create_dir(&up).unwrap();
        let sha = sh(
            &up,
            "git init -q . && echo hi > f && git add f && git commit -qm one && \
             git tag -a -m rel v1 && git rev-parse HEAD",
        );
        let inputs = t.path().join("inputs");
        let spec =
            RemoteSpec { dir: "p".into(), url: up.display().to_string(), commit: "v1".into() };
        let got = prepare(&inputs, &spec, FetchOptions::default()).unwrap();
        assert_eq!(got.sha, sha);
        assert_eq!(got.author_date, "2020-02-03 04:05:06");
        assert!(got.fetched);
        assert_eq!(sh(&got.path, "git cat-file -t refs/tags/v1"), "tag");
        assert_eq!(sh(&got.path, "git describe"), "v1");
        let spec = RemoteSpec { commit: sha.clone(), ..spec };
        let again = prepare(&inputs, &spec, FetchOptions::default()).unwrap();
        assert!(!again.fetched, "the commit was there: no second fetch");
        assert_eq!(again.sha, sha);
    }
}
