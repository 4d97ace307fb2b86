//! `git gitian build`: a descriptor built in a fresh guest.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};
use crate::core::assertion::Document;
use crate::core::descriptor::Descriptor;
use crate::core::limits::{LimitSpec, Which};
use crate::core::manifest::Manifest;
use crate::guest::{Guest, kvm, process, select};
use crate::ops::{base, build, fetch, matrix};

/// QEMU accelerator choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Accel {
    /// Hardware virtualisation; fails when the guest kernel cannot run under it
    Kvm,
    /// Software emulation
    Tcg,
    /// KVM when it really boots a guest, else TCG with a warning
    Auto,
}

/// Build a Gitian descriptor in a fresh guest and write result/<name>-res.yml
///
/// Runs in the current directory with Gitian's folders: inputs/ (files and git remotes),
/// build/ (build/out holds the outputs), result/, var/ (logs) and cache/. Each suite x
/// architecture gets a pristine copy-on-write guest over the base image made by
/// `git gitian make-base`; packages are installed from the mirror first, then the script runs
/// with no network at all.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The Gitian descriptor (YAML)
    pub descriptor: PathBuf,
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
    /// `limits: {memory: ...}`, else 4096 MiB. QEMU's RAM, the containers' memory limit
    #[arg(short, long, value_name = "SIZE", value_parser = memory_arg)]
    pub memory: Option<u64>,
    /// Processes (threads included) the guest may run at once; default: the descriptor's
    /// `limits: {processes: ...}`, else 4096
    #[arg(long, value_name = "N", value_parser = processes_arg)]
    pub processes: Option<u64>,
    /// Disk the guest's writable layer may grow by (40G); default: the descriptor's
    /// `limits: {disk: ...}`, else 40 GiB
    #[arg(long, value_name = "SIZE", value_parser = disk_arg)]
    pub disk: Option<u64>,
    /// Reuse the current target instead of a fresh copy of the base
    #[arg(short = 'i', long)]
    pub skip_image: bool,
    /// Upgrade the guest's packages before building
    #[arg(long)]
    pub upgrade: bool,
    /// Do not copy caches back from the guest
    #[arg(short = 'o', long = "cache-read-only")]
    pub cache_read_only: bool,
    /// No network git operations: check out the commit in the existing clone
    #[arg(long)]
    pub skip_fetch: bool,
    /// Also fetch every tag of each remote
    #[arg(long)]
    pub fetch_tags: bool,
    /// Also fetch every branch of each remote
    #[arg(long)]
    pub fetch_branches: bool,
    /// Leave the guest running at the end (for inspection)
    #[arg(long)]
    pub skip_cleanup: bool,
    /// Honour the descriptor's `sudo: true`
    #[arg(long)]
    pub allow_sudo: bool,
    /// No progress or information lines
    #[arg(short, long)]
    pub quiet: bool,
    /// Guest backend: kvm, lxc, sandbox, docker, podman, vbox, auto, all, or a comma list
    #[arg(long, value_name = "BACKEND", default_value = "auto")]
    pub backend: String,
    /// QEMU accelerator for the kvm backend
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    pub accel: Accel,
    /// Folder of base images (default: $XDG_CACHE_HOME/git-gitian/base)
    #[arg(long, value_name = "DIR", env = "GITIAN_BASE_DIR")]
    pub base_dir: Option<PathBuf>,
}

fn limit_arg(which: Which, s: &str) -> Result<u64, String> {
    which.parse(s).map_err(|(message, hint)| format!("{message} ({hint})"))
}

fn memory_arg(s: &str) -> Result<u64, String> {
    limit_arg(Which::Memory, s)
}

fn processes_arg(s: &str) -> Result<u64, String> {
    limit_arg(Which::Processes, s)
}

fn disk_arg(s: &str) -> Result<u64, String> {
    limit_arg(Which::Disk, s)
}

/// Progress lines through the Ui.
struct UiProgress<'a> {
    ui: &'a mut Ui,
    start: std::time::Instant,
}

impl build::Progress for UiProgress<'_> {
    fn info(&mut self, line: &str) {
        if self.ui.stderr_tty {
            let t = self.start.elapsed().as_secs();
            self.ui.info(&format!("[{:02}:{:02}] {line}", t / 60, t % 60));
        } else {
            self.ui.info(line);
        }
    }
    fn warn(&mut self, line: &str) {
        self.ui.warn(line);
    }
}

