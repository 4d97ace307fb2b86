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
use crate::core::buildscript::{InstallStep, build_script, in_manifest, install_steps};
use crate::core::descriptor::{Descriptor, DescriptorError, personality};
use crate::core::limits::{LimitHit, LimitSpec, Limits};
use crate::core::manifest::{Manifest, sha256_hex};
use crate::guest::process;
use crate::guest::{BuildStatus, Exec, Guest, GuestError, GuestSpec, Network, User};
use crate::ops::base;
use crate::ops::fetch::{self, FetchOptions, RemoteSpec};
use crate::ops::{normalize, publish};

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

/// Maps a guest failure to `Interrupted` when that is what it was.
fn guest_err(e: GuestError) -> BuildError {
    if process::interrupted() { BuildError::Interrupted } else { BuildError::Guest(e) }
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

/// Destroys the guest when dropped (errors, `?`, panics).
struct Running<'a> {
    guest: &'a mut dyn Guest,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = self.guest.destroy();
    }
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
    let var = workdir.join("var");
    let build_dir = workdir.join("build");
    let result_dir = workdir.join("result");
    let inputs = workdir.join("inputs");
    if build_dir.exists() {
        fs::remove_dir_all(&build_dir).map_err(io("cannot remove", &build_dir))?;
    }
    fs::create_dir_all(build_dir.join("out")).map_err(io("cannot create", &build_dir))?;
    fs::create_dir_all(&result_dir).map_err(io("cannot create", &result_dir))?;
    // A result (and its build info) from an earlier build must not outlive a failed one, where
    // it could be taken for this build's and signed.
    for stale in [result_dir.join(format!("{}-res.yml", desc.name)), var.join("build-info")] {
        match fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("cannot remove", &stale)(e));
            }
            _ => {}
        }
    }
    let cache_common = workdir.join("cache/common");
    let cache_package = workdir.join("cache").join(&desc.name);
    if desc.enable_cache {
        fs::create_dir_all(&cache_common).map_err(io("cannot create", &cache_common))?;
        fs::create_dir_all(&cache_package).map_err(io("cannot create", &cache_package))?;
    }

    // Every base image must be there before anything slow happens.
    let mut bases = Vec::new();
    for suite in &desc.suites {
        for arch in &desc.architectures {
            let dir = base::image_dir(&opts.base_dir, &desc.distro, suite, arch);
            if !base::is_complete(&dir) {
                return Err(BuildError::MissingBase {
                    what: format!("{} {suite} {}", desc.distro, base::base_arch(arch)),
                    dir: opts.base_dir.clone(),
                    command: base::make_base_command(
                        opts.base_dir_given.then_some(opts.base_dir.as_path()),
                        &desc.distro,
                        suite,
                        arch,
                    ),
                });
            }
            bases.push((suite.clone(), arch.clone(), dir));
        }
    }

    // In-manifest: descriptor, input files, remotes (fetched and checked out).
    let desc_hash = sha256_hex(&desc_text);
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
            &inputs,
            &crate::config::remotes_dir(),
            &RemoteSpec { dir: r.dir.clone(), url, commit },
            opts.fetch,
        )
        .map_err(|e| if process::interrupted() { BuildError::Interrupted } else { e.into() })?;
        author_date = Some(got.author_date.clone());
        remotes.push((got.sha, r.dir.clone()));
    }
    let in_manifest = in_manifest(&desc_hash, &desc.name, &files, &remotes);
    let reference =
        desc.reference_datetime.clone().or(author_date).ok_or_else(|| {
            BuildError::Other("must supply `reference_datetime` or `remotes`".into())
        })?;

    let mut base_manifests = Vec::new();
    for (suite, arch, base_path) in &bases {
        check_interrupt()?;
        progress.info(&format!("--- Building for {suite} {arch} ---"));
        let manifest =
            build_one(workdir, opts, &desc, suite, arch, base_path, &reference, guest, progress)?;
        base_manifests.push((format!("{suite}-{arch}"), manifest));
    }

    if !desc.normalize.is_empty() {
        let mut info = |line: &str| progress.info(line);
        normalize::build_step(&build_dir.join("out"), &desc.normalize, &reference, &mut info)
            .map_err(|e| match process::interrupted() {
                true => BuildError::Interrupted,
                false => BuildError::Other(format!("cannot normalise {e}")),
            })?;
    }
    check_interrupt()?;
    progress.info("Generating report");
    let out_manifest = manifest_of(&build_dir.join("out"), "build/out")?;
    let (cache_common_manifest, cache_package_manifest) = if desc.enable_cache {
        (manifest_of(&cache_common, "cache/common")?, manifest_of(&cache_package, "cache")?)
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
    let result_path = result_dir.join(format!("{}-res.yml", desc.name));
    let text = normalize::result_text(&result, &desc.normalize);
    // Ctrl-C during the report ends the build like anywhere else: no result.
    check_interrupt()?;
    write_atomic(&result_path, &text)?;
    let result_sha256 = sha256_hex(text.as_bytes());
    let backend = guest.describe();
    let info = format!(
        "backend: {backend}\ngit-gitian: {}\ndescriptor: {}\nresult: {}  {}-res.yml\nseconds: {:.1}\n",
        env!("CARGO_PKG_VERSION"),
        opts.descriptor.display(),
        result_sha256,
        desc.name,
        started.elapsed().as_secs_f64()
    );
    write_atomic(&var.join("build-info"), &info)?;
    Ok(BuildOutcome { result: result_path, result_sha256, name: desc.name.clone(), backend })
}

