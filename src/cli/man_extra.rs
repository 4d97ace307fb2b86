//! The man page sections clap does not know: EXAMPLES, EXIT STATUS, ENVIRONMENT, FILES,
//! CONFIGURATION, COMING FROM GITIAN and SEE ALSO, per page. `git-gitian(1)` holds every
//! recipe of the README (a test checks it); every `name(1)` named here is a page that exists
//! (a test checks that too).

use clap_mangen::roff::{Roff, bold, roman};

/// `(command, what it does)`.
type Example = (&'static str, &'static str);
/// `(name, meaning)`.
type Item = (&'static str, &'static str);

const EXIT_STATUS: &str = "0: the job was done and every check passed. 1: a check found a \
disagreement, a signature that does not hold or a missed threshold (verify, lint, hooks), or \
the backends of a --backend all build disagree. 2: the job could not be done (bad input, \
missing tool, interrupted); the message says why, and a hint says what to do where it is known.";

const ENV_COMMON: [Item; 3] = [
    (
        "GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT, GIT_CONFIG_KEY_n, GIT_CONFIG_VALUE_n",
        "git config set for one run (git -c key=value gitian ...); read as git reads them, see CONFIGURATION in git-gitian(1)",
    ),
    (
        "HOME, XDG_CACHE_HOME",
        "the per-user cache is $XDG_CACHE_HOME/git-gitian, else ~/.cache/git-gitian",
    ),
    ("LC_ALL, TZ", "the messages are in English whatever the locale; times are written in UTC"),
];

const ENV_BUILD: [Item; 5] = [
    ("GITIAN_BASE_DIR", "the folder of base images, as --base-dir"),
    (
        "USE_LXC, USE_DOCKER, USE_VBOX",
        "gbuild's backend choice: with --backend auto, the value 1 picks lxc, docker (podman when docker is missing) or vbox",
    ),
    (
        "CI",
        "any non-empty value streams the build log (var/build.log) to standard error while the script runs, as gbuild did",
    ),
    ("SOURCE_DATE_EPOCH", "make-base: the time stamp of the image's files (seconds since 1970)"),
    (
        "GITIAN_BASE",
        "vbox: the folder holding var/id_rsa, the key Gitian's VirtualBox guests accept",
    ),
];

const ENV_NORMALIZE: [Item; 1] = [(
    "SOURCE_DATE_EPOCH",
    "normalize: the time archive timestamps are capped at, when neither --time nor --descriptor is given",
)];

const ENV_SIGN: [Item; 1] = [(
    "GNUPGHOME",
    "sign: the GnuPG home holding your secret key (gpg-agent, pinentry and smartcards work as with gpg); verify never reads it unless --gpg-keyring is given",
)];

const FILES_WORK: [Item; 6] = [
    ("inputs/", "the descriptor's files and a checkout of each remote (inputs/<dir>)"),
    (
        "build/out/",
        "what the build script wrote to $OUTDIR; build/ is emptied at the start of a build",
    ),
    (
        "result/<name>-res.yml",
        "the result: manifests of the outputs, inputs and base packages; sign reads it",
    ),
    (
        "var/build.log, var/install.log, var/build-info",
        "the logs of the last build and what built it",
    ),
    ("var/build.lock", "held while a build runs in this folder"),
    ("cache/", "the descriptor's caches (enable_cache: true)"),
];

const FILES_CACHE: [Item; 4] = [
    (
        "~/.cache/git-gitian/base/<distro>-<suite>-<arch>/",
        "a base image made by make-base (rootfs.tar, kernel, disk image, package manifest)",
    ),
    (
        "~/.cache/git-gitian/remotes/",
        "bare repositories of the remotes builds fetch, shared by every work dir",
    ),
    (
        "~/.cache/git-gitian/verify/",
        "what verify learnt from earlier runs, by a digest of the bytes (--no-cache ignores it)",
    ),
    (
        "~/.cache/git-gitian/kvm-probe",
        "whether KVM really boots a guest on this machine, remembered per host boot",
    ),
];

const FILES_LEDGER: [Item; 5] = [
    (
        "<release>/<signer>/<name>-build.assert, .assert.sig",
        "an attestation in Gitian's layout and its binary detached signature",
    ),
    (
        "<release>/<signer>/noncodesigned.SHA256SUMS, all.SHA256SUMS, .asc",
        "an attestation in guix's layout and its armored signature",
    ),
    ("builder-keys/, keys/, gitian-keys/", "the public keys signatures are checked against"),
    ("policy.yml", "threshold, required_signers, expired_keys_count, allow_disagreement"),
    (
        ".git/hooks/pre-commit, .git/hooks/pre-push",
        "the guards installed by init and hooks install (core.hooksPath is respected)",
    ),
];

