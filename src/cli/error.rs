//! The one error type of the command line: a message, its causes and hints, printed once in
//! git's voice (`error:` / `caused by:` / `hint:`), always exit status 2.

use std::fmt;

/// Could not do the job. Disagreement found by a check is not an error (exit 1, not this).
#[derive(Debug)]
pub struct CliError {
    /// The main message, lowercase, no trailing period, naming the file or flag.
    pub message: String,
    /// The chain of underlying causes, outermost first.
    pub causes: Vec<String>,
    /// What the user can do about it, where known.
    pub hints: Vec<String>,
}

impl CliError {
    /// An error with just a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), causes: Vec::new(), hints: Vec::new() }
    }

    /// Adds a hint line.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Adds a cause line.
    #[must_use]
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        for cause in &self.causes {
            writeln!(f, "caused by: {cause}")?;
        }
        for hint in &self.hints {
            writeln!(f, "hint: {hint}")?;
        }
        Ok(())
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(err: E) -> Self {
        let mut out = Self::new(err.to_string());
        let mut source = err.source();
        while let Some(s) = source {
            out.causes.push(s.to_string());
            source = s.source();
        }
        out
    }
}
