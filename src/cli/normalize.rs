//! `git gitian normalize FILE...`: archive metadata that should not differ between builds
//! removed in place (or, with --check, only reported).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Ui};
use crate::core::archive::{Clamp, parse_time};
use crate::core::descriptor::Descriptor;
use crate::ops::normalize::{Format, Options, normalize_file};

/// Remove archive metadata that should not differ between builds
///
/// tar: member mtimes capped, members sorted by path, owner/group names and ids zeroed, PAX
/// time records made deterministic. gzip: no stored name, mtime capped, OS byte 3. A .tar.gz
/// is recompressed with one fixed setting (--gzip-level), a .tar.xz with xz -6. zip/jar:
/// members sorted, DOS and extended timestamps capped, Unix extra fields dropped, modes
/// 644/755; signed jars are left alone with a warning. ar: mtimes capped, uid/gid 0, modes
/// 644/755.
///
/// Timestamps later than the given time are lowered to it (capping); --overwrite sets every
/// one to it. The time is --time, else the descriptor's reference_datetime (--descriptor),
/// else SOURCE_DATE_EPOCH. Each file is rewritten atomically, keeping its permissions and
/// modification time, and only when something changes.
///
/// Exit status: 0 when done (with --check: when every file already is normal), 1 with --check
/// when a file would change, 2 when a file could not be normalised.
#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// Archives to normalise
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Only report what would change; write nothing
    #[arg(long)]
    pub check: bool,
    /// Set every timestamp to the time instead of capping later ones
    #[arg(long)]
    pub overwrite: bool,
    /// The time: Unix seconds or UTC "YYYY-MM-DD HH:MM:SS"
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// Take the time from this descriptor's reference_datetime, and the formats from its
    /// normalize: list when it has one (as the build does)
    #[arg(long, value_name = "FILE")]
    pub descriptor: Option<PathBuf>,
    /// Deflate level of a recompressed .tar.gz
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub gzip_level: u32,
    /// Only these formats (comma-separated: tar, gzip, zip, ar); default: the descriptor's
    /// normalize: list, else all
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub only: Vec<String>,
}

fn clamp_time(args: &NormalizeArgs, desc: Option<&(String, Descriptor)>) -> Result<i64, CliError> {
    if let Some(t) = &args.time {
        return parse_time(t).ok_or_else(|| {
            CliError::new(format!("--time '{t}' is not a time"))
                .hint("give Unix seconds or \"YYYY-MM-DD HH:MM:SS\" (UTC)")
        });
    }
    if let Some((shown, d)) = desc {
        return descriptor_time(shown, d);
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => parse_time(&v).ok_or_else(|| {
            CliError::new(format!("SOURCE_DATE_EPOCH '{v}' is not a number of seconds"))
        }),
        Err(_) => Err(CliError::new("no time to cap timestamps at")
            .hint("give --time, --descriptor with a reference_datetime, or set SOURCE_DATE_EPOCH")),
    }
}

fn read_descriptor(path: &Path) -> Result<(String, Descriptor), CliError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::new(format!("cannot read descriptor {shown}: {e}")))?;
    let d = Descriptor::parse_bytes(&shown, &bytes)
        .map_err(|e| CliError::new(format!("descriptor {e}")))?;
    Ok((shown, d))
}

fn descriptor_time(shown: &str, d: &Descriptor) -> Result<i64, CliError> {
    let t = d.reference_datetime.as_deref().ok_or_else(|| {
        CliError::new(format!("descriptor {shown} has no reference_datetime"))
            .hint("give --time or set SOURCE_DATE_EPOCH")
    })?;
    parse_time(t).ok_or_else(|| {
        CliError::new(format!("descriptor {shown}: reference_datetime '{t}' is not a time"))
    })
}

/// The formats: --only, else the descriptor's `normalize:` list, else all of them.
fn formats(
    args: &NormalizeArgs,
    desc: Option<&(String, Descriptor)>,
) -> Result<Vec<Format>, CliError> {
    let mut formats = Vec::new();
    for name in &args.only {
        formats.push(Format::parse(name).ok_or_else(|| {
            CliError::new(format!("--only: unknown format '{name}'"))
                .hint("formats: tar, gzip, zip, ar")
        })?);
    }
    if formats.is_empty()
        && let Some((_, d)) = desc
    {
        formats = d.normalize.iter().filter_map(|n| Format::parse(n)).collect();
    }
    if formats.is_empty() {
        formats = Format::ALL.to_vec();
    }
    Ok(formats)
}

/// Runs `git gitian normalize`.
pub fn run(args: NormalizeArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let desc = args.descriptor.as_deref().map(read_descriptor).transpose()?;
    let time = clamp_time(&args, desc.as_ref())?;
    crate::process::catch_interrupts();
    let formats = formats(&args, desc.as_ref())?;
    let chosen = (formats.len() < Format::ALL.len())
        .then(|| formats.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "));
    let opts = Options {
        clamp: Clamp { time, overwrite: args.overwrite },
        check: args.check,
        gzip_level: args.gzip_level,
        formats,
    };
    let (mut failed, mut would_change) = (false, false);
    for path in &args.files {
        if crate::process::interrupted() {
            return Err(CliError::new("interrupted; the files not yet normalised are unchanged"));
        }
        let shown = path.display();
        match normalize_file(path, &opts) {
            Err(e) => {
                ui.error(&CliError::new(format!("cannot normalise {e}")));
                failed = true;
            }
            Ok(o) => match (&o.format, &o.skipped) {
                (None, _) => {
                    let err = match &chosen {
                        None => CliError::new(format!("{shown}: not an archive normalize handles")),
                        Some(list) => CliError::new(format!(
                            "{shown}: not an archive of the formats chosen ({list})"
                        )),
                    };
                    ui.error(
                        &err.hint(
                            "normalize handles tar, tar.gz, tar.xz, gzip, zip/jar and ar/deb",
                        ),
                    );
                    failed = true;
                }
                (Some(f), Some(why)) => ui.warn(&format!("{shown} ({f}) left alone: {why}")),
                (Some(f), None) if o.changes.is_empty() => {
                    ui.out(&format!("already normal: {shown} ({f})\n"))
                }
                (Some(f), None) => {
                    would_change = true;
                    let verb = if args.check { "would normalise" } else { "normalised" };
                    ui.out(&format!("{verb}: {shown} ({f}): {}\n", o.changes.join(", ")));
                }
            },
        }
    }
    Ok(ExitCode::from(if failed {
        2
    } else if args.check && would_change {
        1
    } else {
        0
    }))
}
