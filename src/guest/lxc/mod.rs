//! The LXC backend (Debian's lxc 5, run as root): every command is one `lxc-execute` of a
//! container whose root is an overlay of the base root file system (unpacked once per base, the
//! same tree the root sandbox uses) with this guest's own upper layer in the scratch dir.
//! LXC itself mounts the overlay inside the container's mount namespace, so nothing stays
//! mounted on the host. All LXC state goes into a private `-P` lxcpath in the scratch dir, so
//! nothing touches /var/lib/lxc and no `lxc-create` is needed.
//!
//! Network: `lxc.net.0.type = empty` (loopback only) for every command, except the package
//! installation step, which shares the host's network namespace (`type = none`): no bridge, no
//! dnsmasq, no veth. Commands run as the distro user through `setpriv` inside the container.
//!
//! Leftovers: `lxc-execute` runs under a small supervising shell that has a parent-death signal:
//! if git-gitian dies, it kills `lxc-execute` (whose container init dies with it, LXC sets that
//! up) and removes the container's cgroups, which LXC's monitor would otherwise leave behind.

use super::env::{self, GuestUser};
use super::util::{self, err};
use super::{Exec, Guest, GuestError, GuestSpec, Network, User, copy, limits, sandbox};
use crate::core::arch::Arch;
use crate::process::piped::{self, Proc, Stdio};
use crate::process::{self, Invocation};
use std::fs;
use std::path::{Path, PathBuf};

const NAME: &str = "lxc";

/// The LXC backend.
#[derive(Debug, Default)]
pub struct Lxc {
    state: Option<State>,
    /// What copy-out did not bring to the host (devices, FIFOs), for `take_warnings`.
    notes: Vec<String>,
}

#[derive(Debug)]
struct State {
    /// Container name, unique per guest (`gitian-<pid>-<n>`).
    name: String,
    /// The spec's scratch folder: `delta/` (upper), `work/` (overlay work dir, made by LXC),
    /// `path/` (lxcpath), config files and LXC's log.
    dir: PathBuf,
    build: GuestUser,
    root: GuestUser,
    /// The limits, watched through LXC's cgroups and the supervisor's saved counters.
    watch: limits::Watch,
    /// Our own cgroup of the container (limits, counters), LXC's below it; removed last.
    _cgroup: Option<limits::Cgroup>,
}

