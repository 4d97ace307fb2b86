//! The cgroups of the guests: git-gitian's own (`Cgroup`), the ones a container engine or
//! LXC made, found, watched and removed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::limits::Limits;

use super::MIB;

/// The cgroup folders LXC makes for container `name` (`lxc.payload.<name>`) in the `pids` and
/// `memory` hierarchies (and the v2 one), at the root and under our own cgroup.
pub(crate) fn lxc_cgroups(name: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let leaf = format!("lxc.payload.{name}");
    let mut v = Vec::new();
    for (dir, ctrl) in [("pids", Some("pids")), ("memory", Some("memory")), ("", None)] {
        let base = if dir.is_empty() { root.to_path_buf() } else { root.join(dir) };
        v.push(base.join(&leaf));
        let own = own_cgroup(ctrl);
        if own != "/" {
            v.push(base.join(own.trim_start_matches('/')).join(&leaf));
        }
    }
    v
}

/// Where this process sits in a cgroup hierarchy (`/` when unknown), from /proc/self/cgroup:
/// the v1 line naming `controller`, or the v2 line (`0::`) for `None`.
fn own_cgroup(controller: Option<&str>) -> String {
    cgroup_of("self", controller)
}

/// The folders of process `pid`'s cgroups in the `pids` and `memory` hierarchies (and the v2
/// one): where a container engine put a container, for a [`Watch`].
pub(crate) fn cgroups_of(pid: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut v = Vec::new();
    for (dir, ctrl) in [("pids", Some("pids")), ("memory", Some("memory")), ("", None)] {
        let at = cgroup_of(pid, ctrl);
        let base = if dir.is_empty() { root.to_path_buf() } else { root.join(dir) };
        let d = base.join(at.trim_start_matches('/'));
        // Never the root of a hierarchy (the whole host).
        if at != "/" && d.is_dir() {
            v.push(d);
        }
    }
    v
}

/// [`own_cgroup`] of process `pid` (`self` for this one).
fn cgroup_of(pid: &str, controller: Option<&str>) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            let ok = match controller {
                Some(c) => ctrls.split(',').any(|x| x == c),
                None => ctrls.is_empty(),
            };
            ok.then(|| path.to_string())
        })
        .unwrap_or_else(|| "/".into())
}

/// A cgroup of git-gitian's own (the namespace sandbox's, when run as root), named
/// `gitian-<pid>-<n>` under this process's own cgroup in the `pids` and `memory` hierarchies
/// (cgroup v1 and hybrid hosts) or in the one v2 hierarchy, with the limits written; removed
/// (after killing what is left in it) when dropped.
#[derive(Debug)]
pub(crate) struct Cgroup {
    dirs: Vec<PathBuf>,
}

impl Cgroup {
    /// Creates it; `None` when cgroups cannot be written here (no controllers, or an ordinary
    /// user whose own cgroups were not delegated to it: made its own, writable).
    pub(crate) fn create(name: &str, l: &Limits) -> Option<Self> {
        Self::create_in(name, l, false)
    }

