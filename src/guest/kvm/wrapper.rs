//! The shell wrapper the agent runs for each command: the login of [`crate::guest::env`]
//! (home, umask, variables), the user switch and the personality, the log, and for a build the
//! preparation on the script's first line and the copy of the outputs.

use super::limits::{guarded, setup};
use crate::core::arch::Arch;
use crate::guest::env::{self, GuestUser};
use crate::guest::{Exec, User, limits};
use crate::process::shell_quote;

/// The login part of a wrapper: home, the `export` line, and the program prefix that takes
/// the user and the personality.
pub(super) fn login(
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
    let native = |p: &str| Arch::parse(guest_arch).is_some_and(|a| a.is_native_personality(p));
    let arch = match setarch {
        Some(p) if !native(p) => format!("setarch {} ", shell_quote(p)),
        _ => String::new(),
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
pub(super) fn wrapper_script(
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
    // The build user's command: under the processes limit (kvm::limits), and what it leaves
    // running ends with it (limits::REAP_ALL, as root in the agent's shell).
    let end = match user {
        User::Root => format!("exec {prefix}bash{x} <{gdir}/script\n"),
        User::Build => format!(
            "{}{}\nrc=$?\n{}\nexit $rc\n",
            setup(),
            guarded(&format!("{prefix}bash{x} <{gdir}/script")),
            limits::REAP_ALL
        ),
    };
    format!("cd {home} || exit 1\nunset OLDPWD\nexec >>{gdir}/log 2>&1\n{export}\n{end}")
}

/// The wrapper for [`Guest::run_build`] in one agent command: the build script as in
/// [`wrapper_script`] with fd 4 open on `prep` (where the preparation line writes), its status
/// in `status`, then, when it succeeded, the outputs copied as root into `xfer` (relative to
/// the home, so that `xfer/<path>` is `~/<path>`), cp's messages in `copy`.
pub(super) fn build_wrapper(
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
    let run = guarded(&format!("{prefix}bash{x} <{gdir}/script >>{gdir}/log 2>&1{fd4}"));
    format!(
        "cd {home} || exit 1\nunset OLDPWD\n{export}\n{setup}{run}\n\
         code=$?\n{reap}\necho $code >{gdir}/status\n[ $code = 0 ] || exit 0\n\
         cp -a --parents {} {xfer}/ >{gdir}/copy 2>&1\n",
        paths.join(" "),
        setup = setup(),
        reap = limits::REAP_ALL
    )
}

/// The build script with its first line (a `#!` comment, so line numbers stay those of the
/// script) replaced by the preparation, run untraced with its output on fd 4; when it fails
/// the script stops with status 125 and `prep` says so. `None` when the script or the
/// preparation does not fit on one line.
pub(super) fn script_with_prepare(script: &str, prepare: &str) -> Option<String> {
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
pub(super) const PREPARE_FAILED: &str = "gitian: preparation failed with exit status";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::Network;

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
             SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin:/usr/games\n"
                .to_string()
                + &setup()
                + "( echo 0 >/sys/fs/cgroup/gitian/cgroup.procs 2>/dev/null; exec \
             setpriv --reuid=debian --regid=debian --init-groups -- setarch i386 \
             bash -x </run/gitian/cmd/3/script )\nrc=$?\n"
                + limits::REAP_ALL
                + "\nexit $rc\n"
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
        assert!(b.contains("--init-groups -- bash -x </g/script )\nrc=$?\n"), "{b}");
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
             SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin:/usr/games\n"
                .to_string()
                + &setup()
                + "( echo 0 >/sys/fs/cgroup/gitian/cgroup.procs 2>/dev/null; exec \
             setpriv --reuid=debian --regid=debian --init-groups -- bash -x </g/script \
             >>/g/log 2>&1 4>>/g/prep )\n\
             code=$?\n"
                + limits::REAP_ALL
                + "\necho $code >/g/status\n[ $code = 0 ] || exit 0\n\
             cp -a --parents out 'cache/a b' /x/ >/g/copy 2>&1\n"
        );
        let w = build_wrapper("amd64", "debian", &cmd, false, &["out"], "/g", "/x");
        assert!(!w.contains("4>>"), "fd 4 must not reach a script without preparation: {w}");
    }
}
