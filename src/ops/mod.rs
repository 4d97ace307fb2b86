//! Workflows: compose the pure core with the effects; return values, never print.

pub mod base;
pub mod build;
pub mod check;
pub mod diff;
pub mod fetch;
pub mod hooks;
pub mod init;
pub mod matrix;
pub mod memo;
pub mod normalize;
pub mod out_manifest;
pub mod plan;
pub mod publish;
pub mod push_guard;
pub mod sign;
pub mod status;
pub mod verify;
