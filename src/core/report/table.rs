//! The terminal report: per release a signer table with a line of reason under every signer
//! that is not OK, the consensus, the artifact grid ([`super::grid`]) and a result line that
//! says why; then the run's problems and, for several releases, one summary line.
//!
//! Columns fit the width given (never a word cut in two: long cells end in an ellipsis, key
//! files keep their file name); without a width nothing is shortened.

use super::super::consensus::{GroupReport, Row, Verdict};
use super::reason::{self, Summary};
use super::text::{Charset, Cut, clean, fit, pad, width, wrap};
use super::{Meta, Options, grid, manifest_label, short_key, title};

/// ANSI colours: problems red, doubts yellow, OK green.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// Nothing.
    Plain,
    /// OK.
    Green,
    /// Something is wrong.
    Red,
    /// Something could not be decided.
    Yellow,
    /// Emphasis.
    Bold,
}

impl Paint {
    /// `s` wrapped in the colour's escape sequence when `on`.
    pub fn apply(self, s: &str, on: bool) -> String {
        let code = match self {
            Self::Plain => return s.to_string(),
            Self::Green => "32",
            Self::Red => "31",
            Self::Yellow => "33",
            Self::Bold => "1",
        };
        if on { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }

    /// The colour of a verdict.
    pub fn of(v: &Verdict) -> Self {
        match v {
            Verdict::Ok => Self::Green,
            Verdict::Missing | Verdict::NoConsensus | Verdict::BadSignature => Self::Yellow,
            Verdict::Mismatch | Verdict::SharedKey | Verdict::Invalid | Verdict::Conflict => {
                Self::Red
            }
        }
    }
}

/// One column of a fitted table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header text.
    pub header: String,
    /// Narrowest it may become (an ellipsis marks the cut).
    pub min: usize,
    /// Where cells are cut.
    pub cut: Cut,
    /// 0: always shown; otherwise dropped, highest first, when even the minimums do not fit.
    pub drop: u8,
    /// Columns give up width highest rank first (to their minimum), then the next rank.
    pub shrink: u8,
}

impl Column {
    /// A column that shrinks with the others of rank 1.
    pub fn new(header: &str, min: usize, cut: Cut, drop: u8) -> Self {
        Self { header: header.to_string(), min, cut, drop, shrink: 1 }
    }

    /// The same column, shrinking at rank `rank`.
    pub fn shrink(mut self, rank: u8) -> Self {
        self.shrink = rank;
        self
    }
}

/// Gap between the columns of the signer table.
pub const GAP: usize = 2;

/// Widths of the columns (0: dropped) so the table fits `limit` columns. First only the
/// columns of shrink rank 2 and more give up width (highest rank first, down to their
/// minimum), dropping optional columns one by one (highest `drop` first) while that is not
/// enough; only then do names (rank 1) shrink too. A header is never cut.
pub fn fit_columns(
    cols: &[Column],
    rows: &[Vec<String>],
    limit: Option<usize>,
    gap: usize,
) -> Vec<usize> {
    let natural: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(c, col)| {
            rows.iter().map(|r| width(&r[c])).chain([width(&col.header)]).max().unwrap_or(0)
        })
        .collect();
    let Some(limit) = limit else { return natural };
    let min: Vec<usize> =
        cols.iter().zip(&natural).map(|(c, n)| c.min.max(width(&c.header)).min(*n)).collect();
    let total = |w: &[usize]| {
        let shown = w.iter().filter(|x| **x > 0).count();
        w.iter().sum::<usize>() + gap * shown.saturating_sub(1)
    };
    let mut order: Vec<usize> = (0..cols.len()).filter(|&c| cols[c].drop > 0).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(cols[c].drop));
    let mut last = natural.clone();
    for lowest_rank in [2, 1] {
        for dropped in 0..=order.len() {
            let mut w = natural.clone();
            for &c in &order[..dropped] {
                w[c] = 0;
            }
            while total(&w) > limit {
                let candidate = (0..cols.len())
                    .filter(|&c| w[c] > min[c].max(1) && cols[c].shrink >= lowest_rank)
                    .max_by_key(|&c| (cols[c].shrink, w[c] - min[c], std::cmp::Reverse(c)));
                match candidate {
                    Some(c) => w[c] -= 1,
                    None => break,
                }
            }
            if total(&w) <= limit {
                return w;
            }
            last = w;
        }
    }
    last
}

