//! The sigs repository's git hooks: installing our block into `pre-commit` and `pre-push`
//! (wherever git looks for hooks), removing it again, and the checks the hooks run.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use thiserror::Error;

use crate::core::assertion::Document;
use crate::core::consensus::GroupReport;
pub use crate::core::consensus::push::Judged;
use crate::core::consensus::push::judge_push;
use crate::core::hook_script::{self, Edit, HookScriptError};
use crate::core::policy::Policy;
use crate::core::sums;
use crate::git::push::CommitId;
use crate::git::repo::{Repo, RepoError};
use crate::ops::verify::{self, LedgerSpec, Query, SIG_EXTS, VerifyError};
use crate::ops::{publish, push_guard};

/// The hook templates shipped in `hooks/`.
pub const HOOKS: [(&str, &str); 2] = [
    ("pre-commit", include_str!("../../hooks/pre-commit")),
    ("pre-push", include_str!("../../hooks/pre-push")),
];

/// A hook operation failed.
#[derive(Debug, Error)]
pub enum HooksError {
    /// A hook file cannot take our block.
    #[error("{path}: {source}")]
    Script {
        /// The hook file.
        path: String,
        /// Why.
        #[source]
        source: HookScriptError,
    },
    /// File system.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// git.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The verification itself could not run.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// Unusable input from git.
    #[error("{0}")]
    Input(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> HooksError + '_ {
    move |source| HooksError::Io { path: path.display().to_string(), source }
}

/// What happened to one hook file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookAction {
    /// The file was created.
    Created,
    /// Our block was added to, or updated in, the user's file.
    Updated,
    /// Nothing to do.
    Unchanged,
    /// Our block was removed; the user's content stays.
    Stripped,
    /// The file held only our block and was deleted.
    Removed,
}

/// One hook file and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookChange {
    /// The hook file.
    pub path: PathBuf,
    /// What happened.
    pub action: HookAction,
}

fn read_hook(path: &Path) -> Result<Option<String>, HooksError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| HooksError::Script {
            path: path.display().to_string(),
            source: HookScriptError::NotShell { shebang: "not UTF-8 text".into() },
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// The mode a hook gets: its old one (0755 for a new file), made executable where it is
/// readable when nobody could execute it (git skips such a hook).
fn hook_mode(path: &Path) -> u32 {
    let mut mode =
        std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o755);
    if mode & 0o111 == 0 {
        mode |= 0o100 | ((mode & 0o044) >> 2);
    }
    mode
}

/// Writes a hook through a temp file that has its final mode before the rename, so a kill at
/// any instant leaves the old hook or the new, executable one.
fn write_hook(path: &Path, text: &str) -> Result<(), HooksError> {
    publish::write_file_mode(path, text.as_bytes(), hook_mode(path)).map_err(io_err(path))
}

/// Whether a hook file exists but nobody may execute it (a kill of an older version between
/// its rename and its chmod left it so); `install` repairs it.
fn not_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 == 0)
}

/// Puts our block into the `pre-commit` and `pre-push` hooks of `repo`.
pub fn install(repo: &Repo, home: Option<&Path>) -> Result<Vec<HookChange>, HooksError> {
    let dir = repo.hooks_dir(home);
    // What killed runs left: our temporary hook files, libgit2's temporary files.
    publish::clean_stale_tmp(&dir);
    publish::clean_git2_leftovers(repo.common_dir(), publish::GIT2_LEFTOVER_AGE);
    let mut out = Vec::new();
    // Check every file first, so a refusal leaves all of them untouched.
    let mut edits = Vec::new();
    for (name, template) in HOOKS {
        let path = dir.join(name);
        let script_err = |source| HooksError::Script { path: path.display().to_string(), source };
        let block = hook_script::block_of(template).map_err(script_err)?;
        let existing = read_hook(&path)?;
        let edit = hook_script::install(existing.as_deref(), &block).map_err(script_err)?;
        edits.push((path, existing.is_some(), edit));
    }
    for (path, existed, edit) in edits {
        let action = match edit {
            Edit::Unchanged if not_executable(&path) => {
                let mode = std::fs::Permissions::from_mode(hook_mode(&path));
                std::fs::set_permissions(&path, mode).map_err(io_err(&path))?;
                HookAction::Updated
            }
            Edit::Unchanged => HookAction::Unchanged,
            Edit::Write(text) => {
                std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                write_hook(&path, &text)?;
                if existed { HookAction::Updated } else { HookAction::Created }
            }
            Edit::Remove => unreachable!("install never removes"),
        };
        out.push(HookChange { path, action });
    }
    Ok(out)
}

