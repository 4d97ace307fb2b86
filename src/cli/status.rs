//! `git gitian status`: base images, the backend `auto` picks, what is built and not signed,
//! what the ledger has that you have not signed, your key, the hooks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};
use crate::config::{self, GitConfig};
use crate::ops::status::{self, KeyState, StatusInput};

/// Show what a builder wants to know at a glance
///
/// In a work dir and/or a sigs repository: the base images present and their age, which
/// backend `--backend auto` would pick and why, results in result/ that you have not signed,
/// releases of the ledger you have not signed, whether your key is usable (in your GnuPG,
/// not expired) and in the ledger's key folders, and whether the hooks are installed.
///
/// The sigs repository is -d, else the repository around the current directory when it holds
/// attestations, else git config gitian.sigs, else that repository; the signer is -s, else git
/// config gitian.signer. Nothing is changed
/// and nothing is fetched; exit status 0.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The sigs repository [default: the ledger around the current directory, else git config
    /// gitian.sigs]
    #[arg(short, long, value_name = "DEST")]
    pub destination: Option<PathBuf>,
    /// Your signer name [default: git config gitian.signer]
    #[arg(short, long)]
    pub signer: Option<String>,
    /// Folder of base images [default: git config gitian.baseDir, else
    /// $XDG_CACHE_HOME/git-gitian/base]
    #[arg(long, value_name = "DIR", env = "GITIAN_BASE_DIR")]
    pub base_dir: Option<PathBuf>,
}

/// Runs `git gitian status`.
pub fn run(args: StatusArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let config = GitConfig::load(&cwd);
    let sigs = args.destination.map(|d| cwd.join(d)).or_else(|| default_ledger(&cwd, &config));
    let input = StatusInput {
        workdir: cwd.clone(),
        sigs: sigs.clone(),
        signer: args.signer.or_else(|| config.get(config::SIGNER).map(str::to_string)),
        base_dir: args
            .base_dir
            .or_else(|| config.path(config::BASE_DIR, &cwd))
            .unwrap_or_else(config::default_base_dir),
        home: std::env::var_os("HOME").map(PathBuf::from),
    };
    let st = status::status(&input);
    ui.out(&render(&input, &st));
    Ok(ExitCode::SUCCESS)
}

/// The ledger to read when -d is not given: the repository around `cwd` when it holds
/// attestations (you are in a ledger), else git config gitian.sigs, else that repository.
pub(crate) fn default_ledger(cwd: &std::path::Path, config: &GitConfig) -> Option<PathBuf> {
    let around = crate::git::ledger::discover(cwd);
    match around {
        Some(r) if !status::ledger_releases(&r).is_empty() => Some(r),
        around => config.path(config::SIGS, cwd).or(around),
    }
}

fn age(d: Option<std::time::Duration>) -> String {
    let Some(d) = d else { return "made in the future?".into() };
    let s = d.as_secs();
    match s {
        0..=119 => "made just now".into(),
        120..=7199 => format!("made {} minutes ago", s / 60),
        7200..=172_799 => format!("made {} hours ago", s / 3600),
        _ => format!("made {} days ago", s / 86_400),
    }
}

fn render(input: &StatusInput, st: &status::Status) -> String {
    let mut out = format!("base images in {}:\n", input.base_dir.display());
    if st.base_images.is_empty() {
        out.push_str("  none (make one with `git gitian make-base`)\n");
    }
    for b in &st.base_images {
        out.push_str(&format!("  {}  {}\n", b.name, age(b.age)));
    }
    match &st.auto {
        Ok(choice) => {
            let names: Vec<&str> = choice.backends.iter().map(|b| b.name()).collect();
            out.push_str(&format!("backend auto: {}\n", names.join(", ")));
            for n in &choice.notes {
                out.push_str(&format!("  {n}\n"));
            }
        }
        Err(why) => out.push_str(&format!("backend auto: none can run: {why}\n")),
    }
    match &input.sigs {
        Some(s) => {
            out.push_str(&format!("sigs repository: {} ({} releases)\n", s.display(), st.releases))
        }
        None => out.push_str(
            "sigs repository: none (pass -d, or `git config --global gitian.sigs PATH`)\n",
        ),
    }
    let Some(signer) = &input.signer else {
        out.push_str("signer: unknown (pass -s, or `git config --global gitian.signer NAME`)\n");
        return out + &hooks(st);
    };
    out.push_str(&format!("signer: {signer}\n"));
    match &st.key {
        KeyState::NoSigner => {}
        KeyState::NoUsableKey(why) => out.push_str(&format!("  key: no usable secret key: {why}\n")),
        KeyState::Usable { fingerprint, in_ledger: Some(file) } => {
            out.push_str(&format!("  key: {fingerprint}, in the ledger as {file}\n"));
        }
        KeyState::Usable { fingerprint, in_ledger: None } => out.push_str(&format!(
            "  key: {fingerprint}, not in the ledger's key folders (add it as builder-keys/{signer}.asc)\n"
        )),
    }
    if st.unsigned_results.is_empty() {
        out.push_str("  built and not signed: nothing\n");
    } else {
        out.push_str(&format!("  built and not signed: {}\n", st.unsigned_results.join(", ")));
    }
    match st.releases_not_signed.len() {
        0 => out.push_str("  releases you have not signed: none\n"),
        n => {
            let shown: Vec<&str> =
                st.releases_not_signed.iter().rev().take(10).map(String::as_str).collect();
            let more = if n > 10 { format!(" and {} more", n - 10) } else { String::new() };
            out.push_str(&format!(
                "  releases you have not signed ({n}): {}{more}\n",
                shown.join(", ")
            ));
        }
    }
    out + &hooks(st)
}

fn hooks(st: &status::Status) -> String {
    if st.hooks.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = st
        .hooks
        .iter()
        .map(|(name, on)| format!("{name} {}", if *on { "installed" } else { "not installed" }))
        .collect();
    let mut out = format!("hooks: {}\n", parts.join(", "));
    if st.hooks.iter().any(|(_, on)| !on) {
        out.push_str("  install them with `git gitian hooks install`\n");
    }
    out
}
