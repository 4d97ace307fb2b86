//! `git gitian hooks`: the ledger's pre-commit and pre-push guards.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{CliError, Ui};

/// Install, remove or run the sigs repository's git hooks
#[derive(Debug, Args)]
pub struct HooksArgs {
    /// What to do
    #[command(subcommand)]
    pub command: HooksCommand,
}

/// The hooks subcommands.
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Write the pre-commit and pre-push hooks (between marker lines; your own hook text stays)
    Install {
        /// Repository (default: the current one)
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// Remove our block from the hooks, keeping your own hook text
    Uninstall {
        /// Repository (default: the current one)
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// Run a hook (called by the installed hook scripts)
    Run {
        /// Hook name: pre-commit or pre-push
        hook: String,
        /// Arguments git passed to the hook
        args: Vec<String>,
    },
}

/// Runs `git gitian hooks`.
pub fn run(args: HooksArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let _ = (args, ui);
    Err(CliError::new("hooks is not implemented yet"))
}
