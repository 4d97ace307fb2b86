//! `git gitian check` with real sandbox guests: each fixture under tests/fixtures/check/ has
//! exactly one injected non-determinism, and the check must name exactly that culprit (or say
//! flaky, or reproducible). The fixtures install no package, so each check takes seconds; the
//! tests hold the guest lock so that two never fight for the cores.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::guests::{base, base_dir, guest_lock};
use crate::common::{git, is_root, root, stderr, stdout};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/check").join(format!("{name}.yml"))
}

/// `git gitian check --format json` of a fixture on `backend`; returns (exit code, report).
fn check_in(dir: &Path, backend: &str, desc: &Path, extra: &[&str]) -> (i32, Value) {
    let desc = desc.display().to_string();
    let mut args = vec!["check", "--backend", backend, "--format", "json"];
    args.extend_from_slice(extra);
    args.push(&desc);
    let out = crate::common::gitian_build_cmd(dir, &args, &base_dir()).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("check {desc}: exit {code}, no JSON ({e}):\n{}", stderr(&out)));
    assert_schema(&report);
    // The same report is kept in var/check/report.json.
    let kept = fs::read_to_string(dir.join("var/check/report.json")).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&kept).unwrap(), report);
    (code, report)
}

/// The report follows docs/check-v1.schema.json.
fn assert_schema(report: &Value) {
    let text = fs::read_to_string(root().join("docs/check-v1.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let errors = crate::common::schema::validate(&schema, report);
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
}

fn check(backend: &str, name: &str) -> (i32, Value) {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    check_in(t.path(), backend, &fixture(name), &[])
}

fn culprits(report: &Value) -> Vec<Vec<String>> {
    report["culprits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .collect()
}

/// The fixture named after a variation breaks under that variation alone.
fn assert_culprit(backend: &str, name: &str, expected: &[&str]) {
    let (code, report) = check(backend, name);
    assert_eq!(report["verdict"], "not_reproducible", "{name}: {report:#}");
    assert_eq!(code, 1, "{name}");
    assert_eq!(culprits(&report), [expected.to_vec()], "{name}: {report:#}");
    // The culprit's files are among the differing ones.
    let files = report["culprit_files"][0].as_array().unwrap();
    assert!(!files.is_empty(), "{name}: {report:#}");
    for f in files {
        assert!(
            report["differing"].as_array().unwrap().iter().any(|d| d["path"] == *f),
            "{name}: {f}"
        );
    }
    // Every differing file is named with both hashes.
    let d = report["differing"].as_array().unwrap();
    assert!(!d.is_empty(), "{name}");
    for f in d {
        assert_ne!(f["control"], f["other"], "{name}: {f}");
    }
}

macro_rules! culprit_tests {
    ($($test:ident: $fixture:literal => [$($v:literal),+];)*) => {$(
        #[test]
        fn $test() {
            assert_culprit("sandbox", $fixture, &[$($v),+]);
        }
    )*};
}

culprit_tests! {
    test_check_sandbox_names_clock: "clock" => ["clock"];
    test_check_sandbox_names_timezone: "timezone" => ["timezone"];
    test_check_sandbox_names_locale: "locale" => ["locale"];
    test_check_sandbox_names_umask: "umask" => ["umask"];
    test_check_sandbox_names_hostname: "hostname" => ["hostname"];
    test_check_sandbox_names_build_path: "build_path" => ["build_path"];
    test_check_sandbox_names_fileordering: "fileordering" => ["fileordering"];
    test_check_sandbox_names_num_cpus: "num_cpus" => ["num_cpus"];
    test_check_sandbox_names_kernel: "kernel" => ["kernel"];
    test_check_sandbox_names_user: "user" => ["user"];
    test_check_sandbox_names_home: "home" => ["home"];
    test_check_sandbox_names_shell: "shell" => ["shell"];
    test_check_sandbox_names_environment: "environment" => ["environment"];
    test_check_sandbox_names_exec_path: "exec_path" => ["exec_path"];
    test_check_sandbox_names_a_pair_only_together: "locale_shell" => ["locale", "shell"];
}

#[test]
fn test_check_sandbox_random_output_is_flaky_and_blames_nothing() {
    let (code, report) = check("sandbox", "random");
    assert_eq!(report["verdict"], "flaky", "{report:#}");
    assert_eq!(code, 1);
    assert_eq!(report["culprit"], serde_json::json!([]));
    assert_eq!(report["compared_with"], "control-2");
    assert_eq!(report["differing"][0]["path"], "random.txt");
    for v in report["variations"].as_array().unwrap() {
        assert_eq!(v["status"], "undecided", "{v}");
    }
}

/// A clean descriptor is reproducible; its control build is byte for byte what `git gitian
/// build` gives; every build's outputs are kept under var/check/<build-name>/out; and the
/// text report prints the table with both values of every variation.
#[test]
fn test_check_sandbox_clean_descriptor_is_reproducible_like_a_plain_build() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let (code, report) = check_in(t.path(), "sandbox", &fixture("clean"), &[]);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("reproducible")), "{report:#}");
    let names: Vec<&str> =
        report["builds"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["control-1", "control-2", "experiment-1"]);
    for v in report["variations"].as_array().unwrap() {
        assert_eq!(v["status"], "ok", "{v}");
    }
    for b in &names {
        assert!(t.path().join("var/check").join(b).join("out/d.tar").is_file(), "{b}");
    }
    let control = fs::read_to_string(t.path().join("var/check/control-1/manifest")).unwrap();
    let desc = fixture("clean").display().to_string();
    let out = crate::common::gitian_build_cmd(
        t.path(),
        &["build", "--backend", "sandbox", &desc],
        &base_dir(),
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let result = fs::read_to_string(t.path().join("result/check-clean-res.yml")).unwrap();
    for line in control.lines() {
        assert!(result.contains(line), "{line} not in {result}");
    }
    // The text form.
    let out = crate::common::gitian_build_cmd(
        t.path(),
        &["check", "-q", "--backend", "sandbox", "--variations", "timezone,user", &desc],
        &base_dir(),
    )
    .output()
    .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("timezone      TZ unset (UTC)"), "{text}");
    assert!(text.contains("user          debian (1000:1000)"), "{text}");
    assert!(text.contains("not selected"), "{text}");
    assert!(text.contains("verdict: reproducible under every tested variation\n"), "{text}");
}

