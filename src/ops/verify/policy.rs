//! The policy in force: `policy.yml` at the main revision of the first ledger that has one,
//! `--threshold` over it, and the keys each required signer is known by.

use std::collections::{BTreeMap, BTreeSet};

use super::VerifyError;
use crate::core::policy::{self, Policy};
use crate::ledger::{Content, LedgerTree};
use crate::openpgp::Keyring;

/// The policy of the first main revision that has one, with `--threshold` applied.
pub(super) fn load(
    mains: &[Box<dyn LedgerTree>],
    threshold: Option<usize>,
) -> Result<Policy, VerifyError> {
    let mut policy = Policy::default();
    for tree in mains {
        if let Ok(Content::Bytes(b)) = tree.read(policy::FILE, 1 << 20) {
            let text = String::from_utf8(b).map_err(|_| VerifyError::Policy("not UTF-8".into()))?;
            policy = Policy::parse(&text).map_err(VerifyError::Policy)?;
            break;
        }
    }
    if let Some(t) = threshold {
        policy.threshold = t;
    }
    Ok(policy)
}

/// For each required signer, the primary fingerprints of the certificates held by a key file
/// kept under that name ([`kept_under`]).
pub(super) fn required_keys(
    keyring: &Keyring,
    required: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> =
        required.iter().map(|n| (n.clone(), BTreeSet::new())).collect();
    for fpr in keyring.fingerprints() {
        for origin in keyring.origins_of(&fpr) {
            for (name, keys) in out.iter_mut() {
                if kept_under(origin, name) {
                    keys.insert(fpr.clone());
                }
            }
        }
    }
    out
}

/// Whether the key file `origin` (a path such as `builder-keys/alice.asc`) is kept under the
/// signer name `name`: its file name is `name` or `name-key` before the first dot, or a
/// folder below the key folder is named `name` (`builder-keys/alice/2024.asc`).
pub(super) fn kept_under(origin: &str, name: &str) -> bool {
    let parts: Vec<&str> = origin.split('/').collect();
    let Some((file, dirs)) = parts.split_last() else { return false };
    let stem = file.split('.').next().unwrap_or(file);
    stem == name
        || stem.strip_suffix("-key") == Some(name)
        || dirs.iter().skip(1).any(|d| *d == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_kept_under_a_name() {
        for origin in [
            "builder-keys/alice.asc",
            "builder-keys/alice.gpg",
            "gitian-keys/alice-key.pgp",
            "builder-keys/alice/2024.asc",
            "alice.asc",
        ] {
            assert!(kept_under(origin, "alice"), "{origin}");
        }
        for origin in ["builder-keys/malice.asc", "builder-keys/alice2.asc", "alice/bob.asc"] {
            assert!(!kept_under(origin, "alice"), "{origin}");
        }
    }
}
