//! The sigs repository's policy file, `policy.yml` at the ledger root: how many agreeing
//! signers a release needs, who must sign, whether expired keys count, and whether a signer may
//! record a disagreement (pushed as evidence) past the pre-push hook.

use serde::Deserialize;

/// File name of the policy at the ledger root.
pub const FILE: &str = "policy.yml";

/// The ledger's policy. Every key is optional; the defaults are what `verify` does without one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// At least this many distinct keys with good signatures must agree (0: no threshold).
    pub threshold: usize,
    /// Signers that must be among the agreeing group.
    pub required_signers: Vec<String>,
    /// Whether a good signature by a key that has since expired counts toward consensus.
    pub expired_keys_count: bool,
    /// Whether the pre-push hook lets an attestation that disagrees with the consensus through
    /// (to record a build discrepancy as evidence).
    pub allow_disagreement: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            threshold: 0,
            required_signers: Vec::new(),
            expired_keys_count: true,
            allow_disagreement: false,
        }
    }
}

impl Policy {
    /// Parses `policy.yml`; the error names the line and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
            Some(loc) => format!("{}:{}: {e}", FILE, loc.line()),
            None => format!("{FILE}: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let p = Policy::parse("threshold: 3\nrequired_signers: [laanwj]\n").unwrap();
        assert_eq!(p.threshold, 3);
        assert_eq!(p.required_signers, vec!["laanwj"]);
        assert!(p.expired_keys_count);
        let e = Policy::parse("threshold: 3\nthreshhold: 2\n").unwrap_err();
        assert!(e.starts_with("policy.yml:2:"), "{e}");
    }
}