/// Takes our block out of the hooks, leaving the user's own lines as they were.
pub fn uninstall(repo: &Repo, home: Option<&Path>) -> Result<Vec<HookChange>, HooksError> {
    let dir = repo.hooks_dir(home);
    let mut out = Vec::new();
    for (name, _) in HOOKS {
        let path = dir.join(name);
        let Some(existing) = read_hook(&path)? else {
            out.push(HookChange { path, action: HookAction::Unchanged });
            continue;
        };
        let edit = hook_script::uninstall(&existing)
            .map_err(|source| HooksError::Script { path: path.display().to_string(), source })?;
        let action = match edit {
            Edit::Unchanged => HookAction::Unchanged,
            Edit::Write(text) => {
                write_hook(&path, &text)?;
                HookAction::Stripped
            }
            Edit::Remove => {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                HookAction::Removed
            }
        };
        out.push(HookChange { path, action });
    }
    Ok(out)
}

/// Whether a path names an attestation (a signed file) and which signature names go with it.
fn signed_kind(path: &str) -> Option<&'static [&'static str]> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if file.ends_with(".assert") {
        Some(&["sig", "asc"])
    } else if sums::kind_of(file).is_some() {
        Some(&["asc"])
    } else {
        None
    }
}

/// Why a staged attestation cannot be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The staged file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Checks the staged attestations: each parses, and has its signature staged with it.
pub fn pre_commit(repo: &Repo) -> Result<Vec<Problem>, HooksError> {
    let staged = repo.staged()?;
    let present: BTreeSet<&str> =
        staged.iter().filter(|s| s.blob.is_some()).map(|s| s.path.as_str()).collect();
    let mut problems = Vec::new();
    for s in &staged {
        let (Some(blob), Some(sig_exts)) = (&s.blob, signed_kind(&s.path)) else { continue };
        let problem = |message: String| Problem { path: s.path.clone(), message };
        match std::str::from_utf8(blob) {
            Err(_) => problems.push(problem("is not UTF-8 text".into())),
            Ok(text) if s.path.ends_with(".assert") => match Document::parse(text) {
                Err(e) => problems.push(problem(format!("line {}: {}", e.line, e.message))),
                Ok(doc) if doc.str("out_manifest").is_none() => {
                    problems.push(problem("has no out_manifest".into()));
                }
                Ok(_) => {}
            },
            Ok(text) => {
                if let Some(msg) = sums_problem(text) {
                    problems.push(problem(msg));
                }
            }
        }
        if !sig_exts.iter().any(|ext| present.contains(format!("{}.{ext}", s.path).as_str())) {
            let wanted: Vec<String> = sig_exts.iter().map(|e| format!("{}.{e}", s.path)).collect();
            problems.push(problem(format!(
                "its signature is not staged with it ({})",
                wanted.join(" or ")
            )));
        }
    }
    Ok(problems)
}

/// Why a SHA256SUMS text is not `<64 hex>  <name>` lines.
fn sums_problem(text: &str) -> Option<String> {
    let m = sums::parse(text);
    if m.is_empty() {
        return Some("lists no files".into());
    }
    m.entries.iter().find_map(|e| {
        let ok = e.hash.len() == 64
            && e.hash.bytes().all(|b| b.is_ascii_hexdigit())
            && !e.path.is_empty();
        (!ok).then(|| format!("'{}' is not a `<sha256>  <file>` line", e.path))
    })
}