/// The lines of a fitted table: header, rule, rows; `paint` colours a cell after it is padded.
pub fn draw(
    cols: &[Column],
    rows: &[Vec<String>],
    widths: &[usize],
    gap: usize,
    opts: &Options,
    paint: &dyn Fn(usize, usize) -> Paint,
) -> Vec<String> {
    // A path column that must be shortened shows every path the same way, `…/name`.
    let short_paths: Vec<bool> = (0..cols.len())
        .map(|c| cols[c].cut == Cut::Path && rows.iter().any(|r| width(&r[c]) > widths[c]))
        .collect();
    let line = |cells: &[String], row: Option<usize>| {
        let shown: Vec<usize> = (0..cols.len()).filter(|&c| widths[c] > 0).collect();
        let mut s = String::new();
        for (k, &c) in shown.iter().enumerate() {
            let text = match cells[c].rsplit_once('/') {
                Some((_, name)) if short_paths[c] && row.is_some() => {
                    format!("{}/{name}", opts.charset.ellipsis())
                }
                _ => cells[c].clone(),
            };
            let cell = fit(&text, widths[c], cols[c].cut, opts.charset);
            let last = k + 1 == shown.len();
            let padded = if last { cell.clone() } else { pad(&cell, widths[c]) };
            let p = row.map_or(Paint::Plain, |r| paint(r, c));
            if p == Paint::Plain || !opts.color {
                s.push_str(&padded);
            } else {
                s.push_str(&p.apply(&cell, true));
                s.push_str(&" ".repeat(width(&padded) - width(&cell)));
            }
            if !last {
                s.push_str(&" ".repeat(gap));
            }
        }
        s.trim_end().to_string()
    };
    let headers: Vec<String> = cols.iter().map(|c| c.header.clone()).collect();
    let rule: Vec<String> = widths.iter().map(|w| opts.charset.rule().repeat(*w)).collect();
    let mut out = vec![line(&headers, None), line(&rule, None)];
    for (r, cells) in rows.iter().enumerate() {
        out.push(line(cells, Some(r)));
    }
    out
}

fn signer_table(g: &GroupReport, opts: &Options, out: &mut String) {
    let one_file = g.rows.iter().all(|r| r.file == g.rows[0].file);
    // Words are never cut: numbers, statuses and verdicts keep their width; names give up
    // what they must beyond 20 columns, key files keep at least `…/name.asc`. When that is not
    // enough, the columns the reasons make redundant go: the manifest group, then the key,
    // then the key file.
    let longest =
        |f: &dyn Fn(&Row) -> String| g.rows.iter().map(|r| width(&f(r))).max().unwrap_or(0);
    let names = longest(&|r: &Row| clean(&r.signer)).min(20);
    let files = longest(&|r: &Row| clean(&r.file)).min(20);
    let mut cols = vec![
        Column::new("#", width(&g.rows.len().to_string()), Cut::End, 0),
        Column::new("signer", names.max(6), Cut::End, 0),
        Column::new("file", files.max(4), Cut::Middle, 0).shrink(2),
        Column::new("key", 16, Cut::Start, 3),
        Column::new("key file", 14, Cut::Path, 2).shrink(3),
        Column::new("signature", longest(&|r: &Row| r.status.to_string()), Cut::End, 0),
        Column::new("manifest", 8, Cut::End, 4),
        Column::new(
            "verdict",
            g.verdicts.iter().map(|v| v.as_str().len()).max().unwrap_or(7),
            Cut::End,
            0,
        ),
    ];
    let mut rows: Vec<Vec<String>> = g
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                clean(&r.signer),
                clean(&r.file),
                short_key(r.key_fingerprint.as_deref()),
                clean(r.key_origin.as_deref().unwrap_or("-")),
                r.status.to_string(),
                manifest_label(g, i),
                g.verdicts[i].as_str().to_string(),
            ]
        })
        .collect();
    if one_file {
        cols.remove(2);
        for r in &mut rows {
            r.remove(2);
        }
    }
    let widths = fit_columns(&cols, &rows, opts.width, GAP);
    let verdict_col = cols.len() - 1;
    let paint = |r: usize, c: usize| {
        if c == verdict_col { Paint::of(&g.verdicts[r]) } else { Paint::Plain }
    };
    let lines = draw(&cols, &rows, &widths, GAP, opts, &paint);
    // Reasons start under the signer column.
    let indent = widths[0] + GAP;
    let mark = match opts.charset {
        Charset::Unicode => "└ ",
        Charset::Ascii => "` ",
    };
    for (k, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push('\n');
        let Some(i) = k.checked_sub(2) else { continue };
        if let Some(why) = reason::row_reason(g, i) {
            let first = format!("{}{mark}", " ".repeat(indent));
            for w in wrap(&clean(&why), &first, indent + width(mark), opts.width, opts.charset) {
                out.push_str(&w);
                out.push('\n');
            }
        }
    }
}

