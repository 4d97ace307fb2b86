//! Docker and podman (the same command line, `USE_DOCKER=1` in Gitian terms). The base root
//! file system is imported once as an image tagged by its sha256 (`git-gitian-base:<digest>`,
//! labelled with the full digest); each guest runs one container at a time from it, named
//! `gitian-<pid>-<n>-<seq>` so builds can run side by side.
//!
//! Network: a container's network cannot be taken away while it runs (the daemon has no bridge
//! here, and `--network none` is fixed at `run`). So the guest keeps one running container per
//! network mode: the package-installation step runs in a `--network host` container; when a
//! command needs no network, that container is committed into a per-build image and a
//! `--network none` container continues from it. Copies use whichever container runs.
//!
//! Leftovers: the container's main process is `cat`, reading the stdin of the `docker run -i`
//! client that git-gitian holds. If git-gitian dies, the pipe closes, `cat` ends, and the
//! container stops and is removed (`--rm`). Stale containers of dead git-gitian processes
//! (found by their `org.git-gitian.pid` label) are removed at the next `create`.
//!
//! Root cannot raise hard rlimits on these machines (no CAP_SYS_RESOURCE) and the engines'
//! defaults are above the hard limits, so every container gets explicit `--ulimit`s; podman
//! runs with `--runtime runc` (crun refuses the hybrid cgroup layout).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::env::{self, GuestUser};
use super::util::{self, err};
use super::{Exec, Guest, GuestError, GuestSpec, Network, copy, limits};
use crate::core::limits::Limits;
use crate::process::piped::{self, Proc, Stdio};
use crate::process::{self, HostRunner, Invocation, Runner};

/// Which container engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The Docker CLI and a running dockerd (`DOCKER_HOST` honoured).
    Docker,
    /// podman (rootful or rootless), with runc.
    Podman,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
        }
    }

    /// The engine's command with its global options and extra environment.
    fn cmd(self, env: &[(String, String)]) -> Invocation {
        let mut c = Invocation::new(self.name());
        if self == Self::Podman {
            c = c.args(["--runtime", "runc"]);
        }
        for (k, v) in env {
            c = c.env(k, v);
        }
        c
    }

    /// Why this engine cannot run here, if it cannot.
    pub fn unavailable(self) -> Option<String> {
        self.unavailable_with(&[])
    }

    /// [`Self::unavailable`] with extra environment for the engine (`DOCKER_HOST`, ...).
    pub fn unavailable_with(self, env: &[(String, String)]) -> Option<String> {
        if !util::on_path(self.name()) {
            return Some(format!("{} is not installed", self.name()));
        }
        match self {
            Self::Docker => {
                let ok = process::succeeds(&self.cmd(env).args([
                    "version",
                    "--format",
                    "{{.Server.Version}}",
                ]));
                (!ok).then(|| "no Docker daemon answers (start dockerd or set DOCKER_HOST)".into())
            }
            Self::Podman => {
                (!util::on_path("runc")).then(|| "podman needs runc here (crun fails)".into())
            }
        }
    }
}

/// Ulimits passed to every container (see the module docs).
pub const ULIMITS: [&str; 4] = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"];

/// The Docker or podman backend.
#[derive(Debug)]
pub struct Container {
    engine: Engine,
    /// Extra environment for every engine command (`DOCKER_HOST`, `CONTAINERS_STORAGE_CONF`).
    env: Vec<(String, String)>,
    /// Runs the engine's one-shot commands (a recorder in tests).
    runner: Box<dyn Runner>,
    state: Option<State>,
    /// What copy-out did not bring to the host (devices, FIFOs), for `take_warnings`.
    notes: Vec<String>,
}

#[derive(Debug)]
struct State {
    /// Name prefix of this guest's containers and images.
    name: String,
    /// Image the next container starts from.
    image: String,
    /// Per-build images made by commits (removed by destroy).
    committed: Vec<String>,
    running: Option<Running>,
    seq: u32,
    root: GuestUser,
    build: GuestUser,
    /// Where the `run` clients' stderr goes (for messages).
    dir: PathBuf,
    /// Processes, memory (the engine's `--pids-limit`, `--memory`) and disk.
    limits: Limits,
    /// The limits, watched through each container's cgroups and the engine's data root.
    watch: limits::Watch,
    /// podman's: its default seccomp profile without user namespaces (`guest::seccomp`).
    seccomp: Option<PathBuf>,
}

