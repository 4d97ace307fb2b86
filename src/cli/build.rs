//! `git gitian build`: a descriptor built in a fresh guest.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};
use crate::config::GitConfig;
use crate::core::assertion::Document;
use crate::core::limits::{LimitSpec, Which};
use crate::core::manifest::Manifest;
use crate::guest::{Guest, kvm, process, select};
use crate::ops::{base, build, fetch, matrix, plan};

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
    /// [default: git config gitian.backend, else auto]
    #[arg(long, value_name = "BACKEND", value_parser = BackendNames, hide_possible_values = true)]
    pub backend: Option<String>,
    /// Check everything and print the plan (backend and why, base images, remotes and commits,
    /// the build script), then exit without building
    #[arg(long)]
    pub dry_run: bool,
    /// QEMU accelerator for the kvm backend
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    pub accel: Accel,
    /// Folder of base images [default: git config gitian.baseDir, else
    /// $XDG_CACHE_HOME/git-gitian/base]
    #[arg(long, value_name = "DIR", env = "GITIAN_BASE_DIR")]
    pub base_dir: Option<PathBuf>,
}

fn limit_arg(which: Which, s: &str) -> Result<u64, String> {
    which.parse(s).map_err(|(message, hint)| format!("{message} ({hint})"))
}

pub(super) fn memory_arg(s: &str) -> Result<u64, String> {
    limit_arg(Which::Memory, s)
}

fn processes_arg(s: &str) -> Result<u64, String> {
    limit_arg(Which::Processes, s)
}

fn disk_arg(s: &str) -> Result<u64, String> {
    limit_arg(Which::Disk, s)
}

/// `--backend` values: any name or comma list is taken (and checked when the build resolves
/// it); the single names are offered to shell completion.
#[derive(Debug, Clone, Copy)]
pub struct BackendNames;

impl clap::builder::TypedValueParser for BackendNames {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let names = ["auto", "all", "kvm", "lxc", "sandbox", "docker", "podman", "vbox"];
        Some(Box::new(names.into_iter().map(clap::builder::PossibleValue::new)))
    }
}

/// Progress lines through the Ui.
pub(super) struct UiProgress<'a> {
    pub(super) ui: &'a mut Ui,
    pub(super) start: std::time::Instant,
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

/// Runs `git gitian build`: the plan is checked first (descriptor, `-c`/`-u`, commits), then
/// the backend is chosen, then the build runs under the work dir's lock.
pub fn run(args: BuildArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    ui.quiet |= args.quiet;
    let workdir = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let config = GitConfig::load(&workdir);
    let opts = options(&args, &config, &workdir);
    let plan = plan::plan(&plan::PlanInput {
        descriptor: &opts.descriptor,
        commits: &opts.commits,
        urls: &opts.urls,
        base_dir: &opts.base_dir,
        base_dir_given: opts.base_dir_given,
        skip_fetch: args.skip_fetch,
    })
    .map_err(plan_error)?;
    let (backend, selection, choice) = choose(args.backend.as_deref(), &config, &plan)?;
    if args.dry_run {
        ui.out(&render_plan(&plan, &backend, &choice));
        return Ok(ExitCode::SUCCESS);
    }
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
    let _lock = build::lock(&workdir).map_err(build_error)?;
    // gbuild's CI=1: the build log streams to stderr while it is written.
    let _stream = std::env::var_os("CI")
        .filter(|v| !v.is_empty())
        .map(|_| LogStream::start(workdir.join("var/build.log")));
    let mut progress = UiProgress { ui, start: std::time::Instant::now() };
    let outcome = build::build(&workdir, &opts, guest.as_mut(), &mut progress);
    drop(guest);
    drop(_stream);
    let outcome = outcome.map_err(build_error)?;
    if !ui.quiet {
        ui.info(&format!("Built with {}", outcome.backend));
        ui.out(&format!("{}  {}-res.yml\n", outcome.result_sha256, outcome.name));
        ui.info("Done.");
    }
    Ok(ExitCode::SUCCESS)
}

/// gbuild's flags (and git config's base folder) as build options.
fn options(args: &BuildArgs, config: &GitConfig, workdir: &std::path::Path) -> build::BuildOptions {
    let configured_base = config.path(crate::config::BASE_DIR, workdir);
    let base_dir_given = args.base_dir.is_some() || configured_base.is_some();
    build::BuildOptions {
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
        base_dir: args.base_dir.clone().or(configured_base).unwrap_or_else(base::default_base_dir),
        base_dir_given,
    }
}

