//! `sign`: a build result turned into a signed attestation in the sigs repository, and a commit
//! of exactly those files.
//!
//! Invariants:
//! - The assert is gsign's bytes for the result (spec §4); the signature is made over exactly
//!   the bytes written. A signed file is never re-serialized.
//! - An existing attestation with other bytes (on disk or at HEAD) is never replaced without
//!   `force`; identical bytes with a valid signature are a no-op.
//! - Files appear through [`publish::Staged`]: after a kill at any instant the signer
//!   directory is either as it was or complete (assert and its signature together). A retry
//!   finds identical bytes, checks the signature and commits what is not yet committed.
//! - Signers of one ledger take turns ([`LedgerLock`]): two `sign` runs at once both commit,
//!   neither loses the other's attestation, and the index stays HEAD plus what is staged
//!   by the user. A commit that another writer (a plain `git commit`) beat to the branch is
//!   made again on the new HEAD.

use crate::process::Invocation;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::core::assertion::{self, Document};
use crate::core::descriptor::Descriptor;
use crate::core::layout::{self, BadName};
use crate::core::{manifest::Manifest, sums};
use crate::git::repo::{self, Repo, RepoError};
use crate::gpg::{GpgError, GpgSigner};
use crate::ops::publish::{self, Staged};

/// Scratch area for signer directories being assembled, inside the git directory.
const SCRATCH: &str = "gitian-sign";

/// The lock file signers of one ledger take turns on, in the common git directory.
const LOCK: &str = "gitian-sign.lock";

/// How many times a commit is made again when another writer moved the branch meanwhile.
const COMMIT_ATTEMPTS: usize = 5;

/// Held from reading the signer directory to moving the branch: one `sign` at a time per
/// ledger. An flock: the kernel releases it when the process ends, however it ends, so a
/// kill never leaves the ledger locked (the empty file stays, as git's own `config` does).
#[derive(Debug)]
pub struct LedgerLock {
    _file: std::fs::File,
}

impl LedgerLock {
    /// Waits for the ledger of `repo` to be free and takes it.
    pub fn take(repo: &Repo) -> Result<Self, SignError> {
        let path = repo.common_dir().join(LOCK);
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

/// The git config key naming the default sigs repository (`crate::config::SIGS`).
pub const CONFIG_SIGS: &str = crate::config::SIGS.name;

/// Attestation layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `<name>-build.assert` + binary `.sig` (gitian.sigs).
    Gitian,
    /// `noncodesigned.SHA256SUMS` / `all.SHA256SUMS` + armored `.asc` (guix.sigs).
    Guix,
}

/// What to sign and where.
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// Descriptors whose results are attested (gitian: exactly one).
    pub descriptors: Vec<PathBuf>,
    /// Guix: descriptors of code-signed results (they make `all.SHA256SUMS`).
    pub codesigned: Vec<PathBuf>,
    /// Signer directory name, and the gpg identity unless `key` is given.
    pub signer: String,
    /// The gpg identity to sign with (`-u`), when it is not the signer name.
    pub key: Option<String>,
    /// Release directory name.
    pub release: String,
    /// Destination; `None` for the repository around `cwd` (the CLI resolves git config
    /// `gitian.sigs` into this field, through git's own config resolution).
    pub destination: Option<PathBuf>,
    /// gsign's `--signing-program`: `<prog> -u <signer> <file>` instead of signing in process.
    pub signing_program: Option<String>,
    /// Layout.
    pub format: Format,
    /// Replace an attestation with other bytes.
    pub force: bool,
    /// GPG-sign the commit (also when git config `commit.gpgSign` is true).
    pub sign_commit: bool,
    /// Do not commit.
    pub no_commit: bool,
    /// A paragraph for the commit message body (the CLI says there that sign commits, until the
    /// user chose with `gitian.commit`).
    pub commit_note: Option<String>,
    /// Where `result/` is.
    pub cwd: PathBuf,
    /// `$HOME`, to expand `~/` in git config paths.
    pub home: Option<PathBuf>,
}

/// What happened to one attestation file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// New file.
    Written,
    /// Replaced other bytes (`force`, or a stale signature).
    Replaced,
    /// Already there with these bytes.
    Unchanged,
}

/// One attestation file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    /// Its path.
    pub path: PathBuf,
    /// What happened.
    pub state: FileState,
}

/// What happened in git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The destination is not in a git work tree (or the files are ignored there).
    NotARepository,
    /// `--no-commit`.
    Skipped,
    /// A signature is missing (sign-later mode): nothing committed yet.
    AwaitingSignature,
    /// HEAD already has these bytes.
    AlreadyCommitted,
    /// A new commit.
    Committed {
        /// Its id.
        id: String,
        /// Its subject.
        subject: String,
        /// Whether it carries a GPG signature.
        signed: bool,
    },
}

