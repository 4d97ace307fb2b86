//! The LXC backend's configuration, and its supervisor driven by hand as LXC would.
#![allow(clippy::disallowed_methods)] // drives a supervisor by hand, as LXC would
use super::*;
use std::time::{Duration, Instant};

/// The supervisor of a git-gitian that died during copy-in (its stderr a pipe nobody
/// reads any more): on its parent-death signal it still kills the command and what is in
/// the container's cgroups, removes the cgroups and exits 143, rather than dying of
/// SIGPIPE when the shell reports the killed command.
#[test]
fn supervisor_cleans_up_when_its_stderr_reader_is_gone() {
    if util::ids().0 != 0 {
        eprintln!("skipped: needs root (cgroups)");
        return;
    }
    let hierarchy = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("cgroup.procs").exists())
        .expect("a cgroup hierarchy");
    let name = format!("gitian-test-{}", std::process::id());
    let cgroup = hierarchy.join(format!("lxc.payload.{name}"));
    fs::create_dir(&cgroup).unwrap();
    // A process in the container's cgroup, as the container's init would be.
    let mut inmate = std::process::Command::new("sleep").arg("1000").spawn().unwrap();
    fs::write(cgroup.join("cgroup.procs"), inmate.id().to_string()).unwrap();

    let mut sup = std::process::Command::new("/bin/sh")
        .args(["-c", SUPERVISOR, "gitian-lxc", &name, "sleep", "1000"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let children = format!("/proc/{0}/task/{0}/children", sup.id());
    let start = Instant::now();
    while fs::read_to_string(&children).unwrap_or_default().trim().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "the command never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(sup.stderr.take()); // git-gitian is gone: nobody reads the pipe
    let term =
        std::process::Command::new("kill").args(["-TERM", &sup.id().to_string()]).status().unwrap();
    assert!(term.success());
    let status = sup.wait().unwrap();
    let start = Instant::now();
    let killed = loop {
        if inmate.try_wait().unwrap().is_some() {
            break true;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = inmate.kill();
            let _ = inmate.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let left = cgroup.exists();
    if left {
        let _ = fs::remove_dir(&cgroup);
    }
    assert_eq!(status.code(), Some(143), "supervisor ended by {status:?}");
    assert!(killed, "the process in the container's cgroup was not killed");
    assert!(!left, "the container's cgroup was left behind");
}

/// The exact host command line of a guest command: the supervisor, lxc-execute with this
/// guest's private lxcpath, config and log, and the build user switched with setpriv.
#[test]
fn command_line_of_a_build_user_command() {
    let st = State {
        name: "gitian-7-0".into(),
        dir: "/s/g".into(),
        build: GuestUser {
            name: "debian".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/debian".into(),
        },
        root: GuestUser::root(),
        watch: limits::Watch::start(Default::default(), None),
        _cgroup: None,
    };
    let argv = st.as_user(User::Build, vec!["bash".into(), "-x".into()]);
    let inv = st.invocation(Network::Offline, &argv);
    let mut want: Vec<String> =
        ["setpriv", "--pdeathsig", "TERM", "--", "/bin/sh", "-c"].map(String::from).to_vec();
    want.push(SUPERVISOR.into());
    want.extend(
        [
            "gitian-lxc",
            "gitian-7-0",
            "lxc-execute",
            "-n",
            "gitian-7-0",
            "-P",
            "/s/g/path",
            "-f",
            "/s/g/offline.conf",
            "-o",
            "/s/g/lxc.log",
            "--",
            "/bin/sh",
            "-c",
            limits::REAPER,
            "gitian-step",
            "setpriv",
            "--reuid=1000",
            "--regid=1000",
            "--init-groups",
            "--bounding-set",
            "-sys_admin",
            "--",
            "bash",
            "-x",
        ]
        .map(String::from),
    );
    let got: Vec<String> = std::iter::once(&inv.program)
        .chain(&inv.args)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(got, want);
    assert!(inv.env_clear);
    assert_eq!(
        inv.env,
        vec![
            ("PATH".into(), "/usr/sbin:/usr/bin:/sbin:/bin".into()),
            ("GITIAN_LXC_EVENTS".into(), "/s/g/limit-events".into())
        ]
    );
    let root = st.invocation(Network::Online, &st.as_user(User::Root, vec!["bash".into()]));
    let words: Vec<String> = root.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    assert!(words.ends_with(&[
        "lxc.log".replace("lxc", "/s/g/lxc"),
        "--".into(),
        "/bin/sh".into(),
        "-c".into(),
        limits::REAPER.into(),
        "gitian-step".into(),
        "bash".into()
    ]));
    assert!(root.args.iter().any(|a| a == "/s/g/online.conf"));
}

#[test]
fn offline_config_has_no_network_device() {
    let c = config_text(
        Path::new("/b"),
        Path::new("/s/delta"),
        "amd64",
        Network::Offline,
        &Default::default(),
        None,
    );
    assert!(c.contains("lxc.net.0.type = empty\n"));
    assert!(c.contains("lxc.rootfs.path = overlay:/b:/s/delta\n"));
    assert!(c.contains("lxc.arch = x86_64\n"));
    assert!(c.contains("lxc.uts.name = gitian\n"));
    assert!(!c.contains("resolv.conf"));
    assert!(c.contains("lxc.cap.drop = dac_read_search sys_module sys_rawio sys_time "));
}

#[test]
fn online_config_shares_the_host_network() {
    let c = config_text(
        Path::new("/b"),
        Path::new("/s/delta"),
        "i386",
        Network::Online,
        &Default::default(),
        None,
    );
    assert!(c.contains("lxc.net.0.type = none\n"));
    assert!(c.contains("lxc.arch = i686\n"));
}
