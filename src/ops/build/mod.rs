//! `build`: a descriptor built in fresh guests, for every backend (through `trait Guest`).
//!
//! Gitian's flow (spec §2.2, §2.3) in the current directory with Gitian's folders: `inputs/`
//! (files and remotes), `build/` (emptied first; `build/out` gathers the outputs of every
//! suite x architecture), `result/<name>-res.yml`, `var/` (logs, build script, base manifests)
//! and `cache/` (with `enable_cache`). Differences, on purpose:
//! - every guest starts from the pristine base image, packages are installed from the mirror
//!   and then the network is gone before the script runs; nothing is dist-upgraded unless
//!   `--upgrade` is given (the base image is pinned, Gitian's was not);
//! - `base_manifests` is the base image's package manifest (from `make-base`) merged with the
//!   `.deb` files apt fetched into the guest, instead of re-downloading every installed package;
//! - a failed build leaves no result file and no guest; a second build in the same folder is
//!   refused while one runs (`var/build.lock`);
//! - which backend built it goes to `var/build-info`, not into the result (whose keys are
//!   Gitian's, so results stay comparable);
//! - with `normalize: [...]` in the descriptor (ours), the archives of those formats in
//!   `build/out` are normalised (timestamps capped at the reference time) before they are
//!   hashed, and the result ends with a `normalized:` list of those formats (see
//!   `ops::normalize::result_text` for why that key is safe for gsign and gverify).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::out_manifest::manifest_of;
use crate::core::assertion::BuildResult;
use crate::core::buildscript::in_manifest;
use crate::core::descriptor::{Descriptor, DescriptorError};
use crate::core::limits::{LimitHit, LimitSpec};
use crate::core::manifest::{Manifest, sha256_hex};
use crate::guest::process;
use crate::guest::{Guest, GuestError};
use crate::ops::base;
use crate::ops::fetch::{self, FetchOptions, RemoteSpec};
use crate::ops::{normalize, publish};

mod one;
#[cfg(test)]
mod tests;

/// What to build and how (gbuild's flags).
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The descriptor file.
    pub descriptor: PathBuf,
    /// `--commit` pairs.
    pub commits: Vec<(String, String)>,
    /// `--url` pairs.
    pub urls: Vec<(String, String)>,
    /// `-j`.
    pub num_make: u32,
    /// `--memory` (`-m`), `--processes`, `--disk`; over the descriptor's `limits`.
    pub limits: LimitSpec,
    /// `--upgrade`.
    pub upgrade: bool,
    /// `-o`.
    pub cache_read_only: bool,
    /// `--skip-fetch`, `--fetch-tags`, `--fetch-branches`.
    pub fetch: FetchOptions,
    /// `--allow-sudo`.
    pub allow_sudo: bool,
    /// Folder of base images.
    pub base_dir: PathBuf,
    /// Whether `base_dir` was given explicitly (for the make-base hint).
    pub base_dir_given: bool,
}

/// Where progress goes.
pub trait Progress {
    /// An information line (Gitian's `info`).
    fn info(&mut self, line: &str);
    /// A warning.
    fn warn(&mut self, line: &str);
}

/// What a successful build produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// `result/<name>-res.yml`.
    pub result: PathBuf,
    /// sha256 of the result file.
    pub result_sha256: String,
    /// The descriptor's name.
    pub name: String,
    /// The backend's description (`kvm (qemu, accel tcg)`).
    pub backend: String,
}