/// The result of [`sign`].
#[derive(Debug, Clone)]
pub struct SignOutcome {
    /// The signer directory.
    pub dir: PathBuf,
    /// The attestation files and their signatures.
    pub files: Vec<FileOutcome>,
    /// Signature files still to be made (sign later).
    pub unsigned: Vec<PathBuf>,
    /// The key that signed in process: fingerprint and user id.
    pub signed_with: Option<(String, String)>,
    /// The git side.
    pub commit: CommitOutcome,
}

/// Could not sign.
#[derive(Debug, Error)]
pub enum SignError {
    /// A name that cannot be a path component.
    #[error(transparent)]
    BadName(#[from] BadName),
    /// The descriptor cannot be read.
    #[error("{path}:{message}")]
    Descriptor {
        /// Descriptor path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// No build result.
    #[error("{path} does not exist")]
    NoResult {
        /// The missing file.
        path: String,
    },
    /// The build result does not parse.
    #[error("{path}:{line}: {message}")]
    BadResult {
        /// The result file.
        path: String,
        /// Line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An existing attestation has other bytes.
    #[error("{path} already exists with different content")]
    Differs {
        /// The existing file.
        path: String,
        /// `git diff`-style difference, existing -> new.
        diff: String,
        /// Where the other bytes are: the work tree or HEAD.
        committed: bool,
    },
    /// No destination known.
    #[error("no sigs repository: not in a git repository and git config {CONFIG_SIGS} is not set")]
    NoDestination,
    /// Wrong combination of arguments.
    #[error("{0}")]
    Usage(String),
    /// gpg failed.
    #[error(transparent)]
    Gpg(#[from] GpgError),
    /// git failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The signing program failed.
    #[error("signing program failed ({status}): {command}")]
    Program {
        /// The shell command.
        command: String,
        /// Its exit status.
        status: String,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SignError + '_ {
    move |source| SignError::Io { path: path.display().to_string(), source }
}

/// The two descriptor fields gsign reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorInfo {
    /// `name`.
    pub name: String,
    /// `optionals`, `None` when absent.
    pub optionals: Option<Vec<String>>,
}

/// Reads `name` and `optionals` from a descriptor, checked as `build` checks it.
pub fn read_descriptor(path: &Path) -> Result<DescriptorInfo, SignError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| SignError::Descriptor { path: shown.clone(), message: format!(" {e}") })?;
    let d = Descriptor::parse_bytes(&shown, &bytes).map_err(|e| SignError::Descriptor {
        path: shown.clone(),
        message: format!("{}: {}", e.line, e.message),
    })?;
    layout::check_component("descriptor", &d.name)?;
    Ok(DescriptorInfo { name: d.name, optionals: d.optionals })
}

/// `result/<name>-res.yml` under `cwd`, parsed.
fn read_result(cwd: &Path, name: &str) -> Result<Document, SignError> {
    let rel = format!("result/{name}-res.yml");
    let path = cwd.join(&rel);
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| SignError::BadResult {
            path: rel.clone(),
            line: 1,
            message: "not UTF-8".into(),
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SignError::NoResult { path: rel });
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    Document::parse(&text).map_err(|e| SignError::BadResult {
        path: rel,
        line: e.line,
        message: e.message,
    })
}

/// The assert bytes gsign writes for a result (spec §4).
pub fn assert_bytes(result: &Document, release: &str, info: &DescriptorInfo) -> Vec<u8> {
    assertion::to_assert(result, release, &info.name, info.optionals.as_deref())
        .render()
        .into_bytes()
}

/// A SHA256SUMS file over the outputs of `results` as guix-attest writes it: every
/// `hash  path` line of each `out_manifest`, paths reduced to their base name, duplicates
/// dropped, sorted by name.
pub fn sums_bytes(results: &[Document]) -> Vec<u8> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for doc in results {
        for e in Manifest::parse(doc.str("out_manifest").unwrap_or("")).entries {
            let base = e.path.rsplit('/').next().unwrap_or(&e.path).to_string();
            if !entries.iter().any(|(h, n)| *h == e.hash && *n == base) {
                entries.push((e.hash, base));
            }
        }
    }
    sums::render(&entries).into_bytes()
}

/// Where attestations go, and the repository they are committed in (if any).
fn destination(req: &SignRequest) -> Result<(PathBuf, Option<Repo>), SignError> {
    let dest = match &req.destination {
        Some(d) => req.cwd.join(d),
        None => match Repo::discover(&req.cwd) {
            Some(r) => r.workdir().to_path_buf(),
            None => return Err(SignError::NoDestination),
        },
    };
    if repo::is_bare_repository(&dest) {
        return Err(SignError::Usage(format!(
            "{} is a bare repository: sign into a clone of it and push",
            dest.display()
        )));
    }
    std::fs::create_dir_all(&dest).map_err(io_err(&dest))?;
    Ok((dest.clone(), Repo::discover(&dest)))
}

/// One file of an attestation and the bytes it must hold.
struct Wanted {
    name: String,
    bytes: Vec<u8>,
    sig_name: String,
}

/// Signs a build result into the sigs repository.
pub fn sign(req: &SignRequest) -> Result<SignOutcome, SignError> {
    layout::check_component("signer", &req.signer)?;
    layout::check_release(&req.release)?;
    let (wanted, what) = match req.format {
        Format::Gitian => gitian_wanted(req)?,
        Format::Guix => guix_wanted(req)?,
    };

    let (dest, repo) = destination(req)?;
    let _turn = repo.as_ref().map(LedgerLock::take).transpose()?;
    let dir = dest.join(&req.release).join(&req.signer);
    if let Some(r) = &repo {
        publish::clean_stale(&r.git_dir().join(SCRATCH));
        publish::clean_git2_leftovers(r.common_dir(), publish::GIT2_LEFTOVER_AGE);
    }
    let armor = req.format == Format::Guix;
    let identity = req.key.clone().unwrap_or_else(|| req.signer.clone());
    let mut gpg: Option<GpgSigner> = None;

    // The files as they are now: data and signature of each attestation, in that order.
    let names: Vec<&str> =
        wanted.iter().flat_map(|w| [w.name.as_str(), w.sig_name.as_str()]).collect();
    let before: Vec<Option<Vec<u8>>> =
        names.iter().map(|n| read_opt(&dir.join(n))).collect::<Result<_, _>>()?;

    refuse_differing(req, repo.as_ref(), &dir, &wanted, &before)?;

    let (need_data, need_sig) = missing(req, &wanted, &before, &identity, &mut gpg);

    let mut unsigned = Vec::new();
    let mut signed_with = None;
    if !need_data.is_empty() || !need_sig.is_empty() {
        let scratch = repo.as_ref().map(|r| r.git_dir().join(SCRATCH));
        let mut staged = Staged::new(&dir, scratch.as_deref()).map_err(io_err(&dir))?;
        for w in &need_data {
            staged.write(&w.name, &w.bytes).map_err(io_err(&dir.join(&w.name)))?;
        }
        for w in &need_sig {
            // An old signature never stays next to bytes it was not made for.
            staged.remove(&w.sig_name).map_err(io_err(&dir.join(&w.sig_name)))?;
            match &req.signing_program {
                None => {
                    let g = match &mut gpg {
                        Some(g) => g,
                        None => gpg.insert(GpgSigner::new(&identity)?),
                    };
                    let sig = g.sign_detached(&w.bytes, armor)?;
                    signed_with = Some((g.fingerprint(), g.user_id()));
                    staged.write(&w.sig_name, &sig).map_err(io_err(&dir.join(&w.sig_name)))?;
                }
                Some(program) => {
                    run_program(program, &req.signer, &staged.path(&w.name))?;
                    if staged.exists(&w.sig_name) {
                        staged.note_written(&w.sig_name);
                    } else {
                        unsigned.push(dir.join(&w.sig_name));
                    }
                }
            }
        }
        staged.publish().map_err(io_err(&dir))?;
    }

    let files = file_outcomes(&dir, &names, &before)?;

    let commit = commit(req, repo.as_ref(), &wanted, &dir, &what, &unsigned, &identity, &mut gpg)?;
    Ok(SignOutcome { dir, files, unsigned, signed_with, commit })
}

/// What is missing: data files with other bytes than `wanted`, signatures absent or not
/// made by `identity` over them. `gpg` is opened when a signature must be checked.
fn missing<'w>(
    req: &SignRequest,
    wanted: &'w [Wanted],
    before: &[Option<Vec<u8>>],
    identity: &str,
    gpg: &mut Option<GpgSigner>,
) -> (Vec<&'w Wanted>, Vec<&'w Wanted>) {
    let mut need_data = Vec::new();
    let mut need_sig = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        let data_ok = before[2 * i].as_deref() == Some(&w.bytes[..]);
        let sig_ok = data_ok
            && match &before[2 * i + 1] {
                None => false,
                Some(sig) => {
                    if gpg.is_none() {
                        *gpg = GpgSigner::new(identity).ok();
                    }
                    match gpg {
                        Some(g) => g.made_this(&w.bytes, sig),
                        // A sign-later machine may have no secret key: keep what is there.
                        None => req.signing_program.is_some(),
                    }
                }
            };
        if !data_ok {
            need_data.push(w);
        }
        if !sig_ok {
            need_sig.push(w);
        }
    }
    (need_data, need_sig)
}

