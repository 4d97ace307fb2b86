//! The builder's own GnuPG through gpgme (gpgme lives only under this module): signing here,
//! and in `verify` a gpgme verifier used to cross-check the in-process one.

pub mod verify;
