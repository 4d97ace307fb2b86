//! Attack 3 of issue 10, for real: a build script that takes what the host has (a fork bomb, a
//! memory hog, a disk fill, a disk that really fills: a tmpfs) on the sandbox (as root and as
//! an ordinary user), LXC, a private dockerd and QEMU under TCG. Each limit stops the build,
//! which fails (exit 2) saying which limit, its value and how to raise it, and nothing of the
//! guest is left.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::backends::{Engines, Scratch, skip_unless_root};
use crate::common::hostile::{Run, build, kind_of, workdir};

/// Attack 3: the script takes what the host has. Each limit stops the build, which fails
/// (exit 2) saying which limit, its value and how to raise it; nothing is left running.
fn check_limit(backend: &str, script: &str, extra: &str, args: &[&str], says: &str) -> Run {
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-limit-{backend}"));
    let engines = Engines::for_kind(kind_of(backend));
    let work = workdir(&root.0, script, extra);
    let run = build(&work, backend, args, &engines.env(), 300);
    assert_eq!(run.code, Some(2), "{backend} ({:.0} s): {}", run.secs, run.stderr);
    assert!(run.stderr.contains(says), "{backend}: {}", run.stderr);
    assert!(run.stderr.contains("hint: raise it with --"), "{backend}: {}", run.stderr);
    assert!(!work.join("result/hostile-res.yml").exists());
    let left = cgroups_of_run(run.pid);
    assert!(left.is_empty(), "{backend}: cgroups left after the build: {left:#?}");
    run
}

/// The cgroups (any hierarchy, three levels deep) that the git-gitian with process id `pid`
/// made for its guests (`gitian-<pid>-*`, LXC's `lxc.payload.gitian-<pid>-*`): a cgroup that
/// still holds a process cannot be removed, so none left means nothing of the guest runs on.
fn cgroups_of_run(pid: u32) -> Vec<PathBuf> {
    let tag = format!("gitian-{pid}-");
    let mut found = Vec::new();
    let mut level = vec![PathBuf::from("/sys/fs/cgroup")];
    for _ in 0..4 {
        let mut next = Vec::new();
        for d in level {
            for e in fs::read_dir(&d).into_iter().flatten().flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if e.file_name().to_string_lossy().contains(&tag) {
                    found.push(e.path());
                } else {
                    next.push(e.path());
                }
            }
        }
        level = next;
    }
    found
}

