//! `git gitian verify`: signatures and consensus over a sigs ledger.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};

/// How `verify` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A signer table and an artifact x signer grid
    Table,
    /// The stable JSON schema documented in the man page
    Json,
    /// One row per signature, the columns of the corpus's expected.tsv
    Tsv,
    /// The original gverify's `<signer>: OK|MISMATCH|BAD SIGNATURE` lines
    Gverify,
}

/// Verify signatures and consensus of the attestations in a sigs repository
///
/// Reads every signer's attestation of a release, from a directory or straight from git
/// objects at one or more revisions (no checkout needed, so unmerged branches count), checks
/// each detached signature against the keys kept in the ledger (builder-keys/, keys/) and any
/// --keys, and finds the largest group of signers whose manifests agree. Only good signatures
/// count toward consensus, and one key is one vote.
///
/// Exit status: 0 when every check passed and the threshold holds; 1 when a disagreement, a
/// signature that does not hold, or a missed threshold was found; 2 when it could not run.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Descriptor whose `name` selects the attestations (as gverify); optional
    pub descriptor: Option<PathBuf>,
    /// Attestation name to verify (instead of a descriptor)
    #[arg(long)]
    pub name: Option<String>,
    /// Release directory to verify; every release when omitted
    #[arg(short, long)]
    pub release: Vec<String>,
    /// The sigs ledger: a directory, a work tree or a bare repository (default: the repository
    /// around the current directory)
    #[arg(short, long, value_name = "PATH")]
    pub destination: Option<PathBuf>,
    /// Read the ledger from git at this revision (repeatable)
    #[arg(long = "rev", value_name = "REV")]
    pub revs: Vec<String>,
    /// Read the ledger at every local and remote-tracking branch
    #[arg(long)]
    pub all_branches: bool,
    /// Compare every signer against this signer's manifest, as gverify does
    #[arg(short, long, value_name = "SIGNER")]
    pub compare_to: Option<String>,
    /// Additional public keys: an armored or binary key file, or a folder of them (repeatable)
    #[arg(long = "keys", value_name = "PATH")]
    pub keys: Vec<PathBuf>,
    /// Judge key and signature expiry at this time (RFC 3339 or YYYY-MM-DD; default now)
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// At least N distinct keys with good signatures must agree
    #[arg(long, value_name = "N")]
    pub threshold: Option<usize>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Show more detail (gpg-style lines, manifest differences)
    #[arg(short, long)]
    pub verbose: bool,
    /// Use bold markup in gverify output (default)
    #[arg(short = 'm', long, overrides_with = "no_markup")]
    pub markup: bool,
    /// No bold markup in gverify output
    #[arg(long)]
    pub no_markup: bool,
}

/// Runs `git gitian verify`.
pub fn run(args: VerifyArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let _ = (args, ui);
    Err(CliError::new("verify is not implemented yet"))
}
