//! `check`: a descriptor built several times in one prepared guest, first as the control
//! (twice), then with every selected variation at once, then with the sets the culprit search
//! asks for (`core::check::search`), and the outputs compared by their sha256 manifests.
//!
//! The guest is created and its packages installed once per check; before each build the
//! home is put back as the base image had it and the inputs copied in again (see
//! `core::check::script`). Each build's outputs, log and manifest are kept in
//! `var/check/<build-name>/`, the install and preparation logs in `var/check/`.

mod session;

use std::fs;
use std::path::{Path, PathBuf};

use crate::core::check::report::{self, FileDiff, Report, Row, Status, Verdict};
use crate::core::check::search::{self, Culprit, Found};
use crate::core::check::{Set, Variation, values};
use crate::core::descriptor::Descriptor;
use crate::guest::Guest;
use crate::ops::build::{BuildError, BuildOptions, Progress};
use crate::ops::fetch::{self, RemoteSpec};
pub use session::Session;

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The build's options (descriptor, remotes, `-j`, memory, base images).
    pub build: BuildOptions,
    /// The variations asked for.
    pub variations: Set,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_path_buf();
    move |source| BuildError::Io { what, path, source }
}

/// The descriptor, checked for what a check can do, with its base image folder.
fn read_descriptor(opts: &BuildOptions) -> Result<(Descriptor, Vec<u8>, PathBuf), BuildError> {
    let text = fs::read(&opts.descriptor).map_err(io("cannot read", &opts.descriptor))?;
    let desc = Descriptor::parse_bytes(&opts.descriptor.to_string_lossy(), &text)?;
    if desc.suites.len() != 1 || desc.architectures.len() != 1 {
        return Err(BuildError::Other(format!(
            "{}: check builds one suite and one architecture; this descriptor has {} suite(s) and {} architecture(s) (copy it with one of each to check it)",
            opts.descriptor.display(),
            desc.suites.len(),
            desc.architectures.len()
        )));
    }
    let (suite, arch) = (&desc.suites[0], &desc.architectures[0]);
    let dir = crate::ops::build::base_image(opts, &desc.distro, suite, arch)?;
    Ok((desc, text, dir))
}

/// Fetches the remotes as `build` does; returns the reference date and time.
fn prepare_remotes(
    workdir: &Path,
    opts: &BuildOptions,
    desc: &Descriptor,
    progress: &mut dyn Progress,
) -> Result<String, BuildError> {
    let mut author_date = None;
    for r in &desc.remotes {
        let pick = |pairs: &[(String, String)]| {
            pairs.iter().find(|(d, _)| *d == r.dir).map(|(_, v)| v.clone())
        };
        let commit = r.commit.clone().or_else(|| pick(&opts.commits)).ok_or_else(|| {
            BuildError::Other(format!("must specify a commit for directory {}", r.dir))
        })?;
        let url = pick(&opts.urls).or_else(|| r.url.clone()).ok_or_else(|| {
            BuildError::Other(format!("must specify a url for directory {}", r.dir))
        })?;
        progress.info(&format!("Preparing remote {} at {commit}", r.dir));
        let got = fetch::prepare(
            &workdir.join("inputs"),
            &crate::config::remotes_dir(),
            &RemoteSpec { dir: r.dir.clone(), url, commit },
            opts.fetch,
        )?;
        author_date = Some(got.author_date);
    }
    for f in &desc.files {
        let path = workdir.join("inputs").join(f);
        if !path.is_file() {
            return Err(BuildError::Other(format!("input file {} is missing", path.display())));
        }
    }
    desc.reference_datetime
        .clone()
        .or(author_date)
        .ok_or_else(|| BuildError::Other("must supply `reference_datetime` or `remotes`".into()))
}

/// Runs the check of `opts.build.descriptor` in `workdir` with `guest`. The caller holds the
/// build lock.
pub fn check(
    workdir: &Path,
    opts: &CheckOptions,
    guest: &mut dyn Guest,
    progress: &mut dyn Progress,
) -> Result<Report, BuildError> {
    let (desc, _, base_dir) = read_descriptor(&opts.build)?;
    let reference = prepare_remotes(workdir, &opts.build, &desc, progress)?;
    let out_root = workdir.join("var/check");
    if out_root.exists() {
        fs::remove_dir_all(&out_root).map_err(io("cannot remove", &out_root))?;
    }
    fs::create_dir_all(&out_root).map_err(io("cannot create", &out_root))?;
    let mut s =
        Session::start(workdir, &opts.build, &desc, &base_dir, &reference, guest, progress)?;
    let tested = opts.variations.minus(&Set::of(s.cannot.iter().map(|(v, _)| *v)));
    for (v, why) in &s.cannot {
        if opts.variations.has(*v) {
            s.progress.warn(&format!("{v} cannot vary on {}: {why}", s.backend));
        }
    }
    let (verdict, culprits, compared_with, differing) = run_builds(&mut s, &tested)?;
    let rows = Variation::ALL
        .into_iter()
        .map(|v| {
            let (control, experiment) = values(v, &s.facts);
            let status = if !opts.variations.has(v) {
                Status::NotSelected
            } else if let Some((_, why)) = s.cannot.iter().find(|(c, _)| *c == v) {
                Status::NotTested(why.clone())
            } else if verdict == Verdict::Flaky {
                Status::Undecided
            } else if culprits.iter().any(|c: &Culprit| c.set.has(v)) {
                Status::Culprit
            } else {
                Status::Ok
            };
            Row { variation: v, control, experiment, status }
        })
        .collect();
    let report = Report {
        descriptor: desc.name.clone(),
        backend: s.backend.clone(),
        verdict,
        rows,
        culprits,
        differing,
        compared_with,
        builds: s.records.clone(),
        outputs: "var/check".into(),
    };
    let json = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
    let path = out_root.join("report.json");
    fs::write(&path, json + "\n").map_err(io("cannot write", &path))?;
    Ok(report)
}

type Outcome = (Verdict, Vec<Culprit>, String, Vec<FileDiff>);

/// Control twice, the all-at-once experiment, then the search.
fn run_builds(s: &mut Session<'_>, tested: &Set) -> Result<Outcome, BuildError> {
    let c1 = s.build("control-1", &Set::empty())?;
    s.control = Some(c1.clone());
    let c2 = s.build("control-2", &Set::empty())?;
    let flaky = report::file_diffs(&c1, &c2);
    if !flaky.is_empty() {
        return Ok((Verdict::Flaky, vec![], "control-2".into(), flaky));
    }
    if tested.is_empty() {
        return Ok((Verdict::Reproducible, vec![], "control-2".into(), vec![]));
    }
    let name = s.next_name("experiment");
    let e1 = s.build(&name, tested)?;
    let diffs = report::file_diffs(&c1, &e1);
    if diffs.is_empty() {
        return Ok((Verdict::Reproducible, vec![], name, vec![]));
    }
    let full: Vec<String> = diffs.iter().map(|d| d.path.clone()).collect();
    let found = search::find_culprits(tested, full, s)?;
    match found.found {
        Found::Flaky(_) => {
            let again = s.last_control.clone().unwrap_or_default();
            let last = s.records.iter().rev().find(|r| r.set.is_empty()).map(|r| r.name.clone());
            Ok((Verdict::Flaky, vec![], last.unwrap_or_default(), report::file_diffs(&c1, &again)))
        }
        Found::Culprits(c) => Ok((Verdict::NotReproducible, c, name, diffs)),
    }
}