/// Gitian's commands and flags and what they are here.
const GITIAN: [Item; 14] = [
    (
        "bin/gbuild DESCRIPTOR",
        "git gitian build DESCRIPTOR; -c, -u, -j, -m, -o, -q, -i, --upgrade, --skip-fetch, --fetch-tags, --fetch-branches, --skip-cleanup, --allow-sudo are the same flags",
    ),
    (
        "USE_LXC=1, USE_DOCKER=1, USE_VBOX=1 gbuild",
        "honoured with --backend auto; or git gitian build --backend lxc|docker|vbox",
    ),
    ("CI=1 gbuild", "CI=1 git gitian build: the build log streams to standard error"),
    (
        "bin/make-base-vm --suite S --arch A [--distro D]",
        "git gitian make-base --suite S --arch A [--distro D] (also -s, -a, -d)",
    ),
    (
        "make-base-vm --lxc, --docker, --vbox",
        "one base image serves every backend: choose it when building, git gitian build --backend lxc",
    ),
    ("make-base-vm --docker-image-digest", "none: docker guests boot the same base image"),
    ("bin/make-clean-vm", "none: every build starts from a fresh copy-on-write guest"),
    (
        "bin/gsign -s SIGNER -r REL -d DEST DESCRIPTOR",
        "git gitian sign -s SIGNER -r REL -d DEST DESCRIPTOR: the same assert bytes; also commits them, unless --no-commit or git config gitian.commit false",
    ),
    (
        "gsign -p PROG, --signing_program PROG",
        "the same (-p, --signing-program, --signing_program); -p true signs later",
    ),
    ("gsign release names", "the same rule: letters, digits, '_', '.', '-'"),
    (
        "bin/gverify -d DEST -r REL DESCRIPTOR",
        "git gitian verify -d DEST -r REL DESCRIPTOR --format gverify: the same OK / MISMATCH / BAD SIGNATURE lines; a descriptor holding only name: is enough",
    ),
    ("gverify -c SIGNER, -m, --no-markup, -v", "the same flags"),
    (
        "gverify -p PROG",
        "none: signatures are checked in process against the ledger's keys (and --keys, --gpg-keyring)",
    ),
    (
        "sigs/<name>/ under gitian-builder",
        "a sigs repository of its own: git gitian init DIR, then -d DIR or git config gitian.sigs DIR",
    ),
];

/// The extra sections of one page.
#[derive(Default)]
struct Extra {
    examples: &'static [Example],
    environment: Vec<Item>,
    files: Vec<Item>,
    see_also: &'static [&'static str],
}

/// Every README recipe, in README order.
const README_EXAMPLES: [Example; 18] = [
    (
        "bash scripts/demo",
        "In a clone of git-gitian, as root: install the packages, build the tool, make a base image, build the bundled example, sign it as two throwaway builders and verify (as another user: sudo bash scripts/demo).",
    ),
    ("bash .ci/run", "Run every test, as CI does (as root)."),
    (
        "bash scripts/install",
        "Install the binary, the man pages and the shell completions (PREFIX=/usr/local as root, ~/.local as a user).",
    ),
    ("git clone https://github.com/bitcoin-core/guix.sigs && cd guix.sigs", "Get a real ledger."),
    (
        "git gitian verify -r 25.0",
        "The signers, keys, statuses and the artifact grid of one release.",
    ),
    (
        "git gitian verify --all-branches --threshold 3 --format json",
        "Every branch, at least 3 agreeing keys, as JSON.",
    ),
    (
        "git gitian verify -r 25.0 --format markdown",
        "A compact table to paste into a pull-request comment.",
    ),
    (
        "git gitian verify -r 25.0 --format html > 25.0.html",
        "One self-contained page to share: signers, the artifact grid, reasons, the revision read and the time of the check.",
    ),
    (
        "git gitian verify -d ../gitian.sigs -r 0.20.1-linux --keys ../keys --format gverify",
        "Gitian's ledger with keys kept elsewhere, as gverify prints it.",
    ),
    (
        "git gitian make-base --suite bookworm --arch amd64",
        "Make the base image once; it is cached under ~/.cache/git-gitian/base.",
    ),
    (
        "mkdir work && cd work",
        "A work dir: Gitian's folders inputs/, build/, result/, var/ and cache/ are made there.",
    ),
    (
        "git gitian build -c bitcoin=v0.21.0 ../gitian-linux.yml",
        "Build a descriptor at a tag, on the backend auto picks.",
    ),
    (
        "git gitian diff builder-a/build/out builder-b/build/out",
        "What differs between two builds, down inside their archives (or two result files, or two files).",
    ),
    ("git gitian diff --format json A B", "The same as JSON (schema git-gitian/diff/v1)."),
    ("git gitian diff --deep A B", "Also run diffoscope on each member that differs."),
    (
        "git gitian diff var/check/build-1 var/check/build-2",
        "Two build folders (build/out and result/*-res.yml, as check keeps them), compared as their results.",
    ),
    (
        "git gitian check --backend sandbox ../gitian-linux.yml",
        "Before signing: build twice as the control, then under every variation, and name the variations that change the outputs.",
    ),
    (
        "git gitian check --variations -kernel,-user --format json x.yml",
        "Every variation but kernel and user (a list that starts with -NAME starts from all), as JSON (schema git-gitian/check/v1).",
    ),
];

