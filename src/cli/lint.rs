//! `git gitian lint`: descriptors checked without building.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};
use crate::core::descriptor::{Descriptor, MAX_DESCRIPTOR_BYTES};

/// Check Gitian descriptors without building
///
/// Prints one summary line per valid descriptor and an `error:` line naming the file, line and
/// field for each invalid one. Exit status 1 when any descriptor is invalid.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Descriptor files
    #[arg(required = true)]
    pub descriptors: Vec<PathBuf>,
}

/// Runs `git gitian lint`: every file is checked, even after a bad one. Exit status 1 when a
/// descriptor is invalid, 2 when a file could not be read.
pub fn run(args: LintArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let mut invalid = false;
    let mut unreadable = false;
    for path in &args.descriptors {
        let shown = path.display().to_string();
        let bytes = match read_limited(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                ui.error(&CliError::new(format!("cannot read '{shown}': {e}")));
                unreadable = true;
                continue;
            }
        };
        let checked = Descriptor::check_bytes(&shown, &bytes);
        for warning in &checked.warnings {
            ui.warn(&warning.to_string());
        }
        for error in &checked.errors {
            let mut err = CliError::new(error.to_string());
            if let Some(hint) = &error.hint {
                err = err.hint(hint);
            }
            ui.error(&err);
        }
        match checked.descriptor {
            Some(d) => ui.out(&format!("ok: {shown}: {}\n", summary(&d))),
            None => invalid = true,
        }
    }
    Ok(ExitCode::from(if unreadable {
        2
    } else if invalid {
        1
    } else {
        0
    }))
}

/// `name, suites a b, architectures x, remotes r, N packages`.
fn summary(d: &Descriptor) -> String {
    let remotes = if d.remotes.is_empty() {
        "no remotes".to_owned()
    } else {
        let dirs: Vec<&str> = d.remotes.iter().map(|r| r.dir.as_str()).collect();
        format!("remotes {}", dirs.join(" "))
    };
    let packages = match d.packages.len() {
        1 => "1 package".to_owned(),
        n => format!("{n} packages"),
    };
    format!(
        "{}, suites {}, architectures {}, {remotes}, {packages}",
        d.name,
        d.suites.join(" "),
        d.architectures.join(" ")
    )
}

/// Reads at most one byte more than a descriptor may have, so a huge file is refused by the
/// parser with its line instead of being read whole.
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(MAX_DESCRIPTOR_BYTES + 1).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
