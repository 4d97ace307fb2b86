//! What a build may take from its host: processes, memory and disk. Pure: the values, their
//! defaults, sizes as written in a descriptor (`limits: {memory: 8G, processes: 4096,
//! disk: 40G}`) or on the command line (`--memory 8G`, `--processes`, `--disk`), and the words
//! that say which limit a failed build hit. The backends enforce them (`guest::limits`).
//!
//! Defaults, meant for a real Bitcoin Core release build at `-j 2`:
//! - memory 4096 MiB: a C++ compiler on Bitcoin Core's largest sources takes up to about
//!   1 GiB, two of them run at `-j 2`, and the page cache of a build tree wants the rest;
//!   Gitian's own default (2000 MiB, still the QEMU guest's before) made the largest files
//!   swap or fail, which is why Bitcoin Core's gitian-build.py users passed `-m 3000` or more;
//! - processes 4096: a parallel make with its shells, compilers and assemblers stays in the
//!   hundreds; 4096 is what the Docker backend already set with `--ulimit nproc` and stops a
//!   fork bomb long before the host's limit (96,367 on the machines this was written on);
//! - disk 40 GiB: the room the Gitian building guide asked for its builder; a release build
//!   makes `depends` for every host triplet in one guest.

use std::fmt;

/// Limits of one build, every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Memory in MiB (the QEMU guest's RAM; the container's memory+swap limit).
    pub memory_mib: u64,
    /// Processes (threads included, as the kernel counts them) at once.
    pub processes: u64,
    /// Disk the guest's writable layer may grow by, in MiB.
    pub disk_mib: u64,
}

impl Default for Limits {
    fn default() -> Self {
        DEFAULT
    }
}

/// See the module docs.
pub const DEFAULT: Limits = Limits { memory_mib: 4096, processes: 4096, disk_mib: 40 * 1024 };

/// The lowest values accepted (below them not even the guest's setup runs).
pub const MIN: Limits = Limits { memory_mib: 128, processes: 32, disk_mib: 16 };

/// Limits as a descriptor or a command line gives them: each one optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitSpec {
    /// `memory`, MiB.
    pub memory_mib: Option<u64>,
    /// `processes`.
    pub processes: Option<u64>,
    /// `disk`, MiB.
    pub disk_mib: Option<u64>,
}

impl LimitSpec {
    /// `self` where given, else `below`.
    pub fn or(self, below: LimitSpec) -> LimitSpec {
        LimitSpec {
            memory_mib: self.memory_mib.or(below.memory_mib),
            processes: self.processes.or(below.processes),
            disk_mib: self.disk_mib.or(below.disk_mib),
        }
    }

    /// The limits, with [`DEFAULT`] for what is not given.
    pub fn resolve(self) -> Limits {
        Limits {
            memory_mib: self.memory_mib.unwrap_or(DEFAULT.memory_mib),
            processes: self.processes.unwrap_or(DEFAULT.processes),
            disk_mib: self.disk_mib.unwrap_or(DEFAULT.disk_mib),
        }
    }

    /// Sets one descriptor key (`memory`, `processes`, `disk`) from its text; the error is
    /// the message and a hint.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), (String, String)> {
        match Which::from_key(key) {
            Some(w) => {
                let v = w.parse(value)?;
                match w {
                    Which::Memory => self.memory_mib = Some(v),
                    Which::Processes => self.processes = Some(v),
                    Which::Disk => self.disk_mib = Some(v),
                }
                Ok(())
            }
            None => Err((
                format!("unknown limit '{key}'"),
                "the limits are memory, processes and disk".into(),
            )),
        }
    }
}

/// One of the three limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Memory.
    Memory,
    /// Processes.
    Processes,
    /// Disk.
    Disk,
}

impl Which {
    /// The descriptor key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Processes => "processes",
            Self::Disk => "disk",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        [Self::Memory, Self::Processes, Self::Disk].into_iter().find(|w| w.key() == key)
    }

    /// Parses a value: a count for processes, a size for memory and disk (MiB).
    pub fn parse(self, value: &str) -> Result<u64, (String, String)> {
        let v = match self {
            Self::Processes => value.trim().parse::<u64>().map_err(|_| {
                (
                    format!("'{value}' is not a number of processes"),
                    "write a whole number, e.g. processes: 4096".to_string(),
                )
            })?,
            _ => parse_mib(value).ok_or_else(|| {
                (
                    format!("'{value}' is not a size"),
                    format!("write it in MiB or with a unit (K, M, G, T), e.g. {}: 8G", self.key()),
                )
            })?,
        };
        let min = self.of(MIN);
        if v < min {
            return Err((
                format!(
                    "'{value}' is less than the smallest {} limit, {}",
                    self.key(),
                    self.show(min)
                ),
                format!("give {} at least {}", self.key(), self.show(min)),
            ));
        }
        Ok(v)
    }

    /// This limit's value in `l`.
    pub fn of(self, l: Limits) -> u64 {
        match self {
            Self::Memory => l.memory_mib,
            Self::Processes => l.processes,
            Self::Disk => l.disk_mib,
        }
    }

    /// A value of this limit in words: `4096 MiB`, `4096 processes`.
    pub fn show(self, v: u64) -> String {
        match self {
            Self::Processes => format!("{v} processes"),
            _ if v >= 1024 && v.is_multiple_of(1024) => format!("{} GiB", v / 1024),
            _ => format!("{v} MiB"),
        }
    }

    /// The command-line option that sets it.
    pub fn option(self) -> &'static str {
        match self {
            Self::Memory => "--memory",
            Self::Processes => "--processes",
            Self::Disk => "--disk",
        }
    }
}

