//! Command line: argv -> workflow -> output. The only layer that knows clap or prints.

pub mod build;
pub mod check;
pub mod diff;
pub mod error;
pub mod generate;
pub mod gitian_compat;
pub mod hooks;
pub mod init;
pub mod lint;
pub mod make_base;
pub mod man_extra;
pub mod normalize;
pub mod sign;
pub mod status;
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
    // The subcommands' help comes from their argument structs' doc comments (a comment here
    // would replace their long description).
    Build(build::BuildArgs),
    Check(check::CheckArgs),
    MakeBase(make_base::MakeBaseArgs),
    Sign(sign::SignArgs),
    Verify(verify::VerifyArgs),
    Lint(lint::LintArgs),
    Status(status::StatusArgs),
    Diff(diff::DiffArgs),
    Normalize(normalize::NormalizeArgs),
    Init(init::InitArgs),
    Hooks(hooks::HooksArgs),
    /// Print the shell completion script for bash, zsh or fish
    ///
    /// The script completes both `git gitian ...` and `git-gitian ...`: subcommands, options
    /// and their values. scripts/install installs it; to load it by hand:
    /// `source <(git gitian completions bash)` in ~/.bashrc, or
    /// `git gitian completions zsh > ~/.zfunc/_git-gitian` with ~/.zfunc in $fpath.
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Generate man pages or shell completions
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
    /// The release or signer names of the sigs repository, one a line (for shell completion)
    #[command(hide = true, name = "__names")]
    Names {
        /// releases or signers
        #[arg(value_parser = ["releases", "signers"])]
        what: String,
    },
}

/// The clap command, for man pages and completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs one parsed command line.
pub fn run(cli: Cli, ui: &mut Ui) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Build(args) => build::run(args, ui),
        Command::Check(args) => check::run(args, ui),
        Command::MakeBase(args) => make_base::run(args, ui),
        Command::Sign(args) => sign::run(args, ui),
        Command::Verify(args) => verify::run(args, ui),
        Command::Lint(args) => lint::run(args, ui),
        Command::Status(args) => status::run(args, ui),
        Command::Diff(args) => diff::run(args, ui),
        Command::Normalize(args) => normalize::run(args, ui),
        Command::Init(args) => init::run(args, ui),
        Command::Hooks(args) => hooks::run(args, ui),
        Command::Completions { shell } => {
            ui.out(&generate::completion_script(shell));
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate(args) => generate::run(args, ui),
        Command::Names { what } => {
            ui.out(&generate::ledger_names(&what));
            Ok(ExitCode::SUCCESS)
        }
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
            if let Some(hint) = gitian_hint(&e) {
                eprintln!("hint: {hint}");
            }
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

/// For an argument or subcommand clap refused that is Gitian's: what to use instead.
fn gitian_hint(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let key = match e.kind() {
        ErrorKind::UnknownArgument => ContextKind::InvalidArg,
        ErrorKind::InvalidSubcommand => ContextKind::InvalidSubcommand,
        _ => return None,
    };
    let Some(ContextValue::String(arg)) = e.get(key) else { return None };
    let args: Vec<String> = std::env::args().collect();
    gitian_compat::hint(gitian_compat::subcommand_of(&args), arg)
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
