//! The accelerator: `kvm`, `tcg`, or `auto` (KVM when a guest really boots under it on this
//! host, remembered per host boot; TCG with a warning otherwise). The decision is the pure
//! [`first_choice`] and [`after_timeout`]; the probe boot and its memory are the effects.

use std::fs;
use std::path::Path;
use std::time::Duration;

use super::qemu::{BootError, boot};
use super::{Accel, BOOT_TIMEOUT, DISK, INITRD, KERNEL, KVM_PROBE_TIMEOUT, Kvm};
use crate::guest::GuestSpec;

/// The accelerator the first boot uses, and the warning to show when `auto` settles for TCG.
/// `kvm_opens`: whether /dev/kvm can be opened (why not, if not); `remembered`: the probe's
/// answer remembered for this base since the host booted. `Err` when `--accel kvm` cannot be
/// honoured.
pub fn first_choice(
    accel: Accel,
    kvm_opens: Result<(), String>,
    remembered: Option<bool>,
) -> Result<(&'static str, Option<String>), String> {
    match (accel, kvm_opens, remembered) {
        (Accel::Tcg, _, _) => Ok(("tcg", None)),
        (Accel::Kvm, Err(e), _) => Err(format!("--accel kvm: {e}")),
        (Accel::Kvm, Ok(()), _) => Ok(("kvm", None)),
        (Accel::Auto, Err(e), _) => {
            Ok(("tcg", Some(format!("KVM is not available ({e}); using TCG (slow)"))))
        }
        (Accel::Auto, Ok(()), Some(false)) => Ok((
            "tcg",
            Some("KVM could not boot the guest on this host earlier; using TCG (slow)".into()),
        )),
        (Accel::Auto, Ok(()), _) => Ok(("kvm", None)),
    }
}

/// After a boot under `tried` timed out: the accelerator to boot with instead and the warning
/// (only `auto` falls back, from KVM to TCG), or `None` when the timeout is the answer.
pub fn after_timeout(accel: Accel, tried: &str, detail: &str) -> Option<(&'static str, String)> {
    (accel == Accel::Auto && tried == "kvm").then(|| {
        let secs = KVM_PROBE_TIMEOUT.as_secs();
        (
            "tcg",
            format!(
                "KVM did not boot the guest within {secs} s ({detail}); falling back to TCG (slow)"
            ),
        )
    })
}

/// After a boot under `tried` failed at once (QEMU refused to start or died: some hosts' KVM
/// aborts on the CPU's registers as the machine starts): as [`after_timeout`], only `auto`
/// falls back from KVM to TCG.
pub fn after_failure(accel: Accel, tried: &str, detail: &str) -> Option<(&'static str, String)> {
    (accel == Accel::Auto && tried == "kvm").then(|| {
        ("tcg", format!("KVM could not start the guest ({detail}); falling back to TCG (slow)"))
    })
}

/// How long a boot under `used` may take: `auto`'s KVM try is short (a guest that KVM can run
/// is up in a second or two), an explicit KVM a minute, TCG four (a loaded 2-core machine).
pub fn boot_timeout(accel: Accel, used: &str) -> Duration {
    match (used, accel) {
        ("kvm", Accel::Auto) => KVM_PROBE_TIMEOUT,
        ("kvm", _) => KVM_PROBE_TIMEOUT * 6,
        _ => BOOT_TIMEOUT,
    }
}

