//! The artifact x signer grid under a release's table. By default only the artifacts on which
//! someone disagrees and the signers who do (`--all`: everything). Signers are the columns,
//! numbered as in the table above; when they do not fit the width the grid is transposed
//! (signers as rows, artifacts as numbered columns), and when neither fits it is cut into
//! blocks. `-v` adds the differing hashes in full.

use super::super::consensus::{Artifact, Cell, GroupReport};
use super::Options;
use super::table::{Column, Paint, draw, fit_columns, say};
use super::text::{Cut, clean, fit, width};

/// Gap between grid columns.
const GAP: usize = 1;

/// The hash row `i` has for an artifact.
fn hash<'a>(g: &'a GroupReport, a: &Artifact, i: usize) -> Option<&'a str> {
    g.rows[i].manifest.as_ref().and_then(|m| m.get(&a.name))
}

/// What the grid shows for row `i` and artifact `a`: the consensus computation's cell, except
/// that an artifact outside the consensus manifest is `Extra` for those who have it and agreed
/// for those who, like the consensus, do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    Agrees,
    Differs,
    Absent,
    Unchecked,
    Undecided,
    Extra,
}

pub(super) fn mark_of(g: &GroupReport, a: &Artifact, i: usize) -> Mark {
    if let Some(c) = &g.consensus
        && c.get(&a.name).is_none()
    {
        return if hash(g, a, i).is_some() { Mark::Extra } else { Mark::Agrees };
    }
    match &a.cells[i] {
        Cell::Agrees => Mark::Agrees,
        Cell::Differs => Mark::Differs,
        Cell::Absent => Mark::Absent,
        Cell::Unchecked => Mark::Unchecked,
        Cell::Undecided => Mark::Undecided,
    }
}

/// Whether row `i` disagrees on `a`: another hash than the consensus (whether its signature
/// counts or not), the artifact missing from its manifest or only in it, or no consensus on
/// it. A row without a manifest disagrees on nothing (its reason says why).
pub(super) fn disagrees(g: &GroupReport, a: &Artifact, i: usize) -> bool {
    if g.rows[i].manifest.is_none() {
        return false;
    }
    match mark_of(g, a, i) {
        Mark::Agrees => false,
        Mark::Differs | Mark::Undecided | Mark::Extra => true,
        Mark::Absent => a.consensus.is_some(),
        Mark::Unchecked => a.consensus.as_deref().is_some_and(|c| hash(g, a, i) != Some(c)),
    }
}

/// The character of a mark.
pub(super) fn mark(m: Mark) -> &'static str {
    match m {
        Mark::Agrees => "=",
        Mark::Differs => "X",
        Mark::Absent => "-",
        Mark::Unchecked => "?",
        Mark::Undecided => "~",
        Mark::Extra => "+",
    }
}

fn paint(g: &GroupReport, a: &Artifact, i: usize) -> Paint {
    match (mark_of(g, a, i), disagrees(g, a, i)) {
        (_, false) => Paint::Plain,
        (Mark::Differs | Mark::Absent | Mark::Extra, true) => Paint::Red,
        (_, true) => Paint::Yellow,
    }
}

/// The consensus column: the hash's first 12 digits, `none` on a tie, `not in #1` for an
/// artifact outside the consensus manifest.
fn consensus_cell(g: &GroupReport, a: &Artifact) -> String {
    if let Some(c) = &g.consensus
        && c.get(&a.name).is_none()
    {
        return "not in #1".to_string();
    }
    a.consensus.as_deref().map_or("none".into(), |h| h[..h.len().min(12)].to_string())
}

/// What each mark means; the grid's legend lists the marks it shows.
const LEGEND: [(Mark, &str); 6] = [
    (Mark::Agrees, "= agrees"),
    (Mark::Differs, "X differs"),
    (Mark::Absent, "- absent"),
    (Mark::Extra, "+ not in the consensus manifest"),
    (Mark::Unchecked, "? signature does not count"),
    (Mark::Undecided, "~ no consensus"),
];

