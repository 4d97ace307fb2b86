//! Detached-signature verification through gpgme, to cross-check `crate::openpgp`.