/// The backend asked for (flag, git config, else auto), parsed, and what it resolves to here.
pub(super) fn choose(
    flag: Option<&str>,
    config: &GitConfig,
    plan: &plan::Plan,
) -> Result<(String, select::Selection, select::Choice), CliError> {
    let backend = flag.or_else(|| config.get(crate::config::BACKEND)).unwrap_or("auto").to_string();
    let selection: select::Selection =
        backend.parse().map_err(|e: String| CliError::new(format!("--backend: {e}")))?;
    let gitian_env = match selection {
        select::Selection::Auto => select::from_gitian_env(|k| std::env::var(k).ok()),
        _ => None,
    };
    // For `auto`: the base image a kvm build of this descriptor would boot first, which
    // KVM's boot probe boots (once per host boot; the answer is remembered).
    let kvm_base = plan.bases.first().map(|b| (b.dir.clone(), b.arch.clone()));
    let probe = select::HostProbe { kvm_base, probe_cache: base::default_kvm_probe() };
    let choice = select::resolve(&selection, gitian_env, &probe).map_err(|e| {
        CliError::new(e).hint("pass --backend with one of the backends that can run here")
    })?;
    Ok((backend, selection, choice))
}

/// `--dry-run`'s text.
fn render_plan(plan: &plan::Plan, asked: &str, choice: &select::Choice) -> String {
    let d = &plan.descriptor;
    let names: Vec<&str> = choice.backends.iter().map(|b| b.name()).collect();
    let mut out = format!("descriptor: {} ({} {})\n", d.name, d.distro, d.suites.join(" "));
    out.push_str(&format!("backend: {} (asked: {asked})\n", names.join(", ")));
    for note in &choice.notes {
        out.push_str(&format!("  {note}\n"));
    }
    for b in &plan.bases {
        let state =
            if b.present { "present".to_string() } else { format!("missing: {}", b.make_base) };
        out.push_str(&format!(
            "base image: {} {} {} ({state})\n",
            b.suite,
            b.arch,
            b.dir.display()
        ));
    }
    for r in &plan.remotes {
        out.push_str(&format!("remote: {} {} at {}: {}\n", r.dir, r.url, r.commit, r.resolved));
    }
    out.push_str("script:\n");
    for line in d.script.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// A thread copying a growing log file to stderr until dropped.
struct LogStream {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LogStream {
    fn start(path: PathBuf) -> Self {
        use std::io::{Read, Seek, SeekFrom, Write};
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        // The log of an earlier build is not this one's: start after what is there now.
        let mut offset = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let last_round = flag.load(Ordering::SeqCst);
                if let Ok(mut f) = fs::File::open(&path) {
                    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                    if len < offset {
                        offset = 0; // a new log replaced the old one
                    }
                    if f.seek(SeekFrom::Start(offset)).is_ok() {
                        while let Ok(n @ 1..) = f.read(&mut buf) {
                            let _ = std::io::stderr().write_all(&buf[..n]);
                            offset += n as u64;
                        }
                    }
                }
                if last_round {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
        Self { stop, thread: Some(thread) }
    }
}

impl Drop for LogStream {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(super) fn plan_error(e: plan::PlanError) -> CliError {
    use plan::PlanError as E;
    match e {
        E::Descriptor(d) => {
            let mut err = CliError::new(d.to_string());
            if let Some(h) = d.hint {
                err = err.hint(h);
            }
            err
        }
        e @ E::UnknownDir { .. } => CliError::new(e.to_string())
            .hint("-c and -u take DIR=VALUE pairs where DIR is a remote's `dir:` in the descriptor"),
        e @ (E::NoCommit { .. } | E::BadPair { .. }) => {
            CliError::new(e.to_string()).hint("pass the commit as -c DIR=COMMIT (a tag, a branch or a commit id)")
        }
        e @ E::NoUrl { .. } => CliError::new(e.to_string()).hint("pass the url as -u DIR=URL"),
        e @ E::Unresolved { .. } => CliError::new(e.to_string())
            .hint("give a tag, a branch or a full 40-hex commit id; `git ls-remote URL` lists what the remote has"),
        e => CliError::new(e.to_string()),
    }
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

pub(super) fn build_error(e: build::BuildError) -> CliError {
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