/// The supervisor: runs lxc-execute (stdin passed through), waits for it, removes the
/// container's cgroups; on SIGTERM (its parent-death signal) kills lxc-execute first.
/// Arguments: container name, then the lxc-execute command line. Before the cgroups go, their
/// process and memory counters are appended to `$GITIAN_LXC_EVENTS` (if set), where the
/// limit watch (`guest::limits`) reads whether the command hit a limit.
const SUPERVISOR: &str = r#"
N=$1; shift
ALSO=
save() {
  [ -n "$GITIAN_LXC_EVENTS" ] || return 0
  for d in /sys/fs/cgroup/*/lxc.payload."$N" /sys/fs/cgroup/lxc.payload."$N"; do
    cat "$d/pids.events" "$d/memory.oom_control" "$d/memory.events" 2>/dev/null
  done >> "$GITIAN_LXC_EVENTS"
}
cleanup() {
  save
  # The container's processes may still be dying, and a dead process holds its cgroup until
  # it is reaped, which a loaded host can take seconds to do (a busy cgroup cannot be
  # removed): retry for up to 60 s. The normal case leaves at the first pass.
  i=0
  while [ $i -lt 600 ]; do
    left=0
    for d in /sys/fs/cgroup/*/lxc.monitor."$N" /sys/fs/cgroup/*/lxc.payload."$N" \
             /sys/fs/cgroup/lxc.monitor."$N" /sys/fs/cgroup/lxc.payload."$N" \
             /sys/fs/cgroup/*/"$N"/payload /sys/fs/cgroup/*/"$N"/monitor $ALSO; do
      [ -d "$d" ] || continue
      # LXC's monitor outlives a killed lxc-execute and keeps its cgroup busy: stop what is
      # still in the container's cgroups (never this shell).
      for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do
        [ "$p" = "$$" ] || kill -KILL "$p" 2>/dev/null
      done
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$d" ] && left=1
    done
    [ $left = 0 ] && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 0
}
# The trap's first act: stderr may be a pipe to the git-gitian that just died (copy-in and
# copy-out read it), and the shell reports the killed job there; writing to it would end this
# shell by SIGPIPE before its cleanup.
# git-gitian is gone: our own cgroup of the container goes too.
trap 'exec 2>/dev/null; kill -KILL "$P"; wait "$P"; ALSO="/sys/fs/cgroup/*/$N"; cleanup; exit 143' TERM INT HUP
exec 3<&0
"$@" <&3 3<&- &
P=$!
exec 3<&-
wait "$P"; rc=$?
cleanup
exit "$rc"
"#;

impl Lxc {
    /// An LXC backend with no guest yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Why LXC cannot run here, if it cannot.
    pub fn unavailable() -> Option<String> {
        if !util::on_path("lxc-execute") {
            return Some("lxc is not installed (no lxc-execute)".into());
        }
        if util::ids().0 != 0 {
            return Some(
                "LXC needs root here (no delegated cgroups for unprivileged containers)".into(),
            );
        }
        None
    }

    fn state(&self) -> Result<&State, GuestError> {
        self.state.as_ref().ok_or_else(|| err(NAME, "no guest: create was not called"))
    }
}

/// `lxc.arch` for a descriptor architecture.
pub fn lxc_arch(arch: &str) -> &str {
    match Arch::from_descriptor(arch, std::env::consts::ARCH) {
        Some(a) => a.kernel(),
        None => arch,
    }
}

/// The container configuration (LXC 3+ keys) for one command.
pub fn config_text(
    lower: &Path,
    upper: &Path,
    arch: &str,
    network: Network,
    l: &crate::core::limits::Limits,
    cgroup: Option<&str>,
) -> String {
    let mut c = String::new();
    c.push_str(&format!("lxc.uts.name = {}\n", env::HOSTNAME));
    c.push_str(&format!("lxc.rootfs.path = overlay:{}:{}\n", lower.display(), upper.display()));
    c.push_str(&format!("lxc.arch = {}\n", lxc_arch(arch)));
    match network {
        // No device but loopback.
        Network::Offline => c.push_str("lxc.net.0.type = empty\n"),
        // The host's network namespace: only for package installation.
        Network::Online => {
            c.push_str("lxc.net.0.type = none\n");
            if Path::new("/etc/resolv.conf").exists() {
                c.push_str(
                    "lxc.mount.entry = /etc/resolv.conf etc/resolv.conf none bind,ro,create=file 0 0\n",
                );
            }
        }
    }
    c.push_str("lxc.mount.auto = proc:mixed sys:ro\n");
    c.push_str("lxc.autodev = 1\n");
    c.push_str("lxc.tty.max = 0\n");
    c.push_str("lxc.pty.max = 16\n");
    c.push_str("lxc.apparmor.profile = unconfined\n");
    // Root in this privileged container is root on the host but for what is taken away:
    // the capabilities no build needs that reach beyond the container (`CAP_DROP`).
    c.push_str(&format!("lxc.cap.drop = {CAP_DROP}\n"));
    // No user namespace inside the guest (`SECCOMP`, next to the upper layer).
    c.push_str(&format!("lxc.seccomp.profile = {}\n", upper.with_file_name("seccomp").display()));
    // Gitian's device allowlist: null, zero, full, random, urandom, tty, console, ptmx, pts.
    // The devices controller is cgroup v1's on hybrid hosts, cgroup2's (a BPF program) else.
    let key =
        if Path::new("/sys/fs/cgroup/devices").is_dir() { "lxc.cgroup" } else { "lxc.cgroup2" };
    // The limits (core::limits): processes, and memory without swap; /dev/shm a tmpfs of its
    // own, a quarter of the memory.
    let mem = l.memory_mib * 1024 * 1024;
    if let Some(cg) = cgroup {
        // Our own cgroup holds the limits (and keeps the counters that say one was hit after
        // LXC removed the container's); LXC's cgroups go below it.
        c.push_str(&format!(
            "lxc.cgroup.dir.container = {cg}/payload\nlxc.cgroup.dir.monitor = {cg}/monitor\n"
        ));
    } else if key == "lxc.cgroup" {
        c.push_str(&format!("{key}.pids.max = {}\n", l.processes));
        c.push_str(&format!("lxc.cgroup.memory.limit_in_bytes = {mem}\n"));
        if Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
            c.push_str(&format!("lxc.cgroup.memory.memsw.limit_in_bytes = {mem}\n"));
        }
    } else {
        c.push_str(&format!("{key}.pids.max = {}\n", l.processes));
        c.push_str(&format!("lxc.cgroup2.memory.max = {mem}\nlxc.cgroup2.memory.swap.max = 0\n"));
    }
    c.push_str(&format!(
        "lxc.mount.entry = tmpfs dev/shm tmpfs nosuid,nodev,size={}m,create=dir 0 0\n",
        limits::shm_mib(l)
    ));
    c.push_str(&format!("{key}.devices.deny = a\n"));
    for dev in ["c 1:3", "c 1:5", "c 1:7", "c 1:8", "c 1:9", "c 5:0", "c 5:1", "c 5:2", "c 136:*"] {
        c.push_str(&format!("{key}.devices.allow = {dev} rwm\n"));
    }
    c.push_str("lxc.log.level = WARN\n");
    c
}

