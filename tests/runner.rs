//! The one integration-test binary; each area is a module.

mod common;
mod test_build;
mod test_cli;
mod test_formats;
mod test_lint;
mod test_openpgp;
mod test_verify;
