//! The QEMU side of a base image: the ext4 disk (as qcow2) with the guest's init stub, and the
//! initramfs with the virtio modules in load order, both byte-for-byte reproducible.

use std::fs;
use std::path::Path;

use super::{BaseError, MakeBaseOptions, io, run_logged};
use crate::guest::kvm;
use crate::process::Invocation;

/// ext4 of `root` (plus the init stub) as qcow2, with every time stamp, the UUID and the
/// directory hash seed fixed so that the same tree gives the same bytes.
pub(super) fn make_disk(
    opts: &MakeBaseOptions,
    root: &Path,
    t: &Path,
    log: &Path,
) -> Result<(), BaseError> {
    let stub = root.join(kvm::INIT_PATH);
    if let Some(parent) = stub.parent() {
        fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
    }
    fs::write(&stub, kvm::INIT_STUB).map_err(io("cannot write", &stub))?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755))
            .map_err(io("cannot chmod", &stub))?;
    }
    // What we wrote into the tree (the stub; the initramfs's init was compiled in /tmp) would
    // carry today's time: give it, and the folders it changed, the image's time.
    for p in [stub.as_path(), parent_of(&stub), &root.join("tmp")] {
        set_mtime(p, opts.epoch).map_err(io("cannot set the time of", p))?;
    }
    let raw = t.join("disk.raw");
    let f = fs::File::create(&raw).map_err(io("cannot create", &raw))?;
    f.set_len(opts.disksize_mib * 1024 * 1024).map_err(io("cannot size", &raw))?;
    drop(f);
    run_logged(
        &Invocation::new("mkfs.ext4")
            .args(["-q", "-F", "-L", "gitian-root"])
            .args(["-U", "8c5e2a6e-6a1d-4c1e-9a3b-67697469616e"])
            .args(["-E", "hash_seed=2f1d8e4a-3c5b-4e7f-8a9b-67697469616e,root_owner=0:0"])
            .arg("-d")
            .arg(root)
            .arg(&raw),
        log,
        opts.epoch,
    )?;
    // mke2fs copies each file's atime and ctime (the time of extraction): set them all.
    let mut paths = Vec::new();
    collect_paths(root, root, &mut paths).map_err(io("cannot read", root))?;
    paths.sort();
    let mut cmds = String::new();
    for p in std::iter::once("/".to_string()).chain(paths) {
        if p.contains('"') || p.contains('\n') {
            return Err(BaseError::Other(format!("unsupported file name in the image: {p:?}")));
        }
        for field in ["atime", "ctime", "crtime", "mtime"] {
            if field == "mtime" && p != "/" {
                continue;
            }
            cmds.push_str(&format!("sif \"{p}\" {field} @{}\n", opts.epoch));
        }
    }
    let cmd_file = t.join("debugfs.cmds");
    fs::write(&cmd_file, cmds).map_err(io("cannot write", &cmd_file))?;
    run_logged(
        &Invocation::new("debugfs").arg("-w").arg("-f").arg(&cmd_file).arg(&raw),
        log,
        opts.epoch,
    )?;
    fs::remove_file(&cmd_file).map_err(io("cannot remove", &cmd_file))?;
    run_logged(
        &Invocation::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "qcow2"])
            .arg(&raw)
            .arg(t.join(kvm::DISK)),
        log,
        opts.epoch,
    )?;
    fs::remove_file(&raw).map_err(io("cannot remove", &raw))?;
    Ok(())
}

/// Modules the guest loads from its initramfs: disk, shared folder, control port, network, and
/// the root file system with the checksum its metadata needs (ext4 asks the crypto API for
/// crc32c by name, which no modules.dep line says). Those built into the kernel (amd64's cloud
/// kernel has ext4 and crc32c built in, i386's 686-pae has them as modules) are skipped.
pub(super) const GUEST_MODULES: [&str; 7] = [
    "virtio_pci",
    "virtio_blk",
    "virtiofs",
    "virtio_console",
    "virtio_net",
    "crc32c_generic",
    "ext4",
];

/// The guest's initramfs (uncompressed newc cpio): a static `/init` compiled from
/// `assets/initrd-init.c` with the image's own gcc, and the virtio modules in load order.
pub(super) fn make_initramfs(
    root: &Path,
    version: &str,
    epoch: i64,
    log: &Path,
) -> Result<Vec<u8>, BaseError> {
    let moddir = root.join("lib/modules").join(version);
    let dep_text = fs::read_to_string(moddir.join("modules.dep"))
        .map_err(io("cannot read", &moddir.join("modules.dep")))?;
    let builtin = fs::read_to_string(moddir.join("modules.builtin")).unwrap_or_default();
    let order = module_order(&dep_text, &builtin, &GUEST_MODULES).map_err(BaseError::Other)?;
    let src = root.join("tmp/gitian-initrd-init.c");
    fs::write(&src, include_str!("../../guest/assets/initrd-init.c"))
        .map_err(io("cannot write", &src))?;
    let inv = Invocation::new("chroot").arg(root).args([
        "gcc",
        "-static",
        "-Os",
        "-s",
        "-o",
        "/tmp/gitian-initrd-init",
        "/tmp/gitian-initrd-init.c",
    ]);
    run_logged(&inv, log, epoch)?;
    let init_bin = root.join("tmp/gitian-initrd-init");
    let init = fs::read(&init_bin).map_err(io("cannot read", &init_bin))?;
    let _ = fs::remove_file(&src);
    let _ = fs::remove_file(&init_bin);
    let mut cpio = Cpio::new(epoch);
    for dir in ["dev", "modules", "proc", "root", "sys"] {
        cpio.entry(dir, 0o040_755, 0, &[]);
    }
    cpio.entry("dev/console", 0o020_600, (5 << 8) | 1, &[]);
    cpio.entry("init", 0o100_755, 0, &init);
    for (i, rel) in order.iter().enumerate() {
        let data = fs::read(moddir.join(rel)).map_err(io("cannot read", &moddir.join(rel)))?;
        let name = rel.rsplit('/').next().unwrap_or(rel);
        cpio.entry(&format!("modules/{i:02}-{name}"), 0o100_644, 0, &data);
    }
    Ok(cpio.finish())
}

