//! Gitian descriptors (spec §1): the model, and a parser whose every error names the file, the
//! line and the field. Pure: text in, values out.
//!
//! The YAML is read with serde_yaml_ng into a small tree of our own (`Node`), through a
//! visitor that counts every node it is handed, aliases included, so a YAML alias bomb stops
//! once it has produced more nodes than the text has bytes instead of filling the memory. serde_yaml_ng values carry no
//! positions, but its errors do: to find the line of a field we parse the text again with a
//! visitor that fails on purpose when it reaches that field, and read the position off the error
//! (see `locate`). That costs one more parse per reported problem, never on a good descriptor.
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
//! - An unquoted `reference_datetime` is an error: YAML 1.1 (Psych) reads `2013-06-01 00:00:00`
//!   as a timestamp and Gitian then fails on it, while a YAML 1.2 reader would take it as a
//!   string. Accepting it would make descriptors that only work here; the hint says to quote it.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Descriptors larger than this are refused before parsing (real ones are under 20 KiB).
pub const MAX_DESCRIPTOR_BYTES: usize = 1 << 20;

/// The architectures Gitian knows (spec §1, architecture table).
pub const ARCHITECTURES: [&str; 3] = ["i386", "amd64", "linux64"];

/// A parsed and checked Gitian descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Names the result, cache and assert files; letters, digits, `_`, `.`, `-`.
    pub name: String,
    /// Target distribution and user name in the guest; default `ubuntu`.
    pub distro: String,
    /// Distribution releases to build on, one guest each (with each architecture).
    pub suites: Vec<String>,
    /// `i386`, `amd64` or `linux64`.
    pub architectures: Vec<String>,
    /// Packages installed before the script runs.
    pub packages: Vec<String>,
    /// `YYYY-MM-DD HH:MM:SS`; when absent, the author date of the last remote's commit.
    pub reference_datetime: Option<String>,
    /// Git repositories checked out into `build/<dir>`.
    pub remotes: Vec<Remote>,
    /// Input files taken from `inputs/`.
    pub files: Vec<String>,
    /// The build script, verbatim (empty when absent).
    pub script: String,
    /// Caches copied into and back from the guest.
    pub enable_cache: bool,
    /// The build user may use sudo (only with `--allow-sudo`).
    pub sudo: bool,
    /// Extra dpkg architectures.
    pub multiarch: Vec<String>,
    /// Extra apt sources and what to install from them.
    pub repositories: Vec<Repository>,
    /// `update-alternatives --set` pairs.
    pub alternatives: Vec<Alternative>,
    /// Docker images replacing `suites` (Docker backend only); empty or as long as `suites`.
    pub docker_image_digests: Vec<String>,
    /// Output files allowed to be missing; `None` when the key is absent or null.
    pub optionals: Option<Vec<String>>,
    /// `limits: {memory: 8G, processes: 4096, disk: 40G}` (git-gitian's; Gitian ignores it).
    pub limits: crate::core::limits::LimitSpec,
}

impl Default for Descriptor {
    fn default() -> Self {
        Self {
            name: String::new(),
            distro: "ubuntu".to_owned(),
            suites: Vec::new(),
            architectures: Vec::new(),
            packages: Vec::new(),
            reference_datetime: None,
            remotes: Vec::new(),
            files: Vec::new(),
            script: String::new(),
            enable_cache: false,
            sudo: false,
            multiarch: Vec::new(),
            repositories: Vec::new(),
            alternatives: Vec::new(),
            docker_image_digests: Vec::new(),
            optionals: None,
            limits: Default::default(),
        }
    }
}

/// One `remotes` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Remote {
    /// Where to fetch from; may be left to `--url dir=URL`.
    pub url: Option<String>,
    /// Checkout directory name under `inputs/` and `build/`.
    pub dir: String,
    /// Tag, branch or full SHA; when absent, `--commit dir=COMMIT` must give it.
    pub commit: Option<String>,
}

/// One `repositories` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repository {
    /// A `sources.list` line.
    pub source: String,
    /// The release to install from (`apt-get -t`).
    pub distribution: String,
    /// Packages to install from it.
    pub packages: Vec<String>,
}

/// One `alternatives` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alternative {
    /// The alternative's name.
    pub package: String,
    /// The path it is set to.
    pub path: String,
}

/// `GBUILD_BITS` (and `start-target`'s first argument) for an architecture.
pub fn bits(arch: &str) -> Option<u32> {
    match arch {
        "i386" => Some(32),
        "amd64" | "linux64" => Some(64),
        _ => None,
    }
}

/// The `setarch` personality the build script runs under.
pub fn personality(arch: &str) -> Option<&'static str> {
    match arch {
        "i386" => Some("i386"),
        "amd64" => Some("x86_64"),
        "linux64" => Some("linux64"),
        _ => None,
    }
}

/// The QEMU system emulator Gitian starts for an architecture.
pub fn qemu_system(arch: &str) -> Option<&'static str> {
    match arch {
        "i386" => Some("qemu-system-i386"),
        "amd64" | "linux64" => Some("qemu-system-x86_64"),
        _ => None,
    }
}

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
        let input_error = |line, message: String, hint: &str| Checked {
            descriptor: None,
            errors: vec![DescriptorError {
                file: file.to_owned(),
                line,
                field: None,
                message,
                hint: Some(hint.to_owned()),
                kind: ErrorKind::Input,
            }],
            warnings: Vec::new(),
        };
        if bytes.len() > MAX_DESCRIPTOR_BYTES {
            let line = line_at(&bytes[..MAX_DESCRIPTOR_BYTES]);
            return input_error(
                line,
                format!("descriptor is larger than {} MiB", MAX_DESCRIPTOR_BYTES >> 20),
                "a descriptor is a short YAML file; is this the right file?",
            );
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let at = e.valid_up_to();
                let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                return input_error(
                    line_at(&bytes[..at]),
                    format!(
                        "not valid UTF-8: byte 0x{:02x} at column {}",
                        bytes[at],
                        at - line_start + 1
                    ),
                    "save the descriptor as UTF-8",
                );
            }
        };
        let mut checker = Checker::new(file, text);
        let descriptor = checker.run();
        let Checker { mut errors, mut warnings, .. } = checker;
        errors.sort_by_key(|e| e.line);
        warnings.sort_by_key(|w| w.line);
        Checked { descriptor: descriptor.filter(|_| errors.is_empty()), errors, warnings }
    }

    fn finish(checked: Checked) -> Result<Self, DescriptorError> {
        match (checked.descriptor, checked.errors.into_iter().next()) {
            (Some(d), None) => Ok(d),
            (_, Some(e)) => Err(e),
            (None, None) => unreachable!("a descriptor without errors is always built"),
        }
    }
}

/// 1-based line number of the end of `bytes`.
fn line_at(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

// ---------------------------------------------------------------------------------------------
// The YAML tree.

/// A YAML node as read, keys in document order, duplicates kept.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    /// A number, as printed back by serde.
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// "a string", "a list", ... for messages.
    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "empty",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::Str(_) => "a string",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }
}

/// Reads a YAML document into a [`Node`], counting nodes against a budget shared across the
/// whole document (aliases are expanded by serde_yaml_ng, so they count every time).
#[derive(Clone, Copy)]
struct Reader<'a> {
    budget: &'a Cell<usize>,
    /// Our own message for an error we raise (serde's message would add its path).
    message: &'a Cell<Option<&'static str>>,
}

const TOO_MANY_NODES: &str =
    "the YAML expands to too many values (an alias bomb?); descriptors need no aliases";
const TAGS_UNSUPPORTED: &str = "YAML tags (like !foo) are not supported in descriptors";

impl Reader<'_> {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(self.fail(TOO_MANY_NODES)),
        }
    }

    fn fail<E: de::Error>(&self, message: &'static str) -> E {
        self.message.set(Some(message));
        E::custom(message)
    }
}

