//! A hostile descriptor against the builder's machine (issue 10): each test runs the attack
//! for real through `git gitian build` on real guests (the namespace sandbox, LXC, a private
//! dockerd, QEMU under TCG where cheap) and checks what reached the host.
//!
//! - copy-out never leaves a set-uid/set-gid file, a device node, a FIFO or a file owned by
//!   anyone but the invoking user on the host;
//! - the output is hashed without following a link and without opening anything but regular
//!   files, and the hashing stops on Ctrl-C;
//! - what the script leaves running ends with its step;
//! - processes, memory and disk are limited, and a hit limit fails the build and says which
//!   (`test_hostile_limits`).

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::backends::{
    Engines, Scratch, base_dir, exec, leftovers, nanos, skip_unless_root, spec,
};
use crate::common::hostile::{backend_args, build, kind_of, workdir};

/// The result file's out_manifest.
fn out_manifest(work: &Path) -> String {
    let text = fs::read_to_string(work.join("result/hostile-res.yml")).unwrap();
    let doc = git_gitian::core::assertion::Document::parse(&text).unwrap();
    doc.str("out_manifest").unwrap().to_string()
}

/// Everything under `dir` that must not be on the host after copy-out: set-uid/set-gid bits,
/// anything but folders, regular files and symbolic links, an owner other than us.
fn dangerous(dir: &Path) -> Vec<String> {
    let me = fs::metadata("/proc/self").unwrap().uid();
    let mut bad = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let mode = m.permissions().mode();
            if mode & 0o6000 != 0 {
                bad.push(format!("{}: mode {:o}", p.display(), mode));
            }
            if !(ft.is_dir() || ft.is_file() || ft.is_symlink()) {
                bad.push(format!("{}: not a file, folder or link ({ft:?})", p.display()));
            }
            if m.uid() != me {
                bad.push(format!("{}: owned by uid {}", p.display(), m.uid()));
            }
            if ft.is_dir() {
                stack.push(p);
            }
        }
    }
    bad
}

/// Attack 1: the script leaves a set-uid copy of bash (as the build user and, with sudo, as
/// root), device nodes, a FIFO, a set-gid folder and a file owned by another user in the
/// output. The build may succeed, but none of it may reach the host as such.
const PLANT: &str = r#"set -e
cp /bin/bash "$OUTDIR/suidsh"; chmod 6755 "$OUTDIR/suidsh"
echo plain > "$OUTDIR/plain"
mkfifo "$OUTDIR/fifo"
mkdir "$OUTDIR/sub"; chmod 2775 "$OUTDIR/sub"; echo inner > "$OUTDIR/sub/inner"
sudo -n cp /bin/bash "$OUTDIR/rootsh" && sudo -n chmod 4755 "$OUTDIR/rootsh" || true
sudo -n mknod "$OUTDIR/null" c 1 3 || true
sudo -n mknod "$OUTDIR/loop" b 7 0 || true
echo foreign > "$OUTDIR/foreign"; sudo -n chown 4242:4242 "$OUTDIR/foreign" || true
ls -l "$OUTDIR"
"#;

fn check_plant(backend: &str) {
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-plant-{backend}"));
    let engines = Engines::for_kind(kind_of(backend));
    let work = workdir(&root.0, PLANT, "sudo: true\n");
    let run = build(&work, backend, &["--allow-sudo"], &engines.env(), 900);
    assert_eq!(run.code, Some(0), "{backend}: {}", run.stderr);
    let log = fs::read_to_string(work.join("var/build.log")).unwrap_or_default();
    let out = work.join("build/out");
    let bad = dangerous(&out);
    assert!(
        bad.is_empty(),
        "{backend} left on the host:\n{}\nguest listing:\n{log}",
        bad.join("\n")
    );
    // The ordinary outputs are there, with their content; the bits are gone.
    assert_eq!(fs::read_to_string(out.join("plain")).unwrap(), "plain\n");
    assert_eq!(fs::read_to_string(out.join("sub/inner")).unwrap(), "inner\n");
    let suid = fs::metadata(out.join("suidsh")).unwrap();
    assert_eq!(suid.permissions().mode() & 0o7777, 0o755, "{backend}");
    assert!(!out.join("fifo").exists() && !out.join("null").exists(), "{backend}");
}

