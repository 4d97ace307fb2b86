//! `git gitian hooks`: the ledger's pre-commit and pre-push guards.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{CliError, Ui};
use crate::core::report::{self, Meta};
use crate::git::repo::Repo;
use crate::ops::hooks::{self, HookAction, HookChange, HooksError};

/// Install, remove or run the sigs repository's git hooks
///
/// pre-commit refuses a commit in which a staged attestation (*.assert, *.SHA256SUMS) does not
/// parse or has no signature (.sig, .asc) staged with it. pre-push verifies the ledger at the
/// pushed commit, for the releases the push touches, and refuses an added or changed
/// attestation whose signature does not hold against the keys in builder-keys/, or whose
/// outputs differ from what the other signers of its release agree on (the first signer of a
/// release always passes); it prints the verify table and names the differing artifacts.
/// `allow_disagreement: true` in policy.yml lets a disagreement through, to record it as
/// evidence.
///
/// The hooks are a block between `# >>> git-gitian >>>` and `# <<< git-gitian <<<` lines in
/// the hook files (core.hooksPath is respected); anything else in those files is yours and
/// stays through install and uninstall. `git commit --no-verify` and `git push --no-verify`
/// skip them once.
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
    ///
    /// Adds a block calling `git gitian hooks run` to .git/hooks/pre-commit and pre-push (or
    /// core.hooksPath), creating the files when missing and keeping anything else in them.
    /// Running it again changes nothing.
    Install {
        /// Repository (default: the current one)
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// Remove our block from the hooks, keeping your own hook text
    ///
    /// A hook file that held nothing but the block is removed; any other text in it stays as
    /// it is.
    Uninstall {
        /// Repository (default: the current one)
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// Run a hook (called by the installed hook scripts)
    ///
    /// pre-commit checks the staged attestations; pre-push verifies what the push adds against
    /// the ledger's keys and the other signers of each release (see git-gitian-hooks(1)).
    /// Exit status 1 refuses the commit or the push.
    Run {
        /// Hook name: pre-commit or pre-push
        hook: String,
        /// Arguments git passed to the hook
        args: Vec<String>,
    },
}

/// Runs `git gitian hooks`.
pub fn run(args: HooksArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match args.command {
        HooksCommand::Install { repo } => {
            let repo = open(repo)?;
            let changes = hooks::install(&repo, home.as_deref()).map_err(|e| match e {
                e @ HooksError::Script { .. } => CliError::from(e)
                    .hint("add `git gitian hooks run <hook> \"$@\"` to that hook yourself"),
                e => CliError::from(e),
            })?;
            print_changes(ui, &changes);
            Ok(ExitCode::SUCCESS)
        }
        HooksCommand::Uninstall { repo } => {
            let repo = open(repo)?;
            let changes = hooks::uninstall(&repo, home.as_deref())?;
            print_changes(ui, &changes);
            Ok(ExitCode::SUCCESS)
        }
        HooksCommand::Run { hook, args } => match hook.as_str() {
            "pre-commit" => pre_commit(ui),
            "pre-push" => pre_push(ui, &args),
            other => Err(CliError::new(format!("unknown hook '{other}'"))
                .hint("the hooks are pre-commit and pre-push")),
        },
    }
}

fn open(dir: Option<PathBuf>) -> Result<Repo, CliError> {
    match dir {
        Some(d) => Repo::discover(&d)
            .ok_or_else(|| CliError::new(format!("{} is not in a git work tree", d.display()))),
        None => Ok(Repo::open_from_env()?),
    }
}

/// One line per hook file that changed.
pub fn print_changes(ui: &mut Ui, changes: &[HookChange]) {
    for c in changes {
        let what = match c.action {
            HookAction::Created => "installed",
            HookAction::Updated => "installed into",
            HookAction::Unchanged => continue,
            HookAction::Stripped => "removed our block from",
            HookAction::Removed => "removed",
        };
        ui.info(&format!("{what} {}", c.path.display()));
    }
}

fn pre_commit(ui: &mut Ui) -> Result<ExitCode, CliError> {
    let repo = Repo::open_from_env()?;
    let problems = hooks::pre_commit(&repo)?;
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        ui.error(&CliError::new(format!("{}: {}", p.path, p.message)));
    }
    ui.error(
        &CliError::new("commit refused by the git-gitian pre-commit hook")
            .hint("`git gitian sign` writes an attestation with its signature and commits both")
            .hint("`git commit --no-verify` skips this check"),
    );
    Ok(ExitCode::from(1))
}

fn pre_push(ui: &mut Ui, args: &[String]) -> Result<ExitCode, CliError> {
    let repo = Repo::open_from_env()?;
    let remote = args.first().map(String::as_str).unwrap_or("");
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| CliError::new(format!("cannot read the refs git passes on stdin: {e}")))?;
    let refs = hooks::parse_push_lines(&input)?;
    let report = hooks::pre_push(&repo, remote, &refs)?;
    if report.judged.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let meta = Meta {
        at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        passed: report.passed(),
        problems: report.problems.clone(),
        warnings: report.warnings.clone(),
        keys_loaded: report.keys_loaded,
        ..Meta::default()
    };
    let table = report::table(&report.groups, &meta, ui.width());
    if !report.passed() {
        ui.out(&table);
    }
    for j in &report.judged {
        match (&j.refused, j.allowed_disagreement) {
            (Some(why), _) => ui.out(&format!("refused: {}: {why}\n", j.path)),
            (None, true) => ui.out(&format!(
                "recorded as evidence (policy allow_disagreement): {} differs on {}\n",
                j.path,
                j.differing.join(", ")
            )),
            (None, false) => ui.info(&format!("verified: {}", j.path)),
        }
    }
    if report.passed() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut err = CliError::new("push refused by the git-gitian pre-push hook");
    if report.judged.iter().any(|j| !j.differing.is_empty() && j.refused.is_some()) {
        err = err
            .hint("outputs that differ are a reproducibility problem: compare your build with the others' (see the table)")
            .hint("to record the disagreement as evidence, set `allow_disagreement: true` in policy.yml");
    }
    if report.judged.iter().any(|j| j.refused.as_deref().is_some_and(|r| r.contains("no_pubkey"))) {
        err = err.hint("add your public key as builder-keys/<signer>.asc in a commit of this push");
    }
    ui.error(&err.hint("`git push --no-verify` skips this check"));
    Ok(ExitCode::from(1))
}