/// One suite x architecture: guest up, inputs in, packages, script, outputs back, guest gone.
/// Returns the base manifest.
#[allow(clippy::too_many_arguments)]
fn build_one(
    workdir: &Path,
    opts: &BuildOptions,
    desc: &Descriptor,
    suite: &str,
    arch: &str,
    base_path: &Path,
    reference: &str,
    guest: &mut dyn Guest,
    progress: &mut dyn Progress,
) -> Result<String, BuildError> {
    let var = workdir.join("var");
    let limits: Limits = opts.limits.or(desc.limits).resolve();
    let install_log = var.join("install.log");
    let build_log = var.join("build.log");
    for f in [&install_log, &build_log] {
        let _ = fs::remove_file(f);
    }
    // Packages, with the network; everything logged to var/install.log.
    let steps = install_steps(desc, opts.upgrade);
    let spec = GuestSpec {
        distro: desc.distro.clone(),
        suite: suite.to_string(),
        arch: arch.to_string(),
        base: base_path.to_path_buf(),
        scratch: var.join(format!("guest-{suite}-{arch}")),
        memory_mib: u32::try_from(limits.memory_mib).unwrap_or(u32::MAX),
        limits,
        cpus: opts.num_make,
        // Only package installation needs it; without, the QEMU guest has no NIC at all.
        network: !steps.is_empty(),
    };
    progress.info("Starting target");
    let t = Instant::now();
    let created = guest.create(&spec);
    for w in guest.take_warnings() {
        progress.warn(&w);
    }
    let g = Running { guest };
    created.map_err(guest_err)?;
    progress.info(&format!(
        "Target is up ({}, {:.1} s)",
        g.guest.describe(),
        t.elapsed().as_secs_f64()
    ));
    let guest = &mut *g.guest;
    let no_env: &[(String, String)] = &[];
    let root = |script: &'static str| Exec {
        user: User::Root,
        network: Network::Online,
        setarch: None,
        trace: false,
        script,
        env: no_env,
        log: None,
    };

    if desc.sudo && opts.allow_sudo {
        let text = format!(
            "printf '%%{0} ALL=(ALL) NOPASSWD: ALL\\n' >> /etc/sudoers.d/{0}\nchmod 0440 /etc/sudoers.d/{0}\n",
            desc.distro
        );
        let network = if steps.is_empty() { Network::Offline } else { Network::Online };
        let code = guest.exec(&Exec { script: &text, network, ..root("") }).map_err(guest_err)?;
        if code != 0 {
            return Err(BuildError::Other(format!(
                "cannot enable sudo in the guest (exit status {code})"
            )));
        }
    }

    // Gitian's init-build.sh, with one mkdir instead of four and rm only when there is
    // something to remove (each program costs under TCG). It must come before anything is
    // copied into the home; when nothing is, it runs with the build script (one guest step
    // fewer on the QEMU backend).
    let init = "for d in install out build cache; do if [ -e \"$d\" ] || [ -L \"$d\" ]; then rm -rf install out build cache; break; fi; done\n\
                mkdir -p build out install cache/common\n";
    let copies_in = !desc.files.is_empty() || desc.enable_cache || !desc.remotes.is_empty();
    if copies_in {
        progress.info("Preparing build environment");
        // The network only when packages come next: the QEMU guest configures it on demand.
        let network = if steps.is_empty() { Network::Offline } else { Network::Online };
        let code = guest
            .exec(&Exec {
                user: User::Build,
                network,
                setarch: personality(arch),
                script: init,
                ..root("")
            })
            .map_err(guest_err)?;
        if code != 0 {
            return Err(prepare_failed(code));
        }
    }
    for f in &desc.files {
        check_interrupt()?;
        guest.copy_in(&workdir.join("inputs").join(f), "build").map_err(guest_err)?;
    }
    if desc.enable_cache {
        let pkg = workdir.join("cache").join(&desc.name);
        let common = workdir.join("cache/common");
        guest.copy_in(&pkg, "cache").map_err(guest_err)?;
        guest.copy_in(&common, "cache").map_err(guest_err)?;
    }

    install(guest, &steps, &install_log, progress)?;

    progress.info("Creating package manifest");
    // The base image's apt cache is empty: only packages installed above can be in it.
    let fetched =
        if steps.is_empty() { String::new() } else { fetched_debs(guest, &var, suite, arch)? };
    let base_manifest = fs::read_to_string(base_path.join(base::MANIFEST))
        .map_err(io("cannot read", &base_path.join(base::MANIFEST)))?;
    let manifest = merge_deb_manifests(&base_manifest, &fetched);
    write_atomic(&var.join(format!("base-{suite}-{arch}.manifest")), &manifest)?;

    progress.info("Creating build script (var/build-script)");
    let script = build_script(
        desc,
        arch,
        opts.num_make,
        u32::try_from(limits.memory_mib).unwrap_or(u32::MAX),
        reference,
    );
    write_atomic(&var.join("build-script"), &script)?;
    for r in &desc.remotes {
        check_interrupt()?;
        // A worktree's `.git` points at the host's cache: the guest gets a standalone copy.
        let copies = var.join("remote-copies");
        let copied = fetch::standalone(&workdir.join("inputs").join(&r.dir), &copies)
            .map_err(BuildError::from)
            .and_then(|src| guest.copy_in(&src, "build").map_err(guest_err));
        let _ = fs::remove_dir_all(&copies);
        copied?;
    }

    progress.info("Running build script (log in var/build.log)");
    let t = Instant::now();
    let build_dir = workdir.join("build");
    let cache_dir = workdir.join("cache");
    let package_cache = format!("cache/{}", desc.name);
    let mut outputs: Vec<(&str, &Path)> = vec![("out", &build_dir)];
    if desc.enable_cache && !opts.cache_read_only {
        outputs.push((&package_cache, &cache_dir));
        outputs.push(("cache/common", &cache_dir));
    }
    let status = guest
        .run_build(
            (!copies_in).then_some(init),
            &Exec {
                user: User::Build,
                network: Network::Offline,
                setarch: personality(arch),
                trace: true,
                script: &script,
                env: no_env,
                log: Some(&build_log),
            },
            &outputs,
        )
        .map_err(guest_err);
    // A failed or stopped step that ran into a limit is that limit's failure.
    if !matches!(status, Ok(BuildStatus::Done))
        && let Some(hit) = guest.limit_hit()
    {
        return Err(BuildError::Limit(hit));
    }
    let status = status?;
    // What copy-out refused to bring to the host (devices, FIFOs, sockets).
    for w in guest.take_warnings() {
        progress.warn(&w);
    }
    match status {
        BuildStatus::PrepareFailed(code) => return Err(prepare_failed(code)),
        BuildStatus::ScriptFailed(code) => {
            return Err(BuildError::ScriptFailed {
                code,
                log: build_log.clone(),
                tail: process::tail_of_file(&build_log, 20),
            });
        }
        BuildStatus::Done => {}
    }
    progress.info(&format!(
        "Build script done and results grabbed from target in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    progress.info("Stopping target");
    drop(g);
    Ok(manifest)
}

/// The package-installation steps, as root with the network, logged to `log`; a failed step
/// that ran into a limit is that limit's failure.
fn install(
    guest: &mut dyn Guest,
    steps: &[InstallStep],
    log: &Path,
    progress: &mut dyn Progress,
) -> Result<(), BuildError> {
    for InstallStep { what, script } in steps {
        check_interrupt()?;
        progress.info(&format!("{what} (log in var/install.log)"));
        let t = Instant::now();
        let script = format!("set -e\n{script}");
        let code = guest
            .exec(&Exec {
                user: User::Root,
                network: Network::Online,
                setarch: None,
                trace: false,
                script: &script,
                env: &[],
                log: Some(log),
            })
            .map_err(guest_err)?;
        if code != 0 {
            if let Some(hit) = guest.limit_hit() {
                return Err(BuildError::Limit(hit));
            }
            return Err(BuildError::InstallFailed {
                step: what.to_lowercase(),
                code,
                log: log.to_path_buf(),
                tail: process::tail_of_file(log, 20),
            });
        }
        if t.elapsed().as_secs() >= 5 {
            progress.info(&format!("  done in {:.0} s", t.elapsed().as_secs_f64()));
        }
    }
    Ok(())
}

fn prepare_failed(code: i32) -> BuildError {
    BuildError::Other(format!("preparing the build environment failed (exit status {code})"))
}

/// `sha256  file.deb` of every package in the guest's apt cache.
fn fetched_debs(
    guest: &mut dyn Guest,
    var: &Path,
    suite: &str,
    arch: &str,
) -> Result<String, BuildError> {
    let log = var.join(format!("debs-{suite}-{arch}.tmp"));
    let _ = fs::remove_file(&log);
    let list = "cd /var/cache/apt/archives\nfor f in *.deb; do [ -e \"$f\" ] && sha256sum \"$f\"; done; true\n";
    let code = guest
        .exec(&Exec {
            user: User::Root,
            network: Network::Online,
            setarch: None,
            trace: false,
            script: list,
            env: &[],
            log: Some(&log),
        })
        .map_err(guest_err)?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    if code != 0 {
        return Err(BuildError::Other(format!(
            "cannot list the guest's packages (exit status {code})"
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_manifests_merge_sorted_and_deduplicated() {
        let base = "aa  b_1.deb\ncc  a_1.deb\n";
        let fetched = "aa  b_1.deb\ndd  Z_2.deb\n";
        assert_eq!(merge_deb_manifests(base, fetched), "dd  Z_2.deb\ncc  a_1.deb\naa  b_1.deb\n");
    }

    #[test]
    fn second_lock_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let first = lock(t.path()).unwrap();
        let e = lock(t.path()).unwrap_err();
        assert!(matches!(e, BuildError::Locked { .. }), "{e}");
        assert!(e.to_string().contains(&format!("pid {}", std::process::id())), "{e}");
        drop(first);
        lock(t.path()).unwrap();
    }
}
