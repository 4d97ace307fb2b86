//! `git gitian check`: which variations of the build environment a descriptor's outputs depend
//! on. Pure parts: the variations and their control and experiment values ([`Variation`],
//! [`values`]), the `--variations` syntax ([`parse_spec`]), the culprit search ([`search`]),
//! what the guest runs for one build ([`script`]) and the report ([`report`]).
//!
//! The variations are tried in one fixed order, [`Variation::ALL`]'s (the order the issue lists
//! them in), so that two checks of the same descriptor run the same builds.

pub mod report;
pub mod script;
pub mod search;

use std::fmt;

/// One thing about the build environment that a check varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variation {
    /// The wall clock (moved forward, still running).
    Clock,
    /// `TZ`.
    Timezone,
    /// `LANG`, `LC_ALL`, `LANGUAGE`.
    Locale,
    /// The umask the script runs under.
    Umask,
    /// Host name and domain name.
    Hostname,
    /// The directory the script builds in.
    BuildPath,
    /// The order directory entries are read in.
    FileOrdering,
    /// CPUs visible and the `-j` given to the script.
    NumCpus,
    /// The kernel version `uname` reports.
    Kernel,
    /// The build user's name and ids.
    User,
    /// `HOME`.
    Home,
    /// What `/bin/sh` is.
    Shell,
    /// One extra environment variable.
    Environment,
    /// A directory added at the end of `PATH`.
    ExecPath,
}

impl Variation {
    /// Every variation, in the order checks try them.
    pub const ALL: [Variation; 14] = [
        Variation::Clock,
        Variation::Timezone,
        Variation::Locale,
        Variation::Umask,
        Variation::Hostname,
        Variation::BuildPath,
        Variation::FileOrdering,
        Variation::NumCpus,
        Variation::Kernel,
        Variation::User,
        Variation::Home,
        Variation::Shell,
        Variation::Environment,
        Variation::ExecPath,
    ];

    /// The name used on the command line, in reports and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Variation::Clock => "clock",
            Variation::Timezone => "timezone",
            Variation::Locale => "locale",
            Variation::Umask => "umask",
            Variation::Hostname => "hostname",
            Variation::BuildPath => "build_path",
            Variation::FileOrdering => "fileordering",
            Variation::NumCpus => "num_cpus",
            Variation::Kernel => "kernel",
            Variation::User => "user",
            Variation::Home => "home",
            Variation::Shell => "shell",
            Variation::Environment => "environment",
            Variation::ExecPath => "exec_path",
        }
    }

    /// The variation called `name` (also with `-` for `_`).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.replace('-', "_");
        Self::ALL.into_iter().find(|v| v.name() == n)
    }
}

impl fmt::Display for Variation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of variations, kept in [`Variation::ALL`]'s order without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Set(Vec<Variation>);

impl Set {
    /// No variation: the control.
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// Every variation.
    pub fn all() -> Self {
        Self(Variation::ALL.to_vec())
    }

    /// The set of `items`, ordered.
    pub fn of(items: impl IntoIterator<Item = Variation>) -> Self {
        let mut v: Vec<Variation> = items.into_iter().collect();
        v.sort();
        v.dedup();
        Self(v)
    }

    /// The variations, in order.
    pub fn items(&self) -> &[Variation] {
        &self.0
    }

    /// Whether `v` is in the set.
    pub fn has(&self, v: Variation) -> bool {
        self.0.contains(&v)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is the control.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This set without the members of `other`.
    pub fn minus(&self, other: &Set) -> Set {
        Set(self.0.iter().copied().filter(|v| !other.has(*v)).collect())
    }

    /// Whether every member of `self` is in `other`.
    pub fn is_subset(&self, other: &Set) -> bool {
        self.0.iter().all(|v| other.has(*v))
    }

    /// `timezone + locale`, or `none`.
    pub fn label(&self) -> String {
        if self.0.is_empty() {
            return "none".into();
        }
        self.0.iter().map(|v| v.name()).collect::<Vec<_>>().join(" + ")
    }
}

/// reprotest's names for what this tool calls otherwise, for the error message.
fn reprotest_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "time" | "faketime" => "clock",
        "locales" => "locale",
        "domain_host" | "domain-host" => "hostname",
        "user_group" | "user-group" => "user",
        _ => return None,
    })
}

