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

mod commit;
mod lock;
#[cfg(test)]
mod tests;

use commit::commit;
pub use lock::LedgerLock;

/// Scratch area for signer directories being assembled, inside the git directory.
const SCRATCH: &str = "gitian-sign";

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
        // git's lock files that no process holds open: a killed run's (one held open is
        // reported when the commit meets it).
        r.remove_stale_locks();
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
