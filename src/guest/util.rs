//! Small helpers shared by the backends: errors, unique names, temporary folders swept after a
//! killed run, the base root file system tarball and its build user, host ids. Processes are
//! started by [`crate::process`] only; the build user's environment is [`super::env`]'s; copies
//! are [`super::copy`]'s.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::GuestError;
use super::env::GuestUser;
use crate::process::{self, Invocation};

/// A guest error.
pub(crate) fn err(backend: &'static str, message: impl Into<String>) -> GuestError {
    GuestError { backend, message: message.into() }
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
            if process::is_gone(pid) {
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
    let passwd = process::run_ok(&Invocation::new("tar").arg("-xOf").arg(tar).arg("./etc/passwd"))
        .map_err(GuestError::process(backend))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::piped::Stdio;

    #[test]
    fn own_temp_dir_sweeps_only_dead_processes_folders() {
        let parent = tempfile::tempdir().unwrap();
        let mut gone = crate::process::piped::start(
            &crate::process::Invocation::new("true"),
            Stdio::null(),
            Stdio::null(),
            Stdio::null(),
        )
        .unwrap();
        let dead = gone.pid();
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
}
