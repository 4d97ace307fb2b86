//! Signing through the builder's own GnuPG (gpgme lives only here).
