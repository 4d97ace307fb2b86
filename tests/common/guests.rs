//! The guests' shared fixtures: the one base image every guest test builds from (made once per
//! machine, reused when up to date), and the locks that keep guest tests of one kind apart.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use super::stderr;

static GUESTS: Mutex<()> = Mutex::new(());
static BASE: OnceLock<PathBuf> = OnceLock::new();

/// Held by tests that start guests: one at a time on this machine.
pub fn guest_lock() -> MutexGuard<'static, ()> {
    GUESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `GITIAN_TEST_BASE_DIR`, else where `git gitian make-base` puts base images by default.
pub fn base_dir() -> PathBuf {
    std::env::var_os("GITIAN_TEST_BASE_DIR")
        .map_or_else(git_gitian::ops::base::default_base_dir, PathBuf::from)
}

/// `git gitian make-base ARGS` in the shared base folder: reused when up to date, made again
/// when another version of git-gitian made it (a test machine's cache outlives versions).
pub fn make_base(args: &[&str]) {
    let dir = base_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    let out =
        super::gitian_build_cmd(&dir, &[&["make-base"], args].concat(), &dir).output().unwrap();
    assert!(out.status.success(), "make-base {args:?} failed:\n{}", stderr(&out));
    eprintln!("make-base: {:.0} s: {}", t.elapsed().as_secs_f64(), stderr(&out).trim());
}

/// The shared Debian bookworm amd64 base image (made once, reused when up to date).
pub fn base() -> &'static Path {
    BASE.get_or_init(|| {
        make_base(&["--distro", "debian", "--suite", "bookworm", "--arch", "amd64"]);
        base_dir().join("debian-bookworm-amd64")
    })
}

/// Held by tests that run LXC guests in this process: the leftover check looks for LXC cgroups
/// by process id, which another test's live container would also match.
static LXC_LOCK: Mutex<()> = Mutex::new(());

pub fn lxc_lock() -> MutexGuard<'static, ()> {
    LXC_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
