//! `git gitian build` and `make-base` with real QEMU guests (TCG: the machines this runs on have
//! no KVM that boots a stock kernel). One base image is shared by every test: it lives in the
//! default base folder (or `$GITIAN_TEST_BASE_DIR`) and `make-base` reuses it when its inputs
//! match, so only the first run on a machine pays for the bootstrap.
//!
//! Guest tests hold one lock so that two VMs never fight for the two cores.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::guests::{base, base_dir, guest_lock, make_base};
use crate::common::{git, stderr, stdout};

fn gitian(dir: &Path, args: &[&str]) -> Command {
    crate::common::gitian_build_cmd(dir, args, &base_dir())
}

/// A repository with a small C program that links zlib; returns (path, commit).
fn hello_repo(root: &Path) -> (PathBuf, String) {
    let repo = root.join("hello-src");
    fs::create_dir_all(&repo).unwrap();
    fs::write(
        repo.join("hello.c"),
        "#include <stdio.h>\n#include <zlib.h>\nint main(void) { printf(\"hello, zlib %s\\n\", zlibVersion()); return 0; }\n",
    )
    .unwrap();
    fs::write(repo.join("Makefile"), "hello: hello.c\n\tgcc -O2 -o hello hello.c -lz\n").unwrap();
    git(&repo, &["init", "-q", "."]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "hello"]);
    let sha = git(&repo, &["rev-parse", "HEAD"]);
    (repo, sha)
}

fn descriptor(
    name: &str,
    packages: &[&str],
    remote: Option<(&Path, &str)>,
    script: &str,
) -> String {
    descriptor_with(name, packages, remote, "files: []\n", script)
}

fn descriptor_with(
    name: &str,
    packages: &[&str],
    remote: Option<(&Path, &str)>,
    extra: &str,
    script: &str,
) -> String {
    let mut d = format!(
        "---\nname: \"{name}\"\ndistro: \"debian\"\nsuites:\n- \"bookworm\"\narchitectures:\n- \"amd64\"\npackages:\n"
    );
    if packages.is_empty() {
        d = d.replace("packages:\n", "packages: []\n");
    }
    for p in packages {
        d.push_str(&format!("- \"{p}\"\n"));
    }
    match remote {
        Some((url, commit)) => d.push_str(&format!(
            "remotes:\n- \"url\": \"{}\"\n  \"dir\": \"hello\"\n  \"commit\": \"{commit}\"\n",
            url.display()
        )),
        None => d.push_str("reference_datetime: \"2021-01-01 00:00:00\"\nremotes: []\n"),
    }
    d.push_str(extra);
    d.push_str("script: |\n");
    for line in script.lines() {
        d.push_str(&format!("  {line}\n"));
    }
    d
}

/// `git gitian build` of `desc.yml` on QEMU/TCG.
const KVM_BUILD: [&str; 8] =
    ["build", "--backend", "kvm", "--accel", "tcg", "-m", "1024", "desc.yml"];

fn build(dir: &Path, desc: &str) -> Output {
    fs::write(dir.join("desc.yml"), desc).unwrap();
    gitian(dir, &KVM_BUILD).output().unwrap()
}

/// Processes whose command line mentions `needle` (a leaked QEMU or virtiofsd).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) && !text.contains("git-gitian") {
                found.push(text);
            }
        }
    }
    found
}

fn assert_no_guest_left(dir: &Path) {
    let left = processes_mentioning(&dir.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:?}");
    let var = dir.join("var");
    let scratch: Vec<_> = fs::read_dir(&var)
        .map(|r| {
            r.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("guest-")).collect()
        })
        .unwrap_or_default();
    assert!(scratch.is_empty(), "guest scratch left in var/");
}

fn result_field(result: &str, key: &str) -> String {
    // `- key: |` or `|-` blocks, 4-space indented, up to the next `- ` line.
    let mut out = String::new();
    let mut inside = false;
    for line in result.lines() {
        if let Some(rest) = line.trim_start().strip_prefix(&format!("- {key}:")) {
            inside = true;
            if rest.trim() == "''" {
                return String::new();
            }
            continue;
        }
        if inside {
            if line.starts_with("- ") {
                break;
            }
            out.push_str(line.trim_start());
            out.push('\n');
        }
    }
    out
}

