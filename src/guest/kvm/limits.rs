//! The limits inside a QEMU guest. Memory is the guest's RAM and the host watches its disk
//! (`guest::limits::Watch` on the scratch folder holding the overlay and the share); the
//! processes limit is the guest kernel's: every command of the build user runs in the cgroup
//! v2 `/sys/fs/cgroup/gitian` with `pids.max` set to it, and a watcher (one bash, started
//! before the command, ended with it by `REAP_ALL`) kills the cgroup at the first fork it
//! refused, so a fork bomb ends the step instead of spinning in the VM. The host learns which
//! limit a failed step hit from [`CHECK`]. Builtins wherever possible: under TCG every program
//! started costs a tenth of a second.

use std::fs;
use std::path::Path;

/// The file in the share (`/run/gitian/processes` in the guest) holding the processes limit.
pub(super) const PROCESSES_FILE: &str = "processes";

/// The build user's cgroup in the guest.
const CG: &str = "/sys/fs/cgroup/gitian";

/// Writes the limits the guest reads into the share `share`.
pub(super) fn write(share: &Path, processes: u64) -> std::io::Result<()> {
    fs::write(share.join(PROCESSES_FILE), format!("{processes}\n"))
}

/// Shell lines (root, dash) run before a command of the build user: no user namespace may be
/// made in the guest any more (`user.max_user_namespaces` 0), the cgroup made at the
/// first one (cgroup2 mounted, the `pids` controller enabled, `pids.max` from
/// [`PROCESSES_FILE`]), then the watcher started outside it. Without cgroup2 in the guest
/// kernel the command runs unlimited (the VM still bounds it).
pub(super) fn setup() -> String {
    format!(
        "if [ ! -d {CG} ]; then\n\
         mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null\n\
         echo +pids >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null\n\
         mkdir {CG} 2>/dev/null && read -r n </run/gitian/{PROCESSES_FILE} && echo $n >{CG}/pids.max\n\
         mkfifo /run/gitian-tick 2>/dev/null\n\
         fi\n\
         echo 0 >/proc/sys/user/max_user_namespaces\n\
         bash -c 'exec 9<>/run/gitian-tick; while read -r k v <{CG}/pids.events && [ \"$v\" = 0 ]; \
         do read -t 0.5 -u 9 _; done; echo 1 >{CG}/cgroup.kill' </dev/null >/dev/null 2>&1 &\n"
    )
}

/// `cmd` (a simple command of the wrapper) run in a subshell that first moves itself into
/// the build user's cgroup (`echo 0`: the writer), so that only it and what it starts count.
pub(super) fn guarded(cmd: &str) -> String {
    format!("( echo 0 >{CG}/cgroup.procs 2>/dev/null; exec {cmd} )")
}

/// Run as root after a failed step: exits 4 when the build user's cgroup refused a fork (the
/// processes limit), 3 when the guest kernel's out-of-memory killer has killed anything since
/// boot (the memory limit: the guest's RAM), else 0. Builtins only.
pub(super) const CHECK: &str = "\
read -r k v </sys/fs/cgroup/gitian/pids.events 2>/dev/null && [ \"$v\" -gt 0 ] && exit 4
while read -r k v; do [ \"$k\" = oom_kill ] && [ \"$v\" -gt 0 ] && exit 3; done </proc/vmstat
exit 0
";
