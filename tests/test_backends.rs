//! The guest backends for real: LXC, the namespace sandbox (as root and as an ordinary user
//! created here), Docker (a private dockerd started here) and podman (private storage). Each
//! runs the same deterministic build (a small C program from a local git remote) and must give
//! the same outputs; each must keep the script off the network and away from host paths, and
//! leave nothing behind after a failing script or a kill.
//!
//! The base is the one `git gitian make-base` makes for `test_build` (its `rootfs.tar` in
//! `<base_dir>/debian-bookworm-amd64`), or `GITIAN_TEST_BASE_DIR` when set.

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git_gitian::core::manifest::Manifest;
use git_gitian::guest::docker::{Container, Engine};
use git_gitian::guest::lxc::Lxc;
use git_gitian::guest::sandbox::Sandbox;
use git_gitian::guest::select::Backend;
use git_gitian::guest::{Exec, Guest, Network, User};
use git_gitian::ops::matrix;

use crate::common::backends::{
    Dockerd, Engines, Kind, PodmanStorage, Scratch, TEST_USERS, TestUser, base_dir, exec,
    leftovers, nanos, readable_base, sh, skip_unless_root, spec,
};
use crate::common::guests::{guest_lock, lxc_lock};
use crate::common::{stderr, stdout};

/// A git remote with a small C program, and a clone of it as Gitian's `inputs/hello`.
pub fn make_inputs(work: &Path) -> PathBuf {
    let remote = work.join("remote.git");
    let src = work.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(
        src.join("hello.c"),
        "#include <stdio.h>\nint main(void) { printf(\"hello from gitian\\n\"); return 0; }\n",
    )
    .unwrap();
    fs::write(src.join("Makefile"), "hello: hello.c\n\t$(CC) -O2 -o $@ $< -Wl,--build-id=none\n")
        .unwrap();
    let git = "git -c user.name=T -c user.email=t@example.invalid";
    sh(
        &format!(
            "git init -q . && git add . && GIT_AUTHOR_DATE=@1700000000 GIT_COMMITTER_DATE=@1700000000 \
             {git} commit -qm hello && git clone -q --bare . {}",
            remote.display()
        ),
        &src,
    );
    let inputs = work.join("inputs");
    fs::create_dir_all(&inputs).unwrap();
    sh(&format!("git clone -q {} hello", remote.display()), &inputs);
    inputs.join("hello")
}

/// The build script: deterministic outputs plus what the script sees of its environment.
pub const HELLO_SCRIPT: &str = r#"set -e
umask 002
export OUTDIR=$HOME/out
cd build/hello
git reset -q --hard && git clean -q -f -d
make CC=gcc
./hello > $OUTDIR/hello.txt
git log --format=%H -1 > $OUTDIR/commit.txt
mkdir -p dist && cp hello dist/ && tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -cf - dist | gzip -n > $OUTDIR/hello.tar.gz
{ id -un; id -u; hostname; pwd; umask; echo "HOME=$HOME USER=$USER PATH=$PATH"; env | sort; } > $OUTDIR/environment.txt
"#;

/// Runs the hello build on `guest` the way Gitian does and returns the out manifest.
pub fn build_hello(guest: &mut dyn Guest, work: &Path, hello: &Path) -> String {
    let scratch = work.join(format!("scratch-{}", guest.name()));
    let spec = spec(&scratch);
    guest.create(&spec).unwrap();
    let log = work.join(format!("{}-build.log", guest.name()));
    let init = "rm -rf install out build cache\nmkdir build out install\nmkdir -p cache/common\n";
    assert_eq!(
        guest.exec(&exec(User::Build, Network::Offline, init, Some(&log))).unwrap(),
        0,
        "{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    guest.copy_in(hello, "build").unwrap();
    let mut script = exec(User::Build, Network::Offline, HELLO_SCRIPT, Some(&log));
    script.trace = true;
    let code = guest.exec(&script).unwrap();
    assert_eq!(
        code,
        0,
        "build failed on {}: {}",
        guest.name(),
        fs::read_to_string(&log).unwrap_or_default()
    );
    let out = work.join(format!("out-{}", guest.name()));
    guest.copy_out("out", &out).unwrap();
    guest.destroy().unwrap();
    guest.destroy().unwrap(); // idempotent
    assert!(!scratch.exists(), "{} left its scratch folder", guest.name());
    manifest(&out.join("out"))
}

/// `sha256  name` lines of every file under `dir`, sorted.
pub fn manifest(dir: &Path) -> String {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                let out = Command::new("sha256sum").arg(&p).output().unwrap();
                let hex =
                    String::from_utf8_lossy(&out.stdout).split(' ').next().unwrap().to_string();
                files.insert(rel, hex);
            }
        }
    }
    files.iter().map(|(n, h)| format!("{h}  {n}\n")).collect()
}

/// Every backend that can run here builds the same descriptor to the same bytes, and the
/// script sees the same environment on each; the matrix says so, and names a backend whose
/// output differs.
#[test]
fn test_backends_same_out_manifest_on_every_backend() {
    if skip_unless_root() {
        return;
    }
    let _lxc = lxc_lock();
    let work = Scratch::new("same");
    let hello = make_inputs(&work.0);
    let dockerd = Dockerd::start();
    let podman = PodmanStorage::new();
    let docker_env = vec![("DOCKER_HOST".to_string(), dockerd.host.clone())];
    let guest = |b: Backend| -> Box<dyn Guest> {
        match b {
            Backend::Sandbox => Box::new(Sandbox::new()),
            Backend::Lxc => Box::new(Lxc::new()),
            Backend::Docker => Box::new(Container::with_env(Engine::Docker, docker_env.clone())),
            Backend::Podman => Box::new(Container::with_env(Engine::Podman, podman.env())),
            other => panic!("{other} is not tested here"),
        }
    };
    let backends = [Backend::Sandbox, Backend::Lxc, Backend::Docker, Backend::Podman];
    let report = matrix::run(&backends, |b| {
        let mut g = guest(b);
        let m = build_hello(g.as_mut(), &work.0, &hello);
        Ok((g.describe(), Manifest::parse(&m)))
    });
    assert!(report.all_agree(), "{}", report.render());
    let text = report.render();
    let squeezed = |t: &str| t.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    let text = squeezed(&text);
    assert!(text.contains("hello.tar.gz agree (4 backends) "), "{text}");
    assert!(text.contains("environment.txt agree (4 backends) "), "{text}");
    assert!(
        text.contains("\ndocker docker (engine ") && text.contains("\npodman podman "),
        "{text}"
    );
    assert!(text.contains("sandbox sandbox (user namespace, identity id map) (4 files)"), "{text}");

    // An output that depends on the backend: /.dockerenv exists only in Docker containers.
    let report = matrix::run(&[Backend::Sandbox, Backend::Lxc, Backend::Docker], |b| {
        let mut g = guest(b);
        let scratch = work.0.join(format!("where-{b}"));
        g.create(&spec(&scratch)).map_err(|e| e.to_string())?;
        let script = "mkdir -p out; if [ -e /.dockerenv ]; then echo docker; else echo other; fi > out/where.txt; echo same > out/same.txt\n";
        assert_eq!(g.exec(&exec(User::Build, Network::Offline, script, None)).unwrap(), 0);
        let out = work.0.join(format!("out-where-{b}"));
        g.copy_out("out", &out).unwrap();
        g.destroy().unwrap();
        Ok((g.describe(), Manifest::parse(&manifest(&out.join("out")))))
    });
    assert!(!report.all_agree());
    let text = squeezed(&report.render());
    assert!(text.contains("where.txt DIFFERS on docker ("), "{text}");
    assert!(text.contains("same.txt agree (3 backends)"), "{text}");

    // Nothing left in the engines but the imported base.
    assert_eq!(dockerd.docker(&["ps", "-aq"]), "");
    let images = dockerd.docker(&["images", "--format", "{{.Repository}}"]);
    assert_eq!(images.trim(), "git-gitian-base");
}