#[test]
fn test_build_c_program_twice_gives_the_same_out_manifest() {
    let _g = guest_lock();
    let base = base();
    let t = tempfile::tempdir().unwrap();
    let (repo, sha) = hello_repo(t.path());
    let desc = descriptor_with(
        "hello",
        &["gcc", "make", "zlib1g-dev"],
        Some((&repo, &sha)),
        "files:\n- \"greeting.txt\"\nenable_cache: true\n",
        "cd hello\nmake\n./hello > $OUTDIR/hello.txt\ncp hello $OUTDIR/\nstrip $OUTDIR/hello\n\
         git describe --always > $OUTDIR/commit.txt\ncat ../greeting.txt $GBUILD_COMMON_CACHE/seed.txt > $OUTDIR/greeting.txt\n\
         echo made > $GBUILD_PACKAGE_CACHE/made.txt",
    );
    let mut results = Vec::new();
    for run in ["one", "two"] {
        let dir = t.path().join(run);
        fs::create_dir_all(dir.join("inputs")).unwrap();
        fs::create_dir_all(dir.join("cache/common")).unwrap();
        fs::write(dir.join("inputs/greeting.txt"), "hi\n").unwrap();
        fs::write(dir.join("cache/common/seed.txt"), "seed\n").unwrap();
        let start = Instant::now();
        let out = build(&dir, &desc);
        eprintln!("build {run}: {:.0} s", start.elapsed().as_secs_f64());
        assert!(
            out.status.success(),
            "build failed:\n{}\n{}",
            stderr(&out),
            fs::read_to_string(dir.join("var/build.log")).unwrap_or_default()
        );
        let result = fs::read_to_string(dir.join("result/hello-res.yml")).unwrap();
        assert!(stdout(&out).ends_with("  hello-res.yml\n"), "{}", stdout(&out));
        assert_eq!(
            fs::read_to_string(dir.join("build/out/hello.txt")).unwrap(),
            "hello, zlib 1.2.13\n"
        );
        assert_eq!(
            fs::read_to_string(dir.join("build/out/commit.txt")).unwrap(),
            format!("{}\n", &sha[..7])
        );
        // in_manifest: the descriptor's hash line, then the git line without a newline.
        let desc_hash = {
            use sha2::Digest;
            sha2::Sha256::digest(desc.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let greeting = "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4";
        assert!(
            result.contains(&format!("- in_manifest: |-\n    {desc_hash}  hello-desc.yml\n    {greeting}  greeting.txt\n    git:{sha} hello\n- base_manifests: !!omap\n  - bookworm-amd64: |\n")),
            "{result}"
        );
        assert_eq!(fs::read_to_string(dir.join("build/out/greeting.txt")).unwrap(), "hi\nseed\n");
        // The caches went in and came back, and are in the result.
        assert_eq!(fs::read_to_string(dir.join("cache/hello/made.txt")).unwrap(), "made\n");
        // One-line manifests are folded single-quoted scalars in Psych's style.
        assert!(
            result.contains("  seed.txt\n\n    '\n- cache_package_manifest: '")
                && result.ends_with("  made.txt\n\n    '\n"),
            "{result}"
        );
        let bases = result_field(&result, "bookworm-amd64");
        for deb in ["zlib1g-dev_", "gcc-12_", "bash_", "libc6_"] {
            assert!(bases.contains(deb), "{deb} missing from base_manifests");
        }
        let info = fs::read_to_string(dir.join("var/build-info")).unwrap();
        assert!(info.contains("backend: kvm (qemu, accel tcg)"), "{info}");
        assert!(fs::read_to_string(dir.join("var/install.log")).unwrap().contains("zlib1g-dev"));
        assert!(fs::read_to_string(dir.join("var/build.log")).unwrap().contains("+ make"));
        // inputs/hello is a git worktree of the host's remote cache (fetched once), while
        // the guest got a standalone checkout (`git describe` worked in it, above).
        let link = fs::read_to_string(dir.join("inputs/hello/.git")).unwrap();
        assert!(link.starts_with("gitdir: ") && link.contains("/remotes/"), "{link}");
        assert!(!dir.join("var/remote-copies").exists());
        assert_no_guest_left(&dir);
        results.push(result_field(&result, "out_manifest"));
    }
    assert_eq!(results[0], results[1]);
    let names: Vec<&str> = results[0].lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["commit.txt", "greeting.txt", "hello", "hello.txt"]);
    assert!(base.join("SHA256SUMS").is_file());
}

/// A 32-bit guest: `make-base --arch i386` (Debian's 686-pae kernel, which has ext4 and crc32c as
/// modules, not built in), then the C program built in it by QEMU (`qemu-system-i386`, TCG)
/// and by LXC: an i686 userland under `setarch`, `GBUILD_BITS=32`, a 32-bit x86 ELF binary, and
/// the same out manifest from both backends.
///
/// The base comes from Debian's main archive only (`--mirror`): the bookworm-security index for
/// i386 that this network's mirror serves is out of step with its Release file, so apt refuses
/// it; amd64's is fine.
#[test]
fn test_build_i386_guest_gives_32_bit_binaries_on_kvm_and_lxc() {
    let _g = guest_lock();
    make_base(&[
        "--suite",
        "bookworm",
        "--arch",
        "i386",
        "--mirror",
        "http://deb.debian.org/debian",
    ]);

    let t = tempfile::tempdir().unwrap();
    let (repo, sha) = hello_repo(t.path());
    let desc = descriptor(
        "hello32",
        &["gcc", "make", "zlib1g-dev"],
        Some((&repo, &sha)),
        "cd hello\nmake\n./hello > $OUTDIR/hello.txt\ncp hello $OUTDIR/\nstrip $OUTDIR/hello\n\
         uname -m > $OUTDIR/uname.txt\necho \"$GBUILD_BITS\" > $OUTDIR/bits.txt",
    )
    .replace("architectures:\n- \"amd64\"\n", "architectures:\n- \"i386\"\n");
    let mut manifests = Vec::new();
    for backend in ["kvm", "lxc"] {
        let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
        let work = t.path().join(backend);
        fs::create_dir_all(&work).unwrap();
        fs::write(work.join("desc.yml"), &desc).unwrap();
        let start = Instant::now();
        let out = gitian(&work, &["build", "--backend", backend, "--accel", "tcg", "desc.yml"])
            .output()
            .unwrap();
        eprintln!("i386 build with {backend}: {:.0} s", start.elapsed().as_secs_f64());
        assert!(
            out.status.success(),
            "{backend}: {}\n{}",
            stderr(&out),
            fs::read_to_string(work.join("var/build.log")).unwrap_or_default()
        );
        let read = |f: &str| fs::read_to_string(work.join("build/out").join(f)).unwrap();
        assert_eq!(read("uname.txt"), "i686\n", "{backend}");
        assert_eq!(read("bits.txt"), "32\n", "{backend}");
        assert_eq!(read("hello.txt"), "hello, zlib 1.2.13\n", "{backend}");
        let elf = fs::read(work.join("build/out/hello")).unwrap();
        assert_eq!(&elf[..5], b"\x7fELF\x01", "{backend}: not a 32-bit ELF file");
        assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 3, "{backend}: not EM_386");
        let result = fs::read_to_string(work.join("result/hello32-res.yml")).unwrap();
        let bases = result_field(&result, "bookworm-i386");
        assert!(bases.contains("_i386.deb"), "{backend}: {bases}");
        if backend == "kvm" {
            let info = fs::read_to_string(work.join("var/build-info")).unwrap();
            assert!(info.contains("backend: kvm (qemu, accel tcg)"), "{info}");
            assert_no_guest_left(&work);
        }
        manifests.push(result_field(&result, "out_manifest"));
    }
    assert_eq!(manifests[0], manifests[1], "kvm and lxc built different bytes");
}

