//! Root in the guest against the host (issue 10): a descriptor with `sudo: true` built with
//! `--allow-sudo` gives its script root in the guest. Run for real on each backend, the script
//! records, as root, its capability bounding set and what the kernel lets it do to the host,
//! with probes that change nothing when they get through:
//!
//! - `settimeofday(NULL, NULL)` (the kernel checks CAP_SYS_TIME, then sets nothing);
//! - `finit_module(-1, "", 0)` (CAP_SYS_MODULE first, then a bad descriptor);
//! - `iopl(3)` (CAP_SYS_RAWIO: port I/O for this process only, which then ends);
//! - a device node of the host's disk, made with `mknod` and read (the first 4 KiB);
//! - a new proc and a new sysfs mounted (and unmounted);
//! - `/proc/sysrq-trigger` and `/proc/sys/kernel/core_pattern` opened for writing, also in the
//!   new proc (nothing is ever written; a host root that can write core_pattern can make the
//!   kernel run any program of the guest's as root on the host).
//!
//! The build itself succeeds; every probe must be refused. A kernel without module loading or
//! port I/O (ENOSYS) or without `/proc/sysrq-trigger` (the machines here) counts as refusing
//! those; the bounding set still has to lack the capabilities.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::common::backends::{Engines, Scratch, skip_unless_root};
use crate::common::hostile::{build, kind_of, workdir};

/// The probes, run as root in the guest (`sh`); `$1 $2` the host disk's device numbers.
const PROBE: &str = r#"
echo "capbnd: $(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)"
echo "uid_map: $(tr -s ' ' < /proc/self/uid_map | tr '\n' ';')"
sys() {
  echo "$1: $(perl -e 'my $s = ""; $r = eval $ARGV[0];
    print !defined $r ? "perl: $@" : $r == -1 ? "$!" : "ok"' "$2" 2>&1)"
}
sys settimeofday 'syscall(164, 0, 0)'
sys finit_module 'syscall(313, -1, $s, 0)'
sys iopl 'syscall(172, 3)'
rm -f /tmp/hostdisk /tmp/sector
if ! e=$(mknod /tmp/hostdisk b "$1" "$2" 2>&1); then
  echo "disk: refused: mknod: $e"
elif ! e=$(dd if=/tmp/hostdisk of=/tmp/sector bs=4096 count=1 status=none 2>&1); then
  echo "disk: refused: read: $e"
else
  echo "disk: reached $(stat -c %s /tmp/sector) bytes $(sha256sum < /tmp/sector | cut -c1-64)"
fi
for fs in proc sysfs; do
  mkdir -p /tmp/m-$fs
  if e=$(mount -t $fs $fs /tmp/m-$fs 2>&1); then
    echo "mount $fs: reached"
    # A new proc is read-write: the host's sysctls.
    if [ $fs = proc ]; then
      f=/tmp/m-proc/sys/kernel/core_pattern
      if e=$( (exec 3>>"$f") 2>&1); then echo "new proc core_pattern: reached"; fi
    fi
    umount /tmp/m-$fs
  else
    echo "mount $fs: refused: $e"
  fi
done
for f in /proc/sysrq-trigger /proc/sys/kernel/core_pattern; do
  if e=$( (exec 3>>"$f") 2>&1); then echo "$f: reached"; else echo "$f: refused: $e"; fi
done
"#;

/// The capabilities root in a guest must not hold over the host: dac_read_search (files by
/// handle), net_admin (the package step
/// shares the host's network), linux_immutable, sys_module, sys_rawio, sys_pacct, sys_admin,
/// sys_boot, sys_nice, sys_time, audit_control, mac_override, mac_admin, syslog, wake_alarm,
/// block_suspend, perfmon, bpf.
const DANGEROUS: &[(u32, &str)] = &[
    (2, "dac_read_search"),
    (12, "net_admin"),
    (9, "linux_immutable"),
    (16, "sys_module"),
    (17, "sys_rawio"),
    (20, "sys_pacct"),
    (21, "sys_admin"),
    (22, "sys_boot"),
    (23, "sys_nice"),
    (25, "sys_time"),
    (30, "audit_control"),
    (32, "mac_override"),
    (33, "mac_admin"),
    (34, "syslog"),
    (35, "wake_alarm"),
    (36, "block_suspend"),
    (38, "perfmon"),
    (39, "bpf"),
];

/// The host's disk under its root file system (device numbers), else the first disk the
/// kernel lists.
fn host_disk() -> (u64, u64) {
    let dev = fs::metadata("/").unwrap().dev();
    let (major, minor) =
        ((dev >> 8) & 0xfff | (dev >> 32) & !0xfff, dev & 0xff | (dev >> 12) & !0xff);
    if Path::new(&format!("/sys/dev/block/{major}:{minor}")).exists() {
        return (major, minor);
    }
    let parts = fs::read_to_string("/proc/partitions").unwrap();
    let line =
        parts.lines().skip(2).find(|l| l.split_whitespace().nth(2).is_some_and(|b| b != "0"));
    let w: Vec<u64> =
        line.unwrap().split_whitespace().take(2).map(|w| w.parse().unwrap()).collect();
    (w[0], w[1])
}