fn extra(page: &str) -> Extra {
    match page {
        "git-gitian" => extra_top(),
        "git-gitian-build" | "git-gitian-make-base" | "git-gitian-check" => extra_build(page),
        "git-gitian-sign" | "git-gitian-verify" | "git-gitian-status" => extra_ledger(page),
        "git-gitian-init"
        | "git-gitian-hooks"
        | "git-gitian-hooks-install"
        | "git-gitian-hooks-uninstall"
        | "git-gitian-hooks-run" => extra_setup(page),
        _ => extra_other(page),
    }
}

fn env(sets: &[&[Item]]) -> Vec<Item> {
    sets.iter().flat_map(|s| s.iter().copied()).collect()
}

/// git-gitian(1): every README recipe, every variable and file.
fn extra_top() -> Extra {
    Extra {
        examples: &README_EXAMPLES,
        environment: env(&[&ENV_COMMON, &ENV_BUILD, &ENV_SIGN]),
        files: env(&[&FILES_WORK, &FILES_CACHE, &FILES_LEDGER]),
        see_also: &[
            "git-gitian-build",
            "git-gitian-check",
            "git-gitian-make-base",
            "git-gitian-sign",
            "git-gitian-verify",
            "git-gitian-status",
            "git-gitian-init",
            "git-gitian-hooks",
            "git-gitian-lint",
            "git-gitian-diff",
            "git-gitian-normalize",
            "git-gitian-completions",
            "git",
            "gpg",
        ],
    }
}

fn extra_build(page: &str) -> Extra {
    match page {
        "git-gitian-build" => Extra {
            examples: &[
                (
                    "git gitian build -c bitcoin=v0.21.0 ../gitian-linux.yml",
                    "Build at a tag on the backend auto picks.",
                ),
                (
                    "git gitian build --dry-run -c bitcoin=v0.21.0 ../gitian-linux.yml",
                    "Check the descriptor, the remotes and the commits and print the plan, without building.",
                ),
                (
                    "git gitian build --backend all -c bitcoin=v0.21.0 ../gitian-linux.yml",
                    "Build on every backend that can run here and compare the outputs.",
                ),
                (
                    "CI=1 git gitian build --backend lxc -u bitcoin=../bitcoin -c bitcoin=HEAD x.yml",
                    "Build a local clone with LXC, streaming the build log.",
                ),
            ],
            environment: env(&[&ENV_BUILD[..3], &ENV_COMMON]),
            files: env(&[&FILES_WORK, &FILES_CACHE[..2]]),
            see_also: &[
                "git-gitian-make-base",
                "git-gitian-sign",
                "git-gitian-lint",
                "git-gitian-status",
                "git-gitian",
            ],
        },
        "git-gitian-check" => Extra {
            examples: &[
                (
                    "git gitian check --backend sandbox ../gitian-linux.yml",
                    "Control twice, every variation at once, then the smallest sets of variations that change the outputs.",
                ),
                (
                    "git gitian check --variations -kernel ../gitian-linux.yml",
                    "Every variation but kernel: a list that starts with -NAME starts from all.",
                ),
                (
                    "git gitian check --variations timezone,locale --format json x.yml",
                    "Only two variations, as JSON (schema git-gitian/check/v1, docs/check.md).",
                ),
            ],
            environment: env(&[&ENV_BUILD[..3], &ENV_COMMON]),
            files: env(&[&FILES_WORK, &FILES_CACHE[..2]]),
            see_also: &["git-gitian-build", "git-gitian-diff", "git-gitian-sign", "git-gitian"],
        },
        "git-gitian-make-base" => Extra {
            examples: &[
                (
                    "git gitian make-base --suite bookworm --arch amd64",
                    "The Debian 12 base image every backend boots.",
                ),
                (
                    "SOURCE_DATE_EPOCH=1700000000 git gitian make-base --arch i386",
                    "A 32-bit image with a chosen time stamp.",
                ),
            ],
            environment: env(&[&ENV_BUILD[..1], &ENV_BUILD[3..4], &ENV_COMMON]),
            files: FILES_CACHE[..1].to_vec(),
            see_also: &["git-gitian-build", "mmdebstrap", "git-gitian"],
        },
        _ => Extra::default(),
    }
}

