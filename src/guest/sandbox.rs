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

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::env::{self, GuestUser};
use super::util::{self, err};
use super::{Exec, Guest, GuestError, GuestSpec, Network, User, copy};
use crate::process::piped::{self, Proc, Stdio};
use crate::process::{self, Invocation};

const NAME: &str = "sandbox";

/// How guest ids map to host ids (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// Host root: ids 0..65535 map to themselves.
    Identity,
    /// An ordinary user with a subordinate id range: 0 = the caller, 1..=65535 = the range.
    Range {
        /// Caller uid.
        uid: u32,
        /// Caller gid.
        gid: u32,
        /// First subordinate uid.
        subuid: u32,
        /// First subordinate gid.
        subgid: u32,
    },
    /// An ordinary user without a range: only the caller's id is mapped.
    Single {
        /// Caller uid.
        uid: u32,
        /// Caller gid.
        gid: u32,
    },
}

impl Mapping {
    /// The mapping for the current process.
    pub fn detect() -> Self {
        let (uid, gid) = util::ids();
        if uid == 0 {
            return Self::Identity;
        }
        let name = util::host_user_name(uid);
        let range = |file: &str, id: u32| -> Option<u32> {
            let text = fs::read_to_string(file).ok()?;
            subordinate_start(&text, id, name.as_deref())
        };
        match (range("/etc/subuid", uid), range("/etc/subgid", gid)) {
            (Some(subuid), Some(subgid))
                if util::on_path("newuidmap") && util::on_path("newgidmap") =>
            {
                Self::Range { uid, gid, subuid, subgid }
            }
            _ => Self::Single { uid, gid },
        }
    }

    /// A short key naming the mapping, part of the unpacked base's cache name (the same tarball
    /// unpacked under another mapping has other owners on disk).
    fn key(&self) -> String {
        match self {
            Self::Identity => "root".into(),
            Self::Range { uid, subuid, .. } => format!("u{uid}r{subuid}"),
            Self::Single { uid, .. } => format!("u{uid}"),
        }
    }

    /// Text for `describe`.
    fn text(&self) -> String {
        match self {
            Self::Identity => "identity id map".into(),
            Self::Range { subuid, .. } => format!("subordinate ids from {subuid}"),
            Self::Single { uid, .. } => format!("single id {uid}"),
        }
    }
}

/// The first id of a range of at least 65535 subordinate ids for `id` (or user `name`) in the
/// text of /etc/subuid or /etc/subgid (`name-or-id:start:count` lines).
pub fn subordinate_start(text: &str, id: u32, name: Option<&str>) -> Option<u32> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.trim().split(':').collect();
        if f.len() != 3 {
            return None;
        }
        let who = f[0] == id.to_string() || Some(f[0]) == name;
        let start: u32 = f[1].parse().ok()?;
        let count: u32 = f[2].parse().ok()?;
        (who && count >= 65535).then_some(start)
    })
}

/// The namespace sandbox backend.
#[derive(Debug, Default)]
pub struct Sandbox {
    state: Option<State>,
    /// Copy the base per guest even where overlayfs works (what old kernels get).
    force_copy: bool,
}

#[derive(Debug)]
struct State {
    mapping: Mapping,
    /// This guest's folder (the spec's scratch): `upper/`, `work/`, `root/` (mount point),
    /// `dev/`, `fstab.*`, `fifo`.
    dir: PathBuf,
    root: GuestUser,
    build: GuestUser,
}

/// What the first process in the namespace sets up before running the command. (Maintenance
/// commands, unpacking the base and removing a layer, use the script's `plain` mode: no new
/// root, the host's file system, root inside the namespace.)
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// The guest: overlay root, /dev, /proc, hostname, pivot_root, then the user switch.
    Guest(User, Network),
}

