//! The QEMU guest (`--backend kvm`): a throwaway qcow2 overlay over the base image's disk,
//! Debian's kernel booted directly, and no ssh. The host talks to a small agent over a
//! virtio-serial port (one line per command) and shares one folder with virtiofs for scripts,
//! logs and file transfer, so two builds never compete for a port. The network is QEMU user
//! networking, used only while packages are installed; before the build script runs, the guest
//! takes its interface down and the host deletes the NIC's backend over QMP, so nothing the
//! script sends can leave the VM.
//!
//! Accelerator: `kvm` uses `-enable-kvm`, `tcg` software emulation, `auto` probes whether a
//! guest really boots under KVM (a `/dev/kvm` that exists proves nothing: nested or software
//! KVMs can fail to run stock kernels) and falls back to TCG with a warning. The probe result is
//! remembered per host boot.

use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::env::{self, GuestUser};
use super::{BuildStatus, Exec, Guest, GuestError, GuestSpec, Network, User};
use crate::process::{self, Child, Invocation, shell_quote};

/// The guest's PID 1 stub, installed into the base disk by `make-base`.
pub const INIT_STUB: &str = include_str!("assets/gitian-init");
/// Where the stub lives inside the guest's root file system.
pub const INIT_PATH: &str = "sbin/gitian-init";
/// The agent, put on the share at every boot.
const AGENT: &str = include_str!("assets/agent.sh");

/// Base image file: the QEMU disk (qcow2, ext4 root file system with the init stub).
pub const DISK: &str = "disk.qcow2";
/// Base image file: the kernel.
pub const KERNEL: &str = "vmlinuz";
/// Base image file: the initramfs.
pub const INITRD: &str = "initrd.img";

/// The virtio-serial port name the agent looks for.
const PORT_NAME: &str = "org.gitian.ctl";
/// How long a TCG guest may take to come up (a loaded 2-core CI machine is slow).
const BOOT_TIMEOUT: Duration = Duration::from_secs(240);
/// How long a KVM guest gets before `auto` decides KVM cannot run it.
const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// QEMU accelerator choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// `-enable-kvm`; an error when the guest does not come up.
    Kvm,
    /// Software emulation.
    Tcg,
    /// KVM when a guest really boots under it, else TCG with a warning.
    Auto,
}

/// The QEMU backend.
#[derive(Debug)]
pub struct Kvm {
    accel: Accel,
    probe_cache: Option<PathBuf>,
    used: Option<&'static str>,
    warnings: Vec<String>,
    vm: Option<Vm>,
}

#[derive(Debug)]
struct Vm {
    qemu: Child,
    virtiofsd: Child,
    ctl: BufReader<UnixStream>,
    qmp: Option<Qmp>,
    _sockets: tempfile::TempDir,
    scratch: PathBuf,
    share: PathBuf,
    qemu_log: PathBuf,
    console: PathBuf,
    user: String,
    arch: String,
    next: u32,
    net: Net,
}

/// Where the guest's network stands; it only goes forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    /// The NIC is there but not configured in the guest (only loopback).
    Unused,
    /// Configured: QEMU user networking reaches the mirror.
    On,
    /// Taken down in the guest and its backend deleted from QEMU.
    Removed,
    /// The guest was created without a NIC.
    Absent,
}

fn err(message: impl Into<String>) -> GuestError {
    GuestError { backend: "kvm", message: message.into() }
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> GuestError {
    err(format!("{what} '{}': {e}", path.display()))
}

/// One command's folder in the share (`cmd/<id>`, `xfer/<id>`), removed when dropped, so no
/// return path leaves it behind.
struct ShareDir(PathBuf);

impl ShareDir {
    fn create(share: &Path, kind: &str, id: u32) -> Result<Self, GuestError> {
        let path = share.join(kind).join(id.to_string());
        fs::create_dir_all(&path).map_err(|e| io_err("cannot create", &path, &e))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ShareDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl From<process::ProcessError> for GuestError {
    fn from(e: process::ProcessError) -> Self {
        GuestError { backend: "process", message: e.to_string() }
    }
}

impl Kvm {
    /// A backend with the given accelerator; `probe_cache` is a file remembering whether KVM
    /// booted a guest on this host (per boot of the host), for `auto`.
    pub fn new(accel: Accel, probe_cache: Option<PathBuf>) -> Self {
        Self { accel, probe_cache, used: None, warnings: Vec::new(), vm: None }
    }

    /// The accelerator actually used by the last guest (`kvm` or `tcg`).
    pub fn used_accel(&self) -> Option<&'static str> {
        self.used
    }

    fn kvm_usable() -> Result<(), String> {
        match fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("/dev/kvm: {e}")),
        }
    }

    fn host_boot_id() -> String {
        fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default().trim().into()
    }

    fn cached_probe(&self, base: &Path) -> Option<bool> {
        let text = fs::read_to_string(self.probe_cache.as_ref()?).ok()?;
        let key = format!("{} {}", Self::host_boot_id(), base.display());
        text.lines().find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            (k == key).then_some(v == "kvm")
        })
    }

    fn store_probe(&self, base: &Path, kvm_works: bool) {
        let Some(path) = &self.probe_cache else { return };
        let key = format!("{} {}", Self::host_boot_id(), base.display());
        let mut lines: Vec<String> = fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.rsplit_once(' ').is_some_and(|(k, _)| k != key))
            .map(str::to_string)
            .collect();
        lines.push(format!("{key} {}", if kvm_works { "kvm" } else { "tcg" }));
        if let Some(dir) = path.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let _ = fs::write(path, lines.join("\n") + "\n");
    }

    fn boot_with(&mut self, spec: &GuestSpec, accel: &'static str) -> Result<Vm, BootError> {
        let timeout = match (accel, self.accel) {
            ("kvm", Accel::Auto) => KVM_PROBE_TIMEOUT,
            // A guest that KVM can run is up in a second or two.
            ("kvm", _) => KVM_PROBE_TIMEOUT * 6,
            _ => BOOT_TIMEOUT,
        };
        boot(spec, accel, timeout)
    }
}

