//! The one integration-test binary; each area is a module.

#![allow(clippy::disallowed_methods)] // tests drive the real binary and tools directly (clippy.toml)

mod common;
mod test_backends;
mod test_build;
mod test_check;
mod test_cli;
mod test_completion;
mod test_diff;
mod test_diff_builds;
mod test_formats;
mod test_fuzz;
mod test_hooks;
mod test_hooks_install;
mod test_hostile;
mod test_hostile_caps;
mod test_hostile_limits;
mod test_init;
mod test_layering;
mod test_ledgers;
mod test_lint;
mod test_openpgp;
mod test_report;
mod test_report_cli;
mod test_sign;
mod test_suite;
mod test_verify;
mod test_verify_attacks;
