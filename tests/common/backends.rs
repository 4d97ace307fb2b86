//! Fixtures of the tests that drive guests and engines directly (`test_backends`,
//! `test_hostile`, `test_hostile_limits`, `test_check`): scratch folders, guest specs, the
//! backend kinds and the engines they need (a private dockerd, private podman storage), what a
//! backend may leave behind, and users created for a test.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use git_gitian::guest::docker::{Container, Engine};
use git_gitian::guest::kvm::{Accel, Kvm};
use git_gitian::guest::lxc::Lxc;
use git_gitian::guest::sandbox::Sandbox;
use git_gitian::guest::vbox::Vbox;
use git_gitian::guest::{Exec, Guest, GuestSpec, Network, User};

/// The shared base image's folder under [`base_dir`].
pub(crate) const SUITE_DIR: &str = "debian-bookworm-amd64";

/// The folder of base images: `GITIAN_TEST_BASE_DIR` as given (the ordinary-user helper gets
/// one it can read), else the one `git gitian make-base` makes for `test_build` (shared, made
/// once per machine). Unlike [`super::guests::base_dir`], which only names the folder, this
/// makes the shared base first when no folder is given.
pub fn base_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GITIAN_TEST_BASE_DIR") {
        return PathBuf::from(dir);
    }
    crate::common::guests::base().parent().unwrap().to_path_buf()
}

/// A copy of the base image (hard links where possible) in `dir`, readable by any user: the
/// shared base may sit under /root.
pub(crate) fn readable_base(dir: &Path) -> PathBuf {
    let from = base_dir().join(SUITE_DIR);
    let to = dir.join(SUITE_DIR);
    fs::create_dir_all(&to).unwrap();
    for e in fs::read_dir(&from).unwrap().flatten() {
        let f = e.file_name();
        if fs::hard_link(from.join(&f), to.join(&f)).is_err() {
            fs::copy(from.join(&f), to.join(&f)).unwrap();
        }
    }
    sh(&format!("chmod -R a+rX {}", dir.display()), dir);
    dir.to_path_buf()
}

/// A scratch folder removed on drop (as root, even when guests left files owned by other ids).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let p = PathBuf::from(format!("/var/tmp/gg-{tag}-{}-{}", std::process::id(), nanos()));
        fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("rm").arg("-rf").arg(&self.0).status();
    }
}

/// Nanoseconds since the epoch, to tell apart names made in one process.
pub(crate) fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

pub fn spec(scratch: &Path) -> GuestSpec {
    GuestSpec {
        distro: "debian".into(),
        suite: "bookworm".into(),
        arch: "amd64".into(),
        base: base_dir().join(SUITE_DIR),
        scratch: scratch.to_path_buf(),
        memory_mib: 2000,
        limits: Default::default(),
        cpus: 2,
        network: true,
    }
}

/// Runs `sh -c CMD` in `dir`; panics when it fails.
pub(crate) fn sh(cmd: &str, dir: &Path) {
    let st = Command::new("sh").arg("-c").arg(cmd).current_dir(dir).status().unwrap();
    assert!(st.success(), "{cmd}");
}

/// A step as Gitian runs it: the script as `user`, on `network`, under `setarch x86_64`,
/// logged to `log`.
pub fn exec<'a>(user: User, network: Network, script: &'a str, log: Option<&'a Path>) -> Exec<'a> {
    Exec { user, network, setarch: Some("x86_64"), trace: false, script, env: &[], log }
}

/// A private dockerd for the tests, stopped (with its containerd) on drop.
pub struct Dockerd {
    child: Child,
    pub host: String,
    dir: Scratch,
}

