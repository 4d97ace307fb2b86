//! `git gitian make-base`: a reproducible base image for the guests.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};

/// Create a base image (root file system and kernel) for the guests
///
/// Bootstraps the distribution with mmdebstrap from its mirror, with a kernel for the QEMU
/// guest, and stores it with its package manifest in the base folder. With the same inputs
/// (and SOURCE_DATE_EPOCH) it gives the same image hash.
#[derive(Debug, Args)]
pub struct MakeBaseArgs {
    /// Distribution
    #[arg(long, default_value = "debian", value_parser = ["debian", "ubuntu"])]
    pub distro: String,
    /// Suite (release code name)
    #[arg(long, default_value = "bookworm")]
    pub suite: String,
    /// Architecture
    #[arg(long, default_value = "amd64", value_parser = ["amd64", "i386"])]
    pub arch: String,
    /// Disk size of the QEMU image in MiB
    #[arg(long, value_name = "MB", default_value_t = 12287)]
    pub disksize: u64,
    /// Mirror URL (default: the distribution's own)
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Folder of base images (default: $XDG_CACHE_HOME/git-gitian/base)
    #[arg(long, value_name = "DIR", env = "GITIAN_BASE_DIR")]
    pub base_dir: Option<PathBuf>,
    /// Replace an existing base image
    #[arg(long)]
    pub force: bool,
    /// No progress or information lines
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `git gitian make-base`.
pub fn run(args: MakeBaseArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let _ = (args, ui);
    Err(CliError::new("make-base is not implemented yet"))
}