/// A line of prose, wrapped to the width; control characters from the ledger are escaped.
pub(super) fn say(out: &mut String, s: &str, opts: &Options) {
    for l in wrap(&clean(s), "", 2, opts.width, opts.charset) {
        out.push_str(&l);
        out.push('\n');
    }
}

/// One release: title, signer table, consensus, grid, result.
pub fn release(g: &GroupReport, opts: &Options) -> String {
    let mut out = String::new();
    say(&mut out, &format!("release {}", title(g)), opts);
    signer_table(g, opts, &mut out);
    match &g.consensus {
        Some(c) => {
            let keys = if g.votes == 1 { "key" } else { "distinct keys" };
            say(
                &mut out,
                &format!(
                    "consensus: manifest #1 ({} files) held by {} {keys}",
                    c.entries.len(),
                    g.votes
                ),
                opts,
            );
        }
        None => say(
            &mut out,
            &format!(
                "consensus: NONE{}",
                reason::no_consensus(g).trim_start_matches("no consensus")
            ),
            opts,
        ),
    }
    out.push_str(&grid::render(g, opts));
    let result = reason::result_line(g);
    let (word, paint) = if g.passed() { ("OK", Paint::Green) } else { ("FAILED", Paint::Red) };
    say_painted(&mut out, &format!("result: {result}"), word, paint, opts);
    out
}

/// Like [`say`], with the first `word` of the first line coloured.
fn say_painted(out: &mut String, s: &str, word: &str, paint: Paint, opts: &Options) {
    let mut lines = wrap(&clean(s), "", 2, opts.width, opts.charset);
    if opts.color
        && let Some(first) = lines.first_mut()
    {
        *first = first.replacen(word, &paint.apply(word, true), 1);
    }
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
}

