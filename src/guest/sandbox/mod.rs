//! The rootless namespace sandbox: no daemon, no root needed. Each command runs in fresh user,
//! mount, pid, uts and ipc namespaces (and a fresh network namespace with only a down loopback
//! unless the command is the package-installation step), over an overlay whose lower layer is the
//! base root file system unpacked once per base and user, and whose upper layer is this guest's
//! own folder in the scratch dir.
//!
//! Why util-linux binaries and not libc calls from Rust: the crate denies `unsafe`, and forking,
//! `unshare(2)`, `mount(2)` and `pivot_root(2)` all need it. `unshare`, `setpriv`, `mount` and
//! `pivot_root` from util-linux are on every Debian system (bubblewrap 0.8 has no overlay
//! support, so it would need a full copy of the root per build). The id maps are written from
//! here (or by the setuid `newuidmap`/`newgidmap` for a subordinate range) while the namespace's
//! first process waits on a FIFO, which is what `unshare --map-*` cannot do for root without
//! /etc/subuid entries.
//!
//! Id mapping, chosen per caller:
//! - root: identity map of ids 0..65535 (root inside is root on disk, but holds no capability
//!   outside the namespace);
//! - an ordinary user with at least 65536 subordinate ids in /etc/subuid and /etc/subgid: root
//!   inside = the caller, ids 1..65535 inside = the start of the range (so the build user is a
//!   different id than root and cannot write the system);
//! - an ordinary user without such a range: one mapped id. Root inside = the caller, and the
//!   build user runs in a nested user namespace where its uid maps to the same host id.
//!
//! Lifetime: all mounts live in the command's private mount namespace and vanish with it; the
//! namespace's first process is started with `--kill-child` under `setpriv --pdeathsig KILL`,
//! so killing git-gitian kills the whole pid namespace. `destroy` removes the upper layer.

//!
//! Files: `mapping` (how ids map), `namespace` (starting a command in fresh namespaces, the
//! setup script, maintenance commands), `rootfs` (the unpacked base, the overlay probe, the
//! guest's /dev and mounts).

mod mapping;
mod namespace;
mod rootfs;

use std::fs;
use std::path::{Path, PathBuf};

use super::env::{self, GuestUser};
use super::util::{self, err};
use super::{Exec, Guest, GuestError, GuestSpec, Network, User, copy, limits};
use crate::process;
use crate::process::piped::{self, Proc, Stdio};
pub use mapping::{Mapping, subordinate_start};
use namespace::{check_setup, make_fifo, remove_as_root, run_plain, spawn_in};
pub use rootfs::fstab_text;
pub(crate) use rootfs::unpacked_base;
use rootfs::{make_dev_skeleton, overlay_works};

const NAME: &str = "sandbox";

/// The namespace sandbox backend.
#[derive(Debug, Default)]
pub struct Sandbox {
    state: Option<State>,
    /// Copy the base per guest even where overlayfs works (what old kernels get).
    force_copy: bool,
    /// What copy-out did not bring to the host (devices, FIFOs), for `take_warnings`.
    notes: Vec<String>,
}

#[derive(Debug)]
struct State {
    mapping: Mapping,
    /// This guest's folder (the spec's scratch): `upper/`, `work/`, `root/` (mount point),
    /// `dev/`, `fstab.*`, `fifo`.
    dir: PathBuf,
    root: GuestUser,
    build: GuestUser,
    /// The guest's own cgroup (processes, memory) when git-gitian may make one.
    cgroup: Option<limits::Cgroup>,
    /// Its limits, watched (dropped before the cgroup: fields drop in order).
    watch: limits::Watch,
    /// The processes limit the setup script sets as RLIMIT_NPROC (0 with a cgroup).
    nproc: u64,
}

/// What the first process in the namespace sets up before running the command. (Maintenance
/// commands, unpacking the base and removing a layer, use the script's `plain` mode: no new
/// root, the host's file system, root inside the namespace.)
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// The guest: overlay root, /dev, /proc, hostname, pivot_root, then the user switch.
    Guest(User, Network),
}

