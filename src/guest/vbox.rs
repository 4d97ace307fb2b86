//! The VirtualBox backend, on Gitian's contract: a VM named `Gitian-<suite>-<arch>` with a
//! snapshot `Gitian-Clean` taken while booted, ssh forwarded from host port 2223, and the key
//! `${GITIAN_BASE:-.}/var/id_rsa` accepted for root and the distro user. `create` restores the
//! snapshot and starts the VM headless, `destroy` saves its state, as Gitian's
//! make-clean-vm/start-target/stop-target did.
//!
//! Not tested against a real VirtualBox: it cannot be installed on the project's machines (not
//! in Debian 12 main, and no VT-x). The tests check the exact command lines it runs.
//!
//! Commands go through ssh as root; the build user is reached with `runuser`, and a command
//! without network runs under `unshare --net` inside the VM (the NAT interface carries ssh, so
//! it cannot be unplugged while the script runs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::env::{self, GuestUser};
use super::util::{self, err};
use super::{Exec, Guest, GuestError, GuestSpec, Network, User, copy};
pub use crate::process::{HostRunner, Runner};
use crate::process::{Invocation, shell_quote};

const NAME: &str = "vbox";

/// The forwarded ssh port of Gitian's VirtualBox VMs.
pub const SSH_PORT: u16 = 2223;

/// The VirtualBox backend.
#[derive(Debug)]
pub struct Vbox {
    runner: Box<dyn Runner>,
    key: PathBuf,
    state: Option<State>,
}

#[derive(Debug)]
struct State {
    vm: String,
    build: GuestUser,
}

/// `Gitian-<suite>-<arch>`.
pub fn vm_name(suite: &str, arch: &str) -> String {
    format!("Gitian-{suite}-{arch}")
}

impl Vbox {
    /// A backend running real commands, with Gitian's key `${GITIAN_BASE:-.}/var/id_rsa`.
    pub fn new() -> Self {
        let base =
            std::env::var_os("GITIAN_BASE").map_or_else(|| PathBuf::from("."), PathBuf::from);
        Self::with_runner(Box::new(HostRunner), base.join("var/id_rsa"))
    }

    /// A backend with its own runner and ssh key.
    pub fn with_runner(runner: Box<dyn Runner>, key: PathBuf) -> Self {
        Self { runner, key, state: None }
    }

    /// Why VirtualBox cannot run here, if it cannot.
    pub fn unavailable() -> Option<String> {
        (!util::on_path("VBoxManage")).then(|| "VirtualBox is not installed (no VBoxManage)".into())
    }

    /// `ssh ... root@localhost` and the remote command line (one shell-quoted string).
    fn ssh(&self, remote: &[String]) -> Invocation {
        Invocation::new("ssh")
            .args(["-oConnectTimeout=30", "-oNoHostAuthenticationForLocalhost=yes"])
            .args(["-oBatchMode=yes", "-i"])
            .arg(&self.key)
            .args(["-p", &SSH_PORT.to_string(), "root@localhost"])
            .arg(remote.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" "))
    }

    fn run(
        &self,
        inv: &Invocation,
        stdin: Option<&[u8]>,
        log: Option<&Path>,
    ) -> Result<i32, GuestError> {
        self.runner.run(inv, stdin, log).map_err(GuestError::process(NAME))
    }

    /// The remote argv for a command as `user` with `network`.
    fn remote(user: User, network: Network, build: &GuestUser, inner: Vec<String>) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if network == Network::Offline {
            v.extend(["unshare".into(), "--net".into(), "--".into()]);
        }
        if user == User::Build {
            v.extend(["runuser".into(), "-u".into(), build.name.clone(), "--".into()]);
        }
        v.extend(inner);
        v
    }

    fn state(&self) -> Result<&State, GuestError> {
        self.state.as_ref().ok_or_else(|| err(NAME, "no guest: create was not called"))
    }
}

impl Default for Vbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Guest for Vbox {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create(&mut self, spec: &GuestSpec) -> Result<(), GuestError> {
        self.destroy()?;
        let vm = vm_name(&spec.suite, &spec.arch);
        let vbm = |args: &[&str]| Invocation::new("VBoxManage").args(args);
        for inv in [
            vbm(&["snapshot", &vm, "restore", "Gitian-Clean"]),
            vbm(&["startvm", &vm, "--type", "headless"]),
        ] {
            let code = self.run(&inv, None, None)?;
            if code != 0 {
                return Err(err(NAME, format!("{} failed (exit status {code})", inv.display())));
            }
        }
        // From here on the VM runs: destroy must save it even if ssh never answers.
        let home = format!("/home/{}", spec.distro);
        let build = GuestUser { name: spec.distro.clone(), uid: 1000, gid: 1000, home };
        self.state = Some(State { vm: vm.clone(), build });
        let probe = self.ssh(&["true".to_string()]);
        for _ in 0..30 {
            if self.run(&probe, None, None)? == 0 {
                return Ok(());
            }
            self.runner.sleep(Duration::from_secs(2));
        }
        let _ = self.destroy();
        Err(err(NAME, format!("{vm} did not answer on ssh port {SSH_PORT} within 60 s")))
    }