/// A `--variations` value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--variations: {message}")]
pub struct SpecError {
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub hint: String,
}

/// Reads `--variations`: a comma list of `NAME`, `+NAME`, `-NAME`, `all`, `+all`, `-all`,
/// applied left to right. The start is the empty set, except when the first item removes a
/// variation (`-kernel`): then it is every variation, so that a lone `-x` means "all but x",
/// never "nothing" (reprotest's trap).
pub fn parse_spec(spec: &str) -> Result<Set, SpecError> {
    let items: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let names = || Variation::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
    if items.is_empty() {
        return Err(SpecError {
            message: "no variation given".into(),
            hint: format!("give a comma list such as +all,-kernel; the names: {}", names()),
        });
    }
    let starts_with_removal = items[0].starts_with('-') && items[0] != "-all";
    let mut set: Vec<Variation> =
        if starts_with_removal { Variation::ALL.to_vec() } else { Vec::new() };
    for item in &items {
        let (add, name) = match item.as_bytes()[0] {
            b'+' => (true, &item[1..]),
            b'-' => (false, &item[1..]),
            _ => (true, *item),
        };
        let targets: Vec<Variation> = if name == "all" {
            Variation::ALL.to_vec()
        } else if let Some(v) = Variation::from_name(name) {
            vec![v]
        } else {
            let hint = match reprotest_name(name) {
                Some(ours) => format!("reprotest's '{name}' is '{ours}' here"),
                None => format!("the variations: all, {}", names()),
            };
            return Err(SpecError { message: format!("unknown variation '{name}'"), hint });
        };
        if add {
            set.extend(targets);
        } else {
            set.retain(|v| !targets.contains(v));
        }
    }
    let set = Set::of(set);
    if set.is_empty() {
        return Err(SpecError {
            message: format!("'{spec}' selects no variation"),
            hint: "a check needs at least one variation; +all,-kernel varies all but kernel".into(),
        });
    }
    Ok(set)
}

/// What the check knows of the guest when it describes the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The build user (`debian`), its ids and home.
    pub user: String,
    /// uid of the build user.
    pub uid: u32,
    /// gid of the build user.
    pub gid: u32,
    /// Its home.
    pub home: String,
    /// CPUs the guest shows.
    pub cpus: u32,
    /// `-j`.
    pub num_make: u32,
    /// PATH of the build user.
    pub path: String,
}

/// The host name of an experiment.
pub const EXPERIMENT_HOSTNAME: &str = "gitian-check-host";
/// The domain name of an experiment.
pub const EXPERIMENT_DOMAIN: &str = "gitian-check-domain";
/// The user of an experiment: name, uid = gid.
pub const EXPERIMENT_USER: (&str, u32) = ("gitian-check", 2222);
/// `HOME` of an experiment.
pub const EXPERIMENT_HOME: &str = "/tmp/gitian-check-home";
/// The clock of an experiment runs this many days ahead.
pub const CLOCK_DAYS: i64 = 398;
/// `TZ` of an experiment (14 hours east of UTC; no time zone file needed).
pub const EXPERIMENT_TZ: &str = "GMT-14";
/// The locale of an experiment (generated in the guest by the check).
pub const EXPERIMENT_LOCALE: &str = "et_EE.UTF-8";
/// `LANGUAGE` of an experiment.
pub const EXPERIMENT_LANGUAGE: &str = "et_EE:fr";
/// The extra variable of an experiment.
pub const EXPERIMENT_VARIABLE: (&str, &str) = ("GITIAN_CHECK_EXTRA", "varied");
/// What an experiment adds to PATH.
pub const EXPERIMENT_PATH_SUFFIX: &str = "/usr/local/gitian-check/bin";
/// Where an experiment builds, under the home.
pub const EXPERIMENT_BUILD_DIR: &str = "varied-build-path/build";