/// Gitian layout: one descriptor's result as gsign's assert.
fn gitian_wanted(req: &SignRequest) -> Result<(Vec<Wanted>, String), SignError> {
    let [descriptor] = req.descriptors.as_slice() else {
        return Err(SignError::Usage("the gitian format signs one descriptor at a time".into()));
    };
    if !req.codesigned.is_empty() {
        return Err(SignError::Usage("--codesigned needs --format guix".into()));
    }
    let info = read_descriptor(&req.cwd.join(descriptor))?;
    let result = read_result(&req.cwd, &info.name)?;
    let name = layout::assert_file(&info.name);
    let bytes = assert_bytes(&result, &req.release, &info);
    Ok((vec![Wanted { sig_name: format!("{name}.sig"), name, bytes }], info.name))
}

/// Refuses, before anything is touched, an existing attestation with other bytes in the work
/// tree (`before`, data and signature of each wanted file in turn) or committed at HEAD,
/// unless `force`.
fn refuse_differing(
    req: &SignRequest,
    repo: Option<&Repo>,
    dir: &Path,
    wanted: &[Wanted],
    before: &[Option<Vec<u8>>],
) -> Result<(), SignError> {
    for (i, w) in wanted.iter().enumerate() {
        let at_head = match repo {
            Some(r) => r.head_blob(&r.rel_path(&dir.join(&w.name))?),
            None => None,
        };
        for (old, committed) in [(&before[2 * i], false), (&at_head, true)] {
            if let Some(old) = old.as_ref().filter(|o| **o != w.bytes)
                && !req.force
            {
                return Err(SignError::Differs {
                    path: dir.join(&w.name).display().to_string(),
                    diff: repo::unified_diff(
                        old,
                        &w.bytes,
                        &format!("{}/{}/{}", req.release, req.signer, w.name),
                    ),
                    committed,
                });
            }
        }
    }
    Ok(())
}

