//! One self-contained HTML page to share a verification: no external asset, no script; per
//! release the signer table with reasons, the whole artifact grid with every disagreeing cell
//! highlighted (class `disagrees`), the result, and at the top the
//! ledgers read and the time of the check. Everything from the ledger is escaped.

use super::super::consensus::{GroupReport, Verdict};
use super::grid;
use super::json::cell_str;
use super::reason::{self, Summary};
use super::text::clean;
use super::{Meta, manifest_label, short_key, title};

/// Text escaped for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in clean(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}
code,.hash{font-family:ui-monospace,monospace}
.ok{color:#064;font-weight:bold}
.bad{color:#a00;font-weight:bold}
.doubt{color:#850;font-weight:bold}
.reason{max-width:40em}
td.cell{text-align:center;font-family:ui-monospace,monospace}
td.unchecked,td.undecided{background:#fff3b0}
td.disagrees{background:#ff3b30;color:#fff;font-weight:bold}
.result{font-weight:bold}
";

fn verdict_class(v: &Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::Missing | Verdict::NoConsensus | Verdict::BadSignature => "doubt",
        _ => "bad",
    }
}

fn signer_table(g: &GroupReport) -> String {
    // The file is in the title when every row has the same one.
    let one_file = g.rows.iter().all(|r| r.file == g.rows[0].file);
    let file_head = if one_file { "" } else { "<th>file</th>" };
    let mut out = format!(
        "<table class=\"signers\"><thead><tr><th>#</th><th>signer</th>{file_head}<th>key</th>\
         <th>key file</th><th>signature</th><th>manifest</th><th>verdict</th><th>reason</th>\
         </tr></thead><tbody>\n",
    );
    for (i, r) in g.rows.iter().enumerate() {
        let v = &g.verdicts[i];
        let file = if one_file { String::new() } else { format!("<td>{}</td>", escape(&r.file)) };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td>{file}<td class=\"hash\" title=\"{}\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"reason\">{}</td></tr>\n",
            i + 1,
            escape(&r.signer),
            escape(r.key_fingerprint.as_deref().unwrap_or("")),
            escape(&short_key(r.key_fingerprint.as_deref())),
            escape(r.key_origin.as_deref().unwrap_or("-")),
            escape(&r.status.to_string()),
            escape(&manifest_label(g, i)),
            verdict_class(v),
            v.as_str(),
            escape(&reason::row_reason(g, i).unwrap_or_default()),
        ));
    }
    out.push_str("</tbody></table>\n");
    out
}

fn grid(g: &GroupReport) -> String {
    if g.artifacts.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("<table class=\"grid\"><thead><tr><th>artifact</th><th>consensus</th>");
    for (i, r) in g.rows.iter().enumerate() {
        out.push_str(&format!("<th title=\"{}\">{}</th>", escape(&r.signer), i + 1));
    }
    out.push_str("</tr></thead><tbody>\n");
    for a in &g.artifacts {
        let c = a.consensus.as_deref().unwrap_or("none");
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"hash\" title=\"{}\">{}</td>",
            escape(&a.name),
            escape(c),
            escape(&c[..c.len().min(12)])
        ));
        for (i, cell) in a.cells.iter().enumerate() {
            let hash = g.rows[i].manifest.as_ref().and_then(|m| m.get(&a.name)).unwrap_or("absent");
            let mark = grid::mark(grid::mark_of(g, a, i));
            out.push_str(&format!(
                "<td class=\"cell {}{}\" title=\"{}: {}\">{mark}</td>",
                cell_str(cell),
                if grid::disagrees(g, a, i) { " disagrees" } else { "" },
                escape(&g.rows[i].signer),
                escape(hash)
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

fn release(g: &GroupReport) -> String {
    let (class, word) = if g.passed() { ("ok", "OK") } else { ("bad", "FAILED") };
    let mut out = format!(
        "<section class=\"release\"><h2>release {} <span class=\"{class}\">{word}</span></h2>\n",
        escape(&title(g))
    );
    out.push_str(&signer_table(g));
    let consensus = match &g.consensus {
        Some(c) => format!(
            "consensus: manifest #1 ({} files) held by {} distinct keys",
            c.entries.len(),
            g.votes
        ),
        None => {
            format!("consensus: NONE{}", reason::no_consensus(g).trim_start_matches("no consensus"))
        }
    };
    out.push_str(&format!("<p>{}</p>\n", escape(&consensus)));
    out.push_str(&grid(g));
    out.push_str(&format!(
        "<p class=\"result {class}\">result: {}</p>\n</section>\n",
        escape(&reason::result_line(g))
    ));
    out
}

/// The page.
pub fn render(groups: &[GroupReport], meta: &Meta) -> String {
    let summary = Summary::of(groups);
    let (class, word) = if meta.passed { ("ok", "OK") } else { ("bad", "FAILED") };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>git gitian verify: {word}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>git gitian verify</h1>\n<ul class=\"meta\">\n<li>checked {}</li>\n",
        escape(&meta.checked)
    );
    if meta.at != meta.checked {
        out.push_str(&format!("<li>expiry judged at {}</li>\n", escape(&meta.at)));
    }
    for s in &meta.sources {
        out.push_str(&format!("<li>read {}</li>\n", escape(s)));
    }
    out.push_str(&format!("<li>{} keys loaded</li>\n</ul>\n", meta.keys_loaded));
    out.push_str(&format!(
        "<p class=\"result {class}\">overall: {word}. {}</p>\n",
        escape(&summary.text())
    ));
    for p in &meta.problems {
        out.push_str(&format!("<p class=\"bad\">problem: {}</p>\n", escape(p)));
    }
    for w in &meta.warnings {
        out.push_str(&format!("<p class=\"doubt\">warning: {}</p>\n", escape(w)));
    }
    for g in groups {
        out.push_str(&release(g));
    }
    out.push_str("</body>\n</html>\n");
    out
}