/// The grid of one release (empty when the release has no artifacts).
pub fn render(g: &GroupReport, opts: &Options) -> String {
    if g.artifacts.is_empty() {
        return String::new();
    }
    let arts: Vec<usize> = (0..g.artifacts.len())
        .filter(|&a| opts.all || (0..g.rows.len()).any(|i| disagrees(g, &g.artifacts[a], i)))
        .collect();
    let mut out = String::new();
    let compared = g
        .artifacts
        .iter()
        .any(|a| a.cells.iter().any(|c| *c != Cell::Unchecked && *c != Cell::Absent));
    if !compared && !opts.all {
        let n = g.artifacts.len();
        say(&mut out, &format!("artifacts: {n}, not compared: no signature counts"), opts);
        return out;
    }
    if arts.is_empty() {
        say(
            &mut out,
            &format!("artifacts: all {} agree for every signer", g.artifacts.len()),
            opts,
        );
        return out;
    }
    let signers: Vec<usize> = (0..g.rows.len())
        .filter(|&i| opts.all || arts.iter().any(|&a| disagrees(g, &g.artifacts[a], i)))
        .collect();
    let shown: Vec<Mark> = arts
        .iter()
        .flat_map(|&a| signers.iter().map(move |&i| mark_of(g, &g.artifacts[a], i)))
        .collect();
    let legend: Vec<&str> =
        LEGEND.iter().filter(|(m, _)| shown.contains(m)).map(|(_, words)| *words).collect();
    let head = if opts.all {
        format!("artifacts: all {} (columns: the signers numbered above)", g.artifacts.len())
    } else {
        let others = (0..g.rows.len())
            .filter(|i| !signers.contains(i) && g.rows[*i].manifest.is_some())
            .count();
        let agree = match others {
            0 => String::new(),
            1 => "; the other signer agrees on them".to_string(),
            n => format!("; the {n} other signers agree on them"),
        };
        format!(
            "artifacts: {} of {} disagree (columns: the signers numbered above{agree}; --all \
             shows every one)",
            arts.len(),
            g.artifacts.len()
        )
    };
    say(&mut out, &head, opts);
    say(&mut out, &format!("marks: {}", legend.join(", ")), opts);
    let normal = normal_blocks(g, &arts, &signers, opts);
    let transposed = transposed_blocks(g, &arts, &signers, opts);
    let blocks = match (opts.width, normal.len(), transposed.len()) {
        (None, _, _) => normal,
        (Some(_), 1, _) => normal,
        (Some(_), n, t) if t < n => transposed,
        _ => normal,
    };
    for b in blocks {
        out.push_str(&b);
    }
    if opts.verbose {
        out.push_str(&hashes(g, &arts, opts));
    }
    out
}

/// Artifacts as rows, signers as columns, in as many blocks as the width needs.
fn normal_blocks(
    g: &GroupReport,
    arts: &[usize],
    signers: &[usize],
    opts: &Options,
) -> Vec<String> {
    let digits = width(&g.rows.len().to_string());
    let fixed = 12 + GAP + 8;
    let per = match opts.width {
        Some(w) => ((w.saturating_sub(fixed)) / (digits + GAP)).max(1),
        None => signers.len().max(1),
    };
    signers
        .chunks(per)
        .map(|chunk| {
            let mut cols = vec![
                Column::new("artifact", 12, Cut::Middle, 0),
                Column::new("consensus", 8, Cut::End, 0),
            ];
            cols.extend(
                chunk.iter().map(|i| Column::new(&(i + 1).to_string(), digits, Cut::End, 0)),
            );
            let rows: Vec<Vec<String>> = arts
                .iter()
                .map(|&a| {
                    let a = &g.artifacts[a];
                    let mut r = vec![clean(&a.name), consensus_cell(g, a)];
                    r.extend(chunk.iter().map(|&i| mark(mark_of(g, a, i)).to_string()));
                    r
                })
                .collect();
            let widths = fit_columns(&cols, &rows, opts.width, GAP);
            let p = |r: usize, c: usize| match c.checked_sub(2) {
                Some(k) => paint(g, &g.artifacts[arts[r]], chunk[k]),
                None => Paint::Plain,
            };
            draw(&cols, &rows, &widths, GAP, opts, &p).join("\n") + "\n"
        })
        .collect()
}