/// What a build script can observe of the machine: user and groups, host name, working
/// folder, umask, locale, network interfaces, the whole environment.
const OBSERVE: &str = "{ id; hostname; pwd; umask; locale; \
     tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; env | LC_ALL=C sort; } 2>&1\n";

/// The script sees the same machine, byte for byte, on kvm, lxc, sandbox and docker (as the
/// build user, offline, after the root step that had the network); each backend's bytes are
/// shown when they differ.
#[test]
fn test_backends_a_script_observes_the_same_machine_everywhere() {
    if skip_unless_root() {
        return;
    }
    let _vm = guest_lock();
    let _lxc = lxc_lock();
    let work = Scratch::new("observe");
    let mut seen: Vec<(Kind, String)> = Vec::new();
    for kind in [Kind::Kvm, Kind::Lxc, Kind::Sandbox, Kind::Docker] {
        let engines = Engines::for_kind(kind);
        let mut g = kind.guest(engines.env());
        let mut s = spec(&work.0.join(format!("scratch-{}", kind_dir(kind))));
        s.memory_mib = 1024;
        g.create(&s).unwrap();
        let (code, _) = run(g.as_mut(), User::Root, Network::Online, "true\n", &work.0);
        assert_eq!(code, 0, "{kind:?}: the root step failed");
        let (code, out) = run(g.as_mut(), User::Build, Network::Offline, OBSERVE, &work.0);
        assert_eq!(code, 0, "{kind:?}: {out}");
        g.destroy().unwrap();
        seen.push((kind, out));
    }
    let shown: String = seen.iter().map(|(k, o)| format!("--- {k:?}\n{o}")).collect();
    eprintln!("{shown}");
    for (kind, out) in &seen[1..] {
        assert_eq!(out, &seen[0].1, "{kind:?} differs from {:?}:\n{shown}", seen[0].0);
    }
    assert!(seen[0].1.contains("\nlo\nHOME=/home/debian\n"), "only lo:\n{shown}");
}

#[test]
fn test_backends_sandbox_builds_hello() {
    if skip_unless_root() {
        return;
    }
    let work = Scratch::new("sb-hello");
    let hello = make_inputs(&work.0);
    let m = build_hello(&mut Sandbox::new(), &work.0, &hello);
    assert!(m.contains("  hello.tar.gz\n"), "{m}");
    let env = fs::read_to_string(work.0.join("out-sandbox/out/environment.txt")).unwrap();
    assert!(env.starts_with("debian\n1000\ngitian\n/home/debian/build/hello\n0002\n"), "{env}");
}

/// Runs a script in the guest and returns (exit code, its output).
fn run(g: &mut dyn Guest, user: User, net: Network, script: &str, work: &Path) -> (i32, String) {
    let log = work.join(format!("run-{}.log", nanos()));
    let code = g.exec(&exec(user, net, script, Some(&log))).unwrap();
    let text = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    (code, text)
}

