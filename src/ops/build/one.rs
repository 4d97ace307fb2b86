//! One suite x architecture: guest up, inputs in, packages, script, outputs back, guest gone.

use std::fs;
use std::path::Path;
use std::time::Instant;

use super::{
    BuildError, BuildOptions, Progress, check_interrupt, io, merge_deb_manifests, write_atomic,
};
use crate::core::buildscript::{InstallStep, build_script, install_steps};
use crate::core::descriptor::{Descriptor, personality};
use crate::core::limits::Limits;
use crate::guest::process;
use crate::guest::{BuildStatus, Exec, Guest, GuestError, GuestSpec, Network, User};
use crate::ops::{base, fetch};

/// Gitian's init-build.sh, with one mkdir instead of four and rm only when there is something
/// to remove (each program costs under TCG). It must come before anything is copied into the
/// home; when nothing is, it runs with the build script (one guest step fewer on QEMU).
const INIT: &str = "for d in install out build cache; do if [ -e \"$d\" ] || [ -L \"$d\" ]; then rm -rf install out build cache; break; fi; done\n\
                    mkdir -p build out install cache/common\n";

/// What one guest builds.
pub(super) struct Target<'a> {
    pub(super) workdir: &'a Path,
    pub(super) opts: &'a BuildOptions,
    pub(super) desc: &'a Descriptor,
    pub(super) suite: &'a str,
    pub(super) arch: &'a str,
    pub(super) base_path: &'a Path,
    pub(super) reference: &'a str,
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

/// Maps a guest failure to `Interrupted` when that is what it was.
fn guest_err(e: GuestError) -> BuildError {
    if process::interrupted() { BuildError::Interrupted } else { BuildError::Guest(e) }
}

/// A step with nothing but its user, network and script.
fn step(user: User, network: Network, script: &str) -> Exec<'_> {
    Exec { user, network, setarch: None, trace: false, script, env: &[], log: None }
}

/// Builds `t` in `guest`; returns the base manifest.
pub(super) fn build_one(
    t: &Target<'_>,
    guest: &mut dyn Guest,
    progress: &mut dyn Progress,
) -> Result<String, BuildError> {
    let var = t.workdir.join("var");
    let limits: Limits = t.opts.limits.or(t.desc.limits).resolve();
    let install_log = var.join("install.log");
    let build_log = var.join("build.log");
    for f in [&install_log, &build_log] {
        let _ = fs::remove_file(f);
    }
    // Packages, with the network; everything logged to var/install.log.
    let steps = install_steps(t.desc, t.opts.upgrade);
    // Only package installation needs the network; without, the QEMU guest has no NIC at all
    // (and configures it on demand for the steps before the packages).
    let network = if steps.is_empty() { Network::Offline } else { Network::Online };
    let spec = GuestSpec {
        distro: t.desc.distro.clone(),
        suite: t.suite.to_string(),
        arch: t.arch.to_string(),
        base: t.base_path.to_path_buf(),
        scratch: var.join(format!("guest-{}-{}", t.suite, t.arch)),
        memory_mib: u32::try_from(limits.memory_mib).unwrap_or(u32::MAX),
        limits,
        cpus: t.opts.num_make,
        network: !steps.is_empty(),
    };
    let g = start(guest, &spec, progress)?;
    let guest = &mut *g.guest;
    if t.desc.sudo && t.opts.allow_sudo {
        enable_sudo(guest, &t.desc.distro, network)?;
    }
    let copies_in = !t.desc.files.is_empty() || t.desc.enable_cache || !t.desc.remotes.is_empty();
    if copies_in {
        progress.info("Preparing build environment");
        let init = Exec { setarch: personality(t.arch), ..step(User::Build, network, INIT) };
        let code = guest.exec(&init).map_err(guest_err)?;
        if code != 0 {
            return Err(prepare_failed(code));
        }
    }
    copy_inputs(t, guest)?;
    install(guest, &steps, &install_log, progress)?;

    progress.info("Creating package manifest");
    // The base image's apt cache is empty: only packages installed above can be in it.
    let fetched = if steps.is_empty() { String::new() } else { fetched_debs(t, guest, &var)? };
    let base_manifest = t.base_path.join(base::MANIFEST);
    let base_manifest =
        fs::read_to_string(&base_manifest).map_err(io("cannot read", &base_manifest))?;
    let manifest = merge_deb_manifests(&base_manifest, &fetched);
    write_atomic(&var.join(format!("base-{}-{}.manifest", t.suite, t.arch)), &manifest)?;

    progress.info("Creating build script (var/build-script)");
    let memory = u32::try_from(limits.memory_mib).unwrap_or(u32::MAX);
    let script = build_script(t.desc, t.arch, t.opts.num_make, memory, t.reference);
    write_atomic(&var.join("build-script"), &script)?;
    copy_remotes(t, guest)?;
    run_script(t, guest, &script, (!copies_in).then_some(INIT), &build_log, progress)?;
    progress.info("Stopping target");
    drop(g);
    Ok(manifest)
}

