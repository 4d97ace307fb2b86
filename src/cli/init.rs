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
/// Writes README.md, .gitattributes (signed files stay byte-exact), builder-keys/ and the
/// policy file, and installs the hooks. Running it again changes nothing.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create the repository (default: the current directory)
    pub dir: Option<PathBuf>,
}

/// Runs `git gitian init`.
pub fn run(args: InitArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let dir = args.dir.map_or_else(|| cwd.clone(), |d| cwd.join(d));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let outcome = init::init(&dir, home.as_deref()).map_err(|e| match e {
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
    match &outcome.commit {
        Some((id, subject)) => ui.info(&format!("committed {} {subject}", &id[..id.len().min(12)])),
        None if outcome.written.is_empty() && !outcome.created_repo => {
            ui.info(&format!("{shown} is already a sigs repository: nothing to do"));
        }
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}
