//! `git gitian diff A B`: what differs between two builds, down inside their archives.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};
use crate::core::diff::render;
use crate::ops::diff::{DiffError, DiffOptions, diff_paths};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One row per thing that differs, then line diffs and diffoscope output
    Table,
    /// Schema git-gitian/diff/v1 (docs/diff.md)
    Json,
}

/// Shown after the options in `--help` and the man page: a diff of two builds.
const EXAMPLE: &str = "\
Example: two builds of one package, made two seconds apart, after `git gitian normalize`
removed their archive metadata (member mtimes); the program embeds its build time:

  $ git gitian diff a/build/out b/build/out
  ┌────────────────┬────────────────┬────────────────┬───────────────┐
  │ entry          ┆ what differs   ┆ A              ┆ B             │
  ╞════════════════╪════════════════╪════════════════╪═══════════════╡
  │ hello-1.0.tar. ┆ content        ┆ 2346 bytes     ┆ 2344 bytes    │
  │ gz             ┆                ┆ blake3         ┆ blake3        │
  │                ┆                ┆ 3795224a0359   ┆ 850f46e7f1c5  │
  │ hello-1.0.tar. ┆ content        ┆ 15960 bytes    ┆ 15960 bytes   │
  │ gz!/hello-1.0/ ┆                ┆ blake3         ┆ blake3        │
  │ bin/hello      ┆                ┆ 921e800081fb   ┆ 93280d53b6c8  │
  │                ┆ section .note. ┆ 36 bytes       ┆ 36 bytes      │
  │                ┆ gnu.build-id   ┆                ┆ first differs │
  │                ┆                ┆                ┆ at +0x10      │
  │                ┆ section        ┆ 19 bytes       ┆ 19 bytes      │
  │                ┆ .rodata        ┆                ┆ first differs │
  │                ┆                ┆                ┆ at +0x11      │
  └────────────────┴────────────────┴────────────────┴───────────────┘
  differ: 2 entries differ (6 compared)
";

/// Show what differs between two builds, down inside their archives
///
/// A and B are two files, two directories (e.g. two build/out), two result files (*-res.yml:
/// their manifests, then the outputs in build/out beside them when those are the files the
/// manifests name), or two build folders (a directory holding build/out and result/*-res.yml:
/// a Gitian work directory, or a build `git gitian check` keeps in var/check/<build-name>/),
/// compared as their result files (a kept build holding out/ and manifest instead: by its
/// out/). Files are hashed first and looked inside only when their hashes
/// differ; tar, gzip, xz, bzip2, zstd, zip/jar and ar/deb are read as streams, never extracted,
/// and archives inside archives are followed. For each differing entry it names what differs:
/// content, size, mtime, mode, owner/group, member order, link target, the compression header
/// only, or presence on one side; for ELF files the sections that differ, for text a unified
/// diff.
///
/// Exit status: 0 when A and B are the same, 1 when they differ, 2 when they could not be
/// compared.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLE)]
pub struct DiffArgs {
    /// First build: a file, a directory, a result file or a build folder
    pub a: PathBuf,
    /// Second build, of the same kind
    pub b: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Also run diffoscope on each differing member (not on whole archives), when installed
    #[arg(long)]
    pub deep: bool,
    /// Seconds diffoscope may take per member
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub deep_timeout: u64,
    /// Follow archives inside archives at most this deep
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_depth: usize,
    /// Lines of unified diff shown per text file (the rest are counted)
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_lines: usize,
}

/// Runs `git gitian diff`.
pub fn run(args: DiffArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let opts = DiffOptions {
        max_depth: args.max_depth,
        max_text_lines: args.max_lines,
        deep: args.deep,
        deep_timeout: Duration::from_secs(args.deep_timeout),
        ..DiffOptions::default()
    };
    let report = diff_paths(&args.a, &args.b, &opts).map_err(|e| {
        let hint = match &e {
            DiffError::Mismatch { .. } => Some(
                "give two files, two directories, two *-res.yml result files or two build folders",
            ),
            _ => None,
        };
        let err = CliError::new(e.to_string());
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    })?;
    let text = match args.format {
        DiffFormat::Table => render::table(&report, ui.width()),
        DiffFormat::Json => render::json(&report),
    };
    ui.out(&text);
    Ok(ExitCode::from(if report.same() { 0 } else { 1 }))
}
