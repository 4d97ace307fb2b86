//! `make-base`: reproducible base images, and finding them again for a build.
//!
//! Layout of one base image (the contract every backend reads):
//!
//! ```text
//! <base_dir>/<distro>-<suite>-<arch>/
//!   rootfs.tar    mmdebstrap output (SOURCE_DATE_EPOCH), build user <distro> (/home/<distro>),
//!                 en_US.UTF-8 generated, fixed /etc/hostname "gitian", empty resolv.conf
//!   vmlinuz       the kernel (Debian's cloud flavour on amd64)
//!   initrd.img    its initramfs
//!   disk.qcow2    the QEMU disk: ext4 of rootfs.tar plus /sbin/gitian-init, fixed UUID,
//!                 hash seed and inode times
//!   manifest      `sha256  file.deb` of every package installed, sorted by file name
//!   inputs        what it was made from (reused when the same inputs are asked for again)
//!   SHA256SUMS    sha256sum of all the files above: the image hash
//! ```
//!
//! Everything is written to a temporary folder beside the target and renamed into place, so a
//! base image is either complete or absent.

mod disk;

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::arch::Arch;
use crate::core::manifest::{hex, sha256_hex};
use crate::guest::kvm;
use crate::process::{self, Invocation, ProcessError};

/// Base image files, in SHA256SUMS order.
pub const FILES: [&str; 6] =
    ["rootfs.tar", kvm::KERNEL, kvm::INITRD, kvm::DISK, "manifest", "inputs"];
/// The root file system tarball.
pub const ROOTFS: &str = "rootfs.tar";
/// The package manifest.
pub const MANIFEST: &str = "manifest";
/// The checksums file (the image hash is its sha256).
pub const SUMS: &str = "SHA256SUMS";
/// The description of the inputs.
pub const INPUTS: &str = "inputs";

/// SOURCE_DATE_EPOCH used when the environment gives none (2024-01-01 00:00:00 UTC): file
/// times in the image, so that two runs over the same mirror content give the same bytes.
pub const DEFAULT_EPOCH: i64 = 1_704_067_200;

/// Packages every base image has besides the kernel (Gitian's list, less what no longer
/// makes sense: subversion, pciutils, grub, openssh-server).
pub const PACKAGES: &[&str] = &[
    "build-essential",
    "git",
    "locales",
    "wget",
    "lsb-release",
    "sudo",
    "iproute2",
    "ca-certificates",
    "kmod",
];

/// What to make.
#[derive(Debug, Clone)]
pub struct MakeBaseOptions {
    /// `debian` or `ubuntu`.
    pub distro: String,
    /// Suite (code name).
    pub suite: String,
    /// `amd64` or `i386`.
    pub arch: String,
    /// Size of the QEMU disk in MiB.
    pub disksize_mib: u64,
    /// Mirror URL; `None`: mmdebstrap's default for the distribution.
    pub mirror: Option<String>,
    /// Folder of base images.
    pub base_dir: PathBuf,
    /// Rebuild even when an image with the same inputs exists.
    pub force: bool,
    /// SOURCE_DATE_EPOCH.
    pub epoch: i64,
}

/// A base image on disk.
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// Its folder.
    pub dir: PathBuf,
    /// sha256 of its SHA256SUMS.
    pub image_hash: String,
    /// True when an existing image with the same inputs was kept.
    pub reused: bool,
}

