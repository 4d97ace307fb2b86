//! Backend selection: `--backend kvm|lxc|sandbox|docker|podman|vbox|auto|all|a,b,c`, Gitian's
//! `USE_LXC=1` / `USE_VBOX=1` / `USE_DOCKER=1` (exactly "1" means on), and what `auto` picks:
//! KVM when it really works, else LXC when it is installed and we are root, else the sandbox.
//! Every choice comes with a sentence saying why, for the user.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::docker::{Container, Engine};
use super::lxc::Lxc;
use super::sandbox::Sandbox;
use super::util::err;
use super::vbox::Vbox;
use super::{Guest, GuestError};

/// One guest backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    /// QEMU (KVM or TCG).
    Kvm,
    /// LXC containers.
    Lxc,
    /// The rootless namespace sandbox.
    Sandbox,
    /// Docker.
    Docker,
    /// podman.
    Podman,
    /// VirtualBox.
    Vbox,
}

impl Backend {
    /// Every backend, in the order `all` tries them.
    pub const ALL: [Self; 6] =
        [Self::Kvm, Self::Lxc, Self::Sandbox, Self::Docker, Self::Podman, Self::Vbox];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kvm => "kvm",
            Self::Lxc => "lxc",
            Self::Sandbox => "sandbox",
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Vbox => "vbox",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| {
            format!("unknown backend '{s}' (expected kvm, lxc, sandbox, docker, podman, vbox, auto, all or a comma list)")
        })
    }
}

/// What `--backend` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Pick one (see the module docs).
    Auto,
    /// Every available backend (the matrix).
    All,
    /// Exactly these, in this order.
    List(Vec<Backend>),
}

impl FromStr for Selection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" | "" => Ok(Self::Auto),
            "all" => Ok(Self::All),
            list => {
                let mut v: Vec<Backend> = Vec::new();
                for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                    let b: Backend = word.parse()?;
                    if v.contains(&b) {
                        return Err(format!("backend '{b}' is listed twice"));
                    }
                    v.push(b);
                }
                if v.is_empty() { Err("no backend given".into()) } else { Ok(Self::List(v)) }
            }
        }
    }
}

/// Gitian's environment: `USE_LXC`, `USE_VBOX`, `USE_DOCKER`, each on only when exactly "1".
/// When several are on, LXC wins over VirtualBox over Docker (gitian's make-clean-vm order).
pub fn from_gitian_env(get: impl Fn(&str) -> Option<String>) -> Option<Backend> {
    [("USE_LXC", Backend::Lxc), ("USE_VBOX", Backend::Vbox), ("USE_DOCKER", Backend::Docker)]
        .into_iter()
        .find(|(var, _)| get(var).as_deref() == Some("1"))
        .map(|(_, b)| b)
}

/// Answers whether a backend can run here (and why not).
pub trait Probe {
    /// `None` when `b` can run; else the reason it cannot.
    fn unavailable(&self, b: Backend) -> Option<String>;
    /// Whether the current user is root.
    fn is_root(&self) -> bool;
    /// `None` when KVM really accelerates guests here (so `auto` picks kvm); else why not.
    fn kvm_not_accelerated(&self) -> Option<String>;
}

/// Probes the real host.
#[derive(Debug, Default)]
pub struct HostProbe {
    /// The base image a kvm build would boot and its architecture, for KVM's boot probe;
    /// `None`: there is none, so `auto` does not pick kvm.
    pub kvm_base: Option<(PathBuf, String)>,
    /// The kvm backend's file of remembered probe answers (`<cache>/kvm-probe`).
    pub probe_cache: PathBuf,
}

/// Why the kvm backend cannot run at all (QEMU missing). Without working KVM it still runs,
/// on TCG, so `all` and explicit lists include it.
pub fn kvm_unavailable() -> Option<String> {
    (!super::util::on_path("qemu-system-x86_64"))
        .then(|| "qemu-system-x86_64 is not installed".into())
}

/// Why KVM would not really accelerate a guest of `base` (image folder, architecture) here, so
/// that `auto` prefers a container. `/dev/kvm` alone proves nothing (machine.md: a software
/// nested KVM that boots no stock kernel): this is the kvm backend's own boot probe, with the
/// answer it remembers in `probe_cache`, so `auto` and `--accel auto` always agree.
pub fn kvm_not_accelerated(base: Option<(&Path, &str)>, probe_cache: &Path) -> Option<String> {
    if let Some(why) = kvm_unavailable() {
        return Some(why);
    }
    let Some((base, arch)) = base else {
        return Some("no base image to probe KVM with".into());
    };
    super::kvm::kvm_boots(base, arch, probe_cache).err()
}