#[test]
fn test_build_script_has_no_network() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    // A host listener, probed by IP (10.0.2.2 is the host's loopback through QEMU's user
    // network): a DNS failure alone cannot make this pass. A package first, so that the
    // network was really up before the script.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let desc = descriptor(
        "nonet",
        &["hello"],
        None,
        &format!(
            "ls /sys/class/net >&2\n\
             if (echo x > /dev/tcp/10.0.2.2/{port}) 2>/dev/null; then echo reached; exit 0; fi\n\
             echo unreachable; exit 3"
        ),
    );
    let out = build(t.path(), &desc);
    let log = fs::read_to_string(t.path().join("var/build.log")).unwrap();
    assert!(!out.status.success(), "the script reached the network:\n{log}");
    let install = fs::read_to_string(t.path().join("var/install.log")).unwrap();
    assert!(install.contains("Setting up hello"), "{install}");
    assert!(log.contains("\nunreachable\n") && !log.contains("\nreached"), "{log}");
    assert!(log.contains("+ ls /sys/class/net\nlo\n"), "only lo while the script runs:\n{log}");
    assert!(listener.accept().is_err(), "a connection from the script arrived");
    assert!(!t.path().join("result/nonet-res.yml").exists());
    assert_no_guest_left(t.path());
}

#[test]
fn test_build_failing_script_leaves_nothing() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let desc = descriptor("fails", &[], None, "echo about to fail\nexit 3");
    // A result left by an earlier build of the same name must not survive a failed one.
    fs::create_dir_all(t.path().join("result")).unwrap();
    fs::write(t.path().join("result/fails-res.yml"), "stale").unwrap();
    let out = build(t.path(), &desc);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("error: the build script failed with exit status 3 (log in "), "{err}");
    assert!(err.contains("var/build.log"), "{err}");
    assert!(err.contains("about to fail"), "tail of the log missing:\n{err}");
    assert!(!t.path().join("result/fails-res.yml").exists());
    assert_no_guest_left(t.path());
}

