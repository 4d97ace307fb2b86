//! The check's report: a table like reprotest's (variation, control value, experiment value,
//! verdict), the culprits, the differing files with both hashes, the builds made; and the same
//! as JSON (schema `git-gitian/check/v1`, documented in docs/check.md).

use serde_json::{Value, json};

use super::search::Culprit;
use super::{Set, Variation};
use crate::core::manifest::Manifest;

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The outputs did not change under any tested variation.
    Reproducible,
    /// Some variations change them (the culprits).
    NotReproducible,
    /// They change without any variation.
    Flaky,
}

impl Verdict {
    /// The JSON word.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reproducible => "reproducible",
            Verdict::NotReproducible => "not_reproducible",
            Verdict::Flaky => "flaky",
        }
    }
}

/// What became of one variation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Part of a culprit.
    Culprit,
    /// Varied, and not needed to explain any difference.
    Ok,
    /// Selected, but the guest cannot apply it: why.
    NotTested(String),
    /// Not in `--variations`.
    NotSelected,
    /// Not decided: the build was flaky.
    Undecided,
}

impl Status {
    fn word(&self) -> &'static str {
        match self {
            Status::Culprit => "culprit",
            Status::Ok => "ok",
            Status::NotTested(_) => "not_tested",
            Status::NotSelected => "not_selected",
            Status::Undecided => "undecided",
        }
    }
}

/// One table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The variation.
    pub variation: Variation,
    /// Its control value, in words.
    pub control: String,
    /// Its experiment value, in words.
    pub experiment: String,
    /// What became of it.
    pub status: Status,
}

/// A file whose hash differs (or that only one side has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// Path under `build/out`.
    pub path: String,
    /// Its sha256 in the first control build.
    pub control: Option<String>,
    /// Its sha256 in the other build.
    pub other: Option<String>,
}

/// One build the check made.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRecord {
    /// `control-1`, `experiment-3`.
    pub name: String,
    /// What was varied.
    pub set: Set,
    /// Paths that differ from the first control build.
    pub differing: Vec<String>,
    /// Where its outputs are.
    pub dir: String,
    /// How long it took.
    pub seconds: f64,
}

/// Everything a check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The descriptor's name.
    pub descriptor: String,
    /// The backend, described.
    pub backend: String,
    /// The answer.
    pub verdict: Verdict,
    /// One row per variation, in the fixed order.
    pub rows: Vec<Row>,
    /// Minimal sets of variations that change the outputs, each with the files it changes.
    pub culprits: Vec<Culprit>,
    /// The differing files: control vs the all-at-once experiment, or (flaky) vs the control
    /// built again.
    pub differing: Vec<FileDiff>,
    /// The name of the build `differing` compares the first control with.
    pub compared_with: String,
    /// Every build, in order.
    pub builds: Vec<BuildRecord>,
    /// The folder holding every build's outputs (`var/check/<build-name>/`).
    pub outputs: String,
}

/// Paths whose hash differs between two manifests, or that only one has, sorted.
pub fn differing(a: &Manifest, b: &Manifest) -> Vec<String> {
    file_diffs(a, b).into_iter().map(|d| d.path).collect()
}

/// [`differing`] with both hashes.
pub fn file_diffs(control: &Manifest, other: &Manifest) -> Vec<FileDiff> {
    let find =
        |m: &Manifest, p: &str| m.entries.iter().find(|e| e.path == p).map(|e| e.hash.clone());
    let mut paths: Vec<&str> =
        control.entries.iter().chain(&other.entries).map(|e| e.path.as_str()).collect();
    paths.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|p| {
            let (c, o) = (find(control, p), find(other, p));
            (c != o).then(|| FileDiff { path: p.to_string(), control: c, other: o })
        })
        .collect()
}

fn short(h: &Option<String>) -> String {
    h.clone().unwrap_or_else(|| "(absent)".into())
}

impl Report {
    /// `culprit: timezone` lines, `+` joining a set that breaks only together.
    pub fn culprit_lines(&self) -> Vec<String> {
        self.culprits
            .iter()
            .map(|c| {
                let together = if c.set.len() > 1 { " (only together)" } else { "" };
                let mut files: Vec<&str> = c.differing.iter().take(3).map(String::as_str).collect();
                let more = c.differing.len().saturating_sub(3);
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                if files.is_empty() {
                    files.push("no file named");
                }
                format!("culprit: {}{together}: {}{more}", c.set.label(), files.join(", "))
            })
            .collect()
    }