fn extra_ledger(page: &str) -> Extra {
    match page {
        "git-gitian-sign" => Extra {
            examples: &[
                (
                    "git gitian sign -s alice -r 0.21.0-linux -d ../gitian.sigs ../gitian-linux.yml",
                    "Sign result/ into a clone of the ledger and commit the two files.",
                ),
                (
                    "git gitian sign -s alice -r 0.21.0-linux -p true ../gitian-linux.yml",
                    "Write the assert now, sign it later (run the command again without -p).",
                ),
                (
                    "git config --global gitian.sigs ~/gitian.sigs && git config --global gitian.signer alice",
                    "Set the ledger and the signer once.",
                ),
                (
                    "git config --global gitian.commit false",
                    "Leave committing to you, as gsign did.",
                ),
            ],
            environment: env(&[&ENV_SIGN, &ENV_COMMON]),
            files: env(&[&FILES_WORK[2..3], &FILES_LEDGER[..2]]),
            see_also: &["git-gitian-verify", "git-gitian-init", "gpg", "git-gitian"],
        },
        "git-gitian-verify" => Extra {
            examples: &README_EXAMPLES[4..7],
            environment: env(&[&ENV_SIGN, &ENV_COMMON]),
            files: env(&[&FILES_LEDGER[..4], &FILES_CACHE[2..3]]),
            see_also: &["git-gitian-sign", "git-gitian-hooks", "git-gitian"],
        },
        "git-gitian-status" => Extra {
            examples: &[
                (
                    "git gitian status",
                    "In a work dir, with gitian.sigs and gitian.signer set in git config.",
                ),
                ("git gitian status -s alice -d ../gitian.sigs", "Name them on the command line."),
            ],
            environment: env(&[&ENV_BUILD[..2], &ENV_SIGN, &ENV_COMMON]),
            files: env(&[
                &FILES_WORK[2..3],
                &FILES_CACHE[..1],
                &FILES_CACHE[3..4],
                &FILES_LEDGER[2..3],
                &FILES_LEDGER[4..5],
            ]),
            see_also: &["git-gitian-build", "git-gitian-sign", "git-gitian-hooks", "git-gitian"],
        },
        _ => Extra::default(),
    }
}

/// The pages of setting a ledger up: init and hooks.
fn extra_setup(page: &str) -> Extra {
    match page {
        "git-gitian-init" => Extra {
            examples: &[
                ("git gitian init sigs", "A new sigs repository in sigs/."),
                (
                    "git clone https://github.com/bitcoin-core/gitian.sigs && git gitian init gitian.sigs",
                    "Guard a clone of an existing ledger with the hooks; nothing else changes.",
                ),
                (
                    "git gitian init --policy",
                    "Also add policy.yml (threshold 2) to a ledger that has commits.",
                ),
            ],
            environment: ENV_COMMON.to_vec(),
            files: FILES_LEDGER[2..].to_vec(),
            see_also: &["git-gitian-hooks", "git-gitian-sign", "git-gitian"],
        },
        "git-gitian-hooks"
        | "git-gitian-hooks-install"
        | "git-gitian-hooks-uninstall"
        | "git-gitian-hooks-run" => Extra {
            examples: &[
                (
                    "git gitian hooks install",
                    "Install the pre-commit and pre-push guards in the current repository.",
                ),
                (
                    "git gitian hooks uninstall --repo ../sigs",
                    "Remove them, keeping your own hook text.",
                ),
                ("git push --no-verify", "Skip the pre-push check once."),
            ],
            environment: ENV_COMMON.to_vec(),
            files: FILES_LEDGER[2..].to_vec(),
            see_also: &[
                "git-gitian-hooks",
                "git-gitian-init",
                "git-gitian-verify",
                "githooks",
                "git-gitian",
            ],
        },
        _ => Extra::default(),
    }
}

