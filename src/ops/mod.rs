//! Workflows: compose the pure core with the effects; return values, never print.

pub mod base;
pub mod build;
pub mod fetch;
pub mod source;
pub mod verify;
