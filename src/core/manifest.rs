//! Manifests in `sha256sum` text form: `<64 hex><two spaces><path>\n`, sorted bytewise by path.

/// Lowercase hex of `bytes`, as manifests write hashes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The lowercase hex SHA-256 of `bytes`, as a manifest line has it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// Path relative to the output folder (or file name).
    pub path: String,
    /// Lowercase hex SHA-256 as written (kept verbatim).
    pub hash: String,
}

/// A parsed manifest: the `hash  path` lines in their written order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Manifest {
    /// The entries, in the order they appear.
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// Parses manifest text. Lines that are blank are skipped; a line without the two-space
    /// separator is kept with an empty hash so that it still takes part in comparisons.
    pub fn parse(text: &str) -> Self {
        let entries = text
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .map(|line| match line.split_once("  ") {
                Some((hash, path)) => Entry { path: path.to_string(), hash: hash.to_string() },
                None => Entry { path: line.to_string(), hash: String::new() },
            })
            .collect();
        Self { entries }
    }

    /// Renders in Gitian's form: entries sorted bytewise by path, each line ending in `\n`.
    pub fn render(&self) -> String {
        let mut entries = self.entries.clone();
        entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        entries.iter().map(|e| format!("{}  {}\n", e.hash, e.path)).collect()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The hash recorded for `path`.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.path == path).map(|e| e.hash.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_sorts_bytewise() {
        let m = Manifest::parse("h3  a.tar.gz\nh1  B/z\nh2  _u\nh4  Z\n");
        assert_eq!(m.render(), "h1  B/z\nh4  Z\nh2  _u\nh3  a.tar.gz\n");
    }

    #[test]
    fn parse_keeps_double_spaces_in_names() {
        let m = Manifest::parse("abc  name  with\n");
        assert_eq!(m.get("name  with"), Some("abc"));
    }

    #[test]
    fn hashes_are_lowercase_hex_sha256() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_skips_blank_lines_and_keeps_lines_without_a_hash() {
        let m = Manifest::parse("h1  a\r\n\n   \r\nno-separator\r\nh2  b\n");
        let e = |hash: &str, path: &str| Entry { path: path.into(), hash: hash.into() };
        assert_eq!(m.entries, [e("h1", "a"), e("", "no-separator"), e("h2", "b")]);
        assert_eq!((m.get("a"), m.get("no-separator"), m.get("c")), (Some("h1"), Some(""), None));
        assert!(!m.is_empty());
        assert!(Manifest::parse("\n \n").is_empty());
        assert_eq!(Manifest::default().render(), "");
    }
}
