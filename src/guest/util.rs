//! Helpers shared by the container-style backends (lxc, sandbox, docker/podman, vbox): the one
//! place they spawn processes, the environment a guest command gets, the base root file system
//! unpacked once per base, and small text helpers. No backend policy lives here.
//!
//! Spawning goes through [`command`] only; waiting goes through [`wait`], which honours
//! `guest::process`'s interruption flag (Ctrl-C, SIGTERM) by stopping the child.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use super::{Exec, GuestError, User};

/// The one constructor of host processes for these backends.
pub(crate) fn command(program: &str) -> Command {
    Command::new(program)
}

/// Runs `cmd` to completion with no stdin, capturing output; a non-zero exit is an error that
/// names the command line and quotes its stderr.
pub(crate) fn run_ok(backend: &'static str, cmd: &mut Command) -> Result<String, GuestError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| err(backend, format!("cannot run {}: {e}", show(cmd))))?;
    if !out.status.success() {
        return Err(err(
            backend,
            format!(
                "{} failed ({}): {}",
                show(cmd),
                status_text(out.status),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` and reports whether it exited 0; output is discarded. Spawn failures are `false`.
pub(crate) fn run_quiet(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A guest error.
pub(crate) fn err(backend: &'static str, message: impl Into<String>) -> GuestError {
    GuestError { backend, message: message.into() }
}

/// The command line of `cmd`, shell-quoted, for messages.
pub(crate) fn show(cmd: &Command) -> String {
    let mut words = vec![quote(&cmd.get_program().to_string_lossy())];
    words.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    words.join(" ")
}

/// `exit status 3` / `killed by signal 9`.
pub(crate) fn status_text(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown status".to_string(),
    }
}

/// The exit code of a finished guest command: its code, or 128 + signal like a shell.
pub(crate) fn exit_code(s: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

/// Quotes one word for a POSIX shell (only when needed).
pub(crate) fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// The stdout/stderr destination of an exec: appended to the log file, or discarded.
pub(crate) fn log_stdio(
    backend: &'static str,
    log: Option<&Path>,
) -> Result<(Stdio, Stdio), GuestError> {
    match log {
        None => Ok((Stdio::null(), Stdio::null())),
        Some(path) => {
            let f =
                fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    err(backend, format!("cannot open log {}: {e}", path.display()))
                })?;
            let g =
                f.try_clone().map_err(|e| err(backend, format!("log {}: {e}", path.display())))?;
            Ok((Stdio::from(f), Stdio::from(g)))
        }
    }
}

/// Feeds `input` to the child's stdin on a thread and closes it, so waiting (and noticing an
/// interruption) never blocks on a guest that reads its script slowly. A child that stops
/// reading early (and so breaks the pipe) is not an error here: its exit status tells.
pub(crate) fn feed_stdin(child: &mut Child, input: &[u8]) {
    if let Some(mut stdin) = child.stdin.take() {
        let data = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
}

/// The build user of a root file system: name, uid, gid and home from its /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

impl GuestUser {
    /// root.
    pub(crate) fn root() -> Self {
        Self { name: "root".into(), uid: 0, gid: 0, home: "/root".into() }
    }

    /// Looks `name` up in the passwd text of a root file system.
    pub(crate) fn from_passwd(passwd: &str, name: &str) -> Option<Self> {
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0] != name {
                return None;
            }
            Some(Self {
                name: name.to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
    }
}

/// PATH inside the guest, as a Debian login shell sets it.
pub(crate) const PATH_USER: &str = "/usr/local/bin:/usr/bin:/bin:/usr/games";
/// PATH for root inside the guest.
pub(crate) const PATH_ROOT: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The argv that runs an [`Exec`] inside the guest once the backend has switched to the right
/// user: a clean environment (as after a login: HOME, USER, LOGNAME, SHELL, PATH, plus the
/// exec's own variables), cwd = home, optional `setarch`, then `bash [-x]` reading the script on
/// stdin. Every backend uses it so a script sees the same environment whichever guest runs it.
pub(crate) fn inner_argv(user: &GuestUser, cmd: &Exec<'_>) -> Vec<String> {
    let mut v: Vec<String> = vec!["/bin/sh".into(), "-c".into(), "cd \"$0\" && exec \"$@\"".into()];
    v.push(user.home.clone());
    v.extend(env_argv(user, cmd.env));
    if let Some(p) = cmd.setarch {
        v.push("setarch".into());
        v.push(p.into());
    }
    v.push("bash".into());
    if cmd.trace {
        v.push("-x".into());
    }
    v
}

/// `env -i K=V ...` for a guest user, with `extra` appended (later wins).
pub(crate) fn env_argv(user: &GuestUser, extra: &[(String, String)]) -> Vec<String> {
    let path = if user.uid == 0 { PATH_ROOT } else { PATH_USER };
    let mut v: Vec<String> = vec!["env".into(), "-i".into()];
    v.push(format!("HOME={}", user.home));
    v.push(format!("USER={}", user.name));
    v.push(format!("LOGNAME={}", user.name));
    v.push("SHELL=/bin/bash".into());
    v.push(format!("PATH={path}"));
    v.extend(extra.iter().map(|(k, val)| format!("{k}={val}")));
    v
}

/// Which user an [`Exec`] runs as, resolved against the guest's accounts.
pub(crate) fn pick<'a>(user: User, root: &'a GuestUser, build: &'a GuestUser) -> &'a GuestUser {
    match user {
        User::Root => root,
        User::Build => build,
    }
}

/// A name unique on this host for this process's guests: `gitian-<pid>-<n>`, so two builds can
/// run side by side and leftovers can be traced to the process that made them.
pub(crate) fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// A temporary folder `<parent>/<stem>-<pid>.XXXXXX` of this process, made after removing the
/// ones whose process is gone: a git-gitian killed with SIGKILL removes nothing itself.
pub(crate) fn own_temp_dir(parent: &Path, stem: &str) -> std::io::Result<tempfile::TempDir> {
    if let Ok(entries) = fs::read_dir(parent) {
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(stem)?.strip_prefix('-')?.split_once('.'))
                .map(|(pid, _)| pid)
            else {
                continue;
            };
            if super::process::is_gone(pid) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    tempfile::Builder::new().prefix(&format!("{stem}-{}.", std::process::id())).tempdir_in(parent)
}

/// The base's root file system tarball and a short, stable key for it: the sha256 recorded in
/// the base's `SHA256SUMS` when there is one (so a warm run hashes nothing), else size and mtime.
pub(crate) fn rootfs_of(
    backend: &'static str,
    base: &Path,
) -> Result<(PathBuf, String), GuestError> {
    let tar = base.join("rootfs.tar");
    let meta = fs::metadata(&tar)
        .map_err(|e| err(backend, format!("no base root file system at {}: {e}", tar.display())))?;
    if let Ok(sums) = fs::read_to_string(base.join("SHA256SUMS")) {
        for line in sums.lines() {
            if let Some((hex, name)) = line.split_once("  ")
                && name.trim_start_matches("./") == "rootfs.tar"
                && hex.len() == 64
            {
                return Ok((tar, hex.to_string()));
            }
        }
    }
    use std::os::unix::fs::MetadataExt;
    Ok((tar, format!("s{}m{}i{}", meta.len(), meta.mtime(), meta.ino())))
}

/// The per-user cache folder of git-gitian (`crate::config::cache_root`).
pub(crate) fn cache_dir() -> PathBuf {
    crate::config::cache_root()
}

/// Reads a file of the guest tree at `root` (e.g. `etc/passwd`).
pub(crate) fn read_guest_file(
    backend: &'static str,
    root: &Path,
    rel: &str,
) -> Result<String, GuestError> {
    let p = root.join(rel);
    let mut s = String::new();
    fs::File::open(&p)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| err(backend, format!("cannot read {}: {e}", p.display())))?;
    Ok(s)
}

/// The build user (the distro name) of an unpacked root file system.
pub(crate) fn build_user(
    backend: &'static str,
    root: &Path,
    distro: &str,
) -> Result<GuestUser, GuestError> {
    let passwd = read_guest_file(backend, root, "etc/passwd")?;
    GuestUser::from_passwd(&passwd, distro).ok_or_else(|| {
        err(
            backend,
            format!("the base root file system has no user '{distro}' (in {})", root.display()),
        )
    })
}

/// Reads the build user from a tarball without unpacking it (`tar -xOf rootfs.tar ./etc/passwd`).
pub(crate) fn build_user_from_tar(
    backend: &'static str,
    tar: &Path,
    distro: &str,
) -> Result<GuestUser, GuestError> {
    let passwd = run_ok(backend, command("tar").arg("-xOf").arg(tar).arg("./etc/passwd"))?;
    GuestUser::from_passwd(&passwd, distro).ok_or_else(|| {
        err(backend, format!("the base root file system {} has no user '{distro}'", tar.display()))
    })
}

/// Removes a folder tree if it exists; a missing tree is fine.
pub(crate) fn remove_tree(backend: &'static str, p: &Path) -> Result<(), GuestError> {
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(backend, format!("cannot remove {}: {e}", p.display()))),
    }
}

/// Whether `program` is found on PATH.
pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(program);
            p.is_file()
                && fs::metadata(&p).is_ok_and(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o111 != 0
                })
        })
    })
}

/// The effective uid and gid of this process.
pub(crate) fn ids() -> (u32, u32) {
    // SAFETY-free: /proc/self/status carries them; avoids unsafe libc calls.
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u32::MAX)
    };
    (field("Uid:"), field("Gid:"))
}

/// The login name of `uid` on the host, from /etc/passwd.
pub(crate) fn host_user_name(uid: u32) -> Option<String> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
    })
}

/// A tar stream of the host path `host` (its last component at the top), for `copy_in`.
pub(crate) fn tar_create(host: &Path) -> Result<Command, String> {
    let parent = host.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = host.file_name().ok_or_else(|| format!("{} has no file name", host.display()))?;
    let mut c = command("tar");
    c.arg("-C").arg(parent).arg("-cf").arg("-").arg(name);
    Ok(c)
}

/// Extracts a tar stream on the host into `dir`, owned by the caller (never by guest ids).
pub(crate) fn tar_extract(dir: &Path) -> Command {
    let mut c = command("tar");
    c.arg("-C").arg(dir).arg("--no-same-owner").arg("-xf").arg("-");
    c
}

/// Whether git-gitian was asked to stop (Ctrl-C, SIGTERM; the handler is
/// `process::catch_interrupts`).
pub(crate) fn interrupted() -> bool {
    super::process::interrupted()
}

/// How to stop a child of ours when the build is interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SIGKILL (namespaces and containers die with it).
    Kill,
    /// SIGTERM, so a supervisor can clean up; SIGKILL if it is still there after 10 s.
    Term,
}

fn stop_child(child: &mut Child, how: Stop) {
    if how == Stop::Term {
        let _ = run_quiet(command("kill").arg("-TERM").arg(child.id().to_string()));
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child`, stopping it (and failing) if the build is interrupted meanwhile.
pub(crate) fn wait(
    backend: &'static str,
    child: &mut Child,
    how: Stop,
) -> Result<ExitStatus, GuestError> {
    // Fine polling at first (most guest commands take tens of milliseconds, and the trivial
    // build's latency is the sum of them), coarser for long scripts.
    let start = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(err(backend, format!("wait: {e}"))),
        }
        if interrupted() {
            stop_child(child, how);
            return Err(err(backend, "interrupted"));
        }
        let ms = if start.elapsed().as_millis() < 500 { 1 } else { 50 };
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Reads a child's pipe to the end on a thread (so it never blocks the child).
pub(crate) fn capture<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// One end of a copy pipeline: a spawned child and how to stop it.
pub(crate) struct End {
    pub child: Child,
    pub stop: Stop,
}

/// Waits for `producer | consumer` (both spawned with stderr piped, the producer's stdout
/// feeding the consumer); fails unless both exit 0, quoting their stderr.
pub(crate) fn finish_pipe(
    backend: &'static str,
    what: &str,
    mut producer: End,
    mut consumer: End,
) -> Result<(), GuestError> {
    let p_err = capture(producer.child.stderr.take());
    let c_err = capture(consumer.child.stderr.take());
    let c = match wait(backend, &mut consumer.child, consumer.stop) {
        Ok(c) => c,
        Err(e) => {
            stop_child(&mut producer.child, producer.stop);
            return Err(e);
        }
    };
    let p = wait(backend, &mut producer.child, producer.stop)?;
    if !p.success() || !c.success() {
        return Err(err(
            backend,
            format!(
                "{what} failed ({} / {}): {} {}",
                status_text(p),
                status_text(c),
                String::from_utf8_lossy(&p_err.join().unwrap_or_default()).trim(),
                String::from_utf8_lossy(&c_err.join().unwrap_or_default()).trim()
            ),
        ));
    }
    Ok(())
}

/// Spawns `producer`, then `make_consumer(its stdout)`, and waits for both.
pub(crate) fn spawn_pipe(
    backend: &'static str,
    what: &str,
    producer: &mut Command,
    p_stop: Stop,
    make_consumer: impl FnOnce(Stdio) -> Result<Child, GuestError>,
    c_stop: Stop,
) -> Result<(), GuestError> {
    let mut p = producer
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(backend, format!("cannot run {}: {e}", show(producer))))?;
    let out = p.stdout.take().expect("piped");
    match make_consumer(Stdio::from(out)) {
        Ok(c) => finish_pipe(
            backend,
            what,
            End { child: p, stop: p_stop },
            End { child: c, stop: c_stop },
        ),
        Err(e) => {
            stop_child(&mut p, p_stop);
            Err(e)
        }
    }
}

/// Runs `producer | consumer`, both plain host commands built here.
pub(crate) fn pipe(
    backend: &'static str,
    producer: &mut Command,
    consumer: &mut Command,
) -> Result<(), GuestError> {
    let what = format!("{} | {}", show(producer), show(consumer));
    spawn_pipe(
        backend,
        &what,
        producer,
        Stop::Kill,
        |input| {
            consumer
                .stdin(input)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| err(backend, format!("cannot run {}: {e}", show(consumer))))
        },
        Stop::Kill,
    )
}

/// The guest command (as the build user, from its home) that unpacks a tar stream on stdin
/// into `guest_dir`, owned by the build user.
pub(crate) fn untar_argv(build: &GuestUser, guest_dir: &str) -> Vec<String> {
    let mut v = env_argv(build, &[]);
    v.extend(["/bin/sh".into(), "-c".into()]);
    v.push(format!(
        "cd && mkdir -p {0} && exec tar -C {0} --no-same-owner -xf -",
        quote(guest_dir)
    ));
    v
}

/// The guest command (as the build user, from its home) that writes `guest_path` as a tar
/// stream on stdout, its last component at the top.
pub(crate) fn tar_argv(build: &GuestUser, guest_path: &str) -> Vec<String> {
    let p = Path::new(guest_path);
    let parent = p.parent().filter(|x| !x.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut v = env_argv(build, &[]);
    v.extend(["/bin/sh".into(), "-c".into()]);
    v.push(format!(
        "cd && exec tar -C {} -cf - {}",
        quote(&parent.display().to_string()),
        quote(&name)
    ));
    v
}

/// `copy_in` for backends whose guest command can read stdin: host `tar -c` piped into the
/// guest child that `spawn` starts (stdin given, stdout null, stderr piped).
pub(crate) fn copy_in_with(
    backend: &'static str,
    host: &Path,
    guest_dir: &str,
    stop: Stop,
    spawn: impl FnOnce(Stdio) -> Result<Child, GuestError>,
) -> Result<(), GuestError> {
    check_guest_path(backend, guest_dir)?;
    let mut producer = tar_create(host).map_err(|e| err(backend, e))?;
    let what = format!("copying {} into {guest_dir}", host.display());
    spawn_pipe(backend, &what, &mut producer, Stop::Kill, spawn, stop)
}

/// `copy_out` for backends whose guest command can write stdout: the guest child that `spawn`
/// starts (stdout and stderr piped) piped into host `tar -x` in `host_dir`.
pub(crate) fn copy_out_with(
    backend: &'static str,
    guest_path: &str,
    host_dir: &Path,
    stop: Stop,
    spawn: impl FnOnce() -> Result<Child, GuestError>,
) -> Result<(), GuestError> {
    check_guest_path(backend, guest_path)?;
    fs::create_dir_all(host_dir)
        .map_err(|e| err(backend, format!("cannot create {}: {e}", host_dir.display())))?;
    let mut p = spawn()?;
    let out = p.stdout.take().expect("piped stdout");
    let mut consumer = tar_extract(host_dir);
    let c = consumer.stdin(Stdio::from(out)).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let c = match c {
        Ok(c) => c,
        Err(e) => {
            stop_child(&mut p, stop);
            return Err(err(backend, format!("cannot run {}: {e}", show(&consumer))));
        }
    };
    let what = format!("copying {guest_path} out to {}", host_dir.display());
    finish_pipe(backend, &what, End { child: p, stop }, End { child: c, stop: Stop::Kill })
}

/// Checks a path given by the orchestration for the guest side: relative, no `..`, no
/// characters that a remote shell would reinterpret.
pub(crate) fn check_guest_path(backend: &'static str, p: &str) -> Result<(), GuestError> {
    let ok = !p.is_empty()
        && !p.starts_with('/')
        && p.split('/').all(|c| c != "..")
        && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./+@:".contains(&b));
    if ok { Ok(()) } else { Err(err(backend, format!("unsafe guest path '{p}'"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_temp_dir_sweeps_only_dead_processes_folders() {
        let parent = tempfile::tempdir().unwrap();
        let mut gone = Command::new("true").spawn().unwrap();
        let dead = gone.id();
        gone.wait().unwrap();
        let me = std::process::id();
        for name in [
            format!("stem-{dead}.abc"),
            format!("stem-{me}.old"),
            "stem-probe-1.x".to_string(),
            format!("other-{dead}.x"),
        ] {
            fs::create_dir(parent.path().join(name)).unwrap();
        }
        let new = own_temp_dir(parent.path(), "stem").unwrap();
        assert!(
            new.path().file_name().unwrap().to_string_lossy().starts_with(&format!("stem-{me}."))
        );
        let mut left: Vec<String> = fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| Path::new(n) != new.path().file_name().unwrap())
            .collect();
        left.sort();
        let mut want =
            vec![format!("other-{dead}.x"), "stem-probe-1.x".into(), format!("stem-{me}.old")];
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn passwd_lookup() {
        let p = "root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000::/home/debian:/bin/bash\n";
        let u = GuestUser::from_passwd(p, "debian").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/home/debian"));
        assert!(GuestUser::from_passwd(p, "ubuntu").is_none());
    }

    #[test]
    fn inner_argv_is_a_clean_login_environment() {
        let u =
            GuestUser { name: "debian".into(), uid: 1000, gid: 1000, home: "/home/debian".into() };
        let env = vec![("A".to_string(), "b c".to_string())];
        let e = Exec {
            user: User::Build,
            network: super::super::Network::Offline,
            setarch: Some("x86_64"),
            trace: true,
            script: "",
            env: &env,
            log: None,
        };
        assert_eq!(
            inner_argv(&u, &e).join(" "),
            "/bin/sh -c cd \"$0\" && exec \"$@\" /home/debian env -i HOME=/home/debian USER=debian \
             LOGNAME=debian SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin:/usr/games A=b c \
             setarch x86_64 bash -x"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a/b"), "a/b");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn guest_paths() {
        assert!(check_guest_path("t", "build/out").is_ok());
        assert!(check_guest_path("t", "../x").is_err());
        assert!(check_guest_path("t", "/etc").is_err());
        assert!(check_guest_path("t", "a b").is_err());
    }
}
