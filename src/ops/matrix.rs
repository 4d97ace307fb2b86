//! The backend matrix (`git gitian build --backend all|a,b`): the same descriptor built on
//! several backends, and per output file whether the hashes agree, naming the backend(s) that
//! differ. Building is the caller's closure (one `ops::build` per backend); this module only
//! runs it per backend and compares the out manifests.
//!
//! Which backend and accelerator built each result is kept in the report (`Run::guest`), never
//! in the compared manifests.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::manifest::Manifest;
use crate::guest::select::Backend;

/// One backend's build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The backend.
    pub backend: Backend,
    /// What built it (`Guest::describe`: backend, version, accelerator); empty if it failed early.
    pub guest: String,
    /// The out manifest, or why the build failed.
    pub outcome: Result<Manifest, String>,
}

/// The verdict on one output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every successful backend produced it with the same hash.
    Agree,
    /// The hashes differ (or some backends did not produce the file). `odd` are the backends
    /// outside the largest group of agreeing backends; when no group is largest, all of them.
    Differ {
        /// The backends that differ from the majority.
        odd: Vec<Backend>,
        /// Whether a strict majority exists (else every backend is named).
        majority: bool,
    },
}

/// One output file across the backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// Path under `build/out`.
    pub path: String,
    /// Hash per successful backend (`None`: that backend did not produce the file).
    pub hashes: Vec<(Backend, Option<String>)>,
    /// Agreement.
    pub verdict: Verdict,
}

/// The matrix result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every backend's run, in build order.
    pub runs: Vec<Run>,
    /// Every output file of any successful run, sorted bytewise by path.
    pub files: Vec<FileRow>,
}

impl Report {
    /// Compares the out manifests of the successful runs.
    pub fn compare(runs: Vec<Run>) -> Self {
        let ok: Vec<(Backend, &Manifest)> =
            runs.iter().filter_map(|r| r.outcome.as_ref().ok().map(|m| (r.backend, m))).collect();
        let paths: BTreeSet<&str> =
            ok.iter().flat_map(|(_, m)| m.entries.iter().map(|e| e.path.as_str())).collect();
        let mut files = Vec::new();
        for path in paths {
            let hashes: Vec<(Backend, Option<String>)> =
                ok.iter().map(|(b, m)| (*b, m.get(path).map(str::to_string))).collect();
            let mut groups: BTreeMap<Option<&str>, Vec<Backend>> = BTreeMap::new();
            for (b, h) in &hashes {
                groups.entry(h.as_deref()).or_default().push(*b);
            }
            let verdict = if groups.len() == 1 && !groups.contains_key(&None) {
                Verdict::Agree
            } else {
                let max = groups.values().map(Vec::len).max().unwrap_or(0);
                let largest: Vec<&Vec<Backend>> =
                    groups.values().filter(|g| g.len() == max).collect();
                if largest.len() == 1 && max > 1 {
                    let keep = largest[0].clone();
                    let odd =
                        hashes.iter().map(|(b, _)| *b).filter(|b| !keep.contains(b)).collect();
                    Verdict::Differ { odd, majority: true }
                } else {
                    Verdict::Differ {
                        odd: hashes.iter().map(|(b, _)| *b).collect(),
                        majority: false,
                    }
                }
            };
            files.push(FileRow { path: path.to_string(), hashes, verdict });
        }
        files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        Self { runs, files }
    }

    /// Whether every backend built and every file agrees.
    pub fn all_agree(&self) -> bool {
        self.runs.iter().all(|r| r.outcome.is_ok())
            && self.files.iter().all(|f| f.verdict == Verdict::Agree)
    }

    /// The report as text: one line per backend (what built it), then one per output file.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let bw = self.runs.iter().map(|r| r.backend.name().len()).max().unwrap_or(0);
        for r in &self.runs {
            let what = match &r.outcome {
                Ok(m) => format!("{} ({} files)", r.guest, m.entries.len()),
                Err(e) => format!("FAILED: {e}"),
            };
            s.push_str(&format!("{:bw$}  {what}\n", r.backend.name()));
        }
        let pw = self.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
        for f in &self.files {
            let n = f.hashes.len();
            let line = match &f.verdict {
                Verdict::Agree => {
                    format!("agree ({n} backends) {}", f.hashes[0].1.as_deref().unwrap_or(""))
                }
                Verdict::Differ { odd, majority } => {
                    let detail: Vec<String> = f
                        .hashes
                        .iter()
                        .map(|(b, h)| {
                            format!(
                                "{b}={}",
                                h.as_deref().map_or("missing", |h| &h[..h.len().min(12)])
                            )
                        })
                        .collect();
                    let names: Vec<&str> = odd.iter().map(|b| b.name()).collect();
                    if *majority {
                        format!("DIFFERS on {} ({})", names.join(", "), detail.join(" "))
                    } else {
                        format!("DIFFERS, no majority ({})", detail.join(" "))
                    }
                }
            };
            s.push_str(&format!("{:pw$}  {line}\n", f.path));
        }
        s
    }
}

