//! `git gitian make-base`: a reproducible base image for the guests.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};
use crate::guest::process;
use crate::ops::base;

/// Create a base image (root file system and kernel) for the guests
///
/// Bootstraps the distribution with mmdebstrap from its mirror, with a kernel for the QEMU
/// guest, and stores it with its package manifest in the base folder. With the same inputs
/// (and SOURCE_DATE_EPOCH) it gives the same image hash.
#[derive(Debug, Args)]
pub struct MakeBaseArgs {
    /// Distribution (ubuntu images are set up like debian's but have not been tested)
    #[arg(short, long, default_value = "debian", value_parser = ["debian", "ubuntu"])]
    pub distro: String,
    /// Suite (release code name)
    #[arg(short, long, default_value = "bookworm")]
    pub suite: String,
    /// Architecture
    #[arg(short, long, default_value = "amd64", value_parser = ["amd64", "i386"])]
    pub arch: String,
    /// Disk size of the QEMU image in MiB
    #[arg(long, value_name = "MB", default_value_t = 12287)]
    pub disksize: u64,
    /// Mirror URL (default: the distribution's own)
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Folder of base images [default: git config gitian.baseDir, else
    /// $XDG_CACHE_HOME/git-gitian/base]
    #[arg(long, value_name = "DIR", env = "GITIAN_BASE_DIR")]
    pub base_dir: Option<PathBuf>,
    /// Replace an existing base image made from other flags (an image that an older version
    /// of git-gitian made from the same flags is remade without it)
    #[arg(long)]
    pub force: bool,
    /// No progress or information lines
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `git gitian make-base`.
pub fn run(args: MakeBaseArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    ui.quiet |= args.quiet;
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.parse::<i64>().map_err(|_| {
            CliError::new(format!("SOURCE_DATE_EPOCH '{v}' is not a number of seconds"))
        })?,
        _ => base::DEFAULT_EPOCH,
    };
    let opts = base::MakeBaseOptions {
        distro: args.distro,
        suite: args.suite,
        arch: args.arch,
        disksize_mib: args.disksize,
        mirror: args.mirror,
        base_dir: match args.base_dir {
            Some(dir) => dir,
            None => {
                let cwd = std::env::current_dir().map_err(|e| {
                    CliError::new(format!("cannot read the current directory: {e}"))
                })?;
                crate::config::GitConfig::load(&cwd)
                    .path(crate::config::BASE_DIR, &cwd)
                    .unwrap_or_else(base::default_base_dir)
            }
        },
        force: args.force,
        epoch,
    };
    if opts.distro == "ubuntu" {
        ui.warn("Ubuntu base images are configured like Debian's but have not been tested");
    }
    process::catch_interrupts();
    let image = base::make_base(&opts, &mut |line| ui.info(line)).map_err(|e| match e {
        base::BaseError::Exists(dir) => CliError::new(format!(
            "base image '{}' exists and was made from other inputs",
            dir.display()
        ))
        .hint("pass --force to replace it"),
        other => CliError::new(format!("cannot make the base image: {other}")),
    })?;
    if image.reused {
        ui.info(&format!(
            "Base image {} is up to date (same inputs; --force rebuilds it)",
            image.dir.display()
        ));
    } else {
        ui.info(&format!("Base image written to {}", image.dir.display()));
    }
    ui.out(&format!("{}  {}\n", image.image_hash, image.dir.display()));
    Ok(ExitCode::SUCCESS)
}