    /// [`Cgroup::create`] at the root of each hierarchy (`at_root`), where LXC's
    /// `lxc.cgroup.dir.container` paths start, or under our own cgroup.
    pub(crate) fn create_in(name: &str, l: &Limits, at_root: bool) -> Option<Self> {
        let root = Path::new("/sys/fs/cgroup");
        let mut dirs = Vec::new();
        let mem = (l.memory_mib * MIB).to_string();
        let rel = |c: Option<&str>| {
            if at_root { String::new() } else { own_cgroup(c).trim_start_matches('/').to_string() }
        };
        if root.join("cgroup.controllers").exists() {
            let parent = root.join(rel(None));
            sweep_stale(&parent, "gitian-");
            let _ = fs::write(parent.join("cgroup.subtree_control"), "+pids +memory");
            let d = parent.join(name);
            fs::create_dir(&d).ok()?;
            let ok = fs::write(d.join("pids.max"), l.processes.to_string()).is_ok()
                && fs::write(d.join("memory.max"), &mem).is_ok();
            let _ = fs::write(d.join("memory.swap.max"), "0");
            dirs.push(d);
            let cg = Self { dirs };
            return ok.then_some(cg);
        }
        // Made so far: removed with the value on any failure.
        let mut cg = Self { dirs };
        for (ctrl, files) in [
            ("pids", vec![("pids.max", l.processes.to_string())]),
            (
                "memory",
                vec![
                    ("memory.limit_in_bytes", mem.clone()),
                    ("memory.memsw.limit_in_bytes", mem.clone()),
                ],
            ),
        ] {
            let parent = root.join(ctrl).join(rel(Some(ctrl)));
            if !parent.join("cgroup.procs").exists() {
                continue;
            }
            sweep_stale(&parent, "gitian-");
            let d = parent.join(name);
            fs::create_dir(&d).ok()?;
            cg.dirs.push(d.clone());
            for (f, v) in files {
                // memsw exists only with swap accounting; the others must take.
                if fs::write(d.join(f), &v).is_err() && f != "memory.memsw.limit_in_bytes" {
                    return None;
                }
            }
        }
        // Both controllers, or none of it.
        if cg.dirs.len() < 2 {
            return None;
        }
        // The v2 hierarchy of a hybrid host: no controllers, but cgroup.kill.
        let unified = root.join("unified").join(rel(None));
        if unified.join("cgroup.procs").exists() {
            sweep_stale(&unified, "gitian-");
            let d = unified.join(name);
            if fs::create_dir(&d).is_ok() {
                cg.dirs.push(d);
            }
        }
        Some(cg)
    }

    /// Its folders (for a [`Watch`]).
    pub(crate) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Moves every process of process group `pgid` into it.
    pub(crate) fn add_group(&self, pgid: u32) -> std::io::Result<()> {
        let pids = group_members(pgid);
        for d in &self.dirs {
            for p in &pids {
                fs::write(d.join("cgroup.procs"), p.to_string())?;
            }
        }
        Ok(())
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for d in &self.dirs {
            remove_cgroup(d);
        }
    }
}

/// Kills what is in cgroup `d` and removes it, retrying for up to 10 s (a dying process holds
/// its cgroup until it is reaped).
fn remove_cgroup(d: &Path) {
    use rustix::process::{Pid, Signal, kill_process};
    // Children first (LXC's payload and monitor cgroups under ours).
    if let Ok(entries) = fs::read_dir(d) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup(&e.path());
            }
        }
    }
    for _ in 0..1000 {
        if fs::remove_dir(d).is_ok() || !d.exists() {
            return;
        }
        let _ = fs::write(d.join("cgroup.kill"), "1");
        for pid in fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default().lines() {
            if let Some(p) = pid.trim().parse().ok().and_then(Pid::from_raw) {
                let _ = kill_process(p, Signal::KILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Removes the cgroup `name` (with what is below it) from every hierarchy: LXC makes the
/// container's in all of them.
pub(crate) fn remove_everywhere(name: &str) {
    let root = Path::new("/sys/fs/cgroup");
    let mut parents = vec![root.to_path_buf()];
    parents.extend(fs::read_dir(root).into_iter().flatten().flatten().map(|e| e.path()));
    for p in parents {
        let d = p.join(name);
        if d.is_dir() {
            remove_cgroup(&d);
        }
    }
}

/// [`sweep_stale`] at the root of every hierarchy.
pub(crate) fn sweep_stale_everywhere(prefix: &str) {
    let root = Path::new("/sys/fs/cgroup");
    sweep_stale(root, prefix);
    for e in fs::read_dir(root).into_iter().flatten().flatten() {
        sweep_stale(&e.path(), prefix);
    }
}

/// Removes `<prefix><pid>-*` cgroups under `parent` whose process is gone (a git-gitian
/// killed with SIGKILL removes nothing itself).
fn sweep_stale(parent: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(prefix).and_then(|r| r.split('-').next()) else {
            continue;
        };
        if crate::process::is_gone(pid) {
            remove_cgroup(&e.path());
        }
    }
}

/// The processes whose process group is `pgid` (from /proc).
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 1..];
            let pgrp: u32 = rest.split_whitespace().nth(2)?.parse().ok()?;
            (pgrp == pgid).then_some(pid)
        })
        .collect()
}
