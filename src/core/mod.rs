//! Pure logic: formats, consensus and rendering. Nothing in here touches the file system,
//! processes, the environment, the network, git2 or gpgme; a test enforces it.

pub mod arch;
pub mod archive;
pub mod assertion;
pub mod buildscript;
pub mod check;
pub mod consensus;
pub mod descriptor;
pub mod diff;
pub mod hook_script;
pub mod layout;
pub mod limits;
pub mod manifest;
pub mod policy;
pub mod report;
pub mod status;
pub mod sums;
pub mod yaml_quote;
