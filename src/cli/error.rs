//! The one error type of the command line: a message, its causes and hints, printed once in
//! git's voice (`error:` / `caused by:` / `hint:`), always exit status 2.
//!
//! Each library error converts through its own `From` impl below, which picks the hint for
//! its variant (style E2); nothing here matches on message text. The chain of causes is
//! written once: a cause that only repeats the line above it is left out, and libgit2's own
//! words stand without its class and code numbers (`class=Repository (6)`).

use std::error::Error;
use std::fmt;

use crate::git::repo::RepoError;
use crate::gpg::GpgError;
use crate::guest::process::ProcessError;
use crate::ops::hooks::HooksError;
use crate::ops::init::InitError;
use crate::ops::verify::VerifyError;

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

    /// The error and its chain of sources, each written once and in plain words.
    pub fn chain(err: &(dyn Error + 'static)) -> Self {
        let mut out = Self::new(plain_text(err).unwrap_or_else(|| err.to_string()));
        let mut above = out.message.clone();
        out.hints.extend(io_hint(err));
        let mut source = err.source();
        while let Some(s) = source {
            if out.hints.is_empty() {
                out.hints.extend(io_hint(s));
            }
            if let Some(text) = plain_text(s).map(|t| t.trim().to_string())
                && !text.is_empty()
                && !above.contains(&text)
            {
                out.causes.push(text.clone());
                above = text;
            }
            source = s.source();
        }
        out
    }
}

/// What to do about an I/O error of a known kind (the message above names the path).
fn io_hint(err: &(dyn Error + 'static)) -> Option<String> {
    use std::io::ErrorKind as K;
    let hint = match err.downcast_ref::<std::io::Error>()?.kind() {
        K::PermissionDenied => "check who may write there: `ls -ld` on the path and its folder",
        K::StorageFull | K::QuotaExceeded => {
            "free some space on that file system and run the same command again"
        }
        K::ReadOnlyFilesystem => {
            "that file system is mounted read-only: use a folder on a writable one"
        }
        _ => return None,
    };
    Some(hint.to_string())
}

/// libgit2's message without its class and code; `None` when libgit2 had nothing to say
/// (its "no error"). Other errors: their own text.
fn plain_text(err: &(dyn Error + 'static)) -> Option<String> {
    match crate::git::libgit2_message(err) {
        Some(message) => message,
        None => Some(err.to_string()),
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

/// Conversions that add nothing but the chain.
macro_rules! plain_from {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CliError {
            fn from(err: $t) -> Self {
                Self::chain(&err)
            }
        }
    )*};
}

plain_from!(
    GpgError,
    ProcessError,
    HooksError,
    InitError,
    std::io::Error,
    crate::ops::sign::SignError,
    crate::ops::base::BaseError,
    crate::ops::build::BuildError,
    crate::core::descriptor::DescriptorError,
);

impl From<RepoError> for CliError {
    fn from(err: RepoError) -> Self {
        let locked = err.is_locked();
        let out = Self::chain(&err);
        match err {
            RepoError::NoIdentity { .. } => out.hint(
                "set it with `git config --global user.name 'Your Name'` and `git config --global user.email you@example.org`",
            ),
            _ if locked => out.hint("another git process seems to be running in this repository; if none is, remove the .lock file it names and run the same command again"),
            _ => out,
        }
    }
}

impl From<VerifyError> for CliError {
    fn from(err: VerifyError) -> Self {
        let out = Self::chain(&err);
        match err {
            VerifyError::Empty(_) => out.hint(
                "a ledger holds <release>/<signer>/<name>-build.assert(.sig) or <version>/<signer>/*.SHA256SUMS(.asc)",
            ),
            _ => out,
        }
    }
}