/// Load order for `wanted` modules and their dependencies, from `modules.dep` text:
/// dependencies first, each module once.
pub fn module_order(
    dep_text: &str,
    builtin_text: &str,
    wanted: &[&str],
) -> Result<Vec<String>, String> {
    let deps: std::collections::BTreeMap<&str, Vec<&str>> = dep_text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(m, d)| (m.trim(), d.split_whitespace().collect()))
        .collect();
    fn visit<'a>(
        m: &'a str,
        deps: &std::collections::BTreeMap<&'a str, Vec<&'a str>>,
        out: &mut Vec<String>,
    ) {
        if out.iter().any(|o| o == m) {
            return;
        }
        for d in deps.get(m).map(Vec::as_slice).unwrap_or_default() {
            visit(d, deps, out);
        }
        out.push(m.to_string());
    }
    let mut out = Vec::new();
    for w in wanted {
        let file = format!("/{w}.ko");
        let named = |k: &str| format!("/{k}").ends_with(&file);
        match deps.keys().find(|k| named(k)) {
            Some(m) => visit(m, &deps, &mut out),
            None if builtin_text.lines().any(|l| named(l.trim())) => {}
            None => {
                return Err(format!("kernel module {w} is neither in modules.dep nor built in"));
            }
        }
    }
    Ok(out)
}

/// A newc cpio archive with fixed owners and times.
pub(super) struct Cpio {
    out: Vec<u8>,
    ino: u32,
    mtime: i64,
}

impl Cpio {
    fn new(mtime: i64) -> Self {
        Self { out: Vec::new(), ino: 0, mtime }
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: u32, data: &[u8]) {
        self.ino += 1;
        let nlink = if mode & 0o040_000 != 0 { 2 } else { 1 };
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0,
            0,
            nlink,
            self.mtime,
            data.len(),
            0,
            0,
            rdev >> 8,
            rdev & 0xff,
            name.len() + 1,
            0
        );
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.ino = 0;
        let mtime = self.mtime;
        self.mtime = 0;
        self.entry("TRAILER!!!", 0, 0, &[]);
        self.mtime = mtime;
        self.out
    }
}

fn parent_of(p: &Path) -> &Path {
    p.parent().unwrap_or(p)
}

/// Sets the modification time of a file or folder (not following a final symlink's target is
/// not needed here: the paths are real files and folders).
fn set_mtime(path: &Path, epoch: i64) -> std::io::Result<()> {
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch.max(0).unsigned_abs());
    fs::File::open(path)?.set_modified(when)
}

fn collect_paths(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap_or(&path);
        out.push(format!("/{}", rel.to_string_lossy()));
        if entry.file_type()?.is_dir() {
            collect_paths(root, &path, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_come_after_their_dependencies() {
        let dep = "kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko kernel/fs/fuse/fuse.ko\n\
                   kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n\
                   kernel/drivers/virtio/virtio.ko:\nkernel/fs/fuse/fuse.ko:\n";
        let order = module_order(dep, "", &["virtiofs", "virtio"]).unwrap();
        assert_eq!(
            order,
            [
                "kernel/drivers/virtio/virtio.ko",
                "kernel/drivers/virtio/virtio_ring.ko",
                "kernel/fs/fuse/fuse.ko",
                "kernel/fs/fuse/virtiofs.ko"
            ]
        );
        assert!(module_order(dep, "", &["nope"]).is_err());
        // Built into the kernel: nothing to load, not an error.
        let builtin = "kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c_generic.ko\n";
        assert_eq!(module_order(dep, builtin, &["ext4", "virtio"]).unwrap(), order[..1]);
        assert!(module_order(dep, builtin, &["ext3"]).is_err());
    }

    #[test]
    fn cpio_is_newc() {
        let mut c = Cpio::new(1);
        c.entry("init", 0o100_755, 0, b"ab");
        let out = c.finish();
        assert!(out.starts_with(b"07070100000001000081ed"));
        assert!(out.len().is_multiple_of(4));
        assert!(out.windows(10).any(|w| w == b"TRAILER!!!"));
    }
}