/// Why a build did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The descriptor is unusable.
    #[error("{0}")]
    Descriptor(#[from] DescriptorError),
    /// Another build holds the lock.
    #[error("another build is running in this directory{holder}")]
    Locked {
        /// The lock file.
        lock: PathBuf,
        /// ` (pid N)` when known.
        holder: String,
    },
    /// No base image for a suite/arch.
    #[error("no base image for {what} in '{dir}'")]
    MissingBase {
        /// `debian bookworm amd64`.
        what: String,
        /// Where it was looked for.
        dir: PathBuf,
        /// The command that makes it.
        command: String,
    },
    /// The build script exited non-zero.
    #[error("the build script failed with exit status {code} (log in {})", log.display())]
    ScriptFailed {
        /// Its exit status.
        code: i32,
        /// `var/build.log`.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// Package installation failed.
    #[error("{step} failed with exit status {code} (log in {})", log.display())]
    InstallFailed {
        /// What was being done.
        step: String,
        /// Its exit status.
        code: i32,
        /// `var/install.log`.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// A remote could not be fetched or checked out.
    #[error("{0}")]
    Fetch(#[from] fetch::FetchError),
    /// The guest failed.
    #[error("{0}")]
    Guest(#[from] GuestError),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted; the guest was stopped and removed")]
    Interrupted,
    /// The guest ran into one of its limits (and was stopped).
    #[error("{0}")]
    Limit(LimitHit),
    /// A file operation failed.
    #[error("{what} '{}': {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

pub(crate) fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_path_buf();
    move |source| BuildError::Io { what, path, source }
}

pub(crate) fn check_interrupt() -> Result<(), BuildError> {
    if process::interrupted() { Err(BuildError::Interrupted) } else { Ok(()) }
}

/// Reads and parses the descriptor: its bytes (hashed into the in-manifest) and its meaning.
/// (The command line checks it through `ops::plan` before taking the [`lock`], so that a
/// mistyped descriptor leaves nothing behind, not even `var/`.)
pub fn read_descriptor(path: &Path) -> Result<(Vec<u8>, Descriptor), BuildError> {
    let text = fs::read(path).map_err(io("cannot read", path))?;
    let desc = Descriptor::parse_bytes(&path.to_string_lossy(), &text)?;
    Ok((text, desc))
}

/// Holds `var/build.lock` for the duration of a build.
#[derive(Debug)]
pub struct BuildLock {
    _file: fs::File,
}

/// Takes the build lock of `workdir`, or says who holds it.
pub fn lock(workdir: &Path) -> Result<BuildLock, BuildError> {
    let var = workdir.join("var");
    fs::create_dir_all(&var).map_err(io("cannot create", &var))?;
    let path = var.join("build.lock");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("cannot open", &path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let pid = fs::read_to_string(&path).unwrap_or_default();
            let holder = if pid.trim().is_empty() {
                String::new()
            } else {
                format!(" (pid {})", pid.trim())
            };
            return Err(BuildError::Locked { lock: path, holder });
        }
        Err(fs::TryLockError::Error(e)) => return Err(io("cannot lock", &path)(e)),
    }
    file.set_len(0).map_err(io("cannot write", &path))?;
    write!(file, "{}", std::process::id()).map_err(io("cannot write", &path))?;
    Ok(BuildLock { _file: file })
}

/// Merges `sha256  file.deb` lines: the base image's manifest and the packages fetched in the
/// guest, one line per file name, sorted by file name.
pub fn merge_deb_manifests(base: &str, fetched: &str) -> String {
    let mut all = Manifest::parse(base).entries;
    all.extend(Manifest::parse(fetched).entries);
    all.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()).then(a.hash.cmp(&b.hash)));
    all.dedup();
    Manifest { entries: all }.render()
}

fn write_atomic(path: &Path, text: &str) -> Result<(), BuildError> {
    publish::write_file(path, text.as_bytes()).map_err(io("cannot write", path))
}

/// Builds the descriptor in `workdir` with `guest`. The caller holds the [`lock`].
pub fn build(
    workdir: &Path,
    opts: &BuildOptions,
    guest: &mut dyn Guest,
    progress: &mut dyn Progress,
) -> Result<BuildOutcome, BuildError> {
    let started = Instant::now();
    let (desc_text, desc) = read_descriptor(&opts.descriptor)?;
    fresh_folders(workdir, &desc)?;
    // Every base image must be there before anything slow happens.
    let bases = base_images(opts, &desc)?;
    let (in_manifest, author_date) =
        inputs_manifest(&workdir.join("inputs"), opts, &desc, &desc_text, progress)?;
    let reference =
        desc.reference_datetime.clone().or(author_date).ok_or_else(|| {
            BuildError::Other("must supply `reference_datetime` or `remotes`".into())
        })?;

    let mut base_manifests = Vec::new();
    for (suite, arch, base_path) in &bases {
        check_interrupt()?;
        progress.info(&format!("--- Building for {suite} {arch} ---"));
        let target = one::Target {
            workdir,
            opts,
            desc: &desc,
            suite,
            arch,
            base_path,
            reference: &reference,
        };
        let manifest = one::build_one(&target, guest, progress)?;
        base_manifests.push((format!("{suite}-{arch}"), manifest));
    }
    let (result_path, result_sha256) =
        report(workdir, &desc, &reference, in_manifest, base_manifests, progress)?;
    let backend = guest.describe();
    let info = format!(
        "backend: {backend}\ngit-gitian: {}\ndescriptor: {}\nresult: {}  {}-res.yml\nseconds: {:.1}\n",
        env!("CARGO_PKG_VERSION"),
        opts.descriptor.display(),
        result_sha256,
        desc.name,
        started.elapsed().as_secs_f64()
    );
    write_atomic(&workdir.join("var/build-info"), &info)?;
    Ok(BuildOutcome { result: result_path, result_sha256, name: desc.name.clone(), backend })
}

/// `build/` emptied (with `build/out`), `result/` there, the cache folders when the descriptor
/// uses them. A result (and its build info) from an earlier build must not outlive a failed
/// one, where it could be taken for this build's and signed.
fn fresh_folders(workdir: &Path, desc: &Descriptor) -> Result<(), BuildError> {
    let build_dir = workdir.join("build");
    let result_dir = workdir.join("result");
    if build_dir.exists() {
        fs::remove_dir_all(&build_dir).map_err(io("cannot remove", &build_dir))?;
    }
    fs::create_dir_all(build_dir.join("out")).map_err(io("cannot create", &build_dir))?;
    fs::create_dir_all(&result_dir).map_err(io("cannot create", &result_dir))?;
    let stale = [result_dir.join(format!("{}-res.yml", desc.name)), workdir.join("var/build-info")];
    for stale in stale {
        match fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("cannot remove", &stale)(e));
            }
            _ => {}
        }
    }
    if desc.enable_cache {
        for dir in [workdir.join("cache/common"), workdir.join("cache").join(&desc.name)] {
            fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        }
    }
    Ok(())
}