impl<'de> DeserializeSeed<'de> for Reader<'_> {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reader<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.spend()?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(self)? {
            let value = map.next_value_seed(self)?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // serde_yaml_ng hands tagged nodes over as enums; the non-specific tag `!` (Psych
        // writes `! 'text'`) only says "a string", any other tag is refused.
        use de::VariantAccess as _;
        let (tag, variant) = data.variant::<String>()?;
        if tag == "!" {
            return variant.newtype_variant_seed(self);
        }
        Err(self.fail(TAGS_UNSUPPORTED))
    }
}

/// Parses `text` into a tree; a YAML or budget error comes back with its 1-based line and
/// column.
fn read_tree(text: &str) -> Result<Node, (String, Option<(usize, usize)>)> {
    // Without aliases a node takes at least one byte of text (`{a,b}`: two keys, two nulls),
    // so this budget only stops documents that expand.
    let budget = Cell::new(text.len() + 1024);
    let message = Cell::new(None);
    let reader = Reader { budget: &budget, message: &message };
    reader.deserialize(serde_yaml_ng::Deserializer::from_str(text)).map_err(|e| {
        let at = e.location().map(|l| (l.line(), l.column()));
        let text = match message.get() {
            Some(ours) => ours.to_owned(),
            None => yaml_message(&e.to_string(), at),
        };
        (text, at)
    })
}

/// serde_yaml_ng's message without the position we print in front anyway.
fn yaml_message(message: &str, at: Option<(usize, usize)>) -> String {
    let mut message = message.to_owned();
    if let Some((line, column)) = at {
        message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
    }
    if message.starts_with("deserializing from YAML containing more than one document") {
        return "more than one YAML document (a second '---')".to_owned();
    }
    message
}

// ---------------------------------------------------------------------------------------------
// Positions.

/// One step of a path into the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// The `n`-th (0-based) occurrence of a string key in a mapping.
    Key(String, usize),
    /// A list item.
    Index(usize),
}

/// Marker message of the deliberate error [`Finder`] raises where the searched node starts.
const FOUND: &str = "\u{1}located\u{1}";

/// 1-based line and column where the node at `path` starts (its key when `at_key`), or `None`
/// when the path does not exist. Parses the text again; only called for problems.
fn locate(text: &str, path: &[Seg], at_key: bool) -> Option<(usize, usize)> {
    let finder = Finder { path, at_key };
    match finder.deserialize(serde_yaml_ng::Deserializer::from_str(text)) {
        Ok(()) => None,
        Err(e) if e.to_string().contains(FOUND) => e.location().map(|l| (l.line(), l.column())),
        Err(_) => None,
    }
}

/// Walks down `path`, draining everything else, and fails on purpose on arrival.
#[derive(Clone, Copy)]
struct Finder<'p> {
    path: &'p [Seg],
    at_key: bool,
}

impl<'de> DeserializeSeed<'de> for Finder<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Finder<'_> {
    fn arrive<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() { Err(E::custom(FOUND)) } else { Ok(()) }
    }
}

impl<'de> Visitor<'de> for Finder<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.arrive()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.arrive()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.arrive()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.arrive()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.arrive()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.arrive()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.arrive()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.arrive()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.arrive()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.arrive()?;
        let mut index = 0;
        loop {
            let found = match self.path.split_first() {
                Some((Seg::Index(i), rest)) if *i == index => {
                    seq.next_element_seed(Finder { path: rest, at_key: self.at_key })?
                }
                _ => seq.next_element::<IgnoredAny>()?.map(|_| ()),
            };
            if found.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.arrive()?;
        let (want, nth, rest) = match self.path.split_first() {
            Some((Seg::Key(k, n), rest)) => (Some(k.as_str()), *n, rest),
            _ => (None, 0, &[][..]),
        };
        let mut seen = 0;
        loop {
            let fail_on_key = rest.is_empty() && self.at_key && seen == nth;
            let Some(matched) = map.next_key_seed(KeyMatch { want, fail_on_key })? else {
                return Ok(());
            };
            if matched && seen == nth {
                map.next_value_seed(Finder { path: rest, at_key: self.at_key })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            if matched {
                seen += 1;
            }
        }
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use de::VariantAccess as _;
        self.arrive()?;
        let (_, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant_seed(self)
    }
}

/// Compares a mapping key with the wanted one; fails on purpose when asked to stop there.
struct KeyMatch<'a> {
    want: Option<&'a str>,
    fail_on_key: bool,
}

impl<'de> DeserializeSeed<'de> for KeyMatch<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyMatch<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        let matched = self.want == Some(v);
        if matched && self.fail_on_key { Err(E::custom(FOUND)) } else { Ok(matched) }
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(IgnoredAny).map(|_| false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| false)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        IgnoredAny.visit_map(map).map(|_| false)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<bool, A::Error> {
        IgnoredAny.visit_enum(data).map(|_| false)
    }
}

/// The first line that holds YAML content (`---` or the first key), skipping blank lines,
/// comments and directives: where "the document" starts for messages about absent keys.
fn document_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            !(t.is_empty() || t.starts_with('#') || t.starts_with('%'))
        })
        .map_or(1, |i| i + 1)
}

// ---------------------------------------------------------------------------------------------
// Character rules.

/// Gitian's `[\w.-]` (Ruby's `\w` is ASCII-only).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}
const NAME_CHARS: &str = "letters, digits, '_', '.' and '-'";

/// Gitian's URL class `[A-Za-z0-9_@/.:+-]` (also the rule for output paths).
fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '/' | '.' | ':' | '+' | '-')
}
const URL_CHARS: &str = "letters, digits, '_', '@', '/', '.', ':', '+' and '-'";

/// Debian package names, with `=version`, `:arch` and `/release` suffixes.
fn is_package_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | ':' | '=' | '~' | '_' | '/')
}
const PACKAGE_CHARS: &str = "letters, digits, '.', '+', '-', ':', '=', '~', '_' and '/'";

/// Keys Gitian reads at the top level.
const KNOWN_KEYS: [&str; 17] = [
    "name",
    "distro",
    "suites",
    "architectures",
    "packages",
    "reference_datetime",
    "remotes",
    "files",
    "script",
    "enable_cache",
    "sudo",
    "multiarch",
    "repositories",
    "alternatives",
    "docker_image_digests",
    "optionals",
    "limits",
];

/// A value shown in a message: escaped, and cut when long.
fn shown(value: &str) -> String {
    let escaped: String = value.escape_debug().collect();
    if escaped.chars().count() > 72 {
        format!("{}...", escaped.chars().take(69).collect::<String>())
    } else {
        escaped
    }
}

/// The edit distance between two short strings (for "did you mean").
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `YYYY-MM-DD HH:MM:SS` with a real date and time.
fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 19
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        });
    shape && chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
}

/// The booleans Psych (YAML 1.1) resolves, in any case, from plain scalars that a YAML 1.2
/// reader keeps as strings (`yes`, `off`, `tRuE`...); Psych reads `y` and `n` as strings.
fn yaml11_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Whether Psych (YAML 1.1) resolves this plain scalar to a Date or Time: `YYYY-M[M]-D[D]`,
/// optionally followed by `T` or blanks and `H[H]:MM:SS` (Psych's pattern then allows a
/// fraction and a zone, which do not change the answer).
fn is_yaml11_timestamp(s: &str) -> bool {
    fn digits(s: &str, min: usize, max: usize) -> Option<&str> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (min..=max).contains(&n).then(|| &s[n..])
    }
    let s = s.strip_prefix('-').unwrap_or(s);
    let date = || -> Option<&str> {
        let rest = digits(s, 4, 4)?.strip_prefix('-')?;
        digits(digits(rest, 1, 2)?.strip_prefix('-')?, 1, 2)
    };
    let Some(rest) = date() else { return false };
    if rest.is_empty() {
        return true;
    }
    let time = match rest.strip_prefix(['T', 't']) {
        Some(t) => t,
        None if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        None => return false,
    };
    let time = || -> Option<&str> {
        let rest = digits(time, 1, 2)?.strip_prefix(':')?;
        digits(digits(rest, 2, 2)?.strip_prefix(':')?, 2, 2)
    };
    time().is_some()
}