    fn exec(&mut self, cmd: &Exec<'_>) -> Result<i32, GuestError> {
        let st = self.state()?;
        let who = if cmd.user == User::Root { GuestUser::root() } else { st.build.clone() };
        let remote = Self::remote(cmd.user, cmd.network, &st.build, env::inner_argv(&who, cmd));
        let inv = self.ssh(&remote);
        self.run(&inv, Some(cmd.script.as_bytes()), cmd.log)
    }

    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        copy::check_guest_path(NAME, guest_dir)?;
        let st = self.state()?;
        let inner = copy::untar_argv(&st.build, guest_dir);
        let consumer = self.ssh(&Self::remote(User::Build, Network::Offline, &st.build, inner));
        let producer = copy::tar_create(host).map_err(|e| err(NAME, e))?;
        self.runner.pipe(&producer, &consumer).map_err(GuestError::process(NAME))
    }

    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        copy::check_guest_path(NAME, guest_path)?;
        let st = self.state()?;
        let inner = copy::tar_argv(&st.build, guest_path);
        let producer = self.ssh(&Self::remote(User::Build, Network::Offline, &st.build, inner));
        std::fs::create_dir_all(host_dir)
            .map_err(|e| err(NAME, format!("cannot create {}: {e}", host_dir.display())))?;
        let consumer = copy::tar_extract(host_dir);
        self.runner.pipe(&producer, &consumer).map_err(GuestError::process(NAME))
    }

    fn destroy(&mut self) -> Result<(), GuestError> {
        let Some(st) = self.state.take() else { return Ok(()) };
        let inv = Invocation::new("VBoxManage").args(["controlvm", &st.vm, "savestate"]);
        match self.run(&inv, None, None)? {
            0 => Ok(()),
            code => Err(err(NAME, format!("{} failed (exit status {code})", inv.display()))),
        }
    }
}

impl Drop for Vbox {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Recorder;

    fn spec() -> GuestSpec {
        GuestSpec {
            distro: "debian".into(),
            suite: "bookworm".into(),
            arch: "amd64".into(),
            base: "/b".into(),
            scratch: "/s".into(),
            memory_mib: 2000,
            limits: Default::default(),
            cpus: 2,
            network: true,
        }
    }

    #[test]
    fn records_gitians_command_lines() {
        let rec = Recorder::new();
        rec.reply("root@localhost true", Some(1), 255, "");
        let mut g = Vbox::with_runner(Box::new(rec.clone()), "/g/var/id_rsa".into());
        g.create(&spec()).unwrap();
        let env = [("APT_LISTCHANGES_FRONTEND".to_string(), "none".to_string())];
        let install = Exec {
            user: User::Root,
            network: Network::Online,
            setarch: None,
            trace: false,
            script: "apt-get update\n",
            env: &env,
            log: None,
        };
        assert_eq!(g.exec(&install).unwrap(), 0);
        g.copy_in(Path::new("/w/inputs/hello"), "build").unwrap();
        let script = Exec {
            user: User::Build,
            network: Network::Offline,
            setarch: Some("linux64"),
            trace: true,
            script: "make\n",
            env: &[],
            log: None,
        };
        assert_eq!(g.exec(&script).unwrap(), 0);
        g.destroy().unwrap();
        g.destroy().unwrap(); // idempotent: no second savestate
        let ssh = "ssh -oConnectTimeout=30 -oNoHostAuthenticationForLocalhost=yes -oBatchMode=yes \
                   -i /g/var/id_rsa -p 2223 root@localhost";
        let user_env = "env -i HOME=/home/debian USER=debian LOGNAME=debian SHELL=/bin/bash \
                        PATH=/usr/local/bin:/usr/bin:/bin:/usr/games";
        let got = rec.lines();
        let want = vec![
            "VBoxManage snapshot Gitian-bookworm-amd64 restore Gitian-Clean".to_string(),
            "VBoxManage startvm Gitian-bookworm-amd64 --type headless".to_string(),
            format!("{ssh} true"),
            "sleep 2".to_string(),
            format!("{ssh} true"),
            format!(
                "{ssh} '/bin/sh -c '\\''umask 022 && cd \"$0\" && exec \"$@\"'\\'' /root env -i HOME=/root USER=root \
                 LOGNAME=root SHELL=/bin/bash \
                 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                 DEBIAN_FRONTEND=noninteractive APT_LISTCHANGES_FRONTEND=none bash' <<< \"apt-get update\\n\""
            ),
            format!(
                "tar -C /w/inputs -cf - hello | {ssh} 'unshare --net -- runuser -u debian -- {user_env} \
                 /bin/sh -c '\\''cd && mkdir -p build && exec tar -C build --no-same-owner -xf -'\\'''"
            ),
            format!(
                "{ssh} 'unshare --net -- runuser -u debian -- /bin/sh -c '\\''umask 022 && cd \"$0\" && exec \"$@\"'\\'' \
                 /home/debian {user_env} setarch linux64 bash -x' <<< \"make\\n\""
            ),
            "VBoxManage controlvm Gitian-bookworm-amd64 savestate".to_string(),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn copy_out_pipes_tar_from_the_vm() {
        let rec = Recorder::new();
        let mut g = Vbox::with_runner(Box::new(rec.clone()), "k".into());
        g.create(&spec()).unwrap();
        let host = std::env::temp_dir().join(format!("vbox-copy-out-{}", std::process::id()));
        g.copy_out("build/out", &host).unwrap();
        let _ = std::fs::remove_dir_all(&host);
        let got = rec.lines();
        let line = got.iter().find(|l| l.contains(" | tar")).unwrap();
        assert!(line.contains("'\\''cd && exec tar -C build -cf - out'\\'''"), "{line}");
        assert!(
            line.ends_with(&format!(
                "| tar -C {} --no-same-owner --no-same-permissions -xf -",
                host.display()
            )),
            "{line}"
        );
    }
}