/// Whether KVM really boots the guest of the base image `base` (architecture `arch`) on this
/// host, decided as `--accel auto` decides it: the answer remembered in `probe_cache` for this
/// boot of the host, else a probe boot under KVM (up to 10 s), whose answer is remembered.
/// `Err` says why KVM is no good here.
pub fn kvm_boots(base: &Path, arch: &str, probe_cache: &Path) -> Result<(), String> {
    Kvm::kvm_usable()?;
    let kvm = Kvm::new(Accel::Auto, Some(probe_cache.to_path_buf()));
    match kvm.cached_probe(base) {
        Some(true) => return Ok(()),
        Some(false) => {
            return Err(format!(
                "KVM did not boot the guest on this host (a probe boot since the host started, \
                 remembered in {})",
                probe_cache.display()
            ));
        }
        None => {}
    }
    if let Some(f) = [DISK, KERNEL, INITRD].into_iter().find(|f| !base.join(f).is_file()) {
        return Err(format!("cannot probe KVM: base image '{}' has no {f}", base.display()));
    }
    let scratch = super::util::own_temp_dir(&std::env::temp_dir(), "gitian-kvm-probe")
        .map_err(|e| format!("cannot probe KVM: cannot create a temporary folder: {e}"))?;
    let spec = GuestSpec {
        distro: "debian".into(),
        suite: "probe".into(),
        arch: arch.into(),
        base: base.to_path_buf(),
        scratch: scratch.path().join("guest"),
        memory_mib: 512,
        cpus: 1,
        network: false,
    };
    match boot(&spec, "kvm", KVM_PROBE_TIMEOUT) {
        Ok(vm) => {
            vm.stop();
            kvm.store_probe(base, true);
            Ok(())
        }
        Err(BootError::Timeout(_)) => {
            kvm.store_probe(base, false);
            Err(format!(
                "KVM did not boot the guest within {} s (a probe boot)",
                KVM_PROBE_TIMEOUT.as_secs()
            ))
        }
        Err(BootError::Failed(e)) => Err(format!("KVM could not start the guest: {e}")),
    }
}

/// Why a boot did not give a ready guest.
enum BootError {
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

impl Guest for Kvm {
    fn name(&self) -> &'static str {
        "kvm"
    }

    fn describe(&self) -> String {
        format!("kvm (qemu, accel {})", self.used.unwrap_or("none"))
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn create(&mut self, spec: &GuestSpec) -> Result<(), GuestError> {
        self.destroy()?;
        for f in [DISK, KERNEL, INITRD] {
            if !spec.base.join(f).is_file() {
                return Err(err(format!(
                    "base image '{}' has no {f}; run 'git gitian make-base' for it",
                    spec.base.display()
                )));
            }
        }
        let first: &'static str = match self.accel {
            Accel::Tcg => "tcg",
            Accel::Kvm => {
                Self::kvm_usable().map_err(|e| err(format!("--accel kvm: {e}")))?;
                "kvm"
            }
            Accel::Auto => match (Self::kvm_usable(), self.cached_probe(&spec.base)) {
                (Err(e), _) => {
                    self.warnings.push(format!("KVM is not available ({e}); using TCG (slow)"));
                    "tcg"
                }
                (Ok(()), Some(false)) => {
                    self.warnings.push(
                        "KVM could not boot the guest on this host earlier; using TCG (slow)"
                            .into(),
                    );
                    "tcg"
                }
                (Ok(()), _) => "kvm",
            },
        };
        let mut used = first;
        let vm = match self.boot_with(spec, first) {
            Ok(vm) => {
                if first == "kvm" && self.accel == Accel::Auto {
                    self.store_probe(&spec.base, true);
                }
                vm
            }
            Err(BootError::Timeout(detail)) if first == "kvm" && self.accel == Accel::Auto => {
                self.store_probe(&spec.base, false);
                self.warnings.push(format!(
                    "KVM did not boot the guest within {} s ({detail}); falling back to TCG (slow)",
                    KVM_PROBE_TIMEOUT.as_secs()
                ));
                used = "tcg";
                match self.boot_with(spec, "tcg") {
                    Ok(vm) => vm,
                    Err(BootError::Timeout(d)) => {
                        return Err(err(format!("guest did not boot: {d}")));
                    }
                    Err(BootError::Failed(e)) => return Err(e),
                }
            }
            Err(BootError::Timeout(d)) => return Err(err(format!("guest did not boot: {d}"))),
            Err(BootError::Failed(e)) => return Err(e),
        };
        self.used = Some(used);
        self.vm = Some(vm);
        Ok(())
    }