/// What the pre-push hook found.
#[derive(Debug, Clone)]
pub struct PrePushReport {
    /// Each pushed attestation.
    pub judged: Vec<Judged>,
    /// The verification of the touched releases at the pushed commit(s).
    pub groups: Vec<GroupReport>,
    /// Problems and warnings of the verification.
    pub problems: Vec<String>,
    /// Warnings of the verification.
    pub warnings: Vec<String>,
    /// Keys read from the ledger.
    pub keys_loaded: usize,
    /// The policy in force.
    pub policy: Policy,
}

impl PrePushReport {
    /// Whether the push may go ahead.
    pub fn passed(&self) -> bool {
        self.judged.iter().all(|j| j.refused.is_none())
    }
}

/// One line git writes to a pre-push hook's stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRef {
    /// The local ref.
    pub local_ref: String,
    /// The commit being pushed (all zeros: a deletion).
    pub local_sha: String,
    /// The remote ref.
    pub remote_ref: String,
    /// What the remote has now (all zeros: a new ref).
    pub remote_sha: String,
}

/// Parses the pre-push hook's stdin.
pub fn parse_push_lines(text: &str) -> Result<Vec<PushedRef>, HooksError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [a, b, c, d] => Ok(PushedRef {
                    local_ref: a.to_string(),
                    local_sha: b.to_string(),
                    remote_ref: c.to_string(),
                    remote_sha: d.to_string(),
                }),
                _ => Err(HooksError::Input(format!("unexpected pre-push input line: {l}"))),
            }
        })
        .collect()
}

fn is_zero(sha: &str) -> bool {
    sha.bytes().all(|b| b == b'0')
}

/// `(release, signer, signed file)` for a ledger path of an attestation or its signature.
fn attestation_of(path: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    let [release, signer, file] = parts.as_slice() else { return None };
    if verify::KEY_DIRS.contains(release) {
        return None;
    }
    let data =
        SIG_EXTS.iter().find_map(|ext| file.strip_suffix(&format!(".{ext}"))).unwrap_or(file);
    signed_kind(data)?;
    Some((release.to_string(), signer.to_string(), data.to_string()))
}

/// Checks what a push publishes: every attestation added or changed by the pushed commits
/// must have a signature that counts (good, by a key in the ledger at that commit) and the
/// outputs the other signers of its release agree on (or be the first to sign it).
pub fn pre_push(
    repo: &Repo,
    remote: &str,
    refs: &[PushedRef],
) -> Result<PrePushReport, HooksError> {
    let mut report = PrePushReport {
        judged: Vec::new(),
        groups: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        keys_loaded: 0,
        policy: Policy::default(),
    };
    for r in refs {
        if is_zero(&r.local_sha) {
            report.judged.push(refuse(push_guard::branch_deletion(&r.remote_ref)));
            continue;
        }
        let local = repo.resolve(&r.local_sha)?;
        let remote_old = match is_zero(&r.remote_sha) {
            true => None,
            false => match repo.resolve(&r.remote_sha) {
                Ok(old) => Some(old),
                Err(_) => {
                    let unknown = push_guard::unknown_remote_commit(&r.remote_ref, &r.remote_sha);
                    report.judged.push(refuse(unknown));
                    continue;
                }
            },
        };
        if let Some(old) = remote_old {
            let is_attestation = |p: &str| attestation_of(p).is_some();
            let taken = push_guard::removals_and_keys(
                repo.workdir(),
                &old.to_string(),
                &local.to_string(),
                is_attestation,
            )?;
            report.judged.extend(taken.into_iter().map(refuse));
        }
        judge_pushed(repo, remote, local, remote_old, &mut report)?;
    }
    Ok(report)
}