/// The setup script run by the host's `/bin/sh` as root inside the new namespaces.
/// Arguments: fifo, error file, mode, then (guest mode) root, fstab, network, user switch;
/// then `--` and the command.
const SETUP: &str = r#"
fail() { printf '%s\n' "$*" > "$ERRF"; printf 'gitian-sandbox: %s\n' "$*" >&2; exit 125; }
FIFO=$1 ERRF=$2 MODE=$3; shift 3
read _ < "$FIFO" || fail "no go-ahead from git-gitian"
if [ "$MODE" = plain ]; then shift; exec "$@"; fi
R=$1 FSTAB=$2 NET=$3 SWITCH=$4; shift 5
# One mount(8) for the overlay root, /dev (this guest's skeleton with the host's null, zero,
# full, random, urandom and tty bound in), /dev/pts, /dev/shm and /proc: see `fstab_text`.
mount -a -T "$FSTAB" 2>>"$ERRF" || fail "cannot mount the guest's file systems ($FSTAB)"
if [ "$NET" = online ] && [ -e /etc/resolv.conf ]; then
  [ -e "$R/etc/resolv.conf" ] || : > "$R/etc/resolv.conf"
  mount --bind -o ro /etc/resolv.conf "$R/etc/resolv.conf" 2>>"$ERRF" || fail "cannot bind /etc/resolv.conf"
fi
hostname gitian 2>>"$ERRF" || fail "cannot set the host name"
cd "$R" && pivot_root . . 2>>"$ERRF" || fail "cannot pivot to the guest root"
umount -l . || { printf "gitian-sandbox: cannot detach the host root\n" >&2; exit 125; }
cd /
U=${SWITCH#*:}; G=${U#*:}; U=${U%%:*}
# This shell stays pid 1 of the namespace: it keeps the parent-death signal that a credential
# change (setpriv) would clear, so killing git-gitian still takes the whole namespace down.
case $SWITCH in
  root) "$@" ;;
  setpriv:*) setpriv --reuid="$U" --regid="$G" --init-groups -- "$@" ;;
  nest:*) unshare --user --map-user="$U" --map-group="$G" -- "$@" ;;
  *) echo "gitian-sandbox: bad user switch $SWITCH" >&2; exit 125 ;;
esac
exit $?
"#;

impl Sandbox {
    /// A sandbox backend with no guest yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sandbox that gives each guest a full copy of the base instead of an overlay, as it
    /// does by itself on kernels that refuse overlayfs in a user namespace (for tests).
    pub fn with_copy() -> Self {
        Self { state: None, force_copy: true }
    }

