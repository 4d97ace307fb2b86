//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_git-gitian"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared reference corpus (`../shared/corpus`), as the workplace lays it out.
pub fn corpus() -> PathBuf {
    let p = root().join("../shared/corpus");
    if p.exists() { p } else { PathBuf::from("/work/shared/corpus") }
}

/// Runs the binary with a hermetic environment in `dir`: no GnuPG home, and a cache folder of
/// its own (removed afterwards), so that no run reads another's memory of checks.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env_remove("GNUPGHOME")
        .output()
        .expect("run git-gitian")
}

/// Runs `git` in `dir` with no user or system configuration, a fixed identity and fixed dates;
/// panics when it fails; returns its standard output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "2021-03-04T05:06:07Z")
        .env("GIT_COMMITTER_DATE", "2021-03-04T05:06:07Z")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// `git gitian ARGS` in `dir` for the build tests: base images from `base_dir`, no inherited
/// backend choice (USE_LXC, USE_DOCKER, USE_VBOX) or SOURCE_DATE_EPOCH, no stdin.
pub fn gitian_build_cmd(dir: &Path, args: &[&str], base_dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("GITIAN_BASE_DIR", base_dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("USE_LXC")
        .env_remove("USE_DOCKER")
        .env_remove("USE_VBOX")
        // CI=1 streams the build log to stderr (gbuild's behaviour); tests read stderr.
        .env_remove("CI")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Whether the tests run as root (guests, namespaces, mounts need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// A test that cannot run here says so, and why, on the terminal (written past the test
/// harness's capture, which would hide an `eprintln!` of a passing test):
/// `SKIPPED test_x: needs root`. In CI (`CI` set) a test that cannot run fails instead.
pub fn skip(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    assert!(std::env::var_os("CI").is_none(), "{test} cannot run in CI: {why}");
    say_skipped(&test, why);
}

/// A test whose subject does not exist on this machine (it checks what happens without KVM,
/// and KVM works here; a deliberate gap run with `--include-ignored`): it says so, as
/// [`skip`] does, also in CI, where either machine is legitimate.
pub fn not_applicable(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    say_skipped(&test, why);
}

/// `SKIPPED <test>: <why>` on the terminal, past the test harness's capture.
fn say_skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub mod backends;
pub mod diff;
pub mod gnupg;
pub mod guests;
pub mod hostile;
pub mod ledger;
pub mod png;
pub mod report;
pub mod schema;
pub mod sigs;