impl Dockerd {
    pub fn start() -> Self {
        let dir = Scratch::new("dockerd");
        let d = &dir.0;
        let sock = d.join("docker.sock");
        let host = format!("unix://{}", sock.display());
        let log = fs::File::create(d.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .args(["-H", &host, "--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--default-ulimit", "nofile=4096:4096", "--default-ulimit", "nproc=4096:4096"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let start = Instant::now();
        while !Command::new("docker")
            .args(["-H", &host, "version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            // A generous ceiling: a loaded 2-core machine starts dockerd slowly; the wait ends
            // as soon as it answers.
            assert!(start.elapsed() < Duration::from_secs(180), "dockerd did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, host, dir }
    }

    pub fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker").args(["-H", &self.host]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").arg(&pid).status();
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none()
            && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Container state mounts under the private data root go with the daemon; make sure.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "grep -o ' {}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l",
                self.dir.0.display()
            ))
            .status();
    }
}

/// Podman's storage kept in a scratch folder (CONTAINERS_STORAGE_CONF) for the test's life.
pub struct PodmanStorage {
    conf: PathBuf,
    _lock: std::sync::MutexGuard<'static, ()>,
    dir: Scratch,
}

/// podman keeps run-time state and locks outside its storage (/run/libpod, /dev/shm), so two
/// private storages at once trip over each other: tests use podman one at a time.
static PODMAN_LOCK: Mutex<()> = Mutex::new(());

impl PodmanStorage {
    pub fn new() -> Self {
        let lock = PODMAN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let dir = Scratch::new("podman");
        let conf = dir.0.join("storage.conf");
        fs::write(
            &conf,
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/run\"\n",
                dir.0.display()
            ),
        )
        .unwrap();
        Self { conf, _lock: lock, dir }
    }

    /// The environment podman needs to use this storage.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("CONTAINERS_STORAGE_CONF".into(), self.conf.display().to_string())]
    }
}

impl Drop for PodmanStorage {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .env("CONTAINERS_STORAGE_CONF", &self.conf)
            .args(["--runtime", "runc", "rm", "-af"])
            .status();
        let _ = Command::new("podman")
            .env("CONTAINERS_STORAGE_CONF", &self.conf)
            .args(["system", "reset", "-f"])
            .stdout(Stdio::null())
            .status();
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "grep -o ' {}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l",
                self.dir.0.display()
            ))
            .status();
    }
}

/// Says the test is skipped (see [`super::skip`]) and returns true when not root.
pub(crate) fn skip_unless_root() -> bool {
    let root = crate::common::is_root();
    if !root {
        crate::common::skip("needs root (guests, namespaces, LXC)");
    }
    !root
}

/// Which backend a test drives, and the engine environment it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Kvm,
    Sandbox,
    Lxc,
    Docker,
    Podman,
    Vbox,
}

impl Kind {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "kvm" => Self::Kvm,
            "sandbox" => Self::Sandbox,
            "lxc" => Self::Lxc,
            "docker" => Self::Docker,
            "podman" => Self::Podman,
            "vbox" => Self::Vbox,
            other => panic!("unknown kind {other}"),
        }
    }

    pub(crate) fn guest(self, env: Vec<(String, String)>) -> Box<dyn Guest> {
        match self {
            // TCG: the machines this runs on have no KVM that boots a stock kernel.
            Self::Kvm => Box::new(Kvm::new(Accel::Tcg, None)),
            Self::Sandbox => Box::new(Sandbox::new()),
            Self::Lxc => Box::new(Lxc::new()),
            Self::Docker => Box::new(Container::with_env(Engine::Docker, env)),
            Self::Podman => Box::new(Container::with_env(Engine::Podman, env)),
            Self::Vbox => Box::new(Vbox::new()),
        }
    }
}

/// Holds whatever engine a kind needs (private dockerd, private podman storage).
pub(crate) enum Engines {
    None,
    Docker(Dockerd),
    Podman(PodmanStorage),
}

impl Engines {
    pub(crate) fn for_kind(kind: Kind) -> Self {
        match kind {
            Kind::Docker => Self::Docker(Dockerd::start()),
            Kind::Podman => Self::Podman(PodmanStorage::new()),
            _ => Self::None,
        }
    }

    pub(crate) fn env(&self) -> Vec<(String, String)> {
        match self {
            Self::None => Vec::new(),
            Self::Docker(d) => vec![("DOCKER_HOST".into(), d.host.clone())],
            Self::Podman(p) => p.env(),
        }
    }