#[test]
fn test_hostile_setuid_and_devices_sandbox() {
    if !skip_unless_root() {
        check_plant("sandbox");
    }
}

#[test]
fn test_hostile_setuid_and_devices_lxc() {
    if !skip_unless_root() {
        check_plant("lxc");
    }
}

#[test]
fn test_hostile_setuid_and_devices_docker() {
    if !skip_unless_root() {
        check_plant("docker");
    }
}

#[test]
fn test_hostile_setuid_and_devices_kvm() {
    if !skip_unless_root() {
        check_plant("kvm");
    }
}

/// Attack 2: links out of the output tree (to a host file, to /dev/zero, to a host folder)
/// and a link inside it. The build ends (git-gitian never reads /dev/zero), and the manifest
/// holds the regular files only, as Gitian's `find -type f` did: never the host's
/// /etc/hostname.
const LINKS: &str = r#"set -e
echo real > "$OUTDIR/real"
ln -s /etc/hostname "$OUTDIR/x"
ln -s /dev/zero "$OUTDIR/z"
ln -s /etc "$OUTDIR/etc"
ln -s real "$OUTDIR/inner-link"
mkdir "$OUTDIR/d"; ln -s ../../../../../../../../etc/passwd "$OUTDIR/d/up"
"#;

fn check_links(backend: &str) {
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-links-{backend}"));
    let engines = Engines::for_kind(kind_of(backend));
    let work = workdir(&root.0, LINKS, "");
    let run = build(&work, backend, &[], &engines.env(), 120);
    assert_eq!(run.code, Some(0), "{backend} ({:.0} s): {}", run.secs, run.stderr);
    let manifest = out_manifest(&work);
    let names: Vec<&str> = manifest.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["real"], "{backend}: {manifest}");
    let hostname = git_gitian::core::manifest::sha256_hex(&fs::read("/etc/hostname").unwrap());
    assert!(!manifest.contains(&hostname));
    // The result is written as Gitian wrote it: mode 0666 less the umask, not 0600.
    let umask = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Umask:").map(|v| u32::from_str_radix(v.trim(), 8).unwrap()))
        .unwrap();
    let res = fs::metadata(work.join("result/hostile-res.yml")).unwrap();
    assert_eq!(res.permissions().mode() & 0o777, 0o666 & !umask);
    // The links are kept as links (never written through).
    let x = fs::symlink_metadata(work.join("build/out/x")).unwrap();
    assert!(x.file_type().is_symlink());
}

#[test]
fn test_hostile_links_are_not_followed_sandbox() {
    if !skip_unless_root() {
        check_links("sandbox");
    }
}

#[test]
fn test_hostile_links_are_not_followed_lxc() {
    if !skip_unless_root() {
        check_links("lxc");
    }
}

/// Ctrl-C while the outputs are hashed ("Generating report") stops the build: exit 2,
/// "interrupted", no result file. The output is 1 GiB, which takes seconds to hash.
#[test]
fn test_hostile_ctrl_c_while_hashing() {
    if skip_unless_root() {
        return;
    }
    let _guests = crate::common::guests::guest_lock();
    let root = Scratch::new("hostile-hash-int");
    let work = workdir(&root.0, "head -c 1G /dev/zero > \"$OUTDIR/big\"\n", "");
    let mut all = vec!["build"];
    all.extend(backend_args("sandbox"));
    all.push("desc.yml");
    let mut child = crate::common::gitian_build_cmd(&work, &all, &base_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&all).contains("Generating report") {
                let _ = tx.send(());
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    rx.recv_timeout(Duration::from_secs(300)).expect("never reached Generating report");
    let sent = Instant::now();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("still hashing 60 s after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = sent.elapsed().as_secs_f64();
    let err = reader.join().unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!err.contains("Done."), "{err}");
    assert!(!work.join("result/hostile-res.yml").exists());
    assert!(took < 5.0, "took {took:.1} s to stop");
    let _ = leftovers; // used by the leftover tests below
}

/// A descriptor that cannot be read or parsed is refused before the build takes its lock:
/// nothing is created in the folder (Gitian's folders, `var/build.lock`).
#[test]
fn test_hostile_bad_descriptor_leaves_no_lock() {
    let root = Scratch::new("hostile-nolock");
    for (file, text) in [("missing.yml", None), ("bad.yml", Some("---\nname: x\nsuites: [\n"))] {
        let dir = root.0.join(file);
        fs::create_dir_all(&dir).unwrap();
        if let Some(t) = text {
            fs::write(dir.join(file), t).unwrap();
        }
        let out =
            crate::common::gitian_build_cmd(&dir, &["build", "--backend", "sandbox", file], &dir)
                .output()
                .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(file), "{err}");
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != file)
            .collect();
        assert!(left.is_empty(), "{file}: left {left:?}");
    }
}