/// Why make-base failed.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    /// A tool failed.
    #[error("{0}")]
    Process(#[from] ProcessError),
    /// A file operation failed.
    #[error("{what} '{path}': {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An image exists and was made from other inputs.
    #[error("base image '{0}' exists and was made from other inputs")]
    Exists(PathBuf),
    /// Something else.
    #[error("{0}")]
    Other(String),
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BaseError {
    let path = path.to_path_buf();
    move |source| BaseError::Io { what, path, source }
}

// The default paths live in `crate::config`; re-exported for the callers that name them here.
pub use crate::config::{cache_root, default_base_dir, default_kvm_probe};

/// The base image architecture for a descriptor architecture: `linux64` means the host's
/// 64-bit architecture (amd64 on x86_64).
pub fn base_arch(arch: &str) -> &str {
    match Arch::from_descriptor(arch, std::env::consts::ARCH) {
        Some(a) => a.debian(),
        None => arch,
    }
}

/// The folder of one base image.
pub fn image_dir(base_dir: &Path, distro: &str, suite: &str, arch: &str) -> PathBuf {
    base_dir.join(format!("{distro}-{suite}-{}", base_arch(arch)))
}

/// The command that creates a missing base image, for error hints.
pub fn make_base_command(base_dir: Option<&Path>, distro: &str, suite: &str, arch: &str) -> String {
    let mut cmd = format!(
        "git gitian make-base --distro {} --suite {} --arch {}",
        process::shell_quote(distro),
        process::shell_quote(suite),
        process::shell_quote(base_arch(arch))
    );
    if let Some(dir) = base_dir {
        cmd.push_str(&format!(" --base-dir {}", process::shell_quote(&dir.to_string_lossy())));
    }
    cmd
}

/// A complete base image is there (its SHA256SUMS exists: it is written last).
pub fn is_complete(dir: &Path) -> bool {
    dir.join(SUMS).is_file()
}

/// Kernel package for a distribution and architecture.
fn kernel_package(distro: &str, arch: &str) -> &'static str {
    match (distro, Arch::parse(arch)) {
        ("ubuntu", _) => "linux-image-virtual",
        (_, Some(Arch::I386)) => "linux-image-686-pae",
        (_, Some(Arch::Arm64)) => "linux-image-cloud-arm64",
        _ => "linux-image-cloud-amd64",
    }
}

fn packages(opts: &MakeBaseOptions) -> Vec<String> {
    let mut p = vec![kernel_package(&opts.distro, &opts.arch).to_string()];
    p.extend(PACKAGES.iter().map(|s| (*s).to_string()));
    p
}

/// The `inputs` file: everything that decides the image's bytes apart from the mirror.
pub fn inputs_text(opts: &MakeBaseOptions) -> String {
    format!(
        "format 1\ndistro {}\nsuite {}\narch {}\nmirror {}\npackages {}\ndisksize {}\nsource_date_epoch {}\n\
         init {}\nmodules {}\n",
        opts.distro,
        opts.suite,
        opts.arch,
        opts.mirror.as_deref().unwrap_or("default"),
        packages(opts).join(","),
        opts.disksize_mib,
        opts.epoch,
        sha256_hex(
            [kvm::INIT_STUB, include_str!("../../guest/assets/initrd-init.c")].concat().as_bytes()
        ),
        GUEST_MODULES.join(","),
    )
}

/// The lines of an `inputs` file that the user's flags decide (not git-gitian's own parts).
fn asked_for(inputs: &str) -> Vec<&str> {
    const ASKED: [&str; 6] =
        ["distro ", "suite ", "arch ", "mirror ", "disksize ", "source_date_epoch "];
    inputs.lines().filter(|l| ASKED.iter().any(|k| l.starts_with(k))).collect()
}

/// sha256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

/// The image hash of a complete base image: sha256 of its SHA256SUMS.
pub fn image_hash(dir: &Path) -> std::io::Result<String> {
    sha256_file(&dir.join(SUMS))
}

