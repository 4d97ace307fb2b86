//! Hidden `git gitian generate`: man pages and shell completions from the CLI definition.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use clap_complete::Shell;

use super::{CliError, Ui};

/// Generate man pages or shell completions
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate
    #[command(subcommand)]
    pub what: GenerateWhat,
}

/// Generated artefacts.
#[derive(Debug, Subcommand)]
pub enum GenerateWhat {
    /// Write git-gitian.1 and git-gitian-<subcommand>.1 into DIR
    Man {
        /// Output folder
        dir: PathBuf,
    },
    /// Print a completion script
    Completions {
        /// Shell
        shell: Shell,
    },
}

/// Runs `git gitian generate`.
pub fn run(args: GenerateArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    match args.what {
        GenerateWhat::Man { dir } => {
            write_man_pages(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
        GenerateWhat::Completions { shell } => {
            let mut cmd = super::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "git-gitian", &mut buf);
            if shell == Shell::Bash {
                // `git gitian <TAB>` goes through git's completion, which calls _git_gitian.
                buf.extend_from_slice(GIT_BASH_SHIM.as_bytes());
            }
            ui.out(&String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
    }
}

const GIT_BASH_SHIM: &str = r#"
# git's own completion calls _git_<subcommand> for `git gitian <TAB>`.
_git_gitian() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local words=("git-gitian" "${COMP_WORDS[@]:2}")
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$((COMP_CWORD - 1))
    _git-gitian "git-gitian" "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

/// Writes the man page of the tool and of every visible subcommand into `dir`.
pub fn write_man_pages(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
    let cmd = super::command().name("git-gitian");
    render_page(&cmd, "git-gitian", dir)?;
    // git turns `git gitian --help` into `man gitian`: its help treats any name starting with
    // "git" as a page name already. A `.so` page sends man to git-gitian(1).
    let alias = dir.join("gitian.1");
    std::fs::write(&alias, ".so man1/git-gitian.1\n")
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", alias.display())))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("git-gitian-{}", sub.get_name());
        let sub = sub.clone().name(name.clone()).bin_name(format!("git gitian {}", sub.get_name()));
        let sub = sub.display_name(name.clone());
        render_page(&sub, &name, dir)?;
    }
    Ok(())
}

fn render_page(cmd: &clap::Command, name: &str, dir: &Path) -> Result<(), CliError> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section("1")
        .source(format!("git-gitian {}", env!("CARGO_PKG_VERSION")))
        .manual("Git Manual")
        .render(&mut buf)
        .map_err(|e| CliError::new(format!("cannot render man page {name}: {e}")))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))
}
