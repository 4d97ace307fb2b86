//! The one integration-test binary; each area is a module.

mod common;
mod test_backends;
mod test_cli;
mod test_formats;
mod test_openpgp;
mod test_verify;
