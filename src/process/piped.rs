//! Children whose stdin, stdout and stderr the caller wires: a guest command fed its script on
//! stdin and logged to a file, or the two ends of a `producer | consumer` copy. Waiting honours
//! the interruption flag and stopping follows the one policy of [`super::stop`].

use std::io::{Read, Write};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, ExitStatus};
use std::thread::JoinHandle;

pub use std::process::Stdio;

use super::{Invocation, ProcessError, status_text, stop};

/// A started child with caller-wired stdio; stopped (the one policy) if dropped unwaited.
#[derive(Debug)]
pub struct Proc {
    child: Option<std::process::Child>,
    command: String,
}

/// Starts `inv` (in its own process group) with the given stdio.
pub fn start(
    inv: &Invocation,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> Result<Proc, ProcessError> {
    let mut cmd = inv.command();
    let child = cmd.stdin(stdin).stdout(stdout).stderr(stderr).spawn().map_err(|source| {
        ProcessError::Spawn { program: inv.program.to_string_lossy().into_owned(), source }
    })?;
    Ok(Proc { child: Some(child), command: inv.display() })
}

/// The stdout/stderr of a command: appended to the log file, or discarded.
pub fn log_stdio(log: Option<&Path>) -> Result<(Stdio, Stdio), ProcessError> {
    match log {
        None => Ok((Stdio::null(), Stdio::null())),
        Some(path) => {
            let f =
                std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot open log {}: {e}", path.display()),
                    )
                })?;
            let g = f.try_clone()?;
            Ok((Stdio::from(f), Stdio::from(g)))
        }
    }
}

impl Proc {
    /// Its process id (0 once reaped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, std::process::Child::id)
    }

    /// Its command line, for messages.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Its stdout, when it was started with [`Stdio::piped`] (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.as_mut()?.stdout.take()
    }

    /// Its stdin, when it was started with [`Stdio::piped`] (once).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.as_mut()?.stdin.take()
    }

    /// Feeds `input` to its piped stdin on a thread and closes it, so waiting (and noticing an
    /// interruption) never blocks on a child that reads slowly. A child that stops reading
    /// early (and so breaks the pipe) is not an error here: its exit status tells.
    pub fn feed(&mut self, input: &[u8]) {
        if let Some(mut stdin) = self.take_stdin() {
            let data = input.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&data);
            });
        }
    }

    /// Reads its piped stderr to the end on a thread (so it never blocks the child).
    pub fn capture_stderr(&mut self) -> JoinHandle<Vec<u8>> {
        let r = self.child.as_mut().and_then(|c| c.stderr.take());
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    }

    /// `Some(status)` once it has exited (it is then reaped).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    /// Waits for it; when git-gitian is interrupted meanwhile, stops it (the whole group, see
    /// [`stop`]) and fails with [`ProcessError::Interrupted`].
    pub fn wait(&mut self) -> Result<ExitStatus, ProcessError> {
        let Some(child) = self.child.as_mut() else {
            return Err(ProcessError::Io(std::io::Error::other(format!(
                "'{}' was already waited for",
                self.command
            ))));
        };
        let status = stop::wait(child);
        self.child = None;
        status
    }

    /// Waits for it to end even when git-gitian is interrupted: for clean-up commands (see
    /// [`super::run_cleanup`]).
    pub fn wait_to_end(&mut self) -> Result<ExitStatus, ProcessError> {
        let Some(child) = self.child.as_mut() else {
            return Err(ProcessError::Io(std::io::Error::other(format!(
                "'{}' was already waited for",
                self.command
            ))));
        };
        let status = stop::wait_to_end(child);
        self.child = None;
        status
    }

    /// Stops it and its group (SIGINT, grace, SIGKILL) and reaps them. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop::stop(&mut child);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for `producer | consumer` (both started with stderr piped, the producer's stdout
/// feeding the consumer); fails unless both exit 0, quoting their stderr. `what` names the
/// pipeline in the error.
pub fn pipe(what: &str, mut producer: Proc, mut consumer: Proc) -> Result<(), ProcessError> {
    let p_err = producer.capture_stderr();
    let c_err = consumer.capture_stderr();
    let c = match consumer.wait() {
        Ok(c) => c,
        Err(e) => {
            producer.stop();
            return Err(e);
        }
    };
    let p = producer.wait()?;
    if !p.success() || !c.success() {
        let text = |h: JoinHandle<Vec<u8>>| {
            String::from_utf8_lossy(&h.join().unwrap_or_default()).trim().to_string()
        };
        return Err(ProcessError::Failed {
            command: what.to_string(),
            status: format!("{} / {}", status_text(p), status_text(c)),
            stderr: format!("{} {}", text(p_err), text(c_err)).trim().to_string(),
        });
    }
    Ok(())
}

/// Runs `producer | consumer`, two plain host commands.
pub fn pipe_commands(producer: &Invocation, consumer: &Invocation) -> Result<(), ProcessError> {
    let mut p = start(producer, Stdio::null(), Stdio::piped(), Stdio::piped())?;
    let out = p.take_stdout().expect("piped stdout");
    let c = start(consumer, Stdio::from(out), Stdio::null(), Stdio::piped())?;
    pipe(&format!("{} | {}", producer.display(), consumer.display()), p, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_fails_with_both_statuses_and_stderr() {
        let p = Invocation::new("sh").args(["-c", "echo data; echo from-p >&2"]);
        let c = Invocation::new("sh").args(["-c", "cat >/dev/null; echo from-c >&2; exit 4"]);
        let e = pipe_commands(&p, &c).unwrap_err().to_string();
        assert!(e.contains("exit status 0 / exit status 4"), "{e}");
        assert!(e.contains("from-p from-c"), "{e}");
        pipe_commands(&p, &Invocation::new("cat")).unwrap();
    }

    #[test]
    fn fed_stdin_and_logged_output() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let (out, err) = log_stdio(Some(&log)).unwrap();
        let mut p = start(&Invocation::new("sh"), Stdio::piped(), out, err).unwrap();
        p.feed(b"echo one; echo two >&2; exit 3\n");
        assert_eq!(super::super::exit_code(p.wait().unwrap()), 3);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");
    }
}
