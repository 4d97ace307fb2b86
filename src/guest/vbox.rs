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

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::util::{self, GuestUser, command, err};
use super::{Exec, Guest, GuestError, GuestSpec, Network, User};

const NAME: &str = "vbox";

/// The forwarded ssh port of Gitian's VirtualBox VMs.
pub const SSH_PORT: u16 = 2223;

/// Runs host commands for the backend; swapped for a recorder in tests.
pub trait Runner: std::fmt::Debug {
    /// Runs `argv` with `stdin` (if any) and stdout/stderr appended to `log` (or discarded);
    /// returns the exit code.
    fn run(
        &mut self,
        argv: &[String],
        stdin: Option<&[u8]>,
        log: Option<&Path>,
    ) -> Result<i32, GuestError>;
    /// Runs `producer | consumer`; errors unless both exit 0.
    fn pipe(&mut self, producer: &[String], consumer: &[String]) -> Result<(), GuestError>;
    /// Waits before retrying (the ssh wait loop).
    fn sleep(&mut self, secs: u64);
}

/// The real runner.
#[derive(Debug, Default)]
pub struct HostRunner;

impl Runner for HostRunner {
    fn run(
        &mut self,
        argv: &[String],
        stdin: Option<&[u8]>,
        log: Option<&Path>,
    ) -> Result<i32, GuestError> {
        let (out, errs) = util::log_stdio(NAME, log)?;
        let mut c = command(&argv[0]);
        c.args(&argv[1..]);
        let mut child = c
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(out)
            .stderr(errs)
            .spawn()
            .map_err(|e| err(NAME, format!("cannot run {}: {e}", util::show(&c))))?;
        if let Some(input) = stdin {
            util::feed_stdin(&mut child, input);
        }
        let status = util::wait(NAME, &mut child, util::Stop::Kill)?;
        Ok(util::exit_code(status))
    }

    fn pipe(&mut self, producer: &[String], consumer: &[String]) -> Result<(), GuestError> {
        let mut p = command(&producer[0]);
        p.args(&producer[1..]);
        let mut c = command(&consumer[0]);
        c.args(&consumer[1..]);
        util::pipe(NAME, &mut p, &mut c)
    }

    fn sleep(&mut self, secs: u64) {
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
}

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
    fn ssh(&self, remote: &[String]) -> Vec<String> {
        let mut v: Vec<String> = [
            "ssh",
            "-oConnectTimeout=30",
            "-oNoHostAuthenticationForLocalhost=yes",
            "-oBatchMode=yes",
            "-i",
        ]
        .map(String::from)
        .to_vec();
        v.push(self.key.display().to_string());
        v.extend(["-p".into(), SSH_PORT.to_string(), "root@localhost".into()]);
        v.push(remote.iter().map(|w| util::quote(w)).collect::<Vec<_>>().join(" "));
        v
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
        let vbm = |args: &[&str]| -> Vec<String> {
            std::iter::once("VBoxManage").chain(args.iter().copied()).map(String::from).collect()
        };
        for argv in [
            vbm(&["snapshot", &vm, "restore", "Gitian-Clean"]),
            vbm(&["startvm", &vm, "--type", "headless"]),
        ] {
            let code = self.runner.run(&argv, None, None)?;
            if code != 0 {
                return Err(err(NAME, format!("{} failed (exit status {code})", argv.join(" "))));
            }
        }
        // From here on the VM runs: destroy must save it even if ssh never answers.
        let home = format!("/home/{}", spec.distro);
        let build = GuestUser { name: spec.distro.clone(), uid: 1000, gid: 1000, home };
        self.state = Some(State { vm: vm.clone(), build });
        let probe = self.ssh(&["true".to_string()]);
        for _ in 0..30 {
            if self.runner.run(&probe, None, None)? == 0 {
                return Ok(());
            }
            self.runner.sleep(2);
        }
        let _ = self.destroy();
        Err(err(NAME, format!("{vm} did not answer on ssh port {SSH_PORT} within 60 s")))
    }

    fn exec(&mut self, cmd: &Exec<'_>) -> Result<i32, GuestError> {
        let st = self.state()?;
        let who = if cmd.user == User::Root { GuestUser::root() } else { st.build.clone() };
        let remote = Self::remote(cmd.user, cmd.network, &st.build, util::inner_argv(&who, cmd));
        let argv = self.ssh(&remote);
        self.runner.run(&argv, Some(cmd.script.as_bytes()), cmd.log)
    }

