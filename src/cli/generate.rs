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
            ui.out(&completion_script(shell));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The completion script for `shell`, for both `git-gitian ...` and `git gitian ...`.
pub fn completion_script(shell: Shell) -> String {
    // Every function and case label is named from "git-gitian" (the clap command's bin name
    // "git gitian" has a space, which the generators turn into names that do not match).
    let mut cmd = with_bin_names(super::command().name("git-gitian"), "git-gitian");
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "git-gitian", &mut buf);
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => {
            text = bash_handler_labels(&text);
            text.push_str(GIT_BASH_SHIM);
        }
        Shell::Zsh => text.push_str(GIT_ZSH_NOTE),
        _ => {}
    }
    ledger_aware(shell, &text)
}

/// Release (or signer) names of the sigs repository completion would use: git config
/// gitian.sigs, else the repository around the current directory; nothing when there is none.
pub fn ledger_names(what: &str) -> String {
    let Ok(cwd) = std::env::current_dir() else { return String::new() };
    let sigs = crate::config::GitConfig::load(&cwd)
        .path(crate::config::SIGS, &cwd)
        .or_else(|| crate::git::repo::Repo::discover(&cwd).map(|r| r.workdir().to_path_buf()));
    let Some(sigs) = sigs else { return String::new() };
    let releases = crate::ops::status::ledger_releases(&sigs);
    let mut names: Vec<String> = if what == "signers" {
        releases.into_iter().flat_map(|(_, s)| s).collect()
    } else {
        releases.into_iter().map(|(r, _)| r).collect()
    };
    names.sort();
    names.dedup();
    names.into_iter().map(|n| n + "\n").collect()
}

