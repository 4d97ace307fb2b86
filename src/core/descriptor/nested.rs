//! The items of `remotes`, `repositories` and `alternatives`.

use super::chars::{NAME_CHARS, URL_CHARS, is_name_char, is_url_char, shown};
use super::checker::{At, Checker, Path};
use super::model::{Alternative, Remote, Repository};
use super::positions::Seg;
use super::tree::Node;

impl Checker<'_> {
    pub(super) fn remote(&mut self, path: &Path, v: &Node) -> Option<Remote> {
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

    pub(super) fn required_string(
        &mut self,
        path: &Path,
        entries: &[(Node, Node)],
    ) -> Option<String> {
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

    pub(super) fn repository(&mut self, path: &Path, v: &Node) -> Option<Repository> {
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

    pub(super) fn alternative(&mut self, path: &Path, v: &Node) -> Option<Alternative> {
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
