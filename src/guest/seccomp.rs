//! A container engine's seccomp profile without user namespaces: podman's default profile
//! (containers-common's `seccomp.json`) lets a container make them (`clone`, `clone3` and
//! `unshare` are allowed whatever their flags), Docker's refuses them unless the container has
//! CAP_SYS_ADMIN. For podman git-gitian writes the engine's own default profile with those
//! three calls taken out of its rules and these put in: `clone` and `unshare` are allowed
//! without CLONE_NEWUSER and fail with EPERM with it; `clone3`, whose flags a filter cannot
//! read, fails with ENOSYS, so that the C library falls back to `clone`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Where containers-common installs the default profile (the packaged one, and an admin's).
const DEFAULTS: [&str; 2] = ["/etc/containers/seccomp.json", "/usr/share/containers/seccomp.json"];

const CLONE_NEWUSER: u64 = 0x1000_0000;

/// `profile` (an OCI seccomp profile's JSON) with user namespaces refused (see the module).
pub(crate) fn without_user_namespaces(profile: &str) -> Result<String, String> {
    let mut p: Value = serde_json::from_str(profile).map_err(|e| e.to_string())?;
    let calls = ["clone", "clone3", "unshare"];
    let rules = p
        .get_mut("syscalls")
        .and_then(Value::as_array_mut)
        .ok_or("the profile has no \"syscalls\" list")?;
    for r in rules.iter_mut() {
        if let Some(names) = r.get_mut("names").and_then(Value::as_array_mut) {
            names.retain(|n| n.as_str().is_none_or(|n| !calls.contains(&n)));
        }
    }
    rules.retain(|r| r.get("names").and_then(Value::as_array).is_none_or(|n| !n.is_empty()));
    let masked = |value: u64| json!([{ "index": 0, "value": CLONE_NEWUSER, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ" }]);
    for call in ["clone", "unshare"] {
        rules.push(json!({ "names": [call], "action": "SCMP_ACT_ALLOW", "args": masked(0) }));
        rules.push(json!({
            "names": [call], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": masked(CLONE_NEWUSER)
        }));
    }
    rules.push(json!({ "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 }));
    serde_json::to_string_pretty(&p).map_err(|e| e.to_string())
}

/// Writes the engine's default profile without user namespaces into `dir`; `Err` says why
/// not (no default profile found, or one that cannot be read).
pub(crate) fn write_profile(dir: &Path) -> Result<PathBuf, String> {
    let src = DEFAULTS
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no default seccomp profile ({})", DEFAULTS.join(", ")))?;
    let text =
        fs::read_to_string(src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    let text = without_user_namespaces(&text).map_err(|e| format!("{}: {e}", src.display()))?;
    let out = dir.join("seccomp.json");
    fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_namespace_calls_are_taken_out_and_refused() {
        let profile = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "clone", "clone3", "unshare"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["unshare"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let out: Value = serde_json::from_str(&without_user_namespaces(profile).unwrap()).unwrap();
        let rules = out["syscalls"].as_array().unwrap();
        assert_eq!(rules[0]["names"], json!(["read"]));
        let of = |call: &str| -> Vec<&Value> {
            rules.iter().filter(|r| r["names"] == json!([call])).collect()
        };
        let clone = of("clone");
        assert_eq!(clone.len(), 2);
        assert_eq!(clone[0]["action"], "SCMP_ACT_ALLOW");
        assert_eq!(clone[0]["args"][0]["valueTwo"], 0);
        assert_eq!(clone[1]["errnoRet"], 1);
        assert_eq!(clone[1]["args"][0]["value"], CLONE_NEWUSER);
        assert_eq!(of("unshare").len(), 2, "the unconditional unshare rule is gone");
        assert_eq!(of("clone3")[0]["errnoRet"], 38);
        assert!(without_user_namespaces("{}").is_err());
    }
}