    /// The text report.
    pub fn render_text(&self) -> String {
        let mut out = format!("check of {} on {}\n\n", self.descriptor, self.backend);
        let head = ["variation", "control", "experiment", "verdict"];
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                let verdict = match &r.status {
                    Status::NotTested(why) => format!("not tested: {why}"),
                    s => s.word().replace('_', " "),
                };
                [r.variation.name().to_string(), r.control.clone(), r.experiment.clone(), verdict]
            })
            .collect();
        let width = |i: usize| {
            cells.iter().map(|c| c[i].chars().count()).chain([head[i].len()]).max().unwrap_or(0)
        };
        let w = [width(0), width(1), width(2)];
        let line = |c: [&str; 4]| {
            format!(
                "{:w0$}  {:w1$}  {:w2$}  {}\n",
                c[0],
                c[1],
                c[2],
                c[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            )
        };
        out.push_str(&line(head));
        for c in &cells {
            out.push_str(&line([&c[0], &c[1], &c[2], &c[3]]));
        }
        out.push_str("\nbuilds:\n");
        for b in &self.builds {
            let what = if b.set.is_empty() { "no variation".to_string() } else { b.set.label() };
            let res = if b.differing.is_empty() {
                "same as control-1".to_string()
            } else {
                format!("{} file(s) differ", b.differing.len())
            };
            out.push_str(&format!("  {:<14} {:>6.1} s  {res}  ({what})\n", b.name, b.seconds));
        }
        if !self.differing.is_empty() {
            out.push_str(&format!("\ndiffering files (control-1 vs {}):\n", self.compared_with));
            let w = self.compared_with.len().max("control-1".len());
            for d in &self.differing {
                out.push_str(&format!(
                    "  {}\n    {:<w$}  {}\n    {:<w$}  {}\n",
                    d.path,
                    "control-1",
                    short(&d.control),
                    self.compared_with,
                    short(&d.other)
                ));
            }
        }
        out.push('\n');
        for l in self.culprit_lines() {
            out.push_str(&l);
            out.push('\n');
        }
        let verdict = match self.verdict {
            Verdict::Reproducible => "reproducible under every tested variation",
            Verdict::NotReproducible => "not reproducible",
            Verdict::Flaky => {
                "flaky: not deterministic even without variation (no variation blamed)"
            }
        };
        out.push_str(&format!("verdict: {verdict}\n"));
        out.push_str(&format!("outputs of every build: {}/<build-name>/out\n", self.outputs));
        out
    }

    /// The JSON report (`git-gitian/check/v1`).
    pub fn to_json(&self) -> Value {
        let names = |s: &Set| s.items().iter().map(|v| v.name()).collect::<Vec<_>>();
        let mut culprit: Vec<&str> = self.culprits.iter().flat_map(|c| names(&c.set)).collect();
        culprit.sort_by_key(|n| Variation::from_name(n));
        json!({
            "schema": "git-gitian/check/v1",
            "descriptor": self.descriptor,
            "backend": self.backend,
            "verdict": self.verdict.as_str(),
            "culprit": culprit,
            "culprits": self.culprits.iter().map(|c| names(&c.set)).collect::<Vec<_>>(),
            "culprit_files": self.culprits.iter().map(|c| &c.differing).collect::<Vec<_>>(),
            "variations": self.rows.iter().map(|r| {
                let mut v = json!({
                    "name": r.variation.name(),
                    "control": r.control,
                    "experiment": r.experiment,
                    "status": r.status.word(),
                });
                if let Status::NotTested(why) = &r.status {
                    v["why"] = json!(why);
                }
                v
            }).collect::<Vec<_>>(),
            "compared_with": self.compared_with,
            "differing": self.differing.iter().map(|d| json!({
                "path": d.path, "control": d.control, "other": d.other,
            })).collect::<Vec<_>>(),
            "builds": self.builds.iter().map(|b| json!({
                "name": b.name,
                "variations": names(&b.set),
                "differing": b.differing,
                "dir": b.dir,
                "seconds": (b.seconds * 10.0).round() / 10.0,
            })).collect::<Vec<_>>(),
            "outputs": self.outputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let control = Manifest::parse(&format!("{}  a\n{}  b\n", "1".repeat(64), "2".repeat(64)));
        let other = Manifest::parse(&format!("{}  a\n{}  c\n", "3".repeat(64), "2".repeat(64)));
        Report {
            descriptor: "fixture".into(),
            backend: "sandbox".into(),
            verdict: Verdict::NotReproducible,
            rows: vec![
                Row {
                    variation: Variation::Clock,
                    control: "real".into(),
                    experiment: "+398 days".into(),
                    status: Status::Ok,
                },
                Row {
                    variation: Variation::Timezone,
                    control: "unset".into(),
                    experiment: "TZ=GMT-14".into(),
                    status: Status::Culprit,
                },
                Row {
                    variation: Variation::Hostname,
                    control: "gitian".into(),
                    experiment: "x".into(),
                    status: Status::NotTested("no CAP_SYS_ADMIN".into()),
                },
            ],
            culprits: vec![
                Culprit { set: Set::of([Variation::Timezone]), differing: vec!["a".into()] },
                Culprit {
                    set: Set::of([Variation::Locale, Variation::Shell]),
                    differing: ["b", "c", "d", "e"].map(String::from).to_vec(),
                },
            ],
            differing: file_diffs(&control, &other),
            compared_with: "experiment-1".into(),
            builds: vec![BuildRecord {
                name: "control-1".into(),
                set: Set::empty(),
                differing: vec![],
                dir: "var/check/control-1".into(),
                seconds: 1.25,
            }],
            outputs: "var/check".into(),
        }
    }

    #[test]
    fn differing_files_carry_both_hashes() {
        let r = report();
        let paths: Vec<&str> = r.differing.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["a", "b", "c"]);
        assert_eq!(r.differing[1].other, None);
        assert_eq!(r.differing[2].control, None);
    }

    #[test]
    fn differing_paths_are_the_changed_and_the_one_sided_files_in_byte_order() {
        let control = Manifest::parse(&format!("{0}  b\n{0}  a\n{0}  Z\n", "1".repeat(64)));
        let other =
            Manifest::parse(&format!("{0}  a\n{1}  b\n{0}  c\n", "1".repeat(64), "2".repeat(64)));
        assert_eq!(differing(&control, &other), ["Z", "b", "c"]);
        assert_eq!(differing(&control, &control), Vec::<String>::new());
    }

    #[test]
    fn text_report_has_the_table_and_the_culprits() {
        let t = report().render_text();
        assert!(t.contains("variation  control  experiment  verdict\n"), "{t}");
        assert!(t.contains("timezone   unset    TZ=GMT-14   culprit\n"), "{t}");
        assert!(t.contains("not tested: no CAP_SYS_ADMIN"), "{t}");
        assert!(t.contains("culprit: timezone: a\nculprit: locale + shell (only together): b, c, d and 1 more\nverdict: not reproducible\n"), "{t}");
        assert!(
            t.contains(&format!(
                "  a\n    control-1     {}\n    experiment-1  {}\n",
                "1".repeat(64),
                "3".repeat(64)
            )),
            "{t}"
        );
    }

    #[test]
    fn json_report_has_the_documented_fields() {
        let j = report().to_json();
        assert_eq!(j["schema"], "git-gitian/check/v1");
        assert_eq!(j["verdict"], "not_reproducible");
        assert_eq!(j["culprit"], json!(["timezone", "locale", "shell"]));
        assert_eq!(j["culprits"], json!([["timezone"], ["locale", "shell"]]));
        assert_eq!(j["culprit_files"], json!([["a"], ["b", "c", "d", "e"]]));
        assert_eq!(j["variations"][2]["status"], "not_tested");
        assert_eq!(j["variations"][2]["why"], "no CAP_SYS_ADMIN");
        assert_eq!(j["differing"][1]["other"], Value::Null);
        assert_eq!(j["builds"][0]["seconds"], 1.3);
    }
}