impl Probe for HostProbe {
    fn unavailable(&self, b: Backend) -> Option<String> {
        match b {
            Backend::Kvm => kvm_unavailable(),
            Backend::Lxc => Lxc::unavailable(),
            Backend::Sandbox => Sandbox::unavailable(),
            Backend::Docker => Engine::Docker.unavailable(),
            Backend::Podman => Engine::Podman.unavailable(),
            Backend::Vbox => Vbox::unavailable(),
        }
    }
    fn is_root(&self) -> bool {
        super::util::ids().0 == 0
    }
    fn kvm_not_accelerated(&self) -> Option<String> {
        kvm_not_accelerated(
            self.kvm_base.as_ref().map(|(b, a)| (b.as_path(), a.as_str())),
            &self.probe_cache,
        )
    }
}

/// The outcome of selection: backends to build on, and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The backends, in build order.
    pub backends: Vec<Backend>,
    /// Lines for the user: which backend auto picked and why, which `all` skipped.
    pub notes: Vec<String>,
}

/// Resolves `--backend` (and the Gitian environment when it is `auto`) into backends.
pub fn resolve(
    selection: &Selection,
    gitian_env: Option<Backend>,
    probe: &dyn Probe,
) -> Result<Choice, String> {
    match selection {
        Selection::Auto => auto(gitian_env, probe),
        Selection::All => {
            let mut backends = Vec::new();
            let mut notes = Vec::new();
            for b in Backend::ALL {
                match probe.unavailable(b) {
                    None => backends.push(b),
                    Some(why) => notes.push(format!("skipping {b}: {why}")),
                }
            }
            if backends.is_empty() {
                return Err(format!("no backend can run here: {}", notes.join("; ")));
            }
            Ok(Choice { backends, notes })
        }
        Selection::List(list) => {
            for &b in list {
                if let Some(why) = probe.unavailable(b) {
                    return Err(format!("backend '{b}' cannot run here: {why}"));
                }
            }
            Ok(Choice { backends: list.clone(), notes: Vec::new() })
        }
    }
}

/// `--backend auto`: the Gitian environment's USE_* backend when set (docker falling back to
/// podman), else the first of kvm (accelerated), lxc (as root), sandbox that can run here.
fn auto(gitian_env: Option<Backend>, probe: &dyn Probe) -> Result<Choice, String> {
    if let Some(b) = gitian_env {
        let b = if b == Backend::Docker
            && probe.unavailable(Backend::Docker).is_some()
            && probe.unavailable(Backend::Podman).is_none()
        {
            Backend::Podman
        } else {
            b
        };
        if let Some(why) = probe.unavailable(b) {
            return Err(format!("backend '{b}' (from USE_* in the environment) cannot run: {why}"));
        }
        return Ok(Choice {
            backends: vec![b],
            notes: vec![format!("using {b} (USE_* environment)")],
        });
    }
    let kvm = probe.kvm_not_accelerated();
    let Some(kvm_why) = kvm else {
        return Ok(Choice { backends: vec![Backend::Kvm], notes: vec!["using kvm".into()] });
    };
    let lxc_why =
        if probe.is_root() { probe.unavailable(Backend::Lxc) } else { Some("not root".into()) };
    if lxc_why.is_none() {
        return Ok(Choice {
            backends: vec![Backend::Lxc],
            notes: vec![format!("using lxc (kvm: {kvm_why})")],
        });
    }
    if let Some(sb_why) = probe.unavailable(Backend::Sandbox) {
        return Err(format!(
            "no backend can run here: kvm: {kvm_why}; lxc: {}; sandbox: {sb_why}",
            lxc_why.unwrap_or_default()
        ));
    }
    Ok(Choice {
        backends: vec![Backend::Sandbox],
        notes: vec![format!(
            "using sandbox (kvm: {kvm_why}; lxc: {})",
            lxc_why.unwrap_or_default()
        )],
    })
}

