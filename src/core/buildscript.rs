//! The text gbuild writes for a build: the root steps that install packages in the guest, the
//! build script (`var/build-script`, spec §2.4) and the `in_manifest` of the result (spec §2.2,
//! §3). Pure: values in, exact bytes out.

use super::descriptor::{Descriptor, bits};

/// The build script for one architecture, byte for byte what Gitian writes: the prologue
/// (locale, umask, `OUTDIR`, `GBUILD_BITS`, the cache variables when `enable_cache`,
/// `MAKEOPTS`, `NUM_PROCS`, `NUM_MEM`), one `git reset`/`git clean` line per remote, the
/// `REFERENCE_*` variables, `cd build`, then the descriptor's script with a final newline
/// added only if it lacks one.
///
/// `reference_datetime` is the descriptor's, or the author date of the last remote's commit
/// (`YYYY-MM-DD HH:MM:SS`, UTC); its date and time are its two whitespace-separated words, as
/// Gitian splits them.
///
/// # Panics
/// When `arch` is not `i386`, `amd64` or `linux64`; [`Descriptor::parse`] accepts no other.
pub fn build_script(
    desc: &Descriptor,
    arch: &str,
    num_procs: u32,
    num_mem: u32,
    reference_datetime: &str,
) -> String {
    let bits = bits(arch).unwrap_or_else(|| panic!("unknown architecture {arch:?}"));
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str("set -e\n");
    s.push_str("export LANG='en_US.UTF-8'\n");
    s.push_str("export LC_ALL='en_US.UTF-8'\n");
    s.push_str("umask 002\n");
    s.push_str("export OUTDIR=$HOME/out\n");
    s.push_str(&format!("GBUILD_BITS={bits}\n"));
    if desc.enable_cache {
        s.push_str("GBUILD_CACHE_ENABLED=1\n");
        s.push_str(&format!("GBUILD_PACKAGE_CACHE=$HOME/cache/{}\n", desc.name));
        s.push_str("GBUILD_COMMON_CACHE=$HOME/cache/common\n");
    }
    s.push_str(&format!("MAKEOPTS=(-j{num_procs})\n"));
    s.push_str(&format!("NUM_PROCS={num_procs}\n"));
    s.push_str(&format!("NUM_MEM={num_mem}\n"));
    s.push('\n');
    for remote in &desc.remotes {
        s.push_str(&format!(
            "(cd build/{} && git reset -q --hard && git clean -q -f -d)\n",
            remote.dir
        ));
    }
    s.push('\n');
    let mut words = reference_datetime.split_whitespace();
    let date = words.next().unwrap_or("");
    let time = words.next().unwrap_or("");
    // Gitian interpolates these between single quotes unescaped; quoting keeps the same bytes
    // for every valid date and cannot be broken out of.
    s.push_str(&format!("REFERENCE_DATETIME={}\n", quote(reference_datetime)));
    s.push_str(&format!("REFERENCE_DATE={}\n", quote(date)));
    s.push_str(&format!("REFERENCE_TIME={}\n", quote(time)));
    s.push('\n');
    s.push_str("cd build\n");
    // Ruby's `puts`: a nil or empty script is an empty line; a newline is added only when the
    // script does not end with one.
    s.push_str(&desc.script);
    if !desc.script.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// One root step of package installation: what the progress line says, and the shell text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallStep {
    /// Progress text (`Installing additional packages`); lowercased in a failure message.
    pub what: String,
    /// The commands, one per line (the caller runs them under `set -e`).
    pub script: String,
}