/// The capabilities root in the privileged container loses, each a way to the host (no build
/// needs them; docs/backends.md). CAP_SYS_ADMIN leaves the build user's commands only
/// ([`State::as_user`]): `check` sets the host name with it in a root step.
pub const CAP_DROP: &str = "dac_read_search sys_module sys_rawio sys_time sys_boot sys_pacct \
    sys_nice net_admin linux_immutable syslog wake_alarm block_suspend audit_control audit_read \
    mac_admin mac_override perfmon bpf";

/// The guest's seccomp profile: the calls that make a user namespace fail with EPERM (`clone`
/// and `unshare` with CLONE_NEWUSER; `clone3`, whose flags a filter cannot read, with ENOSYS,
/// so that the C library falls back to `clone`).
const SECCOMP: &str = "2\ndenylist\n[all]\n\
    unshare errno 1 [0,268435456,SCMP_CMP_MASKED_EQ,268435456]\n\
    clone errno 1 [0,268435456,SCMP_CMP_MASKED_EQ,268435456]\n\
    clone3 errno 38\n";

/// Removes cgroups that LXC left behind for our containers (`gitian-<pid>-<n>`) whose process
/// is gone: a git-gitian killed hard before its supervisor could clean up.
fn remove_stale_cgroups() {
    let Ok(ctrls) = fs::read_dir("/sys/fs/cgroup") else { return };
    let mut dirs: Vec<PathBuf> = vec![PathBuf::from("/sys/fs/cgroup")];
    dirs.extend(ctrls.flatten().map(|e| e.path()));
    for d in dirs {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name
                .strip_prefix("lxc.monitor.gitian-")
                .or_else(|| name.strip_prefix("lxc.payload.gitian-"))
            else {
                continue;
            };
            let pid = rest.split('-').next().unwrap_or("");
            if process::is_gone(pid) {
                let _ = process::run_cleanup(
                    &Invocation::new("find")
                        .arg(e.path())
                        .args(["-depth", "-type", "d", "-exec", "rmdir", "{}", "+"]),
                );
            }
        }
    }
}

impl State {
    /// The host command line that runs `argv` in the container (under the supervisor).
    fn invocation(&self, network: Network, argv: &[String]) -> Invocation {
        let conf = self.dir.join(match network {
            Network::Online => "online.conf",
            Network::Offline => "offline.conf",
        });
        Invocation::new("setpriv")
            .args(["--pdeathsig", "TERM", "--", "/bin/sh", "-c", SUPERVISOR, "gitian-lxc"])
            .arg(&self.name)
            .args(["lxc-execute", "-n", &self.name, "-P"])
            .arg(self.dir.join("path"))
            .arg("-f")
            .arg(&conf)
            .arg("-o")
            .arg(self.dir.join("lxc.log"))
            .arg("--")
            .args(limits::reaped(argv))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("GITIAN_LXC_EVENTS", self.dir.join("limit-events"))
            .cwd("/")
    }