// ---------------------------------------------------------------------------------------------
// The checker.

/// Walks the tree, builds the descriptor and collects problems.
struct Checker<'t> {
    file: &'t str,
    text: &'t str,
    errors: Vec<DescriptorError>,
    warnings: Vec<DescriptorWarning>,
}

/// A path being checked: the segments (for [`locate`]) and the display name (`remotes[0].dir`).
#[derive(Clone)]
struct Path {
    segs: Vec<Seg>,
    name: String,
}

impl Path {
    fn key(key: &str) -> Self {
        Self { segs: vec![Seg::Key(key.to_owned(), 0)], name: key.to_owned() }
    }
    fn index(&self, i: usize) -> Self {
        let mut segs = self.segs.clone();
        segs.push(Seg::Index(i));
        Self { segs, name: format!("{}[{i}]", self.name) }
    }
    fn field(&self, key: &str) -> Self {
        let mut segs = self.segs.clone();
        segs.push(Seg::Key(key.to_owned(), 0));
        Self { segs, name: format!("{}.{key}", self.name) }
    }
}

/// Which node of a path a message points at.
#[derive(Clone, Copy)]
enum At {
    /// The key itself (type and "missing" problems of a key).
    Key,
    /// The value.
    Value,
}

/// Stop collecting after this many errors (each one costs a parse to locate).
const MAX_ERRORS: usize = 50;

impl<'t> Checker<'t> {
    fn new(file: &'t str, text: &'t str) -> Self {
        Self { file, text, errors: Vec::new(), warnings: Vec::new() }
    }

    fn line_of(&self, path: &Path, at: At) -> usize {
        let at_key = matches!(at, At::Key) && matches!(path.segs.last(), Some(Seg::Key(..)));
        locate(self.text, &path.segs, at_key)
            .map(|(line, _)| line)
            .unwrap_or_else(|| document_line(self.text))
    }

    fn error(
        &mut self,
        path: &Path,
        at: At,
        kind: ErrorKind,
        message: String,
        hint: Option<String>,
    ) {
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        let line = self.line_of(path, at);
        self.errors.push(DescriptorError {
            file: self.file.to_owned(),
            line,
            field: Some(path.name.clone()),
            message,
            hint,
            kind,
        });
    }

    fn invalid(&mut self, path: &Path, at: At, message: String, hint: Option<String>) {
        self.error(path, at, ErrorKind::Invalid, message, hint);
    }

    fn warn(&mut self, path: &Path, at: At, message: String) {
        let line = self.line_of(path, at);
        self.warnings.push(DescriptorWarning {
            file: self.file.to_owned(),
            line,
            field: Some(path.name.clone()),
            message,
        });
    }

    /// Whether the scalar at `path` is written plain (not quoted, not a block scalar).
    fn is_plain(&self, path: &Path) -> bool {
        let Some((line, column)) = locate(self.text, &path.segs, false) else {
            return false;
        };
        let first = self.text.lines().nth(line - 1).and_then(|l| l.chars().nth(column - 1));
        !matches!(first, Some('"' | '\'' | '|' | '>' | '!'))
    }

    fn run(&mut self) -> Option<Descriptor> {
        let root = match read_tree(self.text) {
            Ok(root) => root,
            Err((message, at)) => {
                self.syntax_error(message, at);
                return None;
            }
        };
        let entries = match root {
            Node::Map(entries) => entries,
            Node::Null => {
                self.top_error("descriptor is empty".to_owned(), None);
                return None;
            }
            other => {
                self.top_error(
                    format!("descriptor must be a mapping of keys, not {}", other.kind()),
                    Some("start with 'name: ...' at the left margin".to_owned()),
                );
                return None;
            }
        };
        self.descriptor(&entries)
    }

    fn top_error(&mut self, message: String, hint: Option<String>) {
        self.errors.push(DescriptorError {
            file: self.file.to_owned(),
            line: document_line(self.text),
            field: None,
            message,
            hint,
            kind: ErrorKind::Invalid,
        });
    }

    fn syntax_error(&mut self, message: String, at: Option<(usize, usize)>) {
        let line = at.map_or_else(|| document_line(self.text), |(l, _)| l);
        let mut error = DescriptorError {
            file: self.file.to_owned(),
            line,
            field: None,
            message: format!("invalid YAML: {message}"),
            hint: None,
            kind: ErrorKind::Syntax,
        };
        if message.starts_with("more than one YAML document") {
            // serde_yaml_ng gives no position: point at the second document's start.
            let second = self
                .text
                .lines()
                .enumerate()
                .skip(document_line(self.text))
                .find(|(_, l)| l.starts_with("---") || l.starts_with("..."));
            if let Some((i, _)) = second {
                error.line = i + 1;
            }
            error.hint = Some("a descriptor is one YAML document".to_owned());
        } else if message == TOO_MANY_NODES || message == TAGS_UNSUPPORTED {
            error.message = message;
            error.kind = ErrorKind::Invalid;
        } else if let Some((quote_line, quote)) = typographic_quote(self.text, line) {
            // A string opened with '"' and "closed" with a typographic quote runs on until the
            // next '"', lines later, where the parser finally trips: point at the cause.
            let problem = message.split(", while").next().unwrap_or(&message);
            error.message = format!(
                "the string opened with '\"' is closed with '{quote}', a typographic quote, \
                 so YAML reads on and fails at line {line}: {problem}"
            );
            error.line = quote_line;
            error.hint = Some(format!("replace '{quote}' with '\"' on line {quote_line}"));
        }
        self.errors.push(error);
    }

    fn descriptor(&mut self, entries: &[(Node, Node)]) -> Option<Descriptor> {
        // Index the keys: duplicates are errors, unknown keys warnings.
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            let Node::Str(key) = key else {
                let shown_key = match key {
                    Node::Number(n) => n.clone(),
                    Node::Bool(b) => b.to_string(),
                    other => other.kind().to_owned(),
                };
                self.warnings.push(DescriptorWarning {
                    file: self.file.to_owned(),
                    line: document_line(self.text),
                    field: None,
                    message: format!("key {shown_key} is not a string (Gitian ignores it)"),
                });
                continue;
            };
            let count = seen.iter().filter(|k| **k == key).count();
            seen.push(key);
            if count >= 1 {
                let mut path = Path::key(key);
                path.segs[0] = Seg::Key(key.clone(), count);
                let first = self.line_of(&Path::key(key), At::Key);
                self.invalid(
                    &path,
                    At::Key,
                    format!("duplicate key '{key}' (first at line {first})"),
                    Some("Gitian would silently use the last one; keep one".to_owned()),
                );
            }
            if count == 0 && !KNOWN_KEYS.contains(&key.as_str()) {
                let mut message = format!("unknown key '{key}' (Gitian ignores it)");
                if let Some(near) = KNOWN_KEYS.iter().find(|k| distance(k, key) <= 2) {
                    message.push_str(&format!("; did you mean '{near}'?"));
                }
                self.warn(&Path::key(key), At::Key, message);
            }
        }
        let get = |key: &str| {
            entries.iter().find_map(|(k, v)| matches!(k, Node::Str(s) if s == key).then_some(v))
        };

        let mut d = Descriptor::default();

        // name: required, [\w.-], not empty/./.. (ours).
        let path = Path::key("name");
        match get("name") {
            None | Some(Node::Null) => self.missing(&path, get("name").is_some(), None),
            Some(v) => {
                if let Some(s) = self.string(&path, v) {
                    self.component(&path, &s, is_name_char, NAME_CHARS);
                    d.name = s;
                }
            }
        }

        // distro: default "ubuntu".
        let path = Path::key("distro");
        if let Some(v) = get("distro").filter(|v| **v != Node::Null)
            && let Some(s) = self.string(&path, v)
        {
            self.chars(&path, &s, is_name_char, NAME_CHARS, true);
            d.distro = s;
        }