/// Completion of `-r` and `-s`/`-c` values: the ledger's names, from the hidden `__names`
/// command, instead of file names.
fn ledger_aware(shell: Shell, text: &str) -> String {
    const RELEASES: &str = "$(git-gitian __names releases 2>/dev/null)";
    const SIGNERS: &str = "$(git-gitian __names signers 2>/dev/null)";
    if shell == Shell::Zsh {
        return text
            .replace(":RELEASE:_default", &format!(":RELEASE:{{compadd -- {RELEASES}}}"))
            .replace(":SIGNER:_default", &format!(":SIGNER:{{compadd -- {SIGNERS}}}"));
    }
    if shell != Shell::Bash {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut handler = "";
    let mut names: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        if let Some(h) = line.strip_prefix("        git__gitian__subcmd__") {
            handler = h.trim_end().trim_end_matches(')');
        }
        let opt = line.trim();
        if line.starts_with("                -") && opt.ends_with(')') {
            let releases = matches!(opt, "--release)" | "-r)");
            let signers = matches!((handler, opt), ("sign" | "status", "--signer)" | "-s)"))
                || matches!((handler, opt), ("verify", "--compare-to)" | "-c)"));
            names = match (matches!(handler, "sign" | "verify" | "status"), releases, signers) {
                (true, true, _) => Some(RELEASES),
                (true, _, true) => Some(SIGNERS),
                _ => None,
            };
        }
        // Hidden commands are not offered.
        if opt.starts_with("opts=\"") {
            let words: Vec<&str> =
                line.split(' ').filter(|w| !matches!(*w, "generate" | "__names")).collect();
            out.push_str(&words.join(" "));
            continue;
        }
        match names {
            Some(words) if line.trim() == r#"COMPREPLY=($(compgen -f "${cur}"))"# => {
                out.push_str(&format!(
                    "                    COMPREPLY=($(compgen -W \"{words}\" -- \"${{cur}}\"))\n"
                ));
                names = None;
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// `cmd` and its subcommands named `bin`, `bin sub`, `bin sub subsub`.
fn with_bin_names(cmd: clap::Command, bin: &str) -> clap::Command {
    cmd.bin_name(bin).mut_subcommands(|sc| {
        let name = format!("{bin} {}", sc.get_name());
        with_bin_names(sc, &name)
    })
}

/// clap_complete's bash script names the root's handler `git__gitian` (`-` escaped as `__`)
/// but the subcommands' handlers `git__subcmd__gitian__subcmd__build` (`-` escaped as the
/// subcommand separator), while it dispatches to `git__gitian__subcmd__build`: the handler
/// labels are spelled as the dispatcher spells them.
fn bash_handler_labels(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("        git__subcmd__gitian__subcmd__") {
            Some(rest) if line.ends_with(")\n") => {
                out.push_str("        git__gitian__subcmd__");
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// git's bash completion loads `completions/git-gitian` and calls `_git_gitian` for
/// `git gitian <TAB>`, with its own `words`/`cword`: the line is re-presented as
/// `git-gitian ...` (after any `git -C dir` options) to the generated function. git completes
/// with `-o nospace`, so the words get their trailing space here.
const GIT_BASH_SHIM: &str = r#"
_git_gitian() {
    local i=1
    while [[ $i -lt $COMP_CWORD && "${COMP_WORDS[i]}" != gitian ]]; do
        i=$((i + 1))
    done
    local COMP_WORDS=("git-gitian" "${COMP_WORDS[@]:i+1}")
    local COMP_CWORD=$((COMP_CWORD - i))
    _git__gitian git-gitian "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    local k
    for k in "${!COMPREPLY[@]}"; do
        [[ "${COMPREPLY[k]}" == */ ]] || COMPREPLY[k]="${COMPREPLY[k]} "
    done
}
"#;

/// zsh's `_git` calls `_git-<command>` for a command it does not know, so `_git-gitian` serves
/// `git gitian <TAB>` as it is.
const GIT_ZSH_NOTE: &str = "\n# zsh's _git calls _git-gitian for `git gitian <TAB>`.\n";

/// Writes the man page of the tool and of every visible subcommand (and theirs) into `dir`.
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
    write_subcommand_pages(&cmd, "git-gitian", "git gitian", dir)
}

/// The page of each visible subcommand of `cmd` (named `page-sub`), recursively.
fn write_subcommand_pages(
    cmd: &clap::Command,
    page: &str,
    bin: &str,
    dir: &Path,
) -> Result<(), CliError> {
    for sub in pages_below(cmd) {
        let name = format!("{page}-{}", sub.get_name());
        let sub_bin = format!("{bin} {}", sub.get_name());
        let sub =
            sub.clone().name(name.clone()).bin_name(sub_bin.clone()).display_name(name.clone());
        render_page(&sub, &name, dir)?;
        write_subcommand_pages(&sub, &name, &sub_bin, dir)?;
    }
    Ok(())
}

/// The subcommands that get a page: visible ones, not clap's `help`.
fn pages_below(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// SYNOPSIS with the value each option takes (`[-s|--signer <SIGNER>]`), which clap_mangen's
/// own leaves out.
fn synopsis(cmd: &clap::Command) -> String {
    use clap_mangen::roff::{Roff, bold, italic, roman};
    let mut line = vec![bold(cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string())];
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let takes_value = arg.get_action().takes_values();
        let values: Vec<String> = arg
            .get_value_names()
            .map(|v| v.iter().map(|n| n.to_string()).collect())
            .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
        let repeat = matches!(arg.get_action(), clap::ArgAction::Append)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let dots = if repeat { "..." } else { "" };
        let (open, close) = if arg.is_required_set() { ("", "") } else { ("[", "]") };
        line.push(roman(format!(" {open}")));
        if arg.is_positional() {
            line.push(italic(format!("<{}>", values.join(" "))));
            line.push(roman(format!("{dots}{close}")));
            continue;
        }
        let mut names = Vec::new();
        if let Some(s) = arg.get_short() {
            names.push(format!("-{s}"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("--{l}"));
        }
        line.push(bold(names.join("|")));
        if takes_value {
            line.push(roman(" "));
            line.push(italic(format!("<{}>", values.join(" "))));
        }
        line.push(roman(format!("{close}{dots}")));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        line.push(roman(" "));
        line.push(italic("<COMMAND>"));
    }
    let mut r = Roff::new();
    r.control("SH", ["SYNOPSIS"]);
    r.text(line);
    r.to_roff()
}

fn render_page(cmd: &clap::Command, name: &str, dir: &Path) -> Result<(), CliError> {
    let man = clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section("1")
        .source(format!("git-gitian {}", env!("CARGO_PKG_VERSION")))
        .manual("Git Manual");
    let fail = |e: std::io::Error| CliError::new(format!("cannot render man page {name}: {e}"));
    let mut buf = Vec::new();
    man.render_title(&mut buf).map_err(fail)?;
    man.render_name_section(&mut buf).map_err(fail)?;
    buf.extend_from_slice(synopsis(cmd).as_bytes());
    man.render_description_section(&mut buf).map_err(fail)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut buf).map_err(fail)?;
    }
    let subs: Vec<&clap::Command> = pages_below(cmd).collect();
    if !subs.is_empty() {
        let mut r = clap_mangen::roff::Roff::new();
        r.control("SH", ["COMMANDS"]);
        for sub in subs {
            r.control("TP", []);
            r.text([
                clap_mangen::roff::bold(format!("{name}-{}", sub.get_name())),
                clap_mangen::roff::roman("(1)"),
            ]);
            r.text([clap_mangen::roff::roman(
                sub.get_about().map(|a| a.to_string()).unwrap_or_default(),
            )]);
        }
        buf.extend_from_slice(r.to_roff().as_bytes());
    }
    if cmd.get_after_long_help().is_some() {
        let mut extra = Vec::new();
        man.render_extra_section(&mut extra).map_err(fail)?;
        let extra = String::from_utf8_lossy(&extra).replacen(".SH EXTRA", ".SH OUTPUT", 1);
        buf.extend_from_slice(extra.as_bytes());
    }
    buf.extend_from_slice(super::man_extra::render(name).as_bytes());
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))
}