/// The root steps that prepare a guest's packages, in Gitian's order: multiarch, extra
/// repositories, `apt-get update` (only when something follows that needs it), packages,
/// packages per repository, alternatives, and the upgrade when `upgrade` (`--upgrade`).
/// Empty when the descriptor installs nothing: then the guest needs no network.
pub fn install_steps(desc: &Descriptor, upgrade: bool) -> Vec<InstallStep> {
    let mut steps = Vec::new();
    let mut step = |what: &str, script: String| {
        steps.push(InstallStep { what: what.to_string(), script });
    };
    if !desc.multiarch.is_empty() {
        step(
            "Adding multiarch support",
            desc.multiarch.iter().map(|a| format!("dpkg --add-architecture {a}\n")).collect(),
        );
    }
    if !desc.repositories.is_empty() {
        let s = desc
            .repositories
            .iter()
            .map(|r| format!("printf '%s\\n' {} >> /etc/apt/sources.list\n", quote(&r.source)))
            .collect();
        step("Adding repositories to the sources list", s);
    }
    // A repository's own packages need the lists too: its source already asks for them.
    let any_packages = !desc.packages.is_empty() || upgrade;
    let new_sources = !desc.multiarch.is_empty() || !desc.repositories.is_empty();
    if any_packages || new_sources {
        step("Updating apt-get repository", "apt-get update\n".into());
    }
    if !desc.packages.is_empty() {
        step(
            "Installing additional packages",
            format!("apt-get --no-install-recommends -y install {}\n", desc.packages.join(" ")),
        );
    }
    for r in desc.repositories.iter().filter(|r| !r.packages.is_empty()) {
        step(
            &format!("Installing additional packages from repository {}", r.distribution),
            format!(
                "apt-get -t {} --no-install-recommends -y install {}\n",
                r.distribution,
                r.packages.join(" ")
            ),
        );
    }
    if !desc.alternatives.is_empty() {
        let s = desc
            .alternatives
            .iter()
            .map(|a| format!("update-alternatives --set {} {}\n", a.package, a.path))
            .collect();
        step("Set alternatives", s);
    }
    if upgrade {
        step(
            "Upgrading system, may take a while",
            "apt-get -q -y purge grub || true\napt-get -y dist-upgrade\n".into(),
        );
    }
    steps
}