/// Attack 4: the script ends leaving processes behind (in the background, in a new session,
/// holding the log open). The step ends with the script, on every backend: the build takes
/// seconds, not forever, and none of them is left on the host afterwards.
fn check_leftovers(backend: &str) {
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-left-{backend}"));
    let engines = Engines::for_kind(kind_of(backend));
    let mark = format!("gg-left-{}", nanos());
    let script = format!(
        "( exec -a {mark} sleep infinity ) &\n\
         setsid bash -c 'exec -a {mark} sleep 1000' &\n\
         ( trap '' TERM HUP INT; exec -a {mark} sleep 1000 ) >/dev/null 2>&1 </dev/null &\n\
         echo done > \"$OUTDIR/done\"\n"
    );
    let work = workdir(&root.0, &script, "");
    let limit = if backend == "kvm" { 240 } else { 90 };
    let run = build(&work, backend, &[], &engines.env(), limit);
    assert_eq!(run.code, Some(0), "{backend} ({:.0} s): {}", run.secs, run.stderr);
    let left: Vec<String> =
        leftovers(&mark, 0, &engines).into_iter().filter(|l| l.starts_with("process")).collect();
    assert!(left.is_empty(), "{backend}: left running after the build: {left:#?}");
}

/// The same through the guest API: a build-user step that leaves a process in the background
/// (in a new session, ignoring SIGTERM/SIGHUP), then a second step in the same guest counts
/// the build user's processes: none, on every backend.
fn check_step_ends(backend: &str) {
    use git_gitian::guest::{Guest, Network, User};
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-step-{backend}"));
    let engines = Engines::for_kind(kind_of(backend));
    let mut g: Box<dyn Guest> = match backend {
        "kvm" => {
            Box::new(git_gitian::guest::kvm::Kvm::new(git_gitian::guest::kvm::Accel::Tcg, None))
        }
        b => kind_of(b).guest(engines.env()),
    };
    let mut spec = spec(&root.0.join("scratch"));
    spec.network = false;
    spec.memory_mib = 1024;
    g.create(&spec).unwrap();
    let log = root.0.join("log");
    let leave = "setsid bash -c 'trap \"\" TERM HUP; exec sleep 1000' >/dev/null 2>&1 </dev/null &\n\
                 ( trap '' TERM HUP; exec sleep 1001 ) &\necho started\n";
    let t = Instant::now();
    let code = g.exec(&exec(User::Build, Network::Offline, leave, Some(&log))).unwrap();
    let took = t.elapsed().as_secs_f64();
    let count = "for d in /proc/[0-9]*; do [ \"$(stat -c %u $d 2>/dev/null)\" = 1000 ] && \
                 tr '\\0' ' ' < $d/cmdline && echo; done; echo counted\n";
    let code2 = g.exec(&exec(User::Root, Network::Offline, count, Some(&log))).unwrap();
    g.destroy().unwrap();
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!((code, code2), (0, 0), "{text}");
    assert!(took < 30.0, "{backend}: the step took {took:.0} s");
    assert!(text.contains("counted"), "{text}");
    assert!(!text.contains("sleep 100"), "{backend}: left running after the step:\n{text}");
}

#[test]
fn test_hostile_step_ends_with_its_processes_lxc() {
    if !skip_unless_root() {
        check_step_ends("lxc");
    }
}

#[test]
fn test_hostile_step_ends_with_its_processes_docker() {
    if !skip_unless_root() {
        check_step_ends("docker");
    }
}

#[test]
fn test_hostile_step_ends_with_its_processes_kvm() {
    if !skip_unless_root() {
        check_step_ends("kvm");
    }
}

#[test]
fn test_hostile_step_ends_with_its_processes_sandbox() {
    if !skip_unless_root() {
        check_step_ends("sandbox");
    }
}

