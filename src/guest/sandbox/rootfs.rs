//! The guest's file systems: the base root file system unpacked once per base and mapping,
//! whether overlayfs works in a user namespace here, the guest's /dev skeleton and the mounts
//! of each command.

use std::fs;
use std::path::{Path, PathBuf};

use super::NAME;
use super::mapping::Mapping;
use super::namespace::{make_fifo, remove_as_root, run_plain};
use crate::guest::util::{self, err};
use crate::guest::{GuestError, Network};
use crate::process::{self, Invocation};

/// The base root file system unpacked for `mapping` under the user's cache, unpacking it on
/// first use (into a temporary folder renamed into place, so a concurrent or interrupted
/// unpack never leaves a half tree behind).
pub(crate) fn unpacked_base(mapping: &Mapping, base: &Path) -> Result<PathBuf, GuestError> {
    let (tar, key) = util::rootfs_of(NAME, base)?;
    let short: String = key.chars().take(16).collect();
    let cache = util::cache_dir().join("rootfs");
    let dest = cache.join(format!("{short}-{}", mapping.key()));
    if dest.join("etc/passwd").exists() {
        return Ok(dest);
    }
    fs::create_dir_all(&cache)
        .map_err(|e| err(NAME, format!("cannot create {}: {e}", cache.display())))?;
    let tmp = cache.join(format!(".unpack-{}", util::unique_name("tmp")));
    let tree = tmp.join("tree");
    fs::create_dir_all(&tree)
        .map_err(|e| err(NAME, format!("cannot create {}: {e}", tree.display())))?;
    let mut tar_argv: Vec<String> = vec!["tar".into(), "-C".into(), tree.display().to_string()];
    tar_argv.extend(["--numeric-owner".into(), "--exclude=./dev/*".into(), "-xpf".into()]);
    tar_argv.push(tar.display().to_string());
    let result = match mapping {
        Mapping::Identity => process::run_ok(&Invocation::new("tar").args(&tar_argv[1..]))
            .map(|_| ())
            .map_err(GuestError::process(NAME)),
        _ => {
            if matches!(mapping, Mapping::Single { .. }) {
                tar_argv.insert(1, "--no-same-owner".into());
            }
            make_fifo(&tmp)?;
            run_plain(mapping, &tmp, &tar_argv, &format!("unpacking {}", tar.display()))
        }
    };
    let result = result.and_then(|()| match fs::rename(&tree, &dest) {
        Ok(()) => Ok(()),
        // Someone else unpacked it meanwhile: use theirs.
        Err(_) if dest.join("etc/passwd").exists() => Ok(()),
        Err(e) => {
            Err(err(NAME, format!("cannot move the unpacked base to {}: {e}", dest.display())))
        }
    });
    let _ = remove_as_root(mapping, &tmp);
    result.map(|()| dest)
}

/// The host devices a guest gets (bound over empty files of its /dev skeleton).
pub(super) const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The guest's /dev, kept in its folder: mount points for the devices, pts and shm, and the
/// usual symlinks.
pub(super) fn make_dev_skeleton(dev: &Path) -> Result<(), GuestError> {
    let e = |p: &Path, e: std::io::Error| err(NAME, format!("cannot create {}: {e}", p.display()));
    for d in ["pts", "shm"] {
        fs::create_dir_all(dev.join(d)).map_err(|x| e(&dev.join(d), x))?;
    }
    for n in DEVICES {
        fs::write(dev.join(n), "").map_err(|x| e(&dev.join(n), x))?;
    }
    let links = [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, target) in links {
        std::os::unix::fs::symlink(target, dev.join(name)).map_err(|x| e(&dev.join(name), x))?;
    }
    Ok(())
}

/// An fstab field: spaces, tabs, newlines and backslashes in octal, as fstab(5) wants.
pub(super) fn fstab_field(p: &Path) -> String {
    let mut s = String::new();
    for c in p.display().to_string().chars() {
        match c {
            ' ' => s.push_str("\\040"),
            '\t' => s.push_str("\\011"),
            '\n' => s.push_str("\\012"),
            '\\' => s.push_str("\\134"),
            c => s.push(c),
        }
    }
    s
}

