//! What a build sees of its guest, decided once for every backend: the login environment
//! ([`login_vars`]: HOME, USER, LOGNAME, SHELL, PATH, DEBIAN_FRONTEND for root, then the
//! command's own variables), the umask ([`UMASK`]), the working directory (the home), the
//! personality and the shell. The container backends run [`inner_argv`]; kvm writes the same
//! values into its wrapper script (`kvm::login`). The host name ([`HOSTNAME`]) and the network
//! devices (loopback only while the script runs) are each backend's to set up, and the
//! cross-backend test (`test_backends_cli_matrix_agrees_on_every_backend`) compares what a
//! script records of all of it, byte for byte.

use super::{Exec, User};

/// The build user of a root file system: name, uid, gid and home from its /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

impl GuestUser {
    /// root.
    pub(crate) fn root() -> Self {
        Self { name: "root".into(), uid: 0, gid: 0, home: "/root".into() }
    }

    /// An unprivileged user named `name` with the Debian home, for backends that cannot read
    /// the guest's passwd before they run commands (kvm, vbox); only uid != 0 matters there.
    pub(crate) fn unprivileged(name: &str) -> Self {
        Self { name: name.into(), uid: 1000, gid: 1000, home: format!("/home/{name}") }
    }

    /// Looks `name` up in the passwd text of a root file system.
    pub(crate) fn from_passwd(passwd: &str, name: &str) -> Option<Self> {
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0] != name {
                return None;
            }
            Some(Self {
                name: name.to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
    }
}

/// The umask every guest command starts with (not the host's: the sandbox and LXC would
/// otherwise inherit whatever git-gitian was started with).
pub(crate) const UMASK: &str = "022";

/// The host name of every guest.
pub const HOSTNAME: &str = "gitian";

/// PATH inside the guest, as a Debian login shell sets it.
pub(crate) const PATH_USER: &str = "/usr/local/bin:/usr/bin:/bin:/usr/games";
/// PATH for root inside the guest.
pub(crate) const PATH_ROOT: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The argv that runs an [`Exec`] inside the guest once the backend has switched to the right
/// user: umask [`UMASK`], cwd = home, a clean environment ([`login_vars`] through `env -i`),
/// optional `setarch`, then `bash [-x]` reading the script on stdin.
pub(crate) fn inner_argv(user: &GuestUser, cmd: &Exec<'_>) -> Vec<String> {
    let mut v: Vec<String> =
        vec!["/bin/sh".into(), "-c".into(), format!("umask {UMASK} && cd \"$0\" && exec \"$@\"")];
    v.push(user.home.clone());
    v.extend(env_argv(user, cmd.env));
    if let Some(p) = cmd.setarch {
        v.push("setarch".into());
        v.push(p.into());
    }
    v.push("bash".into());
    if cmd.trace {
        v.push("-x".into());
    }
    v
}

/// The login environment of `user` as `K=V` words: HOME, USER, LOGNAME, SHELL, PATH (root's
/// or a user's), `DEBIAN_FRONTEND=noninteractive` for root (root's commands are the unattended
/// package installation; kvm alone used to set it), then `extra` (later wins).
pub(crate) fn login_vars(user: &GuestUser, extra: &[(String, String)]) -> Vec<String> {
    let path = if user.uid == 0 { PATH_ROOT } else { PATH_USER };
    let mut v = vec![
        format!("HOME={}", user.home),
        format!("USER={}", user.name),
        format!("LOGNAME={}", user.name),
        "SHELL=/bin/bash".into(),
        format!("PATH={path}"),
    ];
    if user.uid == 0 {
        v.push("DEBIAN_FRONTEND=noninteractive".into());
    }
    v.extend(extra.iter().map(|(k, val)| format!("{k}={val}")));
    v
}

/// `env -i` and [`login_vars`].
pub(crate) fn env_argv(user: &GuestUser, extra: &[(String, String)]) -> Vec<String> {
    let mut v: Vec<String> = vec!["env".into(), "-i".into()];
    v.extend(login_vars(user, extra));
    v
}

/// Which user an [`Exec`] runs as, resolved against the guest's accounts.
pub(crate) fn pick<'a>(user: User, root: &'a GuestUser, build: &'a GuestUser) -> &'a GuestUser {
    match user {
        User::Root => root,
        User::Build => build,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup() {
        let p = "root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000::/home/debian:/bin/bash\n";
        let u = GuestUser::from_passwd(p, "debian").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/home/debian"));
        assert!(GuestUser::from_passwd(p, "ubuntu").is_none());
    }

    #[test]
    fn inner_argv_is_a_clean_login_environment() {
        let u =
            GuestUser { name: "debian".into(), uid: 1000, gid: 1000, home: "/home/debian".into() };
        let env = vec![("A".to_string(), "b c".to_string())];
        let e = Exec {
            user: User::Build,
            network: super::super::Network::Offline,
            setarch: Some("x86_64"),
            trace: true,
            script: "",
            env: &env,
            log: None,
        };
        assert_eq!(
            inner_argv(&u, &e).join(" "),
            "/bin/sh -c umask 022 && cd \"$0\" && exec \"$@\" /home/debian env -i HOME=/home/debian USER=debian \
             LOGNAME=debian SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin:/usr/games A=b c \
             setarch x86_64 bash -x"
        );
    }

    #[test]
    fn root_logs_in_noninteractive_for_apt() {
        let vars = login_vars(&GuestUser::root(), &[("X".into(), "1".into())]);
        assert_eq!(
            vars.join(" "),
            "HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
             PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
             DEBIAN_FRONTEND=noninteractive X=1"
        );
        let user = login_vars(&GuestUser::unprivileged("ubuntu"), &[]);
        assert!(!user.iter().any(|v| v.starts_with("DEBIAN_FRONTEND")), "{user:?}");
    }
}
