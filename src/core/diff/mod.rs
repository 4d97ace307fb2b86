//! What `git gitian diff` found, as data: a tree of differing entries (files, archive members,
//! members of members), each saying what differs. Built by `ops::diff`, rendered by
//! [`render`]; the member metadata comparison and the ELF and text views are pure and live
//! here too.

pub mod elf;
pub mod render;
pub mod text;

use serde::Serialize;

/// The JSON schema identifier; bumped on any incompatible change.
pub const JSON_SCHEMA: &str = "git-gitian/diff/v1";

/// The whole comparison of A and B.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    /// What A was (as given).
    pub a: String,
    /// What B was.
    pub b: String,
    /// Entries compared, at every level (files, members, members of members).
    pub compared: u64,
    /// The differing top-level entries, each with what differs inside it.
    pub differences: Vec<Node>,
}

impl Report {
    /// Whether A and B are the same.
    pub fn same(&self) -> bool {
        self.differences.is_empty()
    }

    /// Differing entries at every level.
    pub fn count(&self) -> usize {
        fn walk(n: &Node) -> usize {
            1 + n.children.iter().map(walk).sum::<usize>()
        }
        self.differences.iter().map(walk).sum()
    }
}

/// Which sides an entry is on.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// On both sides.
    #[default]
    Both,
    /// Only in A.
    OnlyInA,
    /// Only in B.
    OnlyInB,
}

/// One differing entry: a file, or a member at some depth inside archives.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Node {
    /// The path at each level: the file, then the member inside it, then inside that.
    pub path: Vec<String>,
    /// What it is (e.g. `tar.gz`, `elf`, `text`), as read from its first bytes.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// Which sides it is on.
    pub presence: Presence,
    /// What differs in the entry itself.
    pub changes: Vec<Change>,
    /// Differing members inside it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

impl Node {
    /// The path for people: levels joined with `!/` (as jar URLs do).
    pub fn display_path(&self) -> String {
        self.path.join("!/")
    }
}

/// Size and digest of one side's content.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Content {
    /// Bytes.
    pub size: u64,
    /// BLAKE3 of the bytes (hex; the first 12 hex digits in the table).
    pub blake3: String,
}

/// One thing that differs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The bytes differ.
    Content {
        /// A's content.
        a: Content,
        /// B's content.
        b: Content,
    },
    /// A metadata field differs: size, mtime, mode, owner, group, type, link target, or a zip
    /// field (method, extra fields, comment).
    Attribute {
        /// The field.
        name: String,
        /// A's value.
        a: String,
        /// B's value.
        b: String,
    },
    /// The members common to both sides come in a different order.
    Order {
        /// Position (0-based, among common members) of the first that differs.
        position: usize,
        /// A's member there.
        a: String,
        /// B's member there.
        b: String,
    },
    /// A compression layer differs: its header fields, or (same header, same contents) its
    /// compressed stream.
    Compression {
        /// gzip, xz, bzip2 or zstd.
        layer: String,
        /// Whether what it decompresses to is identical.
        same_contents: bool,
        /// Header fields that differ: (field, a, b).
        fields: Vec<(String, String, String)>,
    },
    /// ELF sections that differ.
    Sections {
        /// Each differing section.
        sections: Vec<elf::SectionChange>,
    },
    /// A unified diff of text lines, bounded.
    Text {
        /// The diff (`---`/`+++`/`@@` lines).
        unified: String,
        /// Lines of diff left out by the bound.
        omitted_lines: usize,
    },
    /// Binary content: where it first differs.
    Binary {
        /// Offset of the first differing byte.
        first_difference: u64,
    },
    /// diffoscope's text for this entry (`--deep`).
    Deep {
        /// What it printed, bounded.
        output: String,
        /// Whether it was stopped at the timeout.
        timed_out: bool,
    },
    /// Something the reader must know: not looked inside and why.
    Note {
        /// The message.
        text: String,
    },
}

/// What an archive says about one member, independent of its format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Member path.
    pub path: String,
    /// Entry type: file, directory, symlink, hardlink, char device, ...
    pub kind: &'static str,
    /// Size of the content.
    pub size: u64,
    /// Modification time, as the format stores it (formatted).
    pub mtime: Option<String>,
    /// Permission and type bits.
    pub mode: Option<u32>,
    /// Owner as `name(uid)`.
    pub owner: Option<String>,
    /// Group as `name(gid)`.
    pub group: Option<String>,
    /// Link target.
    pub link: Option<String>,
    /// Format-specific fields (zip method, extra fields, comment...).
    pub extra: Vec<(&'static str, String)>,
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// The metadata fields that differ between the two sides of a member.
pub fn meta_changes(a: &Meta, b: &Meta) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |name: &str, x: String, y: String| {
        if x != y {
            out.push(Change::Attribute { name: name.into(), a: x, b: y });
        }
    };
    push("type", a.kind.into(), b.kind.into());
    push("size", a.size.to_string(), b.size.to_string());
    push("mtime", opt(&a.mtime), opt(&b.mtime));
    let mode = |m: Option<u32>| m.map_or_else(|| "-".into(), |m| format!("{m:o}"));
    push("mode", mode(a.mode), mode(b.mode));
    push("owner", opt(&a.owner), opt(&b.owner));
    push("group", opt(&a.group), opt(&b.group));
    push("link target", opt(&a.link), opt(&b.link));
    for (name, va) in &a.extra {
        let vb = b.extra.iter().find(|(n, _)| n == name).map_or("-", |(_, v)| v.as_str());
        push(name, va.clone(), vb.into());
    }
    for (name, vb) in &b.extra {
        if !a.extra.iter().any(|(n, _)| n == name) {
            push(name, "-".into(), vb.clone());
        }
    }
    out
}

