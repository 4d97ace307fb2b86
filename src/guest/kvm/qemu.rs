//! The QEMU command line of a guest and its boot: virtiofsd for the share, QEMU with the
//! agent's control port and QMP, then the agent's READY.

use std::fs;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::agent::LineError;
use super::qmp::Qmp;
use super::vm::{Net, Vm};
use super::{AGENT, DISK, INIT_PATH, INITRD, KERNEL, PORT_NAME, err, io_err};
use crate::core::arch::Arch;
use crate::guest::{GuestError, GuestSpec};
use crate::process::{self, Child, Invocation};

/// How long QEMU or virtiofsd may take to create a socket (a ceiling for a loaded machine:
/// each wait ends as soon as the socket is there or the process is gone).
const SOCKET_CEILING: Duration = Duration::from_secs(60);

/// Why a boot did not give a ready guest.
pub(super) enum BootError {
    /// No READY within the time allowed.
    Timeout(String),
    /// Anything else.
    Failed(GuestError),
}

impl From<GuestError> for BootError {
    fn from(e: GuestError) -> Self {
        Self::Failed(e)
    }
}

/// The virtiofsd command line that serves the guest's share on `sockets/vfs.sock`.
pub fn virtiofsd_invocation(sockets: &Path, share: &Path) -> Invocation {
    Invocation::new("/usr/lib/qemu/virtiofsd")
        .arg(format!("--socket-path={}", sockets.join("vfs.sock").display()))
        .arg("-o")
        .arg(format!("source={}", share.display()))
        .args(["-o", "cache=none"])
}

/// The QEMU command line for one guest.
/// The most RAM a 32-bit guest is given: Debian's 686-pae kernel under qemu-system-i386
/// never came up with 4096 MiB here (no console output within the boot timeout), and did with
/// 2048 MiB (the i386 build test).
pub const I386_MAX_RAM_MIB: u32 = 2048;

/// The guest's RAM: its memory limit, capped at [`I386_MAX_RAM_MIB`] for a 32-bit guest.
pub fn guest_ram_mib(spec: &GuestSpec) -> u32 {
    match Arch::parse(&spec.arch) {
        Some(Arch::I386) => spec.memory_mib.min(I386_MAX_RAM_MIB),
        _ => spec.memory_mib,
    }
}

pub fn qemu_invocation(
    spec: &GuestSpec,
    accel: &str,
    disk: &Path,
    scratch: &Path,
    sockets: &Path,
    console: &Path,
) -> Invocation {
    // QEMU boots x86 guests (the kernel and initramfs of an x86 base image).
    let binary = match Arch::parse(&spec.arch) {
        Some(Arch::I386) => Arch::I386.qemu_system(),
        _ => Arch::Amd64.qemu_system(),
    };
    let mem = guest_ram_mib(spec);
    let mut inv = Invocation::new(binary)
        .args(["-name", &format!("gitian-{}-{}", spec.suite, spec.arch)])
        .args(["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"]);
    inv = if accel == "kvm" {
        inv.args(["-accel", "kvm", "-cpu", "host"])
    } else {
        // The plain 64-bit model: with `max`, glibc picks AVX2 string functions that TCG
        // emulates slowly (a gcc -O2 of zlib took 10-15% longer).
        inv.args(["-accel", "tcg", "-cpu", "qemu64"])
    };
    inv = inv
        .args(["-m", &format!("{mem}M"), "-smp", &spec.cpus.max(1).to_string()])
        .args([
            "-object",
            &format!("memory-backend-memfd,id=mem,size={mem}M,share=on"),
            "-numa",
            "node,memdev=mem",
        ])
        .arg("-kernel")
        .arg(spec.base.join(KERNEL))
        .arg("-initrd")
        .arg(spec.base.join(INITRD))
        .args([
            "-append",
            &format!(
                "console=ttyS0 root=/dev/vda rw init=/{INIT_PATH} panic=-1 quiet net.ifnames=0"
            ),
        ])
        // QEMU's own throwaway overlay (snapshot=on) over the base disk, in the guest's
        // scratch folder (TMPDIR), which `stop` removes: no qemu-img run per guest.
        .env("TMPDIR", scratch)
        .arg("-drive")
        .arg(format!("file={},format=qcow2,if=virtio,snapshot=on,cache=unsafe", disk.display()))
        .arg("-chardev")
        .arg(format!("socket,id=vfs,path={}", sockets.join("vfs.sock").display()))
        .args(["-device", "vhost-user-fs-pci,chardev=vfs,tag=gitian"])
        .args(["-device", "virtio-serial-pci"])
        .arg("-chardev")
        .arg(format!(
            "socket,id=ctl,path={},server=on,wait=off",
            sockets.join("ctl.sock").display()
        ))
        .args(["-device", &format!("virtserialport,chardev=ctl,name={PORT_NAME}")])
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", sockets.join("qmp.sock").display()))
        .arg("-serial")
        .arg(format!("file:{}", console.display()));
    // Each PCI device costs about a tenth of a second of TCG boot: no NIC when no command
    // will need the network.
    if spec.network {
        inv =
            inv.args(["-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0,id=nic0"]);
    }
    inv
}