/// The whole report: what was read, every release, the run's problems, and the summary.
pub fn render(groups: &[GroupReport], meta: &Meta, opts: &Options) -> String {
    let mut out = String::new();
    for s in &meta.sources {
        say(&mut out, &format!("read: {}", clean(s)), opts);
    }
    if !meta.sources.is_empty() {
        out.push('\n');
    }
    for g in groups {
        out.push_str(&release(g, opts));
        out.push('\n');
    }
    for p in &meta.problems {
        say(&mut out, &format!("problem: {}", clean(p)), opts);
    }
    let summary = Summary::of(groups);
    if summary.releases > 1 || !meta.problems.is_empty() {
        let mut s = summary.text();
        if !meta.problems.is_empty() {
            let n = meta.problems.len();
            s.push_str(&format!("; {n} problem{} above", if n == 1 { "" } else { "s" }));
        }
        let (word, paint) = if meta.passed { ("OK", Paint::Green) } else { ("FAILED", Paint::Red) };
        say_painted(&mut out, &s, word, paint, opts);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_shrink_widest_first_then_drop() {
        let cols = vec![
            Column::new("a", 2, Cut::End, 0),
            Column::new("b", 3, Cut::End, 1).shrink(2),
            Column::new("c", 2, Cut::End, 0),
        ];
        let rows = vec![vec!["aaaa".into(), "bbbbbbbb".into(), "cc".into()]];
        assert_eq!(fit_columns(&cols, &rows, None, GAP), [4, 8, 2]);
        assert_eq!(fit_columns(&cols, &rows, Some(14), GAP), [4, 4, 2]);
        // Names (rank 1) shrink only when dropping b is not enough.
        assert_eq!(fit_columns(&cols, &rows, Some(11), GAP), [4, 0, 2]);
        assert_eq!(fit_columns(&cols, &rows, Some(6), GAP), [2, 0, 2]);
        // A dropped column takes no gap; a column is dropped rather than cut below its minimum.
        assert_eq!(fit_columns(&cols, &rows, Some(8), GAP), [4, 0, 2]);
        assert_eq!(fit_columns(&cols, &rows, Some(12), GAP), [4, 0, 2]);
        assert_eq!(fit_columns(&cols, &rows, Some(13), GAP), [4, 3, 2]);
    }

    #[test]
    fn the_column_with_most_room_above_its_minimum_gives_first() {
        let cols = |m: [usize; 2]| {
            vec![Column::new("x", m[0], Cut::End, 0), Column::new("y", m[1], Cut::End, 0)]
        };
        let row = |w: [usize; 2]| vec![vec!["x".repeat(w[0]), "y".repeat(w[1])]];
        // 2 above the minimum against 4; then 8 against 10.
        assert_eq!(fit_columns(&cols([8, 2]), &row([10, 6]), Some(16), GAP), [10, 4]);
        assert_eq!(fit_columns(&cols([2, 20]), &row([10, 30]), Some(41), GAP), [10, 29]);
        // Between equals, the first.
        assert_eq!(fit_columns(&cols([1, 1]), &row([5, 5]), Some(11), GAP), [4, 5]);
    }

    #[test]
    fn a_coloured_cell_is_padded_after_its_colour() {
        let cols = vec![Column::new("aaa", 1, Cut::End, 0), Column::new("b", 1, Cut::End, 0)];
        let rows = vec![vec!["x".to_string(), "yy".to_string()]];
        let widths = fit_columns(&cols, &rows, None, GAP);
        let opts = Options { color: true, ..Options::default() };
        let red = |_: usize, _: usize| Paint::Red;
        let lines = draw(&cols, &rows, &widths, GAP, &opts, &red);
        assert_eq!(lines, ["aaa  b", "───  ──", "\x1b[31mx\x1b[0m    \x1b[31myy\x1b[0m"]);
        let plain = draw(&cols, &rows, &widths, GAP, &Options::default(), &red);
        assert_eq!(plain[2], "x    yy");
    }

    #[test]
    fn one_release_has_no_summary_unless_the_run_has_problems() {
        use crate::core::consensus::{Options as Consensus, compute, tests::row};
        let g = compute(
            vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "good", "h1  f\n")],
            &Consensus::default(),
        );
        let release = "release 1.0 (gitian, x-build.assert, ledger l)\n\
                       #  signer  key  key file  signature  manifest  verdict\n\
                       ─  ──────  ───  ────────  ─────────  ────────  ───────\n\
                       1  a       K1   -         good       #1        OK\n\
                       2  b       K2   -         good       #1        OK\n\
                       consensus: manifest #1 (1 files) held by 2 distinct keys\n\
                       artifacts: all 1 agree for every signer\n\
                       result: OK\n\n";
        let meta = Meta { passed: true, ..Meta::default() };
        assert_eq!(render(&g, &meta, &Options::default()), release);
        let meta = Meta { problems: vec!["ledger x: not a folder".into()], ..Meta::default() };
        assert_eq!(
            render(&g, &meta, &Options::default()),
            format!(
                "{release}problem: ledger x: not a folder\n\
                 1 release: 1 OK; 1 problem above\n"
            )
        );
    }
}
