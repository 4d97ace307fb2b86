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
