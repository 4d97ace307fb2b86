//! Gitian descriptors (spec §1): the model, and a parser whose every error names the file, the
//! line and the field. Pure: text in, values out.
//!
//! One concern per file:
//! - `model.rs`: the [`Descriptor`] and its parts; `error.rs`: errors, warnings, [`Checked`];
//! - `depth.rs`: a linear check of flow nesting before the YAML reader runs;
//! - `tree.rs`: the YAML read into a small tree of our own (`Node`), counting every node so
//!   an alias bomb stops early;
//! - `positions.rs`: every node's line and column, found by one more parse at the first
//!   problem (never on a good descriptor, except to tell a quoted value from a plain one);
//! - `checker.rs` (the frame), `fields.rs` (top-level keys), `values.rs` (shapes and
//!   characters), `nested.rs` (list items), `chars.rs` (character classes, dates, booleans).
//!
//! Every reader is linear in its input (at most [`MAX_DESCRIPTOR_BYTES`]): 64,000 nested `[`,
//! 4,000 unknown keys or 20,000 duplicate keys are answered in milliseconds (bench/lint).
//!
//! Where we differ from Gitian (`bin/gbuild`), on purpose:
//! - `name`, `remotes[].dir` and `files` become path components (`result/<name>-res.yml`,
//!   `inputs/<dir>`), so besides Gitian's character class they may not be empty, `.` or `..`.
//!   `suites` may not be empty either.
//! - Values Gitian hands to a shell unchecked (`distro`, `packages`, `multiarch`, the fields of
//!   `repositories` and `alternatives`, `docker_image_digests`) get a character check; every
//!   real descriptor passes it.
//! - A duplicate key is an error (Psych silently keeps the last one).
//! - `reference_datetime` must be exactly `YYYY-MM-DD HH:MM:SS` and a real date (Gitian only
//!   splits it at whitespace; `git log --date='format-local:%F %T'` writes this form).
//! - YAML tags other than the non-specific `!` are refused, and a document that expands past
//!   about one node per byte of text (aliases) is refused as a likely alias bomb. Other
//!   aliases are accepted, as older Psych did; Psych 4 (Ruby 3.1+), through which Gitian's
//!   `YAML.load_file` goes there, refuses every alias.
//! - `normalize: [tar, gzip, zip, ar]` is a key of ours (gbuild ignores it): the build
//!   normalises those archives in `build/out` before it hashes them, and the result records it.
//! - An unquoted `reference_datetime` is an error: YAML 1.1 (Psych) reads `2013-06-01 00:00:00`
//!   as a timestamp and Gitian then fails on it, while a YAML 1.2 reader would take it as a
//!   string. Accepting it would make descriptors that only work here; the hint says to quote it.

mod chars;
mod checker;
mod depth;
mod error;
mod fields;
mod model;
mod nested;
mod positions;
mod tree;
mod values;

#[cfg(test)]
mod tests;

pub use error::{Checked, DescriptorError, DescriptorWarning, ErrorKind};
pub use model::{
    ARCHITECTURES, Alternative, Descriptor, NORMALIZE_FORMATS, Remote, Repository, bits,
    personality,
};

use checker::Checker;

/// Descriptors larger than this are refused before parsing (real ones are under 20 KiB).
pub const MAX_DESCRIPTOR_BYTES: usize = 1 << 20;

impl Descriptor {
    /// Parses and checks a descriptor; `file` is only used in messages. Returns the first
    /// problem (by line) if there is any.
    pub fn parse(file: &str, text: &str) -> Result<Self, DescriptorError> {
        Self::finish(Self::check(file, text))
    }

    /// Like [`Descriptor::parse`], from raw bytes (refuses non-UTF-8 with the line).
    pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Self, DescriptorError> {
        Self::finish(Self::check_bytes(file, bytes))
    }

    /// Parses and checks a descriptor, collecting every problem and warning.
    pub fn check(file: &str, text: &str) -> Checked {
        Self::check_bytes(file, text.as_bytes())
    }

    /// Like [`Descriptor::check`], from raw bytes.
    pub fn check_bytes(file: &str, bytes: &[u8]) -> Checked {
        let text = match text_of(file, bytes) {
            Ok(text) => text,
            Err(e) => return Checked { descriptor: None, errors: vec![e], warnings: Vec::new() },
        };
        let mut checker = Checker::new(file, text);
        let descriptor = checker.run();
        let Checker { mut errors, mut warnings, .. } = checker;
        errors.sort_by_key(|e| e.line);
        warnings.sort_by_key(|w| w.line);
        Checked { descriptor: descriptor.filter(|_| errors.is_empty()), errors, warnings }
    }

    /// Only the `name` of a descriptor, checked as [`Descriptor::parse_bytes`] checks it; the
    /// other keys may be absent or anything. This is all gverify reads of a descriptor
    /// (`verify -d`): a descriptor holding only `name:` is enough there.
    pub fn read_name(file: &str, bytes: &[u8]) -> Result<String, DescriptorError> {
        let text = text_of(file, bytes)?;
        let mut checker = Checker::new(file, text);
        let name = checker.run_name();
        let mut errors = checker.errors;
        errors.sort_by_key(|e| e.line);
        match (name, errors.into_iter().next()) {
            (_, Some(e)) => Err(e),
            (Some(name), None) => Ok(name),
            (None, None) => unreachable!("a name that is not read is always reported"),
        }
    }

    fn finish(checked: Checked) -> Result<Self, DescriptorError> {
        match (checked.descriptor, checked.errors.into_iter().next()) {
            (Some(d), None) => Ok(d),
            (_, Some(e)) => Err(e),
            (None, None) => unreachable!("a descriptor without errors is always built"),
        }
    }
}

/// The text of a descriptor: at most [`MAX_DESCRIPTOR_BYTES`], UTF-8.
fn text_of<'b>(file: &str, bytes: &'b [u8]) -> Result<&'b str, DescriptorError> {
    let input_error = |line, message: String, hint: &str| DescriptorError {
        file: file.to_owned(),
        line,
        field: None,
        message,
        hint: Some(hint.to_owned()),
        kind: ErrorKind::Input,
    };
    if bytes.len() > MAX_DESCRIPTOR_BYTES {
        return Err(input_error(
            line_at(&bytes[..MAX_DESCRIPTOR_BYTES]),
            format!("descriptor is larger than {} MiB", MAX_DESCRIPTOR_BYTES >> 20),
            "a descriptor is a short YAML file; is this the right file?",
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        input_error(
            line_at(&bytes[..at]),
            format!("not valid UTF-8: byte 0x{:02x} at column {}", bytes[at], at - line_start + 1),
            "save the descriptor as UTF-8",
        )
    })
}

/// 1-based line number of the end of `bytes`.
fn line_at(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod edge_tests;