pub(super) fn wait_for_socket(
    path: &Path,
    child: &mut Child,
    log: &Path,
) -> Result<UnixStream, GuestError> {
    let start = Instant::now();
    loop {
        if let Ok(s) = UnixStream::connect(path) {
            return Ok(s);
        }
        if let Some(code) = child.try_wait() {
            return Err(err(format!(
                "{} exited with status {code}:\n{}",
                child.name(),
                process::tail_of_file(log, 10)
            )));
        }
        // A ceiling, not a wait: QEMU creates its sockets at once, and its death ends the wait.
        if start.elapsed() > SOCKET_CEILING {
            let secs = SOCKET_CEILING.as_secs();
            return Err(err(format!("no socket '{}' after {secs} s", path.display())));
        }
        if process::interrupted() {
            return Err(err("interrupted"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A QMP connection that broke as QEMU died (e.g. a KVM that aborts on the CPU's registers
/// as the machine starts) is reported as QEMU's exit and the end of its log, which say why;
/// `e` otherwise.
fn exited_or(e: GuestError, child: &mut Child, log: &Path) -> GuestError {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if let Some(code) = child.try_wait() {
            return err(format!(
                "{} exited with status {code}:\n{}",
                child.name(),
                process::tail_of_file(log, 10)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    e
}

/// Starts virtiofsd and QEMU over a fresh overlay and waits for the agent's READY; on failure
/// nothing is left (processes are killed when their handles drop, the scratch is removed).
pub(super) fn boot(
    spec: &GuestSpec,
    accel: &'static str,
    timeout: Duration,
) -> Result<Vm, BootError> {
    let result = boot_inner(spec, accel, timeout);
    if result.is_err() {
        let _ = fs::remove_dir_all(&spec.scratch);
    }
    result
}

/// Starts virtiofsd serving `share` and waits for its socket in `sockets`.
fn start_virtiofsd(sockets: &Path, share: &Path, log: &Path) -> Result<Child, GuestError> {
    let mut virtiofsd = process::spawn(&virtiofsd_invocation(sockets, share), log)?;
    let start = Instant::now();
    while !sockets.join("vfs.sock").exists() {
        if let Some(code) = virtiofsd.try_wait() {
            return Err(err(format!(
                "virtiofsd exited with status {code}:\n{}",
                process::tail_of_file(log, 10)
            )));
        }
        if start.elapsed() > SOCKET_CEILING {
            let secs = SOCKET_CEILING.as_secs();
            return Err(err(format!("virtiofsd did not create its socket within {secs} s")));
        }
        if process::interrupted() {
            return Err(err("interrupted"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(virtiofsd)
}

pub(super) fn boot_inner(
    spec: &GuestSpec,
    accel: &'static str,
    timeout: Duration,
) -> Result<Vm, BootError> {
    let scratch = spec.scratch.clone();
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| io_err("cannot create", &scratch, &e))?;
    let share = scratch.join("share");
    fs::create_dir_all(share.join("cmd")).map_err(|e| io_err("cannot create", &share, &e))?;
    fs::create_dir_all(share.join("xfer")).map_err(|e| io_err("cannot create", &share, &e))?;
    fs::write(share.join("agent.sh"), AGENT).map_err(|e| io_err("cannot write", &share, &e))?;
    super::limits::write(&share, spec.limits.processes)
        .map_err(|e| io_err("cannot write", &share, &e))?;
    let base_disk = fs::canonicalize(spec.base.join(DISK))
        .map_err(|e| io_err("cannot read", &spec.base.join(DISK), &e))?;
    // Unix socket paths are limited to 107 bytes: keep them in a short temporary folder.
    let sockets = crate::guest::util::own_temp_dir(Path::new("/tmp"), "gitian-kvm")
        .map_err(|e| err(format!("cannot create a socket folder in /tmp: {e}")))?;
    let virtiofsd = start_virtiofsd(sockets.path(), &share, &scratch.join("virtiofsd.log"))?;
    let qemu_log = scratch.join("qemu.log");
    let console = scratch.join("console.log");
    let inv = qemu_invocation(spec, accel, &base_disk, &scratch, sockets.path(), &console);
    fs::write(scratch.join("qemu.cmdline"), inv.display() + "\n")
        .map_err(|e| io_err("cannot write", &scratch, &e))?;
    let mut qemu = process::spawn(&inv, &qemu_log).map_err(GuestError::from)?;
    let ctl = wait_for_socket(&sockets.path().join("ctl.sock"), &mut qemu, &qemu_log)?;
    let qmp = wait_for_socket(&sockets.path().join("qmp.sock"), &mut qemu, &qemu_log)
        .and_then(Qmp::handshake)
        .map_err(|e| exited_or(e, &mut qemu, &qemu_log))?;
    let mut vm = Vm {
        qemu,
        virtiofsd,
        ctl: BufReader::new(ctl),
        qmp: Some(qmp),
        _sockets: sockets,
        scratch,
        share,
        qemu_log,
        console,
        user: spec.distro.clone(),
        arch: spec.arch.clone(),
        next: 0,
        net: if spec.network { Net::Unused } else { Net::Absent },
        notes: Vec::new(),
    };
    match vm.read_line(Some(Instant::now() + timeout)) {
        Ok(line) if line == "READY" => Ok(vm),
        Ok(line) => {
            vm.stop();
            Err(err(format!("unexpected line from the guest agent: {line:?}")).into())
        }
        Err(LineError::Timeout) => {
            let detail = vm.console_tail();
            vm.stop();
            Err(BootError::Timeout(if detail.is_empty() {
                "no output on its console".into()
            } else {
                format!("console ends with:\n{detail}")
            }))
        }
        Err(LineError::Other(e)) => {
            vm.stop();
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn spec() -> GuestSpec {
        GuestSpec {
            distro: "debian".into(),
            suite: "bookworm".into(),
            arch: "amd64".into(),
            base: PathBuf::from("/b/debian-bookworm-amd64"),
            scratch: PathBuf::from("/w/var/guest"),
            memory_mib: 2000,
            limits: Default::default(),
            cpus: 2,
            network: true,
        }
    }

    #[test]
    fn a_32_bit_guest_gets_at_most_2048_mib_of_ram() {
        let big = GuestSpec { memory_mib: 4096, ..spec() };
        assert_eq!(guest_ram_mib(&GuestSpec { arch: "amd64".into(), ..big.clone() }), 4096);
        assert_eq!(guest_ram_mib(&GuestSpec { arch: "i386".into(), ..big.clone() }), 2048);
        assert_eq!(
            guest_ram_mib(&GuestSpec { arch: "i386".into(), memory_mib: 1024, ..big }),
            1024
        );
        let i386 = GuestSpec { arch: "i386".into(), memory_mib: 4096, ..spec() };
        let line = qemu_invocation(
            &i386,
            "tcg",
            Path::new("d"),
            Path::new("s"),
            Path::new("k"),
            Path::new("c"),
        )
        .display();
        assert!(line.contains("qemu-system-i386") && line.contains("-m 2048M"), "{line}");
        assert!(line.contains("size=2048M"), "{line}");
    }

    #[test]
    fn qemu_command_line() {
        let inv = qemu_invocation(
            &spec(),
            "tcg",
            Path::new("/b/debian-bookworm-amd64/disk.qcow2"),
            Path::new("/w/var/guest"),
            Path::new("/tmp/s"),
            Path::new("/w/var/guest/console.log"),
        );
        assert_eq!(
            inv.display(),
            "qemu-system-x86_64 -name gitian-bookworm-amd64 -nodefaults -no-user-config -display \
             none -no-reboot -accel tcg -cpu qemu64 -m 2000M -smp 2 -object \
             memory-backend-memfd,id=mem,size=2000M,share=on -numa node,memdev=mem -kernel \
             /b/debian-bookworm-amd64/vmlinuz -initrd /b/debian-bookworm-amd64/initrd.img -append \
             'console=ttyS0 root=/dev/vda rw init=/sbin/gitian-init panic=-1 quiet net.ifnames=0' \
             -drive file=/b/debian-bookworm-amd64/disk.qcow2,format=qcow2,if=virtio,snapshot=on,\
             cache=unsafe -chardev socket,id=vfs,path=/tmp/s/vfs.sock -device \
             vhost-user-fs-pci,chardev=vfs,tag=gitian -device virtio-serial-pci -chardev \
             socket,id=ctl,path=/tmp/s/ctl.sock,server=on,wait=off -device \
             virtserialport,chardev=ctl,name=org.gitian.ctl -qmp \
             unix:/tmp/s/qmp.sock,server=on,wait=off -serial file:/w/var/guest/console.log \
             -netdev user,id=net0 -device virtio-net-pci,netdev=net0,id=nic0"
        );
        let vfs = virtiofsd_invocation(Path::new("/tmp/s"), Path::new("/w/var/guest/share"));
        assert_eq!(
            vfs.display(),
            "/usr/lib/qemu/virtiofsd --socket-path=/tmp/s/vfs.sock -o \
             source=/w/var/guest/share -o cache=none"
        );
        let placeholder_paths = |spec: &GuestSpec, accel| {
            let p = Path::new;
            qemu_invocation(spec, accel, p("d"), p("w"), p("s"), p("c"))
        };
        let offline = GuestSpec { network: false, ..spec() };
        let inv2 = placeholder_paths(&offline, "tcg");
        assert!(!inv2.display().contains("netdev"), "{}", inv2.display());
        // QEMU's throwaway overlay goes to the scratch folder, which `stop` removes.
        assert!(inv.env.iter().any(|(k, v)| k == "TMPDIR" && v == "/w/var/guest"), "{inv:?}");
        let kvm = placeholder_paths(&spec(), "kvm");
        assert!(kvm.display().contains("-accel kvm -cpu host"));
    }
}