/// Runs `git gitian build`.
pub fn run(args: BuildArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    ui.quiet |= args.quiet;
    let workdir = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let base_dir_given = args.base_dir.is_some();
    let opts = build::BuildOptions {
        descriptor: args.descriptor.clone(),
        commits: args.commit.as_deref().map(fetch::parse_pairs).unwrap_or_default(),
        urls: args.url.as_deref().map(fetch::parse_pairs).unwrap_or_default(),
        num_make: args.num_make,
        limits: LimitSpec {
            memory_mib: args.memory,
            processes: args.processes,
            disk_mib: args.disk,
        },
        upgrade: args.upgrade,
        cache_read_only: args.cache_read_only,
        fetch: fetch::FetchOptions {
            skip_fetch: args.skip_fetch,
            fetch_tags: args.fetch_tags,
            fetch_branches: args.fetch_branches,
        },
        allow_sudo: args.allow_sudo,
        base_dir: args.base_dir.clone().unwrap_or_else(base::default_base_dir),
        base_dir_given,
    };
    let selection: select::Selection =
        args.backend.parse().map_err(|e: String| CliError::new(format!("--backend: {e}")))?;
    let gitian_env = match selection {
        select::Selection::Auto => select::from_gitian_env(|k| std::env::var(k).ok()),
        _ => None,
    };
    // For `auto`: the base image a kvm build of this descriptor would boot first, which
    // KVM's boot probe boots (once per host boot; the answer is remembered).
    let kvm_base = fs::read_to_string(&opts.descriptor)
        .ok()
        .and_then(|text| Descriptor::parse(&opts.descriptor.to_string_lossy(), &text).ok())
        .and_then(|d| {
            let suite = d.suites.first()?;
            let arch = d.architectures.first()?;
            Some((base::image_dir(&opts.base_dir, &d.distro, suite, arch), arch.clone()))
        });
    let probe = select::HostProbe { kvm_base, probe_cache: base::default_kvm_probe() };
    let choice = select::resolve(&selection, gitian_env, &probe).map_err(|e| {
        CliError::new(e).hint("pass --backend with one of the backends that can run here")
    })?;
    for note in &choice.notes {
        ui.info(note);
    }
    let accel = match args.accel {
        Accel::Kvm => kvm::Accel::Kvm,
        Accel::Tcg => kvm::Accel::Tcg,
        Accel::Auto => kvm::Accel::Auto,
    };
    let open = |b: select::Backend| -> Result<Box<dyn Guest>, CliError> {
        match b {
            select::Backend::Kvm => {
                Ok(Box::new(kvm::Kvm::new(accel, Some(base::default_kvm_probe()))))
            }
            other => select::open(other).map_err(|e| CliError::new(e.to_string())),
        }
    };
    if matches!(selection, select::Selection::All) || choice.backends.len() > 1 {
        return run_matrix(&choice.backends, &workdir, &opts, open, ui);
    }
    let mut guest = open(choice.backends[0])?;
    if args.skip_image {
        ui.warn("--skip-image has no effect: every guest starts from a fresh copy-on-write layer over the base image, which costs nothing");
    }
    if args.skip_cleanup {
        ui.warn("--skip-cleanup has no effect: the guest is always stopped and removed");
    }
    process::catch_interrupts();
    // The descriptor first: a wrong one must not leave a lock (or var/) behind.
    build::read_descriptor(&opts.descriptor).map_err(build_error)?;
    let _lock = build::lock(&workdir).map_err(build_error)?;
    let mut progress = UiProgress { ui, start: std::time::Instant::now() };
    let outcome = build::build(&workdir, &opts, guest.as_mut(), &mut progress);
    drop(guest);
    let outcome = outcome.map_err(build_error)?;
    if !ui.quiet {
        ui.info(&format!("Built with {}", outcome.backend));
        ui.out(&format!("{}  {}-res.yml\n", outcome.result_sha256, outcome.name));
        ui.info("Done.");
    }
    Ok(ExitCode::SUCCESS)
}