/// Signers as rows, artifacts as numbered columns (`a1`, `a2`, ... named in a legend).
fn transposed_blocks(
    g: &GroupReport,
    arts: &[usize],
    signers: &[usize],
    opts: &Options,
) -> Vec<String> {
    let Some(w) = opts.width else { return Vec::new() };
    let digits = width(&g.rows.len().to_string());
    let label = |k: usize| format!("a{}", k + 1);
    let colw = width(&label(arts.len() - 1));
    let fixed = digits + GAP + 8;
    let per = ((w.saturating_sub(fixed)) / (colw + GAP)).max(1);
    let mut blocks = Vec::new();
    let mut legend = String::new();
    for (k, &a) in arts.iter().enumerate() {
        let a = &g.artifacts[a];
        let c = a
            .consensus
            .as_deref()
            .map_or("no consensus".into(), |h| h[..h.len().min(12)].to_string());
        say(&mut legend, &format!("{} {} (consensus {c})", label(k), clean(&a.name)), opts);
    }
    blocks.push(legend);
    let idx: Vec<usize> = (0..arts.len()).collect();
    for chunk in idx.chunks(per) {
        let mut cols =
            vec![Column::new("#", digits, Cut::End, 0), Column::new("signer", 8, Cut::End, 0)];
        cols.extend(chunk.iter().map(|&k| Column::new(&label(k), colw, Cut::End, 0)));
        let rows: Vec<Vec<String>> = signers
            .iter()
            .map(|&i| {
                let mut r = vec![(i + 1).to_string(), clean(&g.rows[i].signer)];
                r.extend(
                    chunk.iter().map(|&k| mark(mark_of(g, &g.artifacts[arts[k]], i)).to_string()),
                );
                r
            })
            .collect();
        let widths = fit_columns(&cols, &rows, opts.width, GAP);
        let p = |r: usize, c: usize| match c.checked_sub(2) {
            Some(k) => paint(g, &g.artifacts[arts[chunk[k]]], signers[r]),
            None => Paint::Plain,
        };
        blocks.push(draw(&cols, &rows, &widths, GAP, opts, &p).join("\n") + "\n");
    }
    blocks
}