fn extra_other(page: &str) -> Extra {
    match page {
        "git-gitian-lint" => Extra {
            examples: &[(
                "git gitian lint contrib/gitian-descriptors/*.yml",
                "Check every descriptor; one line each, errors with file, line and field.",
            )],
            environment: ENV_COMMON[2..].to_vec(),
            files: Vec::new(),
            see_also: &["git-gitian-build", "git-gitian"],
        },
        "git-gitian-diff" => Extra {
            examples: &README_EXAMPLES[12..16],
            environment: ENV_COMMON[2..].to_vec(),
            files: FILES_WORK[1..3].to_vec(),
            see_also: &["git-gitian-normalize", "git-gitian-build", "git-gitian"],
        },
        "git-gitian-normalize" => Extra {
            examples: &[
                (
                    "git gitian normalize --time '2024-01-01 00:00:00' build/out/*.tar.gz",
                    "Cap every archive timestamp at that time, sort members, zero owners.",
                ),
                (
                    "git gitian normalize --check --descriptor ../gitian-linux.yml build/out/*",
                    "Only say which files would change, capping at the descriptor's reference_datetime.",
                ),
            ],
            environment: env(&[&ENV_NORMALIZE, &ENV_COMMON[2..]]),
            files: FILES_WORK[1..2].to_vec(),
            see_also: &["git-gitian-diff", "git-gitian-build", "git-gitian"],
        },
        "git-gitian-completions" => Extra {
            examples: &[
                (
                    "source <(git gitian completions bash)",
                    "Load completion in this bash (put it in ~/.bashrc to keep it).",
                ),
                (
                    "git gitian completions zsh > ~/.zfunc/_git-gitian",
                    "Install it for zsh, with ~/.zfunc in $fpath before compinit.",
                ),
                (
                    "git gitian completions fish > ~/.config/fish/completions/git-gitian.fish",
                    "Install it for fish.",
                ),
            ],
            environment: Vec::new(),
            files: Vec::new(),
            see_also: &["git-gitian"],
        },
        _ => Extra::default(),
    }
}

/// The extra sections of `page`, as roff.
pub fn render(page: &str) -> String {
    let e = extra(page);
    let mut r = Roff::new();
    if !e.examples.is_empty() {
        r.control("SH", ["EXAMPLES"]);
        for (cmd, what) in e.examples {
            r.control("TP", []);
            r.text([bold(*cmd)]);
            r.text([roman(*what)]);
        }
    }
    r.control("SH", ["EXIT STATUS"]);
    r.text([roman(EXIT_STATUS)]);
    if page == "git-gitian" {
        configuration(&mut r);
        r.control("SH", ["COMING FROM GITIAN"]);
        r.text([roman("Each command and flag of gitian-builder, and what it is here (also in docs/coming-from-gitian.md):")]);
        items(&mut r, &GITIAN);
    }
    if !e.environment.is_empty() {
        r.control("SH", ["ENVIRONMENT"]);
        items(&mut r, &e.environment);
    }
    if !e.files.is_empty() {
        r.control("SH", ["FILES"]);
        items(&mut r, &e.files);
    }
    r.control("SH", ["SEE ALSO"]);
    // Page names are never hyphenated across lines (man would print "git-gitian-comple-").
    r.control("nh", []);
    let refs: Vec<String> = e.see_also.iter().map(|p| format!("{p}({})", section_of(p))).collect();
    r.text([roman(refs.join(", "))]);
    r.to_roff()
}

/// `githooks` is in section 5; everything else named here is a command.
fn section_of(page: &str) -> u8 {
    if page == "githooks" { 5 } else { 1 }
}

fn items(r: &mut Roff, items: &[Item]) {
    for (name, what) in items {
        r.control("TP", []);
        r.text([bold(*name)]);
        r.text([roman(*what)]);
    }
}

/// The one configuration table: every git config key, its flag and default.
fn configuration(r: &mut Roff) {
    r.control("SH", ["CONFIGURATION"]);
    r.text([roman(
        "Settings are git config keys, read through git itself: ~/.gitconfig, the repository's .git/config, include.path, git -c key=value and GIT_CONFIG_COUNT all count. A flag on the command line wins, then its environment variable, then git config, then the default.",
    )]);
    for key in crate::config::ALL {
        r.control("TP", []);
        r.text([bold(key.name)]);
        r.text([roman(format!(
            "{}. Flag: {}. Default: {}.",
            capitalize(key.doc),
            key.flag,
            key.default
        ))]);
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