/// Makes (or reuses) a base image.
pub fn make_base(
    opts: &MakeBaseOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BaseImage, BaseError> {
    let dir = image_dir(&opts.base_dir, &opts.distro, &opts.suite, &opts.arch);
    let inputs = inputs_text(opts);
    if is_complete(&dir) && !opts.force {
        let old = fs::read_to_string(dir.join(INPUTS)).unwrap_or_default();
        if old == inputs {
            let hash = image_hash(&dir).map_err(io("cannot read", &dir))?;
            return Ok(BaseImage { dir, image_hash: hash, reused: true });
        }
        // What was asked for is the same and only git-gitian's own part (its guest init,
        // modules, package list) changed: the image is out of date, not someone else's.
        if asked_for(&old) != asked_for(&inputs) {
            return Err(BaseError::Exists(dir));
        }
        progress(&format!(
            "Base image {} was made by another version of git-gitian: making it again",
            dir.display()
        ));
    }
    check_tools()?;
    fs::create_dir_all(&opts.base_dir).map_err(io("cannot create", &opts.base_dir))?;
    let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempdir_in(&opts.base_dir)
        .map_err(io("cannot create a folder in", &opts.base_dir))?;
    let t = tmp.path();
    let log = t.join("make-base.log");

    progress(&format!(
        "Bootstrapping {} {} {} with mmdebstrap (log in {})",
        opts.distro,
        opts.suite,
        opts.arch,
        log.display()
    ));
    let rootfs = t.join(ROOTFS);
    run_logged(&mmdebstrap(opts, t), &log, opts.epoch)?;

    progress("Extracting the kernel");
    let root = t.join("root");
    fs::create_dir_all(&root).map_err(io("cannot create", &root))?;
    run_logged(
        &Invocation::new("tar").arg("-C").arg(&root).args(["--numeric-owner", "-xpf"]).arg(&rootfs),
        &log,
        opts.epoch,
    )?;
    let version = copy_kernel(&root, t)?;
    progress("Making the initramfs");
    let initrd = make_initramfs(&root, &version, opts.epoch, &log)?;
    fs::write(t.join(kvm::INITRD), initrd).map_err(io("cannot write", t))?;

    progress(&format!("Making the QEMU disk ({} MiB)", opts.disksize_mib));
    make_disk(opts, &root, t, &log)?;
    fs::remove_dir_all(&root).map_err(io("cannot remove", &root))?;

    seal(t, &inputs, &log)?;

    if dir.exists() {
        let old = tempfile::Builder::new()
            .prefix(&format!(".{name}.old-"))
            .tempdir_in(&opts.base_dir)
            .map_err(io("cannot create a folder in", &opts.base_dir))?;
        fs::rename(&dir, old.path().join("x")).map_err(io("cannot move away", &dir))?;
    }
    let kept = tmp.keep();
    fs::rename(&kept, &dir).map_err(io("cannot rename into place", &dir))?;
    let hash = image_hash(&dir).map_err(io("cannot read", &dir))?;
    Ok(BaseImage { dir, image_hash: hash, reused: false })
}

/// The tools make-base runs, each on PATH, or which one is missing and how to install it.
fn check_tools() -> Result<(), BaseError> {
    for tool in ["mmdebstrap", "mkfs.ext4", "debugfs", "qemu-img", "tar"] {
        if process::run(&Invocation::new("sh").args(["-c", &format!("command -v {tool}")]))
            .map(|o| o.code != 0)
            .unwrap_or(true)
        {
            return Err(BaseError::Other(format!(
                "'{tool}' is not installed (apt-get install mmdebstrap e2fsprogs qemu-utils)"
            )));
        }
    }
    Ok(())
}

/// Copies the kernel that `root/vmlinuz` points to into the image folder `t`; its version.
fn copy_kernel(root: &Path, t: &Path) -> Result<String, BaseError> {
    let link =
        fs::read_link(root.join("vmlinuz")).map_err(io("no kernel link", &root.join("vmlinuz")))?;
    let kernel = root.join(link.strip_prefix("/").unwrap_or(&link));
    fs::copy(&kernel, t.join(kvm::KERNEL)).map_err(io("cannot copy", &kernel))?;
    Ok(kernel
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .ok_or_else(|| BaseError::Other(format!("unexpected kernel name '{}'", kernel.display())))?
        .to_string())
}

/// Writes the inputs and, last, SHA256SUMS of every file (what makes the image complete);
/// removes the log of a successful run.
fn seal(t: &Path, inputs: &str, log: &Path) -> Result<(), BaseError> {
    fs::write(t.join(INPUTS), inputs).map_err(io("cannot write", t))?;
    let mut sums = String::new();
    for f in FILES {
        let h = sha256_file(&t.join(f)).map_err(io("cannot read", &t.join(f)))?;
        sums.push_str(&format!("{h}  {f}\n"));
    }
    fs::remove_file(log).map_err(io("cannot remove", log))?;
    fs::write(t.join(SUMS), &sums).map_err(io("cannot write", t))?;
    Ok(())
}

fn run_logged(inv: &Invocation, log: &Path, epoch: i64) -> Result<(), BaseError> {
    let inv = inv
        .clone()
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .env("E2FSPROGS_FAKE_TIME", epoch.to_string())
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC");
    process::run_logged(&inv, log)?;
    Ok(())
}

/// The mmdebstrap command line.
pub fn mmdebstrap(opts: &MakeBaseOptions, out: &Path) -> Invocation {
    let user = &opts.distro;
    let manifest = out.join(MANIFEST);
    let q = |p: &Path| process::shell_quote(&p.to_string_lossy());
    let mut inv = Invocation::new("mmdebstrap")
        .args(["--mode=root", "--variant=minbase", "--format=tar"])
        .arg(format!("--architectures={}", opts.arch))
        .arg(format!("--include={}", packages(opts).join(",")))
        // Keep the essential packages' .debs so that the manifest covers them too.
        .arg("--skip=essential/unlink")
        // Keep the package lists: a build's `apt-get update` is then a quick check instead
        // of a minute of downloading and decompressing them under TCG.
        .arg("--skip=cleanup/apt/lists")
        .arg("--aptopt=Acquire::Languages \"none\"");
    if opts.distro == "ubuntu" {
        inv = inv.arg("--components=main,universe");
    }
    inv.arg(format!(
        "--customize-hook=cd \"$1/var/cache/apt/archives\" && sha256sum *.deb | LC_ALL=C sort -k2 > {}",
        q(&manifest)
    ))
    .arg("--customize-hook=echo gitian > \"$1/etc/hostname\"")
    .arg("--customize-hook=printf '127.0.0.1\\tlocalhost\\n127.0.1.1\\tgitian\\n' > \"$1/etc/hosts\"")
    .arg("--customize-hook=: > \"$1/etc/resolv.conf\"")
    .arg("--customize-hook=echo 'en_US.UTF-8 UTF-8' > \"$1/etc/locale.gen\" && chroot \"$1\" locale-gen")
    .arg(format!(
        "--customize-hook=chroot \"$1\" useradd -m -s /bin/bash -U {}",
        process::shell_quote(user)
    ))
    .arg(&opts.suite)
    .arg(out.join(ROOTFS))
    .args(opts.mirror.iter())
}

pub use disk::module_order;
use disk::{GUEST_MODULES, make_disk, make_initramfs};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux64_is_the_host_arch() {
        assert_eq!(base_arch("linux64"), "amd64");
        assert_eq!(base_arch("i386"), "i386");
        let d = image_dir(Path::new("/c"), "debian", "bookworm", "linux64");
        assert_eq!(d, Path::new("/c/debian-bookworm-amd64"));
    }

    #[test]
    fn only_the_users_part_of_the_inputs_decides_whose_image_it_is() {
        let a = "format 1\ndistro debian\nsuite bookworm\narch amd64\nmirror default\npackages a,b\n\
                 disksize 12287\nsource_date_epoch 1\ninit 00\n";
        let newer = a.replace("init 00\n", "init 11\nmodules x,y\n").replace("a,b", "a,b,c");
        assert_eq!(asked_for(a), asked_for(&newer));
        assert_eq!(asked_for(a).len(), 6);
        for other in ["mirror http://m", "arch i386", "disksize 4096", "source_date_epoch 2"] {
            let key = other.split(' ').next().unwrap();
            let line = a.lines().find(|l| l.starts_with(key)).unwrap();
            assert_ne!(asked_for(a), asked_for(&a.replace(line, other)), "{other}");
        }
    }

    #[test]
    fn missing_base_command() {
        assert_eq!(
            make_base_command(Some(Path::new("/x y")), "debian", "bookworm", "amd64"),
            "git gitian make-base --distro debian --suite bookworm --arch amd64 --base-dir '/x y'"
        );
    }
}
