//! `git gitian build`: a descriptor built in a fresh guest.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};
use crate::core::assertion;
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
    /// Guest memory in MiB
    #[arg(short, long, value_name = "MEM", default_value_t = 2000)]
    pub memory: u32,
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
        memory: args.memory,
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
    let selection: select::Selection = args.backend.parse().map_err(CliError::new)?;
    let gitian_env = select::from_gitian_env(|k| std::env::var(k).ok());
    let choice = select::resolve(&selection, gitian_env, &select::HostProbe)
        .map_err(|e| CliError::new(e).hint("pick one with --backend (see git gitian build -h)"))?;
    for note in &choice.notes {
        ui.info(note);
    }
    if args.skip_image {
        ui.warn("--skip-image has no effect: every guest starts from a fresh copy-on-write layer over the base image, which costs nothing");
    }
    if args.skip_cleanup {
        ui.warn("--skip-cleanup has no effect: the guest is always stopped and removed");
    }
    process::catch_interrupts();
    let _lock = build::lock(&workdir).map_err(build_error)?;
    let accel = match args.accel {
        Accel::Kvm => kvm::Accel::Kvm,
        Accel::Tcg => kvm::Accel::Tcg,
        Accel::Auto => kvm::Accel::Auto,
    };
    let open = |b: select::Backend| -> Result<Box<dyn Guest>, CliError> {
        match b {
            select::Backend::Kvm => {
                Ok(Box::new(kvm::Kvm::new(accel, Some(base::cache_root().join("kvm-probe")))))
            }
            other => select::open(other).map_err(|e| CliError::new(e.to_string())),
        }
    };
    if let [only] = choice.backends.as_slice() {
        let mut guest = open(*only)?;
        let mut progress = UiProgress { ui, start: std::time::Instant::now() };
        let outcome = build::build(&workdir, &opts, guest.as_mut(), &mut progress);
        drop(guest);
        let outcome = outcome.map_err(build_error)?;
        if !ui.quiet {
            ui.info(&format!("Built with {}", outcome.backend));
            ui.out(&format!("{}  {}-res.yml\n", outcome.result_sha256, outcome.name));
            ui.info("Done.");
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Several backends: the same descriptor on each in turn (the last one's result stays in
    // result/), then whether their outputs agree. Disagreement is an outcome: exit 1.
    let mut last_error = None;
    let report = matrix::run(&choice.backends, |b| {
        if process::interrupted() {
            return Err("interrupted".to_string());
        }
        ui.info(&format!("=== Backend {b} ==="));
        let mut guest = open(b).map_err(|e| e.message)?;
        let mut progress = UiProgress { ui: &mut *ui, start: std::time::Instant::now() };
        let outcome = build::build(&workdir, &opts, guest.as_mut(), &mut progress);
        drop(guest);
        match outcome {
            Ok(o) => {
                let text = std::fs::read_to_string(&o.result).map_err(|e| e.to_string())?;
                let manifest = result_out_manifest(&text);
                Ok((o.backend, manifest))
            }
            Err(e) => {
                let err = build_error(e);
                let msg = err.message.clone();
                last_error = Some(err);
                Err(msg)
            }
        }
    });
    if process::interrupted() {
        return Err(last_error.unwrap_or_else(|| CliError::new("interrupted")));
    }
    ui.out(&report.render());
    if report.runs.iter().all(|r| r.outcome.is_err()) {
        return Err(last_error.unwrap_or_else(|| CliError::new("every backend failed")));
    }
    Ok(if report.all_agree() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The out_manifest of a result file's text.
fn result_out_manifest(text: &str) -> crate::core::manifest::Manifest {
    let doc = assertion::Document::parse(text).ok();
    let out = doc.as_ref().and_then(|d| d.str("out_manifest")).unwrap_or_default();
    crate::core::manifest::Manifest::parse(out)
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
        other => CliError::new(other.to_string()),
    }
}
