//! Starting a command in fresh namespaces: the host command line, the setup script that runs
//! first inside them, the go-ahead once the id maps are written, and the maintenance commands
//! (no guest root) that unpack the base and remove layers.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::NAME;
use super::mapping::{Mapping, write_maps};
use crate::guest::util::{self, err};
use crate::guest::{GuestError, limits};
use crate::process::piped::{self, Proc, Stdio};
use crate::process::{self, Invocation};

/// The setup script run by the host's `/bin/sh` as root inside the new namespaces.
/// Arguments: fifo, error file, mode, then (guest mode) root, fstab, network, user switch,
/// processes limit (0: none, the guest's cgroup limits them); then `--` and the command.
pub(super) const SETUP: &str = r#"
fail() { printf '%s\n' "$*" > "$ERRF"; printf 'gitian-sandbox: %s\n' "$*" >&2; exit 125; }
FIFO=$1 ERRF=$2 MODE=$3; shift 3
read _ < "$FIFO" || fail "no go-ahead from git-gitian"
if [ "$MODE" = plain ]; then shift; exec "$@"; fi
R=$1 FSTAB=$2 NET=$3 SWITCH=$4 NPROC=$5; shift 6
# Without a cgroup (no root): RLIMIT_NPROC, which the kernel counts per user namespace and
# uid, so it caps this guest's processes and nothing of the caller's outside it.
if [ "$NPROC" != 0 ]; then
  prlimit --nproc="$NPROC" --pid $$ 2>>"$ERRF" || fail "cannot set the processes limit"
fi
# One mount(8) for the overlay root, /dev (this guest's skeleton with the host's null, zero,
# full, random, urandom and tty bound in), /dev/pts, /dev/shm and /proc: see `fstab_text`.
mount -a -T "$FSTAB" 2>>"$ERRF" || fail "cannot mount the guest's file systems ($FSTAB)"
# No user namespace inside the guest: this namespace may hold none (one for the build user's
# own in `nest` mode, made below or by a root command: `root-nest`); the guest's commands lose CAP_SYS_RESOURCE (which could
# raise it again) and CAP_SYS_PTRACE (which could make this shell raise it).
MAXNS=0; case $SWITCH in nest:* | root-nest) MAXNS=1 ;; esac
# (A new program: this shell was started before the id maps, so it holds no capability.)
sh -c "echo $MAXNS >/proc/sys/user/max_user_namespaces" 2>>"$ERRF" ||
  fail "cannot forbid nested user namespaces"
# The kernel lets the host's uid 0 write the host's sysctls (core_pattern...) from any user
# namespace: the guest's /proc/sys and /proc/sysrq-trigger are read-only, and the build user's
# commands lose CAP_SYS_ADMIN (also through sudo), so that they can neither undo that nor mount
# a /proc of their own. git-gitian's own root steps keep it (`check` sets the host name).
for P in "$R/proc/sys" "$R/proc/sysrq-trigger"; do
  [ -e "$P" ] || continue
  { mount --bind "$P" "$P" && mount -o remount,bind,ro "$P"; } 2>>"$ERRF" ||
    fail "cannot make $P read-only"
done
NOCAP="setpriv --bounding-set -sys_resource,-sys_ptrace --"
USERCAP="setpriv --bounding-set -sys_resource,-sys_ptrace,-sys_admin --"
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
  root | root-nest) $NOCAP "$@" ;;
  setpriv:*) $USERCAP setpriv --reuid="$U" --regid="$G" --init-groups -- "$@" ;;
  nest:*) $USERCAP unshare --user --map-user="$U" --map-group="$G" -- "$@" ;;
  *) echo "gitian-sandbox: bad user switch $SWITCH" >&2; exit 125 ;;
esac
exit $?
"#;