/// What happened to each file: compared with its bytes `before`.
fn file_outcomes(
    dir: &Path,
    names: &[&str],
    before: &[Option<Vec<u8>>],
) -> Result<Vec<FileOutcome>, SignError> {
    let mut files = Vec::new();
    for (name, old) in names.iter().zip(before) {
        let path = dir.join(name);
        let state = match (old, read_opt(&path)?) {
            (_, None) => continue,
            (None, Some(_)) => FileState::Written,
            (Some(old), Some(new)) if *old == new => FileState::Unchanged,
            (Some(_), Some(_)) => FileState::Replaced,
        };
        files.push(FileOutcome { path, state });
    }
    Ok(files)
}

/// Guix layout: noncodesigned over the plain results, all over everything when code-signed
/// results are given.
fn guix_wanted(req: &SignRequest) -> Result<(Vec<Wanted>, String), SignError> {
    if req.descriptors.is_empty() {
        return Err(SignError::Usage("no descriptor given".into()));
    }
    let load = |paths: &[PathBuf]| -> Result<Vec<Document>, SignError> {
        paths
            .iter()
            .map(|d| {
                let info = read_descriptor(&req.cwd.join(d))?;
                read_result(&req.cwd, &info.name)
            })
            .collect()
    };
    let plain = load(&req.descriptors)?;
    let signed = load(&req.codesigned)?;
    let mut wanted = vec![Wanted {
        name: "noncodesigned.SHA256SUMS".into(),
        bytes: sums_bytes(&plain),
        sig_name: "noncodesigned.SHA256SUMS.asc".into(),
    }];
    let mut what = "noncodesigned".to_string();
    if !signed.is_empty() {
        let everything: Vec<Document> = plain.into_iter().chain(signed).collect();
        wanted.push(Wanted {
            name: "all.SHA256SUMS".into(),
            bytes: sums_bytes(&everything),
            sig_name: "all.SHA256SUMS.asc".into(),
        });
        what = "all".to_string();
    }
    if wanted.iter().any(|w| w.bytes.is_empty()) {
        return Err(SignError::Usage("the results list no output files to attest".into()));
    }
    Ok((wanted, what))
}