/// Starts a kvm build in `dir` whose script sleeps, and returns once the script runs.
fn start_sleeping_build(dir: &Path, stderr: Stdio) -> std::process::Child {
    fs::write(dir.join("desc.yml"), descriptor("slow", &[], None, "echo sleeping\nsleep 600"))
        .unwrap();
    let mut child = gitian(dir, &KVM_BUILD).stderr(stderr).spawn().unwrap();
    let log = dir.join("var/build.log");
    let start = Instant::now();
    while !fs::read_to_string(&log).unwrap_or_default().contains("sleeping") {
        assert!(start.elapsed() < Duration::from_secs(300), "the script never started");
        assert!(child.try_wait().unwrap().is_none(), "build ended early");
        std::thread::sleep(Duration::from_millis(200));
    }
    child
}

#[test]
fn test_build_sigterm_stops_the_guest() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let child = start_sleeping_build(t.path(), Stdio::piped());
    assert!(!processes_mentioning(&t.path().display().to_string()).is_empty(), "no QEMU seen");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    // Timed from the signal (the boot before it may take minutes on a loaded machine): the
    // guest is stopped, not waited out (its script sleeps 600 s).
    let stopping = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(120), "{:?}", stopping.elapsed());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    // No sleep before this check: the build returns only once QEMU and virtiofsd (and every
    // process of their groups) are gone (reaped, not raced).
    assert!(!t.path().join("result/slow-res.yml").exists());
    assert_no_guest_left(t.path());
}

/// SIGKILL (no cleanup code runs): QEMU and virtiofsd die with git-gitian (parent-death
/// signal), and what only cleanup code could remove (the socket folder in /tmp, the guest's
/// scratch folder) is removed by the next build.
#[test]
fn test_build_sigkill_leaves_no_process_and_the_next_build_sweeps_the_rest() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let mut child = start_sleeping_build(t.path(), Stdio::null());
    let pid = child.id();
    let sockets = || -> Vec<PathBuf> {
        fs::read_dir("/tmp")
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().starts_with(&format!("/tmp/gitian-kvm-{pid}.")))
            .collect()
    };
    assert_eq!(sockets().len(), 1, "no socket folder of the build seen");
    let here = t.path().display().to_string();
    assert!(!processes_mentioning(&here).is_empty(), "no QEMU seen");
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    child.wait().unwrap();
    let start = Instant::now();
    while !processes_mentioning(&here).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "{:?}", processes_mentioning(&here));
        std::thread::sleep(Duration::from_millis(100));
    }
    // The next build in the same folder runs, and leaves nothing of either.
    fs::write(t.path().join("desc.yml"), descriptor("slow", &[], None, "echo done > $OUTDIR/x"))
        .unwrap();
    let out = gitian(t.path(), &KVM_BUILD).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sockets().is_empty(), "the killed build's socket folder is still there");
    assert_no_guest_left(t.path());
}

