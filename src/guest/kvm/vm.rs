//! A running guest: its processes and share, the build in one agent command, copies through
//! the share, and the stop that removes everything.

use std::fs;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::qmp::Qmp;
use super::wrapper::{PREPARE_FAILED, build_wrapper};
use super::{err, io_err};
use crate::guest::{BuildStatus, Exec, GuestError, User};
use crate::process::{self, Child, Invocation, shell_quote};

#[derive(Debug)]
pub(super) struct Vm {
    pub(super) qemu: Child,
    pub(super) virtiofsd: Child,
    pub(super) ctl: BufReader<UnixStream>,
    pub(super) qmp: Option<Qmp>,
    pub(super) _sockets: tempfile::TempDir,
    pub(super) scratch: PathBuf,
    pub(super) share: PathBuf,
    pub(super) qemu_log: PathBuf,
    pub(super) console: PathBuf,
    pub(super) user: String,
    pub(super) arch: String,
    pub(super) next: u32,
    pub(super) net: Net,
    /// What copy-out refused to bring to the host (devices, FIFOs), for the caller.
    pub(super) notes: Vec<String>,
}

/// Where the guest's network stands; it only goes forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Net {
    /// The NIC is there but not configured in the guest (only loopback).
    Unused,
    /// Configured: QEMU user networking reaches the mirror.
    On,
    /// Taken down in the guest and its backend deleted from QEMU.
    Removed,
    /// The guest was created without a NIC.
    Absent,
}

/// One command's folder in the share (`cmd/<id>`, `xfer/<id>`), removed when dropped, so no
/// return path leaves it behind.
pub(super) struct ShareDir(PathBuf);

