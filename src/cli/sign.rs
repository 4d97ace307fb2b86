//! `git gitian sign`: a build result signed into the sigs repository.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};

/// Attestation layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignFormat {
    /// `<release>/<signer>/<name>-build.assert` with a binary `.sig`
    Gitian,
    /// `<release>/<signer>/{noncodesigned,all}.SHA256SUMS` with an armored `.asc`
    Guix,
}

/// Sign a build result into the sigs repository
///
/// Reads result/<name>-res.yml, appends release, name, type and optionals exactly as gsign
/// does, writes <dest>/<release>/<signer>/<name>-build.assert and a detached signature made by
/// your own GnuPG, and commits exactly those files when the destination is a git repository.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The Gitian descriptor the result was built from
    pub descriptor: PathBuf,
    /// Signer: the gpg key to sign with (-u) and the directory name
    #[arg(short, long)]
    pub signer: String,
    /// Release directory name
    #[arg(short, long, default_value = "test")]
    pub release: String,
    /// The sigs repository (default: the repository around the current directory, or git
    /// config gitian.sigs)
    #[arg(short, long, value_name = "DEST")]
    pub destination: Option<PathBuf>,
    /// Run this program instead of signing in process (`true` to sign later), as gsign
    #[arg(short = 'p', long = "signing-program", value_name = "PROG")]
    pub signing_program: Option<String>,
    /// Layout to write
    #[arg(long, value_enum, default_value_t = SignFormat::Gitian)]
    pub format: SignFormat,
    /// Replace an existing attestation with different bytes
    #[arg(long)]
    pub force: bool,
    /// Sign the git commit too
    #[arg(long)]
    pub sign_commit: bool,
    /// Write and sign, but do not commit
    #[arg(long)]
    pub no_commit: bool,
    /// No information lines
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `git gitian sign`.
pub fn run(args: SignArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let _ = (args, ui);
    Err(CliError::new("sign is not implemented yet"))
}