#[derive(Debug)]
struct Running {
    name: String,
    network: Network,
    /// The `run -i` client; its stdin keeps the container alive.
    client: Proc,
}

impl Container {
    /// A backend for `engine` with no guest yet.
    pub fn new(engine: Engine) -> Self {
        Self::with_env(engine, Vec::new())
    }

    /// A backend whose engine commands get `env` on top of ours (e.g. `DOCKER_HOST`).
    pub fn with_env(engine: Engine, env: Vec<(String, String)>) -> Self {
        Self::with_runner(engine, env, Box::new(HostRunner))
    }

    /// A backend whose one-shot engine commands go through `runner`.
    pub fn with_runner(
        engine: Engine,
        env: Vec<(String, String)>,
        runner: Box<dyn Runner>,
    ) -> Self {
        Self { engine, env, runner, state: None, notes: Vec::new() }
    }

    /// Runs a one-shot engine command; its stdout, or an error unless it exits 0.
    fn run_ok(&self, inv: &Invocation) -> Result<String, GuestError> {
        self.runner.output_ok(inv).map_err(GuestError::process(self.bname()))
    }

    /// Runs a removal whose failure does not matter, to its end even after an interruption.
    fn run_quiet(&self, inv: &Invocation) {
        let _ = self.runner.cleanup(inv);
    }

    fn cmd(&self) -> Invocation {
        self.engine.cmd(&self.env)
    }

    fn bname(&self) -> &'static str {
        self.engine.name()
    }

    /// The imported base image for `base`, importing it on first use.
    fn base_image(&self, base: &Path) -> Result<String, GuestError> {
        let b = self.bname();
        let (tar, key) = util::rootfs_of(b, base)?;
        let short: String = key.chars().take(16).collect();
        let tag = format!("git-gitian-base:{short}");
        let label = format!("sha256:{key}");
        // The image id and the rootfs digest it was imported from.
        let inspect = |tag: &str| -> Result<(String, String), GuestError> {
            let format = "{{.Id}} {{index .Config.Labels \"org.git-gitian.rootfs\"}}";
            let out =
                self.run_ok(&self.cmd().args(["image", "inspect", "--format", format, tag]))?;
            let (id, digest) = out.trim().split_once(' ').unwrap_or((out.trim(), ""));
            Ok((id.to_string(), digest.to_string()))
        };
        // Reuse only an image imported from exactly this tarball.
        if let Ok((id, digest)) = inspect(&tag)
            && digest == label
        {
            return Ok(id);
        }
        self.run_ok(
            &self
                .cmd()
                .arg("import")
                .args(["--change", &format!("LABEL org.git-gitian.rootfs={label}")])
                .arg(&tar)
                .arg(&tag),
        )?;
        let (id, digest) = inspect(&tag)?;
        if digest != label {
            return Err(err(
                b,
                format!("the imported image {tag} is labelled '{digest}', not {label}"),
            ));
        }
        Ok(id)
    }

    /// Removes containers left by git-gitian processes that no longer exist.
    fn remove_stale(&self) {
        let Ok(list) = self.run_ok(&self.cmd().args([
            "ps",
            "-a",
            "--filter",
            "label=org.git-gitian.pid",
            "--format",
            "{{.Names}} {{.Labels}}",
        ])) else {
            return;
        };
        for line in list.lines() {
            let Some((name, labels)) = line.split_once(' ') else { continue };
            let pid = labels
                .split(',')
                .find_map(|kv| {
                    kv.strip_prefix("org.git-gitian.pid=")
                        .or_else(|| kv.strip_prefix("map[org.git-gitian.pid:"))
                })
                .map(|p| p.trim_end_matches(']').to_string())
                .unwrap_or_default();
            if process::is_gone(&pid) {
                self.run_quiet(&self.cmd().args(["rm", "-f", name]));
            }
        }
    }

    /// Makes sure a container with `network` runs (committing and replacing one with the other
    /// network); returns its name.
    fn ensure(&mut self, network: Option<Network>) -> Result<String, GuestError> {
        let engine = self.engine;
        let env = self.env.clone();
        let b = self.bname();
        let runner = &*self.runner;
        let st = self.state.as_mut().ok_or_else(|| err(b, "no guest: create was not called"))?;
        if let Some(r) = &st.running {
            if network.is_none_or(|n| n == r.network) {
                return Ok(r.name.clone());
            }
            // Keep what the running container did: commit it into a per-build image.
            let image = format!("{}-layer:{}", st.name, st.seq);
            runner
                .output_ok(&engine.cmd(&env).args(["commit", &r.name, &image]))
                .map_err(GuestError::process(b))?;
            st.committed.push(image.clone());
            st.image = image;
            stop(runner, engine.cmd(&env), st.running.take());
        }
        let network = network.unwrap_or(Network::Offline);
        st.seq += 1;
        let name = format!("{}-{}", st.name, st.seq);
        let cmd = run_invocation(
            engine.cmd(&env),
            &name,
            network,
            (&st.image, st.seccomp.as_deref()),
            &st.limits,
        );
        let log = st.dir.join(format!("{name}.stderr"));
        let errf = fs::File::create(&log)
            .map_err(|e| err(b, format!("cannot create {}: {e}", log.display())))?;
        let mut client = piped::start(&cmd, Stdio::piped(), Stdio::piped(), Stdio::from(errf))
            .map_err(GuestError::process(b))?;
        let mut line = String::new();
        let ready = client
            .take_stdout()
            .map(|o| BufReader::new(o).read_line(&mut line).is_ok() && line.trim() == "ready")
            .unwrap_or(false);
        if !ready {
            client.stop();
            let _ = runner.cleanup(&engine.cmd(&env).args(["rm", "-f", &name]));
            let why = fs::read_to_string(&log).unwrap_or_default();
            return Err(err(
                b,
                format!("container did not start: {} ({})", cmd.display(), why.trim()),
            ));
        }
        // The container's cgroups, for the limit watch.
        let pid =
            runner.output_ok(&engine.cmd(&env).args(["inspect", "-f", "{{.State.Pid}}", &name]));
        for d in limits::cgroups_of(pid.unwrap_or_default().trim()) {
            st.watch.watch_cgroup(d);
        }
        st.running = Some(Running { name: name.clone(), network, client });
        Ok(name)
    }

    /// `docker exec -i -u USER NAME argv...`
    fn exec_cmd(&self, container: &str, user: &GuestUser, argv: &[String]) -> Invocation {
        self.cmd().args(["exec", "-i", "-u", &user.name, container]).args(argv)
    }
}

