//! Coming from Gitian: the flags and commands of gbuild, gsign, gverify and make-base-vm that
//! have no same-named counterpart here, each with the replacement to name in a hint. Flags that
//! exist under the same name (most of them) simply work; see docs/coming-from-gitian.md.

/// Gitian's commands and what replaces them.
const COMMANDS: [(&str, &str); 5] = [
    ("gbuild", "git gitian build"),
    ("gsign", "git gitian sign"),
    ("gverify", "git gitian verify"),
    ("make-base-vm", "git gitian make-base"),
    ("make-clean-vm", "nothing: every build starts from a fresh copy-on-write guest"),
];

/// `(subcommand, flag, hint)` for Gitian flags that are not flags here.
const FLAGS: [(&str, &str, &str); 10] = [
    ("make-base", "--lxc", BASE_FOR_EVERY_BACKEND_LXC),
    ("make-base", "--docker", BASE_FOR_EVERY_BACKEND_DOCKER),
    ("make-base", "--vbox", BASE_FOR_EVERY_BACKEND_VBOX),
    ("make-base", "--docker-image-digest", DOCKER_DIGEST),
    ("make-base", "--docker-image-hash", DOCKER_DIGEST),
    ("verify", "-p", VERIFY_PROGRAM),
    ("verify", "--verify-program", VERIFY_PROGRAM),
    ("build", "--lxc", BUILD_BACKEND),
    ("build", "--docker", BUILD_BACKEND),
    ("build", "--vbox", BUILD_BACKEND),
];

const BASE_FOR_EVERY_BACKEND_LXC: &str = "make-base makes one base image that every backend boots; choose the backend when building: `git gitian build --backend lxc` (or USE_LXC=1, as with gbuild)";
const BASE_FOR_EVERY_BACKEND_DOCKER: &str = "make-base makes one base image that every backend boots; choose the backend when building: `git gitian build --backend docker` (or USE_DOCKER=1, as with gbuild)";
const BASE_FOR_EVERY_BACKEND_VBOX: &str = "make-base makes one base image that every backend boots; choose the backend when building: `git gitian build --backend vbox` (or USE_VBOX=1, as with gbuild)";
const DOCKER_DIGEST: &str = "docker guests boot the same base image as the others, made by make-base from the distribution's mirror; there is no docker image to pin";
const VERIFY_PROGRAM: &str = "verify checks every signature itself against the keys kept in the ledger (builder-keys/, keys/) and --keys; --gpg-keyring adds your own keyring's public keys";
const BUILD_BACKEND: &str = "choose the guest with --backend (kvm, lxc, sandbox, docker, podman, vbox) or gbuild's USE_LXC=1 / USE_DOCKER=1 / USE_VBOX=1";

/// The hint for an argument clap refused, given the subcommand it was given to.
pub fn hint(subcommand: Option<&str>, arg: &str) -> Option<String> {
    let flag = arg.split('=').next().unwrap_or(arg);
    if let Some((_, replacement)) = COMMANDS.iter().find(|(c, _)| *c == flag) {
        return Some(format!("Gitian's {flag} is {replacement}"));
    }
    let sub = subcommand?;
    FLAGS
        .iter()
        .find(|(s, f, _)| *s == sub && *f == flag)
        .map(|(_, f, h)| format!("Gitian's {f}: {h}"))
}

/// The subcommand of a command line: the first argument that is not an option.
pub fn subcommand_of(args: &[String]) -> Option<&str> {
    args.iter().skip(1).map(String::as_str).find(|a| !a.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_replacement() {
        assert!(hint(Some("make-base"), "--lxc").unwrap().contains("build --backend lxc"));
        assert!(hint(Some("verify"), "-p").unwrap().contains("--gpg-keyring"));
        assert!(hint(None, "gbuild").unwrap().contains("git gitian build"));
        assert_eq!(hint(Some("sign"), "--lxc"), None);
    }
}
