//! Guests: disposable build environments (a QEMU VM, an LXC container, a namespace sandbox, a
//! Docker/podman container, a VirtualBox VM) behind one small trait. One backend, one file.
//!
//! The life of a guest, driven by `ops::build` for each suite x architecture:
//! `create` (fresh copy-on-write layer over the base image) -> `exec` as root with the network
//! (package installation) -> `copy_in` inputs -> `exec` as the build user with no network
//! (the build script) -> `copy_out` outputs -> `destroy`. `destroy` must be idempotent and is
//! also called from the guard's `Drop`, after errors, Ctrl-C and SIGTERM.

pub mod kvm;
pub(crate) mod limits;
/// The process layer moved to [`crate::process`]; this path stays for callers of the old one.
pub use crate::process;

use std::path::{Path, PathBuf};

mod copy;
pub mod copyout;
pub mod docker;
pub(crate) mod env;
pub mod lxc;
pub mod sandbox;
mod seccomp;
pub mod select;
pub(crate) mod util;
pub mod vbox;

/// Which user a command runs as inside the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// root
    Root,
    /// The unprivileged distro user (`debian` / `ubuntu`), in its home directory.
    Build,
}

/// Network access for one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Reachable mirror (package installation only).
    Online,
    /// No network device but loopback.
    Offline,
}

/// One command run inside the guest: a bash script fed on stdin, as Gitian's on-target.
#[derive(Debug, Clone)]
pub struct Exec<'a> {
    /// Who runs it.
    pub user: User,
    /// Network while it runs.
    pub network: Network,
    /// `setarch` personality (`x86_64`, `i386`, `linux64`), if any.
    pub setarch: Option<&'a str>,
    /// Run bash with `-x` (the build script).
    pub trace: bool,
    /// The script text.
    pub script: &'a str,
    /// Extra environment variables.
    pub env: &'a [(String, String)],
    /// File that receives stdout and stderr (appended); `None`: inherit nothing, discard.
    pub log: Option<&'a Path>,
}

/// How a [`Guest::run_build`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildStatus {
    /// The preparation script exited with this non-zero status; the build script did not run.
    PrepareFailed(i32),
    /// The build script exited with this non-zero status; nothing was copied out.
    ScriptFailed(i32),
    /// The script succeeded and every output is on the host.
    Done,
}

/// What a backend needs to create a guest.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// Distribution (`debian`, `ubuntu`); also the build user's name.
    pub distro: String,
    /// Suite, e.g. `bookworm`.
    pub suite: String,
    /// Descriptor architecture (`amd64`, `i386`, `linux64`).
    pub arch: String,
    /// The base image folder for this suite/arch (see `ops::base`).
    pub base: PathBuf,
    /// Scratch folder for this guest's layer, sockets and logs; removed by `destroy`.
    pub scratch: PathBuf,
    /// Memory in MiB (the QEMU guest's RAM; equal to `limits.memory_mib`).
    pub memory_mib: u32,
    /// What the guest may take from the host (every backend enforces all three).
    pub limits: crate::core::limits::Limits,
    /// CPUs.
    pub cpus: u32,
    /// Whether any command will run with [`Network::Online`]; when not, a backend may create
    /// the guest with no network device at all (and refuses `Online` commands).
    pub network: bool,
}

/// A failure of a guest operation: what was run and what it said.
#[derive(Debug, thiserror::Error)]
#[error("{backend}: {message}")]
pub struct GuestError {
    /// Backend name.
    pub backend: &'static str,
    /// What failed, with the command line where there is one.
    pub message: String,
}

impl GuestError {
    /// A closure turning a process failure into this backend's error.
    pub(crate) fn process(backend: &'static str) -> impl Fn(crate::process::ProcessError) -> Self {
        move |e| Self { backend, message: e.to_string() }
    }
}

/// A disposable build environment.
pub trait Guest {
    /// Backend name (`kvm`, `lxc`, `sandbox`, `docker`, `podman`, `vbox`).
    fn name(&self) -> &'static str;
    /// A one-line description recorded in the result (backend and accelerator).
    fn describe(&self) -> String {
        self.name().to_string()
    }
    /// Warnings gathered since the last call (e.g. an accelerator fallback), for the caller to
    /// show; empty by default.
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// The limit (processes, memory, disk) the guest ran into since it was created, if any: a
    /// failed or stopped step is then reported as that limit's failure.
    fn limit_hit(&mut self) -> Option<crate::core::limits::LimitHit> {
        None
    }
    /// Creates a fresh guest from the pristine base image.
    fn create(&mut self, spec: &GuestSpec) -> Result<(), GuestError>;
    /// Runs one command; returns its exit code (non-zero is not a `GuestError`).
    fn exec(&mut self, cmd: &Exec<'_>) -> Result<i32, GuestError>;
    /// Copies a host file or folder into `guest_dir` (relative to the build user's home),
    /// owned by the build user.
    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError>;
    /// Copies `guest_path` (relative to the build user's home) into the host folder `host_dir`,
    /// merging with what is there.
    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError>;
    /// Runs the build script `cmd` and, when it exits 0, copies each `(guest path, host
    /// folder)` of `outputs` out as [`Guest::copy_out`] does. `prepare`, if given, runs first
    /// as the build user in its home with `cmd`'s network and personality, its output in no
    /// log (Gitian's init-build.sh). Backends that can do all of it in one step override this.
    fn run_build(
        &mut self,
        prepare: Option<&str>,
        cmd: &Exec<'_>,
        outputs: &[(&str, &Path)],
    ) -> Result<BuildStatus, GuestError> {
        run_build_in_steps(self, prepare, cmd, outputs)
    }
    /// Stops the guest and removes every trace of it (layer, mounts, processes). Idempotent.
    fn destroy(&mut self) -> Result<(), GuestError>;
}

/// [`Guest::run_build`] as separate `exec`s and `copy_out`s.
pub fn run_build_in_steps<G: Guest + ?Sized>(
    guest: &mut G,
    prepare: Option<&str>,
    cmd: &Exec<'_>,
    outputs: &[(&str, &Path)],
) -> Result<BuildStatus, GuestError> {
    if let Some(script) = prepare {
        let code = guest.exec(&Exec {
            user: User::Build,
            network: cmd.network,
            setarch: cmd.setarch,
            trace: false,
            script,
            env: &[],
            log: None,
        })?;
        if code != 0 {
            return Ok(BuildStatus::PrepareFailed(code));
        }
    }
    let code = guest.exec(cmd)?;
    if code != 0 {
        return Ok(BuildStatus::ScriptFailed(code));
    }
    for (path, host_dir) in outputs {
        guest.copy_out(path, host_dir)?;
    }
    Ok(BuildStatus::Done)
}