/// `docker run -i` of the container that keeps a guest alive: its main process is `cat`,
/// reading the client's stdin (see the module docs); it prints `ready` once it runs.
fn run_invocation(
    engine: Invocation,
    name: &str,
    network: Network,
    (image, seccomp): (&str, Option<&Path>),
    l: &Limits,
) -> Invocation {
    let mem = format!("{}m", l.memory_mib);
    let cmd = engine
        .args(["run", "-i", "--rm", "--name", name])
        .args(["--label", &format!("org.git-gitian.pid={}", std::process::id())])
        .args(ULIMITS)
        .args(["--pids-limit", &l.processes.to_string(), "--memory", &mem, "--memory-swap", &mem])
        .args(["--shm-size", &format!("{}m", limits::shm_mib(l))]);
    let cmd = match seccomp {
        Some(p) => cmd.arg("--security-opt").arg(format!("seccomp={}", p.display())),
        None => cmd,
    };
    let cmd = match network {
        Network::Offline => cmd.args(["--network", "none", "--hostname", env::HOSTNAME]),
        Network::Online => cmd.args(["--network", "host"]),
    };
    cmd.args(["--user", "0:0", "--entrypoint", "/bin/sh", image])
        .args(["-c", "echo ready; exec cat >/dev/null"])
}

/// The `info` format that prints where the engine keeps images and containers' layers.
fn data_root_format(engine: Engine) -> &'static str {
    match engine {
        Engine::Docker => "{{.DockerRootDir}}",
        Engine::Podman => "{{.Store.GraphRoot}}",
    }
}

/// Stops a running container: closes the client's stdin (the container's `cat` ends), waits,
/// and removes the container in case the client is gone.
fn stop(runner: &dyn Runner, engine: Invocation, running: Option<Running>) {
    let Some(mut r) = running else { return };
    drop(r.client.take_stdin());
    let _ = runner.cleanup(&engine.args(["rm", "-f", &r.name]));
    let _ = r.client.wait();
}

