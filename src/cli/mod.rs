//! Command line: argv -> workflow -> output. The only layer that knows clap or prints.

pub mod build;
pub mod diff;
pub mod error;
pub mod generate;
pub mod hooks;
pub mod init;
pub mod lint;
pub mod make_base;
pub mod normalize;
pub mod sign;
pub mod ui;
pub mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub use error::CliError;
pub use ui::Ui;

/// Build releases in fresh guests, sign the results and verify that builders agree
///
/// git-gitian is the successor of Gitian as a git subcommand. `build` runs a Gitian descriptor
/// inside a pristine guest and writes result/<name>-res.yml; `sign` turns it into a signed
/// attestation in the sigs repository; `verify` reads every signer's attestation straight from
/// git and reports consensus per artifact.
///
/// Exit status: 0 when the job succeeded and every check passed, 1 when a check found a
/// disagreement or a bad signature, 2 when the job could not be done.
#[derive(Debug, Parser)]
#[command(name = "git-gitian", bin_name = "git gitian", version, max_term_width = 100)]
pub struct Cli {
    /// The subcommand to run
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of git-gitian.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a Gitian descriptor in a fresh guest and write result/<name>-res.yml
    Build(build::BuildArgs),
    /// Create a base image (root file system and kernel) for the guests
    MakeBase(make_base::MakeBaseArgs),
    /// Sign a build result into the sigs repository
    Sign(sign::SignArgs),
    /// Verify signatures and consensus of the attestations in a sigs repository
    Verify(verify::VerifyArgs),
    /// Check Gitian descriptors without building
    Lint(lint::LintArgs),
    /// Show what differs between two builds, down inside their archives
    Diff(diff::DiffArgs),
    /// Remove archive metadata that should not differ between builds
    Normalize(normalize::NormalizeArgs),
    /// Create a sigs repository from the template, with hooks installed
    Init(init::InitArgs),
    /// Install, remove or run the sigs repository's git hooks
    Hooks(hooks::HooksArgs),
    /// Generate man pages or shell completions
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

/// The clap command, for man pages and completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs one parsed command line.
pub fn run(cli: Cli, ui: &mut Ui) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Build(args) => build::run(args, ui),
        Command::MakeBase(args) => make_base::run(args, ui),
        Command::Sign(args) => sign::run(args, ui),
        Command::Verify(args) => verify::run(args, ui),
        Command::Lint(args) => lint::run(args, ui),
        Command::Diff(args) => diff::run(args, ui),
        Command::Normalize(args) => normalize::run(args, ui),
        Command::Init(args) => init::run(args, ui),
        Command::Hooks(args) => hooks::run(args, ui),
        Command::Generate(args) => generate::run(args, ui),
    }
}

/// Parses argv, runs, prints any error in git's voice and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    quiet_library_backtraces();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let mut ui = Ui::new();
    match run(cli, &mut ui) {
        Ok(code) => code,
        Err(err) => {
            ui.error(&err);
            ExitCode::from(2)
        }
    }
}

/// sequoia reports expected conditions (a packet that is not what was tried) through anyhow,
/// which captures a backtrace for every such error when `RUST_BACKTRACE` is set: that cost a
/// third of `verify`'s time. Only library backtraces are turned off; panics still honour
/// `RUST_BACKTRACE`.
#[allow(unsafe_code)]
fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called first thing in main, before any thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}