/// The guest created (its warnings shown), guarded so that it is destroyed however the
/// build ends.
fn start<'a>(
    guest: &'a mut dyn Guest,
    spec: &GuestSpec,
    progress: &mut dyn Progress,
) -> Result<Running<'a>, BuildError> {
    progress.info("Starting target");
    let t = Instant::now();
    let created = guest.create(spec);
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
    Ok(g)
}

/// The build user may sudo (`sudo: true` and `--allow-sudo`).
fn enable_sudo(guest: &mut dyn Guest, user: &str, network: Network) -> Result<(), BuildError> {
    let text = format!(
        "printf '%%{user} ALL=(ALL) NOPASSWD: ALL\\n' >> /etc/sudoers.d/{user}\nchmod 0440 /etc/sudoers.d/{user}\n"
    );
    let code = guest.exec(&step(User::Root, network, &text)).map_err(guest_err)?;
    if code != 0 {
        return Err(BuildError::Other(format!(
            "cannot enable sudo in the guest (exit status {code})"
        )));
    }
    Ok(())
}

/// The descriptor's input files into `build`, the caches into `cache`.
fn copy_inputs(t: &Target<'_>, guest: &mut dyn Guest) -> Result<(), BuildError> {
    for f in &t.desc.files {
        check_interrupt()?;
        guest.copy_in(&t.workdir.join("inputs").join(f), "build").map_err(guest_err)?;
    }
    if t.desc.enable_cache {
        let pkg = t.workdir.join("cache").join(&t.desc.name);
        let common = t.workdir.join("cache/common");
        guest.copy_in(&pkg, "cache").map_err(guest_err)?;
        guest.copy_in(&common, "cache").map_err(guest_err)?;
    }
    Ok(())
}

/// Each remote into `build`. A worktree's `.git` points at the host's cache: the guest gets a
/// standalone copy.
fn copy_remotes(t: &Target<'_>, guest: &mut dyn Guest) -> Result<(), BuildError> {
    for r in &t.desc.remotes {
        check_interrupt()?;
        let copies = t.workdir.join("var/remote-copies");
        let copied = fetch::standalone(&t.workdir.join("inputs").join(&r.dir), &copies)
            .map_err(BuildError::from)
            .and_then(|src| guest.copy_in(&src, "build").map_err(guest_err));
        let _ = fs::remove_dir_all(&copies);
        copied?;
    }
    Ok(())
}

/// The build script as the build user, offline, its outputs (and the caches unless read-only)
/// copied back; a failed or stopped step that ran into a limit is that limit's failure.
fn run_script(
    t: &Target<'_>,
    guest: &mut dyn Guest,
    script: &str,
    prepare: Option<&str>,
    build_log: &Path,
    progress: &mut dyn Progress,
) -> Result<(), BuildError> {
    progress.info("Running build script (log in var/build.log)");
    let started = Instant::now();
    let build_dir = t.workdir.join("build");
    let cache_dir = t.workdir.join("cache");
    let package_cache = format!("cache/{}", t.desc.name);
    let mut outputs: Vec<(&str, &Path)> = vec![("out", &build_dir)];
    if t.desc.enable_cache && !t.opts.cache_read_only {
        outputs.push((&package_cache, &cache_dir));
        outputs.push(("cache/common", &cache_dir));
    }
    let exec = Exec {
        setarch: personality(t.arch),
        trace: true,
        log: Some(build_log),
        ..step(User::Build, Network::Offline, script)
    };
    let status = guest.run_build(prepare, &exec, &outputs).map_err(guest_err);
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
                log: build_log.to_path_buf(),
                tail: process::tail_of_file(build_log, 20),
            });
        }
        BuildStatus::Done => {}
    }
    progress.info(&format!(
        "Build script done and results grabbed from target in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
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
        let exec = Exec { log: Some(log), ..step(User::Root, Network::Online, &script) };
        let code = guest.exec(&exec).map_err(guest_err)?;
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
fn fetched_debs(t: &Target<'_>, guest: &mut dyn Guest, var: &Path) -> Result<String, BuildError> {
    let log = var.join(format!("debs-{}-{}.tmp", t.suite, t.arch));
    let _ = fs::remove_file(&log);
    let list = "cd /var/cache/apt/archives\nfor f in *.deb; do [ -e \"$f\" ] && sha256sum \"$f\"; done; true\n";
    let exec = Exec { log: Some(&log), ..step(User::Root, Network::Online, list) };
    let code = guest.exec(&exec).map_err(guest_err)?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    if code != 0 {
        return Err(BuildError::Other(format!(
            "cannot list the guest's packages (exit status {code})"
        )));
    }
    Ok(text)
}