impl Sandbox {
    /// A sandbox backend with no guest yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sandbox that gives each guest a full copy of the base instead of an overlay, as it
    /// does by itself on kernels that refuse overlayfs in a user namespace (for tests).
    pub fn with_copy() -> Self {
        Self { state: None, force_copy: true, notes: Vec::new() }
    }

    /// Why the sandbox cannot run here, if it cannot.
    pub fn unavailable() -> Option<String> {
        for p in ["unshare", "setpriv", "mount", "pivot_root", "hostname", "tar", "prlimit"] {
            if !util::on_path(p) {
                return Some(format!("'{p}' (util-linux) is not installed"));
            }
        }
        let max = fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap_or_default();
        if max.trim() == "0" {
            return Some("user namespaces are disabled (user.max_user_namespaces = 0)".into());
        }
        None
    }

    fn state(&self) -> Result<&State, GuestError> {
        self.state.as_ref().ok_or_else(|| err(NAME, "no guest: create was not called"))
    }

    /// How this process's ids would be mapped, in words (for messages and tests).
    pub fn describe_mapping() -> String {
        Mapping::detect().text()
    }
}

impl State {
    /// Starts `argv` in fresh namespaces (stdio as given) and lets it go once the id maps are
    /// written. Returns the running child.
    fn spawn(
        &self,
        setup: Setup,
        argv: &[String],
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Proc, GuestError> {
        let child = spawn_in(
            &self.mapping,
            &self.dir,
            self.guest_args(setup),
            argv,
            (stdin, stdout, stderr),
            self.cgroup.as_ref(),
        )?;
        // Without a cgroup, a hit limit stops the namespace by its process group (its init
        // dies with unshare, and the kernel kills the rest), and the processes limit is
        // watched by counting the namespace's tasks.
        self.watch.kill_on_hit(vec![child.pid()]);
        if self.nproc != 0 {
            self.watch.watch_namespace(child.pid());
        }
        Ok(child)
    }

    fn guest_args(&self, setup: Setup) -> Vec<String> {
        match setup {
            Setup::Guest(user, net) => {
                let who = env::pick(user, &self.root, &self.build);
                let single = matches!(self.mapping, Mapping::Single { .. });
                let switch = if who.uid == 0 && single {
                    // Root's commands may reach the build user the only way there is here, a
                    // nested user namespace (`check` does): one, as the build user's own.
                    "root-nest".to_string()
                } else if who.uid == 0 {
                    "root".to_string()
                } else if single {
                    format!("nest:{}:{}", who.uid, who.gid)
                } else {
                    format!("setpriv:{}:{}", who.uid, who.gid)
                };
                let net = if net == Network::Online { "online" } else { "offline" };
                vec![
                    "guest".into(),
                    self.dir.join("root").display().to_string(),
                    self.dir.join(format!("fstab.{net}")).display().to_string(),
                    net.into(),
                    switch,
                    self.nproc.to_string(),
                ]
            }
        }
    }

    /// Runs a command inside the guest with stdin/stdout/stderr as given; waits for it.
    fn run(
        &self,
        setup: Setup,
        argv: &[String],
        input: Option<&[u8]>,
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<i32, GuestError> {
        let mut child = self.spawn(setup, argv, stdin, stdout, stderr)?;
        if let Some(input) = input {
            child.feed(input);
        }
        let status = child.wait();
        check_setup(&self.dir)?;
        Ok(process::exit_code(status.map_err(GuestError::process(NAME))?))
    }
}

impl Guest for Sandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        let mapping = self.state.as_ref().map_or_else(Mapping::detect, |s| s.mapping.clone());
        format!("sandbox (user namespace, {})", mapping.text())
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn limit_hit(&mut self) -> Option<crate::core::limits::LimitHit> {
        self.state.as_ref()?.watch.hit()
    }

    fn create(&mut self, spec: &GuestSpec) -> Result<(), GuestError> {
        self.destroy()?;
        if let Some(why) = Self::unavailable() {
            return Err(err(NAME, why));
        }
        let mapping = Mapping::detect();
        let lower = unpacked_base(&mapping, &spec.base)?;
        let build = util::build_user(NAME, &lower, &spec.distro)?;
        // The guest's folder is the scratch folder itself (destroy removes it). What a killed
        // build left there must not leak into this guest: start from nothing.
        let dir = spec.scratch.clone();
        remove_as_root(&mapping, &dir)?;
        for sub in ["upper", "work", "root"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| {
                err(NAME, format!("cannot create {}: {e}", dir.join(sub).display()))
            })?;
        }
        make_fifo(&dir)?;
        make_dev_skeleton(&dir.join("dev"))?;
        // Kernels before 5.11 refuse overlayfs in a user namespace: then each guest gets its
        // own full copy of the base (slower to create, same behaviour).
        let copy = if !self.force_copy && overlay_works(&mapping) {
            None
        } else {
            let copy = dir.join("copy");
            fs::create_dir_all(&copy)
                .map_err(|e| err(NAME, format!("cannot create {}: {e}", copy.display())))?;
            let argv: Vec<String> = vec![
                "cp".into(),
                "-a".into(),
                format!("{}/.", lower.display()),
                copy.display().to_string(),
            ];
            run_plain(&mapping, &dir, &argv, "copying the base")?;
            Some(copy)
        };
        for net in [Network::Online, Network::Offline] {
            let file =
                dir.join(if net == Network::Online { "fstab.online" } else { "fstab.offline" });
            let shm = limits::shm_mib(&spec.limits);
            fs::write(&file, fstab_text(&lower, &dir, net, copy.as_deref(), shm))
                .map_err(|e| err(NAME, format!("cannot write {}: {e}", file.display())))?;
        }
        // Processes and memory: the guest's own cgroup, when we may make one (root, or an
        // ordinary user in cgroups delegated to it); else RLIMIT_NPROC and the Watch's count.
        let cgroup = limits::Cgroup::create(&util::unique_name("gitian"), &spec.limits);
        let watch = limits::Watch::start(spec.limits, Some(&dir));
        for d in cgroup.iter().flat_map(|c| c.dirs()) {
            watch.watch_cgroup(d.clone());
        }
        let nproc = if cgroup.is_some() { 0 } else { spec.limits.processes };
        self.state =
            Some(State { mapping, dir, root: GuestUser::root(), build, cgroup, watch, nproc });
        Ok(())
    }