/// A tmpfs mounted on a folder for the life of the value (lazily unmounted when dropped).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "gg-hostile-tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "cannot mount a tmpfs on {}", dir.display());
        Self(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Disk full for real: the build folder (and so the guest's writable layer) on a 600 MiB
/// tmpfs, the default disk limit (40 GiB, far more than there is). The script fills the
/// disk; the build fails saying it was stopped before it filled the host's disk, with a hint
/// to make room (not to raise --disk), and the tmpfs is empty again afterwards.
fn check_disk_full(backend: &str) {
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-full-{backend}"));
    let mnt = root.0.join("fs");
    fs::create_dir_all(&mnt).unwrap();
    let _tmpfs = Tmpfs::mount(&mnt, "600m");
    let engines = Engines::for_kind(kind_of(backend));
    let work = workdir(&mnt, "head -c 100G /dev/zero > big\n", "");
    let run = build(&work, backend, &[], &engines.env(), 300);
    assert_eq!(run.code, Some(2), "{backend} ({:.0} s): {}", run.secs, run.stderr);
    assert!(run.stderr.contains("before it filled its host's disk"), "{backend}: {}", run.stderr);
    assert!(run.stderr.contains("left free"), "{backend}: {}", run.stderr);
    assert!(run.stderr.contains("hint: free space on that file system"), "{}", run.stderr);
    assert!(cgroups_of_run(run.pid).is_empty(), "{backend}");
    let used = Command::new("df").args(["--output=used", "-B1M"]).arg(&mnt).output().unwrap();
    let used: u64 =
        String::from_utf8_lossy(&used.stdout).lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(used < 50, "{backend}: {used} MiB still used on the tmpfs after the build");
}

#[test]
fn test_hostile_disk_full_on_a_tmpfs_sandbox() {
    if !skip_unless_root() {
        check_disk_full("sandbox");
    }
}

#[test]
fn test_hostile_disk_full_on_a_tmpfs_lxc() {
    if !skip_unless_root() {
        check_disk_full("lxc");
    }
}

/// A fork bomb.
const BOMB: &str = "bomb() { bomb | bomb & }\nbomb\nsleep 100\n";

#[test]
fn test_hostile_fork_bomb_hits_the_process_limit_sandbox() {
    if !skip_unless_root() {
        check_limit(
            "sandbox",
            BOMB,
            "",
            &["--processes", "128"],
            "processes limit (128 processes)",
        );
    }
}

#[test]
fn test_hostile_fork_bomb_hits_the_process_limit_lxc() {
    if !skip_unless_root() {
        // From the descriptor this time.
        check_limit(
            "lxc",
            BOMB,
            "limits:\n  processes: 128\n",
            &[],
            "processes limit (128 processes)",
        );
    }
}

/// A bounded bomb: 2000 sleeping processes (without a limit they cost 2000 sleeps for a
/// minute, never a fork bomb on the shared host).
const SLEEPS: &str = "i=0\nwhile [ $i -lt 2000 ]; do sleep 60 & i=$((i+1)); done\nwait\n";

/// In the QEMU guest the processes limit is the guest kernel's (a cgroup of the build user's),
/// and a refused fork ends the step as the processes limit's failure.
#[test]
fn test_hostile_fork_bomb_hits_the_process_limit_kvm() {
    if !skip_unless_root() {
        let says = "processes limit (128 processes)";
        check_limit("kvm", SLEEPS, "", &["--processes", "128"], says);
    }
}

#[test]
fn test_hostile_fork_bomb_hits_the_process_limit_docker() {
    if !skip_unless_root() {
        check_limit("docker", BOMB, "", &["--processes", "128"], "processes limit (128 processes)");
    }
}

/// `tail` keeps a line without newline whole: 700 MiB of memory.
const HOG: &str = "head -c 700M /dev/zero | tail > /dev/null\n";

#[test]
fn test_hostile_memory_hog_hits_the_memory_limit_sandbox() {
    if !skip_unless_root() {
        check_limit("sandbox", HOG, "", &["--memory", "256M"], "memory limit (256 MiB)");
    }
}

#[test]
fn test_hostile_memory_hog_hits_the_memory_limit_lxc() {
    if !skip_unless_root() {
        check_limit("lxc", HOG, "", &["--memory", "256M"], "memory limit (256 MiB)");
    }
}

#[test]
fn test_hostile_memory_hog_hits_the_memory_limit_kvm() {
    if !skip_unless_root() {
        check_limit("kvm", HOG, "", &["--memory", "384M"], "memory limit (384 MiB)");
    }
}

#[test]
fn test_hostile_memory_hog_hits_the_memory_limit_docker() {
    if !skip_unless_root() {
        check_limit("docker", HOG, "", &["--memory", "256M"], "memory limit (256 MiB)");
    }
}

/// Writes without end into the home.
const FILL: &str = "set -e\nhead -c 100G /dev/zero > big\n";

#[test]
fn test_hostile_disk_fill_hits_the_disk_limit_sandbox() {
    if !skip_unless_root() {
        check_limit("sandbox", FILL, "", &["--disk", "300M"], "disk limit (300 MiB)");
    }
}

#[test]
fn test_hostile_disk_fill_hits_the_disk_limit_lxc() {
    if !skip_unless_root() {
        check_limit("lxc", FILL, "", &["--disk", "300M"], "disk limit (300 MiB)");
    }
}

#[test]
fn test_hostile_disk_fill_hits_the_disk_limit_docker() {
    if !skip_unless_root() {
        check_limit("docker", FILL, "", &["--disk", "300M"], "disk limit (300 MiB)");
    }
}

/// A limit hit by an ordinary user's sandbox (no cgroup: subordinate ids 3,100,000 on): the
/// build fails saying which limit, and nothing of the user's is left running.
fn check_limit_as_user(tag: &str, script: &str, args: &[&str], says: &str) {
    check_limit_as_user_in(tag, script, args, says, &[]);
}

/// [`check_limit_as_user`] with git-gitian started in the cgroups `cgroups`.
fn check_limit_as_user_in(tag: &str, script: &str, args: &[&str], says: &str, cgroups: &[PathBuf]) {
    use crate::common::backends::{TEST_USERS, TestUser, readable_base};
    let _users = TEST_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let root = Scratch::new(&format!("hostile-{tag}-user"));
    let base = readable_base(&root.0.join("base"));
    let user = TestUser::new("gghostile", Some(3_100_000), &base);
    let home = root.0.join("home");
    let work = workdir(&home, script, "");
    let t = Instant::now();
    let mut all = vec!["--backend", "sandbox"];
    all.extend(args);
    for c in cgroups {
        let st = Command::new("chown").args(["-R", user.name()]).arg(c).status().unwrap();
        assert!(st.success());
    }
    let out = user.run_build_in(&home, &work, &all, cgroups);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{:.0} s: {err}", t.elapsed().as_secs_f64());
    assert!(err.contains(says), "{err}");
    assert!(err.contains("hint: raise it with --"), "{err}");
    let start = Instant::now();
    while !user.live_processes().is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(user.live_processes(), Vec::<String>::new());
}

/// The QEMU guest's disk: the host watches the file system holding its overlay and stops QEMU.
#[test]
fn test_hostile_disk_fill_hits_the_disk_limit_kvm() {
    if !skip_unless_root() {
        check_limit("kvm", FILL, "", &["--disk", "300M"], "disk limit (300 MiB)");
    }
}

/// A cgroup folder in the `pids` and `memory` hierarchies (cgroup v1, as on this project's
/// machines), removed (empty) when dropped: what a host delegates to a user by giving it.
struct Delegated(Vec<PathBuf>);

impl Delegated {
    fn new() -> Self {
        let name =
            format!("gg-delegated-{}-{}", std::process::id(), crate::common::backends::nanos());
        let dirs: Vec<PathBuf> = ["pids", "memory"]
            .iter()
            .map(|c| Path::new("/sys/fs/cgroup").join(c).join(&name))
            .collect();
        for d in &dirs {
            fs::create_dir(d).unwrap();
        }
        Self(dirs)
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        for d in &self.0 {
            let left: Vec<_> =
                fs::read_dir(d).unwrap().flatten().filter(|e| e.path().is_dir()).collect();
            assert!(left.is_empty() || std::thread::panicking(), "{}: {left:?} left", d.display());
            let _ = fs::remove_dir(d);
        }
    }
}

/// The memory hog as an ordinary user whose cgroups the host delegated to it (made its own):
/// the guest gets a cgroup of its own below them, with the memory limit, and the kernel's
/// out-of-memory killer is what stops it (not the watch), reported as the memory limit.
#[test]
fn test_hostile_memory_limit_in_a_delegated_cgroup_sandbox() {
    if skip_unless_root() || !Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
        return;
    }
    let cg = Delegated::new();
    let says = "memory limit (256 MiB): the kernel's out-of-memory killer";
    check_limit_as_user_in("deleg", HOG, &["--memory", "256M"], says, &cg.0);
}

/// Attack 3 without root: an ordinary user's sandbox has no cgroup, so its processes limit is
/// RLIMIT_NPROC, which the kernel counts per user namespace and uid (this guest's processes
/// only). The script starts 2000 sleeps in a loop (bounded: without the limit it costs 2000
/// sleeping processes for a minute, never a fork bomb on the shared host); with --processes
/// 128 the build fails saying so, and nothing of the user's is left running.
#[test]
fn test_hostile_processes_limit_without_root_sandbox() {
    if !skip_unless_root() {
        let says = "processes limit (128 processes)";
        check_limit_as_user("nproc", SLEEPS, &["--processes", "128"], says);
    }
}

/// The memory hog without root: no cgroup limits the guest's memory, so git-gitian sums what
/// the guest's processes hold (and its /dev/shm) and stops the guest at the limit.
#[test]
fn test_hostile_memory_limit_without_root_sandbox() {
    if !skip_unless_root() {
        check_limit_as_user("mem", HOG, &["--memory", "256M"], "memory limit (256 MiB)");
    }
}
