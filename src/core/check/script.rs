//! What the guest runs for one check build. (Filled in below.)

/// The host name every guest has (the control's).
pub const CONTROL_HOSTNAME: &str = "gitian";