/// A guest of backend `b` (not yet created). The kvm backend lives in `guest::kvm` and is
/// opened by the build orchestration.
pub fn open(b: Backend) -> Result<Box<dyn Guest>, GuestError> {
    Ok(match b {
        Backend::Lxc => Box::new(Lxc::new()),
        Backend::Sandbox => Box::new(Sandbox::new()),
        Backend::Docker => Box::new(Container::new(Engine::Docker)),
        Backend::Podman => Box::new(Container::new(Engine::Podman)),
        Backend::Vbox => Box::new(Vbox::new()),
        Backend::Kvm => return Err(err("kvm", "the kvm backend is opened by guest::kvm")),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Fake {
        down: HashMap<Backend, &'static str>,
        root: bool,
        /// Why KVM does not accelerate (QEMU itself may still run, on TCG).
        no_accel: Option<&'static str>,
    }

    impl Probe for Fake {
        fn unavailable(&self, b: Backend) -> Option<String> {
            self.down.get(&b).map(|s| s.to_string())
        }
        fn is_root(&self) -> bool {
            self.root
        }
        fn kvm_not_accelerated(&self) -> Option<String> {
            self.no_accel.or_else(|| self.down.get(&Backend::Kvm).copied()).map(str::to_string)
        }
    }

    fn fake(down: &[(Backend, &'static str)], root: bool) -> Fake {
        Fake { down: down.iter().copied().collect(), root, no_accel: None }
    }

    #[test]
    fn tcg_only_kvm_is_in_all_but_not_picked_by_auto() {
        let p =
            Fake { no_accel: Some("no vmx"), ..fake(&[(Backend::Vbox, "not installed")], true) };
        let c = resolve(&Selection::All, None, &p).unwrap();
        assert_eq!(c.backends[0], Backend::Kvm);
        let c = resolve(&Selection::Auto, None, &p).unwrap();
        assert_eq!(c.backends, vec![Backend::Lxc]);
        assert_eq!(c.notes, vec!["using lxc (kvm: no vmx)".to_string()]);
    }

    #[test]
    fn parses_backend_lists() {
        assert_eq!("auto".parse::<Selection>(), Ok(Selection::Auto));
        assert_eq!("all".parse::<Selection>(), Ok(Selection::All));
        assert_eq!(
            "lxc, sandbox".parse::<Selection>(),
            Ok(Selection::List(vec![Backend::Lxc, Backend::Sandbox]))
        );
        assert!("lxc,lxc".parse::<Selection>().is_err());
        assert!("qemu".parse::<Selection>().unwrap_err().contains("unknown backend 'qemu'"));
    }

    #[test]
    fn gitian_env_needs_exactly_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(from_gitian_env(env(&[("USE_LXC", "1")])), Some(Backend::Lxc));
        assert_eq!(
            from_gitian_env(env(&[("USE_LXC", "0"), ("USE_DOCKER", "1")])),
            Some(Backend::Docker)
        );
        assert_eq!(from_gitian_env(env(&[("USE_LXC", "yes"), ("USE_VBOX", "true")])), None);
        assert_eq!(
            from_gitian_env(env(&[("USE_DOCKER", "1"), ("USE_VBOX", "1")])),
            Some(Backend::Vbox)
        );
    }

    #[test]
    fn auto_prefers_kvm_then_lxc_as_root_then_sandbox() {
        let all_up = fake(&[], true);
        assert_eq!(resolve(&Selection::Auto, None, &all_up).unwrap().backends, vec![Backend::Kvm]);
        let no_kvm = fake(&[(Backend::Kvm, "no vmx")], true);
        let c = resolve(&Selection::Auto, None, &no_kvm).unwrap();
        assert_eq!(c.backends, vec![Backend::Lxc]);
        assert_eq!(c.notes, vec!["using lxc (kvm: no vmx)".to_string()]);
        let user = fake(&[(Backend::Kvm, "no vmx")], false);
        let c = resolve(&Selection::Auto, None, &user).unwrap();
        assert_eq!(c.backends, vec![Backend::Sandbox]);
        assert_eq!(c.notes, vec!["using sandbox (kvm: no vmx; lxc: not root)".to_string()]);
        let nothing =
            fake(&[(Backend::Kvm, "a"), (Backend::Lxc, "b"), (Backend::Sandbox, "c")], true);
        assert!(resolve(&Selection::Auto, None, &nothing).is_err());
    }

    #[test]
    fn gitian_env_overrides_auto() {
        let p = fake(&[(Backend::Docker, "no daemon")], true);
        let c = resolve(&Selection::Auto, Some(Backend::Docker), &p).unwrap();
        assert_eq!(c.backends, vec![Backend::Podman]);
        let c = resolve(&Selection::Auto, Some(Backend::Lxc), &p).unwrap();
        assert_eq!(c.backends, vec![Backend::Lxc]);
        let p = fake(&[(Backend::Vbox, "not installed")], true);
        assert!(
            resolve(&Selection::Auto, Some(Backend::Vbox), &p)
                .unwrap_err()
                .contains("not installed")
        );
    }

    #[test]
    fn all_skips_what_cannot_run_and_lists_fail_on_it() {
        let p = fake(&[(Backend::Kvm, "no vmx"), (Backend::Vbox, "not installed")], true);
        let c = resolve(&Selection::All, None, &p).unwrap();
        assert_eq!(
            c.backends,
            vec![Backend::Lxc, Backend::Sandbox, Backend::Docker, Backend::Podman]
        );
        assert_eq!(
            c.notes,
            vec!["skipping kvm: no vmx".to_string(), "skipping vbox: not installed".to_string()]
        );
        let list = Selection::List(vec![Backend::Sandbox, Backend::Vbox]);
        assert!(resolve(&list, None, &p).unwrap_err().contains("'vbox' cannot run here"));
    }
}