impl ShareDir {
    pub(super) fn create(share: &Path, kind: &str, id: u32) -> Result<Self, GuestError> {
        let path = share.join(kind).join(id.to_string());
        fs::create_dir_all(&path).map_err(|e| io_err("cannot create", &path, &e))?;
        // The guest's root writes here through virtiofs (files owned by guest ids, with the
        // modes it chose, until copy-out adopts them): no other host user may reach them.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_err("cannot protect", &path, &e))?;
        Ok(Self(path))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ShareDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl Vm {
    /// [`Guest::run_build`] as one agent command: `script` (the build script, with the
    /// preparation on its first line if any) as the build user, then the outputs copied to the
    /// share by the same wrapper, so that the guest starts three programs fewer.
    pub(super) fn run_build(
        &mut self,
        script: &str,
        prep: bool,
        cmd: &Exec<'_>,
        outputs: &[(&str, &Path)],
    ) -> Result<BuildStatus, GuestError> {
        let id = self.new_id();
        let (dir, xfer) =
            (ShareDir::create(&self.share, "cmd", id)?, ShareDir::create(&self.share, "xfer", id)?);
        let (dir, xfer) = (dir.path(), xfer.path());
        let paths: Vec<&str> = outputs.iter().map(|(p, _)| p.trim_end_matches('/')).collect();
        let gdir = format!("/run/gitian/cmd/{id}");
        let wrapper = build_wrapper(
            &self.arch,
            &self.user,
            cmd,
            prep,
            &paths,
            &gdir,
            &format!("/run/gitian/xfer/{id}"),
        );
        fs::write(dir.join("script"), script).map_err(|e| io_err("cannot write", dir, &e))?;
        fs::write(dir.join("run"), wrapper).map_err(|e| io_err("cannot write", dir, &e))?;
        let wrapper_code = self.dispatch(id, dir, cmd.log)?;
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        let Ok(code) = read("status").trim().parse::<i32>() else {
            return Err(err(format!("the build command did not run (exit status {wrapper_code})")));
        };
        if prep
            && code == 125
            && let Some(n) = read("prep").lines().find_map(|l| l.strip_prefix(PREPARE_FAILED))
        {
            return Ok(BuildStatus::PrepareFailed(n.trim().parse().unwrap_or(code)));
        }
        if code != 0 {
            return Ok(BuildStatus::ScriptFailed(code));
        }
        if wrapper_code != 0 {
            return Err(err(format!(
                "cannot copy {} out of the guest (exit status {wrapper_code}):\n{}",
                paths.join(", "),
                read("copy").trim_end()
            )));
        }
        for ((_, host_dir), path) in outputs.iter().zip(&paths) {
            let name = path.rsplit('/').next().unwrap_or(path);
            fs::create_dir_all(host_dir).map_err(|e| io_err("cannot create", host_dir, &e))?;
            self.adopt(&xfer.join(path), &host_dir.join(name), path)?;
        }
        Ok(BuildStatus::Done)
    }

    /// Runs a root helper command (sh, in the agent's environment); fails with its output
    /// when it fails.
    pub(super) fn run_root(&mut self, script: &str) -> Result<(), GuestError> {
        let log = self.scratch.join("helper.log");
        let _ = fs::remove_file(&log);
        let code = self.run(User::Root, None, false, script, &[], Some(&log), true)?;
        if code != 0 {
            return Err(err(format!(
                "guest command failed (exit status {code}): {script}\n{}",
                process::tail_of_file(&log, 10)
            )));
        }
        Ok(())
    }

    pub(super) fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        let name = host
            .file_name()
            .ok_or_else(|| err(format!("cannot copy '{}'", host.display())))?
            .to_string_lossy()
            .into_owned();
        let id = self.new_id();
        let xfer = ShareDir::create(&self.share, "xfer", id)?;
        process::run_ok(&Invocation::new("cp").arg("-a").arg(host).arg(xfer.path()))
            .map_err(GuestError::from)?;
        let u = shell_quote(&self.user);
        let dest = format!("/home/{}/{}", self.user, guest_dir.trim_end_matches('/'));
        let script = format!(
            "set -e\nd={dest}\nif [ ! -d \"$d\" ]; then mkdir -p \"$d\"; chown {u}:{u} \"$d\"; fi\n\
             cp -a /run/gitian/xfer/{id}/{name} \"$d\"/\nchown -R {u}:{u} \"$d\"/{name}\n",
            dest = shell_quote(&dest),
            name = shell_quote(&name),
        );
        self.run_root(&script)
    }

    pub(super) fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        let path = guest_path.trim_end_matches('/');
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        let id = self.new_id();
        let xfer = ShareDir::create(&self.share, "xfer", id)?;
        let src = format!("/home/{}/{path}", self.user);
        let script = format!("cp -a {} /run/gitian/xfer/{id}/\n", shell_quote(&src));
        self.run_root(&script)?;
        fs::create_dir_all(host_dir).map_err(|e| io_err("cannot create", host_dir, &e))?;
        self.adopt(&xfer.path().join(&name), &host_dir.join(&name), path)
    }

    /// Copy-out's host side (`guest::copyout`): the guest's tree `src` in the share becomes
    /// `dst`, ours and without set-uid bits, devices or FIFOs; what was refused is noted.
    fn adopt(&mut self, src: &Path, dst: &Path, guest_path: &str) -> Result<(), GuestError> {
        let notes = crate::guest::copyout::adopt_tree(src, dst)
            .map_err(|e| err(format!("cannot copy into '{}': {e}", dst.display())))?;
        self.notes.extend(notes.into_iter().map(|n| format!("{guest_path}/{n}")));
        Ok(())
    }

    /// Stops QEMU and virtiofsd and removes the overlay, the share and the sockets. Nothing
    /// in the guest needs to survive (its disk overlay is thrown away, the outputs are on the
    /// host already), so QEMU is killed rather than asked to quit: no waiting for it.
    pub(super) fn stop(mut self) {
        drop(self.qmp.take());
        self.qemu.kill();
        self.virtiofsd.kill();
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_files_and_keeps_others() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src/out");
        let dst = t.path().join("dst/out");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::create_dir_all(dst.join("sub")).unwrap();
        fs::write(src.join("sub/a"), "new").unwrap();
        fs::write(dst.join("sub/a"), "old").unwrap();
        fs::write(dst.join("keep"), "k").unwrap();
        crate::guest::copyout::adopt_tree(&src, &dst).unwrap();
        assert_eq!(fs::read_to_string(dst.join("sub/a")).unwrap(), "new");
        assert_eq!(fs::read_to_string(dst.join("keep")).unwrap(), "k");
    }
}