#[test]
fn test_build_refuses_a_second_build_in_the_same_directory() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("var")).unwrap();
    let held = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(t.path().join("var/build.lock"))
        .unwrap();
    held.try_lock().unwrap();
    let out = build(t.path(), &descriptor("x", &[], None, "true"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: another build is running in this directory"),
        "{}",
        stderr(&out)
    );
    assert!(!t.path().join("build").exists(), "the running build's folders were touched");
}

#[test]
fn test_build_without_base_image_names_the_make_base_command() {
    let t = tempfile::tempdir().unwrap();
    fs::write(
        t.path().join("desc.yml"),
        descriptor("x", &[], None, "true").replace("bookworm", "trixie"),
    )
    .unwrap();
    let out = gitian(
        t.path(),
        &["build", "--backend", "kvm", "--base-dir", "/nonexistent/base", "desc.yml"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: no base image for debian trixie amd64 in '/nonexistent/base'\n\
         hint: create it with: git gitian make-base --distro debian --suite trixie --arch amd64 --base-dir /nonexistent/base\n"
    );
}

/// `make-base` over an image already there: the same inputs are reused (it says so and prints
/// the image hash, the sha256 of SHA256SUMS); other inputs are refused with the hint to pass
/// `--force`; `--force` does not reuse (shown with mmdebstrap missing from PATH: it gets as far
/// as looking for it) and leaves the old image whole when it fails. The image is the shared
/// base's `inputs` and `SHA256SUMS`, which is all that reuse reads.
#[test]
fn test_make_base_up_to_date_refusal_and_force() {
    let shared = base();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("base/debian-bookworm-amd64");
    fs::create_dir_all(&dir).unwrap();
    for f in ["inputs", "SHA256SUMS"] {
        fs::copy(shared.join(f), dir.join(f)).unwrap();
    }
    let sums = Command::new("sha256sum").arg(dir.join("SHA256SUMS")).output().unwrap();
    let hash = stdout(&sums).split_whitespace().next().unwrap().to_string();
    let base_dir = t.path().join("base");
    let make_base = |extra: &[&str], path: Option<&Path>| {
        let mut args = vec!["make-base", "--base-dir", base_dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let mut cmd = gitian(t.path(), &args);
        if let Some(p) = path {
            cmd.env("PATH", p);
        }
        cmd.output().unwrap()
    };
    let out = make_base(&[], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{hash}  {}\n", dir.display()));
    assert!(
        stderr(&out).contains(&format!(
            "Base image {} is up to date (same inputs; --force rebuilds it)",
            dir.display()
        )),
        "{}",
        stderr(&out)
    );
    let out = make_base(&["--disksize", "5000"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "error: base image '{}' exists and was made from other inputs\nhint: pass --force to replace it\n",
            dir.display()
        )
    );
    // --force: every tool make-base needs but mmdebstrap.
    let bin = t.path().join("bin");
    fs::create_dir(&bin).unwrap();
    for tool in ["sh", "tar", "mkfs.ext4", "debugfs", "qemu-img"] {
        let found =
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap();
        let path = stdout(&found).trim().to_string();
        assert!(!path.is_empty(), "{tool} is required by the tests");
        std::os::unix::fs::symlink(path, bin.join(tool)).unwrap();
    }
    for extra in [&["--force"][..], &["--force", "--disksize", "5000"]] {
        let out = make_base(extra, Some(&bin));
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(
            stderr(&out)
                .contains("error: cannot make the base image: 'mmdebstrap' is not installed"),
            "{extra:?}: {}",
            stderr(&out)
        );
        let left: Vec<_> =
            fs::read_dir(&base_dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, ["debian-bookworm-amd64"], "{extra:?}");
        assert_eq!(
            fs::read(dir.join("SHA256SUMS")).unwrap(),
            fs::read(shared.join("SHA256SUMS")).unwrap()
        );
    }
}

/// Slow (two full bootstraps, about 3 minutes each on CI): run with `--ignored`.
#[test]
#[ignore = "slow: two full bootstraps from the Debian mirror; .ci/run runs it by name"]
fn test_make_base_twice_gives_the_same_image_hash() {
    let t = tempfile::tempdir().unwrap();
    let mut hashes = Vec::new();
    for run in ["a", "b"] {
        let dir = t.path().join(run);
        let out = gitian(t.path(), &["make-base", "-q", "--base-dir", &dir.display().to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        hashes.push(stdout(&out).split_whitespace().next().unwrap().to_string());
        hashes.push(fs::read_to_string(dir.join("debian-bookworm-amd64/SHA256SUMS")).unwrap());
    }
    assert_eq!(hashes[1], hashes[3], "SHA256SUMS differ");
    assert_eq!(hashes[0], hashes[2]);
}

/// With nothing to copy in, Gitian's preparation runs in the same guest step as the script
/// (on its first line): the folders are there and the build user's, nothing of it reaches
/// var/build.log, the script's line numbers are its own, and no extra descriptor leaks in.
/// With no packages to install the guest has no network device at all.
#[test]
fn test_build_prepares_the_home_in_the_script_step() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let desc = descriptor(
        "prep",
        &[],
        None,
        "stat -c '%n %U' ../build ../out ../install ../cache ../cache/common > $OUTDIR/dirs\n\
         echo \"$LINENO\" > $OUTDIR/line\n\
         ls /proc/$$/fd | sort -n | tr '\\n' ' ' > $OUTDIR/fds\n\
         ls /sys/class/net > $OUTDIR/nets",
    );
    let out = build(t.path(), &desc);
    assert!(out.status.success(), "build failed:\n{}", stderr(&out));
    let read = |p: &str| fs::read_to_string(t.path().join(p)).unwrap();
    assert_eq!(
        read("build/out/dirs"),
        "../build debian\n../out debian\n../install debian\n../cache debian\n../cache/common debian\n"
    );
    let script = read("var/build-script");
    let line = script.lines().position(|l| l.contains("$LINENO")).unwrap() + 1;
    assert_eq!(read("build/out/line"), format!("{line}\n"));
    // No packages: the guest never had a network device.
    assert_eq!(read("build/out/nets"), "lo\n");
    let fds = read("build/out/fds");
    assert!(fds.starts_with("0 1 2 ") && !fds.split(' ').any(|f| f == "4"), "{fds}");
    let log = read("var/build.log");
    assert!(log.starts_with("+ set -e\n"), "{log}");
    assert!(!log.contains("mkdir") && !log.contains("exec 4"), "{log}");
    assert_no_guest_left(t.path());
}

/// `--backend auto` judges KVM by the kvm backend's real boot probe and the answer it
/// remembers: the probe's verdict and reason here are what this machine is known to give
/// (`kvm_verdict_here`, not the code's own answer), auto picks accordingly and says why, and a
/// remembered answer is used without booting again.
#[test]
fn test_build_auto_picks_kvm_only_when_the_boot_probe_boots() {
    use git_gitian::guest::kvm::kvm_boots;
    use git_gitian::guest::select::{Backend, HostProbe, Selection, resolve};
    let _g = guest_lock();
    let base = base();
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("kvm-probe");
    let start = Instant::now();
    let probed = kvm_boots(base, "amd64", &cache);
    eprintln!("KVM probe: {probed:?} in {:.1} s", start.elapsed().as_secs_f64());
    let verdict = crate::common::guests::kvm_verdict_here();
    match (verdict, &probed) {
        (None, Ok(())) => {}
        (Some(why), Err(e)) if e.starts_with(why) => {}
        _ => panic!("expected {verdict:?} on this machine, the probe said {probed:?}"),
    }
    if verdict == Some("KVM did not boot the guest") {
        assert_eq!(probed, Err("KVM did not boot the guest within 10 s (a probe boot)".into()));
    }
    if verdict == Some("KVM could not start the guest") {
        let e = probed.as_ref().unwrap_err();
        assert!(e.contains("exited with status"), "QEMU's exit and log are named: {e}");
    }
    let probe = HostProbe {
        kvm_base: Some((base.to_path_buf(), "amd64".into())),
        probe_cache: cache.clone(),
    };
    let choice = resolve(&Selection::Auto, None, &probe).unwrap();
    match verdict {
        None => assert_eq!(choice.notes, ["using kvm"]),
        Some(why) => {
            assert_ne!(choice.backends[0], Backend::Kvm, "{choice:?}");
            let note = &choice.notes[0];
            // The probe above was remembered: auto says so, whichever way KVM failed.
            let why =
                if why.starts_with("KVM ") { "KVM did not boot the guest on this" } else { why };
            assert!(note.contains(&format!("(kvm: {why}")), "{note}");
        }
    }
    // The probe boots at most once per host boot: the answer is in the cache now (unless
    // /dev/kvm cannot even be opened, which needs no boot).
    if verdict.is_some_and(|v| v.starts_with("KVM ")) {
        let text = fs::read_to_string(&cache).unwrap();
        assert!(text.ends_with(&format!("{} tcg\n", base.display())), "{text}");
        let again = kvm_boots(base, "amd64", &cache).unwrap_err();
        assert!(
            again.starts_with(
                "KVM did not boot the guest on this host (a probe boot since the host started, \
                 remembered in "
            ),
            "{again}"
        );
    }
    if verdict != Some("/dev/kvm: ") {
        // Remembered answers decide without a boot, either way: shown with a base that has no
        // disk (a boot, or a fresh probe, would fail on it).
        let gone = t.path().join("no-such-base");
        let fresh = kvm_boots(&gone, "amd64", &cache).unwrap_err();
        assert!(fresh.starts_with("cannot probe KVM: base image "), "{fresh}");
        let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        let probe = HostProbe {
            kvm_base: Some((gone.clone(), "amd64".into())),
            probe_cache: cache.clone(),
        };
        for (answer, kvm) in [("tcg", false), ("kvm", true)] {
            fs::write(&cache, format!("{} {} {answer}\n", boot_id.trim(), gone.display())).unwrap();
            assert_eq!(kvm_boots(&gone, "amd64", &cache).is_ok(), kvm, "{answer}");
            let choice = resolve(&Selection::Auto, None, &probe).unwrap();
            assert_eq!(choice.backends[0] == Backend::Kvm, kvm, "{answer}: {choice:?}");
        }
    }
    // No base image to probe with: auto does not pick kvm.
    let none = HostProbe { kvm_base: None, probe_cache: cache };
    assert_ne!(resolve(&Selection::Auto, None, &none).unwrap().backends[0], Backend::Kvm);
}

/// `--accel auto` on a machine whose KVM does not boot the guest warns, falls back to TCG and
/// records `accel tcg` in the build's information (a fresh probe memory: the KVM try happens).
#[test]
fn test_build_accel_auto_warns_and_records_tcg() {
    let Some(why) = crate::common::guests::kvm_verdict_here() else {
        crate::common::not_applicable("KVM boots guests here (GITIAN_TEST_KVM_BOOTS=1)");
        return;
    };
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("desc.yml"), descriptor("auto", &[], None, "echo hi > $OUTDIR/hi"))
        .unwrap();
    let args = ["build", "--backend", "kvm", "--accel", "auto", "-m", "1024", "desc.yml"];
    let out =
        gitian(t.path(), &args).env("XDG_CACHE_HOME", t.path().join("cache")).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let warning = match why {
        "KVM did not boot the guest" => "KVM did not boot the guest within 10 s (",
        "KVM could not start the guest" => "KVM could not start the guest (",
        _ => "KVM is not available (/dev/kvm: ",
    };
    assert!(err.contains(warning) && err.contains("TCG (slow)"), "{err}");
    let info = fs::read_to_string(t.path().join("var/build-info")).unwrap();
    assert!(info.contains("backend: kvm (qemu, accel tcg)"), "{info}");
    assert_no_guest_left(t.path());
}