/// `-j` of an experiment with `num_cpus`.
pub fn experiment_jobs(num_make: u32) -> u32 {
    if num_make == 1 { 2 } else { 1 }
}

/// The control and experiment values of `v`, in words, for the report.
pub fn values(v: Variation, f: &Facts) -> (String, String) {
    let (c, e): (String, String) = match v {
        Variation::Clock => {
            ("the real clock".into(), format!("+{CLOCK_DAYS} days, running (LD_PRELOAD shim)"))
        }
        Variation::Timezone => ("TZ unset (UTC)".into(), format!("TZ={EXPERIMENT_TZ}")),
        Variation::Locale => (
            "LANG=LC_ALL=en_US.UTF-8, LANGUAGE unset".into(),
            format!("LANG=LC_ALL={EXPERIMENT_LOCALE}, LANGUAGE={EXPERIMENT_LANGUAGE}"),
        ),
        Variation::Umask => ("0002".into(), "0022".into()),
        Variation::Hostname => (
            format!("{} (domain (none))", crate::core::check::script::CONTROL_HOSTNAME),
            format!("{EXPERIMENT_HOSTNAME} (domain {EXPERIMENT_DOMAIN})"),
        ),
        Variation::BuildPath => {
            (format!("{}/build", f.home), format!("{}/{EXPERIMENT_BUILD_DIR}", f.home))
        }
        Variation::FileOrdering => {
            ("the file system's order".into(), "reversed (LD_PRELOAD shim)".into())
        }
        Variation::NumCpus => (
            format!("{} CPUs, -j{}", f.cpus, f.num_make),
            format!("1 CPU, -j{}", experiment_jobs(f.num_make)),
        ),
        Variation::Kernel => ("the guest's uname -r".into(), "2.6.x (setarch --uname-2.6)".into()),
        Variation::User => (
            format!("{} ({}:{})", f.user, f.uid, f.gid),
            format!("{0} ({1}:{1})", EXPERIMENT_USER.0, EXPERIMENT_USER.1),
        ),
        Variation::Home => (f.home.clone(), EXPERIMENT_HOME.into()),
        Variation::Shell => ("/bin/sh -> dash".into(), "/bin/sh -> bash".into()),
        Variation::Environment => {
            ("nothing extra".into(), format!("{}={}", EXPERIMENT_VARIABLE.0, EXPERIMENT_VARIABLE.1))
        }
        Variation::ExecPath => (f.path.clone(), format!("{}:{EXPERIMENT_PATH_SUFFIX}", f.path)),
    };
    (c, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Set) -> Vec<&'static str> {
        s.items().iter().map(|v| v.name()).collect()
    }

    #[test]
    fn spec_syntax() {
        assert_eq!(parse_spec("+all").unwrap(), Set::all());
        assert_eq!(parse_spec("all").unwrap(), Set::all());
        let s = parse_spec("+all,-kernel").unwrap();
        assert_eq!(s.len(), 13);
        assert!(!s.has(Variation::Kernel));
        assert_eq!(names(&parse_spec("locale,timezone").unwrap()), ["timezone", "locale"]);
        assert_eq!(names(&parse_spec("-all,+umask").unwrap()), ["umask"]);
        assert_eq!(names(&parse_spec("build-path").unwrap()), ["build_path"]);
    }

    #[test]
    fn a_bare_removal_means_all_but_it() {
        let s = parse_spec("-timezone").unwrap();
        assert_eq!(s.len(), 13);
        assert!(!s.has(Variation::Timezone));
        let s = parse_spec("-kernel,-user").unwrap();
        assert_eq!(s, Set::all().minus(&Set::of([Variation::Kernel, Variation::User])));
    }

    #[test]
    fn bad_specs_say_why() {
        let e = parse_spec("-all").unwrap_err();
        assert!(e.message.contains("selects no variation"), "{e:?}");
        let e = parse_spec("time").unwrap_err();
        assert_eq!(e.message, "unknown variation 'time'");
        assert_eq!(e.hint, "reprotest's 'time' is 'clock' here");
        let e = parse_spec("bogus").unwrap_err();
        assert!(e.hint.contains("clock, timezone, locale"), "{e:?}");
        assert!(parse_spec(" , ").is_err());
    }

    #[test]
    fn every_variation_has_a_name_and_values() {
        let f = Facts {
            user: "debian".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/debian".into(),
            cpus: 2,
            num_make: 2,
            path: "/usr/bin:/bin".into(),
        };
        for v in Variation::ALL {
            assert_eq!(Variation::from_name(v.name()), Some(v));
            let (c, e) = values(v, &f);
            assert_ne!(c, e, "{v}");
        }
        assert_eq!(Set::of([Variation::Locale, Variation::Clock]).label(), "clock + locale");
        assert_eq!(Set::empty().label(), "none");
    }

    #[test]
    fn a_variation_displays_as_its_command_line_name() {
        let shown: Vec<String> = Variation::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown.join(","),
            "clock,timezone,locale,umask,hostname,build_path,fileordering,num_cpus,kernel,user,\
             home,shell,environment,exec_path"
        );
    }

    #[test]
    fn values_say_what_the_control_and_the_experiment_have() {
        let f = Facts {
            user: "debian".into(),
            uid: 1000,
            gid: 1001,
            home: "/home/debian".into(),
            cpus: 4,
            num_make: 1,
            path: "/usr/bin:/bin".into(),
        };
        let v = |x| values(x, &f);
        let pair = |c: &str, e: &str| (c.to_string(), e.to_string());
        assert_eq!(v(Variation::Umask), pair("0002", "0022"));
        assert_eq!(v(Variation::Timezone), pair("TZ unset (UTC)", "TZ=GMT-14"));
        assert_eq!(
            v(Variation::Hostname),
            pair("gitian (domain (none))", "gitian-check-host (domain gitian-check-domain)")
        );
        assert_eq!(
            v(Variation::BuildPath),
            pair("/home/debian/build", "/home/debian/varied-build-path/build")
        );
        assert_eq!(v(Variation::NumCpus), pair("4 CPUs, -j1", "1 CPU, -j2"));
        assert_eq!(v(Variation::User), pair("debian (1000:1001)", "gitian-check (2222:2222)"));
        assert_eq!(v(Variation::Home), pair("/home/debian", "/tmp/gitian-check-home"));
        assert_eq!(
            v(Variation::ExecPath),
            pair("/usr/bin:/bin", "/usr/bin:/bin:/usr/local/gitian-check/bin")
        );
        assert_eq!(v(Variation::Environment), pair("nothing extra", "GITIAN_CHECK_EXTRA=varied"));
        assert_eq!(
            v(Variation::Clock),
            pair("the real clock", "+398 days, running (LD_PRELOAD shim)")
        );
    }

    #[test]
    fn experiment_varies_the_job_count() {
        assert_eq!(experiment_jobs(1), 2);
        assert_eq!(experiment_jobs(2), 1);
        assert_eq!(experiment_jobs(8), 1);
    }

    #[test]
    fn every_reprotest_name_has_its_hint() {
        let cases = [
            ("time", "clock"),
            ("faketime", "clock"),
            ("locales", "locale"),
            ("domain_host", "hostname"),
            ("domain-host", "hostname"),
            ("user_group", "user"),
            ("user-group", "user"),
        ];
        for (theirs, ours) in cases {
            let e = parse_spec(&format!("+{theirs}")).unwrap_err();
            assert_eq!(e.hint, format!("reprotest's '{theirs}' is '{ours}' here"));
        }
        assert_eq!(reprotest_name("fileordering"), None);
    }
}
