//! `git gitian init`: a new sigs repository from `sigs-template/`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};

/// Create a sigs repository from the template, with hooks installed
///
/// Writes README.md, .gitattributes (signed files stay byte-exact), builder-keys/ and the
/// policy file, and installs the hooks. Running it again changes nothing.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create the repository (default: the current directory)
    pub dir: Option<PathBuf>,
}

/// Runs `git gitian init`.
pub fn run(args: InitArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let _ = (args, ui);
    Err(CliError::new("init is not implemented yet"))
}
