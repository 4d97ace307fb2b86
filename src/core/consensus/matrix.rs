//! The backend matrix's comparison: the same descriptor built by several builders (backends),
//! and per output file whether their hashes agree, naming the builder(s) that differ, decided
//! by the crate's one vote-counting rule ([`super::tally::strict_winner`], one builder one
//! vote, a file a builder did not produce is a vote for "missing"), and the report's text.
//!
//! Generic over the builder's label so the rule stays pure; `ops::matrix` fixes it to
//! `guest::select::Backend`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use super::tally;
use crate::core::manifest::Manifest;

/// One builder's build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<L> {
    /// The builder.
    pub backend: L,
    /// What built it (backend, version, accelerator); empty if it failed early.
    pub guest: String,
    /// The out manifest, or why the build failed.
    pub outcome: Result<Manifest, String>,
}

/// The verdict on one output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<L> {
    /// Every successful builder produced it with the same hash.
    Agree,
    /// The hashes differ (or some builders did not produce the file). `odd` are the builders
    /// outside the largest group of agreeing builders; when no group is largest, all of them.
    Differ {
        /// The builders that differ from the majority.
        odd: Vec<L>,
        /// Whether a strict majority exists (else every builder is named).
        majority: bool,
    },
}

/// One output file across the builders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow<L> {
    /// Path under `build/out`.
    pub path: String,
    /// Hash per successful builder (`None`: that builder did not produce the file).
    pub hashes: Vec<(L, Option<String>)>,
    /// Agreement.
    pub verdict: Verdict<L>,
}

/// The matrix result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<L> {
    /// Every builder's run, in build order.
    pub runs: Vec<Run<L>>,
    /// Every output file of any successful run, sorted bytewise by path.
    pub files: Vec<FileRow<L>>,
}

/// The verdict on one file from each builder's hash (`None`: not produced).
fn verdict_of<L: Copy + Eq>(hashes: &[(L, Option<String>)]) -> Verdict<L> {
    let mut groups: BTreeMap<Option<&str>, Vec<L>> = BTreeMap::new();
    for (b, h) in hashes {
        groups.entry(h.as_deref()).or_default().push(*b);
    }
    if groups.len() == 1 && !groups.contains_key(&None) {
        return Verdict::Agree;
    }
    match tally::strict_winner(groups.values().map(|g| (g, g.len()))) {
        Some(keep) => Verdict::Differ {
            odd: hashes.iter().map(|(b, _)| *b).filter(|b| !keep.contains(b)).collect(),
            majority: true,
        },
        None => Verdict::Differ { odd: hashes.iter().map(|(b, _)| *b).collect(), majority: false },
    }
}

impl<L: Copy + Eq + Display> Report<L> {
    /// Compares the out manifests of the successful runs.
    pub fn compare(runs: Vec<Run<L>>) -> Self {
        let ok: Vec<(L, &Manifest)> =
            runs.iter().filter_map(|r| r.outcome.as_ref().ok().map(|m| (r.backend, m))).collect();
        let paths: BTreeSet<&str> =
            ok.iter().flat_map(|(_, m)| m.entries.iter().map(|e| e.path.as_str())).collect();
        let mut files: Vec<FileRow<L>> = paths
            .into_iter()
            .map(|path| {
                let hashes: Vec<(L, Option<String>)> =
                    ok.iter().map(|(b, m)| (*b, m.get(path).map(str::to_string))).collect();
                FileRow { path: path.to_string(), verdict: verdict_of(&hashes), hashes }
            })
            .collect();
        files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        Self { runs, files }
    }

    /// Whether every builder built and every file agrees.
    pub fn all_agree(&self) -> bool {
        self.runs.iter().all(|r| r.outcome.is_ok())
            && self.files.iter().all(|f| f.verdict == Verdict::Agree)
    }

