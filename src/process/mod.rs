//! The one place that starts processes: guests, base images, host git, remotes. Callers
//! *compute* an [`Invocation`]; this module *runs* it, so every child is started the same way:
//! no shell in between, a readable command line for errors, its own process group, and one
//! policy to stop it (see [`stop`]). `clippy.toml` forbids `std::process::Command::new`
//! everywhere else.
//!
//! - [`run`], [`run_ok`], [`run_logged`]: run to completion (captured or logged).
//! - [`piped::start`]: a child whose stdin/stdout/stderr the caller wires (a guest command fed
//!   its script, a `producer | consumer` copy); [`piped::pipe`] waits for both ends.
//! - [`spawn`]: long-lived helpers (QEMU, virtiofsd, daemons), SIGKILLed if we die
//!   (`setpriv --pdeathsig`), killed and reaped when their handle is dropped.
//! - [`Runner`]: the trait backends run their commands through, so tests can record the exact
//!   command lines ([`Recorder`]) while [`HostRunner`] runs them.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub mod piped;
mod runner;
pub mod stop;

pub use runner::{HostRunner, Recorder, Runner};
pub use stop::{catch_interrupts, interrupted};

/// A command line to run: program, arguments, extra environment, working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Program name or path.
    pub program: OsString,
    /// Arguments.
    pub args: Vec<OsString>,
    /// Environment variables set on top of ours.
    pub env: Vec<(OsString, OsString)>,
    /// Variables removed from the inherited environment.
    pub env_remove: Vec<OsString>,
    /// Start from an empty environment (only `env` is set).
    pub env_clear: bool,
    /// Working directory.
    pub cwd: Option<PathBuf>,
}

impl Invocation {
    /// A command with no arguments.
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            env_clear: false,
            cwd: None,
        }
    }

    /// Adds one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Removes an inherited environment variable.
    #[must_use]
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env_remove.push(key.into());
        self
    }

    /// Starts from an empty environment: only what [`Self::env`] sets is passed.
    #[must_use]
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }

    /// Sets the working directory.
    #[must_use]
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The command line as a shell would show it, for messages.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `std` command, in its own process group (a terminal's Ctrl-C reaches git-gitian,
    /// which stops its children in order; see [`stop`]).
    fn command(&self) -> Command {
        let mut cmd = self.std_command();
        cmd.process_group(0);
        cmd
    }

    /// The `std` command in the caller's process group (see [`run_interactive`]).
    fn std_command(&self) -> Command {
        #[allow(clippy::disallowed_methods)] // the one place
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if self.env_clear {
            cmd.env_clear();
        }
        for k in &self.env_remove {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }
}

/// Quotes a word for display in a POSIX shell command line.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// A process that could not be started, failed, or was interrupted.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started (missing, not executable).
    #[error("cannot run '{program}': {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// It ran and exited unsuccessfully.
    #[error("'{command}' failed ({status}){}", stderr_block(.stderr))]
    Failed {
        /// The command line.
        command: String,
        /// Exit status, as text.
        status: String,
        /// The tail of what it printed on stderr (or its log).
        stderr: String,
    },
    /// Ctrl-C or SIGTERM arrived while it ran; it was stopped.
    #[error("interrupted")]
    Interrupted,
    /// Reading or writing its files failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn stderr_block(s: &str) -> String {
    let s = s.trim_end();
    if s.is_empty() { String::new() } else { format!(":\n{s}") }
}

/// What a finished command gave back.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Exit code (128 + signal when killed by one).
    pub code: i32,
    /// stdout.
    pub stdout: Vec<u8>,
    /// stderr.
    pub stderr: Vec<u8>,
}

impl Captured {
    /// stdout as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// The exit code of a finished process: its code, or 128 + signal as a shell reports it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// `exit status 3` / `killed by signal 9`, for messages.
pub fn status_text(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown status".to_string(),
    }
}

/// Runs to completion, capturing stdout and stderr; any exit code is returned.
pub fn run(inv: &Invocation) -> Result<Captured, ProcessError> {
    run_with_stdin(inv, None)
}

/// Like [`run`], with `input` fed on stdin.
pub fn run_with_stdin(inv: &Invocation, input: Option<&[u8]>) -> Result<Captured, ProcessError> {
    let mut cmd = inv.command();
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        program: inv.program.to_string_lossy().into_owned(),
        source,
    })?;
    let writer = match (input, child.stdin.take()) {
        (Some(data), Some(mut stdin)) => {
            let data = data.to_vec();
            Some(std::thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&data);
            }))
        }
        _ => None,
    };
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let status = stop::wait(&mut child)?;
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(Captured { code: exit_code(status), stdout, stderr })
}

/// Runs to completion and fails unless it exits 0; returns stdout.
pub fn run_ok(inv: &Invocation) -> Result<String, ProcessError> {
    let out = run(inv)?;
    if out.code != 0 {
        return Err(failed(inv, out.code, &String::from_utf8_lossy(&out.stderr)));
    }
    Ok(out.stdout_text())
}

