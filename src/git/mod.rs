//! Effects on git repositories (git2 lives only here).

pub mod ledger;
pub mod push;
pub mod repo;