/// `--variations` with a bare removal varies everything else; the removed variation is not
/// blamed even though the fixture depends on it.
#[test]
fn test_check_sandbox_variations_flag_excludes_the_culprit() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let (code, report) =
        check_in(t.path(), "sandbox", &fixture("timezone"), &["--variations", "-timezone"]);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("reproducible")), "{report:#}");
    let tz = &report["variations"][1];
    assert_eq!(
        (tz["name"].as_str(), tz["status"].as_str()),
        (Some("timezone"), Some("not_selected"))
    );
    let desc = fixture("timezone").display().to_string();
    let args = ["check", "--backend", "sandbox", "--variations", "-all", desc.as_str()];
    let out = crate::common::gitian_build_cmd(t.path(), &args, &base_dir()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: --variations: '-all' selects no variation\nhint: "),
        "{}",
        stderr(&out)
    );
}

/// The text report looks inside the differing files, as `git gitian diff` of the first
/// control build and the experiment does: the tarball's member and its mode (issue 15).
#[test]
fn test_check_sandbox_text_report_looks_inside_the_differing_files() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let desc = fixture("umask").display().to_string();
    let out = crate::common::gitian_build_cmd(
        t.path(),
        &["check", "-q", "--backend", "sandbox", "--variations", "umask", &desc],
        &base_dir(),
    )
    .output()
    .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let inside = text
        .split_once("inside the differing files (git gitian diff var/check/control-1 var/check/")
        .unwrap_or_else(|| panic!("no diff of the builds:\n{text}"))
        .1;
    assert!(inside.contains("d.tar!/d/f"), "{inside}");
    assert!(inside.contains("mode"), "{inside}");
    assert!(inside.contains("differ:"), "{inside}");
}