/// Builds on every backend in turn with `build` (which returns the guest's description and the
/// out manifest) and compares. A failing backend is recorded, not fatal.
pub fn run<F>(backends: &[Backend], mut build: F) -> Report
where
    F: FnMut(Backend) -> Result<(String, Manifest), String>,
{
    let runs = backends
        .iter()
        .map(|&backend| match build(backend) {
            Ok((guest, m)) => Run { backend, guest, outcome: Ok(m) },
            Err(e) => Run { backend, guest: String::new(), outcome: Err(e) },
        })
        .collect();
    Report::compare(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn m(lines: &[(&str, &str)]) -> Manifest {
        Manifest::parse(&lines.iter().map(|(h, p)| format!("{h}  {p}\n")).collect::<String>())
    }

    #[test]
    fn all_agree() {
        let r = run(&[Backend::Lxc, Backend::Sandbox], |b| {
            Ok((b.name().into(), m(&[(A, "x.tar.gz")])))
        });
        assert!(r.all_agree());
        assert_eq!(r.files[0].verdict, Verdict::Agree);
        assert_eq!(
            r.render(),
            format!(
                "lxc      lxc (1 files)\nsandbox  sandbox (1 files)\nx.tar.gz  agree (2 backends) {A}\n"
            )
        );
    }

    #[test]
    fn names_the_backend_that_differs() {
        let r = run(&[Backend::Kvm, Backend::Lxc, Backend::Docker], |b| {
            let h = if b == Backend::Docker { B } else { A };
            Ok((b.name().into(), m(&[(A, "same"), (h, "x.tar.gz")])))
        });
        assert!(!r.all_agree());
        let row = r.files.iter().find(|f| f.path == "x.tar.gz").unwrap();
        assert_eq!(row.verdict, Verdict::Differ { odd: vec![Backend::Docker], majority: true });
        assert!(r.render().contains(
            "x.tar.gz  DIFFERS on docker (kvm=aaaaaaaaaaaa lxc=aaaaaaaaaaaa docker=bbbbbbbbbbbb)"
        ));
        assert_eq!(r.files.iter().find(|f| f.path == "same").unwrap().verdict, Verdict::Agree);
    }

    #[test]
    fn two_way_split_has_no_majority_and_missing_files_differ() {
        let r = run(&[Backend::Lxc, Backend::Sandbox], |b| {
            if b == Backend::Lxc {
                Ok(("l".into(), m(&[(A, "x"), (A, "only-lxc")])))
            } else {
                Ok(("s".into(), m(&[(B, "x")])))
            }
        });
        let x = r.files.iter().find(|f| f.path == "x").unwrap();
        assert_eq!(
            x.verdict,
            Verdict::Differ { odd: vec![Backend::Lxc, Backend::Sandbox], majority: false }
        );
        let only = r.files.iter().find(|f| f.path == "only-lxc").unwrap();
        assert!(matches!(only.verdict, Verdict::Differ { majority: false, .. }));
        assert!(
            r.render()
                .contains("only-lxc  DIFFERS, no majority (lxc=aaaaaaaaaaaa sandbox=missing)")
        );
    }

    #[test]
    fn a_failed_backend_is_reported_and_not_compared() {
        let r = run(&[Backend::Lxc, Backend::Docker], |b| {
            if b == Backend::Docker {
                Err("no daemon".into())
            } else {
                Ok(("lxc 5".into(), m(&[(A, "x")])))
            }
        });
        assert!(!r.all_agree());
        assert_eq!(r.files[0].verdict, Verdict::Agree);
        assert!(r.render().contains("docker  FAILED: no daemon\n"));
    }
}
