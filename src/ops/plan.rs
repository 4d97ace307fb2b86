//! What a build will do, decided before anything slow or stateful happens: the descriptor read
//! and checked, every `-c`/`-u` pair matched to a remote of the descriptor and every commit
//! resolved against its remote (`git ls-remote`), the base images each suite x architecture
//! needs. `build` checks this before it chooses a backend, probes KVM or takes the lock;
//! `build --dry-run` prints it and stops.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::core::descriptor::{Descriptor, DescriptorError};
use crate::guest::process::{self, Invocation};
use crate::ops::base;

/// One remote as it will be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRemote {
    /// Folder under `inputs/`.
    pub dir: String,
    /// Where from (`-u` wins over the descriptor).
    pub url: String,
    /// What to check out (the descriptor's commit wins over `-c`, as gbuild).
    pub commit: String,
    /// How the commit was found: `refs/tags/v1 -> <id>`, `a full commit id`, ...
    pub resolved: String,
}

/// One base image the build boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBase {
    /// Suite.
    pub suite: String,
    /// Descriptor architecture.
    pub arch: String,
    /// The image folder.
    pub dir: PathBuf,
    /// Whether it is there and complete.
    pub present: bool,
    /// The command that makes it.
    pub make_base: String,
}

/// A checked build.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The descriptor.
    pub descriptor: Descriptor,
    /// Remotes, in descriptor order.
    pub remotes: Vec<PlannedRemote>,
    /// Base images, suite-major as the build runs them.
    pub bases: Vec<PlannedBase>,
}

/// A build that cannot start.
#[derive(Debug, Error)]
pub enum PlanError {
    /// The descriptor file could not be read.
    #[error("cannot read descriptor {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The descriptor is invalid.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// A `-c`/`-u` pair names no remote of the descriptor.
    #[error(
        "{flag} {dir}=...: the descriptor has no remote with dir '{dir}' (its remotes: {known})"
    )]
    UnknownDir {
        /// `-c` or `-u`.
        flag: &'static str,
        /// The folder named.
        dir: String,
        /// The descriptor's remote folders.
        known: String,
    },
    /// A pair without `=`.
    #[error("{flag} '{pair}' is not DIR=VALUE")]
    BadPair {
        /// `-c` or `-u`.
        flag: &'static str,
        /// The text.
        pair: String,
    },
    /// No commit for a remote.
    #[error("remote '{dir}' has no commit: the descriptor gives none and -c does not name it")]
    NoCommit {
        /// The remote.
        dir: String,
    },
    /// No URL for a remote.
    #[error("remote '{dir}' has no url: the descriptor gives none and -u does not name it")]
    NoUrl {
        /// The remote.
        dir: String,
    },
    /// The commit is not found at the URL.
    #[error("remote '{dir}': '{commit}' is neither a branch, a tag nor a full commit id of {url}")]
    Unresolved {
        /// The remote.
        dir: String,
        /// The commit asked for.
        commit: String,
        /// The URL.
        url: String,
    },
    /// The URL cannot be read.
    #[error("remote '{dir}': cannot list {url}: {message}")]
    Unreachable {
        /// The remote.
        dir: String,
        /// The URL.
        url: String,
        /// git's words.
        message: String,
    },
}

/// What `plan` needs from the command line.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The descriptor file.
    pub descriptor: &'a Path,
    /// `-c` pairs.
    pub commits: &'a [(String, String)],
    /// `-u` pairs.
    pub urls: &'a [(String, String)],
    /// Folder of base images.
    pub base_dir: &'a Path,
    /// Whether `--base-dir` was given (the make-base hint repeats it).
    pub base_dir_given: bool,
    /// `--skip-fetch`: commits are resolved in the existing clones at build time, not here.
    pub skip_fetch: bool,
}