/// Single-quotes a string for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `in_manifest` of a result: the descriptor's line, one line per input file, then one
/// `git:<sha> <dir>` line per remote.
///
/// `desc_line_hash` is the sha256 of the descriptor file; `files` are `(sha256, file name)` in
/// descriptor order; `remotes` are `(commit sha, dir)` in descriptor order.
///
/// Deliberate fix (the only difference from Gitian): Gitian appends each `git:` line with no
/// newline, so two remotes come out glued on one line (`git:abc onegit:def two`, spec §3 and
/// §11.5). We put a newline *between* `git:` lines. The last one still has no trailing newline,
/// so with zero or one remote (every published descriptor we know of but one) the text is
/// byte-identical to Gitian's, and `gverify` never compares `in_manifest` anyway.
pub fn in_manifest(
    desc_line_hash: &str,
    name: &str,
    files: &[(String, String)],
    remotes: &[(String, String)],
) -> String {
    let mut s = format!("{desc_line_hash}  {name}-desc.yml\n");
    for (hash, file) in files {
        s.push_str(&format!("{hash}  {file}\n"));
    }
    let git: Vec<String> = remotes.iter().map(|(sha, dir)| format!("git:{sha} {dir}")).collect();
    s.push_str(&git.join("\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::descriptor::{Alternative, Remote, Repository};

    fn remote(dir: &str) -> Remote {
        Remote {
            url: Some(format!("https://example.org/{dir}.git")),
            dir: dir.to_owned(),
            commit: None,
        }
    }

    /// Spec §2.4, observed from Ruby gbuild: `bitcoin-core-linux-0.21`, cache on, one remote,
    /// `-j 2 -m 2000`, amd64.
    #[test]
    fn test_build_script_matches_gitian_observed_text() {
        let desc = Descriptor {
            name: "bitcoin-core-linux-0.21".to_owned(),
            enable_cache: true,
            suites: vec!["bionic".to_owned()],
            architectures: vec!["amd64".to_owned()],
            remotes: vec![remote("bitcoin")],
            script: "echo hi\nmake\n".to_owned(),
            ..Descriptor::default()
        };
        let expected = "#!/bin/bash
set -e
export LANG='en_US.UTF-8'
export LC_ALL='en_US.UTF-8'
umask 002
export OUTDIR=$HOME/out
GBUILD_BITS=64
GBUILD_CACHE_ENABLED=1
GBUILD_PACKAGE_CACHE=$HOME/cache/bitcoin-core-linux-0.21
GBUILD_COMMON_CACHE=$HOME/cache/common
MAKEOPTS=(-j2)
NUM_PROCS=2
NUM_MEM=2000

(cd build/bitcoin && git reset -q --hard && git clean -q -f -d)

REFERENCE_DATETIME='2021-01-11 13:45:09'
REFERENCE_DATE='2021-01-11'
REFERENCE_TIME='13:45:09'

cd build
echo hi
make
";
        assert_eq!(build_script(&desc, "amd64", 2, 2000, "2021-01-11 13:45:09"), expected);
    }

    #[test]
    fn test_build_script_without_cache_or_remotes_and_unterminated_script() {
        let desc =
            Descriptor { name: "x".to_owned(), script: "make".to_owned(), ..Descriptor::default() };
        let expected = "#!/bin/bash
set -e
export LANG='en_US.UTF-8'
export LC_ALL='en_US.UTF-8'
umask 002
export OUTDIR=$HOME/out
GBUILD_BITS=32
MAKEOPTS=(-j8)
NUM_PROCS=8
NUM_MEM=4096


REFERENCE_DATETIME='2000-01-01 00:00:00'
REFERENCE_DATE='2000-01-01'
REFERENCE_TIME='00:00:00'

cd build
make
";
        assert_eq!(build_script(&desc, "i386", 8, 4096, "2000-01-01 00:00:00"), expected);
    }

    #[test]
    fn test_build_script_empty_script_is_one_empty_line_and_remotes_in_order() {
        let desc = Descriptor {
            name: "x".to_owned(),
            remotes: vec![remote("errors"), remote("gb")],
            ..Descriptor::default()
        };
        let s = build_script(&desc, "linux64", 2, 2000, "2000-01-01 00:00:00");
        assert!(s.contains("GBUILD_BITS=64\n"));
        assert!(s.contains(
            "\n\n(cd build/errors && git reset -q --hard && git clean -q -f -d)\n\
             (cd build/gb && git reset -q --hard && git clean -q -f -d)\n\nREFERENCE_DATETIME="
        ));
        assert!(s.ends_with("\ncd build\n\n"), "{s:?}");
    }

    #[test]
    fn test_build_script_quotes_a_reference_datetime_that_breaks_quoting() {
        let desc = Descriptor { name: "x".to_owned(), ..Descriptor::default() };
        let s = build_script(&desc, "amd64", 2, 2000, "2000-01-01 a'b");
        assert!(s.contains("REFERENCE_DATETIME='2000-01-01 a'\\''b'\n"));
        assert!(s.contains("REFERENCE_TIME='a'\\''b'\n"));
    }

    #[test]
    #[should_panic(expected = "unknown architecture")]
    fn test_build_script_unknown_arch_panics() {
        build_script(&Descriptor::default(), "arm64", 2, 2000, "2000-01-01 00:00:00");
    }

    const D: &str = "6fa795f605c0ae27cc8599714279f7f2d5043e9e781f7b1c69c5521476b87537";

    /// Spec §3, real `bitcoin-core-linux-0.21` assert: one remote, no trailing newline.
    #[test]
    fn test_in_manifest_one_remote_matches_gitian() {
        let text = in_manifest(
            D,
            "bitcoin-core-linux-0.21",
            &[],
            &[("95ea54ba089610019a74c1176a2c7c0dba144b1c".to_owned(), "bitcoin".to_owned())],
        );
        assert_eq!(
            text,
            "6fa795f605c0ae27cc8599714279f7f2d5043e9e781f7b1c69c5521476b87537  \
             bitcoin-core-linux-0.21-desc.yml\n\
             git:95ea54ba089610019a74c1176a2c7c0dba144b1c bitcoin"
        );
    }

    /// Spec §3 observed `git:abc onegit:def two` in Gitian; we separate the lines.
    #[test]
    fn test_in_manifest_several_remotes_are_separated_by_newlines() {
        let files = [("h1".to_owned(), "a.tar.gz".to_owned()), ("h2".to_owned(), "b".to_owned())];
        let remotes = [("abc".to_owned(), "one".to_owned()), ("def".to_owned(), "two".to_owned())];
        assert_eq!(
            in_manifest("d", "x", &files, &remotes),
            "d  x-desc.yml\nh1  a.tar.gz\nh2  b\ngit:abc one\ngit:def two"
        );
    }

    /// No remotes: the text ends with the last file line's newline, as in Gitian.
    #[test]
    fn test_in_manifest_without_remotes_ends_with_newline() {
        let files = [("h1".to_owned(), "f".to_owned())];
        assert_eq!(in_manifest("d", "x", &files, &[]), "d  x-desc.yml\nh1  f\n");
    }

    #[test]
    fn test_install_steps_none_without_packages_and_update_only_when_needed() {
        assert_eq!(install_steps(&Descriptor::default(), false), vec![]);
        let up = install_steps(&Descriptor::default(), true);
        let whats: Vec<&str> = up.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(whats, ["Updating apt-get repository", "Upgrading system, may take a while"]);
        assert_eq!(up[1].script, "apt-get -q -y purge grub || true\napt-get -y dist-upgrade\n");
        // Multiarch alone still needs the package lists of the new architecture.
        let multi = Descriptor { multiarch: vec!["i386".into()], ..Descriptor::default() };
        let whats: Vec<String> = install_steps(&multi, false).into_iter().map(|s| s.what).collect();
        assert_eq!(whats, ["Adding multiarch support", "Updating apt-get repository"]);
    }

    #[test]
    fn test_install_steps_packages_or_a_repository_alone_update_the_lists_first() {
        let whats = |desc: &Descriptor| -> Vec<String> {
            install_steps(desc, false).into_iter().map(|s| s.what).collect()
        };
        let pkgs = Descriptor { packages: vec!["make".into()], ..Descriptor::default() };
        assert_eq!(whats(&pkgs), ["Updating apt-get repository", "Installing additional packages"]);
        let repo = |packages: Vec<String>| Descriptor {
            repositories: vec![Repository {
                source: "deb http://x.invalid/d sid main".into(),
                distribution: "sid".into(),
                packages,
            }],
            ..Descriptor::default()
        };
        let added = "Adding repositories to the sources list";
        assert_eq!(whats(&repo(vec![])), [added, "Updating apt-get repository"]);
        assert_eq!(
            whats(&repo(vec!["clang".into()])),
            [
                added,
                "Updating apt-get repository",
                "Installing additional packages from repository sid"
            ]
        );
    }

    #[test]
    fn test_install_steps_in_gitian_order_with_exact_commands() {
        let desc = Descriptor {
            multiarch: vec!["i386".into()],
            packages: vec!["g++".into(), "make".into()],
            repositories: vec![Repository {
                source: "deb http://x.invalid/d sid main".into(),
                distribution: "sid".into(),
                packages: vec!["clang".into()],
            }],
            alternatives: vec![Alternative { package: "cc".into(), path: "/usr/bin/gcc".into() }],
            ..Descriptor::default()
        };
        let steps = install_steps(&desc, false);
        let got: Vec<(&str, &str)> =
            steps.iter().map(|s| (s.what.as_str(), s.script.as_str())).collect();
        assert_eq!(
            got,
            [
                ("Adding multiarch support", "dpkg --add-architecture i386\n"),
                (
                    "Adding repositories to the sources list",
                    "printf '%s\\n' 'deb http://x.invalid/d sid main' >> /etc/apt/sources.list\n"
                ),
                ("Updating apt-get repository", "apt-get update\n"),
                (
                    "Installing additional packages",
                    "apt-get --no-install-recommends -y install g++ make\n"
                ),
                (
                    "Installing additional packages from repository sid",
                    "apt-get -t sid --no-install-recommends -y install clang\n"
                ),
                ("Set alternatives", "update-alternatives --set cc /usr/bin/gcc\n"),
            ]
        );
    }
}