/// `-v`: per disagreeing artifact, the consensus hash and every other hash in full, each
/// with the signers who have it.
fn hashes(g: &GroupReport, arts: &[usize], opts: &Options) -> String {
    let mut out = String::from("differing hashes:\n");
    for &a in arts {
        let a = &g.artifacts[a];
        if !(0..g.rows.len()).any(|i| disagrees(g, a, i)) {
            continue;
        }
        let mut lines: Vec<(String, String)> = Vec::new();
        let reference = match &g.consensus {
            Some(c) => Some(c.get(&a.name).unwrap_or("(not in manifest #1)").to_string()),
            None => a.consensus.clone(),
        };
        if let Some(c) = reference {
            lines.push(("consensus".into(), clean(&c)));
        }
        for i in (0..g.rows.len()).filter(|&i| disagrees(g, a, i)) {
            let h = clean(hash(g, a, i).unwrap_or("(absent)"));
            lines.push((format!("{} {}", i + 1, clean(&g.rows[i].signer)), h));
        }
        out.push_str(&format!(
            "  {}\n",
            fit(
                &clean(&a.name),
                opts.width.unwrap_or(usize::MAX).saturating_sub(2),
                Cut::Middle,
                opts.charset
            )
        ));
        let hw = lines.iter().map(|l| width(&l.1)).max().unwrap_or(0);
        let natural = lines.iter().map(|l| width(&l.0)).max().unwrap_or(0);
        let lw = match opts.width {
            Some(w) => natural.min(w.saturating_sub(hw + 6)).max(6),
            None => natural,
        };
        for (who, h) in lines {
            let who = fit(&who, lw, Cut::End, opts.charset);
            let room = opts.width.map_or(usize::MAX, |w| w.saturating_sub(lw + 6));
            out.push_str(&format!(
                "    {}  {}\n",
                super::text::pad(&who, lw),
                fit(&h, room, Cut::End, opts.charset)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consensus::{Options as Consensus, compute, tests::row};

    #[test]
    fn uncompared_and_agreeing_artifacts_are_one_line() {
        let opts = Options::default();
        let bad = compute(vec![row("a", "K1", "bad", "h  f\n")], &Consensus::default());
        assert_eq!(render(&bad[0], &opts), "artifacts: 1, not compared: no signature counts\n");
        let rows =
            vec![row("a", "K1", "good", "h  f\nh2  g\n"), row("b", "K2", "good", "h  f\nh2  g\n")];
        let agree = compute(rows, &Consensus::default());
        assert_eq!(render(&agree[0], &opts), "artifacts: all 2 agree for every signer\n");
    }

    #[test]
    fn blocks_hold_as_many_columns_as_the_width_has_room_for() {
        let rows = vec![
            row("a", "K1", "good", "h  f\nh  g\n"),
            row("b", "K2", "good", "h  f\nh  g\n"),
            row("c", "K3", "good", "x  f\nx  g\n"),
            row("d", "K4", "good", "y  f\ny  g\n"),
        ];
        let g = &compute(rows, &Consensus::default())[0];
        let at = |w| Options { width: Some(w), ..Options::default() };
        // Signers as columns: 12 + 1 + 8 columns of labels, then 2 per signer.
        assert_eq!(normal_blocks(g, &[0, 1], &[0, 1, 2, 3], &at(24)).len(), 4);
        assert_eq!(normal_blocks(g, &[0, 1], &[0, 1, 2, 3], &at(25)).len(), 2);
        assert_eq!(normal_blocks(g, &[0, 1], &[0, 1, 2, 3], &Options::default()).len(), 1);
        // Artifacts as columns after a legend: 1 + 1 + 8 columns of labels, then 3 per artifact.
        assert_eq!(transposed_blocks(g, &[0, 1], &[0, 1, 2, 3], &at(15)).len(), 3);
        assert_eq!(transposed_blocks(g, &[0, 1], &[0, 1, 2, 3], &at(16)).len(), 2);
        assert!(transposed_blocks(g, &[0, 1], &[0, 1, 2, 3], &Options::default()).is_empty());
    }

    fn four_signers() -> GroupReport {
        let rows = vec![
            row("a", "K1", "good", "h  f\nh  g\n"),
            row("b", "K2", "good", "h  f\nh  g\n"),
            row("c", "K3", "good", "x  f\nx  g\n"),
            row("d", "K4", "good", "y  f\ny  g\n"),
        ];
        compute(rows, &Consensus::default()).remove(0)
    }

    #[test]
    fn without_a_width_the_grid_is_one_block_of_signer_columns() {
        let out = render(&four_signers(), &Options::default());
        assert_eq!(
            out,
            "artifacts: 2 of 2 disagree (columns: the signers numbered above; the 2 other \
             signers agree on them; --all shows every one)\n\
             marks: X differs\n\
             artifact consensus 3 4\n\
             ──────── ───────── ─ ─\n\
             f        h         X X\n\
             g        h         X X\n"
        );
    }

    #[test]
    fn the_grid_is_transposed_only_when_that_takes_fewer_blocks() {
        let g = four_signers();
        let at = |w| Options { width: Some(w), all: true, ..Options::default() };
        // At 25 columns two signers fit a block of the normal grid: 2 blocks, as many as the
        // transposed grid's legend and block.
        let head = "artifacts: all 2\n  (columns: the signers\n  numbered above)\nmarks: = agrees, X\n  \
                    differs\n";
        assert_eq!(
            render(&g, &at(25)),
            format!(
                "{head}artifact consensus 1 2\n──────── ───────── ─ ─\nf        h         = =\n\
                 g        h         = =\nartifact consensus 3 4\n──────── ───────── ─ ─\n\
                 f        h         X X\ng        h         X X\n"
            )
        );
        assert_eq!(
            render(&g, &at(24)),
            format!(
                "{head}a1 f (consensus h)\na2 g (consensus h)\n# signer a1 a2\n─ ────── ── ──\n\
                 1 a      =  =\n2 b      =  =\n3 c      X  X\n4 d      X  X\n"
            )
        );
    }

    #[test]
    fn transposed_blocks_hold_as_many_artifacts_as_fit() {
        // Nine artifacts: labels a1..a9, two columns and a gap each; ten: a10 takes three.
        let manifest =
            |h: &str, n: usize| -> String { (1..=n).map(|k| format!("{h}  f{k}\n")).collect() };
        for (n, w, blocks) in [(9, 19, 4), (9, 18, 6), (10, 22, 5), (10, 21, 6)] {
            let rows = vec![
                row("a", "K1", "good", &manifest("h", n)),
                row("b", "K2", "good", &manifest("h", n)),
                row("c", "K3", "good", &manifest("x", n)),
            ];
            let g = &compute(rows, &Consensus::default())[0];
            let arts: Vec<usize> = (0..n).collect();
            let at = Options { width: Some(w), ..Options::default() };
            assert_eq!(transposed_blocks(g, &arts, &[0, 1, 2], &at).len(), blocks, "{n} at {w}");
        }
    }

    #[test]
    fn differing_hashes_are_cut_to_the_width() {
        let m = |c: &str| format!("{}  f\n", c.repeat(64));
        let rows = vec![
            row("a", "K1", "good", &m("a")),
            row("b", "K2", "good", &m("a")),
            row("c", "K3", "good", &m("c")),
        ];
        let g = &compute(rows, &Consensus::default())[0];
        let o = Options { width: Some(40), verbose: true, ..Options::default() };
        let out = render(g, &o);
        let at = out.find("differing hashes:").unwrap();
        assert_eq!(
            &out[at..],
            format!(
                "differing hashes:\n  f\n    conse…  {}…\n    3 c     {}…\n",
                "a".repeat(27),
                "c".repeat(27)
            )
        );
    }
}
