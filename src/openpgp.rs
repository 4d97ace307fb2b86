//! In-process verification of detached OpenPGP signatures against the ledger's keys.