    fn exec(&mut self, cmd: &Exec<'_>) -> Result<i32, GuestError> {
        let vm = self.vm.as_mut().ok_or_else(|| err("no guest running"))?;
        vm.set_network(cmd.network)?;
        vm.run(cmd.user, cmd.setarch, cmd.trace, cmd.script, cmd.env, cmd.log, false)
    }

    fn run_build(
        &mut self,
        prepare: Option<&str>,
        cmd: &Exec<'_>,
        outputs: &[(&str, &Path)],
    ) -> Result<BuildStatus, GuestError> {
        let script = match prepare {
            None => Some(cmd.script.to_string()),
            Some(p) => script_with_prepare(cmd.script, p),
        };
        let (Some(script), User::Build) = (script, cmd.user) else {
            return super::run_build_in_steps(self, prepare, cmd, outputs);
        };
        let vm = self.vm.as_mut().ok_or_else(|| err("no guest running"))?;
        vm.set_network(cmd.network)?;
        vm.run_build(&script, prepare.is_some(), cmd, outputs)
    }

    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        let vm = self.vm.as_mut().ok_or_else(|| err("no guest running"))?;
        vm.copy_in(host, guest_dir)
    }

    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        let vm = self.vm.as_mut().ok_or_else(|| err("no guest running"))?;
        vm.copy_out(guest_path, host_dir)
    }

    fn destroy(&mut self) -> Result<(), GuestError> {
        if let Some(vm) = self.vm.take() {
            vm.stop();
        }
        Ok(())
    }
}

impl Drop for Kvm {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}

