//! Everything the tool prints goes through `Ui`: results on stdout, messages on stderr.

use std::io::{IsTerminal, Write};

use super::CliError;

/// Output channel with a verbosity setting.
#[derive(Debug)]
pub struct Ui {
    /// Suppress informational messages (`-q`).
    pub quiet: bool,
    /// Whether stderr is a terminal (progress can redraw lines).
    pub stderr_tty: bool,
    /// Whether stdout is a terminal.
    pub stdout_tty: bool,
}

impl Default for Ui {
    fn default() -> Self {
        Self::new()
    }
}

impl Ui {
    /// A Ui on the process's stdout and stderr.
    pub fn new() -> Self {
        Self {
            quiet: false,
            stderr_tty: std::io::stderr().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
        }
    }

    /// Writes result text to stdout. A closed pipe is not an error.
    pub fn out(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// An informational line on stderr, unless quiet.
    pub fn info(&mut self, line: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// A warning on stderr, always shown.
    pub fn warn(&mut self, line: &str) {
        let _ = writeln!(std::io::stderr(), "warning: {line}");
    }

    /// Prints an error (with causes and hints) on stderr.
    pub fn error(&mut self, err: &CliError) {
        let _ = write!(std::io::stderr(), "{err}");
    }

    /// Terminal width for tables from `COLUMNS`; None lets the table ask the terminal.
    pub fn width(&self) -> Option<u16> {
        std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
    }
}
