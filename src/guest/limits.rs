//! What a guest may take from its host, enforced (the values are `core::limits`'s), and the
//! end of a step: nothing the build script started outlives it.
//!
//! - [`REAPER`]: the shell that runs every guest command of the container backends (LXC,
//!   Docker/podman) as root inside the guest's own pid namespace: when the command ends, every
//!   other process of the namespace is killed (its init excepted), so `sleep infinity &` at the
//!   end of a script neither keeps LXC's init waiting nor runs on in the container. The
//!   sandbox needs none (its pid namespace dies with its first process), QEMU's agent does the
//!   same after the build script.

macro_rules! reap_all {
    () => {
        "i=0; while kill -KILL -1 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); done"
    };
}

/// Shell text that SIGKILLs every process of the pid namespace but its init and the caller,
/// while any is found, at most 100 rounds (a process forked during one round is caught by the
/// next; a process with SIGKILL pending cannot fork). Root inside a guest only.
pub(crate) const REAP_ALL: &str = reap_all!();

/// `sh -c REAPER gitian-step CMD...`: runs CMD, then SIGKILLs every other process of the pid
/// namespace (`kill -1` spares the namespace's init and the caller) while any is found, at
/// most 100 rounds (a process forked during one round is caught by the next; a process with
/// SIGKILL pending cannot fork), and exits with CMD's status. Only ever run inside a guest's
/// own pid namespace.
pub(crate) const REAPER: &str = concat!("\"$@\"; rc=$?; ", reap_all!(), "; exit $rc");

/// The argv that runs `argv` under [`REAPER`].
pub(crate) fn reaped(argv: &[String]) -> Vec<String> {
    let mut v: Vec<String> =
        vec!["/bin/sh".into(), "-c".into(), REAPER.into(), "gitian-step".into()];
    v.extend(argv.iter().cloned());
    v
}

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::limits::{LimitHit, Limits, Which};

const MIB: u64 = 1024 * 1024;

/// How often the [`Watch`] looks.
const POLL: Duration = Duration::from_millis(100);

/// The size of the guest's `/dev/shm` (a tmpfs, in memory): a quarter of its memory.
pub(crate) fn shm_mib(l: &Limits) -> u64 {
    (l.memory_mib / 4).max(16)
}

/// The free space git-gitian keeps on the file system of a guest's writable layer: 1 GiB, or
/// a twentieth of a smaller file system.
pub(crate) fn reserve(total_bytes: u64) -> u64 {
    (1024 * MIB).min(total_bytes / 20)
}

/// Watches one guest for its life (from `create` to `destroy`) on a thread: the process and
/// memory counters of its cgroups (a fork that failed at the process limit, the out-of-memory
/// killer at the memory limit) and the disk its writable layer takes (how much the file
/// system holding it has grown since the guest was created, and what is left free). At the
/// first hit it records which limit and SIGKILLs everything in the guest's cgroups (and the
/// processes given with [`Watch::kill_on_hit`]), so the step ends; the backend then answers
/// `Guest::limit_hit` with it.
#[derive(Debug)]
pub(crate) struct Watch {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    done: AtomicBool,
    hit: Mutex<Option<LimitHit>>,
    cgroups: Mutex<Vec<PathBuf>>,
    kill: Mutex<Vec<u32>>,
    /// A process whose child is the init of a pid namespace to count the tasks of.
    namespace: Mutex<Option<u32>>,
    disk: Option<(PathBuf, u64)>,
}

impl Watch {
    /// Starts watching; `layer` is a folder on the file system that holds the guest's
    /// writable layer (`None`: no disk watch).
    pub(crate) fn start(limits: Limits, layer: Option<&Path>) -> Self {
        let disk = layer.and_then(|p| used_bytes(p).map(|u| (p.to_path_buf(), u)));
        let shared = Arc::new(Shared {
            limits,
            done: AtomicBool::new(false),
            hit: Mutex::new(None),
            cgroups: Mutex::new(Vec::new()),
            kill: Mutex::new(Vec::new()),
            namespace: Mutex::new(None),
            disk,
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            while !s.done.load(Ordering::Relaxed) {
                if let Some(hit) = s.poll(false) {
                    if let Ok(mut h) = s.hit.lock() {
                        h.get_or_insert(hit);
                    }
                    s.kill_all();
                }
                std::thread::sleep(POLL);
            }
        });
        Self { shared, thread: Some(thread) }
    }