/// Runs a clean-up command (removing a container, an image, a leftover) to its end even after
/// Ctrl-C or SIGTERM: [`run`] would stop it at once, as the interruption flag stays set while
/// git-gitian cleans up. Output is discarded; true when it exited 0.
pub fn run_cleanup(inv: &Invocation) -> bool {
    let mut cmd = inv.command();
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let Ok(mut child) = cmd.spawn() else { return false };
    stop::wait_to_end(&mut child).is_ok_and(|s| s.success())
}

/// Runs in the foreground with our stdin, stdout and stderr (a program that may ask the user,
/// like a signing program's passphrase prompt): it stays in the terminal's process group, so it
/// can read the terminal and a Ctrl-C reaches it directly. Returns its exit status.
pub fn run_interactive(inv: &Invocation) -> Result<ExitStatus, ProcessError> {
    let mut child = inv.std_command().spawn().map_err(|source| ProcessError::Spawn {
        program: inv.program.to_string_lossy().into_owned(),
        source,
    })?;
    Ok(child.wait()?)
}

/// Runs to completion and tells whether it exited 0 (output discarded; a program that cannot
/// start is `false`).
pub fn succeeds(inv: &Invocation) -> bool {
    run(inv).is_ok_and(|out| out.code == 0)
}

/// Runs to completion with stdout and stderr appended to `log`; fails unless it exits 0, with
/// the log's tail in the error.
pub fn run_logged(inv: &Invocation, log: &Path) -> Result<(), ProcessError> {
    let file = OpenOptions::new().create(true).append(true).open(log)?;
    let mut cmd = inv.command();
    cmd.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        program: inv.program.to_string_lossy().into_owned(),
        source,
    })?;
    let status = stop::wait(&mut child)?;
    if !status.success() {
        return Err(failed(inv, exit_code(status), &tail_of_file(log, 15)));
    }
    Ok(())
}

pub(crate) fn failed(inv: &Invocation, code: i32, stderr: &str) -> ProcessError {
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    ProcessError::Failed {
        command: inv.display(),
        status: format!("exit status {code}"),
        stderr: tail,
    }
}

/// Whether `pid` (as written in a leftover's name or label) is a process id that no longer
/// runs here: what git-gitian killed with SIGKILL left behind is named after its pid, and is
/// swept by the next run.
pub fn is_gone(pid: &str) -> bool {
    pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists()
}

/// The last `n` lines of a text file ("" when it cannot be read).
pub fn tail_of_file(path: &Path, n: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        use std::io::{Seek, SeekFrom};
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        text = String::from_utf8_lossy(&buf).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A long-lived helper process (QEMU, virtiofsd, a daemon). Dropping it kills and reaps it.
#[derive(Debug)]
pub struct Child {
    child: Option<std::process::Child>,
    name: String,
}

/// Starts `inv` in its own process group with stdin closed and stdout+stderr appended to
/// `log`. The kernel kills it if this process dies (`setpriv --pdeathsig KILL`).
pub fn spawn(inv: &Invocation, log: &Path) -> Result<Child, ProcessError> {
    let file = OpenOptions::new().create(true).append(true).open(log)?;
    let mut wrapped = Invocation::new("setpriv").arg("--pdeathsig").arg("KILL").arg("--");
    wrapped.args.push(inv.program.clone());
    wrapped.args.extend(inv.args.iter().cloned());
    wrapped.env = inv.env.clone();
    wrapped.env_remove = inv.env_remove.clone();
    wrapped.env_clear = inv.env_clear;
    wrapped.cwd = inv.cwd.clone();
    let mut cmd = wrapped.command();
    cmd.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    let child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        program: inv.program.to_string_lossy().into_owned(),
        source,
    })?;
    Ok(Child { child: Some(child), name: inv.program.to_string_lossy().into_owned() })
}

impl Child {
    /// Its process id (0 once reaped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, std::process::Child::id)
    }

    /// The program name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `Some(code)` once it has exited.
    pub fn try_wait(&mut self) -> Option<i32> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(exit_code(status)),
            Ok(None) => None,
            Err(_) => Some(-1),
        }
    }

    /// Waits up to `timeout` for it to exit by itself; true if it did.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        loop {
            if self.child.is_none() || self.try_wait().is_some() {
                return true;
            }
            if start.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it and its whole process group (SIGKILL: a helper holds nothing to clean up) and
    /// returns once every member has exited (see [`stop::kill`]). Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop::kill(&mut child);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_like_a_shell() {
        let inv = Invocation::new("qemu-img").args(["create", "-f", "qcow2", "a b", "it's"]);
        assert_eq!(inv.display(), r"qemu-img create -f qcow2 'a b' 'it'\''s'");
    }

    #[test]
    fn run_ok_reports_stderr_tail() {
        let inv = Invocation::new("sh").args(["-c", "echo oops >&2; exit 3"]);
        let err = run_ok(&inv).unwrap_err().to_string();
        assert!(err.contains("exit status 3") && err.contains("oops"), "{err}");
    }

    #[test]
    fn stdin_reaches_the_command() {
        let inv = Invocation::new("cat");
        let out = run_with_stdin(&inv, Some(b"hello")).unwrap();
        assert_eq!(out.stdout, b"hello");
    }

    #[test]
    fn dropped_child_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let mut child =
            spawn(&Invocation::new("sleep").arg("30"), &dir.path().join("log")).unwrap();
        let pid = child.pid();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        assert!(child.try_wait().is_none());
        drop(child);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
