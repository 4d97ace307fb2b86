//! Reading a ledger straight from git objects at one or more revisions, without a checkout.