/// The first position at which the common members (names on both sides) come in a different
/// order, with the two names found there.
pub fn order_change(a: &[&str], b: &[&str]) -> Option<Change> {
    let in_b: std::collections::HashSet<&str> = b.iter().copied().collect();
    let in_a: std::collections::HashSet<&str> = a.iter().copied().collect();
    let ca = a.iter().filter(|n| in_b.contains(*n));
    let cb = b.iter().filter(|n| in_a.contains(*n));
    ca.zip(cb).enumerate().find(|(_, (x, y))| x != y).map(|(i, (x, y))| Change::Order {
        position: i,
        a: (*x).to_string(),
        b: (*y).to_string(),
    })
}

/// Offset of the first byte that differs (the shorter length when one is a prefix).
pub fn first_difference(a: &[u8], b: &[u8]) -> u64 {
    let chunk = a.chunks(4096).zip(b.chunks(4096)).position(|(x, y)| x != y);
    let base = chunk.map_or(a.len().min(b.len()), |c| c * 4096);
    let rest = a.get(base..).unwrap_or(&[]).iter().zip(b.get(base..).unwrap_or(&[]));
    (base + rest.take_while(|(x, y)| x == y).count()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_changes_name_each_field() {
        let a = Meta {
            path: "x".into(),
            kind: "file",
            size: 3,
            mtime: Some("1".into()),
            mode: Some(0o644),
            ..Meta::default()
        };
        let b = Meta { mtime: Some("2".into()), mode: Some(0o755), ..a.clone() };
        let names: Vec<String> = meta_changes(&a, &b)
            .into_iter()
            .map(|c| match c {
                Change::Attribute { name, .. } => name,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["mtime", "mode"]);
    }

    #[test]
    fn order_among_common_members() {
        assert_eq!(order_change(&["a", "b", "c"], &["a", "x", "b", "c"]), None);
        let c = order_change(&["a", "b", "c"], &["a", "c", "b"]).unwrap();
        assert_eq!(c, Change::Order { position: 1, a: "b".into(), b: "c".into() });
    }

    #[test]
    fn first_difference_offsets() {
        let a = vec![7u8; 10_000];
        let mut b = a.clone();
        b[9_000] = 8;
        assert_eq!(first_difference(&a, &b), 9_000);
        assert_eq!(first_difference(&a, &a[..5]), 5);
    }

    #[test]
    fn meta_changes_of_every_field_and_of_extras_on_one_side() {
        let a = Meta {
            path: "x".into(),
            kind: "file",
            size: 1,
            mtime: Some("1".into()),
            mode: Some(0o644),
            owner: Some("root(0)".into()),
            group: None,
            link: None,
            extra: vec![("method", "8".into()), ("comment", "x".into()), ("same", "s".into())],
        };
        let b = Meta {
            path: "x".into(),
            kind: "symlink",
            size: 2,
            mtime: None,
            mode: None,
            owner: Some("u(1)".into()),
            group: Some("g(1)".into()),
            link: Some("t".into()),
            extra: vec![
                ("same", "s".into()),
                ("comment", "y".into()),
                ("extra fields", "UT".into()),
            ],
        };
        let got: Vec<(String, String, String)> = meta_changes(&a, &b)
            .into_iter()
            .map(|c| match c {
                Change::Attribute { name, a, b } => (name, a, b),
                other => panic!("{other:?}"),
            })
            .collect();
        let want = [
            ("type", "file", "symlink"),
            ("size", "1", "2"),
            ("mtime", "1", "-"),
            ("mode", "644", "-"),
            ("owner", "root(0)", "u(1)"),
            ("group", "-", "g(1)"),
            ("link target", "-", "t"),
            ("method", "8", "-"),
            ("comment", "x", "y"),
            ("extra fields", "-", "UT"),
        ];
        let want: Vec<_> =
            want.iter().map(|(n, a, b)| (n.to_string(), a.to_string(), b.to_string())).collect();
        assert_eq!(got, want);
        assert_eq!(meta_changes(&b, &b), []);
    }

    #[test]
    fn first_difference_at_chunk_edges_and_prefixes() {
        let a = vec![1u8; 5000];
        for at in [0, 4095, 4096, 4097, 4999] {
            let mut b = a.clone();
            b[at] = 2;
            assert_eq!(first_difference(&a, &b), at as u64, "{at}");
        }
        assert_eq!(first_difference(&a, &a), 5000);
        assert_eq!(first_difference(&a[..4096], &a), 4096);
        assert_eq!(first_difference(&a[..4100], &a), 4100);
        assert_eq!(first_difference(&[], &a), 0);
    }

    #[test]
    fn counts_and_paths_of_nested_entries() {
        let leaf =
            Node { path: vec!["a.tar".into(), "b.zip".into(), "c".into()], ..Node::default() };
        let mid = Node {
            path: vec!["a.tar".into(), "b.zip".into()],
            children: vec![leaf.clone(), leaf.clone()],
            ..Node::default()
        };
        let top = Node { path: vec!["a.tar".into()], children: vec![mid], ..Node::default() };
        let r = Report { differences: vec![top, leaf.clone()], ..Report::default() };
        assert_eq!((r.count(), r.same()), (5, false));
        assert_eq!(leaf.display_path(), "a.tar!/b.zip!/c");
        assert!(Report::default().same());
        assert_eq!(Report::default().count(), 0);
    }
}
