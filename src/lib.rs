//! git-gitian: build a release in fresh isolated guests, sign what came out, and verify that
//! independent builders agree, with the signatures kept in a git repository (the sigs ledger).
//!
//! Layering (enforced by `tests/test_layering.rs` and review):
//! `cli -> ops -> {core, archive, guest, git, ledger, openpgp, gpg}`.
//! - `core` is pure: formats, consensus, tables, build-script text. No file system, processes,
//!   environment, git2 or gpgme in there.
//! - `archive` (streaming archive readers), `guest`, `git`, `ledger`, `openpgp`, `gpg` are the
//!   effects, each behind a small interface;
//!   they use nothing of `ops` or `cli`.
//! - `ops` composes them into workflows and returns values; only `cli` prints.

pub mod archive;
pub mod cli;
pub mod config;
pub mod core;
pub mod git;
pub mod gpg;
pub mod guest;
pub mod ledger;
pub mod openpgp;
pub mod ops;
pub mod process;
