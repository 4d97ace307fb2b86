//! git-gitian: build a release in fresh isolated guests, sign what came out, and verify that
//! independent builders agree, with the signatures kept in a git repository (the sigs ledger).
//!
//! Layering (enforced by `tests/` and review): `cli -> ops -> {core, guest, git, openpgp, gpg}`.
//! - `core` is pure: formats, consensus, tables, build-script text. No file system, processes,
//!   environment, git2 or gpgme in there.
//! - `guest`, `git`, `openpgp`, `gpg` are the effects, each behind a small interface.
//! - `ops` composes them into workflows and returns values; only `cli` prints.

pub mod archive;
pub mod cli;
pub mod core;
pub mod git;
pub mod gpg;
pub mod guest;
pub mod openpgp;
pub mod ops;