impl Kvm {
    pub(super) fn kvm_usable() -> Result<(), String> {
        match fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("/dev/kvm: {e}")),
        }
    }

    pub(super) fn host_boot_id() -> String {
        fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default().trim().into()
    }

    pub(super) fn cached_probe(&self, base: &Path) -> Option<bool> {
        let text = fs::read_to_string(self.probe_cache.as_ref()?).ok()?;
        let key = format!("{} {}", Self::host_boot_id(), base.display());
        text.lines().find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            (k == key).then_some(v == "kvm")
        })
    }

    pub(super) fn store_probe(&self, base: &Path, kvm_works: bool) {
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
    let scratch = crate::guest::util::own_temp_dir(&std::env::temp_dir(), "gitian-kvm-probe")
        .map_err(|e| format!("cannot probe KVM: cannot create a temporary folder: {e}"))?;
    let spec = GuestSpec {
        distro: "debian".into(),
        suite: "probe".into(),
        arch: arch.into(),
        base: base.to_path_buf(),
        scratch: scratch.path().join("guest"),
        memory_mib: 512,
        limits: Default::default(),
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
        Err(BootError::Failed(e)) => {
            kvm.store_probe(base, false);
            Err(format!("KVM could not start the guest: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_DEV: fn() -> Result<(), String> = || Err("/dev/kvm: No such file or directory".into());

    #[test]
    fn tcg_is_tcg_whatever_the_host() {
        for opens in [Ok(()), NO_DEV()] {
            for remembered in [None, Some(true), Some(false)] {
                assert_eq!(first_choice(Accel::Tcg, opens.clone(), remembered), Ok(("tcg", None)));
            }
        }
        assert_eq!(after_timeout(Accel::Tcg, "tcg", "x"), None);
        assert_eq!(boot_timeout(Accel::Tcg, "tcg"), BOOT_TIMEOUT);
    }

    #[test]
    fn kvm_is_kvm_or_an_error_never_a_fallback() {
        assert_eq!(
            first_choice(Accel::Kvm, NO_DEV(), None),
            Err("--accel kvm: /dev/kvm: No such file or directory".into())
        );
        // A remembered failed probe does not overrule an explicit choice.
        assert_eq!(first_choice(Accel::Kvm, Ok(()), Some(false)), Ok(("kvm", None)));
        assert_eq!(after_timeout(Accel::Kvm, "kvm", "x"), None);
        assert_eq!(boot_timeout(Accel::Kvm, "kvm"), Duration::from_secs(60));
    }

    #[test]
    fn auto_tries_kvm_unless_it_cannot_open_or_failed_before() {
        assert_eq!(first_choice(Accel::Auto, Ok(()), None), Ok(("kvm", None)));
        assert_eq!(first_choice(Accel::Auto, Ok(()), Some(true)), Ok(("kvm", None)));
        let (a, w) = first_choice(Accel::Auto, Ok(()), Some(false)).unwrap();
        assert_eq!(
            (a, w.unwrap().as_str()),
            ("tcg", "KVM could not boot the guest on this host earlier; using TCG (slow)")
        );
        let (a, w) = first_choice(Accel::Auto, NO_DEV(), None).unwrap();
        assert_eq!(
            (a, w.unwrap().as_str()),
            ("tcg", "KVM is not available (/dev/kvm: No such file or directory); using TCG (slow)")
        );
        assert_eq!(boot_timeout(Accel::Auto, "kvm"), Duration::from_secs(10));
        assert_eq!(boot_timeout(Accel::Auto, "tcg"), BOOT_TIMEOUT);
    }

    #[test]
    fn auto_falls_back_to_tcg_only_after_a_kvm_timeout() {
        assert_eq!(
            after_timeout(Accel::Auto, "kvm", "no output on its console"),
            Some((
                "tcg",
                "KVM did not boot the guest within 10 s (no output on its console); falling back \
                 to TCG (slow)"
                    .into()
            ))
        );
        assert_eq!(after_timeout(Accel::Auto, "tcg", "x"), None);
    }

    #[test]
    fn auto_falls_back_to_tcg_when_kvm_cannot_start_and_kvm_never_does() {
        assert_eq!(
            after_failure(Accel::Auto, "kvm", "qemu exited with status 134"),
            Some((
                "tcg",
                "KVM could not start the guest (qemu exited with status 134); falling back to \
                 TCG (slow)"
                    .into()
            ))
        );
        assert_eq!(after_failure(Accel::Kvm, "kvm", "x"), None);
        assert_eq!(after_failure(Accel::Auto, "tcg", "x"), None);
        assert_eq!(after_failure(Accel::Tcg, "tcg", "x"), None);
    }
}
