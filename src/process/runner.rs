//! [`Runner`]: how a backend runs its host commands, so that its exact command lines can be
//! tested. [`HostRunner`] runs them (through this module's one way of starting processes);
//! [`Recorder`] writes down each command line and answers with what the test scripted.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::piped::{self, Stdio};
use super::{Captured, Invocation, ProcessError, exit_code, shell_quote};

/// Runs host commands for a backend; swapped for a [`Recorder`] in tests.
pub trait Runner: std::fmt::Debug + Send + Sync {
    /// Runs `inv` with `stdin` fed (or closed) and stdout+stderr appended to `log` (or
    /// discarded); returns the exit code.
    fn run(
        &self,
        inv: &Invocation,
        stdin: Option<&[u8]>,
        log: Option<&Path>,
    ) -> Result<i32, ProcessError>;
    /// Runs `inv` to completion, capturing its output; any exit code is returned.
    fn output(&self, inv: &Invocation) -> Result<Captured, ProcessError>;
    /// Runs `producer | consumer`; fails unless both exit 0.
    fn pipe(&self, producer: &Invocation, consumer: &Invocation) -> Result<(), ProcessError>;
    /// Runs a clean-up command to its end, even after an interruption (see
    /// [`super::run_cleanup`]); whether it exited 0.
    fn cleanup(&self, inv: &Invocation) -> bool;
    /// Waits before retrying (a wait loop).
    fn sleep(&self, d: Duration);
    /// [`Self::output`] that fails unless the command exits 0; returns stdout.
    fn output_ok(&self, inv: &Invocation) -> Result<String, ProcessError> {
        let out = self.output(inv)?;
        if out.code != 0 {
            return Err(super::failed(inv, out.code, &String::from_utf8_lossy(&out.stderr)));
        }
        Ok(out.stdout_text())
    }
}

/// The real runner.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostRunner;

impl Runner for HostRunner {
    fn run(
        &self,
        inv: &Invocation,
        stdin: Option<&[u8]>,
        log: Option<&Path>,
    ) -> Result<i32, ProcessError> {
        let (out, errs) = piped::log_stdio(log)?;
        let input = if stdin.is_some() { Stdio::piped() } else { Stdio::null() };
        let mut child = piped::start(inv, input, out, errs)?;
        if let Some(data) = stdin {
            child.feed(data);
        }
        Ok(exit_code(child.wait()?))
    }

    fn output(&self, inv: &Invocation) -> Result<Captured, ProcessError> {
        super::run(inv)
    }

    fn pipe(&self, producer: &Invocation, consumer: &Invocation) -> Result<(), ProcessError> {
        piped::pipe_commands(producer, consumer)
    }

    fn cleanup(&self, inv: &Invocation) -> bool {
        super::run_cleanup(inv)
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// One scripted answer of a [`Recorder`].
#[derive(Debug, Clone)]
struct Reply {
    /// Answers command lines containing this text.
    contains: String,
    /// How many more times (`None`: always).
    times: Option<u32>,
    code: i32,
    stdout: String,
}

/// Records every command line (shell-quoted, `K=V` of its extra environment first, `<<< "..."`
/// for fed stdin, `producer | consumer` for pipes, `sleep N` for waits) and runs nothing.
/// Commands exit 0 with no output unless a [`Recorder::reply`] says otherwise. Clones share
/// the record, so a test keeps one and gives one to the backend.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    lines: Arc<Mutex<Vec<String>>>,
    replies: Arc<Mutex<Vec<Reply>>>,
}

impl Recorder {
    /// A recorder with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Command lines containing `contains` exit `code` printing `stdout`, the next `times`
    /// times (`None`: always). Earlier replies win.
    pub fn reply(&self, contains: &str, times: Option<u32>, code: i32, stdout: &str) {
        self.replies.lock().expect("recorder").push(Reply {
            contains: contains.into(),
            times,
            code,
            stdout: stdout.into(),
        });
    }

    /// What was recorded so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("recorder").clone()
    }

    /// The recorded line of `inv`.
    pub fn line_of(inv: &Invocation) -> String {
        let mut words: Vec<String> = inv
            .env
            .iter()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), shell_quote(&v.to_string_lossy())))
            .collect();
        words.push(inv.display());
        words.join(" ")
    }

    fn record(&self, line: String) -> (i32, String) {
        let mut replies = self.replies.lock().expect("recorder");
        let answer = replies
            .iter_mut()
            .find(|r| line.contains(&r.contains) && r.times != Some(0))
            .map(|r| {
                if let Some(t) = r.times.as_mut() {
                    *t -= 1;
                }
                (r.code, r.stdout.clone())
            });
        self.lines.lock().expect("recorder").push(line);
        answer.unwrap_or((0, String::new()))
    }
}

impl Runner for Recorder {
    fn run(
        &self,
        inv: &Invocation,
        stdin: Option<&[u8]>,
        _log: Option<&Path>,
    ) -> Result<i32, ProcessError> {
        let mut line = Self::line_of(inv);
        if let Some(s) = stdin {
            line.push_str(&format!(" <<< {:?}", String::from_utf8_lossy(s)));
        }
        Ok(self.record(line).0)
    }

    fn output(&self, inv: &Invocation) -> Result<Captured, ProcessError> {
        let (code, stdout) = self.record(Self::line_of(inv));
        Ok(Captured { code, stdout: stdout.into_bytes(), stderr: Vec::new() })
    }

    fn pipe(&self, producer: &Invocation, consumer: &Invocation) -> Result<(), ProcessError> {
        let line = format!("{} | {}", Self::line_of(producer), Self::line_of(consumer));
        match self.record(line.clone()).0 {
            0 => Ok(()),
            code => Err(ProcessError::Failed {
                command: line,
                status: format!("exit status {code}"),
                stderr: String::new(),
            }),
        }
    }

    fn cleanup(&self, inv: &Invocation) -> bool {
        self.record(Self::line_of(inv)).0 == 0
    }

    fn sleep(&self, d: Duration) {
        self.record(format!("sleep {}", d.as_secs_f64()));
    }
}
