//! The descriptor model (spec §1): what a checked descriptor holds, and the per-architecture
//! facts the build needs.

/// The architectures Gitian knows (spec §1, architecture table).
pub const ARCHITECTURES: [&str; 3] = ["i386", "amd64", "linux64"];

/// The archive formats a descriptor's `normalize:` list may name (`git gitian normalize`'s).
pub const NORMALIZE_FORMATS: [&str; 4] = ["tar", "gzip", "zip", "ar"];

/// A parsed and checked Gitian descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Names the result, cache and assert files; letters, digits, `_`, `.`, `-`.
    pub name: String,
    /// Target distribution and user name in the guest; default `ubuntu`.
    pub distro: String,
    /// Distribution releases to build on, one guest each (with each architecture).
    pub suites: Vec<String>,
    /// `i386`, `amd64` or `linux64`.
    pub architectures: Vec<String>,
    /// Packages installed before the script runs.
    pub packages: Vec<String>,
    /// `YYYY-MM-DD HH:MM:SS`; when absent, the author date of the last remote's commit.
    pub reference_datetime: Option<String>,
    /// Git repositories checked out into `build/<dir>`.
    pub remotes: Vec<Remote>,
    /// Input files taken from `inputs/`.
    pub files: Vec<String>,
    /// The build script, verbatim (empty when absent).
    pub script: String,
    /// Caches copied into and back from the guest.
    pub enable_cache: bool,
    /// The build user may use sudo (only with `--allow-sudo`).
    pub sudo: bool,
    /// Extra dpkg architectures.
    pub multiarch: Vec<String>,
    /// Extra apt sources and what to install from them.
    pub repositories: Vec<Repository>,
    /// `update-alternatives --set` pairs.
    pub alternatives: Vec<Alternative>,
    /// Docker images replacing `suites` (Docker backend only); empty or as long as `suites`.
    pub docker_image_digests: Vec<String>,
    /// Output files allowed to be missing; `None` when the key is absent or null.
    pub optionals: Option<Vec<String>>,
    /// `limits: {memory: 8G, processes: 4096, disk: 40G}` (git-gitian's; Gitian ignores it).
    pub limits: crate::core::limits::LimitSpec,
    /// Ours (Gitian ignores it): archive formats whose outputs are normalised before the
    /// out_manifest is made, in the descriptor's order; empty when the key is absent.
    pub normalize: Vec<String>,
}

impl Default for Descriptor {
    fn default() -> Self {
        Self {
            name: String::new(),
            distro: "ubuntu".to_owned(),
            suites: Vec::new(),
            architectures: Vec::new(),
            packages: Vec::new(),
            reference_datetime: None,
            remotes: Vec::new(),
            files: Vec::new(),
            script: String::new(),
            enable_cache: false,
            sudo: false,
            multiarch: Vec::new(),
            repositories: Vec::new(),
            alternatives: Vec::new(),
            docker_image_digests: Vec::new(),
            optionals: None,
            limits: Default::default(),
            normalize: Vec::new(),
        }
    }
}

/// One `remotes` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Remote {
    /// Where to fetch from; may be left to `--url dir=URL`.
    pub url: Option<String>,
    /// Checkout directory name under `inputs/` and `build/`.
    pub dir: String,
    /// Tag, branch or full SHA; when absent, `--commit dir=COMMIT` must give it.
    pub commit: Option<String>,
}

/// One `repositories` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repository {
    /// A `sources.list` line.
    pub source: String,
    /// The release to install from (`apt-get -t`).
    pub distribution: String,
    /// Packages to install from it.
    pub packages: Vec<String>,
}

/// One `alternatives` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alternative {
    /// The alternative's name.
    pub package: String,
    /// The path it is set to.
    pub path: String,
}

/// `GBUILD_BITS` (and `start-target`'s first argument) for an architecture.
pub fn bits(arch: &str) -> Option<u32> {
    match arch {
        "i386" => Some(32),
        "amd64" | "linux64" => Some(64),
        _ => None,
    }
}

/// The `setarch` personality the build script runs under.
pub fn personality(arch: &str) -> Option<&'static str> {
    match arch {
        "i386" => Some("i386"),
        "amd64" => Some("x86_64"),
        "linux64" => Some("linux64"),
        _ => None,
    }
}
