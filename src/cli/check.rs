//! `git gitian check`: is the descriptor reproducible, and if not, which variation breaks it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::build::{Accel, BackendNames, UiProgress, build_error, memory_arg, plan_error};
use super::{CliError, Ui};
use crate::config::GitConfig;
use crate::core::check::parse_spec;
use crate::core::check::report::Verdict;
use crate::core::limits::LimitSpec;
use crate::guest::{Guest, kvm, process, select};
use crate::ops::{base, build, check, fetch, plan};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// The variations table, the builds, the differing files and the culprits
    Text,
    /// Schema git-gitian/check/v1 (docs/check.md)
    Json,
}

/// Shown after the options in `--help` and the man page.
const EXAMPLE: &str = "\
Example: a descriptor whose script writes `date -d @1614834367 +%Y-%m-%dT%H:%M:%S%z` into its
output (so its bytes follow TZ); 9 builds, about 2 s on the sandbox:

  $ git gitian check -q --backend sandbox tests/fixtures/check/timezone.yml
  ...
  differing files (control-1 vs experiment-1):
    stamp.txt
      control-1     d17d8dcf136fa4ff6e2c7c580c80d9d1bd1d3323a1e28e8d1f87899c383975c2
      experiment-1  1e01a2623199c65e59cb7579920d10a677ba477140ca6ca099be52b539ef44dc

  culprit: timezone: stamp.txt
  verdict: not reproducible
  outputs of every build: var/check/<build-name>/out
";