/// examples/hello (packages from the mirror, a git remote, a C program) is reproducible.
#[test]
fn test_check_sandbox_examples_hello_is_reproducible() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("hello-src");
    fs::create_dir_all(&src).unwrap();
    for f in ["Makefile", "hello.c"] {
        fs::copy(root().join("examples/hello/src").join(f), src.join(f)).unwrap();
    }
    git(&src, &["init", "-q", "."]);
    git(&src, &["add", "."]);
    git(&src, &["commit", "-qm", "hello"]);
    let sha = git(&src, &["rev-parse", "HEAD"]);
    let work = t.path().join("w");
    fs::create_dir_all(&work).unwrap();
    let u = format!("hello={}", src.display());
    let c = format!("hello={sha}");
    let (code, report) = check_in(
        &work,
        "sandbox",
        &root().join("examples/hello/gitian-hello.yml"),
        &["-u", &u, "-c", &c],
    );
    assert_eq!((code, report["verdict"].as_str()), (0, Some("reproducible")), "{report:#}");
    assert!(work.join("var/check/experiment-1/out/bin/hello").is_file());
}

/// Every fixture on LXC, in one test (the machine is small): the same verdicts and culprits as
/// on the sandbox, the host name included (set with hostname(1): /proc/sys is read-only there).
#[test]
fn test_check_lxc_names_every_culprit() {
    if let Some(why) = git_gitian::guest::lxc::Lxc::unavailable() {
        crate::common::skip(&why);
        return;
    }
    let _g = guest_lock();
    let _lxc = crate::common::guests::lxc_lock();
    base();
    let expected: &[(&str, &str, &[&str])] = &[
        ("clean", "reproducible", &[]),
        ("random", "flaky", &[]),
        ("clock", "not_reproducible", &["clock"]),
        ("timezone", "not_reproducible", &["timezone"]),
        ("locale", "not_reproducible", &["locale"]),
        ("umask", "not_reproducible", &["umask"]),
        ("hostname", "not_reproducible", &["hostname"]),
        ("build_path", "not_reproducible", &["build_path"]),
        ("fileordering", "not_reproducible", &["fileordering"]),
        ("num_cpus", "not_reproducible", &["num_cpus"]),
        ("kernel", "not_reproducible", &["kernel"]),
        ("user", "not_reproducible", &["user"]),
        ("home", "not_reproducible", &["home"]),
        ("shell", "not_reproducible", &["shell"]),
        ("environment", "not_reproducible", &["environment"]),
        ("exec_path", "not_reproducible", &["exec_path"]),
        ("locale_shell", "not_reproducible", &["locale", "shell"]),
    ];
    let mut wrong = Vec::new();
    for (name, verdict, culprit) in expected {
        let t = tempfile::tempdir().unwrap();
        let (code, report) = check_in(t.path(), "lxc", &fixture(name), &[]);
        let want_code = if *verdict == "reproducible" { 0 } else { 1 };
        let got: Vec<&str> =
            report["culprit"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        if report["verdict"] != *verdict || got != *culprit || code != want_code {
            wrong.push(format!("{name}: exit {code}, {} {got:?}", report["verdict"]));
        }
        assert!(report["backend"].as_str().unwrap().starts_with("lxc"), "{report:#}");
    }
    assert!(wrong.is_empty(), "wrong verdicts on lxc: {wrong:#?}");
}

/// QEMU under TCG is slow here (~2.5 s a build): the three cheapest fixtures. Every variation's
/// probe passes in the VM; the timezone culprit is named, random output is flaky and the clean
/// descriptor reproducible.
#[test]
fn test_check_kvm_tcg_names_the_culprit_of_the_cheapest_fixtures() {
    let _g = guest_lock();
    base();
    for (name, verdict, culprit) in [
        ("random", "flaky", vec![]),
        ("clean", "reproducible", vec![]),
        ("timezone", "not_reproducible", vec!["timezone"]),
    ] {
        let t = tempfile::tempdir().unwrap();
        let extra = ["--accel", "tcg", "-m", "1024"];
        let (code, report) = check_in(t.path(), "kvm", &fixture(name), &extra);
        assert_eq!(report["verdict"], verdict, "{name}: {report:#}");
        assert_eq!(code, if verdict == "reproducible" { 0 } else { 1 }, "{name}");
        let got: Vec<&str> =
            report["culprit"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(got, culprit, "{name}");
        let prepare = fs::read_to_string(t.path().join("var/check/prepare.log")).unwrap();
        assert!(!prepare.contains("gitian-check: no "), "{prepare}");
        assert!(report["backend"].as_str().unwrap().starts_with("kvm"), "{report:#}");
    }
}

/// A build script that fails is "could not run" (exit 2) with the log's tail, and the guest is
/// gone afterwards.
#[test]
fn test_check_sandbox_failing_script_exits_2_and_leaves_no_guest() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("clean"))
        .unwrap()
        .replace("echo hello > \"$OUTDIR/hello.txt\"", "echo about to fail; exit 7");
    let desc = t.path().join("fails.yml");
    fs::write(&desc, text).unwrap();
    let d = desc.display().to_string();
    let out = crate::common::gitian_build_cmd(
        t.path(),
        &["check", "--backend", "sandbox", &d],
        &base_dir(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error: the build script failed with exit status 7"), "{err}");
    assert!(err.contains("about to fail"), "{err}");
    let left: Vec<_> = fs::read_dir(t.path().join("var"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("guest-"))
        .collect();
    assert!(left.is_empty(), "guest scratch left in var/");
}

/// Docker (a private dockerd) and podman (a private storage): a running container cannot set
/// its host name, so the hostname fixture is reproducible under what was tested, and the
/// report says hostname was not tested and why; other culprits are named as on the other
/// backends.
#[test]
fn test_check_docker_and_podman_say_hostname_cannot_vary() {
    if std::process::Command::new("dockerd").arg("--version").output().is_err() || !is_root() {
        crate::common::skip("needs dockerd and root");
        return;
    }
    let _g = guest_lock();
    base();
    let dockerd = crate::common::backends::Dockerd::start();
    let docker = vec![("DOCKER_HOST".to_string(), dockerd.host.clone())];
    let runs = [
        ("docker", "hostname", "reproducible", vec![]),
        ("docker", "timezone", "not_reproducible", vec!["timezone"]),
        ("docker", "user", "not_reproducible", vec!["user"]),
        ("podman", "user", "not_reproducible", vec!["user"]),
    ];
    for (backend, name, verdict, culprit) in runs {
        let podman = (backend == "podman").then(crate::common::backends::PodmanStorage::new);
        let env = podman.as_ref().map_or_else(|| docker.clone(), |p| p.env());
        let t = tempfile::tempdir().unwrap();
        let desc = fixture(name).display().to_string();
        let args = ["check", "--backend", backend, "--format", "json", desc.as_str()];
        let out = crate::common::gitian_build_cmd(t.path(), &args, &base_dir())
            .envs(env)
            .output()
            .unwrap();
        let report: Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{backend} {name}: {e}\n{}", stderr(&out)));
        assert_schema(&report);
        assert_eq!(report["verdict"], verdict, "{backend} {name}: {report:#}");
        let got: Vec<&str> =
            report["culprit"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(got, culprit, "{backend} {name}");
        let host = &report["variations"][4];
        assert_eq!(
            (host["name"].as_str(), host["status"].as_str()),
            (Some("hostname"), Some("not_tested"))
        );
        assert!(host["why"].as_str().unwrap().contains("host name"), "{host}");
        let warning = format!("warning: hostname cannot vary on {backend}");
        assert!(stderr(&out).contains(&warning), "{}", stderr(&out));
    }
}

/// Processes whose command line mentions `needle`, git-gitian itself left out.
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

/// SIGTERM while a check build runs: the check stops at once, says so (exit 2), and leaves no
/// guest: no process of it, no scratch folder.
#[test]
fn test_check_sandbox_sigterm_stops_the_guest() {
    let _g = guest_lock();
    base();
    let t = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("clean"))
        .unwrap()
        .replace("echo hello > \"$OUTDIR/hello.txt\"", "echo sleeping; sleep 617");
    let desc = t.path().join("slow.yml");
    fs::write(&desc, text).unwrap();
    let d = desc.display().to_string();
    let child = crate::common::gitian_build_cmd(
        t.path(),
        &["check", "--backend", "sandbox", &d],
        &base_dir(),
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let log = t.path().join("var/check/control-1/build.log");
    let start = std::time::Instant::now();
    while !fs::read_to_string(&log).unwrap_or_default().contains("sleeping") {
        assert!(start.elapsed().as_secs() < 120, "the script never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let sleeping = || processes_mentioning("sleep 617");
    assert!(!sleeping().is_empty(), "the build's sleep is not seen");
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopping = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(stopping.elapsed().as_secs() < 30, "{:?}", stopping.elapsed());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(sleeping().is_empty(), "{:?}", sleeping());
    let here = t.path().display().to_string();
    assert!(processes_mentioning(&here).is_empty(), "{:?}", processes_mentioning(&here));
    let left: Vec<_> = fs::read_dir(t.path().join("var"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("guest-"))
        .collect();
    assert!(left.is_empty(), "guest scratch left in var/");
}

/// A user made for the test without subordinate ids, removed on drop.
struct OneIdUser(&'static str);

impl Drop for OneIdUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("userdel").arg(self.0).status();
    }
}

/// An ordinary user with no subordinate ids: the sandbox maps one id, and the check reaches the
/// build user (and the experiment user) through a nested user namespace instead of setpriv;
/// the culprits are named the same, and no process of the user is left.
#[test]
fn test_check_sandbox_as_an_ordinary_user_with_one_mapped_id() {
    if !is_root() {
        crate::common::skip("needs root to make a user");
        return;
    }
    let _g = guest_lock();
    base();
    let name = "ggcheckone";
    let _ = std::process::Command::new("userdel")
        .arg(name)
        .stderr(std::process::Stdio::null())
        .status();
    let made = std::process::Command::new("useradd")
        .args(["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", "-M", "-d", "/nonexistent"])
        .args(["-s", "/bin/sh", name])
        .status()
        .unwrap();
    assert!(made.success());
    let _user = OneIdUser(name);
    let t = tempfile::tempdir_in("/var/tmp").unwrap();
    let w = t.path();
    // A base folder and a binary the user can read.
    let bases = w.join("base/debian-bookworm-amd64");
    fs::create_dir_all(&bases).unwrap();
    for e in fs::read_dir(base()).unwrap().flatten() {
        if fs::hard_link(e.path(), bases.join(e.file_name())).is_err() {
            fs::copy(e.path(), bases.join(e.file_name())).unwrap();
        }
    }
    fs::copy(crate::common::bin(), w.join("git-gitian")).unwrap();
    for f in ["user", "hostname"] {
        fs::copy(fixture(f), w.join(format!("{f}.yml"))).unwrap();
    }
    fs::create_dir_all(w.join("work")).unwrap();
    let sh = |cmd: String| {
        assert!(std::process::Command::new("sh").args(["-c", &cmd]).status().unwrap().success())
    };
    sh(format!(
        "chmod -R a+rX {0} && chown -R {name}: {0}/work {0}/git-gitian {0}/user.yml {0}/hostname.yml",
        w.display()
    ));
    for (f, culprit) in [("user", "user"), ("hostname", "hostname")] {
        let out = std::process::Command::new("runuser")
            .args(["-u", name, "--"])
            .arg(w.join("git-gitian"))
            .args(["check", "--backend", "sandbox", "--format", "json"])
            .arg(w.join(format!("{f}.yml")))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", w.join("work"))
            .env("XDG_CACHE_HOME", w.join("work/cache"))
            .env("GITIAN_BASE_DIR", w.join("base"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .current_dir(w.join("work"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let report: Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{f}: {e}\n{}", stderr(&out)));
        assert_schema(&report);
        assert!(report["backend"].as_str().unwrap().contains("single id"), "{report:#}");
        assert_eq!(report["culprit"], serde_json::json!([culprit]), "{f}: {report:#}");
        let prepare = fs::read_to_string(w.join("work/var/check/prepare.log")).unwrap();
        assert!(prepare.contains("gitian-check: switch nest"), "{prepare}");
    }
    let ps =
        std::process::Command::new("ps").args(["-o", "stat=,args=", "-u", name]).output().unwrap();
    let live: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| !l.trim_start().starts_with('Z'))
        .map(str::to_string)
        .collect();
    assert!(live.is_empty(), "{name} left processes running: {live:?}");
}