/// (suite, architecture, base image folder) of every guest to build in, or the make-base
/// command for the first one missing.
fn base_images(
    opts: &BuildOptions,
    desc: &Descriptor,
) -> Result<Vec<(String, String, PathBuf)>, BuildError> {
    let mut bases = Vec::new();
    for suite in &desc.suites {
        for arch in &desc.architectures {
            let dir = base_image(opts, &desc.distro, suite, arch)?;
            bases.push((suite.clone(), arch.clone(), dir));
        }
    }
    Ok(bases)
}

/// The folder of the complete base image for `distro suite arch`, or the error naming the
/// make-base command that makes it.
pub(crate) fn base_image(
    opts: &BuildOptions,
    distro: &str,
    suite: &str,
    arch: &str,
) -> Result<PathBuf, BuildError> {
    let dir = base::image_dir(&opts.base_dir, distro, suite, arch);
    if base::is_complete(&dir) {
        return Ok(dir);
    }
    Err(BuildError::MissingBase {
        what: format!("{distro} {suite} {}", base::base_arch(arch)),
        dir: opts.base_dir.clone(),
        command: base::make_base_command(
            opts.base_dir_given.then_some(opts.base_dir.as_path()),
            distro,
            suite,
            arch,
        ),
    })
}

/// The in-manifest (descriptor, input files, remotes fetched and checked out) and the last
/// remote's author date.
fn inputs_manifest(
    inputs: &Path,
    opts: &BuildOptions,
    desc: &Descriptor,
    desc_text: &[u8],
    progress: &mut dyn Progress,
) -> Result<(String, Option<String>), BuildError> {
    let desc_hash = sha256_hex(desc_text);
    let mut files = Vec::new();
    for f in &desc.files {
        let path = inputs.join(f);
        let hash = base::sha256_file(&path).map_err(io("cannot read input file", &path))?;
        files.push((hash, f.clone()));
    }
    let mut remotes = Vec::new();
    let mut author_date = None;
    for r in &desc.remotes {
        check_interrupt()?;
        let commit = r
            .commit
            .clone()
            .or_else(|| opts.commits.iter().find(|(d, _)| *d == r.dir).map(|(_, c)| c.clone()))
            .ok_or_else(|| {
                BuildError::Other(format!("must specify a commit for directory {}", r.dir))
            })?;
        let url = opts
            .urls
            .iter()
            .find(|(d, _)| *d == r.dir)
            .map(|(_, u)| u.clone())
            .or_else(|| r.url.clone())
            .ok_or_else(|| {
                BuildError::Other(format!("must specify a url for directory {}", r.dir))
            })?;
        progress.info(&format!("Preparing remote {} at {commit}", r.dir));
        let got = fetch::prepare(
            inputs,
            &crate::config::remotes_dir(),
            &RemoteSpec { dir: r.dir.clone(), url, commit },
            opts.fetch,
        )
        .map_err(|e| if process::interrupted() { BuildError::Interrupted } else { e.into() })?;
        author_date = Some(got.author_date.clone());
        remotes.push((got.sha, r.dir.clone()));
    }
    Ok((in_manifest(&desc_hash, &desc.name, &files, &remotes), author_date))
}

/// The outputs normalised when the descriptor asks, hashed, and the result file written:
/// its path and sha256.
fn report(
    workdir: &Path,
    desc: &Descriptor,
    reference: &str,
    in_manifest: String,
    base_manifests: Vec<(String, String)>,
    progress: &mut dyn Progress,
) -> Result<(PathBuf, String), BuildError> {
    let out = workdir.join("build/out");
    if !desc.normalize.is_empty() {
        let mut info = |line: &str| progress.info(line);
        normalize::build_step(&out, &desc.normalize, reference, &mut info).map_err(|e| {
            match process::interrupted() {
                true => BuildError::Interrupted,
                false => BuildError::Other(format!("cannot normalise {e}")),
            }
        })?;
    }
    check_interrupt()?;
    progress.info("Generating report");
    let out_manifest = manifest_of(&out, "build/out")?;
    let (cache_common_manifest, cache_package_manifest) = if desc.enable_cache {
        (
            manifest_of(&workdir.join("cache/common"), "cache/common")?,
            manifest_of(&workdir.join("cache").join(&desc.name), "cache")?,
        )
    } else {
        (String::new(), String::new())
    };
    let result = BuildResult {
        out_manifest,
        in_manifest,
        base_manifests,
        cache_common_manifest,
        cache_package_manifest,
    };
    let result_path = workdir.join("result").join(format!("{}-res.yml", desc.name));
    let text = normalize::result_text(&result, &desc.normalize);
    // Ctrl-C during the report ends the build like anywhere else: no result.
    check_interrupt()?;
    write_atomic(&result_path, &text)?;
    Ok((result_path, sha256_hex(text.as_bytes())))
}