/// Whether a connection arrived at `listener` (non-blocking), waiting up to 120 s for one that
/// is on its way (QEMU's user network forwards asynchronously; only the positive case waits,
/// so the ceiling costs nothing when it works).
fn accepted(listener: &TcpListener) -> bool {
    let start = Instant::now();
    loop {
        if listener.accept().is_ok() {
            return true;
        }
        if start.elapsed() > Duration::from_secs(120) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Network, host paths, fresh layer, failing script and cleanup, for one backend.
fn check_isolation(kind: Kind) {
    // Every kind: the leftover check counts LXC cgroups of this process, which a concurrently
    // running LXC test's live container also has (docker's check failed on lxc's monitor).
    let _vm = (kind == Kind::Kvm).then(guest_lock);
    let _lxc = lxc_lock();
    let work = Scratch::new(&format!("iso-{kind:?}").to_lowercase());
    let engines = Engines::for_kind(kind);
    let tag = work.0.display().to_string();
    let before = leftovers(&tag, std::process::id(), &engines);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let secret_tmp = PathBuf::from(format!("/tmp/gg-secret-{}", std::process::id()));
    fs::write(&secret_tmp, "secret").unwrap();
    fs::write(work.0.join("secret"), "secret").unwrap();
    let written = PathBuf::from(format!("/tmp/gg-written-{}", std::process::id()));

    let mut g = kind.guest(engines.env());
    let mut s = spec(&work.0.join("scratch"));
    s.memory_mib = 1024;
    g.create(&s).unwrap();
    // The host listener, by IP (no name to resolve: a DNS failure alone proves nothing). A kvm
    // guest reaches the host's loopback through QEMU's user network at 10.0.2.2.
    let ip = if kind == Kind::Kvm { "10.0.2.2" } else { "127.0.0.1" };
    let probe = format!(
        "if (echo x > /dev/tcp/{ip}/{port}) 2>/dev/null; then echo CONNECTED; else echo UNREACHABLE; fi\n\
         tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '\n"
    );
    // The install phase has the network (proves the probe can succeed); it comes first, as
    // in a build (kvm removes the network for good once a command runs offline).
    let (_, out) = run(g.as_mut(), User::Root, Network::Online, &probe, &work.0);
    assert!(out.starts_with("CONNECTED\n"), "{kind:?} online: {out}");
    assert!(accepted(&listener), "{kind:?}: the online probe did not arrive");
    // No network in the script phase: the listener is unreachable and the only interface is lo.
    for user in [User::Build, User::Root] {
        let (code, out) = run(g.as_mut(), user, Network::Offline, &probe, &work.0);
        assert_eq!(code, 0, "{out}");
        assert_eq!(out, "UNREACHABLE\nlo\n", "{kind:?} {user:?} offline");
    }
    if kind == Kind::Kvm {
        // Root in the guest takes the NIC back (rebinds its driver, re-adds the address and
        // the route): the host side is gone, so still nothing arrives.
        let retake = format!(
            "for d in /sys/bus/virtio/devices/virtio*; do \
               [ \"$(cat $d/device)\" = 0x0001 ] && echo ${{d##*/}} > /sys/bus/virtio/drivers/virtio_net/bind; \
             done 2>/dev/null\n\
             ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 && echo READDED\n{probe}"
        );
        let (_, out) = run(g.as_mut(), User::Root, Network::Offline, &retake, &work.0);
        assert!(out.starts_with("READDED\nUNREACHABLE\n"), "{kind:?} after root re-added: {out}");
    }
    // A connection that got through would be queued already: the probes connect synchronously
    // (QEMU's user network completes a guest's connect only once the host side is connected).
    assert!(listener.accept().is_err(), "{kind:?}: something connected while offline");

    // Host paths: nothing of the host but what was copied in.
    let look = format!(
        "for p in {} {} {} /work /root/.cache/git-gitian /var/cache/git-gitian-test; do \
         if [ -e \"$p\" ]; then echo \"VISIBLE $p\"; fi; done\n\
         echo pwned > {} 2>/dev/null; touch /etc/gitian-marker; echo done\n",
        secret_tmp.display(),
        work.0.join("secret").display(),
        work.0.display(),
        written.display()
    );
    let (code, out) = run(g.as_mut(), User::Root, Network::Offline, &look, &work.0);
    assert_eq!((code, out.as_str()), (0, "done\n"), "{kind:?}");
    assert!(!written.exists(), "{kind:?}: the guest wrote to the host's /tmp");
    // The build user cannot write the system.
    let (code, _) =
        run(g.as_mut(), User::Build, Network::Offline, "touch /usr/bin/x 2>/dev/null", &work.0);
    assert_ne!(code, 0, "{kind:?}: the build user wrote /usr/bin");
    // A failing script is an exit code, not an error.
    let (code, _) = run(g.as_mut(), User::Build, Network::Offline, "echo failing; exit 3", &work.0);
    assert_eq!(code, 3);
    g.destroy().unwrap();

    // A new guest starts from the pristine base.
    let mut s = spec(&work.0.join("scratch2"));
    s.memory_mib = 1024;
    g.create(&s).unwrap();
    let (code, out) = run(
        g.as_mut(),
        User::Root,
        Network::Offline,
        "ls /etc/gitian-marker 2>&1 || true",
        &work.0,
    );
    assert_eq!(code, 0);
    assert!(out.contains("No such file"), "{kind:?}: {out}");
    g.destroy().unwrap();
    drop(g);
    let _ = fs::remove_file(&secret_tmp);
    let after = leftovers(&tag, std::process::id(), &engines);
    assert_eq!(after, before, "{kind:?} left something behind");
    assert!(!work.0.join("scratch").exists());
    assert!(!work.0.join("scratch2").exists());
}

fn kind_dir(kind: Kind) -> &'static str {
    match kind {
        Kind::Kvm => "kvm",
        Kind::Sandbox => "sandbox",
        Kind::Lxc => "lxc",
        Kind::Docker => "docker",
        Kind::Podman => "podman",
        Kind::Vbox => "vbox",
    }
}

/// Not a test by itself: the process that `kill_leaves_nothing` starts and kills. It creates a
/// guest of `GG_KILL_KIND` and runs a long sleep marked `GG_KILL_MARK`.
#[test]
#[ignore = "not a test: the process check_kill starts and kills"]
fn test_backends_kill_helper() {
    let Ok(kind) = std::env::var("GG_KILL_KIND") else { return };
    let mark = std::env::var("GG_KILL_MARK").unwrap();
    let scratch = PathBuf::from(std::env::var("GG_KILL_SCRATCH").unwrap());
    let env: Vec<(String, String)> = ["DOCKER_HOST", "CONTAINERS_STORAGE_CONF"]
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    let mut g = Kind::parse(&kind).guest(env);
    g.create(&spec(&scratch)).unwrap();
    let script = format!("exec -a {mark} sleep 300\n");
    g.exec(&exec(User::Build, Network::Offline, &script, None)).unwrap();
}

/// Killing git-gitian (SIGKILL, no chance to clean up) in the middle of a script leaves no
/// process, mount, cgroup or container behind.
fn check_kill(kind: Kind) {
    let work = Scratch::new(&format!("kill-{kind:?}").to_lowercase());
    let engines = Engines::for_kind(kind);
    let mark = format!("gg-kill-mark-{}", nanos());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "test_backends::test_backends_kill_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GG_KILL_KIND", kind_dir(kind))
        .env("GG_KILL_MARK", &mark)
        .env("GG_KILL_SCRATCH", work.0.join("scratch"))
        .env("GITIAN_TEST_BASE_DIR", base_dir())
        .envs(engines.env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    while leftovers(&mark, pid, &Engines::None).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the helper ended early");
        assert!(start.elapsed() < Duration::from_secs(180), "the script never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let tag = work.0.display().to_string();
    let start = Instant::now();
    loop {
        let mut left = leftovers(&mark, pid, &engines);
        left.extend(leftovers(&tag, pid, &Engines::None));
        if left.is_empty() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "{kind:?} left after a kill: {left:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `git gitian build` (backend auto) as `user` on the hello descriptor in a folder under
/// `root` that the user owns; returns (out manifest, build info, stderr).
fn build_as(user: &TestUser, root: &Path) -> (String, String, String) {
    let work = cli_workdir(root, CLI_SCRIPT);
    let out = user.run_build(root, &work, &[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the build as {} failed: {err}", user.name());
    let live = user.live_processes();
    assert!(live.is_empty(), "{} left processes running: {live:?}", user.name());
    let info = fs::read_to_string(work.join("var/build-info")).unwrap();
    (out_manifest(&work), info, err)
}

/// The sandbox works for an ordinary user without sudo, with a subordinate id range and with
/// a single mapped id, and gives the same bytes as root's.
#[test]
fn test_backends_sandbox_as_ordinary_user() {
    if skip_unless_root() {
        return;
    }
    let _g = TEST_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let work = Scratch::new("sb-user");
    let root_work = cli_workdir(&work.0.join("root"), CLI_SCRIPT);
    let out = gitian(&root_work, &["build", "--backend", "sandbox", "desc.yml"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want = out_manifest(&root_work);

    let base = readable_base(&work.0.join("base"));
    let ranged = TestUser::new("ggrange", Some(3_000_000), &base);
    let (got, info, err) = build_as(&ranged, &work.0.join("ranged"));
    assert_eq!(got, want, "ordinary user with a subordinate range");
    assert!(err.contains("using sandbox (") && err.contains("lxc: not root"), "{err}");
    assert!(
        info.contains("backend: sandbox (user namespace, subordinate ids from 3000000)"),
        "{info}"
    );
    drop(ranged);

    let single = TestUser::new("ggsingle", None, &base);
    let (got, info, _) = build_as(&single, &work.0.join("single"));
    assert_eq!(got, want, "ordinary user with one mapped id");
    assert!(info.contains("backend: sandbox (user namespace, single id "), "{info}");
}

/// Packages are installed as root with the network (into this guest's layer only), then the
/// script runs without network and finds them.
fn check_packages(kind: Kind) {
    let _vm = (kind == Kind::Kvm).then(guest_lock);
    let _lxc = (kind == Kind::Lxc).then(lxc_lock);
    let work = Scratch::new(&format!("pkg-{kind:?}").to_lowercase());
    let engines = Engines::for_kind(kind);
    let mut g = kind.guest(engines.env());
    g.create(&spec(&work.0.join("scratch"))).unwrap();
    let env = [("DEBIAN_FRONTEND".to_string(), "noninteractive".to_string())];
    let log = work.0.join("install.log");
    let install = Exec {
        user: User::Root,
        network: Network::Online,
        setarch: None,
        trace: false,
        script: "apt-get -q update && apt-get -q -y --no-install-recommends install hello\n",
        env: &env,
        log: Some(&log),
    };
    let code = g.exec(&install).unwrap();
    assert_eq!(code, 0, "{kind:?}: {}", fs::read_to_string(&log).unwrap_or_default());
    let (code, out) = run(
        g.as_mut(),
        User::Build,
        Network::Offline,
        "hello; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
        &work.0,
    );
    assert_eq!((code, out.as_str()), (0, "Hello, world!\nlo\n"), "{kind:?}");
    g.destroy().unwrap();
    // The next guest starts from the base again: no hello.
    g.create(&spec(&work.0.join("scratch2"))).unwrap();
    let (code, _) = run(g.as_mut(), User::Build, Network::Offline, "command -v hello", &work.0);
    assert_ne!(code, 0, "{kind:?}: the package leaked into the base");
    g.destroy().unwrap();
    assert_eq!(engines.containers(), "", "{kind:?}");
    if let Engines::Docker(d) = &engines {
        let images = d.docker(&["images", "--format", "{{.Repository}}"]);
        assert_eq!(images.trim(), "git-gitian-base", "the per-build image was not removed");
    }
}

/// Two guests of the same backend side by side (unique names, separate layers).
#[test]
fn test_backends_two_guests_side_by_side() {
    if skip_unless_root() {
        return;
    }
    let _lxc = lxc_lock();
    let work = Scratch::new("pair");
    for kind in [Kind::Sandbox, Kind::Lxc] {
        // Both guests have written /tmp/who before either reads it back: the barrier makes the
        // overlap certain (a sleep in the script only made it likely).
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let dir = work.0.join(format!("{kind:?}-{i}"));
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut g = kind.guest(Vec::new());
                    g.create(&spec(&dir)).unwrap();
                    let write = format!("echo {i} > /tmp/who");
                    let (code, _) = run(g.as_mut(), User::Root, Network::Offline, &write, &dir);
                    assert_eq!(code, 0);
                    barrier.wait();
                    let read = "cat /tmp/who";
                    let (code, out) = run(g.as_mut(), User::Root, Network::Offline, read, &dir);
                    g.destroy().unwrap();
                    (code, out)
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), (0, format!("{i}\n")), "{kind:?}");
        }
    }
}

/// A C project that takes a few seconds to compile: `n` files of generated functions.
pub fn make_compile_project(dir: &Path, files: usize) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..files {
        let mut text = String::new();
        for j in 0..40 {
            text.push_str(&format!(
                "int f{i}_{j}(int *a, int n) {{\n  int s = {j};\n  for (int k = 0; k < n; k++) {{\n    \
                 s += a[k] * {m} ^ (s >> 3);\n    if (s % 7 == {r}) s -= a[(k * {q}) % n];\n    \
                 switch (a[k] & 15) {{ case 0: s += 1; break; case 1: s *= 3; break; case 2: s ^= a[0]; break; \
                 case 3: s -= k; break; case 4: s += k * k; break; default: s += 2; }}\n  }}\n  return s;\n}}\n",
                m = i + 1,
                r = j % 7,
                q = j + 1
            ));
        }
        fs::write(dir.join(format!("f{i}.c")), text).unwrap();
    }
    fs::write(
        dir.join("Makefile"),
        "SRCS=$(wildcard f*.c)\nall: $(SRCS:.c=.o)\n%.o: %.c\n\t$(CC) -O2 -c $< -o $@\n",
    )
    .unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The numbers behind `bench/build-backends` (run it there, not here): a warm trivial build
/// end to end (create, prepare, copy in, script, copy out, destroy) and a real compile in the
/// guest against the same compile on the host.
#[test]
#[ignore = "a benchmark, run by bench/build-backends"]
fn test_backends_bench() {
    let runs: usize = std::env::var("GG_BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let work = Scratch::new("bench");
    let input = work.0.join("inputs/trivial");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("a.txt"), "input\n").unwrap();
    let kinds = [Kind::Sandbox, Kind::Lxc];
    let trivial = |kind: Kind, i: usize| -> f64 {
        let dir = work.0.join(format!("t-{kind:?}-{i}"));
        let start = Instant::now();
        let mut steps = Vec::new();
        let mut lap = |name: &str| {
            steps.push(format!("{name} {:.0}", start.elapsed().as_secs_f64() * 1000.0));
        };
        let mut g = kind.guest(Vec::new());
        g.create(&spec(&dir)).unwrap();
        lap("create");
        let init =
            "rm -rf install out build cache\nmkdir build out install\nmkdir -p cache/common\n";
        assert_eq!(g.exec(&exec(User::Build, Network::Offline, init, None)).unwrap(), 0);
        lap("init");
        g.copy_in(&input, "build").unwrap();
        lap("copy_in");
        let script = "set -e\ncd build\nsha256sum trivial/a.txt > $HOME/out/sums.txt\n";
        assert_eq!(g.exec(&exec(User::Build, Network::Offline, script, None)).unwrap(), 0);
        lap("script");
        g.copy_out("out", &dir.join("result")).unwrap();
        lap("copy_out");
        g.destroy().unwrap();
        lap("destroy");
        if std::env::var_os("GG_BENCH_STEPS").is_some() {
            let k = format!("{kind:?}").to_lowercase();
            println!("{k:8} steps (ms, cumulative): {}", steps.join(", "));
        }
        start.elapsed().as_secs_f64()
    };
    for kind in kinds {
        trivial(kind, 999); // warm the unpacked base
        let times: Vec<f64> = (0..runs).map(|i| trivial(kind, i)).collect();
        let m = median(times.clone());
        let list: Vec<String> = times.iter().map(|t| format!("{t:.3}")).collect();
        let verdict = if kind == Kind::Sandbox { if m < 0.5 { "ok" } else { "SLOW" } } else { "-" };
        println!(
            "{:8} warm trivial build: median {m:.3} s (runs {})  target < 0.5 s (sandbox): {verdict}",
            format!("{kind:?}").to_lowercase(),
            list.join(" ")
        );
    }

    let files: usize =
        std::env::var("GG_BENCH_FILES").ok().and_then(|r| r.parse().ok()).unwrap_or(12);
    let project = work.0.join("inputs/compile");
    make_compile_project(&project, files);
    // Wall clock and CPU time (user + sys of the compile's processes, from bash's `times`):
    // on a machine shared with other work the wall clock swings, the CPU time much less.
    let compile_script = "set -e\ncd build/compile\nmake -s -j2 CC=gcc\ntimes\n";
    let cpu_of = |times: &str| -> f64 {
        let secs = |w: &str| -> f64 {
            let (m, s) = w.trim_end_matches('s').split_once('m').unwrap();
            m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
        };
        let line = times.lines().filter(|l| l.contains('m') && l.ends_with('s')).nth(1).unwrap();
        line.split_whitespace().map(secs).sum()
    };
    let compile_host = || -> (f64, f64) {
        sh("rm -f *.o", &project);
        let start = Instant::now();
        let out = Command::new("bash")
            .arg("-c")
            .arg(compile_script.replace("cd build/compile", "cd ."))
            .current_dir(&project)
            .output()
            .unwrap();
        assert!(out.status.success());
        (start.elapsed().as_secs_f64(), cpu_of(&String::from_utf8_lossy(&out.stdout)))
    };
    let mut guests: Vec<(Kind, Box<dyn Guest>)> = Vec::new();
    for kind in kinds {
        let mut g = kind.guest(Vec::new());
        g.create(&spec(&work.0.join(format!("c-{kind:?}")))).unwrap();
        g.copy_in(&project, "build").unwrap();
        guests.push((kind, g));
    }
    let log = work.0.join("compile.log");
    let compile_in = |g: &mut dyn Guest| -> (f64, f64) {
        let script = "set -e\ncd build/compile\nrm -f *.o\n";
        assert_eq!(g.exec(&exec(User::Build, Network::Offline, script, None)).unwrap(), 0);
        let _ = fs::remove_file(&log);
        let start = Instant::now();
        assert_eq!(
            g.exec(&exec(User::Build, Network::Offline, compile_script, Some(&log))).unwrap(),
            0
        );
        (start.elapsed().as_secs_f64(), cpu_of(&fs::read_to_string(&log).unwrap()))
    };
    // Interleaved, so a busy neighbour slows every side alike.
    let rounds = runs.clamp(1, 5);
    let mut host = Vec::new();
    let mut inside: Vec<Vec<(f64, f64)>> = vec![Vec::new(); guests.len()];
    for _ in 0..rounds {
        host.push(compile_host());
        for (i, (_, g)) in guests.iter_mut().enumerate() {
            inside[i].push(compile_in(g.as_mut()));
        }
    }
    let wall = |v: &[(f64, f64)]| median(v.iter().map(|x| x.0).collect());
    let cpu = |v: &[(f64, f64)]| median(v.iter().map(|x| x.1).collect());
    let (hw, hc) = (wall(&host), cpu(&host));
    let runs_of =
        |v: &[(f64, f64)]| v.iter().map(|x| format!("{:.2}", x.0)).collect::<Vec<_>>().join(" ");
    println!(
        "host     compile ({files} files, make -j2): wall {hw:.2} s (runs {}), cpu {hc:.2} s",
        runs_of(&host)
    );
    for (i, (kind, g)) in guests.iter_mut().enumerate() {
        let (w, c) = (wall(&inside[i]), cpu(&inside[i]));
        let (rw, rc) = (w / hw, c / hc);
        println!(
            "{:8} compile: wall {w:.2} s (runs {}) ratio {rw:.3}; cpu {c:.2} s ratio {rc:.3}  target <= 1.03: {}",
            format!("{kind:?}").to_lowercase(),
            runs_of(&inside[i]),
            if rc <= 1.03 && rw <= 1.03 {
                "ok"
            } else if rc <= 1.03 {
                "ok on cpu (wall clock noisy)"
            } else {
                "SLOW"
            }
        );
        g.destroy().unwrap();
    }
}

/// The copy-per-guest mode (what kernels without overlayfs in user namespaces get) builds the
/// same bytes.
#[test]
fn test_backends_sandbox_copy_mode_builds_the_same() {
    if skip_unless_root() {
        return;
    }
    let work = Scratch::new("sb-copy");
    let hello = make_inputs(&work.0);
    // The root each mode gives a command: an overlay, or a bind of the guest's own copy (with
    // the copy in its scratch folder). This is what shows copy mode was used.
    let root_of = |mut g: Sandbox, name: &str| -> (String, bool) {
        let dir = work.0.join(name);
        g.create(&spec(&dir)).unwrap();
        let script = "awk '$2 == \"/\" { print $3 }' /proc/mounts | tail -n 1";
        let (code, out) = run(&mut g, User::Root, Network::Offline, script, &work.0);
        assert_eq!(code, 0, "{out}");
        let copied = dir.join("copy/etc/passwd").exists();
        g.destroy().unwrap();
        (out, copied)
    };
    assert_eq!(root_of(Sandbox::new(), "probe-o"), ("overlay\n".to_string(), false));
    let (fs_type, copied) = root_of(Sandbox::with_copy(), "probe-c");
    assert!(copied && fs_type != "overlay\n", "copy mode not used: root is {fs_type:?}");
    let overlay = build_hello(&mut Sandbox::new(), &work.0.join("o"), &hello);
    let copy = build_hello(&mut Sandbox::with_copy(), &work.0.join("c"), &hello);
    assert_eq!(copy, overlay);
    assert!(
        !leftovers(&work.0.display().to_string(), std::process::id(), &Engines::None)
            .iter()
            .any(|l| l.starts_with("mount"))
    );
}

// ---- `git gitian build` with these backends ----

const CLI_NAME: &str = "hello-matrix";

/// The deterministic descriptor: a small C program from the local git remote at `remote`.
fn cli_descriptor(remote: &Path, commit: &str, script: &str) -> String {
    let mut d = format!(
        "---\nname: \"{CLI_NAME}\"\ndistro: \"debian\"\nsuites:\n- \"bookworm\"\narchitectures:\n- \"amd64\"\n\
         packages: []\nremotes:\n- \"url\": \"{}\"\n  \"dir\": \"hello\"\n  \"commit\": \"{commit}\"\nfiles: []\n\
         script: |\n",
        remote.display()
    );
    for line in script.lines() {
        d.push_str(&format!("  {line}\n"));
    }
    d
}

const CLI_SCRIPT: &str = r#"set -e
cd hello
make CC=gcc
./hello > $OUTDIR/hello.txt
mkdir -p dist && cp hello dist/
tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -cf - dist | gzip -n > $OUTDIR/hello.tar.gz
{ id; hostname; pwd; umask; locale; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; env | LC_ALL=C sort; } > $OUTDIR/environment.txt
"#;

/// A build folder with `desc.yml` (script `script`) and the git remote it builds.
fn cli_workdir(root: &Path, script: &str) -> PathBuf {
    let src = make_inputs(root); // root/remote.git, root/inputs/hello (unused clone)
    let commit = String::from_utf8(
        Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&src).output().unwrap().stdout,
    )
    .unwrap();
    let work = root.join("work");
    fs::create_dir_all(&work).unwrap();
    fs::write(
        work.join("desc.yml"),
        cli_descriptor(&root.join("remote.git"), commit.trim(), script),
    )
    .unwrap();
    work
}

/// `git gitian ARGS` in `dir`, hermetic, with the shared base.
fn gitian(dir: &Path, args: &[&str]) -> Command {
    crate::common::gitian_build_cmd(dir, args, &base_dir())
}

fn out_manifest(work: &Path) -> String {
    let text = fs::read_to_string(work.join(format!("result/{CLI_NAME}-res.yml"))).unwrap();
    let doc = git_gitian::core::assertion::Document::parse(&text).unwrap();
    doc.str("out_manifest").unwrap().to_string()
}

/// The issue's check: the same descriptor built with kvm (TCG here), lxc, sandbox, docker and
/// podman through `git gitian build --backend <list>` gives identical out manifests, and the
/// report says so per file.
#[test]
fn test_backends_cli_matrix_agrees_on_every_backend() {
    if skip_unless_root() {
        return;
    }
    let _vm = guest_lock();
    let _lxc = lxc_lock();
    let root = Scratch::new("cli-matrix");
    let work = cli_workdir(&root.0, CLI_SCRIPT);
    let dockerd = Dockerd::start();
    let podman = PodmanStorage::new();
    let out = gitian(
        &work,
        &[
            "build",
            "--backend",
            "kvm,lxc,sandbox,docker,podman",
            "--accel",
            "tcg",
            "-m",
            "1024",
            "desc.yml",
        ],
    )
    .env("DOCKER_HOST", &dockerd.host)
    .envs(podman.env())
    .output()
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let environments: Vec<String> = ["kvm", "lxc", "sandbox", "docker", "podman"]
        .iter()
        .map(|b| {
            let p = work.join(format!("var/matrix/{b}/out/environment.txt"));
            format!("--- {b}\n{}", fs::read_to_string(&p).unwrap_or_default())
        })
        .collect();
    assert_eq!(out.status.code(), Some(0), "{report}\n{err}\n{}", environments.join(""));
    let squeezed: String =
        report.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    for file in ["hello.tar.gz", "hello.txt", "environment.txt"] {
        assert!(squeezed.contains(&format!("\n{file} agree (5 backends) ")), "{report}");
    }
    assert!(squeezed.starts_with("kvm kvm (qemu, accel tcg)"), "{report}");
    for b in ["kvm", "lxc", "sandbox", "docker", "podman"] {
        let kept = work.join(format!("var/matrix/{b}/{CLI_NAME}-res.yml"));
        assert!(kept.exists(), "{}", kept.display());
        let info = fs::read_to_string(work.join(format!("var/matrix/{b}/build-info"))).unwrap();
        assert!(info.contains(&format!("backend: {b}")), "{info}");
    }
    // result/ holds the first backend's result, byte for byte.
    assert_eq!(
        fs::read(work.join(format!("result/{CLI_NAME}-res.yml"))).unwrap(),
        fs::read(work.join(format!("var/matrix/kvm/{CLI_NAME}-res.yml"))).unwrap()
    );
    let env = out_manifest(&work);
    assert!(env.contains("  environment.txt\n"), "{env}");
    let guests: Vec<_> = fs::read_dir(work.join("var"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("guest-"))
        .collect();
    assert!(guests.is_empty(), "guest scratch left in var/");
    assert_eq!(dockerd.docker(&["ps", "-aq"]), "");
}

/// `auto` says which backend it picked and why; Gitian's USE_* variables count only as "1".
#[test]
fn test_backends_cli_auto_says_which() {
    if skip_unless_root() {
        return;
    }
    let _lxc = lxc_lock();
    let root = Scratch::new("cli-auto");
    let work = cli_workdir(&root.0, CLI_SCRIPT);
    // What this machine is known to say (not the library's own answer).
    let expected = match crate::common::guests::kvm_verdict_here() {
        None => "using kvm".to_string(),
        Some(why) => format!("using lxc (kvm: {why}"),
    };
    // A probe memory of its own: a fresh probe, whatever earlier runs remembered.
    let cache = root.0.join("cache");
    let out = gitian(&work, &["build", "desc.yml"])
        .env("USE_LXC", "yes")
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&expected), "{err}");
    let auto = out_manifest(&work);

    let out = gitian(&work, &["build", "desc.yml"]).env("USE_LXC", "1").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("using lxc (USE_* environment)"), "{err}");
    assert_eq!(out_manifest(&work), auto);
    let info = fs::read_to_string(work.join("var/build-info")).unwrap();
    assert!(info.contains("backend: lxc"), "{info}");

    let out = gitian(&work, &["build", "--backend", "qemu", "desc.yml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend 'qemu'"));
}

/// A descriptor without remotes whose build keeps a package cache (`enable_cache`).
fn cached_descriptor(name: &str, script: &str) -> String {
    let mut d = format!(
        "---\nname: \"{name}\"\ndistro: \"debian\"\nsuites:\n- \"bookworm\"\narchitectures:\n- \"amd64\"\n\
         packages: []\nreference_datetime: \"2021-01-01 00:00:00\"\nremotes: []\nfiles: []\nenable_cache: true\n\
         script: |\n"
    );
    for line in script.lines() {
        d.push_str(&format!("  {line}\n"));
    }
    d
}

/// `--backend a,b` exits 1 when the backends disagree and when one of them fails, and 2 when
/// interrupted (the next backend is not started); `--cache-read-only` keeps each build from
/// writing the package cache back. sandbox then lxc, built in turn in one folder.
#[test]
fn test_backends_cli_matrix_exit_status_on_disagreement_failure_and_interrupt() {
    if skip_unless_root() {
        return;
    }
    let _lxc = lxc_lock();
    let root = Scratch::new("cli-matrix-exit");
    let work = root.0.join("work");
    fs::create_dir_all(&work).unwrap();
    let matrix = |extra: &[&str]| {
        let mut args = vec!["build", "--backend", "sandbox,lxc"];
        args.extend_from_slice(extra);
        args.push("desc.yml");
        let out = gitian(&work, &args).output().unwrap();
        (out.status.code(), stdout(&out), stderr(&out))
    };
    let squeeze = |t: &str| t.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");

    // A second build sees the package cache the first wrote back, and fails on it.
    let once = "if [ -e $GBUILD_PACKAGE_CACHE/ran ]; then echo second build; exit 3; fi\n\
                touch $GBUILD_PACKAGE_CACHE/ran\necho same > $OUTDIR/same.txt\n";
    fs::write(work.join("desc.yml"), cached_descriptor("matrix-exit", once)).unwrap();
    // Read-only cache: neither build writes it back, so both run and agree.
    let (code, report, err) = matrix(&["--cache-read-only"]);
    assert_eq!(code, Some(0), "{report}{err}");
    assert!(squeeze(&report).contains("same.txt agree (2 backends)"), "{report}");
    assert!(!work.join("cache/matrix-exit/ran").exists(), "a read-only cache was written");
    // Written back: lxc's build fails, and the matrix says so with exit 1.
    let (code, report, err) = matrix(&[]);
    assert_eq!(code, Some(1), "{report}{err}");
    let failed = "lxc FAILED: the build script failed with exit status 3 (log in ";
    assert!(squeeze(&report).contains(failed), "{report}");
    assert!(err.contains("the backends do not agree (or one failed)"), "{err}");
    assert!(work.join("cache/matrix-exit/ran").exists());
    fs::remove_dir_all(work.join("cache")).unwrap();

    // Outputs that differ between any two builds: exit 1, the file named.
    let clock = "date +%s%N > $OUTDIR/now.txt\necho same > $OUTDIR/same.txt\n";
    fs::write(work.join("desc.yml"), cached_descriptor("matrix-exit", clock)).unwrap();
    let (code, report, err) = matrix(&[]);
    assert_eq!(code, Some(1), "{report}{err}");
    let report = squeeze(&report);
    assert!(report.contains("now.txt DIFFERS"), "{report}");
    assert!(report.contains("same.txt agree (2 backends)"), "{report}");

    // Interrupted while the first backend's script runs: exit 2, lxc never started.
    fs::write(
        work.join("desc.yml"),
        cached_descriptor("matrix-exit", "echo sleeping\nexec sleep 600\n"),
    )
    .unwrap();
    let _ = fs::remove_dir_all(work.join("var/matrix"));
    let mut child = gitian(&work, &["build", "--backend", "sandbox,lxc", "desc.yml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = work.join("var/build.log");
    let start = Instant::now();
    while !fs::read_to_string(&log).unwrap_or_default().contains("sleeping") {
        assert!(child.try_wait().unwrap().is_none(), "the build ended early");
        assert!(start.elapsed() < Duration::from_secs(300), "the script never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!err.contains("=== backend lxc ==="), "lxc was started after the interrupt: {err}");
    assert!(!work.join("var/matrix/lxc").exists());
    let left = leftovers(&work.display().to_string(), std::process::id(), &Engines::None);
    assert!(left.is_empty(), "{left:#?}");
}

/// The README's build line with what it leaves out: the remote's commit and URL given on the
/// command line (`-c`, `-u`: the descriptor's URL does not exist), `--skip-fetch` building
/// from the host's clone without touching the remote (moved away) and refusing a commit that
/// was never fetched, `--cache-read-only` leaving the package cache as it was.
#[test]
fn test_backends_cli_build_with_overrides_skip_fetch_and_read_only_cache() {
    if skip_unless_root() {
        return;
    }
    let root = Scratch::new("cli-flags");
    let src = root.0.join("src");
    fs::create_dir_all(&src).unwrap();
    let git = |args: &[&str]| crate::common::git(&src, args);
    git(&["init", "-q", "-b", "main"]);
    for (version, tag) in [("one", "v1"), ("two", "v2")] {
        fs::write(src.join("version.txt"), format!("{version}\n")).unwrap();
        git(&["add", "version.txt"]);
        git(&["commit", "-qm", version]);
        git(&["tag", tag]);
    }
    let work = root.0.join("work");
    fs::create_dir_all(&work).unwrap();
    let script = "cat hello/version.txt > $OUTDIR/version.txt\n\
                  n=$(cat $GBUILD_PACKAGE_CACHE/n 2>/dev/null || echo 0)\n\
                  echo $((n + 1)) > $GBUILD_PACKAGE_CACHE/n\n";
    let desc = cached_descriptor("flags", script).replace(
        "remotes: []\n",
        "remotes:\n- \"url\": \"/nonexistent/hello.git\"\n  \"dir\": \"hello\"\n",
    );
    fs::write(work.join("desc.yml"), desc).unwrap();
    let cache = root.0.join("xdg-cache");
    let url = format!("hello={}", src.display());
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "--backend", "sandbox"];
        args.extend_from_slice(extra);
        args.push("desc.yml");
        let out = gitian(&work, &args).env("XDG_CACHE_HOME", &cache).output().unwrap();
        (out.status.code(), stderr(&out))
    };
    let read = |p: &str| fs::read_to_string(work.join(p)).unwrap();

    let (code, err) = build(&["-c", "hello=v1", "-u", &url]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(read("build/out/version.txt"), "one\n");
    assert_eq!(read("cache/flags/n"), "1\n");
    // v3 exists only at the remote, which --skip-fetch does not ask.
    fs::write(src.join("version.txt"), "three\n").unwrap();
    git(&["commit", "-qam", "three"]);
    git(&["tag", "v3"]);
    let (code, err) = build(&["--skip-fetch", "-c", "hello=v3", "-u", &url]);
    assert_eq!(code, Some(2), "{err}");
    let refusal = format!(
        "error: remote 'hello': 'v3' is not in this host's copy of {} (--skip-fetch does not fetch: run without it)\n",
        src.display()
    );
    assert!(err.ends_with(&refusal), "{err}");
    // With the remote gone, --skip-fetch builds what the host's clone has; the cache is read,
    // not written.
    let moved = root.0.join("src-moved");
    fs::rename(&src, &moved).unwrap();
    let (code, err) = build(&["--skip-fetch", "--cache-read-only", "-c", "hello=v1", "-u", &url]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(read("build/out/version.txt"), "one\n");
    assert_eq!(read("cache/flags/n"), "1\n", "--cache-read-only wrote the cache");
    // Fetching again: v3, and the cache written back.
    fs::rename(&moved, &src).unwrap();
    let (code, err) = build(&["-c", "hello=v3", "-u", &url]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(read("build/out/version.txt"), "three\n");
    assert_eq!(read("cache/flags/n"), "2\n");
}

/// Killing `git gitian build` while its guest runs (SIGKILL: no cleanup code runs) leaves no
/// process, mount, cgroup or container; SIGTERM stops the build cleanly (exit 2, no scratch
/// left). The kill comes as soon as the guest shows (a cgroup, a process or a container), so
/// across runs it lands in different steps: preparation, copy-in or the script.
fn check_cli_kill(kind: Kind) {
    let backend = kind_dir(kind);
    let _lxc = (kind == Kind::Lxc).then(lxc_lock);
    let root = Scratch::new(&format!("cli-kill-{backend}"));
    let mark = format!("gg-cli-kill-{}", nanos());
    let script = format!("exec -a {mark} sleep 300\n");
    let work = cli_workdir(&root.0, &script);
    let engines = Engines::for_kind(kind);
    for signal in ["KILL", "TERM"] {
        let mut child = gitian(&work, &["build", "--backend", backend, "desc.yml"])
            .envs(engines.env())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let start = Instant::now();
        while leftovers(&mark, pid, &Engines::None).is_empty() {
            if child.try_wait().unwrap().is_some() {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
                panic!("{backend}: the build ended early (round SIG{signal}): {err}");
            }
            assert!(start.elapsed() < Duration::from_secs(300), "the script never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
        let status = child.wait().unwrap();
        if signal == "TERM" {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert_eq!(status.code(), Some(2), "{err}");
            assert!(err.contains("interrupted"), "{err}");
        }
        let tag = work.display().to_string();
        let start = Instant::now();
        loop {
            let mut left = leftovers(&mark, pid, &engines);
            left.extend(
                leftovers(&tag, pid, &Engines::None)
                    .into_iter()
                    .filter(|l| !l.contains("git-gitian")),
            );
            if left.is_empty() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "{backend} after SIG{signal}: {left:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        if signal == "TERM" {
            let guests: Vec<_> = fs::read_dir(work.join("var"))
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("guest-"))
                .collect();
            assert!(guests.is_empty(), "{backend}: guest scratch left after SIGTERM");
        }
        // A killed build leaves its lock behind only as a stale file: the next build runs.
    }
}

/// A guest abandoned without `destroy` (its process was killed) leaves its layer in the scratch
/// folder; the next guest there must start from the pristine base, not from that layer.
#[test]
fn test_backends_stale_scratch_does_not_leak() {
    if skip_unless_root() {
        return;
    }
    let _lxc = lxc_lock();
    let work = Scratch::new("stale");
    for kind in [Kind::Sandbox, Kind::Lxc] {
        let scratch = work.0.join(format!("{kind:?}"));
        let mut g = kind.guest(Vec::new());
        g.create(&spec(&scratch)).unwrap();
        let (code, _) =
            run(g.as_mut(), User::Root, Network::Offline, "echo x > /etc/leak", &work.0);
        assert_eq!(code, 0);
        std::mem::forget(g); // as if killed: no destroy
        assert!(scratch.exists());
        let mut g = kind.guest(Vec::new());
        g.create(&spec(&scratch)).unwrap();
        let (code, _) =
            run(g.as_mut(), User::Root, Network::Offline, "test ! -e /etc/leak", &work.0);
        assert_eq!(code, 0, "{kind:?}: the stale layer leaked into a new guest");
        g.destroy().unwrap();
        assert!(!scratch.exists());
    }
}

// ---- The backend x property matrix: one row per property, one test per backend. ----

/// One test per backend for one property: `name => Kind;` runs `check(Kind::Kind)` (as root;
/// in CI a non-root run fails, see `skip_unless_root`). `name => Kind, ignore = "why";` is a
/// deliberate gap: ignored with its reason, and when run anyway (`--include-ignored`) it says
/// it skipped and why, rather than failing on a machine that cannot run it.
macro_rules! per_backend {
    ($check:ident { $($name:ident => $kind:ident $(, ignore = $why:literal)?;)* }) => {
        $(
            #[test]
            $(#[ignore = $why])?
            #[allow(unreachable_code)]
            fn $name() {
                $(
                    crate::common::not_applicable($why);
                    return;
                )?
                if !skip_unless_root() {
                    $check(Kind::$kind);
                }
            }
        )*
    };
}

per_backend!(check_isolation {
    test_backends_kvm_isolation => Kvm;
    test_backends_sandbox_isolation => Sandbox;
    test_backends_lxc_isolation => Lxc;
    test_backends_docker_isolation => Docker;
    test_backends_podman_isolation => Podman;
    test_backends_vbox_isolation => Vbox, ignore = "no VirtualBox here (not in Debian 12 main, no VT-x); guest::vbox::tests pin its exact command lines";
});

per_backend!(check_kill {
    test_backends_kvm_kill_leaves_nothing => Kvm, ignore = "the script's marked process runs inside the VM, where the host cannot see it start; test_build_sigkill_leaves_no_process_and_the_next_build_sweeps_the_rest kills a kvm build";
    test_backends_sandbox_kill_leaves_nothing => Sandbox;
    test_backends_lxc_kill_leaves_nothing => Lxc;
    test_backends_docker_kill_leaves_nothing => Docker;
    test_backends_podman_kill_leaves_nothing => Podman;
    test_backends_vbox_kill_leaves_nothing => Vbox, ignore = "no VirtualBox here (not in Debian 12 main, no VT-x); guest::vbox::tests pin its exact command lines";
});

per_backend!(check_packages {
    test_backends_kvm_installs_packages_online => Kvm;
    test_backends_sandbox_installs_packages_online => Sandbox;
    test_backends_lxc_installs_packages_online => Lxc;
    test_backends_docker_installs_packages_online => Docker;
    test_backends_podman_installs_packages_online => Podman;
    test_backends_vbox_installs_packages_online => Vbox, ignore = "no VirtualBox here (not in Debian 12 main, no VT-x); guest::vbox::tests pin its exact command lines";
});

per_backend!(check_cli_kill {
    test_backends_kvm_cli_kill => Kvm, ignore = "the marked process runs inside the VM; test_build_sigterm_stops_the_guest and test_build_sigkill_leaves_no_process_and_the_next_build_sweeps_the_rest are kvm's";
    test_backends_sandbox_cli_kill => Sandbox;
    test_backends_lxc_cli_kill => Lxc;
    test_backends_docker_cli_kill => Docker;
    test_backends_podman_cli_kill => Podman;
    test_backends_vbox_cli_kill => Vbox, ignore = "no VirtualBox here (not in Debian 12 main, no VT-x); guest::vbox::tests pin its exact command lines";
});
