//! `git gitian build`: a descriptor built in a fresh guest.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};

/// QEMU accelerator choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Accel {
    /// Hardware virtualisation; fails when the guest kernel cannot run under it
    Kvm,
    /// Software emulation
    Tcg,
    /// KVM when it really boots a guest, else TCG with a warning
    Auto,
}

/// Build a Gitian descriptor in a fresh guest and write result/<name>-res.yml
///
/// Runs in the current directory with Gitian's folders: inputs/ (files and git remotes),
/// build/ (build/out holds the outputs), result/, var/ (logs) and cache/. Each suite x
/// architecture gets a pristine copy-on-write guest over the base image made by
/// `git gitian make-base`; packages are installed from the mirror first, then the script runs
/// with no network at all.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The Gitian descriptor (YAML)
    pub descriptor: PathBuf,
    /// Commits to build: DIR=COMMIT[,DIR=COMMIT...] (the descriptor's own commit wins)
    #[arg(short, long, value_name = "PAIRS")]
    pub commit: Option<String>,
    /// Remote URLs: DIR=URL[,DIR=URL...] (overrides the descriptor)
    #[arg(short, long, value_name = "PAIRS")]
    pub url: Option<String>,
    /// Parallel make jobs inside the guest
    #[arg(short = 'j', long = "num-make", value_name = "PROCS", default_value_t = 2)]
    pub num_make: u32,
    /// Guest memory in MiB
    #[arg(short, long, value_name = "MEM", default_value_t = 2000)]
    pub memory: u32,
    /// Reuse the current target instead of a fresh copy of the base
    #[arg(short = 'i', long)]
    pub skip_image: bool,
    /// Upgrade the guest's packages before building
    #[arg(long)]
    pub upgrade: bool,
    /// Do not copy caches back from the guest
    #[arg(short = 'o', long = "cache-read-only")]
    pub cache_read_only: bool,
    /// No network git operations: check out the commit in the existing clone
    #[arg(long)]
    pub skip_fetch: bool,
    /// Also fetch every tag of each remote
    #[arg(long)]
    pub fetch_tags: bool,
    /// Also fetch every branch of each remote
    #[arg(long)]
    pub fetch_branches: bool,
    /// Leave the guest running at the end (for inspection)
    #[arg(long)]
    pub skip_cleanup: bool,
    /// Honour the descriptor's `sudo: true`
    #[arg(long)]
    pub allow_sudo: bool,
    /// No progress or information lines
    #[arg(short, long)]
    pub quiet: bool,
    /// Guest backend: kvm, lxc, sandbox, docker, podman, vbox, auto, all, or a comma list
    #[arg(long, value_name = "BACKEND", default_value = "auto")]
    pub backend: String,
    /// QEMU accelerator for the kvm backend
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    pub accel: Accel,
    /// Folder of base images (default: $XDG_CACHE_HOME/git-gitian/base)
    #[arg(long, value_name = "DIR", env = "GITIAN_BASE_DIR")]
    pub base_dir: Option<PathBuf>,
}

/// Runs `git gitian build`.
pub fn run(args: BuildArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let _ = (args, ui);
    Err(CliError::new("build is not implemented yet"))
}
