//! Gitian result and assert files (spec §3, §4): read every YAML style in the ledgers, write
//! Psych's bytes.
