//! The rootless sandbox's guest, which has no cgroup: what its pid namespace holds, counted
//! from /proc (the caller owns the guest's user namespace, so it may read every process of
//! it, whatever id it runs as).

use std::fs;
use std::path::Path;

/// What a guest's pid namespace holds at one look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Usage {
    /// Tasks (threads included, as RLIMIT_NPROC counts them).
    pub tasks: u64,
    /// Memory in bytes: the processes' private anonymous memory (`RssAnon`; threads share
    /// their process's) and what the guest's `/dev/shm` (a tmpfs, in memory) holds.
    pub memory: u64,
}

/// The [`Usage`] of the pid namespace whose init is `parent`'s first child (the sandbox's
/// `unshare --fork`); `None` when it has none (yet, or any more).
pub(super) fn usage(parent: u32) -> Option<Usage> {
    let children = fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    let init = children.split_whitespace().next()?;
    let ns = fs::read_link(format!("/proc/{init}/ns/pid")).ok()?;
    let mut u = Usage { tasks: 0, memory: shm_bytes(init) };
    for e in fs::read_dir("/proc").ok()?.flatten() {
        let p = e.path();
        if e.file_name().to_str().is_none_or(|n| !n.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        if fs::read_link(p.join("ns/pid")).is_ok_and(|l| l == ns) {
            let status = fs::read_to_string(p.join("status")).unwrap_or_default();
            u.tasks += field(&status, "Threads:").unwrap_or(1);
            u.memory += field(&status, "RssAnon:").unwrap_or(0) * 1024;
        }
    }
    Some(u)
}

/// The number after `key` on its line of a /proc status text (`RssAnon:  1234 kB`: 1234).
fn field(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| l.strip_prefix(key)?.split_whitespace().next()?.parse().ok())
}

/// The bytes used on the `/dev/shm` of the guest whose init is `init` (0 when it cannot be
/// seen, or is still the host's: before the guest's root is in place).
fn shm_bytes(init: &str) -> u64 {
    let shm = Path::new("/proc").join(init).join("root/dev/shm");
    let dev = |p: &Path| rustix::fs::stat(p).ok().map(|s| s.st_dev);
    if dev(&shm).is_none() || dev(&shm) == dev(Path::new("/dev/shm")) {
        return 0;
    }
    let Ok(s) = rustix::fs::statvfs(&shm) else { return 0 };
    s.f_blocks.saturating_sub(s.f_bfree) * s.f_frsize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_a_status_text() {
        let s = "Name:\tbash\nRssAnon:\t    1234 kB\nThreads:\t3\n";
        assert_eq!(field(s, "RssAnon:"), Some(1234));
        assert_eq!(field(s, "Threads:"), Some(3));
        assert_eq!(field(s, "VmRSS:"), None);
    }
}
