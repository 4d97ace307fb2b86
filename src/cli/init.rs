//! `git gitian init`: a new sigs repository from `sigs-template/`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};
use crate::git::repo::RepoError;
use crate::ops::hooks::HooksError;
use crate::ops::init::{self, InitError};

/// Create a sigs repository from the template, with hooks installed
///
/// In a new directory (or a repository without commits): creates the git repository, writes
/// README.md, .gitattributes (signed files stay byte-exact), builder-keys/README.md and
/// policy.yml (threshold 2), commits them, and installs the pre-commit and pre-push hooks.
///
/// In a repository that already has commits (a clone of an existing ledger): installs the hooks
/// and changes nothing else; it lists the template files the repository lacks. A policy file
/// changes every later verdict of `verify`, so it is added only with --policy; the other
/// template files only with --template.
///
/// Running it again changes nothing; a run that was killed is finished by the next one. Files
/// are created with your umask (0644 by default).
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create the repository [default: the current directory]
    pub dir: Option<PathBuf>,
    /// In a repository with commits: add and commit policy.yml (threshold 2) when missing
    #[arg(long)]
    pub policy: bool,
    /// In a repository with commits: add and commit the missing template files other than
    /// policy.yml
    #[arg(long)]
    pub template: bool,
}

/// Runs `git gitian init`.
pub fn run(args: InitArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let dir = args.dir.map_or_else(|| cwd.clone(), |d| cwd.join(d));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let opts = init::InitOptions { policy: args.policy, template: args.template };
    let outcome = init::init(&dir, home.as_deref(), opts).map_err(|e| match e {
        e @ InitError::Repo(RepoError::NoIdentity { .. }) => CliError::from(e)
            .hint("set it with `git config --global user.name 'Your Name'` and `git config --global user.email you@example.org`, then run `git gitian init` again"),
        e @ InitError::Hooks(HooksError::Script { .. }) => CliError::from(e)
            .hint("add `git gitian hooks run <hook> \"$@\"` to that hook yourself, or move it aside and run `git gitian init` again"),
        e => CliError::from(e),
    })?;
    let shown = outcome.dir.display();
    if outcome.created_repo {
        ui.info(&format!("created git repository {shown}"));
    }
    for f in &outcome.written {
        ui.info(&format!("wrote {f}"));
    }
    super::hooks::print_changes(ui, &outcome.hooks);
    for f in &outcome.not_added {
        let why = if f == init::POLICY {
            "a policy changes every verdict of this ledger (threshold 2); add it with --policy"
        } else {
            "add it with --template"
        };
        ui.info(&format!("not added {f}: this repository already has commits; {why}"));
    }
    match &outcome.commit {
        Some((id, subject)) => ui.info(&format!("committed {} {subject}", &id[..id.len().min(12)])),
        None if outcome.written.is_empty()
            && !outcome.created_repo
            && outcome.not_added.is_empty() =>
        {
            ui.info(&format!("{shown} is already a sigs repository: nothing to do"));
        }
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}
