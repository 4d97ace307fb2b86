//! The one policy for stopping a child, whoever started it and why.
//!
//! Every child runs as the leader of its own process group ([`super::Invocation`] sets it up),
//! so a terminal's Ctrl-C reaches git-gitian only and git-gitian stops its children in order.
//!
//! - **Interrupted** (Ctrl-C or SIGTERM to git-gitian, seen by [`wait`]) and **abandoned** (an
//!   error at the other end of a pipe, a dropped handle) children are [`stop`]ped: the whole
//!   group gets SIGINT, as a terminal's Ctrl-C would give it, and up to [`GRACE`] to clean up
//!   (mmdebstrap unmounts and removes its chroot, LXC's supervisor removes the container's
//!   cgroups); then SIGKILL. One policy instead of two: `guest/util.rs` used to SIGTERM only the
//!   leader (10 s, helpers left running) or SIGKILL it at once (LXC's cgroups left behind).
//! - Long-lived helpers (QEMU, virtiofsd) hold nothing to clean up: [`kill`] is SIGKILL.
//!
//! Either way the call returns only once the leader is reaped **and no other member of its
//! group is alive**: a helper that outlives its leader by a moment (virtiofsd's sandbox child,
//! the namespace of a sandbox) is waited for, not raced.

use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::ProcessError;

/// How long an interrupted group may take to clean up before SIGKILL (a ceiling: [`stop`]
/// returns as soon as the group is empty).
pub const GRACE: Duration = Duration::from_secs(60);

/// How long a SIGKILLed group may take to disappear (a ceiling, for a loaded machine).
const REAP_CEILING: Duration = Duration::from_secs(60);

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Catches SIGINT and SIGTERM from now on: instead of dying, the process sets a flag that the
/// waiting loops here and in the backends check, so guests are stopped and cleaned up.
pub fn catch_interrupts() {
    let flag = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(flag));
    }
}

/// Whether Ctrl-C or SIGTERM arrived since [`catch_interrupts`].
pub fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Waits for `child` (the leader of its own group); when git-gitian is interrupted meanwhile,
/// [`stop`]s it and fails with [`ProcessError::Interrupted`].
pub(crate) fn wait(child: &mut Child) -> Result<ExitStatus, ProcessError> {
    wait_until(child, &interrupted, GRACE)
}

/// Waits for `child` whatever happens: for clean-up commands, which must run to their end
/// after an interruption (removing what the interrupted build left is why it was caught).
pub(crate) fn wait_to_end(child: &mut Child) -> Result<ExitStatus, ProcessError> {
    wait_until(child, &|| false, GRACE)
}

/// [`wait`] with the interruption test and grace period given (for tests).
fn wait_until(
    child: &mut Child,
    stop_now: &dyn Fn() -> bool,
    grace: Duration,
) -> Result<ExitStatus, ProcessError> {
    // Fine polling at first (most guest commands take tens of milliseconds, and the trivial
    // build's latency is the sum of them), coarser for long scripts.
    let mut delay = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if stop_now() {
            stop_within(child, grace);
            return Err(ProcessError::Interrupted);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// SIGINT to the group, up to [`GRACE`] for it to empty, then [`kill`].
pub(crate) fn stop(child: &mut Child) {
    stop_within(child, GRACE);
}

fn stop_within(child: &mut Child, grace: Duration) {
    let group = child.id() as i32;
    signal_group(group, Signal::INT);
    let start = Instant::now();
    let mut leader_done = false;
    while start.elapsed() < grace {
        leader_done = leader_done || matches!(child.try_wait(), Ok(Some(_)));
        if leader_done && !group_alive(group) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(child);
}

/// SIGKILL to the group; returns once the leader is reaped and no member is alive.
pub(crate) fn kill(child: &mut Child) {
    let group = child.id() as i32;
    // Until the leader is reaped below, its id cannot name another group.
    signal_group(group, Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
    wait_group_gone(group);
}

fn signal_group(group: i32, sig: Signal) {
    if let Some(pid) = Pid::from_raw(group) {
        let _ = rustix::process::kill_process_group(pid, sig);
    }
}

/// Waits (SIGKILLing stragglers) until no live process is in `group`.
fn wait_group_gone(group: i32) {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    while group_alive(group) && start.elapsed() < REAP_CEILING {
        signal_group(group, Signal::KILL);
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Whether a process that is not a zombie has process group `group` (from /proc).
pub(crate) fn group_alive(group: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.flatten().any(|e| {
        let name = e.file_name();
        if !name.to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) {
            return false;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else { return false };
        let f: Vec<&str> = rest.split(' ').collect();
        f.len() > 2 && f[0] != "Z" && f[0] != "X" && f[2].parse::<i32>().ok() == Some(group)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Invocation;

    /// A shell whose own child would survive a kill of the shell alone, and ignores SIGINT (a
    /// non-interactive shell's background jobs do): only the SIGKILL after the grace period
    /// (shortened here) ends it, and the wait returns after it is gone.
    #[test]
    fn interrupt_stops_the_whole_group_and_returns_after_it_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script =
            format!("sleep 60 & echo $! > {0}.tmp; mv {0}.tmp {0}; wait", pidfile.display());
        let mut child = Invocation::new("sh").args(["-c", &script]).command().spawn().unwrap();
        let group = child.id() as i32;
        let ready = || pidfile.exists();
        let result = wait_until(&mut child, &ready, Duration::from_secs(1));
        assert!(matches!(result, Err(ProcessError::Interrupted)), "{result:?}");
        // No sleep here: the call returned only once the group was empty.
        assert!(!group_alive(group), "a member of the group is still alive");
        let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_string();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(stat.is_empty() || stat.contains(") Z "), "sleep survived: {stat}");
    }

    /// A helper that outlives its killed leader (as virtiofsd's sandbox child does): `kill`
    /// returns only after it is gone too.
    #[test]
    fn kill_waits_for_members_that_outlive_the_leader() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // The member ignores SIGKILL? It cannot; but it is not our child, so only the group
        // scan can tell when it is gone.
        let script = format!(
            "(trap '' INT TERM; exec sleep 60) & echo $! > {0}.tmp; mv {0}.tmp {0}; wait",
            pidfile.display()
        );
        let mut child = Invocation::new("sh").args(["-c", &script]).command().spawn().unwrap();
        let group = child.id() as i32;
        let start = Instant::now();
        while !pidfile.exists() {
            assert!(start.elapsed() < Duration::from_secs(60), "the shell never started");
            std::thread::sleep(Duration::from_millis(5));
        }
        kill(&mut child);
        assert!(!group_alive(group));
    }
}
