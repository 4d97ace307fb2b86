//! How guest ids map to host ids, per caller (see the backend's docs), and writing the maps.

use std::fs;
use std::path::PathBuf;

use super::NAME;
use crate::guest::GuestError;
use crate::guest::util::{self, err};
use crate::process::{self, Invocation};

/// How guest ids map to host ids (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// Host root: ids 0..65535 map to themselves.
    Identity,
    /// An ordinary user with a subordinate id range: 0 = the caller, 1..=65535 = the range.
    Range {
        /// Caller uid.
        uid: u32,
        /// Caller gid.
        gid: u32,
        /// First subordinate uid.
        subuid: u32,
        /// First subordinate gid.
        subgid: u32,
    },
    /// An ordinary user without a range: only the caller's id is mapped.
    Single {
        /// Caller uid.
        uid: u32,
        /// Caller gid.
        gid: u32,
    },
}

impl Mapping {
    /// The mapping for the current process.
    pub fn detect() -> Self {
        let (uid, gid) = util::ids();
        if uid == 0 {
            return Self::Identity;
        }
        let name = util::host_user_name(uid);
        let range = |file: &str, id: u32| -> Option<u32> {
            let text = fs::read_to_string(file).ok()?;
            subordinate_start(&text, id, name.as_deref())
        };
        match (range("/etc/subuid", uid), range("/etc/subgid", gid)) {
            (Some(subuid), Some(subgid))
                if util::on_path("newuidmap") && util::on_path("newgidmap") =>
            {
                Self::Range { uid, gid, subuid, subgid }
            }
            _ => Self::Single { uid, gid },
        }
    }

    /// A short key naming the mapping, part of the unpacked base's cache name (the same tarball
    /// unpacked under another mapping has other owners on disk).
    pub(super) fn key(&self) -> String {
        match self {
            Self::Identity => "root".into(),
            Self::Range { uid, subuid, .. } => format!("u{uid}r{subuid}"),
            Self::Single { uid, .. } => format!("u{uid}"),
        }
    }

    /// Text for `describe`.
    pub(super) fn text(&self) -> String {
        match self {
            Self::Identity => "identity id map".into(),
            Self::Range { subuid, .. } => format!("subordinate ids from {subuid}"),
            Self::Single { uid, .. } => format!("single id {uid}"),
        }
    }
}

/// The first id of a range of at least 65535 subordinate ids for `id` (or user `name`) in the
/// text of /etc/subuid or /etc/subgid (`name-or-id:start:count` lines).
pub fn subordinate_start(text: &str, id: u32, name: Option<&str>) -> Option<u32> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.trim().split(':').collect();
        if f.len() != 3 {
            return None;
        }
        let who = f[0] == id.to_string() || Some(f[0]) == name;
        let start: u32 = f[1].parse().ok()?;
        let count: u32 = f[2].parse().ok()?;
        (who && count >= 65535).then_some(start)
    })
}

pub(super) fn write_maps(mapping: &Mapping, pid: u32) -> Result<(), GuestError> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let write = |file: &str, text: &str| {
        fs::write(proc.join(file), text)
            .map_err(|e| err(NAME, format!("cannot write /proc/{pid}/{file} ({text:?}): {e}")))
    };
    match *mapping {
        Mapping::Identity => {
            write("uid_map", "0 0 65536\n")?;
            write("gid_map", "0 0 65536\n")?;
        }
        Mapping::Single { uid, gid } => {
            write("setgroups", "deny")?;
            write("uid_map", &format!("0 {uid} 1\n"))?;
            write("gid_map", &format!("0 {gid} 1\n"))?;
        }
        Mapping::Range { uid, gid, subuid, subgid } => {
            for (tool, own, sub) in [("newuidmap", uid, subuid), ("newgidmap", gid, subgid)] {
                process::run_ok(&Invocation::new(tool).args([
                    pid.to_string(),
                    "0".into(),
                    own.to_string(),
                    "1".into(),
                    "1".into(),
                    sub.to_string(),
                    "65535".into(),
                ]))
                .map_err(GuestError::process(NAME))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges() {
        let text = "alice:100000:65536\n1001:200000:65536\nbob:300000:100\n";
        assert_eq!(subordinate_start(text, 1000, Some("alice")), Some(100000));
        assert_eq!(subordinate_start(text, 1001, Some("carol")), Some(200000));
        // Too small a range is no range.
        assert_eq!(subordinate_start(text, 1002, Some("bob")), None);
        assert_eq!(subordinate_start("", 1000, Some("alice")), None);
    }
}