/// `--backend all` or a list: the descriptor built on each backend in turn, in this folder; then
/// per output file whether the backends agree. Each backend's result, build info and build
/// log are kept in `var/matrix/<backend>/`; `result/<name>-res.yml` is left as the first
/// successful backend's. Exit status 0 when everything agrees, 1 when not.
fn run_matrix(
    backends: &[select::Backend],
    workdir: &std::path::Path,
    opts: &build::BuildOptions,
    open: impl Fn(select::Backend) -> Result<Box<dyn Guest>, CliError>,
    ui: &mut Ui,
) -> Result<ExitCode, CliError> {
    process::catch_interrupts();
    build::read_descriptor(&opts.descriptor).map_err(build_error)?;
    let _lock = build::lock(workdir).map_err(build_error)?;
    let mut first: Option<(std::path::PathBuf, std::path::PathBuf)> = None;
    let mut interrupted = false;
    let report = {
        let mut progress = UiProgress { ui: &mut *ui, start: std::time::Instant::now() };
        matrix::run(backends, |b| {
            if interrupted {
                return Err("not run: interrupted".into());
            }
            build::Progress::info(&mut progress, &format!("=== backend {b} ==="));
            let mut guest = open(b).map_err(|e| e.to_string())?;
            let outcome = build::build(workdir, opts, guest.as_mut(), &mut progress);
            drop(guest);
            let outcome = match outcome {
                Ok(o) => o,
                Err(build::BuildError::Interrupted) => {
                    interrupted = true;
                    return Err("interrupted".into());
                }
                Err(e) => return Err(e.to_string()),
            };
            let keep = workdir.join("var/matrix").join(b.name());
            std::fs::create_dir_all(&keep)
                .map_err(|e| format!("cannot create {}: {e}", keep.display()))?;
            let kept = keep.join(format!("{}-res.yml", outcome.name));
            for (from, to) in [
                (outcome.result.clone(), kept.clone()),
                (workdir.join("var/build-info"), keep.join("build-info")),
                (workdir.join("var/build.log"), keep.join("build.log")),
            ] {
                if from.exists() {
                    std::fs::copy(&from, &to)
                        .map_err(|e| format!("cannot keep {}: {e}", from.display()))?;
                }
            }
            if first.is_none() {
                first = Some((kept.clone(), outcome.result.clone()));
            }
            let text =
                std::fs::read_to_string(&kept).map_err(|e| format!("{}: {e}", kept.display()))?;
            let doc = Document::parse(&text).map_err(|e| format!("{}: {e}", kept.display()))?;
            let out = doc.str("out_manifest").unwrap_or_default();
            Ok((outcome.backend, Manifest::parse(out)))
        })
    };
    if let Some((kept, result)) = &first {
        let tmp = result.with_extension("yml.tmp");
        std::fs::copy(kept, &tmp)
            .and_then(|_| std::fs::rename(&tmp, result))
            .map_err(|e| CliError::new(format!("cannot restore {}: {e}", result.display())))?;
    }
    if interrupted {
        return Err(CliError::new("interrupted; the guest was stopped and removed"));
    }
    ui.out(&report.render());
    if let Some((_, result)) = &first {
        let b =
            report.runs.iter().find(|r| r.outcome.is_ok()).map(|r| r.backend.name()).unwrap_or("");
        ui.info(&format!(
            "{} is the {b} build's; every backend's result is in var/matrix/",
            result.display()
        ));
    }
    if report.all_agree() {
        Ok(ExitCode::SUCCESS)
    } else {
        ui.warn("the backends do not agree (or one failed)");
        Ok(ExitCode::from(1))
    }
}

fn build_error(e: build::BuildError) -> CliError {
    use build::BuildError as E;
    match e {
        E::Descriptor(d) => {
            let mut err = CliError::new(d.to_string());
            if let Some(h) = d.hint {
                err = err.hint(h);
            }
            err
        }
        E::Locked { ref lock, .. } => CliError::new(e.to_string())
            .hint(format!("wait for it to finish; the lock is {}", lock.display())),
        E::MissingBase { ref command, .. } => {
            let hint = format!("create it with: {command}");
            CliError::new(e.to_string()).hint(hint)
        }
        E::ScriptFailed { ref tail, .. } | E::InstallFailed { ref tail, .. } => {
            let mut err = CliError::new(e.to_string());
            if !tail.is_empty() {
                err = err.cause(format!("last lines of the log:\n{tail}"));
            }
            err
        }
        E::Limit(ref hit) => CliError::new(e.to_string()).hint(hit.hint()),
        other => CliError::new(other.to_string()),
    }
}
