//! Fixtures of the tests that start guests (`test_build`, `test_backends`): the shared base
//! image and the locks that keep guests from fighting over the machine.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use super::stderr;

static GUESTS: Mutex<()> = Mutex::new(());
static LXC: Mutex<()> = Mutex::new(());
static BASE: OnceLock<PathBuf> = OnceLock::new();

/// Held by every test that boots a QEMU guest, so that two VMs never fight for the two cores.
pub fn guest_lock() -> MutexGuard<'static, ()> {
    GUESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Held by tests that run LXC guests in this process, and by every leftover check: it looks
/// for LXC cgroups by process id, which another test's live container would also match.
pub fn lxc_lock() -> MutexGuard<'static, ()> {
    LXC.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    fs::create_dir_all(&dir).unwrap();
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

/// What the kvm probe must say about KVM on this machine, as a prefix of its reason (`None`:
/// KVM boots guests here). Decided from facts outside the code under test: whether /dev/kvm
/// opens; whether QEMU itself survives starting a machine under KVM (asked of QEMU directly,
/// paused before the first instruction: some of the project's machines abort at once on the
/// CPU's registers); and what the project's machines are known to do otherwise (their KVM
/// does not boot a stock kernel). `GITIAN_TEST_KVM_BOOTS=1` says this machine's does.
pub fn kvm_verdict_here() -> Option<&'static str> {
    if std::env::var_os("GITIAN_TEST_KVM_BOOTS").is_some_and(|v| v == "1") {
        return None;
    }
    if fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_err() {
        return Some("/dev/kvm: ");
    }
    static STARTS: OnceLock<bool> = OnceLock::new();
    let starts = *STARTS.get_or_init(|| {
        let qemu = format!("qemu-system-{}", std::env::consts::ARCH);
        let args = "-enable-kvm -cpu host -m 128 -nodefaults -display none -S";
        // Alive after 3 s (killed by timeout: 124) means it started; an abort is 134.
        let out = std::process::Command::new("timeout")
            .args(["3", &qemu])
            .args(args.split(' '))
            .output()
            .expect("timeout(1) runs");
        eprintln!("{qemu} {args}: {:?} {}", out.status.code(), stderr(&out).trim());
        out.status.code() == Some(124)
    });
    Some(if starts { "KVM did not boot the guest" } else { "KVM could not start the guest" })
}
