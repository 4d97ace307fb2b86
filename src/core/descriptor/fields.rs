//! The top-level keys of a descriptor: which are known, which repeat, and what each must hold.

use std::collections::HashMap;

use super::chars::{
    NAME_CHARS, URL_CHARS, distance, is_datetime, is_name_char, is_url_char, is_yaml11_timestamp,
    shown,
};
use super::checker::{At, Checker, Path};
use super::error::DescriptorWarning;
use super::model::{ARCHITECTURES, Descriptor, NORMALIZE_FORMATS};
use super::positions::Seg;
use super::tree::Node;

/// Keys Gitian reads at the top level.
const KNOWN_KEYS: [&str; 18] = [
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
    "normalize",
];

/// The top-level mapping's entries, and the first value of each string key.
pub(super) struct Top<'n> {
    first: HashMap<&'n str, &'n Node>,
}

impl<'n> Top<'n> {
    pub(super) fn new(entries: &'n [(Node, Node)]) -> Self {
        let mut first = HashMap::new();
        for (k, v) in entries {
            if let Node::Str(k) = k {
                first.entry(k.as_str()).or_insert(v);
            }
        }
        Self { first }
    }

    /// The value of `key` (its first occurrence).
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.first.get(key).copied()
    }
}

impl Checker<'_> {
    /// Checks every top-level key and builds the descriptor.
    pub(super) fn descriptor(&mut self, entries: &[(Node, Node)]) -> Option<Descriptor> {
        self.keys(entries);
        let top = Top::new(entries);
        let mut d = Descriptor::default();
        self.name_and_distro(&top, &mut d);
        self.lists(&top, &mut d);
        self.reference_datetime(&top, &mut d);
        self.remotes(&top, &mut d);
        self.script_and_flags(&top, &mut d);
        self.apt_extras(&top, &mut d);
        self.docker_and_optionals(&top, &mut d);
        self.limits(&top, &mut d);
        self.normalize(&top, &mut d);
        Some(d)
    }

    /// Duplicate keys are errors, unknown and non-string keys warnings. Linear: keys are
    /// counted in a map, and a duplicate is located only while errors are still collected.
    fn keys(&mut self, entries: &[(Node, Node)]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (key, _) in entries {
            let Node::Str(key) = key else {
                self.non_string_key(key);
                continue;
            };
            let count = seen.entry(key.as_str()).or_insert(0);
            *count += 1;
            let count = *count - 1;
            if count >= 1 && !self.full() {
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
                if let Some(near) = KNOWN_KEYS
                    .iter()
                    .find(|k| k.len().abs_diff(key.len()) <= 2 && distance(k, key) <= 2)
                {
                    message.push_str(&format!("; did you mean '{near}'?"));
                }
                self.warn(&Path::key(key), At::Key, message);
            }
        }
    }

    fn non_string_key(&mut self, key: &Node) {
        let shown_key = match key {
            Node::Number(n) => n.clone(),
            Node::Bool(b) => b.to_string(),
            other => other.kind().to_owned(),
        };
        self.warnings.push(DescriptorWarning {
            file: self.file.to_owned(),
            line: self.doc_line(),
            field: None,
            message: format!("key {shown_key} is not a string (Gitian ignores it)"),
        });
    }

    /// `name`: required, `[\w.-]`, not empty, `.` or `..` (ours). The name even when it is
    /// refused (the error says why), `None` when it is absent or not a string.
    pub(super) fn name(&mut self, top: &Top<'_>) -> Option<String> {
        let path = Path::key("name");
        match top.get("name") {
            None | Some(Node::Null) => {
                self.missing(&path, top.get("name").is_some(), None);
                None
            }
            Some(v) => {
                let s = self.string(&path, v)?;
                self.component(&path, &s, is_name_char, NAME_CHARS);
                Some(s)
            }
        }
    }

    fn name_and_distro(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        d.name = self.name(top).unwrap_or_default();

        // distro: default "ubuntu".
        let path = Path::key("distro");
        if let Some(v) = top.get("distro").filter(|v| **v != Node::Null)
            && let Some(s) = self.string(&path, v)
        {
            self.chars(&path, &s, is_name_char, NAME_CHARS, true);
            d.distro = s;
        }
    }

    /// `suites`, `architectures`, `packages`, `files`: required lists.
    fn lists(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        // suites, architectures: required lists.
        let path = Path::key("suites");
        d.suites = self.required_list(&path, top.get("suites"), "'suites: [bookworm]'");
        for (i, suite) in d.suites.clone().iter().enumerate() {
            self.chars(&path.index(i), suite, is_name_char, NAME_CHARS, true);
        }

        let path = Path::key("architectures");
        d.architectures =
            self.required_list(&path, top.get("architectures"), "'architectures: [amd64]'");
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
        d.packages = self.required_list(&path, top.get("packages"), "'packages: []' for none");
        for (i, p) in d.packages.clone().iter().enumerate() {
            self.package(&path.index(i), p);
        }

        let path = Path::key("files");
        d.files = self.required_list(&path, top.get("files"), "'files: []' for none");
        for (i, f) in d.files.clone().iter().enumerate() {
            self.component(&path.index(i), f, is_name_char, NAME_CHARS);
        }
    }

    /// Optional, quoted `YYYY-MM-DD HH:MM:SS`.
    fn reference_datetime(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        // reference_datetime: optional quoted "YYYY-MM-DD HH:MM:SS".
        let path = Path::key("reference_datetime");
        if let Some(v) = top.get("reference_datetime").filter(|v| **v != Node::Null)
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
    }

    /// A required list of `{url, dir, commit}`; `[]` only with `reference_datetime`.
    fn remotes(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        // remotes: required list of {url, dir, commit}; [] only with reference_datetime.
        let path = Path::key("remotes");
        match top.get("remotes") {
            None => self.missing(&path, false, Some("use 'remotes: []' for none".to_owned())),
            Some(Node::Seq(items)) => {
                if items.is_empty() && top.get("reference_datetime").is_none() {
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
    }

    fn script_and_flags(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        // script: optional string.
        let path = Path::key("script");
        if let Some(v) = top.get("script").filter(|v| **v != Node::Null) {
            d.script = self.string(&path, v).unwrap_or_default();
        }

        // enable_cache, sudo: Ruby truthiness.
        d.enable_cache = self.truthy(&Path::key("enable_cache"), top.get("enable_cache"));
        d.sudo = self.truthy(&Path::key("sudo"), top.get("sudo"));
    }

    /// `multiarch`, `repositories`, `alternatives`: optional.
    fn apt_extras(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        // Optional lists.
        let path = Path::key("multiarch");
        d.multiarch = self.optional_list(&path, top.get("multiarch"));
        for (i, a) in d.multiarch.clone().iter().enumerate() {
            self.chars(&path.index(i), a, is_name_char, NAME_CHARS, true);
        }

        let path = Path::key("repositories");
        if let Some(items) = self.optional_seq(&path, top.get("repositories")) {
            for (i, item) in items.iter().enumerate() {
                if let Some(r) = self.repository(&path.index(i), item) {
                    d.repositories.push(r);
                }
            }
        }

        let path = Path::key("alternatives");
        if let Some(items) = self.optional_seq(&path, top.get("alternatives")) {
            for (i, item) in items.iter().enumerate() {
                if let Some(a) = self.alternative(&path.index(i), item) {
                    d.alternatives.push(a);
                }
            }
        }
    }

    fn docker_and_optionals(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        let path = Path::key("docker_image_digests");
        d.docker_image_digests = self.optional_list(&path, top.get("docker_image_digests"));
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
        if let Some(v) = top.get("optionals").filter(|v| **v != Node::Null) {
            d.optionals = Some(self.optional_list(&path, Some(v)));
        }
    }

    /// `limits`: a mapping of `memory`, `processes` and `disk` (git-gitian's own key).
    fn limits(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        let path = Path::key("limits");
        match top.get("limits") {
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
    }

    /// `normalize`: optional list of [`NORMALIZE_FORMATS`], each at most once.
    fn normalize(&mut self, top: &Top<'_>, d: &mut Descriptor) {
        let path = Path::key("normalize");
        let Some(v) = top.get("normalize").filter(|v| **v != Node::Null) else { return };
        let formats = self.list_of_strings(&path, v, "normalize: [tar, gzip, zip]");
        for (i, f) in formats.iter().enumerate() {
            if !NORMALIZE_FORMATS.contains(&f.as_str()) {
                self.invalid(
                    &path.index(i),
                    At::Value,
                    format!("unknown normalize format '{}'", shown(f)),
                    Some(format!("use some of {}", NORMALIZE_FORMATS.join(", "))),
                );
            } else if let Some(first) = formats[..i].iter().position(|g| g == f) {
                self.invalid(
                    &path.index(i),
                    At::Value,
                    format!("normalize format '{f}' is listed twice"),
                    Some(format!("keep one (the first is normalize[{first}])")),
                );
            } else {
                d.normalize.push(f.clone());
            }
        }
    }
}
