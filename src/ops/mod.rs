//! Workflows: compose the pure core with the effects; return values, never print.

pub mod matrix;
pub mod source;
pub mod verify;