        // suites, architectures: required lists.
        let path = Path::key("suites");
        d.suites = self.required_list(&path, get("suites"), "'suites: [bookworm]'");
        for (i, suite) in d.suites.clone().iter().enumerate() {
            self.chars(&path.index(i), suite, is_name_char, NAME_CHARS, true);
        }

        let path = Path::key("architectures");
        d.architectures =
            self.required_list(&path, get("architectures"), "'architectures: [amd64]'");
        for (i, arch) in d.architectures.clone().iter().enumerate() {
            if !ARCHITECTURES.contains(&arch.as_str()) {
                self.invalid(
                    &path.index(i),
                    At::Value,
                    format!("unknown architecture '{}'", shown(arch)),
                    Some(format!("use one of {}", ARCHITECTURES.join(", "))),
                );
            }
        }

        // packages, files: required lists (Gitian crashes on nil), [] allowed.
        let path = Path::key("packages");
        d.packages = self.required_list(&path, get("packages"), "'packages: []' for none");
        for (i, p) in d.packages.clone().iter().enumerate() {
            self.package(&path.index(i), p);
        }

        let path = Path::key("files");
        d.files = self.required_list(&path, get("files"), "'files: []' for none");
        for (i, f) in d.files.clone().iter().enumerate() {
            self.component(&path.index(i), f, is_name_char, NAME_CHARS);
        }

        // reference_datetime: optional quoted "YYYY-MM-DD HH:MM:SS".
        let path = Path::key("reference_datetime");
        if let Some(v) = get("reference_datetime").filter(|v| **v != Node::Null)
            && let Some(s) = self.string(&path, v)
        {
            if self.is_plain(&path) && is_yaml11_timestamp(&s) {
                self.invalid(
                    &path,
                    At::Value,
                    "'reference_datetime' is an unquoted timestamp, which Gitian's YAML \
                         reads as a time and fails on"
                        .to_owned(),
                    Some(format!("quote it: reference_datetime: \"{}\"", shown(&s))),
                );
            } else if !is_datetime(&s) {
                self.invalid(
                    &path,
                    At::Value,
                    format!(
                        "'reference_datetime' '{}' is not a date and time as \
                             'YYYY-MM-DD HH:MM:SS'",
                        shown(&s)
                    ),
                    Some(
                        "write it as reference_datetime: \"2021-01-11 13:45:09\" (UTC)".to_owned(),
                    ),
                );
            }
            d.reference_datetime = Some(s);
        }

        // remotes: required list of {url, dir, commit}; [] only with reference_datetime.
        let path = Path::key("remotes");
        match get("remotes") {
            None => self.missing(&path, false, Some("use 'remotes: []' for none".to_owned())),
            Some(Node::Seq(items)) => {
                if items.is_empty() && get("reference_datetime").is_none() {
                    self.invalid(
                        &path,
                        At::Key,
                        "must supply 'reference_datetime' or 'remotes'".to_owned(),
                        Some(
                            "without a remote there is no commit to take the date from: add \
                             reference_datetime: \"YYYY-MM-DD HH:MM:SS\""
                                .to_owned(),
                        ),
                    );
                }
                for (i, item) in items.iter().enumerate() {
                    if let Some(r) = self.remote(&path.index(i), item) {
                        d.remotes.push(r);
                    }
                }
            }
            Some(other) => self.not_a(&path, other, "list", "use 'remotes: []' for none"),
        }

        // script: optional string.
        let path = Path::key("script");
        if let Some(v) = get("script").filter(|v| **v != Node::Null) {
            d.script = self.string(&path, v).unwrap_or_default();
        }

        // enable_cache, sudo: Ruby truthiness.
        d.enable_cache = self.truthy(&Path::key("enable_cache"), get("enable_cache"));
        d.sudo = self.truthy(&Path::key("sudo"), get("sudo"));

        // Optional lists.
        let path = Path::key("multiarch");
        d.multiarch = self.optional_list(&path, get("multiarch"));
        for (i, a) in d.multiarch.clone().iter().enumerate() {
            self.chars(&path.index(i), a, is_name_char, NAME_CHARS, true);
        }

        let path = Path::key("repositories");
        if let Some(items) = self.optional_seq(&path, get("repositories")) {
            for (i, item) in items.iter().enumerate() {
                if let Some(r) = self.repository(&path.index(i), item) {
                    d.repositories.push(r);
                }
            }
        }

        let path = Path::key("alternatives");
        if let Some(items) = self.optional_seq(&path, get("alternatives")) {
            for (i, item) in items.iter().enumerate() {
                if let Some(a) = self.alternative(&path.index(i), item) {
                    d.alternatives.push(a);
                }
            }
        }

        let path = Path::key("docker_image_digests");
        d.docker_image_digests = self.optional_list(&path, get("docker_image_digests"));
        for (i, digest) in d.docker_image_digests.clone().iter().enumerate() {
            self.chars(&path.index(i), digest, is_url_char, URL_CHARS, true);
        }
        if !d.docker_image_digests.is_empty() && d.docker_image_digests.len() != d.suites.len() {
            self.invalid(
                &path,
                At::Key,
                format!(
                    "'docker_image_digests' has {} entries and 'suites' {}; they must be the \
                     same size",
                    d.docker_image_digests.len(),
                    d.suites.len()
                ),
                Some("give one image digest per suite, in the same order".to_owned()),
            );
        }

        let path = Path::key("optionals");
        if let Some(v) = get("optionals").filter(|v| **v != Node::Null) {
            d.optionals = Some(self.optional_list(&path, Some(v)));
        }

        let path = Path::key("limits");
        match get("limits") {
            None | Some(Node::Null) => {}
            Some(Node::Map(pairs)) => {
                for (k, v) in pairs {
                    let key = match k {
                        Node::Str(s) => s.clone(),
                        other => other.kind().to_owned(),
                    };
                    let at = path.field(&key);
                    let value = match v {
                        Node::Str(s) | Node::Number(s) => s.clone(),
                        other => {
                            self.not_a(&at, other, "size or number", "e.g. limits: {memory: 8G}");
                            continue;
                        }
                    };
                    if let Err((message, hint)) = d.limits.set(&key, &value) {
                        self.invalid(&at, At::Value, message, Some(hint));
                    }
                }
            }
            Some(other) => self.not_a(
                &path,
                other,
                "mapping",
                "write limits: {memory: 8G, processes: 4096, disk: 40G}",
            ),
        }