    fn exec(&mut self, cmd: &Exec<'_>) -> Result<i32, GuestError> {
        let st = self.state()?;
        let who = env::pick(cmd.user, &st.root, &st.build);
        let argv = env::inner_argv(who, cmd);
        let (out, errs) = piped::log_stdio(cmd.log).map_err(GuestError::process(NAME))?;
        st.run(
            Setup::Guest(cmd.user, cmd.network),
            &argv,
            Some(cmd.script.as_bytes()),
            Stdio::piped(),
            out,
            errs,
        )
    }

    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        let st = self.state()?;
        let argv = copy::untar_argv(&st.build, guest_dir);
        let r = copy::copy_in_with(NAME, host, guest_dir, |input| {
            let setup = Setup::Guest(User::Build, Network::Offline);
            st.spawn(setup, &argv, input, Stdio::null(), Stdio::piped())
        });
        check_setup(&st.dir)?;
        r
    }

    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        let st = self.state()?;
        let argv = copy::tar_argv(&st.build, guest_path);
        let r = copy::copy_out_with(NAME, guest_path, host_dir, || {
            let setup = Setup::Guest(User::Build, Network::Offline);
            st.spawn(setup, &argv, Stdio::null(), Stdio::piped(), Stdio::piped())
        });
        check_setup(&st.dir)?;
        self.notes.extend(r?);
        Ok(())
    }

    fn destroy(&mut self) -> Result<(), GuestError> {
        let Some(st) = self.state.take() else { return Ok(()) };
        remove_as_root(&st.mapping, &st.dir)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}