/// The file's bytes, `None` when it does not exist.
fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, SignError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// gsign's `#{program} -u "#{signer}" "#{assert}"`, with the signer and path passed as
/// arguments rather than pasted into the shell text.
fn run_program(program: &str, signer: &str, file: &Path) -> Result<(), SignError> {
    let script = format!("{program} -u \"$1\" \"$2\"");
    let inv = Invocation::new("sh").arg("-c").arg(&script).arg("sh").arg(signer).arg(file);
    let status = crate::process::run_interactive(&inv).map_err(|e| match e {
        crate::process::ProcessError::Spawn { source, .. } => io_err(Path::new("sh"))(source),
        other => io_err(Path::new("sh"))(io::Error::other(other.to_string())),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(SignError::Program {
            command: format!("{program} -u \"{signer}\" \"{}\"", file.display()),
            status: status.to_string(),
        })
    }
}

/// Commits the attestation files (all of them, signatures included) when the destination is
/// a git work tree that does not ignore them.
#[allow(clippy::too_many_arguments)]
fn commit(
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
fn commit_again_if_moved<T>(
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

#[cfg(test)]
mod tests {
    use super::*;

    const RES: &str = "--- !!omap\n- out_manifest: |\n    aaaa  demo-1.0.tar.gz\n    bbbb  src/demo-1.0-src.tar.gz\n- in_manifest: |-\n    cccc  demo-desc.yml\n    git:0123 demo\n- base_manifests: !!omap\n  - bookworm-amd64: |\n      dddd  base.deb\n      eeee  bash.deb\n- cache_common_manifest: ''\n- cache_package_manifest: ''\n";

    #[test]
    fn assert_is_gsign_bytes() {
        let doc = Document::parse(RES).unwrap();
        let info = DescriptorInfo { name: "demo-linux-1.0".into(), optionals: None };
        let out = String::from_utf8(assert_bytes(&doc, "v1", &info)).unwrap();
        assert_eq!(
            out,
            format!("{RES}- release: v1\n- name: demo-linux-1.0\n- type: build\n- optionals:\n")
        );
        let info =
            DescriptorInfo { name: "demo-linux-1.0".into(), optionals: Some(vec!["a.dmg".into()]) };
        let out = String::from_utf8(assert_bytes(&doc, "v1", &info)).unwrap();
        assert!(out.ends_with("- type: build\n- optionals:\n  - a.dmg\n"), "{out}");
    }

    #[test]
    fn sums_use_base_names_sorted_without_duplicates() {
        let doc = Document::parse(RES).unwrap();
        let out = String::from_utf8(sums_bytes(&[doc.clone(), doc])).unwrap();
        // Bytewise by name: '-' sorts before '.'.
        assert_eq!(out, "bbbb  demo-1.0-src.tar.gz\naaaa  demo-1.0.tar.gz\n");
    }

    #[test]
    fn descriptor_optionals_absent_or_list() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("d.yml");
        let base = "---\nname: demo\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\nreference_datetime: \"2020-01-01 00:00:00\"\nremotes: []\nfiles: []\n";
        std::fs::write(&p, base).unwrap();
        assert_eq!(read_descriptor(&p).unwrap().optionals, None);
        std::fs::write(&p, format!("{base}optionals:\n- a.dmg\n")).unwrap();
        assert_eq!(read_descriptor(&p).unwrap().optionals, Some(vec!["a.dmg".to_string()]));
        std::fs::write(&p, "suites: [x]\n").unwrap();
        let e = read_descriptor(&p).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:1: ", p.display())), "{e}");
    }

    fn git_error(code: git2::ErrorCode) -> RepoError {
        RepoError::Git { context: "cannot move refs/heads/main".into(), code, source: None }
    }

    /// A branch another writer moved is committed to again, a few times at most; any other
    /// error is not retried.
    #[test]
    fn a_moved_branch_is_committed_to_again() {
        let mut calls = 0;
        let r = commit_again_if_moved(|| {
            calls += 1;
            if calls < 3 { Err(git_error(git2::ErrorCode::Modified)) } else { Ok(calls) }
        });
        assert_eq!(r.unwrap(), 3);
        let mut calls = 0;
        let r: Result<(), _> = commit_again_if_moved(|| {
            calls += 1;
            Err(git_error(git2::ErrorCode::Modified))
        });
        assert!(r.unwrap_err().is_moved());
        assert_eq!(calls, COMMIT_ATTEMPTS);
        let mut calls = 0;
        let r: Result<(), _> = commit_again_if_moved(|| {
            calls += 1;
            Err(git_error(git2::ErrorCode::Locked))
        });
        assert!(r.unwrap_err().is_locked());
        assert_eq!(calls, 1);
    }
}