    fn copy_in(&mut self, host: &Path, guest_dir: &str) -> Result<(), GuestError> {
        util::check_guest_path(NAME, guest_dir)?;
        let st = self.state()?;
        let mut inner = util::env_argv(&st.build, &[]);
        inner.extend(["/bin/sh".into(), "-c".into()]);
        inner.push(format!(
            "cd && mkdir -p {0} && exec tar -C {0} --no-same-owner -xf -",
            util::quote(guest_dir)
        ));
        let consumer = self.ssh(&Self::remote(User::Build, Network::Offline, &st.build, inner));
        let producer = util::tar_create(host).map_err(|e| err(NAME, e))?;
        let producer: Vec<String> = std::iter::once(producer.get_program())
            .chain(producer.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        self.runner.pipe(&producer, &consumer)
    }

    fn copy_out(&mut self, guest_path: &str, host_dir: &Path) -> Result<(), GuestError> {
        util::check_guest_path(NAME, guest_path)?;
        let st = self.state()?;
        let p = Path::new(guest_path);
        let parent = p.parent().filter(|x| !x.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut inner = util::env_argv(&st.build, &[]);
        inner.extend(["/bin/sh".into(), "-c".into()]);
        inner.push(format!(
            "cd && exec tar -C {} -cf - {}",
            util::quote(&parent.display().to_string()),
            util::quote(&file)
        ));
        let producer = self.ssh(&Self::remote(User::Build, Network::Offline, &st.build, inner));
        fs::create_dir_all(host_dir)
            .map_err(|e| err(NAME, format!("cannot create {}: {e}", host_dir.display())))?;
        let consumer = util::tar_extract(host_dir);
        let consumer: Vec<String> = std::iter::once(consumer.get_program())
            .chain(consumer.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        self.runner.pipe(&producer, &consumer)
    }

    fn destroy(&mut self) -> Result<(), GuestError> {
        let Some(st) = self.state.take() else { return Ok(()) };
        let argv: Vec<String> = ["VBoxManage", "controlvm", &st.vm, "savestate"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match self.runner.run(&argv, None, None)? {
            0 => Ok(()),
            code => Err(err(NAME, format!("{} failed (exit status {code})", argv.join(" ")))),
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
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Records every command line; `ssh ... true` fails `fail_probes` times first.
    #[derive(Debug, Clone, Default)]
    struct Recorder {
        log: Arc<Mutex<Vec<String>>>,
        fail_probes: Arc<Mutex<u32>>,
    }

    impl Runner for Recorder {
        fn run(
            &mut self,
            argv: &[String],
            stdin: Option<&[u8]>,
            _log: Option<&Path>,
        ) -> Result<i32, GuestError> {
            let mut line = argv.iter().map(|a| util::quote(a)).collect::<Vec<_>>().join(" ");
            if let Some(s) = stdin {
                line.push_str(&format!(" <<< {:?}", String::from_utf8_lossy(s)));
            }
            self.log.lock().unwrap().push(line);
            let mut fails = self.fail_probes.lock().unwrap();
            if argv.last().map(String::as_str) == Some("true") && *fails > 0 {
                *fails -= 1;
                return Ok(255);
            }
            Ok(0)
        }
        fn pipe(&mut self, producer: &[String], consumer: &[String]) -> Result<(), GuestError> {
            let q = |v: &[String]| v.iter().map(|a| util::quote(a)).collect::<Vec<_>>().join(" ");
            self.log.lock().unwrap().push(format!("{} | {}", q(producer), q(consumer)));
            Ok(())
        }
        fn sleep(&mut self, secs: u64) {
            self.log.lock().unwrap().push(format!("sleep {secs}"));
        }
    }

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
        let rec = Recorder::default();
        *rec.fail_probes.lock().unwrap() = 1;
        let mut g = Vbox::with_runner(Box::new(rec.clone()), "/g/var/id_rsa".into());
        g.create(&spec()).unwrap();
        let env = [("DEBIAN_FRONTEND".to_string(), "noninteractive".to_string())];
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
        let got = rec.log.lock().unwrap().clone();
        let want = vec![
            "VBoxManage snapshot Gitian-bookworm-amd64 restore Gitian-Clean".to_string(),
            "VBoxManage startvm Gitian-bookworm-amd64 --type headless".to_string(),
            format!("{ssh} true"),
            "sleep 2".to_string(),
            format!("{ssh} true"),
            format!(
                "{ssh} '/bin/sh -c '\\''cd \"$0\" && exec \"$@\"'\\'' /root env -i HOME=/root USER=root \
                 LOGNAME=root SHELL=/bin/bash \
                 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                 DEBIAN_FRONTEND=noninteractive bash' <<< \"apt-get update\\n\""
            ),
            format!(
                "tar -C /w/inputs -cf - hello | {ssh} 'unshare --net -- runuser -u debian -- {user_env} \
                 /bin/sh -c '\\''cd && mkdir -p build && exec tar -C build --no-same-owner -xf -'\\'''"
            ),
            format!(
                "{ssh} 'unshare --net -- runuser -u debian -- /bin/sh -c '\\''cd \"$0\" && exec \"$@\"'\\'' \
                 /home/debian {user_env} setarch linux64 bash -x' <<< \"make\\n\""
            ),
            "VBoxManage controlvm Gitian-bookworm-amd64 savestate".to_string(),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn copy_out_pipes_tar_from_the_vm() {
        let rec = Recorder::default();
        let mut g = Vbox::with_runner(Box::new(rec.clone()), "k".into());
        g.create(&spec()).unwrap();
        let host = std::env::temp_dir().join(format!("vbox-copy-out-{}", std::process::id()));
        g.copy_out("build/out", &host).unwrap();
        let _ = fs::remove_dir_all(&host);
        let got = rec.log.lock().unwrap().clone();
        let line = got.iter().find(|l| l.contains(" | tar")).unwrap();
        assert!(line.contains("'\\''cd && exec tar -C build -cf - out'\\'''"), "{line}");
        assert!(
            line.ends_with(&format!("| tar -C {} --no-same-owner -xf -", host.display())),
            "{line}"
        );
    }
}
