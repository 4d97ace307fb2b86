//! What a build sees of its guest, built once for every backend: the build user's login
//! environment (HOME, USER, LOGNAME, SHELL, PATH, then the command's own variables), its working
//! directory, personality and shell. Every backend runs [`inner_argv`] (kvm writes the same
//! words into its wrapper script), so a script observes the same environment whichever guest
//! runs it.

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

/// PATH inside the guest, as a Debian login shell sets it.
pub(crate) const PATH_USER: &str = "/usr/local/bin:/usr/bin:/bin:/usr/games";
/// PATH for root inside the guest.
pub(crate) const PATH_ROOT: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The argv that runs an [`Exec`] inside the guest once the backend has switched to the right
/// user: a clean environment (as after a login: HOME, USER, LOGNAME, SHELL, PATH, plus the
/// exec's own variables), cwd = home, optional `setarch`, then `bash [-x]` reading the script on
/// stdin. Every backend uses it so a script sees the same environment whichever guest runs it.
pub(crate) fn inner_argv(user: &GuestUser, cmd: &Exec<'_>) -> Vec<String> {
    let mut v: Vec<String> = vec!["/bin/sh".into(), "-c".into(), "cd \"$0\" && exec \"$@\"".into()];
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

/// `env -i K=V ...` for a guest user, with `extra` appended (later wins).
pub(crate) fn env_argv(user: &GuestUser, extra: &[(String, String)]) -> Vec<String> {
    let path = if user.uid == 0 { PATH_ROOT } else { PATH_USER };
    let mut v: Vec<String> = vec!["env".into(), "-i".into()];
    v.push(format!("HOME={}", user.home));
    v.push(format!("USER={}", user.name));
    v.push(format!("LOGNAME={}", user.name));
    v.push("SHELL=/bin/bash".into());
    v.push(format!("PATH={path}"));
    v.extend(extra.iter().map(|(k, val)| format!("{k}={val}")));
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
            "/bin/sh -c cd \"$0\" && exec \"$@\" /home/debian env -i HOME=/home/debian USER=debian \
             LOGNAME=debian SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin:/usr/games A=b c \
             setarch x86_64 bash -x"
        );
    }
}