/// The first 4 KiB of the host's disk, as the guest's `sha256sum` prints them (`None`: this
/// test's own process may not read it, e.g. in a container of its own).
fn host_sector_sha(major: u64, minor: u64) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let uevent = fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).unwrap();
    let name = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME=")).unwrap();
    let mut f = fs::File::open(Path::new("/dev").join(name)).ok()?;
    f.read_exact(&mut buf).ok()?;
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&buf)?;
            c.wait_with_output()
        })
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout)[..64].to_string())
}

/// Runs the probes on `backend`; returns what they recorded.
fn probe(backend: &str) -> String {
    let _guests = crate::common::guests::guest_lock();
    let _lxc = (backend == "lxc").then(crate::common::guests::lxc_lock);
    let root = Scratch::new(&format!("hostile-caps-{backend}"));
    let engines = Engines::for_kind(kind_of(backend));
    let (major, minor) = host_disk();
    let mut script = String::from("cat > /tmp/probe.sh <<'EOF'\n");
    script.push_str(PROBE);
    script.push_str(&format!(
        "EOF\nsudo -n sh /tmp/probe.sh {major} {minor} > \"$OUTDIR/reach\" 2>&1\n\
         cat \"$OUTDIR/reach\"\necho built > \"$OUTDIR/built\"\n"
    ));
    let work = workdir(&root.0, &script, "sudo: true\n");
    let run = build(&work, backend, &["--allow-sudo"], &engines.env(), 900);
    assert_eq!(run.code, Some(0), "{backend}: the build failed: {}", run.stderr);
    assert_eq!(fs::read_to_string(work.join("build/out/built")).unwrap(), "built\n");
    let text = fs::read_to_string(work.join("build/out/reach")).unwrap();
    eprintln!("{backend}: root in the guest:\n{text}");
    match host_sector_sha(major, minor) {
        Some(sha) => text.replace(&sha, "(the host's own first 4 KiB)"),
        None => text,
    }
}

/// What got through in `text` (the probes' record); `caps`: whether the bounding set counts
/// (it does not in a user namespace of its own, whose capabilities stop at its border).
fn reached(text: &str, caps: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let field = |name: &str| {
        let line = text.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")));
        line.unwrap_or_else(|| panic!("no {name} in:\n{text}")).to_string()
    };
    if caps {
        let bnd = u64::from_str_radix(&field("capbnd"), 16).unwrap();
        for (bit, name) in DANGEROUS {
            if bnd & (1 << bit) != 0 {
                bad.push(format!("capability {name}"));
            }
        }
    }
    for name in ["settimeofday", "finit_module", "iopl"] {
        let got = field(name);
        // A kernel without modules (CONFIG_MODULES) or port I/O (CONFIG_X86_IOPL_IOPERM) has
        // none to give; the capability check above still counts.
        let absent = name != "settimeofday" && got == "Function not implemented";
        if got != "Operation not permitted" && !absent {
            bad.push(format!("{name}: {got}"));
        }
    }
    for name in ["disk", "mount proc", "mount sysfs", "/proc/sysrq-trigger"] {
        let got = field(name);
        if !got.starts_with("refused: ") {
            bad.push(format!("{name}: {got}"));
        }
    }
    if let Some(l) = text.lines().find(|l| l.starts_with("new proc core_pattern: ")) {
        bad.push(l.to_string());
    }
    let got = field("/proc/sys/kernel/core_pattern");
    if !got.starts_with("refused: ") {
        bad.push(format!("/proc/sys/kernel/core_pattern: {got}"));
    }
    bad
}

fn check(backend: &str, caps: bool) {
    let text = probe(backend);
    let bad = reached(&text, caps);
    assert!(bad.is_empty(), "{backend}: root in the guest reached the host:\n{}", bad.join("\n"));
}

#[test]
fn test_hostile_root_cannot_reach_the_host_lxc() {
    if !skip_unless_root() {
        check("lxc", true);
    }
}

/// Docker's defaults already drop these (nothing of git-gitian's: this asserts they still do).
#[test]
fn test_hostile_root_cannot_reach_the_host_docker() {
    if !skip_unless_root() {
        check("docker", true);
    }
}

#[test]
fn test_hostile_root_cannot_reach_the_host_podman() {
    if !skip_unless_root() {
        check("podman", true);
    }
}

/// Root in the sandbox holds its capabilities in a user namespace of its own only.
#[test]
fn test_hostile_root_cannot_reach_the_host_sandbox() {
    if !skip_unless_root() {
        check("sandbox", false);
    }
}