#[test]
fn test_hostile_leftovers_end_with_the_step_sandbox() {
    if !skip_unless_root() {
        check_leftovers("sandbox");
    }
}

#[test]
fn test_hostile_leftovers_end_with_the_step_lxc() {
    if !skip_unless_root() {
        check_leftovers("lxc");
    }
}

#[test]
fn test_hostile_leftovers_end_with_the_step_docker() {
    if !skip_unless_root() {
        check_leftovers("docker");
    }
}

#[test]
fn test_hostile_leftovers_end_with_the_step_kvm() {
    if !skip_unless_root() {
        check_leftovers("kvm");
    }
}

/// Attack 3's nested user namespaces: the script tries to make one as the build user (`-U`,
/// and `-Ur` mapping itself to root) and as root through sudo. Each must be refused by the
/// guest (the build itself succeeds and records what happened in its output).
const USERNS: &str = r#"for c in "unshare -U true" "unshare -Ur true" "sudo -n unshare -U true"; do
  if $c 2>err; then echo "allowed: $c"; else echo "refused: $c: $(tr '\n' ' ' <err)"; fi
done > "$OUTDIR/userns"
cat "$OUTDIR/userns"
"#;

/// What the [`USERNS`] script recorded in `work`'s output; `sudo`: whether its sudo line ran.
fn check_userns_output(backend: &str, work: &Path, sudo: bool) {
    let text = fs::read_to_string(work.join("build/out/userns")).unwrap();
    assert!(!text.contains("allowed: "), "{backend}: a user namespace was made: {text}");
    let mut tried = vec!["unshare -U true", "unshare -Ur true"];
    if sudo {
        tried.push("sudo -n unshare -U true");
    }
    for c in tried {
        let line = text.lines().find(|l| l.starts_with(&format!("refused: {c}: ")));
        assert!(line.is_some_and(|l| l.contains("unshare failed")), "{backend}: {c}: {text}");
    }
}

fn check_userns(backend: &str) {
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-userns-{backend}"));
    let engines = Engines::for_kind(kind_of(backend));
    let work = workdir(&root.0, USERNS, "sudo: true\n");
    let run = build(&work, backend, &["--allow-sudo"], &engines.env(), 600);
    assert_eq!(run.code, Some(0), "{backend}: {}", run.stderr);
    check_userns_output(backend, &work, true);
}

/// The same as an ordinary user: `subids` a range of subordinate ids (else one mapped id, and
/// the build user in a user namespace of its own, the one the guest may have).
fn check_userns_as_user(subids: Option<u32>) {
    use crate::common::backends::{TEST_USERS, TestUser, readable_base};
    let _users = TEST_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let root = Scratch::new("hostile-userns-user");
    let base = readable_base(&root.0.join("base"));
    let user = TestUser::new("gghostile", subids, &base);
    let home = root.0.join("home");
    let work = workdir(&home, USERNS, "");
    let out = user.run_build(&home, &work, &["--backend", "sandbox"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    check_userns_output("sandbox as a user", &work, false);
}

#[test]
fn test_hostile_no_nested_user_namespace_sandbox() {
    if !skip_unless_root() {
        check_userns("sandbox");
    }
}

#[test]
fn test_hostile_no_nested_user_namespace_without_root_sandbox() {
    if !skip_unless_root() {
        check_userns_as_user(Some(3_100_000));
        check_userns_as_user(None);
    }
}

#[test]
fn test_hostile_no_nested_user_namespace_lxc() {
    if !skip_unless_root() {
        check_userns("lxc");
    }
}

/// Docker's and podman's default seccomp profiles already refuse it (nothing of git-gitian's:
/// this asserts they still do).
#[test]
fn test_hostile_no_nested_user_namespace_docker() {
    if !skip_unless_root() {
        check_userns("docker");
    }
}

/// podman's default seccomp profile lets a container make user namespaces (measured: all
/// three made one): git-gitian gives it that profile without them (`guest::seccomp`).
#[test]
fn test_hostile_no_nested_user_namespace_podman() {
    if !skip_unless_root() {
        check_userns("podman");
    }
}

#[test]
fn test_hostile_no_nested_user_namespace_kvm() {
    if !skip_unless_root() {
        check_userns("kvm");
    }
}