    /// Why the sandbox cannot run here, if it cannot.
    pub fn unavailable() -> Option<String> {
        for p in ["unshare", "setpriv", "mount", "pivot_root", "hostname", "tar"] {
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
        spawn_in(&self.mapping, &self.dir, self.guest_args(setup), argv, stdin, stdout, stderr)
    }

    fn guest_args(&self, setup: Setup) -> Vec<String> {
        match setup {
            Setup::Guest(user, net) => {
                let who = env::pick(user, &self.root, &self.build);
                let switch = if who.uid == 0 {
                    "root".to_string()
                } else if matches!(self.mapping, Mapping::Single { .. }) {
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

/// Spawns the namespace holder and releases it (see [`State::spawn`]); usable before a `State`
/// exists (unpacking the base).
fn spawn_in(
    mapping: &Mapping,
    dir: &Path,
    setup_args: Vec<String>,
    argv: &[String],
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> Result<Proc, GuestError> {
    let fifo = dir.join("fifo");
    let errf = dir.join("setup-error");
    let _ = fs::remove_file(&errf);
    let offline = !setup_args.iter().any(|a| a == "online");
    let inv = namespace_invocation(offline, &fifo, &errf, &setup_args, argv);
    let mut child = piped::start(&inv, stdin, stdout, stderr).map_err(GuestError::process(NAME))?;
    // On an error the child is dropped, which stops it.
    release(mapping, &mut child, &fifo)?;
    Ok(child)
}

/// The host command line that starts the namespaces and runs [`SETUP`] in them.
fn namespace_invocation(
    offline: bool,
    fifo: &Path,
    errf: &Path,
    setup_args: &[String],
    argv: &[String],
) -> Invocation {
    let mut inv = Invocation::new("setpriv").args([
        "--pdeathsig",
        "KILL",
        "--",
        "unshare",
        "--user",
        "--mount",
        "--pid",
        "--uts",
        "--ipc",
    ]);
    if offline {
        inv = inv.arg("--net");
    }
    inv.args(["--fork", "--kill-child", "--", "/bin/sh", "-c", SETUP, "gitian-sandbox"])
        .arg(fifo)
        .arg(errf)
        .args(setup_args)
        .arg("--")
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .cwd("/")
}

/// Waits until the namespace's first process waits on the FIFO (so the namespaces exist),
/// writes the id maps, and lets it go.
fn release(mapping: &Mapping, child: &mut Proc, fifo: &Path) -> Result<(), GuestError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    let mut f = loop {
        match fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(fifo) {
            Ok(f) => break f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if let Some(status) = child.try_wait() {
                    return Err(err(
                        NAME,
                        format!("the namespace did not start ({})", process::status_text(status)),
                    ));
                }
                if start.elapsed() > Duration::from_secs(30) {
                    return Err(err(NAME, "the namespace did not start within 30 s"));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_micros(500));
            }
            Err(e) => return Err(err(NAME, format!("cannot open {}: {e}", fifo.display()))),
        }
    };
    let pid = child.pid();
    write_maps(mapping, pid)?;
    f.write_all(b"go\n").map_err(|e| err(NAME, format!("cannot release the namespace: {e}")))?;
    Ok(())
}

fn write_maps(mapping: &Mapping, pid: u32) -> Result<(), GuestError> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let write = |file: &str, text: &str| {
        fs::write(proc.join(file), text)
            .map_err(|e| err(NAME, format!("cannot write /proc/{pid}/{file} ({text:?}): {e}")))
    };
    match *mapping {
        Mapping::Identity => {
            write("uid_map", "0 0 65536\n")?;
            write("gid_map", "0 0 65536\n")?;
        }
        Mapping::Single { uid, gid } => {
            write("setgroups", "deny")?;
            write("uid_map", &format!("0 {uid} 1\n"))?;
            write("gid_map", &format!("0 {gid} 1\n"))?;
        }
        Mapping::Range { uid, gid, subuid, subgid } => {
            for (tool, own, sub) in [("newuidmap", uid, subuid), ("newgidmap", gid, subgid)] {
                process::run_ok(&Invocation::new(tool).args([
                    pid.to_string(),
                    "0".into(),
                    own.to_string(),
                    "1".into(),
                    "1".into(),
                    sub.to_string(),
                    "65535".into(),
                ]))
                .map_err(GuestError::process(NAME))?;
            }
        }
    }
    Ok(())
}

/// Turns a failure of the setup script (recorded in `setup-error`) into a `GuestError`.
fn check_setup(dir: &Path) -> Result<(), GuestError> {
    let errf = dir.join("setup-error");
    match fs::read_to_string(&errf) {
        Ok(text) if !text.trim().is_empty() => {
            let _ = fs::remove_file(&errf);
            Err(err(NAME, format!("sandbox setup failed: {}", text.trim().replace('\n', "; "))))
        }
        _ => Ok(()),
    }
}

/// The base root file system unpacked for `mapping` under the user's cache, unpacking it on
/// first use (into a temporary folder renamed into place, so a concurrent or interrupted
/// unpack never leaves a half tree behind).
pub(crate) fn unpacked_base(mapping: &Mapping, base: &Path) -> Result<PathBuf, GuestError> {
    let (tar, key) = util::rootfs_of(NAME, base)?;
    let short: String = key.chars().take(16).collect();
    let cache = util::cache_dir().join("rootfs");
    let dest = cache.join(format!("{short}-{}", mapping.key()));
    if dest.join("etc/passwd").exists() {
        return Ok(dest);
    }
    fs::create_dir_all(&cache)
        .map_err(|e| err(NAME, format!("cannot create {}: {e}", cache.display())))?;
    let tmp = cache.join(format!(".unpack-{}", util::unique_name("tmp")));
    let tree = tmp.join("tree");
    fs::create_dir_all(&tree)
        .map_err(|e| err(NAME, format!("cannot create {}: {e}", tree.display())))?;
    let mut tar_argv: Vec<String> = vec!["tar".into(), "-C".into(), tree.display().to_string()];
    tar_argv.extend(["--numeric-owner".into(), "--exclude=./dev/*".into(), "-xpf".into()]);
    tar_argv.push(tar.display().to_string());
    let result = match mapping {
        Mapping::Identity => process::run_ok(&Invocation::new("tar").args(&tar_argv[1..]))
            .map(|_| ())
            .map_err(GuestError::process(NAME)),
        _ => {
            if matches!(mapping, Mapping::Single { .. }) {
                tar_argv.insert(1, "--no-same-owner".into());
            }
            make_fifo(&tmp)?;
            run_plain(mapping, &tmp, &tar_argv, &format!("unpacking {}", tar.display()))
        }
    };
    let result = result.and_then(|()| match fs::rename(&tree, &dest) {
        Ok(()) => Ok(()),
        // Someone else unpacked it meanwhile: use theirs.
        Err(_) if dest.join("etc/passwd").exists() => Ok(()),
        Err(e) => {
            Err(err(NAME, format!("cannot move the unpacked base to {}: {e}", dest.display())))
        }
    });
    let _ = remove_as_root(mapping, &tmp);
    result.map(|()| dest)
}

/// The host devices a guest gets (bound over empty files of its /dev skeleton).
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The guest's /dev, kept in its folder: mount points for the devices, pts and shm, and the
/// usual symlinks.
fn make_dev_skeleton(dev: &Path) -> Result<(), GuestError> {
    let e = |p: &Path, e: std::io::Error| err(NAME, format!("cannot create {}: {e}", p.display()));
    for d in ["pts", "shm"] {
        fs::create_dir_all(dev.join(d)).map_err(|x| e(&dev.join(d), x))?;
    }
    for n in DEVICES {
        fs::write(dev.join(n), "").map_err(|x| e(&dev.join(n), x))?;
    }
    let links = [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, target) in links {
        std::os::unix::fs::symlink(target, dev.join(name)).map_err(|x| e(&dev.join(name), x))?;
    }
    Ok(())
}

/// An fstab field: spaces, tabs, newlines and backslashes in octal, as fstab(5) wants.
fn fstab_field(p: &Path) -> String {
    let mut s = String::new();
    for c in p.display().to_string().chars() {
        match c {
            ' ' => s.push_str("\\040"),
            '\t' => s.push_str("\\011"),
            '\n' => s.push_str("\\012"),
            '\\' => s.push_str("\\134"),
            c => s.push(c),
        }
    }
    s
}

/// The mounts of one guest command, in order, for `mount -a -T`: the overlay root, /dev, the
/// devices, /dev/pts, /dev/shm, /proc, and a read-only /sys when the command has its own
/// network namespace (sysfs cannot be mounted from a user namespace that does not own the
/// network namespace; only package installation shares the host's).
///
/// With `copy`, the root is that private copy of the base (bound) instead of an overlay: for
/// kernels that refuse overlayfs inside a user namespace.
pub fn fstab_text(lower: &Path, dir: &Path, network: Network, copy: Option<&Path>) -> String {
    let root = dir.join("root");
    let f = |p: &Path| fstab_field(p);
    let mut t = match copy {
        None => format!(
            "overlay {} overlay userxattr,lowerdir={},upperdir={},workdir={} 0 0\n",
            f(&root),
            f(lower),
            f(&dir.join("upper")),
            f(&dir.join("work"))
        ),
        Some(c) => format!("{} {} none bind 0 0\n", f(c), f(&root)),
    };
    t.push_str(&format!("{} {} none bind 0 0\n", f(&dir.join("dev")), f(&root.join("dev"))));
    for n in DEVICES {
        let host = Path::new("/dev").join(n);
        t.push_str(&format!("{} {} none bind 0 0\n", f(&host), f(&root.join("dev").join(n))));
    }
    t.push_str(&format!(
        "devpts {} devpts newinstance,ptmxmode=0666,mode=620 0 0\n",
        f(&root.join("dev/pts"))
    ));
    t.push_str(&format!("tmpfs {} tmpfs nosuid,nodev 0 0\n", f(&root.join("dev/shm"))));
    t.push_str(&format!("proc {} proc nosuid,nodev,noexec 0 0\n", f(&root.join("proc"))));
    if network == Network::Offline {
        t.push_str(&format!("sysfs {} sysfs ro,nosuid,nodev,noexec 0 0\n", f(&root.join("sys"))));
    }
    t
}

/// Runs a maintenance command as root inside a namespace with `mapping` (no new root), with
/// the FIFO in `dir`; fails unless it exits 0.
fn run_plain(mapping: &Mapping, dir: &Path, argv: &[String], what: &str) -> Result<(), GuestError> {
    run_plain_as(mapping, dir, argv, what, false)
}

/// [`run_plain`]; a `cleanup` runs to its end even after an interruption.
fn run_plain_as(
    mapping: &Mapping,
    dir: &Path,
    argv: &[String],
    what: &str,
    cleanup: bool,
) -> Result<(), GuestError> {
    let mut child = spawn_in(
        mapping,
        dir,
        vec!["plain".into()],
        argv,
        Stdio::null(),
        Stdio::null(),
        Stdio::piped(),
    )?;
    let stderr = child.capture_stderr();
    let status = if cleanup { child.wait_to_end() } else { child.wait() };
    check_setup(dir)?;
    let status = status.map_err(GuestError::process(NAME))?;
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).trim().to_string();
        return Err(err(NAME, format!("{what} failed ({}): {text}", process::status_text(status))));
    }
    Ok(())
}

/// Whether this kernel mounts overlayfs inside a user namespace with `mapping`; probed once per
/// kernel and mapping, remembered in the cache.
fn overlay_works(mapping: &Mapping) -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cache = util::cache_dir();
    let marker = cache.join(format!("overlay-in-userns-{}-{}", release.trim(), mapping.key()));
    if let Ok(v) = fs::read_to_string(&marker) {
        return v.trim() == "yes";
    }
    let probe = cache.join(format!(".overlay-probe-{}", util::unique_name("p")));
    let ok = (|| -> Result<(), GuestError> {
        for d in ["lower", "upper", "work", "mnt"] {
            fs::create_dir_all(probe.join(d)).map_err(|e| err(NAME, e.to_string()))?;
        }
        make_fifo(&probe)?;
        let p = |d: &str| probe.join(d).display().to_string();
        let opts = format!(
            "userxattr,lowerdir={},upperdir={},workdir={}",
            p("lower"),
            p("upper"),
            p("work")
        );
        let argv: Vec<String> = ["mount", "-t", "overlay", "overlay", "-o", &opts, &p("mnt")]
            .map(String::from)
            .to_vec();
        run_plain(mapping, &probe, &argv, "overlay probe")
    })()
    .is_ok();
    let _ = remove_as_root(mapping, &probe);
    let _ = fs::create_dir_all(&cache);
    let _ = fs::write(&marker, if ok { "yes\n" } else { "no\n" });
    ok
}

fn make_fifo(dir: &Path) -> Result<(), GuestError> {
    let fifo = dir.join("fifo");
    let _ = fs::remove_file(&fifo);
    process::run_ok(&Invocation::new("mkfifo").arg("-m").arg("600").arg(&fifo))
        .map(|_| ())
        .map_err(GuestError::process(NAME))
}

/// Removes a tree that may hold files owned by guest ids: as root inside a namespace with the
/// same mapping when the caller is not root (it could not remove them otherwise).
fn remove_as_root(mapping: &Mapping, dir: &Path) -> Result<(), GuestError> {
    if !dir.exists() {
        return Ok(());
    }
    if *mapping != Mapping::Identity && fs::remove_dir_all(dir).is_err() {
        // The maintenance namespace needs its own FIFO outside the tree being removed.
        let parent = dir.parent().unwrap_or(Path::new("/"));
        let helper = parent.join(format!(".rm-{}", util::unique_name("x")));
        fs::create_dir_all(&helper)
            .map_err(|e| err(NAME, format!("cannot create {}: {e}", helper.display())))?;
        make_fifo(&helper)?;
        let argv = vec!["rm".into(), "-rf".into(), dir.display().to_string()];
        let r = run_plain_as(mapping, &helper, &argv, "removing the guest's layer", true);
        let _ = fs::remove_dir_all(&helper);
        r?;
    }
    util::remove_tree(NAME, dir)
}

impl Guest for Sandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        let mapping = self.state.as_ref().map_or_else(Mapping::detect, |s| s.mapping.clone());
        format!("sandbox (user namespace, {})", mapping.text())
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
            fs::write(&file, fstab_text(&lower, &dir, net, copy.as_deref()))
                .map_err(|e| err(NAME, format!("cannot write {}: {e}", file.display())))?;
        }
        self.state = Some(State { mapping, dir, root: GuestUser::root(), build });
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
        r
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_mounts_in_order_with_escaped_paths() {
        let t = fstab_text(
            Path::new("/c/base"),
            Path::new("/s/my guest/sandbox"),
            Network::Online,
            None,
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "overlay /s/my\\040guest/sandbox/root overlay userxattr,lowerdir=/c/base,\
             upperdir=/s/my\\040guest/sandbox/upper,workdir=/s/my\\040guest/sandbox/work 0 0"
        );
        assert_eq!(
            lines[1],
            "/s/my\\040guest/sandbox/dev /s/my\\040guest/sandbox/root/dev none bind 0 0"
        );
        assert_eq!(lines[2], "/dev/null /s/my\\040guest/sandbox/root/dev/null none bind 0 0");
        assert_eq!(
            lines.last().unwrap(),
            &"proc /s/my\\040guest/sandbox/root/proc proc nosuid,nodev,noexec 0 0"
        );
        assert_eq!(lines.len(), 11);
        let t = fstab_text(Path::new("/c/base"), Path::new("/s/g"), Network::Offline, None);
        assert_eq!(
            t.lines().last().unwrap(),
            "sysfs /s/g/root/sys sysfs ro,nosuid,nodev,noexec 0 0"
        );
    }

    /// The exact host command line that starts a guest command's namespaces: a network
    /// namespace of its own unless the command is online, the setup script's arguments, then
    /// the command.
    #[test]
    fn namespace_command_lines() {
        let setup: Vec<String> =
            ["guest", "/g/root", "/g/fstab.offline", "offline", "setpriv:1000:1000"]
                .map(String::from)
                .to_vec();
        let inv = namespace_invocation(
            true,
            Path::new("/g/fifo"),
            Path::new("/g/setup-error"),
            &setup,
            &["bash".into(), "-x".into()],
        );
        let got: Vec<String> = std::iter::once(&inv.program)
            .chain(&inv.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut want: Vec<String> = [
            "setpriv",
            "--pdeathsig",
            "KILL",
            "--",
            "unshare",
            "--user",
            "--mount",
            "--pid",
            "--uts",
            "--ipc",
            "--net",
            "--fork",
            "--kill-child",
            "--",
            "/bin/sh",
            "-c",
        ]
        .map(String::from)
        .to_vec();
        want.push(SETUP.into());
        want.extend(["gitian-sandbox", "/g/fifo", "/g/setup-error"].map(String::from));
        want.extend(setup.iter().cloned());
        want.extend(["--", "bash", "-x"].map(String::from));
        assert_eq!(got, want);
        assert!(inv.env_clear);
        let online = namespace_invocation(false, Path::new("f"), Path::new("e"), &[], &[]);
        assert!(!online.args.iter().any(|a| a == "--net"), "online shares the host network");
    }

    #[test]
    fn the_setup_names_the_host_as_every_backend_does() {
        assert!(SETUP.contains(&format!("\nhostname {} ", env::HOSTNAME)));
    }

    #[test]
    fn subordinate_ranges() {
        let text = "alice:100000:65536\n1001:200000:65536\nbob:300000:100\n";
        assert_eq!(subordinate_start(text, 1000, Some("alice")), Some(100000));
        assert_eq!(subordinate_start(text, 1001, Some("carol")), Some(200000));
        // Too small a range is no range.
        assert_eq!(subordinate_start(text, 1002, Some("bob")), None);
        assert_eq!(subordinate_start("", 1000, Some("alice")), None);
    }
}