        Some(d)
    }

    fn missing(&mut self, path: &Path, present: bool, hint: Option<String>) {
        let name = &path.name;
        if present {
            self.error(path, At::Key, ErrorKind::Missing, format!("'{name}' has no value"), hint);
            return;
        }
        // An absent key is reported at the start of its mapping: the document for top-level
        // keys, the list item for nested ones.
        let message = format!("missing field '{name}'");
        if path.segs.len() == 1 {
            self.errors.push(DescriptorError {
                file: self.file.to_owned(),
                line: document_line(self.text),
                field: Some(name.clone()),
                message,
                hint,
                kind: ErrorKind::Missing,
            });
        } else {
            let parent =
                Path { segs: path.segs[..path.segs.len() - 1].to_vec(), name: name.clone() };
            self.error(&parent, At::Value, ErrorKind::Missing, message, hint);
        }
    }

    fn not_a(&mut self, path: &Path, found: &Node, wanted: &str, hint: &str) {
        let message = format!("'{}' must be a {wanted}", path.name);
        let found = found.kind();
        self.invalid(path, At::Key, message, Some(format!("found {found}; {hint}")));
    }

    /// A string value; numbers and booleans are refused with a hint to quote them.
    fn string(&mut self, path: &Path, v: &Node) -> Option<String> {
        match v {
            Node::Str(s) => Some(s.clone()),
            Node::Number(n) => {
                let hint = format!("quote it: \"{n}\"");
                self.not_a(path, v, "string", &hint);
                None
            }
            Node::Bool(b) => {
                let hint = format!("quote it: \"{b}\"");
                self.not_a(path, v, "string", &hint);
                None
            }
            other => {
                self.not_a(path, other, "string", "write a single value");
                None
            }
        }
    }

    fn required_list(&mut self, path: &Path, v: Option<&Node>, example: &str) -> Vec<String> {
        let example_hint = || format!("write it as {example}");
        match v {
            None => {
                self.missing(path, false, Some(example_hint()));
                Vec::new()
            }
            Some(Node::Null) => {
                self.invalid(
                    path,
                    At::Key,
                    format!("'{}' must be a list", path.name),
                    Some(format!("found nothing; {}", example_hint())),
                );
                Vec::new()
            }
            Some(v) => self.list_of_strings(path, v, example),
        }
    }

    fn optional_list(&mut self, path: &Path, v: Option<&Node>) -> Vec<String> {
        match v {
            None | Some(Node::Null) => Vec::new(),
            Some(v) => self.list_of_strings(path, v, "a list: [a, b]"),
        }
    }

    fn optional_seq<'n>(&mut self, path: &Path, v: Option<&'n Node>) -> Option<&'n [Node]> {
        match v {
            None | Some(Node::Null) => None,
            Some(Node::Seq(items)) => Some(items),
            Some(other) => {
                self.not_a(path, other, "list", "write one '- ...' item per entry");
                None
            }
        }
    }

    fn list_of_strings(&mut self, path: &Path, v: &Node, example: &str) -> Vec<String> {
        let Node::Seq(items) = v else {
            let hint = match v {
                Node::Str(s) => format!("write it as a list: [\"{}\"]", shown(s)),
                _ => format!("write it as {example}"),
            };
            self.not_a(path, v, "list", &hint);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = self.string(&path.index(i), item) {
                out.push(s);
            }
        }
        out
    }

    /// Checks `value` against a character class; `nonempty` also refuses "".
    fn chars(
        &mut self,
        path: &Path,
        value: &str,
        ok: fn(char) -> bool,
        allowed: &str,
        nonempty: bool,
    ) -> bool {
        if nonempty && value.is_empty() {
            self.invalid(path, At::Value, format!("'{}' is empty", path.name), None);
            return false;
        }
        let Some(bad) = value.chars().find(|&c| !ok(c)) else {
            return true;
        };
        let hint = if bad.is_alphanumeric() {
            format!("'{bad}' is not an ASCII letter or digit")
        } else {
            format!("'{}' is not allowed", bad.escape_debug())
        };
        self.invalid(
            path,
            At::Value,
            format!("{} '{}' may contain only {allowed}", path.name, shown(value)),
            Some(hint),
        );
        false
    }

    /// A name used as a path component: Gitian's class, plus not empty, `.` or `..`.
    fn component(&mut self, path: &Path, value: &str, ok: fn(char) -> bool, allowed: &str) {
        if self.chars(path, value, ok, allowed, true) && (value == "." || value == "..") {
            self.invalid(
                path,
                At::Value,
                format!("{} '{value}' cannot be '.' or '..'", path.name),
                Some("it becomes a directory or file name".to_owned()),
            );
        }
    }

    fn package(&mut self, path: &Path, value: &str) {
        if self.chars(path, value, is_package_char, PACKAGE_CHARS, true) && value.starts_with('-') {
            self.invalid(
                path,
                At::Value,
                format!("{} '{}' cannot start with '-'", path.name, shown(value)),
                None,
            );
        }
    }

    /// Ruby truthiness, as Gitian tests these keys: anything but absent, null and false is
    /// true. Plain `no`/`off` are false because Psych (YAML 1.1) reads them as booleans.
    fn truthy(&mut self, path: &Path, v: Option<&Node>) -> bool {
        match v {
            None | Some(Node::Null) => false,
            Some(Node::Bool(b)) => *b,
            Some(Node::Str(s)) if self.is_plain(path) && yaml11_bool(s).is_some() => {
                yaml11_bool(s) == Some(true)
            }
            Some(other) => {
                let what = match other {
                    Node::Str(s) => format!("the string \"{}\"", shown(s)),
                    Node::Number(n) => format!("the number {n}"),
                    o => o.kind().to_owned(),
                };
                self.warn(
                    path,
                    At::Value,
                    format!(
                        "'{}' is {what}, which Gitian takes as true; write true or false",
                        path.name
                    ),
                );
                true
            }
        }
    }

    /// Warns about keys of a nested mapping that Gitian does not read.
    fn unknown_fields(&mut self, path: &Path, entries: &[(Node, Node)], known: &[&str]) {
        for (key, _) in entries {
            if let Node::Str(k) = key
                && !known.contains(&k.as_str())
            {
                self.warn(
                    &path.field(k),
                    At::Key,
                    format!("unknown key '{}.{k}' (Gitian ignores it)", path.name),
                );
            }
        }
    }

    fn entries<'n>(
        &mut self,
        path: &Path,
        v: &'n Node,
        example: &str,
    ) -> Option<&'n [(Node, Node)]> {
        match v {
            Node::Map(entries) => Some(entries),
            other => {
                let message = format!("{} must be a mapping", path.name);
                let hint = format!("found {}; write it as {example}", other.kind());
                self.invalid(path, At::Value, message, Some(hint));
                None
            }
        }
    }

    fn field<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
        entries.iter().find_map(|(k, v)| matches!(k, Node::Str(s) if s == key).then_some(v))
    }

    fn remote(&mut self, path: &Path, v: &Node) -> Option<Remote> {
        let entries =
            self.entries(path, v, "{url: \"https://example.org/repo.git\", dir: repo}")?;
        self.unknown_fields(path, entries, &["url", "dir", "commit"]);
        let mut r = Remote::default();
        let mut ok = true;
        let url = path.field("url");
        if let Some(v) = Self::field(entries, "url").filter(|v| **v != Node::Null) {
            match self.string(&url, v) {
                Some(s) => {
                    ok &= self.chars(&url, &s, is_url_char, URL_CHARS, true);
                    r.url = Some(s);
                }
                None => ok = false,
            }
        }
        let dir = path.field("dir");
        match Self::field(entries, "dir") {
            None | Some(Node::Null) => {
                let present = Self::field(entries, "dir").is_some();
                self.missing(
                    &dir,
                    present,
                    Some("the checkout directory, e.g. 'dir: bitcoin'".to_owned()),
                );
                ok = false;
            }
            Some(v) => match self.string(&dir, v) {
                Some(s) => {
                    let before = self.errors.len();
                    self.component(&dir, &s, is_name_char, NAME_CHARS);
                    ok &= self.errors.len() == before;
                    r.dir = s;
                }
                None => ok = false,
            },
        }
        let commit = path.field("commit");
        if let Some(v) = Self::field(entries, "commit").filter(|v| **v != Node::Null) {
            match self.string(&commit, v) {
                Some(s) => {
                    ok &= self.chars(&commit, &s, is_name_char, NAME_CHARS, true);
                    r.commit = Some(s);
                }
                None => ok = false,
            }
        }
        ok.then_some(r)
    }

    fn required_string(&mut self, path: &Path, entries: &[(Node, Node)]) -> Option<String> {
        let key = match path.segs.last() {
            Some(Seg::Key(k, _)) => k.clone(),
            _ => return None,
        };
        match Self::field(entries, &key) {
            None | Some(Node::Null) => {
                self.missing(path, Self::field(entries, &key).is_some(), None);
                None
            }
            Some(v) => self.string(path, v),
        }
    }

    fn repository(&mut self, path: &Path, v: &Node) -> Option<Repository> {
        let example = "{source: \"deb http://deb.debian.org/debian bookworm-backports main\", \
                       distribution: bookworm-backports, packages: [cmake]}";
        let entries = self.entries(path, v, example)?;
        self.unknown_fields(path, entries, &["source", "distribution", "packages"]);
        let before = self.errors.len();
        let source = self.required_string(&path.field("source"), entries);
        if let Some(s) = &source
            && (s.trim().is_empty() || s.contains(['\n', '\r']))
        {
            self.invalid(
                &path.field("source"),
                At::Value,
                format!("{}.source must be one non-empty sources.list line", path.name),
                None,
            );
        }
        let distribution = self.required_string(&path.field("distribution"), entries);
        if let Some(s) = &distribution {
            self.chars(&path.field("distribution"), s, is_name_char, NAME_CHARS, true);
        }
        let packages_path = path.field("packages");
        let packages = self.required_list(
            &packages_path,
            Self::field(entries, "packages"),
            "'packages: []' for none",
        );
        for (i, p) in packages.iter().enumerate() {
            self.package(&packages_path.index(i), p);
        }
        if self.errors.len() != before {
            return None;
        }
        Some(Repository { source: source?, distribution: distribution?, packages })
    }

    fn alternative(&mut self, path: &Path, v: &Node) -> Option<Alternative> {
        let example =
            "{package: x86_64-w64-mingw32-gcc, path: /usr/bin/x86_64-w64-mingw32-gcc-posix}";
        let entries = self.entries(path, v, example)?;
        self.unknown_fields(path, entries, &["package", "path"]);
        let before = self.errors.len();
        let package = self.required_string(&path.field("package"), entries);
        if let Some(p) = &package {
            self.package(&path.field("package"), p);
        }
        let file = self.required_string(&path.field("path"), entries);
        if let Some(p) = &file
            && self.chars(&path.field("path"), p, is_url_char, URL_CHARS, true)
            && !p.starts_with('/')
        {
            self.invalid(
                &path.field("path"),
                At::Value,
                format!("{}.path '{}' must be an absolute path", path.name, shown(p)),
                None,
            );
        }
        if self.errors.len() != before {
            return None;
        }
        Some(Alternative { package: package?, path: file? })
    }
}

