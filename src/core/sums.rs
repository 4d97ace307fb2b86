//! Guix-style `SHA256SUMS` attestations (`<version>/<signer>/{noncodesigned,all}.SHA256SUMS`):
//! `sha256sum` output, `<64 hex><two spaces><file name>`, sorted by name. Early files use `\r\r\n`
//! separators and no final newline; they were signed that way, so comparisons use the bytes and
//! parsing tolerates both.

use super::manifest::{Entry, Manifest};

/// The attestation kinds guix.sigs holds, with the name 22.0rc1 used for `all`.
pub const KINDS: [&str; 3] = ["noncodesigned", "all", "codesigned"];

/// Parses a SHA256SUMS file into a manifest.
pub fn parse(text: &str) -> Manifest {
    Manifest::parse(&text.replace('\r', ""))
}

/// Writes a SHA256SUMS file as guix-attest does: one `hash  name` line per file, sorted by
/// name, each ending in a newline.
pub fn render(entries: &[(String, String)]) -> String {
    let mut sorted: Vec<_> = entries.to_vec();
    sorted.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
    sorted.iter().map(|(hash, name)| format!("{hash}  {name}\n")).collect()
}

/// The kind of a SHA256SUMS file name (`all.SHA256SUMS` -> `all`).
pub fn kind_of(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(".SHA256SUMS").filter(|k| !k.is_empty())
}

/// Entries of a manifest as (hash, name) pairs.
pub fn pairs(m: &Manifest) -> Vec<(String, String)> {
    m.entries.iter().map(|Entry { path, hash }| (hash.clone(), path.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sorted_and_parses_crlf() {
        let text = render(&[("bb".into(), "z.tar.gz".into()), ("aa".into(), "a.zip".into())]);
        assert_eq!(text, "aa  a.zip\nbb  z.tar.gz\n");
        let m = parse("aa  a.zip\r\r\nbb  z.tar.gz");
        assert_eq!(
            pairs(&m),
            vec![("aa".into(), "a.zip".into()), ("bb".into(), "z.tar.gz".into())]
        );
        assert_eq!(kind_of("all.SHA256SUMS"), Some("all"));
        assert_eq!(kind_of("SHA256SUMS"), None);
    }
}
