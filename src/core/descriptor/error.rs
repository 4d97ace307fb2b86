//! What reading a descriptor reports: errors (unusable), warnings (probably not meant), and
//! the two together with the descriptor.

use std::fmt;

use super::model::Descriptor;

/// What kind of problem a [`DescriptorError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not valid YAML.
    Syntax,
    /// Too large, or not UTF-8.
    Input,
    /// A required key is absent.
    Missing,
    /// A key has a value of the wrong type or shape.
    Invalid,
}

/// A problem that makes a descriptor unusable. Displays as `<file>:<line>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorError {
    /// The file name as given by the caller.
    pub file: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// The field, as `suites`, `remotes[0].dir`; `None` for YAML syntax and input errors.
    pub field: Option<String>,
    /// Lowercase message, without the location.
    pub message: String,
    /// What to do about it, when known.
    pub hint: Option<String>,
    /// What kind of problem.
    pub kind: ErrorKind,
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for DescriptorError {}

/// Something Gitian accepts but that is probably not what the author meant (unknown keys,
/// non-boolean `enable_cache`). Displays as `<file>:<line>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorWarning {
    /// The file name as given by the caller.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The field concerned.
    pub field: Option<String>,
    /// Lowercase message, without the location.
    pub message: String,
}

impl fmt::Display for DescriptorWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Everything found in one descriptor: the descriptor when there is no error, every error (in
/// line order) and every warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The descriptor, when `errors` is empty.
    pub descriptor: Option<Descriptor>,
    /// Problems that make it unusable, sorted by line.
    pub errors: Vec<DescriptorError>,
    /// Things Gitian ignores or reads surprisingly, sorted by line.
    pub warnings: Vec<DescriptorWarning>,
}