/// The QEMU command line for one guest.
pub fn qemu_invocation(
    spec: &GuestSpec,
    accel: &str,
    disk: &Path,
    scratch: &Path,
    sockets: &Path,
    console: &Path,
) -> Invocation {
    let binary = if spec.arch == "i386" { "qemu-system-i386" } else { "qemu-system-x86_64" };
    let mem = spec.memory_mib;
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

fn wait_for_socket(path: &Path, child: &mut Child, log: &Path) -> Result<UnixStream, GuestError> {
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
        if start.elapsed() > Duration::from_secs(20) {
            return Err(err(format!("no socket '{}' after 20 s", path.display())));
        }
        if process::interrupted() {
            return Err(err("interrupted"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts virtiofsd and QEMU over a fresh overlay and waits for the agent's READY; on failure
/// nothing is left (processes are killed when their handles drop, the scratch is removed).
fn boot(spec: &GuestSpec, accel: &'static str, timeout: Duration) -> Result<Vm, BootError> {
    let result = boot_inner(spec, accel, timeout);
    if result.is_err() {
        let _ = fs::remove_dir_all(&spec.scratch);
    }
    result
}

fn boot_inner(spec: &GuestSpec, accel: &'static str, timeout: Duration) -> Result<Vm, BootError> {
    let scratch = spec.scratch.clone();
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| io_err("cannot create", &scratch, &e))?;
    let share = scratch.join("share");
    fs::create_dir_all(share.join("cmd")).map_err(|e| io_err("cannot create", &share, &e))?;
    fs::create_dir_all(share.join("xfer")).map_err(|e| io_err("cannot create", &share, &e))?;
    fs::write(share.join("agent.sh"), AGENT).map_err(|e| io_err("cannot write", &share, &e))?;
    let base_disk = fs::canonicalize(spec.base.join(DISK))
        .map_err(|e| io_err("cannot read", &spec.base.join(DISK), &e))?;
    // Unix socket paths are limited to 107 bytes: keep them in a short temporary folder.
    let sockets = super::util::own_temp_dir(Path::new("/tmp"), "gitian-kvm")
        .map_err(|e| err(format!("cannot create a socket folder in /tmp: {e}")))?;
    let vfs_log = scratch.join("virtiofsd.log");
    let mut virtiofsd = process::spawn(
        &Invocation::new("/usr/lib/qemu/virtiofsd")
            .arg(format!("--socket-path={}", sockets.path().join("vfs.sock").display()))
            .arg("-o")
            .arg(format!("source={}", share.display()))
            .args(["-o", "cache=none"]),
        &vfs_log,
    )
    .map_err(GuestError::from)?;
    let start = Instant::now();
    while !sockets.path().join("vfs.sock").exists() {
        if let Some(code) = virtiofsd.try_wait() {
            return Err(err(format!(
                "virtiofsd exited with status {code}:\n{}",
                process::tail_of_file(&vfs_log, 10)
            ))
            .into());
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(err("virtiofsd did not create its socket within 10 s").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let qemu_log = scratch.join("qemu.log");
    let console = scratch.join("console.log");
    let inv = qemu_invocation(spec, accel, &base_disk, &scratch, sockets.path(), &console);
    fs::write(scratch.join("qemu.cmdline"), inv.display() + "\n")
        .map_err(|e| io_err("cannot write", &scratch, &e))?;
    let mut qemu = process::spawn(&inv, &qemu_log).map_err(GuestError::from)?;
    let ctl = wait_for_socket(&sockets.path().join("ctl.sock"), &mut qemu, &qemu_log)?;
    let qmp = wait_for_socket(&sockets.path().join("qmp.sock"), &mut qemu, &qemu_log)
        .and_then(Qmp::handshake)?;
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

enum LineError {
    Timeout,
    Other(GuestError),
}

impl From<LineError> for GuestError {
    fn from(e: LineError) -> Self {
        match e {
            LineError::Timeout => err("timed out waiting for the guest agent"),
            LineError::Other(e) => e,
        }
    }
}

impl Vm {
    fn console_tail(&self) -> String {
        process::tail_of_file(&self.console, 15)
    }

    /// One line from the agent; watches for QEMU's death, Ctrl-C and the deadline, calling
    /// `on_tick` between reads.
    fn read_line_with(
        &mut self,
        deadline: Option<Instant>,
        on_tick: &mut dyn FnMut(),
    ) -> Result<String, LineError> {
        let _ = self.ctl.get_ref().set_read_timeout(Some(Duration::from_millis(100)));
        let mut line = String::new();
        loop {
            match self.ctl.read_line(&mut line) {
                Ok(0) => {
                    return Err(LineError::Other(self.died("the guest closed its control port")));
                }
                Ok(_) if line.ends_with('\n') => return Ok(line.trim_end().to_string()),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(LineError::Other(err(format!("control port: {e}")))),
            }
            on_tick();
            if process::interrupted() {
                return Err(LineError::Other(err("interrupted")));
            }
            if self.qemu.try_wait().is_some() {
                return Err(LineError::Other(self.died("QEMU exited")));
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(LineError::Timeout);
            }
        }
    }

    fn read_line(&mut self, deadline: Option<Instant>) -> Result<String, LineError> {
        self.read_line_with(deadline, &mut || {})
    }

    fn died(&mut self, what: &str) -> GuestError {
        let _ = self.qemu.wait_timeout(Duration::from_millis(500));
        err(format!(
            "{what}; QEMU log ({}):\n{}\nconsole:\n{}",
            self.qemu_log.display(),
            process::tail_of_file(&self.qemu_log, 10),
            self.console_tail()
        ))
    }

    fn send(&mut self, line: &str) -> Result<(), GuestError> {
        self.ctl
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| err(format!("control port: {e}")))
    }

    fn agent_net(&mut self, state: &str) -> Result<(), GuestError> {
        self.send(&format!("NET {state}"))?;
        let line = self.read_line(Some(Instant::now() + Duration::from_secs(60)))?;
        if line != format!("NET {state}") {
            return Err(err(format!("unexpected line from the guest agent: {line:?}")));
        }
        Ok(())
    }

    fn set_network(&mut self, network: Network) -> Result<(), GuestError> {
        match (network, self.net) {
            (Network::Online, Net::Unused) => self.network_on(),
            (Network::Offline, Net::Unused | Net::On) => self.network_off(),
            (Network::Online, Net::Removed) => {
                Err(err("the network was already removed from this guest"))
            }
            (Network::Online, Net::Absent) => Err(err("this guest was created without a network")),
            _ => Ok(()),
        }
    }

    fn network_on(&mut self) -> Result<(), GuestError> {
        self.agent_net("on")?;
        self.net = Net::On;
        Ok(())
    }

    fn network_off(&mut self) -> Result<(), GuestError> {
        // Also when the network was never used: the agent takes the NIC away from the guest,
        // so a script sees only lo, as on every other backend.
        self.agent_net("off")?;
        // The guest side alone could be undone by root in the guest; deleting the NIC's
        // backend leaves nothing on the host to send packets to.
        let qmp = self.qmp.as_mut().ok_or_else(|| err("no QMP connection"))?;
        qmp.execute(r#"{"execute":"set_link","arguments":{"name":"nic0","up":false}}"#)?;
        qmp.execute(r#"{"execute":"netdev_del","arguments":{"id":"net0"}}"#)?;
        self.net = Net::Removed;
        Ok(())
    }

    fn new_id(&mut self) -> u32 {
        self.next += 1;
        self.next
    }

    /// Runs a script in the guest; its output is appended to `log` as it comes. A `helper`
    /// is our own root command, run by the agent's shell itself (two programs fewer).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        user: User,
        setarch: Option<&str>,
        trace: bool,
        script: &str,
        env: &[(String, String)],
        log: Option<&Path>,
        helper: bool,
    ) -> Result<i32, GuestError> {
        let id = self.new_id();
        let dir = ShareDir::create(&self.share, "cmd", id)?;
        let dir = dir.path();
        let gdir = format!("/run/gitian/cmd/{id}");
        fs::write(dir.join("script"), script).map_err(|e| io_err("cannot write", dir, &e))?;
        let wrapper = if helper {
            format!("cd /root || exit 1\nexec >>{gdir}/log 2>&1 </dev/null\n. {gdir}/script\n")
        } else {
            wrapper_script(&self.arch, &self.user, user, setarch, trace, env, &gdir)
        };
        fs::write(dir.join("run"), wrapper).map_err(|e| io_err("cannot write", dir, &e))?;
        self.dispatch(id, dir, log)
    }

    /// Sends `RUN id` for the wrapper already in `dir` and waits for its exit status, appending
    /// its output to `log` as it comes.
    fn dispatch(&mut self, id: u32, dir: &Path, log: Option<&Path>) -> Result<i32, GuestError> {
        let guest_log = dir.join("log");
        fs::write(&guest_log, "").map_err(|e| io_err("cannot write", &guest_log, &e))?;
        let mut sink = match log {
            Some(p) => Some(
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| io_err("cannot open", p, &e))?,
            ),
            None => None,
        };
        let mut offset = 0u64;
        let mut pump = |sink: &mut Option<fs::File>| {
            if let (Some(out), Ok(mut f)) = (sink.as_mut(), fs::File::open(&guest_log))
                && f.seek(SeekFrom::Start(offset)).is_ok()
            {
                let mut buf = Vec::new();
                if f.read_to_end(&mut buf).is_ok() && !buf.is_empty() {
                    offset += buf.len() as u64;
                    let _ = out.write_all(&buf);
                }
            }
        };
        self.send(&format!("RUN {id}"))?;
        let line = self.read_line_with(None, &mut || pump(&mut sink))?;
        pump(&mut sink);
        line.strip_prefix(&format!("EXIT {id} "))
            .and_then(|c| c.parse::<i32>().ok())
            .ok_or_else(|| err(format!("unexpected line from the guest agent: {line:?}")))
    }

    /// [`Guest::run_build`] as one agent command: `script` (the build script, with the
    /// preparation on its first line if any) as the build user, then the outputs copied to the
    /// share by the same wrapper, so that the guest starts three programs fewer.
    fn run_build(
        &mut self,
        script: &str,
        prep: bool,
        cmd: &Exec<'_>,
        outputs: &[(&str, &Path)],
    ) -> Result<BuildStatus, GuestError> {
        let id = self.new_id();
        let (dir, xfer) =
            (ShareDir::create(&self.share, "cmd", id)?, ShareDir::create(&self.share, "xfer", id)?);
        let (dir, xfer) = (dir.path(), xfer.path());
        let paths: Vec<&str> = outputs.iter().map(|(p, _)| p.trim_end_matches('/')).collect();
        let gdir = format!("/run/gitian/cmd/{id}");
        let wrapper = build_wrapper(
            &self.arch,
            &self.user,
            cmd,
            prep,
            &paths,
            &gdir,
            &format!("/run/gitian/xfer/{id}"),
        );
        fs::write(dir.join("script"), script).map_err(|e| io_err("cannot write", dir, &e))?;
        fs::write(dir.join("run"), wrapper).map_err(|e| io_err("cannot write", dir, &e))?;
        let wrapper_code = self.dispatch(id, dir, cmd.log)?;
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        let Ok(code) = read("status").trim().parse::<i32>() else {
            return Err(err(format!("the build command did not run (exit status {wrapper_code})")));
        };
        if prep
            && code == 125
            && let Some(n) = read("prep").lines().find_map(|l| l.strip_prefix(PREPARE_FAILED))
        {
            return Ok(BuildStatus::PrepareFailed(n.trim().parse().unwrap_or(code)));
        }
        if code != 0 {
            return Ok(BuildStatus::ScriptFailed(code));
        }
        if wrapper_code != 0 {
            return Err(err(format!(
                "cannot copy {} out of the guest (exit status {wrapper_code}):\n{}",
                paths.join(", "),
                read("copy").trim_end()
            )));
        }
        for ((_, host_dir), path) in outputs.iter().zip(&paths) {
            let name = path.rsplit('/').next().unwrap_or(path);
            fs::create_dir_all(host_dir).map_err(|e| io_err("cannot create", host_dir, &e))?;
            merge_into(&xfer.join(path), &host_dir.join(name))
                .map_err(|e| err(format!("cannot copy into '{}': {e}", host_dir.display())))?;
        }
        Ok(BuildStatus::Done)
    }

    /// Runs a root helper command (sh, in the agent's environment); fails with its output
    /// when it fails.
    fn run_root(&mut self, script: &str) -> Result<(), GuestError> {
        let log = self.scratch.join("helper.log");
        let _ = fs::remove_file(&log);
        let code = self.run(User::Root, None, false, script, &[], Some(&log), true)?;
        if code != 0 {
            return Err(err(format!(
                "guest command failed (exit status {code}): {script}\n{}",
                process::tail_of_file(&log, 10)
            )));
        }
        Ok(())
    }

    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        let name = host
            .file_name()
            .ok_or_else(|| err(format!("cannot copy '{}'", host.display())))?
            .to_string_lossy()
            .into_owned();
        let id = self.new_id();
        let xfer = ShareDir::create(&self.share, "xfer", id)?;
        process::run_ok(&Invocation::new("cp").arg("-a").arg(host).arg(xfer.path()))
            .map_err(GuestError::from)?;
        let u = shell_quote(&self.user);
        let dest = format!("/home/{}/{}", self.user, guest_dir.trim_end_matches('/'));
        let script = format!(
            "set -e\nd={dest}\nif [ ! -d \"$d\" ]; then mkdir -p \"$d\"; chown {u}:{u} \"$d\"; fi\n\
             cp -a /run/gitian/xfer/{id}/{name} \"$d\"/\nchown -R {u}:{u} \"$d\"/{name}\n",
            dest = shell_quote(&dest),
            name = shell_quote(&name),
        );
        self.run_root(&script)
    }

    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        let path = guest_path.trim_end_matches('/');
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        let id = self.new_id();
        let xfer = ShareDir::create(&self.share, "xfer", id)?;
        let src = format!("/home/{}/{path}", self.user);
        let script = format!("cp -a {} /run/gitian/xfer/{id}/\n", shell_quote(&src));
        self.run_root(&script)?;
        fs::create_dir_all(host_dir).map_err(|e| io_err("cannot create", host_dir, &e))?;
        merge_into(&xfer.path().join(&name), &host_dir.join(&name))
            .map_err(|e| err(format!("cannot copy into '{}': {e}", host_dir.display())))
    }

    /// Stops QEMU and virtiofsd and removes the overlay, the share and the sockets. Nothing
    /// in the guest needs to survive (its disk overlay is thrown away, the outputs are on the
    /// host already), so QEMU is killed rather than asked to quit: no waiting for it.
    fn stop(mut self) {
        drop(self.qmp.take());
        self.qemu.kill();
        self.virtiofsd.kill();
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

/// The login part of a wrapper: home, the `export` line, and the program prefix that takes
/// the user and the personality.
fn login(
    guest_arch: &str,
    build_user: &str,
    user: User,
    setarch: Option<&str>,
    env: &[(String, String)],
) -> (String, String, String) {
    let who = match user {
        User::Root => GuestUser::root(),
        User::Build => GuestUser::unprivileged(build_user),
    };
    let home = who.home.clone();
    let vars = env::login_vars(&who, env);
    let vars: Vec<String> = vars.iter().map(|v| shell_quote(v)).collect();
    let runas = match user {
        User::Root => String::new(),
        // setpriv, not runuser/su: no PAM stack to load, which costs a second under TCG.
        User::Build => format!(
            "setpriv --reuid={u} --regid={u} --init-groups -- ",
            u = shell_quote(build_user)
        ),
    };
    // On a 64-bit guest `setarch x86_64` and `setarch linux64` set the personality every
    // process already has; skipping them saves a program start (a tenth of a second on TCG).
    let arch = match setarch {
        None | Some("x86_64" | "linux64") if guest_arch != "i386" => String::new(),
        Some(p) => format!("setarch {} ", shell_quote(p)),
        None => String::new(),
    };
    // The agent's environment holds PATH only (the initramfs starts it so), so exporting the
    // login variables gives what `env -i` would, without starting `env` (a program costs
    // under TCG).
    (
        shell_quote(&home),
        format!("umask {}\nexport {}", env::UMASK, vars.join(" ")),
        format!("{runas}{arch}"),
    )
}

/// The shell wrapper the agent runs for one command: user, environment, personality, log.
fn wrapper_script(
    guest_arch: &str,
    build_user: &str,
    user: User,
    setarch: Option<&str>,
    trace: bool,
    env: &[(String, String)],
    gdir: &str,
) -> String {
    let (home, export, prefix) = login(guest_arch, build_user, user, setarch, env);
    let x = if trace { " -x" } else { "" };
    format!(
        "cd {home} || exit 1\nunset OLDPWD\nexec >>{gdir}/log 2>&1\n{export}\nexec {prefix}bash{x} <{gdir}/script\n"
    )
}

/// The wrapper for [`Guest::run_build`] in one agent command: the build script as in
/// [`wrapper_script`] with fd 4 open on `prep` (where the preparation line writes), its status
/// in `status`, then, when it succeeded, the outputs copied as root into `xfer` (relative to
/// the home, so that `xfer/<path>` is `~/<path>`), cp's messages in `copy`.
fn build_wrapper(
    guest_arch: &str,
    build_user: &str,
    cmd: &Exec<'_>,
    prep: bool,
    outputs: &[&str],
    gdir: &str,
    xfer: &str,
) -> String {
    let (home, export, prefix) = login(guest_arch, build_user, User::Build, cmd.setarch, cmd.env);
    let x = if cmd.trace { " -x" } else { "" };
    let paths: Vec<String> = outputs.iter().map(|p| shell_quote(p)).collect();
    let fd4 = if prep { format!(" 4>>{gdir}/prep") } else { String::new() };
    format!(
        "cd {home} || exit 1\nunset OLDPWD\n{export}\n\
         {prefix}bash{x} <{gdir}/script >>{gdir}/log 2>&1{fd4}\n\
         code=$?\necho $code >{gdir}/status\n[ $code = 0 ] || exit 0\n\
         cp -a --parents {} {xfer}/ >{gdir}/copy 2>&1\n",
        paths.join(" ")
    )
}

/// The build script with its first line (a `#!` comment, so line numbers stay those of the
/// script) replaced by the preparation, run untraced with its output on fd 4; when it fails
/// the script stops with status 125 and `prep` says so. `None` when the script or the
/// preparation does not fit on one line.
fn script_with_prepare(script: &str, prepare: &str) -> Option<String> {
    let (first, rest) = script.split_once('\n')?;
    let lines: Vec<&str> = prepare.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let fits = |l: &&str| {
        !l.contains("<<") && !l.starts_with('#') && !l.ends_with(['\\', '&', '|', ';', '{', '('])
    };
    if !first.starts_with("#!") || lines.is_empty() || !lines.iter().all(fits) {
        return None;
    }
    Some(format!(
        "{{ {{ {}; }} >&4 2>&4 || {{ echo \"{PREPARE_FAILED} $?\" >&4; exit 125; }}; exec 4>&-; }} 2>/dev/null\n{rest}",
        lines.join("; ")
    ))
}

/// What the preparation line writes on fd 4 when it fails.
const PREPARE_FAILED: &str = "gitian: preparation failed with exit status";

/// Moves `src` (file or folder) to `dst`, merging folders and replacing files.
fn merge_into(src: &Path, dst: &Path) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    if meta.is_dir() {
        if fs::symlink_metadata(dst).is_ok_and(|m| !m.is_dir()) {
            fs::remove_file(dst)?;
        }
        fs::create_dir_all(dst)?;
        fs::set_permissions(dst, meta.permissions())?;
        for entry in fs::read_dir(src)? {
            let entry = entry?;
            merge_into(&entry.path(), &dst.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        if fs::symlink_metadata(dst).is_ok_and(|m| m.is_dir()) {
            fs::remove_dir_all(dst)?;
        }
        match fs::rename(src, dst) {
            Ok(()) => Ok(()),
            Err(_) if !meta.file_type().is_symlink() => fs::copy(src, dst).map(|_| ()),
            Err(_) => {
                let target = fs::read_link(src)?;
                let _ = fs::remove_file(dst);
                std::os::unix::fs::symlink(target, dst)
            }
        }
    }
}

/// A QMP connection: JSON commands, one per line.
#[derive(Debug)]
struct Qmp {
    stream: BufReader<UnixStream>,
}

impl Qmp {
    fn handshake(stream: UnixStream) -> Result<Self, GuestError> {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let mut qmp = Self { stream: BufReader::new(stream) };
        let mut greeting = String::new();
        qmp.stream.read_line(&mut greeting).map_err(|e| err(format!("QMP: {e}")))?;
        qmp.execute(r#"{"execute":"qmp_capabilities"}"#)?;
        Ok(qmp)
    }

    /// Sends one command and returns its `return` line; events in between are skipped.
    fn execute(&mut self, command: &str) -> Result<String, GuestError> {
        self.stream
            .get_mut()
            .write_all(format!("{command}\n").as_bytes())
            .map_err(|e| err(format!("QMP: {e}")))?;
        loop {
            let mut line = String::new();
            match self.stream.read_line(&mut line) {
                Ok(0) => return Ok(String::new()),
                Ok(_) => {}
                Err(e) => return Err(err(format!("QMP: {e}"))),
            }
            if line.contains("\"return\"") {
                return Ok(line);
            }
            if line.contains("\"error\"") {
                return Err(err(format!("QMP {command}: {}", line.trim())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> GuestSpec {
        GuestSpec {
            distro: "debian".into(),
            suite: "bookworm".into(),
            arch: "amd64".into(),
            base: PathBuf::from("/b/debian-bookworm-amd64"),
            scratch: PathBuf::from("/w/var/guest"),
            memory_mib: 2000,
            cpus: 2,
            network: true,
        }
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
        let line = inv.display();
        assert!(line.starts_with("qemu-system-x86_64 -name gitian-bookworm-amd64 "), "{line}");
        for part in [
            "-accel tcg -cpu qemu64 -m 2000M -smp 2",
            "memory-backend-memfd,id=mem,size=2000M,share=on",
            "-kernel /b/debian-bookworm-amd64/vmlinuz -initrd /b/debian-bookworm-amd64/initrd.img",
            "init=/sbin/gitian-init",
            "file=/b/debian-bookworm-amd64/disk.qcow2,format=qcow2,if=virtio,snapshot=on,cache=unsafe",
            "vhost-user-fs-pci,chardev=vfs,tag=gitian",
            "virtserialport,chardev=ctl,name=org.gitian.ctl",
            "-netdev user,id=net0 -device virtio-net-pci,netdev=net0,id=nic0",
        ] {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
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

    #[test]
    fn wrapper_runs_the_build_user_with_a_clean_environment() {
        let w = wrapper_script(
            "i386",
            "debian",
            User::Build,
            Some("i386"),
            true,
            &[],
            "/run/gitian/cmd/3",
        );
        assert_eq!(
            w,
            "cd /home/debian || exit 1\nunset OLDPWD\nexec >>/run/gitian/cmd/3/log 2>&1\n\
             umask 022\nexport HOME=/home/debian USER=debian LOGNAME=debian \
             SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin:/usr/games\n\
             exec setpriv --reuid=debian --regid=debian --init-groups -- setarch i386 \
             bash -x </run/gitian/cmd/3/script\n"
        );
        let r = wrapper_script(
            "amd64",
            "debian",
            User::Root,
            None,
            false,
            &[("A".into(), "b c".into())],
            "/g",
        );
        let b = wrapper_script("amd64", "debian", User::Build, Some("x86_64"), true, &[], "/g");
        assert!(b.ends_with("--init-groups -- bash -x </g/script\n"), "{b}");
        assert!(r.contains("DEBIAN_FRONTEND=noninteractive 'A=b c'\nexec bash </g/script"), "{r}");
    }

    #[test]
    fn preparation_takes_the_place_of_the_shebang_line() {
        let script = "#!/bin/bash\nset -e\ncd build\n";
        let prep = "rm -rf a\nmkdir -p b c\n";
        let s = script_with_prepare(script, prep).unwrap();
        assert_eq!(
            s,
            format!(
                "{{ {{ rm -rf a; mkdir -p b c; }} >&4 2>&4 || {{ echo \"{PREPARE_FAILED} $?\" >&4; \
                 exit 125; }}; exec 4>&-; }} 2>/dev/null\nset -e\ncd build\n"
            )
        );
        // The script's own lines keep their numbers.
        assert_eq!(s.lines().count(), script.lines().count());
        assert_eq!(script_with_prepare("set -e\n", prep), None);
        assert_eq!(script_with_prepare(script, "for a in b \\\n c; do :; done"), None);
        assert_eq!(script_with_prepare(script, "cat <<EOF\nx\nEOF\n"), None);
    }

    #[test]
    fn build_wrapper_copies_out_only_after_a_good_script() {
        let cmd = Exec {
            user: User::Build,
            network: Network::Offline,
            setarch: Some("x86_64"),
            trace: true,
            script: "",
            env: &[],
            log: None,
        };
        let w = build_wrapper("amd64", "debian", &cmd, true, &["out", "cache/a b"], "/g", "/x");
        assert_eq!(
            w,
            "cd /home/debian || exit 1\nunset OLDPWD\numask 022\n\
             export HOME=/home/debian USER=debian LOGNAME=debian \
             SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin:/usr/games\n\
             setpriv --reuid=debian --regid=debian --init-groups -- bash -x </g/script \
             >>/g/log 2>&1 4>>/g/prep\n\
             code=$?\necho $code >/g/status\n[ $code = 0 ] || exit 0\n\
             cp -a --parents out 'cache/a b' /x/ >/g/copy 2>&1\n"
        );
        let w = build_wrapper("amd64", "debian", &cmd, false, &["out"], "/g", "/x");
        assert!(!w.contains("4>>"), "fd 4 must not reach a script without preparation: {w}");
    }

    #[test]
    fn merge_replaces_files_and_keeps_others() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src/out");
        let dst = t.path().join("dst/out");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::create_dir_all(dst.join("sub")).unwrap();
        fs::write(src.join("sub/a"), "new").unwrap();
        fs::write(dst.join("sub/a"), "old").unwrap();
        fs::write(dst.join("keep"), "k").unwrap();
        merge_into(&src, &dst).unwrap();
        assert_eq!(fs::read_to_string(dst.join("sub/a")).unwrap(), "new");
        assert_eq!(fs::read_to_string(dst.join("keep")).unwrap(), "k");
    }
}
