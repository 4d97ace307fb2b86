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

mod cgroup;
mod namespace;

pub(crate) use cgroup::{
    Cgroup, cgroups_of, lxc_cgroups, remove_everywhere, sweep_stale_everywhere,
};

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

    /// Counts the tasks and the memory of the pid namespace whose init is `parent`'s child
    /// (the rootless sandbox's `unshare --fork`, which has no cgroup), replacing the previous
    /// one: as many tasks as the processes limit is a hit (the kernel's RLIMIT_NPROC refuses
    /// the next fork, and says so nowhere else), and so is as much memory as the memory limit
    /// (nothing else limits it: the guest is stopped).
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
            && let Some(u) = namespace::usage(n)
        {
            if u.tasks >= l.processes {
                let detail = format!("{} processes ran in the guest: all it may have", u.tasks);
                return hit(Which::Processes, detail);
            }
            if u.memory >= l.memory_mib * MIB {
                let detail = format!(
                    "the guest's processes held {} MiB of memory, and it was stopped",
                    u.memory / MIB
                );
                return hit(Which::Memory, detail);
            }
        }
        self.disk_hit()
    }

    /// The disk limit's hit, or the host's file system running short, if either happened.
    fn disk_hit(&self) -> Option<LimitHit> {
        let l = self.limits;
        let hit = |which: Which, detail: String| {
            Some(LimitHit { which, value: which.of(l), detail, host_full: false })
        };
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
