//! `git gitian lint`: descriptors checked without building.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};

/// Check Gitian descriptors without building
///
/// Prints one summary line per valid descriptor and an `error:` line naming the file, line and
/// field for each invalid one. Exit status 1 when any descriptor is invalid.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Descriptor files
    #[arg(required = true)]
    pub descriptors: Vec<PathBuf>,
}

/// Runs `git gitian lint`.
pub fn run(args: LintArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let _ = (args, ui);
    Err(CliError::new("lint is not implemented yet"))
}
