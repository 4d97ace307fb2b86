//! Effects on git repositories (git2 lives here and in `crate::ledger::git`, the ledger read
//! from a commit's tree).

pub mod ledger;
pub mod push;
pub mod repo;