/// Spawns the namespace holder and releases it (see [`State::spawn`]); usable before a `State`
/// exists (unpacking the base).
pub(super) fn spawn_in(
    mapping: &Mapping,
    dir: &Path,
    setup_args: Vec<String>,
    argv: &[String],
    (stdin, stdout, stderr): (Stdio, Stdio, Stdio),
    cgroup: Option<&limits::Cgroup>,
) -> Result<Proc, GuestError> {
    let fifo = dir.join("fifo");
    let errf = dir.join("setup-error");
    let _ = fs::remove_file(&errf);
    let offline = !setup_args.iter().any(|a| a == "online");
    let inv = namespace_invocation(offline, &fifo, &errf, &setup_args, argv);
    let mut child = piped::start(&inv, stdin, stdout, stderr).map_err(GuestError::process(NAME))?;
    // On an error the child is dropped, which stops it.
    release(mapping, &mut child, &fifo, cgroup)?;
    Ok(child)
}

/// The host command line that starts the namespaces and runs [`SETUP`] in them.
pub(super) fn namespace_invocation(
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
pub(super) fn release(
    mapping: &Mapping,
    child: &mut Proc,
    fifo: &Path,
    cgroup: Option<&limits::Cgroup>,
) -> Result<(), GuestError> {
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
    // The namespace's processes (unshare and the waiting setup shell, one process group) go
    // into the guest's cgroup before anything runs; what they start inherits it.
    if let Some(cg) = cgroup {
        cg.add_group(pid)
            .map_err(|e| err(NAME, format!("cannot put the guest in its cgroup: {e}")))?;
    }
    write_maps(mapping, pid)?;
    f.write_all(b"go\n").map_err(|e| err(NAME, format!("cannot release the namespace: {e}")))?;
    Ok(())
}

/// Turns a failure of the setup script (recorded in `setup-error`) into a `GuestError`.
pub(super) fn check_setup(dir: &Path) -> Result<(), GuestError> {
    let errf = dir.join("setup-error");
    match fs::read_to_string(&errf) {
        Ok(text) if !text.trim().is_empty() => {
            let _ = fs::remove_file(&errf);
            Err(err(NAME, format!("sandbox setup failed: {}", text.trim().replace('\n', "; "))))
        }
        _ => Ok(()),
    }
}

/// Runs a maintenance command as root inside a namespace with `mapping` (no new root), with
/// the FIFO in `dir`; fails unless it exits 0.
pub(super) fn run_plain(
    mapping: &Mapping,
    dir: &Path,
    argv: &[String],
    what: &str,
) -> Result<(), GuestError> {
    run_plain_as(mapping, dir, argv, what, false)
}

/// [`run_plain`]; a `cleanup` runs to its end even after an interruption.
pub(super) fn run_plain_as(
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
        (Stdio::null(), Stdio::null(), Stdio::piped()),
        None,
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

pub(super) fn make_fifo(dir: &Path) -> Result<(), GuestError> {
    let fifo = dir.join("fifo");
    let _ = fs::remove_file(&fifo);
    process::run_ok(&Invocation::new("mkfifo").arg("-m").arg("600").arg(&fifo))
        .map(|_| ())
        .map_err(GuestError::process(NAME))
}

/// Removes a tree that may hold files owned by guest ids: as root inside a namespace with the
/// same mapping when the caller is not root (it could not remove them otherwise).
pub(super) fn remove_as_root(mapping: &Mapping, dir: &Path) -> Result<(), GuestError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::env;

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

    /// The build user's commands (and their sudo) lose CAP_SYS_ADMIN; root's keep it.
    #[test]
    fn only_the_build_user_loses_sys_admin() {
        assert!(SETUP.contains("\n  root | root-nest) $NOCAP \"$@\" ;;"));
        assert!(SETUP.contains("\n  setpriv:*) $USERCAP setpriv "));
        assert!(SETUP.contains("\n  nest:*) $USERCAP unshare "));
        assert!(SETUP.contains(
            "USERCAP=\"setpriv --bounding-set -sys_resource,-sys_ptrace,-sys_admin --\""
        ));
        assert!(SETUP.contains("for P in \"$R/proc/sys\" \"$R/proc/sysrq-trigger\"; do"));
    }
}