    /// Also reads (and kills through) the cgroup folder `dir` (one controller's, or a v2 one).
    pub(crate) fn watch_cgroup(&self, dir: PathBuf) {
        if let Ok(mut c) = self.shared.cgroups.lock()
            && !c.contains(&dir)
        {
            c.push(dir);
        }
    }

    /// Counts the tasks of the pid namespace whose init is `parent`'s child (the sandbox's
    /// `unshare --fork`), replacing the previous one: as many as the processes limit is a hit
    /// (the kernel's RLIMIT_NPROC refuses the next fork, and says so nowhere else).
    pub(crate) fn watch_namespace(&self, parent: u32) {
        if let Ok(mut n) = self.shared.namespace.lock() {
            *n = Some(parent);
        }
    }

    /// Process groups to SIGKILL on a hit (replacing the previous ones).
    pub(crate) fn kill_on_hit(&self, groups: Vec<u32>) {
        if let Ok(mut k) = self.shared.kill.lock() {
            *k = groups;
        }
    }

    /// The first limit hit, if any, asked after a step failed; looks once more now (a step
    /// killed by the out-of-memory killer may end between two looks of the thread).
    pub(crate) fn hit(&self) -> Option<LimitHit> {
        let mut h = self.shared.hit.lock().ok()?;
        if h.is_none() {
            *h = self.shared.poll(true);
        }
        h.clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shared.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The sum of the `key N` lines of cgroup files' text.
fn counter(text: &str, key: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse::<u64>().ok())
        .sum()
}

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

fn used_bytes(p: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(p).ok()?;
    Some(s.f_blocks.saturating_sub(s.f_bfree) * s.f_frsize)
}

impl Shared {
    /// The watched cgroups and every cgroup below them (LXC's under ours: cgroup v1 counts a
    /// failed fork in the forking task's cgroup).
    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.cgroups.lock().map(|c| c.clone()).unwrap_or_default();
        let mut i = 0;
        while i < dirs.len() {
            if let Ok(entries) = fs::read_dir(&dirs[i]) {
                let subs = entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir()));
                dirs.extend(subs.map(|e| e.path()));
            }
            i += 1;
        }
        dirs
    }

    fn poll(&self, failed: bool) -> Option<LimitHit> {
        let l = self.limits;
        let hit = |which: Which, detail: String| {
            Some(LimitHit { which, value: which.of(l), detail, host_full: false })
        };
        let dirs = self.dirs();
        for d in &dirs {
            // A folder's counters, or a file of counters saved before a cgroup was removed
            // (LXC's supervisor writes one).
            let files: Vec<PathBuf> = if d.is_file() {
                vec![d.clone()]
            } else {
                ["pids.events", "memory.oom_control", "memory.events"]
                    .iter()
                    .map(|f| d.join(f))
                    .collect()
            };
            let text: Vec<String> =
                files.iter().filter_map(|f| fs::read_to_string(f).ok()).collect();
            let text = text.join("\n");
            if counter(&text, "max") > 0 {
                return hit(
                    Which::Processes,
                    format!(
                        "{} forks failed: the guest had all the processes it may have",
                        counter(&text, "max")
                    ),
                );
            }
            // cgroup v1 counts out-of-memory kills only in the cgroup of the killed task
            // (LXC's, gone with the container): a cgroup whose limit was reached by a step that
            // then failed tells the same (the caller asks only after a failed step).
            let peak = fs::read_to_string(d.join("memory.max_usage_in_bytes"))
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .unwrap_or(0);
            if counter(&text, "oom_kill") > 0 || (failed && peak >= l.memory_mib * MIB) {
                return hit(
                    Which::Memory,
                    "the kernel's out-of-memory killer ended a process of the guest".into(),
                );
            }
        }
        if let Some(n) = self.namespace.lock().ok().and_then(|n| *n)
            && let Some(tasks) = namespace_tasks(n)
            && tasks >= l.processes
        {
            return hit(
                Which::Processes,
                format!("{tasks} processes ran in the guest: all it may have"),
            );
        }
        let (path, start) = self.disk.as_ref()?;
        let s = rustix::fs::statvfs(path.as_path()).ok()?;
        let used = s.f_blocks.saturating_sub(s.f_bfree) * s.f_frsize;
        let grown = used.saturating_sub(*start);
        if grown > l.disk_mib * MIB {
            return hit(
                Which::Disk,
                format!(
                    "the file system holding {} grew by {} MiB since the guest started",
                    path.display(),
                    grown / MIB
                ),
            );
        }
        let free = s.f_bavail * s.f_frsize;
        let keep = reserve(s.f_blocks * s.f_frsize);
        if free < keep {
            let detail = format!(
                "only {} MiB were left free on the file system holding {} (git-gitian keeps {} MiB free)",
                free / MIB,
                path.display(),
                keep / MIB
            );
            return Some(LimitHit { host_full: true, ..hit(Which::Disk, detail)? });
        }
        None
    }

    /// SIGKILLs everything in the cgroups (a few rounds: a forking process is caught by the
    /// next) and the registered process groups.
    fn kill_all(&self) {
        use rustix::process::{Pid, Signal, kill_process, kill_process_group};
        let dirs = self.dirs();
        for _ in 0..20 {
            let mut any = false;
            for d in &dirs {
                let _ = fs::write(d.join("cgroup.kill"), "1");
                for pid in fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default().lines() {
                    if let Some(p) = pid.trim().parse().ok().and_then(Pid::from_raw) {
                        any = true;
                        let _ = kill_process(p, Signal::KILL);
                    }
                }
            }
            if !any {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for g in self.kill.lock().map(|k| k.clone()).unwrap_or_default() {
            if let Some(p) = Pid::from_raw(g as i32) {
                let _ = kill_process_group(p, Signal::KILL);
            }
        }
    }
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
    /// Creates it; `None` when cgroups cannot be written here (not root, no controllers).
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
            if fs::create_dir(&d).is_err() {
                continue;
            }
            for (f, v) in files {
                // memsw exists only with swap accounting; the others must take.
                if fs::write(d.join(f), &v).is_err() && f != "memory.memsw.limit_in_bytes" {
                    let _ = fs::remove_dir(&d);
                    return None;
                }
            }
            dirs.push(d);
        }
        // The v2 hierarchy of a hybrid host: no controllers, but cgroup.kill.
        let unified = root.join("unified").join(rel(None));
        if unified.join("cgroup.procs").exists() {
            sweep_stale(&unified, "gitian-");
            let d = unified.join(name);
            if fs::create_dir(&d).is_ok() {
                dirs.push(d);
            }
        }
        (dirs.len() >= 2).then_some(Self { dirs })
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
pub(crate) fn sweep_stale(parent: &Path, prefix: &str) {
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

/// How many tasks (threads included, as RLIMIT_NPROC counts) run in the pid namespace of
/// `parent`'s first child; `None` when it has none (yet, or any more).
fn namespace_tasks(parent: u32) -> Option<u64> {
    let children = fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    let init = children.split_whitespace().next()?;
    let ns = fs::read_link(format!("/proc/{init}/ns/pid")).ok()?;
    let mut tasks = 0;
    for e in fs::read_dir("/proc").ok()?.flatten() {
        let p = e.path();
        if e.file_name().to_str().is_none_or(|n| !n.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        if fs::read_link(p.join("ns/pid")).is_ok_and(|l| l == ns) {
            let status = fs::read_to_string(p.join("status")).unwrap_or_default();
            tasks += status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:")?.trim().parse::<u64>().ok())
                .unwrap_or(1);
        }
    }
    Some(tasks)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_of_cgroup_files() {
        assert_eq!(counter("max 3\n", "max"), 3);
        assert_eq!(counter("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", "oom_kill"), 2);
        assert_eq!(counter("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n", "oom_kill"), 1);
        assert_eq!(counter("", "max"), 0);
    }

    #[test]
    fn reserve_is_a_gib_or_a_twentieth() {
        assert_eq!(reserve(100 * 1024 * MIB), 1024 * MIB);
        assert_eq!(reserve(200 * MIB), 10 * MIB);
    }
}
