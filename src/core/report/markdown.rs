//! A compact Markdown report for a pull-request comment: per release a signer table with the
//! reasons, the result line, and the hashes in a fenced block as reviewers paste them (the
//! consensus manifest folded in `<details>`, every differing hash in the open). Everything
//! from the ledger is escaped: a signer or artifact name cannot inject markup.

use super::super::consensus::GroupReport;
use super::grid;
use super::reason::{self, Summary};
use super::text::clean;
use super::{Meta, Options, title};

/// Text for a table cell or a line: Markdown and HTML punctuation escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in clean(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A fenced block that its content cannot close: the fence is longer than any backtick run.
fn fenced(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}\n{body}{fence}\n")
}

fn release(g: &GroupReport, opts: &Options) -> String {
    let word = if g.passed() { "OK" } else { "FAILED" };
    let mut out = format!("### {}: {word}\n\n", escape(&title(g)));
    out.push_str("| # | signer | key file | signature | verdict | reason |\n");
    out.push_str("|--:|--------|----------|-----------|---------|--------|\n");
    for (i, r) in g.rows.iter().enumerate() {
        let why = reason::row_reason(g, i).map(|w| escape(&w)).unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {why} |\n",
            i + 1,
            escape(&r.signer),
            escape(r.key_origin.as_deref().unwrap_or("-")),
            escape(&r.status.to_string()),
            g.verdicts[i].as_str(),
        ));
    }
    out.push_str(&format!("\n**Result:** {}\n\n", escape(&reason::result_line(g))));
    if let Some(c) = &g.consensus {
        let body: String =
            c.entries.iter().map(|e| format!("{}  {}\n", clean(&e.hash), clean(&e.path))).collect();
        out.push_str(&format!(
            "<details><summary>consensus manifest #1: {} files, {} key{}</summary>\n\n{}\n</details>\n\n",
            c.entries.len(),
            g.votes,
            if g.votes == 1 { "" } else { "s" },
            fenced(&body)
        ));
    }
    // The differing hashes, whole: no width limit, no colour.
    let plain = Options { width: None, color: false, verbose: true, all: false, ..*opts };
    let grid = grid::render(g, &plain);
    if let Some(at) = grid.find("differing hashes:\n") {
        out.push_str("Differing hashes:\n\n");
        out.push_str(&fenced(&grid[at + "differing hashes:\n".len()..]));
        out.push('\n');
    }
    out
}

/// The comment: a heading with what was read and when, every release, the run's summary.
pub fn render(groups: &[GroupReport], meta: &Meta, opts: &Options) -> String {
    let mut out = String::from("## git gitian verify\n\n");
    let mut facts = vec![format!("checked {}", escape(&meta.checked))];
    if meta.at != meta.checked {
        facts.push(format!("expiry judged at {}", escape(&meta.at)));
    }
    facts.extend(meta.sources.iter().map(|s| format!("read {}", escape(s))));
    facts.push(format!("{} keys loaded", meta.keys_loaded));
    out.push_str(&format!("{}\n\n", facts.join("; ")));
    for g in groups {
        out.push_str(&release(g, opts));
    }
    for p in &meta.problems {
        out.push_str(&format!("- problem: {}\n", escape(p)));
    }
    for w in &meta.warnings {
        out.push_str(&format!("- warning: {}\n", escape(w)));
    }
    if !meta.problems.is_empty() || !meta.warnings.is_empty() {
        out.push('\n');
    }
    let word = if meta.passed { "OK" } else { "FAILED" };
    out.push_str(&format!("**Overall:** {word}. {}\n", Summary::of(groups).text()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_are_longer_than_any_backtick_run() {
        assert_eq!(fenced("a\n"), "```\na\n```\n");
        assert_eq!(fenced("a```b\n"), "````\na```b\n````\n");
        assert_eq!(fenced("`````\n"), "``````\n`````\n``````\n");
    }

    #[test]
    fn no_hash_block_when_nothing_differs_whatever_the_caller_asked() {
        use crate::core::consensus::{Options as Consensus, compute, tests::row};
        // The caller's --all, --color and width are for the terminal: the comment is the same.
        let all = Options { all: true, color: true, width: Some(30), ..Options::default() };
        let agree = compute(
            vec![row("a", "K1", "good", "h1  f\n"), row("b", "K2", "good", "h1  f\n")],
            &Consensus::default(),
        );
        let table = "| # | signer | key file | signature | verdict | reason |\n\
                     |--:|--------|----------|-----------|---------|--------|\n";
        assert_eq!(
            release(&agree[0], &all),
            format!(
                "### 1.0 (gitian, x-build.assert, ledger l): OK\n\n{table}\
                 | 1 | a | - | good | OK |  |\n| 2 | b | - | good | OK |  |\n\n\
                 **Result:** OK\n\n<details><summary>consensus manifest #1: 1 files, 2 keys\
                 </summary>\n\n```\nh1  f\n```\n\n</details>\n\n"
            )
        );
        // Nothing counts: no consensus, nothing compared, no hash differs.
        let bad = compute(vec![row("a", "K1", "bad", "h1  f\n")], &Consensus::default());
        let out = release(&bad[0], &all);
        assert!(out.ends_with("**Result:** FAILED: 1 of 1 signatures does not count (a: bad); no consensus: no signature counts\n\n"), "{out}");
    }

    #[test]
    fn the_comment_states_what_was_read_and_lists_problems_and_warnings_apart() {
        use crate::core::consensus::{Options as Consensus, compute, tests::row};
        let groups = compute(vec![row("a", "K1", "good", "h1  f\n")], &Consensus::default());
        let at = "2026-11-28T00:00:00Z";
        let meta = Meta { checked: at.into(), at: at.into(), passed: true, ..Meta::default() };
        let body = release(&groups[0], &Options::default());
        assert_eq!(
            render(&groups, &meta, &Options::default()),
            format!(
                "## git gitian verify\n\nchecked {at}; 0 keys loaded\n\n{body}\
                 **Overall:** OK. 1 release: 1 OK\n"
            )
        );
        let meta = Meta {
            checked: at.into(),
            at: "2020-01-01T00:00:00Z".into(),
            sources: vec!["l: a folder".into()],
            keys_loaded: 2,
            problems: vec!["p".into()],
            ..Meta::default()
        };
        assert_eq!(
            render(&groups, &meta, &Options::default()),
            format!(
                "## git gitian verify\n\nchecked {at}; expiry judged at 2020-01-01T00:00:00Z; \
                 read l: a folder; 2 keys loaded\n\n{body}- problem: p\n\n\
                 **Overall:** FAILED. 1 release: 1 OK\n"
            )
        );
    }
}
