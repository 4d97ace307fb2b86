//! The sigs repository's policy file (`policy.yml` at the ledger root): threshold, required
//! signers, whether expired keys count, whether disagreement may be recorded.
