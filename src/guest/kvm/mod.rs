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
//!
//! One concern per file: [`accel`] (the KVM-or-TCG decision and its probe), [`qemu`] (the
//! QEMU command line and the boot), `agent` (the line protocol with the guest agent and the
//! network switch), `vm` (a running guest: build, copies, stop), `wrapper` (the shell each
//! command runs in the guest), `qmp` (QEMU's monitor).

pub mod accel;
mod agent;
mod limits;
pub mod qemu;
mod qmp;
mod vm;
mod wrapper;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{BuildStatus, Exec, Guest, GuestError, GuestSpec, User};
use crate::process;
pub use accel::kvm_boots;
pub use qemu::qemu_invocation;
use qemu::{BootError, boot};
use vm::Vm;

/// The guest's PID 1 stub, installed into the base disk by `make-base`.
pub const INIT_STUB: &str = include_str!("../assets/gitian-init");
/// Where the stub lives inside the guest's root file system.
pub const INIT_PATH: &str = "sbin/gitian-init";
/// The agent, put on the share at every boot.
const AGENT: &str = include_str!("../assets/agent.sh");

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
    /// The running guest's RAM in MiB (its memory limit).
    memory_mib: u64,
    /// The running guest's limits.
    limits: crate::core::limits::Limits,
    /// The host's watch on the running guest's disk (its overlay and share).
    watch: Option<super::limits::Watch>,
}

fn err(message: impl Into<String>) -> GuestError {
    GuestError { backend: "kvm", message: message.into() }
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> GuestError {
    err(format!("{what} '{}': {e}", path.display()))
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
        Self {
            accel,
            probe_cache,
            used: None,
            warnings: Vec::new(),
            vm: None,
            memory_mib: 0,
            limits: Default::default(),
            watch: None,
        }
    }

    /// The accelerator actually used by the last guest (`kvm` or `tcg`).
    pub fn used_accel(&self) -> Option<&'static str> {
        self.used
    }

    fn boot_with(&mut self, spec: &GuestSpec, accel: &'static str) -> Result<Vm, BootError> {
        boot(spec, accel, accel::boot_timeout(self.accel, accel))
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
        let mut w = std::mem::take(&mut self.warnings);
        if let Some(vm) = self.vm.as_mut() {
            w.append(&mut vm.notes);
        }
        w
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
        let (first, warning) =
            accel::first_choice(self.accel, Self::kvm_usable(), self.cached_probe(&spec.base))
                .map_err(err)?;
        self.warnings.extend(warning);
        let ram = qemu::guest_ram_mib(spec);
        if ram < spec.memory_mib {
            self.warnings.push(format!(
                "a 32-bit guest gets {ram} MiB of RAM under QEMU, not the {} MiB of its memory limit",
                spec.memory_mib
            ));
        }
        let mut used = first;
        let vm = match self.boot_with(spec, first) {
            Ok(vm) => {
                if first == "kvm" && self.accel == Accel::Auto {
                    self.store_probe(&spec.base, true);
                }
                vm
            }
            Err(failed) => {
                let fallback = match &failed {
                    BootError::Timeout(detail) => accel::after_timeout(self.accel, first, detail),
                    BootError::Failed(e) => accel::after_failure(self.accel, first, &e.to_string()),
                };
                let Some((next, warning)) = fallback else {
                    return Err(match failed {
                        BootError::Timeout(detail) => err(format!("guest did not boot: {detail}")),
                        BootError::Failed(e) => e,
                    });
                };
                self.store_probe(&spec.base, false);
                self.warnings.push(warning);
                used = next;
                match self.boot_with(spec, next) {
                    Ok(vm) => vm,
                    Err(BootError::Timeout(d)) => {
                        return Err(err(format!("guest did not boot: {d}")));
                    }
                    Err(BootError::Failed(e)) => return Err(e),
                }
            }
        };
        self.used = Some(used);
        // The disk: the growth of the file system holding the overlay and the share; a hit
        // stops QEMU (and virtiofsd), which ends the step.
        let watch = super::limits::Watch::start(spec.limits, Some(&spec.scratch));
        watch.kill_on_hit(vec![vm.qemu.pid(), vm.virtiofsd.pid()]);
        self.watch = Some(watch);
        self.limits = spec.limits;
        self.vm = Some(vm);
        self.memory_mib = u64::from(qemu::guest_ram_mib(spec));
        Ok(())
    }

    /// After a failed step: the disk limit when the host's watch stopped the guest, else what
    /// the guest says ([`limits::CHECK`]): its processes limit refused a fork, or its kernel's
    /// out-of-memory killer ended a process (the memory limit is the guest's RAM).
    fn limit_hit(&mut self) -> Option<crate::core::limits::LimitHit> {
        use crate::core::limits::{LimitHit, Which};
        if let Some(hit) = self.watch.as_ref().and_then(|w| w.hit()) {
            return Some(hit);
        }
        let vm = self.vm.as_mut()?;
        let code = vm.run(User::Root, None, false, limits::CHECK, &[], None, true).ok()?;
        let (which, value, detail) = match code {
            4 => (Which::Processes, self.limits.processes, "the guest kernel refused a fork"),
            3 => (
                Which::Memory,
                self.memory_mib,
                "the guest kernel's out-of-memory killer ended a process",
            ),
            _ => return None,
        };
        Some(LimitHit { which, value, detail: detail.into(), host_full: false })
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
            Some(p) => wrapper::script_with_prepare(cmd.script, p),
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
        self.watch = None;
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