/// Rebuild a descriptor under varied conditions and name what breaks reproducibility
///
/// Builds the descriptor in one guest (packages installed once) as a control, twice, then with
/// every selected variation at once, and compares the out manifests. Two controls that differ
/// make the build flaky: no variation is blamed. When the varied build differs, delta
/// debugging over the variations, in a fixed order, finds the smallest sets that still make it
/// differ and names them (`culprit: locale + shell (only together)`); a surprising result
/// builds the control again. The variations: clock, timezone, locale, umask, hostname,
/// build_path, fileordering, num_cpus, kernel, user, home, shell, environment, exec_path;
/// the report gives each one's control and experiment values, and says which the backend
/// cannot apply and why. Every build's outputs and log are kept in var/check/<build-name>/,
/// and the JSON report in var/check/report.json.
///
/// Exit status: 0 when reproducible under every tested variation, 1 when not reproducible
/// (culprit named) or flaky, 2 when the check could not run.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLE)]
pub struct CheckArgs {
    /// The Gitian descriptor (YAML), with one suite and one architecture
    pub descriptor: PathBuf,
    /// Which variations: a comma list of NAME, +NAME, -NAME, all; a list that starts with
    /// -NAME starts from all (`-kernel` is every variation but kernel)
    #[arg(long, value_name = "SPEC", default_value = "+all", allow_hyphen_values = true)]
    pub variations: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Commits to build: DIR=COMMIT[,DIR=COMMIT...] (the descriptor's own commit wins)
    #[arg(short, long, value_name = "PAIRS")]
    pub commit: Option<String>,
    /// Remote URLs: DIR=URL[,DIR=URL...] (overrides the descriptor)
    #[arg(short, long, value_name = "PAIRS")]
    pub url: Option<String>,
    /// Parallel make jobs inside the guest
    #[arg(short = 'j', long = "num-make", value_name = "PROCS", default_value_t = 2)]
    pub num_make: u32,
    /// Memory of the guest, in MiB or with a unit (8G); default: the descriptor's
    /// `limits: {memory: ...}`, else 4096 MiB
    #[arg(short, long, value_name = "SIZE", value_parser = memory_arg)]
    pub memory: Option<u64>,
    /// No network git operations: check out the commit in the existing clone
    #[arg(long)]
    pub skip_fetch: bool,
    /// Guest backend: kvm, lxc, sandbox, docker, podman, vbox or auto
    /// [default: git config gitian.backend, else auto]
    #[arg(long, value_name = "BACKEND", value_parser = BackendNames, hide_possible_values = true)]
    pub backend: Option<String>,
    /// QEMU accelerator for the kvm backend
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    pub accel: Accel,
    /// Folder of base images [default: git config gitian.baseDir, else
    /// $XDG_CACHE_HOME/git-gitian/base]
    #[arg(long, value_name = "DIR", env = "GITIAN_BASE_DIR")]
    pub base_dir: Option<PathBuf>,
    /// No progress lines
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `git gitian check`.
pub fn run(args: CheckArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    ui.quiet |= args.quiet;
    let variations = parse_spec(&args.variations)
        .map_err(|e| CliError::new(e.to_string()).hint(e.hint.clone()))?;
    let workdir = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let config = GitConfig::load(&workdir);
    let configured_base = config.path(crate::config::BASE_DIR, &workdir);
    let base_dir_given = args.base_dir.is_some() || configured_base.is_some();
    let opts = build::BuildOptions {
        descriptor: args.descriptor.clone(),
        commits: args.commit.as_deref().map(fetch::parse_pairs).unwrap_or_default(),
        urls: args.url.as_deref().map(fetch::parse_pairs).unwrap_or_default(),
        num_make: args.num_make,
        limits: LimitSpec { memory_mib: args.memory, processes: None, disk_mib: None },
        upgrade: false,
        cache_read_only: true,
        fetch: fetch::FetchOptions { skip_fetch: args.skip_fetch, ..Default::default() },
        allow_sudo: false,
        base_dir: args.base_dir.clone().or(configured_base).unwrap_or_else(base::default_base_dir),
        base_dir_given,
    };
    let plan = plan::plan(&plan::PlanInput {
        descriptor: &opts.descriptor,
        commits: &opts.commits,
        urls: &opts.urls,
        base_dir: &opts.base_dir,
        base_dir_given,
        skip_fetch: args.skip_fetch,
    })
    .map_err(plan_error)?;
    let mut guest = open_backend(&args, &config, &plan, ui)?;
    process::catch_interrupts();
    let _lock = build::lock(&workdir).map_err(build_error)?;
    let opts = check::CheckOptions { build: opts, variations };
    let report = {
        let mut progress = UiProgress { ui: &mut *ui, start: std::time::Instant::now() };
        check::check(&workdir, &opts, guest.as_mut(), &mut progress)
    };
    drop(guest);
    let report = report.map_err(build_error)?;
    match args.format {
        CheckFormat::Text => {
            ui.out(&report.render_text());
            if !report.differing.is_empty() {
                ui.out(&inside(&workdir, &report, ui.width()));
            }
        }
        CheckFormat::Json => {
            let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
            ui.out(&format!("{text}\n"));
        }
    }
    Ok(match report.verdict {
        Verdict::Reproducible => ExitCode::SUCCESS,
        Verdict::NotReproducible | Verdict::Flaky => ExitCode::from(1),
    })
}

/// What differs inside the differing files, as `git gitian diff` of the first control build
/// and the build it was compared with shows it (a line saying why when it cannot).
fn inside(
    workdir: &std::path::Path,
    report: &crate::core::check::report::Report,
    width: Option<u16>,
) -> String {
    let a = format!("{}/control-1", report.outputs);
    let b = format!("{}/{}", report.outputs, report.compared_with);
    let opts = crate::ops::diff::DiffOptions::default();
    match crate::ops::diff::diff_paths(&workdir.join(&a), &workdir.join(&b), &opts) {
        Ok(diff) => format!(
            "\ninside the differing files (git gitian diff {a} {b}):\n{}",
            crate::core::diff::render::table(&diff, width)
        ),
        Err(e) => format!("\ncannot look inside the differing files: {e}\n"),
    }
}

/// The one backend the check runs on.
fn open_backend(
    args: &CheckArgs,
    config: &GitConfig,
    plan: &plan::Plan,
    ui: &mut Ui,
) -> Result<Box<dyn Guest>, CliError> {
    let (_, selection, choice) = super::build::choose(args.backend.as_deref(), config, plan)?;
    if matches!(selection, select::Selection::All) || choice.backends.len() > 1 {
        return Err(CliError::new("check runs on one backend").hint(
            "pass --backend with one backend; `git gitian build --backend all` compares backends",
        ));
    }
    for note in &choice.notes {
        ui.info(note);
    }
    match choice.backends[0] {
        select::Backend::Kvm => {
            let accel = match args.accel {
                Accel::Kvm => kvm::Accel::Kvm,
                Accel::Tcg => kvm::Accel::Tcg,
                Accel::Auto => kvm::Accel::Auto,
            };
            Ok(Box::new(kvm::Kvm::new(accel, Some(base::default_kvm_probe()))))
        }
        other => select::open(other).map_err(|e| CliError::new(e.to_string())),
    }
}