    fn spawn(
        &self,
        network: Network,
        argv: &[String],
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Proc, GuestError> {
        piped::start(&self.invocation(network, argv), stdin, stdout, stderr)
            .map_err(GuestError::process(NAME))
    }

    /// The argv inside the container for a user: root as is, others through `setpriv`.
    fn as_user(&self, user: User, inner: Vec<String>) -> Vec<String> {
        let who = env::pick(user, &self.root, &self.build);
        if who.uid == 0 {
            return inner;
        }
        let mut v: Vec<String> = vec![
            "setpriv".into(),
            format!("--reuid={}", who.uid),
            format!("--regid={}", who.gid),
            "--init-groups".into(),
            // Not for git-gitian's own root steps (`check` sets the host name with it).
            "--bounding-set".into(),
            "-sys_admin".into(),
            "--".into(),
        ];
        v.extend(inner);
        v
    }

    /// The tail of LXC's own log, for error messages.
    fn lxc_log(&self) -> String {
        let text = fs::read_to_string(self.dir.join("lxc.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("; ")
    }
}

impl Guest for Lxc {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        let v =
            process::run_ok(&Invocation::new("lxc-execute").arg("--version")).unwrap_or_default();
        format!("lxc {}", v.trim()).trim().to_string()
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
        remove_stale_cgroups();
        let lower = sandbox::unpacked_base(&sandbox::Mapping::Identity, &spec.base)?;
        let build = util::build_user(NAME, &lower, &spec.distro)?;
        // The guest's folder is the scratch folder itself (destroy removes it); a killed
        // build's leftovers there must not leak into this guest.
        let dir = spec.scratch.clone();
        util::remove_tree(NAME, &dir)?;
        for sub in ["delta", "path"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| {
                err(NAME, format!("cannot create {}: {e}", dir.join(sub).display()))
            })?;
        }
        let name = util::unique_name("gitian");
        limits::sweep_stale_everywhere("gitian-");
        let cgroup = limits::Cgroup::create_in(&name, &spec.limits, true);
        let cg = cgroup.as_ref().map(|_| name.as_str());
        fs::write(dir.join("seccomp"), SECCOMP).map_err(|e| {
            err(NAME, format!("cannot write {}: {e}", dir.join("seccomp").display()))
        })?;
        for (file, net) in [("online.conf", Network::Online), ("offline.conf", Network::Offline)] {
            let text = config_text(&lower, &dir.join("delta"), &spec.arch, net, &spec.limits, cg);
            fs::write(dir.join(file), text).map_err(|e| {
                err(NAME, format!("cannot write {}: {e}", dir.join(file).display()))
            })?;
        }
        let watch = limits::Watch::start(spec.limits, Some(&dir));
        for d in cgroup.iter().flat_map(|c| c.dirs()) {
            watch.watch_cgroup(d.clone());
        }
        for d in limits::lxc_cgroups(&name) {
            watch.watch_cgroup(d);
        }
        watch.watch_cgroup(dir.join("limit-events"));
        self.state =
            Some(State { name, dir, build, root: GuestUser::root(), watch, _cgroup: cgroup });
        Ok(())
    }

    fn exec(&mut self, cmd: &Exec<'_>) -> Result<i32, GuestError> {
        let st = self.state()?;
        let who = env::pick(cmd.user, &st.root, &st.build);
        let argv = st.as_user(cmd.user, env::inner_argv(who, cmd));
        let (out, errs) = piped::log_stdio(cmd.log).map_err(GuestError::process(NAME))?;
        let mut child = st.spawn(cmd.network, &argv, Stdio::piped(), out, errs)?;
        child.feed(cmd.script.as_bytes());
        let status = child.wait().map_err(GuestError::process(NAME))?;
        let code = process::exit_code(status);
        // lxc-execute's own failures (the container did not start) show in its log.
        let log = st.lxc_log();
        if code != 0 && log.contains("ERROR") && !log.contains("exited with status") {
            return Err(err(
                NAME,
                format!("lxc-execute failed ({}): {log}", process::status_text(status)),
            ));
        }
        Ok(code)
    }

    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        let st = self.state()?;
        let argv = st.as_user(User::Build, copy::untar_argv(&st.build, guest_dir));
        copy::copy_in_with(NAME, host, guest_dir, |input| {
            st.spawn(Network::Offline, &argv, input, Stdio::null(), Stdio::piped())
        })
        .map_err(|e| err(NAME, format!("{}; {}", e.message, st.lxc_log())))
    }

    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        let st = self.state()?;
        let argv = st.as_user(User::Build, copy::tar_argv(&st.build, guest_path));
        let notes = copy::copy_out_with(NAME, guest_path, host_dir, || {
            st.spawn(Network::Offline, &argv, Stdio::null(), Stdio::piped(), Stdio::piped())
        })
        .map_err(|e| err(NAME, format!("{}; {}", e.message, st.lxc_log())))?;
        self.notes.extend(notes);
        Ok(())
    }

    fn destroy(&mut self) -> Result<(), GuestError> {
        let Some(st) = self.state.take() else { return Ok(()) };
        let (name, dir) = (st.name.clone(), st.dir.clone());
        drop(st);
        // LXC made our cgroup's name in every hierarchy, not only where we made it.
        limits::remove_everywhere(&name);
        util::remove_tree(NAME, &dir)
    }
}

impl Drop for Lxc {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}

#[cfg(test)]
mod tests;
