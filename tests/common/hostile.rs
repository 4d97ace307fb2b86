//! Fixtures of the hostile-descriptor tests (`test_hostile`, `test_hostile_limits`): a build
//! folder for a script, and `git gitian build` run on it under a deadline.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::backends::{Kind, base_dir};

/// A build folder with a descriptor whose script is `script` (`extra` is added at the top
/// level, e.g. `sudo: true`).
pub(crate) fn workdir(root: &Path, script: &str, extra: &str) -> PathBuf {
    let work = root.join("work");
    fs::create_dir_all(&work).unwrap();
    let mut d = String::from(
        "---\nname: \"hostile\"\ndistro: \"debian\"\nsuites:\n- \"bookworm\"\narchitectures:\n\
         - \"amd64\"\npackages: []\nreference_datetime: \"2021-01-01 00:00:00\"\nremotes: []\n\
         files: []\n",
    );
    d.push_str(extra);
    d.push_str("script: |\n");
    for line in script.lines() {
        d.push_str(&format!("  {line}\n"));
    }
    fs::write(work.join("desc.yml"), d).unwrap();
    work
}

/// How a `git gitian build` ended: exit code (`None`: still running at the deadline, then
/// killed), stderr, seconds.
pub(crate) struct Run {
    /// git-gitian's process id.
    pub pid: u32,
    pub code: Option<i32>,
    pub stderr: String,
    pub secs: f64,
}

/// The backend arguments of `git gitian build` for a backend name.
pub(crate) fn backend_args(backend: &str) -> Vec<&str> {
    match backend {
        "kvm" => vec!["--backend", "kvm", "--accel", "tcg"],
        b => vec!["--backend", b],
    }
}

/// `git gitian build ARGS desc.yml` in `work` on `backend`, killed (SIGKILL) after `limit`.
pub(crate) fn build(
    work: &Path,
    backend: &str,
    args: &[&str],
    env: &[(String, String)],
    limit: u64,
) -> Run {
    let mut all = vec!["build"];
    all.extend(backend_args(backend));
    if backend == "kvm" && !args.contains(&"--memory") {
        all.extend(["-m", "1024"]);
    }
    all.extend(args);
    all.push("desc.yml");
    let mut child = crate::common::gitian_build_cmd(work, &all, &base_dir())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status.code().unwrap_or(-1));
        }
        if start.elapsed() > Duration::from_secs(limit) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run { pid, code, stderr: reader.join().unwrap(), secs: start.elapsed().as_secs_f64() }
}

/// The backend kind whose engine a build on `backend` needs (kvm needs none).
pub(crate) fn kind_of(backend: &str) -> Kind {
    match backend {
        "kvm" => Kind::Sandbox, // no engine needed
        b => Kind::parse(b),
    }
}