    /// Containers the engine still knows about.
    pub(crate) fn containers(&self) -> String {
        let mut cmd = match self {
            Self::None => return String::new(),
            Self::Docker(_) => Command::new("docker"),
            Self::Podman(_) => {
                let mut c = Command::new("podman");
                c.args(["--runtime", "runc"]);
                c
            }
        };
        let out =
            cmd.envs(self.env()).args(["ps", "-a", "--format", "{{.Names}}"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// What a backend may leave behind, as lines: mounts and processes mentioning `tag`, LXC
/// cgroups of process `pid`, containers of the engine.
pub(crate) fn leftovers(tag: &str, pid: u32, engines: &Engines) -> Vec<String> {
    let mut found = Vec::new();
    for line in fs::read_to_string("/proc/mounts").unwrap().lines() {
        if line.contains(tag) {
            found.push(format!("mount: {line}"));
        }
    }
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() || name == std::process::id().to_string() {
            continue;
        }
        let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(tag) {
            found.push(format!("process {name}: {cmdline}"));
        }
    }
    for ctrl in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for e in fs::read_dir(ctrl.path()).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.contains(&format!(".gitian-{pid}-")) {
                found.push(format!("cgroup: {}", e.path().display()));
            }
        }
    }
    for c in engines.containers().lines() {
        found.push(format!("container: {c}"));
    }
    found
}

/// Held while a [`TestUser`] exists: each one saves and restores /etc/subuid and /etc/subgid.
pub(crate) static TEST_USERS: Mutex<()> = Mutex::new(());

/// A user created for a test (and its /etc/subuid, /etc/subgid lines), removed on drop.
pub(crate) struct TestUser {
    name: String,
    saved: Vec<(PathBuf, Vec<u8>)>,
    /// A base folder this user can read.
    base: PathBuf,
}

impl TestUser {
    pub(crate) fn new(name: &str, subids: Option<u32>, base: &Path) -> Self {
        let _ = Command::new("userdel").arg(name).stderr(Stdio::null()).status();
        let saved: Vec<(PathBuf, Vec<u8>)> = ["/etc/subuid", "/etc/subgid"]
            .iter()
            .map(|f| (PathBuf::from(f), fs::read(f).unwrap_or_default()))
            .collect();
        // No automatic subordinate ids: the test decides.
        let st = Command::new("useradd")
            .args([
                "-K",
                "SUB_UID_COUNT=0",
                "-K",
                "SUB_GID_COUNT=0",
                "-M",
                "-d",
                "/nonexistent",
                "-s",
                "/bin/sh",
                name,
            ])
            .status()
            .unwrap();
        assert!(st.success());
        if let Some(start) = subids {
            for (f, old) in &saved {
                let mut new = old.clone();
                new.extend(format!("{name}:{start}:65536\n").as_bytes());
                fs::write(f, new).unwrap();
            }
        }
        Self { name: name.into(), saved, base: base.to_path_buf() }
    }

    /// The user's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `git gitian build ARGS desc.yml` (backend auto) as this user in `work` (under `root`,
    /// which is given to the user).
    pub(crate) fn run_build(&self, root: &Path, work: &Path, args: &[&str]) -> Output {
        self.run_build_in(root, work, args, &[])
    }

    /// [`TestUser::run_build`] started in the cgroup folders `cgroups` (one per hierarchy).
    pub(crate) fn run_build_in(
        &self,
        root: &Path,
        work: &Path,
        args: &[&str],
        cgroups: &[PathBuf],
    ) -> Output {
        // The binary may sit under a folder the user cannot enter (a clone in /root): run a
        // copy of it from the user's own folder.
        let exe = root.join("git-gitian");
        fs::copy(crate::common::bin(), &exe).unwrap();
        sh(&format!("chown -R {0}: {1}", self.name, root.display()), root);
        let enter =
            "for d in $GG_CGROUPS; do echo $$ >$d/cgroup.procs || exit 125; done; exec \"$@\"";
        let cgs: Vec<String> = cgroups.iter().map(|c| c.display().to_string()).collect();
        Command::new("sh")
            .args(["-c", enter, "sh", "runuser", "-u", &self.name, "--"])
            .arg(&exe)
            .arg("build")
            .args(args)
            .arg("desc.yml")
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", root)
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("GITIAN_BASE_DIR", &self.base)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("GG_CGROUPS", cgs.join(" "))
            .current_dir(work)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Live processes of the user (zombies of git, reparented to the host's init, are not
    /// ours to reap).
    pub(crate) fn live_processes(&self) -> Vec<String> {
        let ps = Command::new("ps").args(["-o", "stat=,args=", "-u", &self.name]).output().unwrap();
        String::from_utf8_lossy(&ps.stdout)
            .lines()
            .filter(|l| !l.trim_start().starts_with('Z'))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        for (f, old) in &self.saved {
            let _ = fs::write(f, old);
        }
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}