/// The nearest line at or before `line` that opens a string with `"` and closes it with a
/// typographic quote (or has an odd number of `"` and a typographic quote).
fn typographic_quote(text: &str, line: usize) -> Option<(usize, char)> {
    let lines: Vec<&str> = text.lines().take(line).collect();
    lines.iter().enumerate().rev().find_map(|(i, l)| {
        let quote =
            l.chars().find(|c| matches!(c, '\u{201c}' | '\u{201d}' | '\u{2018}' | '\u{2019}'))?;
        (l.matches('"').count() % 2 == 1).then_some((i + 1, quote))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key, in the styles real descriptors use (quoted keys, `"package" : ...`,
    /// comments in lists, a block script with tabs and blank lines).
    const FULL: &str = r#"---
name: "bitcoin-core-linux-0.21"
enable_cache: true
sudo: yes
distro: "debian"
suites:
- "bionic"
- "focal"
architectures:
- "amd64"
- "i386"
multiarch:
- "i386"
packages:
# Common dependencies.
- "g++-8"
- "libc6-dev:i386"
reference_datetime: "2021-01-11 13:45:09"
remotes:
- "url": "https://github.com/bitcoin/bitcoin.git"
  "dir": "bitcoin"
  "commit": "v0.21.0"
- "url": "git@example.org:x/sigs.git"
  "dir": "signature"
files:
- "osslsigncode-2.0.tar.gz"
repositories:
- "distribution": "buster-backports"
  "source": "deb http://deb.debian.org/debian/ buster-backports main"
  packages:
  - "cmake"
alternatives:
- "package" : "i686-w64-mingw32-gcc"
  "path" : "/usr/bin/i686-w64-mingw32-gcc-posix"
docker_image_digests:
- "sha256:0123abcd"
- "sha256:4567ef01"
optionals:
- "bitcoin-0.21.0-win64-debug.zip"
script: |
  set -e

  	echo "tab"
  make ${MAKEOPTS}
"#;

    #[test]
    fn limits_are_read_and_checked() {
        let d = Descriptor::parse(
            "x.yml",
            &minimal("limits:\n  memory: 8G\n  processes: 2000\n  disk: 100000\n"),
        )
        .unwrap();
        assert_eq!(d.limits.memory_mib, Some(8192));
        assert_eq!(d.limits.processes, Some(2000));
        assert_eq!(d.limits.disk_mib, Some(100000));
        let e = errors(&minimal("limits:\n  memory: lots\n  cpus: 2\n"));
        assert!(e.iter().any(|e| e.contains("'lots' is not a size")), "{e:?}");
        assert!(e.iter().any(|e| e.contains("unknown limit 'cpus'")), "{e:?}");
        let e = errors(&minimal("limits: 8G\n"));
        assert!(e.iter().any(|e| e.contains("'limits' must be a mapping")), "{e:?}");
    }

    fn errors(text: &str) -> Vec<String> {
        Descriptor::check("x.yml", text).errors.iter().map(ToString::to_string).collect()
    }

    fn error(text: &str) -> DescriptorError {
        Descriptor::parse("x.yml", text).unwrap_err()
    }

    fn warnings(text: &str) -> Vec<String> {
        Descriptor::check("x.yml", text).warnings.iter().map(ToString::to_string).collect()
    }

    /// A minimal valid descriptor, with `extra` lines appended.
    fn minimal(extra: &str) -> String {
        format!(
            "---\nname: x\nsuites:\n- bookworm\narchitectures:\n- amd64\npackages: []\n\
             reference_datetime: \"2020-01-01 00:00:00\"\nremotes: []\nfiles: []\n{extra}"
        )
    }

    #[test]
    fn test_descriptor_parse_every_key() {
        let d = Descriptor::parse("gitian-linux.yml", FULL).unwrap();
        assert_eq!(
            d,
            Descriptor {
                name: "bitcoin-core-linux-0.21".to_owned(),
                distro: "debian".to_owned(),
                suites: vec!["bionic".to_owned(), "focal".to_owned()],
                architectures: vec!["amd64".to_owned(), "i386".to_owned()],
                packages: vec!["g++-8".to_owned(), "libc6-dev:i386".to_owned()],
                reference_datetime: Some("2021-01-11 13:45:09".to_owned()),
                remotes: vec![
                    Remote {
                        url: Some("https://github.com/bitcoin/bitcoin.git".to_owned()),
                        dir: "bitcoin".to_owned(),
                        commit: Some("v0.21.0".to_owned()),
                    },
                    Remote {
                        url: Some("git@example.org:x/sigs.git".to_owned()),
                        dir: "signature".to_owned(),
                        commit: None,
                    },
                ],
                files: vec!["osslsigncode-2.0.tar.gz".to_owned()],
                script: "set -e\n\n\techo \"tab\"\nmake ${MAKEOPTS}\n".to_owned(),
                enable_cache: true,
                sudo: true,
                multiarch: vec!["i386".to_owned()],
                repositories: vec![Repository {
                    source: "deb http://deb.debian.org/debian/ buster-backports main".to_owned(),
                    distribution: "buster-backports".to_owned(),
                    packages: vec!["cmake".to_owned()],
                }],
                alternatives: vec![Alternative {
                    package: "i686-w64-mingw32-gcc".to_owned(),
                    path: "/usr/bin/i686-w64-mingw32-gcc-posix".to_owned(),
                }],
                docker_image_digests: vec![
                    "sha256:0123abcd".to_owned(),
                    "sha256:4567ef01".to_owned()
                ],
                optionals: Some(vec!["bitcoin-0.21.0-win64-debug.zip".to_owned()]),
                limits: Default::default(),
            }
        );
        assert!(Descriptor::check("x.yml", FULL).warnings.is_empty());
    }

    #[test]
    fn test_descriptor_defaults() {
        let d = Descriptor::parse("x.yml", &minimal("")).unwrap();
        assert_eq!(d.distro, "ubuntu");
        assert_eq!(d.script, "");
        assert!(!d.enable_cache && !d.sudo);
        assert_eq!(d.optionals, None);
        assert!(d.multiarch.is_empty() && d.repositories.is_empty() && d.alternatives.is_empty());
        // Null values of optional keys are their defaults; `optionals: []` is not null.
        let d = Descriptor::parse("x.yml", &minimal("script:\noptionals:\nsudo: ~\n")).unwrap();
        assert_eq!((d.script.as_str(), d.optionals, d.sudo), ("", None, false));
        let d = Descriptor::parse("x.yml", &minimal("optionals: []\n")).unwrap();
        assert_eq!(d.optionals, Some(vec![]));
    }

    #[test]
    fn test_descriptor_no_document_marker_and_flow_style() {
        let text = "name: x\nsuites: [bionic]\narchitectures: [amd64]\npackages: [a, b]\n\
                    remotes: [{url: 'https://e.org/r', dir: r}]\nfiles: []\n";
        let d = Descriptor::parse("x.yml", text).unwrap();
        assert_eq!(d.packages, ["a", "b"]);
        assert_eq!(d.remotes[0].dir, "r");
    }

    #[test]
    fn test_descriptor_error_suites_not_a_list_names_its_line() {
        let text = "---\nname: \"x\"\nenable_cache: true\n# comment\n\ndistro: ubuntu\n\
                    suites: bionic\narchitectures: [amd64]\npackages: []\nremotes: []\n\
                    reference_datetime: \"2020-01-01 00:00:00\"\nfiles: []\n";
        let e = error(text);
        assert_eq!(e.to_string(), "x.yml:7: 'suites' must be a list");
        assert_eq!((e.line, e.field.as_deref(), e.kind), (7, Some("suites"), ErrorKind::Invalid));
        assert_eq!(e.hint.as_deref(), Some("found a string; write it as a list: [\"bionic\"]"));
    }

    #[test]
    fn test_descriptor_error_missing_field_at_document_start() {
        let text = "---\nname: x\narchitectures: [amd64]\npackages: []\nremotes: []\nfiles: []\n\
                    reference_datetime: \"2020-01-01 00:00:00\"\n";
        let e = Descriptor::parse("gitian-linux.yml", text).unwrap_err();
        assert_eq!(e.to_string(), "gitian-linux.yml:1: missing field 'suites'");
        assert_eq!((e.field.as_deref(), e.kind), (Some("suites"), ErrorKind::Missing));
        // Leading comments are not the document.
        let e = error(&format!("# a comment\n\n{}", &text[4..]));
        assert_eq!(e.to_string(), "x.yml:3: missing field 'suites'");
    }

    #[test]
    fn test_descriptor_error_remote_dir_with_slash() {
        let text = "name: x\nremotes:\n- url: https://e.org/r\n  dir: a/b\n";
        let text = format!("{text}suites: [a]\narchitectures: [amd64]\npackages: []\nfiles: []\n");
        let e = error(&text);
        assert_eq!(
            e.to_string(),
            "x.yml:4: remotes[0].dir 'a/b' may contain only letters, digits, '_', '.' and '-'"
        );
        assert_eq!(e.field.as_deref(), Some("remotes[0].dir"));
        // The same on the item's first line, as the brief's example has it.
        let e = error("name: x\nremotes:\n- dir: a/b\n");
        assert_eq!(e.to_string(), "x.yml:1: missing field 'suites'", "errors come sorted by line");
        let all = errors("name: x\nremotes:\n- dir: a/b\n");
        assert!(
            all.contains(
                &"x.yml:3: remotes[0].dir 'a/b' may contain only letters, digits, '_', '.' and '-'"
                    .to_owned()
            )
        );
    }

    #[test]
    fn test_descriptor_every_problem_is_reported_with_its_line() {
        let text = "\
name: 'x y'
suites: [bionic, 'a b', '']
architectures:
- amd64
- arm64
packages:
- gcc
- 'x; rm -rf /'
remotes:
- url: 'https://x/a b'
  dir: ..
  commit: 1234
-
  url: https://x/y
- just-a-string
files: [.., a/b]
docker_image_digests: [a]
";
        assert_eq!(
            errors(text),
            [
                "x.yml:1: name 'x y' may contain only letters, digits, '_', '.' and '-'",
                "x.yml:2: suites[1] 'a b' may contain only letters, digits, '_', '.' and '-'",
                "x.yml:2: 'suites[2]' is empty",
                "x.yml:5: unknown architecture 'arm64'",
                "x.yml:8: packages[1] 'x; rm -rf /' may contain only letters, digits, '.', '+', \
                 '-', ':', '=', '~', '_' and '/'",
                "x.yml:10: remotes[0].url 'https://x/a b' may contain only letters, digits, '_', \
                 '@', '/', '.', ':', '+' and '-'",
                "x.yml:11: remotes[0].dir '..' cannot be '.' or '..'",
                "x.yml:12: 'remotes[0].commit' must be a string",
                "x.yml:14: missing field 'remotes[1].dir'",
                "x.yml:15: remotes[2] must be a mapping",
                "x.yml:16: files[0] '..' cannot be '.' or '..'",
                "x.yml:16: files[1] 'a/b' may contain only letters, digits, '_', '.' and '-'",
                "x.yml:17: 'docker_image_digests' has 1 entries and 'suites' 3; they must be the \
                 same size",
            ]
        );
    }

    #[test]
    fn test_descriptor_architectures() {
        for arch in ARCHITECTURES {
            let text = minimal("").replace("- amd64", &format!("- {arch}"));
            assert_eq!(Descriptor::parse("x.yml", &text).unwrap().architectures, [arch]);
        }
        let e = error(&minimal("").replace("- amd64", "- x86_64"));
        assert_eq!(e.to_string(), "x.yml:6: unknown architecture 'x86_64'");
        assert_eq!(e.hint.as_deref(), Some("use one of i386, amd64, linux64"));
        assert_eq!(
            (bits("i386"), bits("amd64"), bits("linux64"), bits("arm64")),
            (Some(32), Some(64), Some(64), None)
        );
        assert_eq!(
            (personality("i386"), personality("amd64"), personality("linux64")),
            (Some("i386"), Some("x86_64"), Some("linux64"))
        );
        assert_eq!(qemu_system("i386"), Some("qemu-system-i386"));
        assert_eq!(qemu_system("linux64"), Some("qemu-system-x86_64"));
    }

    #[test]
    fn test_descriptor_reference_datetime() {
        let unquoted = minimal("").replace("\"2020-01-01 00:00:00\"", "2020-01-01 00:00:00");
        let e = error(&unquoted);
        assert_eq!(
            e.to_string(),
            "x.yml:8: 'reference_datetime' is an unquoted timestamp, which Gitian's YAML reads \
             as a time and fails on"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("quote it: reference_datetime: \"2020-01-01 00:00:00\"")
        );
        let single = minimal("").replace("\"2020-01-01 00:00:00\"", "'2020-01-01 00:00:00'");
        assert!(Descriptor::parse("x.yml", &single).is_ok());
        for bad in ["2020-02-30 00:00:00", "2020-1-1 00:00:00", "2020-01-01T00:00:00", "soon"] {
            let text = minimal("").replace("2020-01-01 00:00:00", bad);
            assert_eq!(
                error(&text).to_string(),
                format!(
                    "x.yml:8: 'reference_datetime' '{bad}' is not a date and time as \
                     'YYYY-MM-DD HH:MM:SS'"
                )
            );
        }
        // Without it, an empty remotes list is an error; a missing one always is.
        let text = minimal("").replace("reference_datetime: \"2020-01-01 00:00:00\"\n", "");
        assert_eq!(
            error(&text).to_string(),
            "x.yml:8: must supply 'reference_datetime' or 'remotes'"
        );
        let text = minimal("").replace("remotes: []\n", "");
        assert_eq!(error(&text).to_string(), "x.yml:1: missing field 'remotes'");
    }

    #[test]
    fn test_yaml11_timestamp_recognition() {
        for yes in [
            "2013-06-01 00:00:00",
            "2013-6-1 0:00:00",
            "2013-06-01",
            "2001-12-14t21:59:43.10-05:00",
        ] {
            assert!(is_yaml11_timestamp(yes), "{yes}");
        }
        for no in ["2013/06/01", "2013-06", "20130601", "2013-06-01x", "2013-06-01 00:00"] {
            assert!(!is_yaml11_timestamp(no), "{no}");
        }
    }

    #[test]
    fn test_descriptor_truthiness_of_enable_cache_and_sudo() {
        let cases: [(&str, bool, bool); 11] = [
            ("true", true, false),
            ("false", false, false),
            ("yes", true, false),
            ("off", false, false),
            ("NO", false, false),
            ("~", false, false),
            ("\"no\"", true, true),
            ("0", true, true),
            ("[]", true, true),
            ("y", true, true),
            ("oFf", false, false),
        ];
        for (value, expected, warned) in cases {
            let checked = Descriptor::check("x.yml", &minimal(&format!("enable_cache: {value}\n")));
            let d = checked.descriptor.unwrap();
            assert_eq!(d.enable_cache, expected, "{value}");
            assert_eq!(!checked.warnings.is_empty(), warned, "{value}");
        }
        assert_eq!(
            warnings(&minimal("sudo: \"false\"\n")),
            [
                "x.yml:11: 'sudo' is the string \"false\", which Gitian takes as true; write true or \
              false"
            ]
        );
    }

    #[test]
    fn test_descriptor_unknown_keys_are_warnings() {
        let text = minimal("backports_packages:\n- a\nsuite: bionic\n")
            .replace("remotes: []", "remotes:\n- dir: d\n  url: https://e.org/d\n  branch: main");
        let checked = Descriptor::check("x.yml", &text);
        assert!(checked.errors.is_empty(), "{:?}", checked.errors);
        assert_eq!(
            warnings(&text),
            [
                "x.yml:12: unknown key 'remotes[0].branch' (Gitian ignores it)",
                "x.yml:14: unknown key 'backports_packages' (Gitian ignores it)",
                "x.yml:16: unknown key 'suite' (Gitian ignores it); did you mean 'suites'?",
            ]
        );
    }

    #[test]
    fn test_descriptor_duplicate_key() {
        let e = error(&minimal("name: y\n"));
        assert_eq!(e.to_string(), "x.yml:11: duplicate key 'name' (first at line 2)");
    }

    #[test]
    fn test_descriptor_repositories_and_alternatives_checked() {
        let text = minimal(
            "repositories:\n- source: \"deb x\"\n  packages: [a]\nalternatives:\n- package: gcc\n  \
             path: usr/bin/gcc\n- nope\n",
        );
        assert_eq!(
            errors(&text),
            [
                "x.yml:12: missing field 'repositories[0].distribution'",
                "x.yml:16: alternatives[0].path 'usr/bin/gcc' must be an absolute path",
                "x.yml:17: alternatives[1] must be a mapping",
            ]
        );
    }

    #[test]
    fn test_descriptor_wrong_types() {
        assert_eq!(
            errors(&minimal("script: [a]\nmultiarch: i386\n")),
            ["x.yml:11: 'script' must be a string", "x.yml:12: 'multiarch' must be a list"]
        );
        let e = error(&minimal("").replace("- bookworm", "- 18.04"));
        assert_eq!(e.to_string(), "x.yml:4: 'suites[0]' must be a string");
        assert_eq!(e.hint.as_deref(), Some("found a number; quote it: \"18.04\""));
        assert_eq!(
            error(&minimal("").replace("packages: []", "packages:")).to_string(),
            "x.yml:7: 'packages' must be a list"
        );
        assert_eq!(
            error("- a\n- b\n").to_string(),
            "x.yml:1: descriptor must be a mapping of keys, not a list"
        );
        assert_eq!(error("# nothing\n").to_string(), "x.yml:1: descriptor is empty");
        assert_eq!(error("").to_string(), "x.yml:1: descriptor is empty");
    }

    #[test]
    fn test_descriptor_yaml_syntax_error_has_its_line() {
        let e = error("name: x\nsuites: [a\narchitectures: [amd64]\n\tfoo: 1\n");
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert_eq!(
            e.to_string(),
            "x.yml:3: invalid YAML: did not find expected ',' or ']', while parsing a flow \
             sequence at line 2 column 9"
        );
        assert_eq!(e.field, None);
    }

    /// The shape of Bitcoin-ABC's broken gitian-linux.yml (89bbb0531ea5).
    #[test]
    fn test_descriptor_typographic_quote_points_at_its_line() {
        let text = "---\nname: \"bitcoin-xbc-0.15-linux\u{201d}\nenable_cache: true\nsuites:\n- \"trusty\"\n";
        let e = error(text);
        assert_eq!(
            e.to_string(),
            "x.yml:2: the string opened with '\"' is closed with '\u{201d}', a typographic quote, so \
             YAML reads on and fails at line 5: did not find expected key"
        );
        assert_eq!(e.hint.as_deref(), Some("replace '\u{201d}' with '\"' on line 2"));
    }

    #[test]
    fn test_descriptor_alias_bomb_is_refused_quickly() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        let e = error(&text);
        assert_eq!(
            e.message,
            "the YAML expands to too many values (an alias bomb?); descriptors need no aliases"
        );
        // A modest alias is fine.
        let d =
            Descriptor::parse("x.yml", &minimal("x: &n bookworm\n").replace("- bookworm", "- *n"));
        assert_eq!(d.unwrap_err().to_string(), "x.yml:4: invalid YAML: unknown anchor");
        let text = format!("x: &n bookworm\n{}", &minimal("")[4..]).replace("- bookworm", "- *n");
        assert_eq!(Descriptor::parse("x.yml", &text).unwrap().suites, ["bookworm"]);
    }

    #[test]
    fn test_descriptor_tags() {
        assert_eq!(
            error(&minimal("").replace("name: x", "name: !foo x")).to_string(),
            "x.yml:2: YAML tags (like !foo) are not supported in descriptors"
        );
        let d = Descriptor::parse("x.yml", &minimal("").replace("name: x", "name: ! 'x'")).unwrap();
        assert_eq!(d.name, "x");
        let d =
            Descriptor::parse("x.yml", &minimal("").replace("name: x", "name: !!str 010")).unwrap();
        assert_eq!(d.name, "010");
    }

    #[test]
    fn test_descriptor_bytes_not_utf8_and_too_large() {
        let e = Descriptor::parse_bytes("x.yml", b"name: x\nsuites: [b\xffionic]\n").unwrap_err();
        assert_eq!(e.to_string(), "x.yml:2: not valid UTF-8: byte 0xff at column 11");
        assert_eq!(e.kind, ErrorKind::Input);
        let mut big = String::new();
        while big.len() <= MAX_DESCRIPTOR_BYTES {
            big.push_str("# padding padding padding padding padding padding padding padding\n");
        }
        let e = error(&big);
        let line = big[..MAX_DESCRIPTOR_BYTES].matches('\n').count() + 1;
        assert_eq!(e.to_string(), format!("x.yml:{line}: descriptor is larger than 1 MiB"));
    }

    #[test]
    fn test_descriptor_second_document_is_refused_at_its_line() {
        let e = error(&minimal("---\nname: y\n"));
        assert_eq!(
            e.to_string(),
            "x.yml:11: invalid YAML: more than one YAML document (a second '---')"
        );
    }

    #[test]
    fn test_locate_paths() {
        let text = "---\nname: x\nremotes:\n-\n  url: u\n  dir: d\n- {dir: e,\n   url: v}\nlist: [a,\n  b]\n";
        let key = |k: &str| Seg::Key(k.to_owned(), 0);
        assert_eq!(locate(text, &[key("name")], true), Some((2, 1)));
        assert_eq!(locate(text, &[key("name")], false), Some((2, 7)));
        assert_eq!(locate(text, &[key("remotes"), Seg::Index(0)], false), Some((5, 3)));
        assert_eq!(locate(text, &[key("remotes"), Seg::Index(0), key("dir")], false), Some((6, 8)));
        assert_eq!(locate(text, &[key("remotes"), Seg::Index(1), key("url")], true), Some((8, 4)));
        assert_eq!(locate(text, &[key("list"), Seg::Index(1)], false), Some((10, 3)));
        assert_eq!(locate(text, &[key("nope")], false), None);
        assert_eq!(locate(text, &[key("remotes"), Seg::Index(5)], false), None);
    }
}