fn refuse((path, why): push_guard::Refusal) -> Judged {
    Judged { path, refused: Some(why), differing: Vec::new(), allowed_disagreement: false }
}

/// Verification of the releases at one revision of the repository.
fn query_at(repo: &Repo, rev: String, releases: Vec<String>) -> Query {
    Query {
        ledgers: vec![LedgerSpec::Git {
            path: repo.workdir().to_path_buf(),
            revs: vec![rev],
            all_branches: false,
        }],
        releases,
        name: None,
        keys: Vec::new(),
        extra_keys: Vec::new(),
        at: SystemTime::now(),
        threshold: None,
        compare_to: None,
        cache: Some(super::verify::default_cache()),
    }
}

/// Judges every attestation the commits up to `local` add or change (that the remote, at
/// `remote_old`, does not have), into `report`.
fn judge_pushed(
    repo: &Repo,
    remote: &str,
    local: CommitId,
    remote_old: Option<CommitId>,
    report: &mut PrePushReport,
) -> Result<(), HooksError> {
    let touched: BTreeSet<(String, String, String)> = repo
        .pushed_paths(local, remote_old, remote)?
        .iter()
        .filter_map(|p| attestation_of(p))
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let releases: BTreeSet<String> = touched.iter().map(|t| t.0.clone()).collect();
    let v = verify::verify(&query_at(repo, local.to_string(), releases.iter().cloned().collect()))?;
    // The remote's versions of the touched releases, to know who signed them (none when the
    // remote has none of them yet).
    let before = match remote_old {
        Some(old) => {
            let on_remote: Vec<String> = releases
                .into_iter()
                .filter(|r| push_guard::has_dir(repo.workdir(), old, r))
                .collect();
            match on_remote.is_empty() {
                true => Vec::new(),
                false => verify::verify(&query_at(repo, old.to_string(), on_remote))?.groups,
            }
        }
        None => Vec::new(),
    };
    for t in &touched {
        let mut j = judge_push(&v.groups, t, v.policy.allow_disagreement);
        // Another key over a builder's attestation says more than what it attests.
        if let Some(why) = push_guard::resigned_by_another_key(&before, &v.groups, t) {
            j.refused = Some(why);
            j.allowed_disagreement = false;
        }
        report.judged.push(j);
    }
    report.groups.extend(v.groups);
    report.problems.extend(v.problems);
    report.warnings.extend(v.warnings);
    report.keys_loaded = report.keys_loaded.max(v.keys_loaded);
    report.policy = v.policy;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestation_paths() {
        assert_eq!(
            attestation_of("1.0/alice/demo-build.assert.sig"),
            Some(("1.0".into(), "alice".into(), "demo-build.assert".into()))
        );
        assert_eq!(
            attestation_of("25.0/bob/all.SHA256SUMS"),
            Some(("25.0".into(), "bob".into(), "all.SHA256SUMS".into()))
        );
        assert_eq!(attestation_of("builder-keys/alice/x.assert"), None);
        assert_eq!(attestation_of("1.0/alice/README.md"), None);
        assert_eq!(attestation_of("1.0/demo-build.assert"), None);
    }

    #[test]
    fn push_lines() {
        let z = "0".repeat(40);
        let refs = parse_push_lines(&format!("refs/heads/main abc refs/heads/main {z}\n")).unwrap();
        assert_eq!(refs[0].local_sha, "abc");
        assert!(is_zero(&refs[0].remote_sha));
        assert!(parse_push_lines("a b c\n").is_err());
    }

    #[test]
    fn sums_lines_checked() {
        let h = "a".repeat(64);
        assert_eq!(sums_problem(&format!("{h}  x.tar.gz\n")), None);
        assert!(sums_problem("").is_some());
        assert!(sums_problem("abc  x.tar.gz\n").is_some());
    }
}