    /// The report as text: one line per builder (what built it), then one per output file.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let bw = self.runs.iter().map(|r| r.backend.to_string().len()).max().unwrap_or(0);
        for r in &self.runs {
            let what = match &r.outcome {
                Ok(m) => format!("{} ({})", r.guest, count(m.entries.len(), "file")),
                Err(e) => format!("FAILED: {e}"),
            };
            s.push_str(&format!("{:bw$}  {what}\n", r.backend.to_string()));
        }
        let pw = self.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
        for f in &self.files {
            s.push_str(&format!("{:pw$}  {}\n", f.path, file_line(f)));
        }
        s
    }
}

/// `1 file`, `2 files`.
fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The text after the path on one file's line.
fn file_line<L: Display>(f: &FileRow<L>) -> String {
    let n = f.hashes.len();
    let (odd, majority) = match &f.verdict {
        Verdict::Agree => {
            let hash = f.hashes[0].1.as_deref().unwrap_or("");
            return format!("agree ({}) {hash}", count(n, "backend"));
        }
        Verdict::Differ { odd, majority } => (odd, *majority),
    };
    let detail: Vec<String> = f
        .hashes
        .iter()
        .map(|(b, h)| format!("{b}={}", h.as_deref().map_or("missing", |h| &h[..h.len().min(12)])))
        .collect();
    if majority {
        let names: Vec<String> = odd.iter().map(ToString::to_string).collect();
        format!("DIFFERS on {} ({})", names.join(", "), detail.join(" "))
    } else {
        format!("DIFFERS, no majority ({})", detail.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(backend: &'static str, m: Result<&str, &str>) -> Run<&'static str> {
        let outcome = m.map(Manifest::parse).map_err(str::to_string);
        Run { backend, guest: "bookworm".into(), outcome }
    }

    #[test]
    fn all_agree_needs_every_build_and_every_file() {
        let same = Report::compare(vec![run("lxc", Ok("h  f\n")), run("kvm", Ok("h  f\n"))]);
        assert!(same.all_agree());
        let differ = Report::compare(vec![run("lxc", Ok("h  f\n")), run("kvm", Ok("x  f\n"))]);
        assert!(!differ.all_agree());
        let failed = Report::compare(vec![run("lxc", Ok("h  f\n")), run("kvm", Err("boom"))]);
        assert!(!failed.all_agree());
    }

    #[test]
    fn the_report_names_who_differs_and_what_each_built() {
        let long = "0123456789abcdef".repeat(4);
        let lxc = format!("{long}  a\nb1  b\nc1  c\nd1  d\n");
        let kvm = format!("{long}  a\nb2  b\nc1  c\nd2  d\n");
        let docker = format!("{long}  a\nb2  b\nd3  d\n");
        let r = Report::compare(vec![
            run("lxc", Ok(&lxc)),
            run("kvm", Ok(&kvm)),
            run("qemu", Err("the guest did not boot")),
            run("docker", Ok(&docker)),
        ]);
        assert_eq!(
            r.render(),
            format!(
                "lxc     bookworm (4 files)\n\
                 kvm     bookworm (4 files)\n\
                 qemu    FAILED: the guest did not boot\n\
                 docker  bookworm (3 files)\n\
                 a  agree (3 backends) {long}\n\
                 b  DIFFERS on lxc (lxc=b1 kvm=b2 docker=b2)\n\
                 c  DIFFERS on docker (lxc=c1 kvm=c1 docker=missing)\n\
                 d  DIFFERS, no majority (lxc=d1 kvm=d2 docker=d3)\n"
            )
        );
        let only = Report::compare(vec![run("lxc", Ok("h  f\n"))]);
        assert_eq!(only.render(), "lxc  bookworm (1 file)\nf  agree (1 backend) h\n");
        assert_eq!(
            r.files[1].verdict,
            Verdict::Differ { odd: vec!["lxc"], majority: true },
            "only the builder outside the largest group is odd"
        );
    }
}