/// Reads and checks everything a build needs before it starts.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let text = std::fs::read(input.descriptor).map_err(|source| PlanError::Read {
        path: input.descriptor.display().to_string(),
        source,
    })?;
    let descriptor = Descriptor::parse_bytes(&input.descriptor.to_string_lossy(), &text)?;
    let known: Vec<&str> = descriptor.remotes.iter().map(|r| r.dir.as_str()).collect();
    for (flag, pairs) in [("-c", input.commits), ("-u", input.urls)] {
        for (dir, value) in pairs {
            if value.is_empty() {
                return Err(PlanError::BadPair { flag, pair: dir.clone() });
            }
            if !known.contains(&dir.as_str()) {
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                return Err(PlanError::UnknownDir { flag, dir: dir.clone(), known });
            }
        }
    }
    let mut remotes = Vec::new();
    for r in &descriptor.remotes {
        let pick = |pairs: &[(String, String)]| {
            pairs.iter().find(|(d, _)| *d == r.dir).map(|(_, v)| v.clone())
        };
        let commit = r
            .commit
            .clone()
            .or_else(|| pick(input.commits))
            .ok_or_else(|| PlanError::NoCommit { dir: r.dir.clone() })?;
        let url = pick(input.urls)
            .or_else(|| r.url.clone())
            .ok_or_else(|| PlanError::NoUrl { dir: r.dir.clone() })?;
        let resolved = if input.skip_fetch {
            "not checked (--skip-fetch: resolved in the existing clone)".to_string()
        } else {
            resolve(&r.dir, &url, &commit)?
        };
        remotes.push(PlannedRemote { dir: r.dir.clone(), url, commit, resolved });
    }
    let mut bases = Vec::new();
    for suite in &descriptor.suites {
        for arch in &descriptor.architectures {
            let dir = base::image_dir(input.base_dir, &descriptor.distro, suite, arch);
            bases.push(PlannedBase {
                suite: suite.clone(),
                arch: arch.clone(),
                present: base::is_complete(&dir),
                make_base: base::make_base_command(
                    input.base_dir_given.then_some(input.base_dir),
                    &descriptor.distro,
                    suite,
                    arch,
                ),
                dir,
            });
        }
    }
    Ok(Plan { descriptor, remotes, bases })
}

/// Finds `commit` at `url`: a full commit id is fetched by id; a name must be a branch or tag
/// the remote lists; a short id is looked up in a local repository.
fn resolve(dir: &str, url: &str, commit: &str) -> Result<String, PlanError> {
    if commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok("a full commit id (fetched by id)".to_string());
    }
    let listed = process::run(
        &Invocation::new("git").args(["ls-remote", "--", url]).env("GIT_TERMINAL_PROMPT", "0"),
    )
    .map_err(|e| PlanError::Unreachable {
        dir: dir.to_string(),
        url: url.to_string(),
        message: e.to_string(),
    })?;
    if listed.code != 0 {
        let message = String::from_utf8_lossy(&listed.stderr).trim().to_string();
        return Err(PlanError::Unreachable { dir: dir.to_string(), url: url.to_string(), message });
    }
    let text = listed.stdout_text();
    if let Some(found) = match_ref(&text, commit) {
        return Ok(found);
    }
    // A short id: only a repository on this machine can say which commit it is.
    let local = Path::new(url);
    if local.is_dir() {
        let out = process::run(&Invocation::new("git").arg("-C").arg(local).args([
            "rev-parse",
            "--verify",
            "-q",
            &format!("{commit}^{{commit}}"),
        ]));
        if let Ok(out) = out
            && out.code == 0
        {
            return Ok(format!("commit {}", out.stdout_text().trim()));
        }
    }
    Err(PlanError::Unresolved {
        dir: dir.to_string(),
        commit: commit.to_string(),
        url: url.to_string(),
    })
}

/// The `git ls-remote` line naming `commit` as a tag, a branch or a ref, as git would try them.
pub fn match_ref(ls_remote: &str, commit: &str) -> Option<String> {
    let refs: Vec<(&str, &str)> =
        ls_remote.lines().filter_map(|l| l.split_once('\t')).map(|(id, name)| (name, id)).collect();
    let candidates = [
        commit.to_string(),
        format!("refs/{commit}"),
        format!("refs/tags/{commit}"),
        format!("refs/heads/{commit}"),
    ];
    for c in &candidates {
        // An annotated tag's commit is on its `^{}` line.
        let peeled = format!("{c}^{{}}");
        if let Some((name, id)) =
            refs.iter().find(|(n, _)| *n == peeled).or_else(|| refs.iter().find(|(n, _)| n == c))
        {
            return Some(format!("{} -> {id}", name.trim_end_matches("^{}")));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_matched_as_git_does() {
        let ls = "aaa\tHEAD\nbbb\trefs/heads/main\nccc\trefs/tags/v1\nddd\trefs/tags/v1^{}\n";
        assert_eq!(match_ref(ls, "main").as_deref(), Some("refs/heads/main -> bbb"));
        assert_eq!(match_ref(ls, "v1").as_deref(), Some("refs/tags/v1 -> ddd"));
        assert_eq!(match_ref(ls, "HEAD").as_deref(), Some("HEAD -> aaa"));
        assert_eq!(match_ref(ls, "v2"), None);
    }
}