/// A size in MiB: a bare number is MiB (gbuild's `-m`), else a number with K, M, G or T
/// (optionally followed by `i`, `B` or `iB`; powers of 1024).
pub fn parse_mib(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit = unit.trim().trim_end_matches(['B', 'b']).trim_end_matches('i');
    let kib = match unit.to_ascii_uppercase().as_str() {
        "" | "M" => n.checked_mul(1024)?,
        "K" => n,
        "G" => n.checked_mul(1024 * 1024)?,
        "T" => n.checked_mul(1024 * 1024 * 1024)?,
        _ => return None,
    };
    Some(kib / 1024)
}

/// A limit the build ran into: which, its value, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitHit {
    /// Which limit.
    pub which: Which,
    /// Its value.
    pub value: u64,
    /// What was seen (`the out-of-memory killer ended a process`).
    pub detail: String,
    /// The host's file system ran short before the disk limit was reached (git-gitian keeps
    /// some of it free): raising the limit would not help.
    pub host_full: bool,
}

impl fmt::Display for LimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host_full {
            return write!(
                f,
                "the build was stopped before it filled its host's disk: {}",
                self.detail
            );
        }
        write!(
            f,
            "the build hit its {} limit ({}): {}",
            self.which.key(),
            self.which.show(self.value),
            self.detail
        )
    }
}

impl LimitHit {
    /// How to raise it (or, when the host ran short, how to make room).
    pub fn hint(&self) -> String {
        if self.host_full {
            return "free space on that file system, or build in a folder on another one \
                    (raising --disk would not help)"
                .into();
        }
        format!(
            "raise it with {} on the command line or 'limits: {{{}: ...}}' in the descriptor",
            self.which.option(),
            self.which.key()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_mib("2000"), Some(2000));
        assert_eq!(parse_mib("8G"), Some(8192));
        assert_eq!(parse_mib("8GiB"), Some(8192));
        assert_eq!(parse_mib("512m"), Some(512));
        assert_eq!(parse_mib("1T"), Some(1024 * 1024));
        assert_eq!(parse_mib("2048K"), Some(2));
        assert_eq!(parse_mib("8 G"), Some(8192));
        assert_eq!(parse_mib("G"), None);
        assert_eq!(parse_mib("8X"), None);
        assert_eq!(parse_mib("-1"), None);
    }

    #[test]
    fn spec_sets_checks_and_resolves() {
        let mut s = LimitSpec::default();
        s.set("memory", "8G").unwrap();
        s.set("processes", "100").unwrap();
        assert_eq!(s.set("disk", "lots").unwrap_err().0, "'lots' is not a size");
        assert_eq!(s.set("cpu", "2").unwrap_err().0, "unknown limit 'cpu'");
        assert_eq!(
            s.set("processes", "3").unwrap_err().0,
            "'3' is less than the smallest processes limit, 32 processes"
        );
        let cli = LimitSpec { processes: Some(64), ..Default::default() };
        let l = cli.or(s).resolve();
        assert_eq!(l, Limits { memory_mib: 8192, processes: 64, disk_mib: DEFAULT.disk_mib });
    }

    #[test]
    fn processes_are_a_whole_number_not_a_size() {
        let mut s = LimitSpec::default();
        let (message, hint) = s.set("processes", "4k").unwrap_err();
        assert_eq!(message, "'4k' is not a number of processes");
        assert_eq!(hint, "write a whole number, e.g. processes: 4096");
        s.set("processes", " 100 ").unwrap();
        assert_eq!(s.processes, Some(100));
        let (message, hint) = s.set("disk", "4x").unwrap_err();
        assert_eq!(message, "'4x' is not a size");
        assert_eq!(hint, "write it in MiB or with a unit (K, M, G, T), e.g. disk: 8G");
    }

    #[test]
    fn the_smallest_values_are_accepted_and_one_less_is_not() {
        for (which, min, below) in [
            (Which::Memory, "128", "127"),
            (Which::Processes, "32", "31"),
            (Which::Disk, "16M", "15"),
        ] {
            assert_eq!(which.parse(min), Ok(which.of(MIN)), "{min}");
            let (message, hint) = which.parse(below).unwrap_err();
            let smallest = which.show(which.of(MIN));
            assert_eq!(
                message,
                format!("'{below}' is less than the smallest {} limit, {smallest}", which.key())
            );
            assert_eq!(hint, format!("give {} at least {smallest}", which.key()));
        }
    }

    #[test]
    fn sizes_are_shown_in_gib_only_when_whole() {
        let shown: Vec<String> =
            [0, 16, 512, 1024, 1536, 2048, 40_960].map(|v| Which::Memory.show(v)).to_vec();
        assert_eq!(shown, ["0 MiB", "16 MiB", "512 MiB", "1 GiB", "1536 MiB", "2 GiB", "40 GiB"]);
        assert_eq!(Which::Disk.show(3072), "3 GiB");
        assert_eq!(Which::Processes.show(4096), "4096 processes");
    }

    #[test]
    fn hit_says_which_value_and_how_to_raise() {
        let h =
            LimitHit { which: Which::Memory, value: 4096, detail: "oom".into(), host_full: false };
        assert_eq!(h.to_string(), "the build hit its memory limit (4 GiB): oom");
        assert!(h.hint().contains("--memory") && h.hint().contains("limits: {memory: ...}"));
        let full = LimitHit { which: Which::Disk, host_full: true, ..h };
        assert!(full.hint().starts_with("free space on that file system"), "{}", full.hint());
        assert_eq!(full.to_string(), "the build was stopped before it filled its host's disk: oom");
    }

    #[test]
    fn defaults_are_4_gib_4096_processes_and_40_gib() {
        let d = Limits { memory_mib: 4096, processes: 4096, disk_mib: 40_960 };
        assert_eq!((DEFAULT, Limits::default()), (d, d));
    }
}
