//! Copies between the host and a guest as tar streams: host `tar -c` piped into a guest
//! command that unpacks (`copy_in`), a guest command that packs piped into host `tar -x`
//! (`copy_out`). The processes are run by [`crate::process::piped`].

use std::fs;
use std::path::Path;

use super::GuestError;
use super::env::{GuestUser, env_argv};
use super::util::err;
use crate::process::piped::{self, Proc, Stdio};
use crate::process::{Invocation, shell_quote as quote};

/// A tar stream of the host path `host` (its last component at the top), for `copy_in`.
pub(crate) fn tar_create(host: &Path) -> Result<Invocation, String> {
    let parent = host.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = host.file_name().ok_or_else(|| format!("{} has no file name", host.display()))?;
    Ok(Invocation::new("tar").arg("-C").arg(parent).args(["-cf", "-"]).arg(name))
}

/// Extracts a tar stream on the host into `dir` with the host's tar, owned by the caller and
/// without set-uid/set-gid bits: only VirtualBox's copy-out (through ssh) still uses it; the
/// other backends use [`super::copyout`], which also refuses device nodes and FIFOs.
pub(crate) fn tar_extract(dir: &Path) -> Invocation {
    Invocation::new("tar").arg("-C").arg(dir).args([
        "--no-same-owner",
        "--no-same-permissions",
        "-xf",
        "-",
    ])
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
    spawn: impl FnOnce(Stdio) -> Result<Proc, GuestError>,
) -> Result<(), GuestError> {
    check_guest_path(backend, guest_dir)?;
    let producer = tar_create(host).map_err(|e| err(backend, e))?;
    let mut p = piped::start(&producer, Stdio::null(), Stdio::piped(), Stdio::piped())
        .map_err(GuestError::process(backend))?;
    let out = p.take_stdout().expect("piped stdout");
    // On an error the producer is dropped, which stops it.
    let c = spawn(Stdio::from(out))?;
    let what = format!("copying {} into {guest_dir}", host.display());
    piped::pipe(&what, p, c).map_err(GuestError::process(backend))
}

/// `copy_out` for backends whose guest command can write stdout: the guest child that `spawn`
/// starts (stdout and stderr piped) writes a tar stream, which [`super::copyout::extract_tar`]
/// unpacks into `host_dir` (never the host's `tar -x`: see that module). Returns the notes
/// about entries that were not created (devices, FIFOs).
pub(crate) fn copy_out_with(
    backend: &'static str,
    guest_path: &str,
    host_dir: &Path,
    spawn: impl FnOnce() -> Result<Proc, GuestError>,
) -> Result<Vec<String>, GuestError> {
    check_guest_path(backend, guest_path)?;
    fs::create_dir_all(host_dir)
        .map_err(|e| err(backend, format!("cannot create {}: {e}", host_dir.display())))?;
    let mut p = spawn()?;
    let out = p.take_stdout().expect("piped stdout");
    let p_err = p.capture_stderr();
    let dest = host_dir.to_path_buf();
    let extract = std::thread::spawn(move || {
        super::copyout::extract_tar(out, &dest, &crate::process::interrupted)
    });
    let what = format!("copying {guest_path} out to {}", host_dir.display());
    // On an error the extraction ends (its end of the pipe closes), and so does the producer.
    let status = p.wait();
    let extracted = extract.join().unwrap_or_else(|_| Err(std::io::Error::other("panicked")));
    let status = status.map_err(GuestError::process(backend))?;
    let notes = extracted.map_err(|e| err(backend, format!("{what}: {e}")))?;
    if !status.success() {
        let text = String::from_utf8_lossy(&p_err.join().unwrap_or_default()).trim().to_string();
        return Err(err(
            backend,
            format!("{what} failed ({}): {text}", crate::process::status_text(status)),
        ));
    }
    Ok(notes)
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
    fn guest_paths() {
        assert!(check_guest_path("t", "build/out").is_ok());
        assert!(check_guest_path("t", "../x").is_err());
        assert!(check_guest_path("t", "/etc").is_err());
        assert!(check_guest_path("t", "a b").is_err());
    }
}