impl Guest for Container {
    fn name(&self) -> &'static str {
        self.bname()
    }

    fn describe(&self) -> String {
        let v = match self.engine {
            Engine::Docker => {
                self.run_ok(&self.cmd().args(["version", "--format", "{{.Server.Version}}"]))
            }
            Engine::Podman => {
                self.run_ok(&self.cmd().args(["version", "--format", "{{.Client.Version}}"]))
            }
        };
        let v = v.unwrap_or_default();
        match self.engine {
            Engine::Docker => format!("docker (engine {})", v.trim()),
            Engine::Podman => format!("podman {} (runc)", v.trim()),
        }
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn limit_hit(&mut self) -> Option<crate::core::limits::LimitHit> {
        self.state.as_ref()?.watch.hit()
    }

    fn create(&mut self, spec: &GuestSpec) -> Result<(), GuestError> {
        self.destroy()?;
        let b = self.bname();
        if let Some(why) = self.engine.unavailable_with(&self.env) {
            return Err(err(b, why));
        }
        self.remove_stale();
        let image = self.base_image(&spec.base)?;
        let (tar, _) = util::rootfs_of(b, &spec.base)?;
        let build = util::build_user_from_tar(b, &tar, &spec.distro)?;
        let dir = spec.scratch.clone();
        util::remove_tree(b, &dir)?;
        fs::create_dir_all(&dir)
            .map_err(|e| err(b, format!("cannot create {}: {e}", dir.display())))?;
        // The disk: the containers' writable layers grow the engine's data root.
        let data = self.run_ok(&self.cmd().args(["info", "-f", data_root_format(self.engine)]));
        let data = data.ok().map(|d| PathBuf::from(d.trim())).filter(|d| d.is_dir());
        let watch = limits::Watch::start(spec.limits, data.as_deref());
        // Docker's default seccomp profile refuses user namespaces; podman's does not.
        let seccomp = match self.engine {
            Engine::Docker => None,
            Engine::Podman => super::seccomp::write_profile(&dir)
                .map_err(|why| {
                    self.notes.push(format!("user namespaces are allowed in this guest: {why}"))
                })
                .ok(),
        };
        self.state = Some(State {
            name: util::unique_name("gitian"),
            image,
            committed: Vec::new(),
            running: None,
            seq: 0,
            root: GuestUser::root(),
            build,
            dir,
            limits: spec.limits,
            watch,
            seccomp,
        });
        Ok(())
    }

    fn exec(&mut self, cmd: &Exec<'_>) -> Result<i32, GuestError> {
        let b = self.bname();
        let name = self.ensure(Some(cmd.network))?;
        let st = self.state.as_ref().expect("ensured");
        let who = env::pick(cmd.user, &st.root, &st.build);
        // As root under the reaper (everything the command leaves running ends with it), the
        // build user through setpriv.
        let mut argv: Vec<String> = Vec::new();
        if who.uid != 0 {
            argv.extend([
                "setpriv".to_string(),
                format!("--reuid={}", who.uid),
                format!("--regid={}", who.gid),
                "--init-groups".into(),
                "--".into(),
            ]);
        }
        argv.extend(env::inner_argv(who, cmd));
        let c = self.exec_cmd(&name, &st.root, &limits::reaped(&argv));
        self.runner.run(&c, Some(cmd.script.as_bytes()), cmd.log).map_err(GuestError::process(b))
    }

    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        let b = self.bname();
        copy::check_guest_path(b, guest_dir)?;
        let name = self.ensure(None)?;
        let st = self.state.as_ref().expect("ensured");
        let consumer = self.exec_cmd(&name, &st.build, &copy::untar_argv(&st.build, guest_dir));
        copy::copy_in_with(b, host, guest_dir, |input| {
            piped::start(&consumer, input, Stdio::null(), Stdio::piped())
                .map_err(GuestError::process(b))
        })
    }

    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        let b = self.bname();
        copy::check_guest_path(b, guest_path)?;
        let name = self.ensure(None)?;
        let st = self.state.as_ref().expect("ensured");
        let producer = self.exec_cmd(&name, &st.build, &copy::tar_argv(&st.build, guest_path));
        let notes = copy::copy_out_with(b, guest_path, host_dir, || {
            piped::start(&producer, Stdio::null(), Stdio::piped(), Stdio::piped())
                .map_err(GuestError::process(b))
        })?;
        self.notes.extend(notes);
        Ok(())
    }

    fn destroy(&mut self) -> Result<(), GuestError> {
        let engine = self.engine;
        let Some(mut st) = self.state.take() else { return Ok(()) };
        stop(&*self.runner, self.cmd(), st.running.take());
        for image in &st.committed {
            self.run_quiet(&self.cmd().args(["rmi", "-f", image]));
        }
        util::remove_tree(engine.name(), &st.dir)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Recorder;

    const INSPECT: &str = "image inspect --format '{{.Id}} {{index .Config.Labels \"org.git-gitian.rootfs\"}}' git-gitian-base:0123456789abcdef";

    fn base() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("rootfs.tar"), b"tar").unwrap();
        let key = format!("0123456789abcdef{}", "0".repeat(48));
        fs::write(dir.path().join("SHA256SUMS"), format!("{key}  ./rootfs.tar\n")).unwrap();
        (dir, key)
    }

    /// The base is imported once, labelled with its digest, and reused only when the label
    /// matches: podman's exact command lines, with its runtime and storage environment.
    #[test]
    fn base_image_is_imported_once_and_checked_by_label() {
        let (dir, key) = base();
        let rec = Recorder::new();
        let env = vec![("CONTAINERS_STORAGE_CONF".to_string(), "/s/storage.conf".to_string())];
        let c = Container::with_runner(Engine::Podman, env, Box::new(rec.clone()));
        // First inspect: no such image; after the import: the labelled image.
        rec.reply(INSPECT, Some(1), 125, "");
        rec.reply(INSPECT, None, 0, &format!("sha256:feed sha256:{key}\n"));
        assert_eq!(c.base_image(dir.path()).unwrap(), "sha256:feed");
        assert_eq!(c.base_image(dir.path()).unwrap(), "sha256:feed");
        let p = "CONTAINERS_STORAGE_CONF=/s/storage.conf podman --runtime runc";
        let tar = dir.path().join("rootfs.tar");
        assert_eq!(
            rec.lines(),
            vec![
                format!("{p} {INSPECT}"),
                format!(
                    "{p} import --change 'LABEL org.git-gitian.rootfs=sha256:{key}' {} \
                     git-gitian-base:0123456789abcdef",
                    tar.display()
                ),
                format!("{p} {INSPECT}"),
                format!("{p} {INSPECT}"),
            ]
        );
    }

    /// An image under the tag imported from another tarball is not used.
    #[test]
    fn a_differently_labelled_image_is_refused() {
        let (dir, _) = base();
        let rec = Recorder::new();
        let c = Container::with_runner(Engine::Docker, Vec::new(), Box::new(rec.clone()));
        rec.reply(INSPECT, None, 0, "sha256:other sha256:else\n");
        let e = c.base_image(dir.path()).unwrap_err().to_string();
        assert!(e.contains("is labelled 'sha256:else'"), "{e}");
        assert!(rec.lines()[1].starts_with("docker import "), "{:?}", rec.lines());
    }

    /// The container that keeps a guest alive, and a command in it.
    #[test]
    fn run_and_exec_command_lines() {
        let c = Container::new(Engine::Docker);
        let l = Limits { memory_mib: 2048, processes: 100, disk_mib: 1000 };
        let run = run_invocation(c.cmd(), "gitian-1-0-1", Network::Offline, ("img:1", None), &l);
        let pid = std::process::id();
        assert_eq!(
            run.display(),
            format!(
                "docker run -i --rm --name gitian-1-0-1 --label org.git-gitian.pid={pid} \
                 --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --pids-limit 100 \
                 --memory 2048m --memory-swap 2048m --shm-size 512m --network none \
                 --hostname gitian --user 0:0 --entrypoint /bin/sh img:1 -c \
                 'echo ready; exec cat >/dev/null'"
            )
        );
        let online = run_invocation(c.cmd(), "n", Network::Online, ("i", None), &l).display();
        assert!(online.contains(" --network host --user "), "{online}");
        let user = GuestUser::root();
        let exec = c.exec_cmd("n", &user, &["bash".into()]);
        assert_eq!(exec.display(), "docker exec -i -u root n bash");
    }
}
