//! Names that become path components of a ledger (releases, signers, attestation names) and the
//! paths built from them. A name from a ledger or a command line is never used unchecked.

use std::fmt;

/// Why a name cannot be used as a path component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadName {
    /// What kind of name (`release`, `signer`, ...).
    pub kind: &'static str,
    /// The name, escaped for display.
    pub shown: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for BadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} name '{}' {}", self.kind, self.shown, self.reason)
    }
}

impl std::error::Error for BadName {}

/// Checks a ledger path component: non-empty, not `.`/`..`, no `/` or `\`, no leading `-`
/// or `.`, no control characters, valid UTF-8 (the caller has a `&str`), at most 255 bytes.
pub fn check_component(kind: &'static str, name: &str) -> Result<(), BadName> {
    let bad = |reason| Err(BadName { kind, shown: name.escape_default().to_string(), reason });
    if name.is_empty() {
        return bad("is empty");
    }
    if name == "." || name == ".." {
        return bad("names a folder (the current or the parent one), not an entry of the ledger");
    }
    if name.contains("..") {
        return bad("contains '..'");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("contains a path separator");
    }
    if name.starts_with('-') {
        return bad("starts with '-'");
    }
    if name.starts_with('.') {
        return bad("starts with '.'");
    }
    if name.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    if name.len() > 255 {
        return bad("is longer than 255 bytes");
    }
    Ok(())
}

/// Folders of a ledger that hold public keys rather than releases.
pub const KEY_DIRS: [&str; 3] = ["builder-keys", "keys", "gitian-keys"];

/// Names at a ledger's root that are not releases: the key folders and the policy file.
pub const RESERVED_RELEASES: [&str; 4] = ["builder-keys", "keys", "gitian-keys", "policy.yml"];

/// Checks a release name as gsign takes it: a ledger path component ([`check_component`]) made
/// only of `[A-Za-z0-9_.-]` (gsign refuses anything else with "unsanitary string"), and none of
/// the ledger's own folders and files ([`RESERVED_RELEASES`], in any case: a case-insensitive
/// file system would write into them), so that an attestation never lands among the keys or
/// the policy.
pub fn check_release(name: &str) -> Result<(), BadName> {
    check_component("release", name)?;
    if !is_gitian_word(name) {
        return Err(BadName {
            kind: "release",
            shown: name.escape_default().to_string(),
            reason: "has a character gsign refuses in a release name (only letters, digits, '_', '.' and '-')",
        });
    }
    if RESERVED_RELEASES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(BadName {
            kind: "release",
            shown: name.escape_default().to_string(),
            reason: "is reserved for the ledger's keys or policy",
        });
    }
    Ok(())
}

/// Gitian's sanitizer for names, releases, dirs and commits: only `[A-Za-z0-9_.-]`.
pub fn is_gitian_word(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// `<name>-build.assert`, the attestation file name for a descriptor name.
pub fn assert_file(name: &str) -> String {
    format!("{name}-build.assert")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_traversal_and_controls() {
        for bad in ["", "..", "a/b", "-x", ".hidden", "a\nb", "a..b", "a\\b"] {
            assert!(check_component("signer", bad).is_err(), "{bad:?} accepted");
        }
        for good in ["laanwj", "0.20.1-linux", "E50FE137", "luke-jr", "some one@x"] {
            assert!(check_component("signer", good).is_ok(), "{good:?} rejected");
        }
        let dot = check_component("release", ".").unwrap_err().to_string();
        assert!(!dot.contains("'..'") && dot.contains("folder"), "{dot}");
    }

    #[test]
    fn a_component_may_be_255_bytes_not_256() {
        let longest = "a".repeat(255);
        assert_eq!(check_component("signer", &longest), Ok(()));
        // Bytes, not characters: 128 two-byte characters are 256 bytes.
        for long in ["a".repeat(256), "é".repeat(128)] {
            let e = check_component("signer", &long).unwrap_err();
            assert_eq!(e.reason, "is longer than 255 bytes");
        }
        assert_eq!(check_component("signer", &"é".repeat(127)), Ok(()));
    }

    #[test]
    fn the_attestation_of_a_descriptor_is_its_name_and_build_assert() {
        assert_eq!(assert_file("bitcoin-core-linux-0.21"), "bitcoin-core-linux-0.21-build.assert");
    }

    #[test]
    fn releases_follow_gsigns_rule() {
        for bad in ["bad rel", "1.0;rm", "v1/x", "é", "a+b", "."] {
            assert!(check_release(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["0.21.0-linux", "test", "v1_rc.2", "Y"] {
            assert!(check_release(good).is_ok(), "{good:?} rejected");
        }
    }

    #[test]
    fn key_folders_and_the_policy_are_not_releases() {
        for bad in ["builder-keys", "keys", "gitian-keys", "policy.yml", "Builder-Keys", "KEYS"] {
            let e = check_release(bad).unwrap_err();
            assert!(e.to_string().contains("reserved"), "{e}");
        }
        assert!(check_release("../x").is_err());
        for good in ["0.20.1-linux", "26.0", "keys2", "policy"] {
            assert!(check_release(good).is_ok(), "{good:?} rejected");
        }
    }
}
