//! The shapes and characters a value may have: strings, lists, mappings, booleans as Ruby
//! tests them, and Gitian's character classes for names and packages.

use super::chars::{PACKAGE_CHARS, is_package_char, shown, yaml11_bool};
use super::checker::{At, Checker, Path};
use super::error::{DescriptorError, ErrorKind};
use super::tree::Node;

impl Checker<'_> {
    pub(super) fn missing(&mut self, path: &Path, present: bool, hint: Option<String>) {
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
                line: self.doc_line(),
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

    pub(super) fn not_a(&mut self, path: &Path, found: &Node, wanted: &str, hint: &str) {
        let message = format!("'{}' must be a {wanted}", path.name);
        let found = found.kind();
        self.invalid(path, At::Key, message, Some(format!("found {found}; {hint}")));
    }

    /// A string value; numbers and booleans are refused with a hint to quote them.
    pub(super) fn string(&mut self, path: &Path, v: &Node) -> Option<String> {
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

    pub(super) fn required_list(
        &mut self,
        path: &Path,
        v: Option<&Node>,
        example: &str,
    ) -> Vec<String> {
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

    pub(super) fn optional_list(&mut self, path: &Path, v: Option<&Node>) -> Vec<String> {
        match v {
            None | Some(Node::Null) => Vec::new(),
            Some(v) => self.list_of_strings(path, v, "a list: [a, b]"),
        }
    }

    pub(super) fn optional_seq<'n>(
        &mut self,
        path: &Path,
        v: Option<&'n Node>,
    ) -> Option<&'n [Node]> {
        match v {
            None | Some(Node::Null) => None,
            Some(Node::Seq(items)) => Some(items),
            Some(other) => {
                self.not_a(path, other, "list", "write one '- ...' item per entry");
                None
            }
        }
    }

    pub(super) fn list_of_strings(&mut self, path: &Path, v: &Node, example: &str) -> Vec<String> {
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
    pub(super) fn chars(
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
    pub(super) fn component(
        &mut self,
        path: &Path,
        value: &str,
        ok: fn(char) -> bool,
        allowed: &str,
    ) {
        if self.chars(path, value, ok, allowed, true) && (value == "." || value == "..") {
            self.invalid(
                path,
                At::Value,
                format!("{} '{value}' cannot be '.' or '..'", path.name),
                Some("it becomes a directory or file name".to_owned()),
            );
        }
    }

    pub(super) fn package(&mut self, path: &Path, value: &str) {
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
    pub(super) fn truthy(&mut self, path: &Path, v: Option<&Node>) -> bool {
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
    pub(super) fn unknown_fields(&mut self, path: &Path, entries: &[(Node, Node)], known: &[&str]) {
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

    pub(super) fn entries<'n>(
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

    pub(super) fn field<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
        entries.iter().find_map(|(k, v)| matches!(k, Node::Str(s) if s == key).then_some(v))
    }
}