/// The mounts of one guest command, in order, for `mount -a -T`: the overlay root, /dev, the
/// devices, /dev/pts, /dev/shm, /proc, and a read-only /sys when the command has its own
/// network namespace (sysfs cannot be mounted from a user namespace that does not own the
/// network namespace; only package installation shares the host's).
///
/// With `copy`, the root is that private copy of the base (bound) instead of an overlay: for
/// kernels that refuse overlayfs inside a user namespace.
pub fn fstab_text(
    lower: &Path,
    dir: &Path,
    network: Network,
    copy: Option<&Path>,
    shm_mib: u64,
) -> String {
    let root = dir.join("root");
    let f = |p: &Path| fstab_field(p);
    let mut t = match copy {
        None => format!(
            "overlay {} overlay userxattr,lowerdir={},upperdir={},workdir={} 0 0\n",
            f(&root),
            f(lower),
            f(&dir.join("upper")),
            f(&dir.join("work"))
        ),
        Some(c) => format!("{} {} none bind 0 0\n", f(c), f(&root)),
    };
    t.push_str(&format!("{} {} none bind 0 0\n", f(&dir.join("dev")), f(&root.join("dev"))));
    for n in DEVICES {
        let host = Path::new("/dev").join(n);
        t.push_str(&format!("{} {} none bind 0 0\n", f(&host), f(&root.join("dev").join(n))));
    }
    t.push_str(&format!(
        "devpts {} devpts newinstance,ptmxmode=0666,mode=620 0 0\n",
        f(&root.join("dev/pts"))
    ));
    t.push_str(&format!(
        "tmpfs {} tmpfs nosuid,nodev,size={shm_mib}m 0 0\n",
        f(&root.join("dev/shm"))
    ));
    t.push_str(&format!("proc {} proc nosuid,nodev,noexec 0 0\n", f(&root.join("proc"))));
    if network == Network::Offline {
        t.push_str(&format!("sysfs {} sysfs ro,nosuid,nodev,noexec 0 0\n", f(&root.join("sys"))));
    }
    t
}

/// Whether this kernel mounts overlayfs inside a user namespace with `mapping`; probed once per
/// kernel and mapping, remembered in the cache.
pub(super) fn overlay_works(mapping: &Mapping) -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cache = util::cache_dir();
    let marker = cache.join(format!("overlay-in-userns-{}-{}", release.trim(), mapping.key()));
    if let Ok(v) = fs::read_to_string(&marker) {
        return v.trim() == "yes";
    }
    let probe = cache.join(format!(".overlay-probe-{}", util::unique_name("p")));
    let ok = (|| -> Result<(), GuestError> {
        for d in ["lower", "upper", "work", "mnt"] {
            fs::create_dir_all(probe.join(d)).map_err(|e| err(NAME, e.to_string()))?;
        }
        make_fifo(&probe)?;
        let p = |d: &str| probe.join(d).display().to_string();
        let opts = format!(
            "userxattr,lowerdir={},upperdir={},workdir={}",
            p("lower"),
            p("upper"),
            p("work")
        );
        let argv: Vec<String> = ["mount", "-t", "overlay", "overlay", "-o", &opts, &p("mnt")]
            .map(String::from)
            .to_vec();
        run_plain(mapping, &probe, &argv, "overlay probe")
    })()
    .is_ok();
    let _ = remove_as_root(mapping, &probe);
    let _ = fs::create_dir_all(&cache);
    let _ = fs::write(&marker, if ok { "yes\n" } else { "no\n" });
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_mounts_in_order_with_escaped_paths() {
        let t = fstab_text(
            Path::new("/c/base"),
            Path::new("/s/my guest/sandbox"),
            Network::Online,
            None,
            1024,
        );
        assert!(t.contains(
            "tmpfs /s/my\\040guest/sandbox/root/dev/shm tmpfs nosuid,nodev,size=1024m 0 0\n"
        ));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "overlay /s/my\\040guest/sandbox/root overlay userxattr,lowerdir=/c/base,\
             upperdir=/s/my\\040guest/sandbox/upper,workdir=/s/my\\040guest/sandbox/work 0 0"
        );
        assert_eq!(
            lines[1],
            "/s/my\\040guest/sandbox/dev /s/my\\040guest/sandbox/root/dev none bind 0 0"
        );
        assert_eq!(lines[2], "/dev/null /s/my\\040guest/sandbox/root/dev/null none bind 0 0");
        assert_eq!(
            lines.last().unwrap(),
            &"proc /s/my\\040guest/sandbox/root/proc proc nosuid,nodev,noexec 0 0"
        );
        assert_eq!(lines.len(), 11);
        let t = fstab_text(Path::new("/c/base"), Path::new("/s/g"), Network::Offline, None, 64);
        assert_eq!(
            t.lines().last().unwrap(),
            "sysfs /s/g/root/sys sysfs ro,nosuid,nodev,noexec 0 0"
        );
    }
}
