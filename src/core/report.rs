//! Rendering verify reports: the signer table and artifact grid (comfy-table), the stable JSON
//! schema, the corpus TSV, and the original gverify's lines. Pure: text in, text out.

use comfy_table::{Cell as TCell, ContentArrangement, Table, presets};
use serde_json::{Value, json};

use super::consensus::{Cell, GroupReport, Row, Verdict};
use super::status::RowStatus;

/// The JSON schema identifier; bumped on any incompatible change.
pub const JSON_SCHEMA: &str = "git-gitian/verify/v1";

/// Context shared by every renderer.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The time expiry was judged at (RFC 3339).
    pub at: String,
    /// Whether the run passed.
    pub passed: bool,
    /// Run-level problems (fail the run).
    pub problems: Vec<String>,
    /// Run-level warnings.
    pub warnings: Vec<String>,
    /// Certificates loaded.
    pub keys_loaded: usize,
}

const TSV_HEADER: &str = "ledger\trelease\tfile\tsigner\tsignature_status\tkey_fingerprint\tmanifest_matches_majority\tsigning_key_fingerprint\tmanifest_id\tsig_path";

fn dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// One line per signature (and per lone file or signature), the columns of the corpus's
/// `expected.tsv`, sorted as there.
pub fn tsv(groups: &[GroupReport]) -> String {
    let mut lines: Vec<(Vec<String>, String)> = Vec::new();
    for g in groups {
        for (i, row) in g.rows.iter().enumerate() {
            let sig_path = dash(row.sig_path.as_deref()).to_string();
            let cols = vec![
                row.layout.as_str().to_string(),
                row.release.clone(),
                row.file.clone(),
                row.signer.clone(),
                row.status.to_string(),
                dash(row.key_fingerprint.as_deref()).to_string(),
                if g.majority[i] { "yes" } else { "no" }.to_string(),
                dash(row.signing_key_fingerprint.as_deref()).to_string(),
                row.manifest_id.clone(),
                sig_path,
            ];
            let key = cols[..4].to_vec();
            lines.push((key, cols.iter().map(|c| clean(c)).collect::<Vec<_>>().join("\t")));
        }
    }
    lines.sort();
    let mut out = String::from(TSV_HEADER);
    out.push('\n');
    for (_, line) in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Control characters (tabs, newlines from hostile names) never reach the output raw.
fn clean(s: &str) -> String {
    if s.chars().any(char::is_control) { s.escape_default().to_string() } else { s.to_string() }
}

fn cell_str(c: &Cell) -> &'static str {
    match c {
        Cell::Agrees => "agrees",
        Cell::Differs => "differs",
        Cell::Absent => "absent",
        Cell::Unchecked => "unchecked",
        Cell::Undecided => "undecided",
    }
}

fn row_problem(row: &Row) -> Option<String> {
    row.conflict.clone().or_else(|| row.file_error.clone()).or_else(|| row.field_error.clone())
}

/// The stable JSON document (schema `git-gitian/verify/v1`, documented in the man page).
pub fn json(groups: &[GroupReport], meta: &Meta) -> String {
    let releases: Vec<Value> = groups
        .iter()
        .map(|g| {
            let signers: Vec<Value> = g
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "signer": r.signer,
                        "file": r.file,
                        "sig_path": r.sig_path,
                        "signature_status": r.status.to_string(),
                        "counts": r.counts,
                        "key_fingerprint": r.key_fingerprint,
                        "signing_key_fingerprint": r.signing_key_fingerprint,
                        "key_file": r.key_origin,
                        "manifest_id": r.manifest_id,
                        "manifest_group": g.manifest_group[i],
                        "matches_majority": g.majority[i],
                        "verdict": g.verdicts[i].as_str(),
                        "problem": row_problem(r),
                        "revisions": r.revs,
                    })
                })
                .collect();
            let artifacts: Vec<Value> = g
                .artifacts
                .iter()
                .map(|a| {
                    let cells: serde_json::Map<String, Value> = g
                        .rows
                        .iter()
                        .zip(&a.cells)
                        .map(|(r, c)| (r.signer.clone(), Value::from(cell_str(c))))
                        .collect();
                    json!({ "name": a.name, "consensus_sha256": a.consensus, "votes": a.votes, "signers": cells })
                })
                .collect();
            json!({
                "ledger": g.ledger,
                "layout": g.layout.as_str(),
                "release": g.release,
                "group": g.group,
                "passed": g.passed(),
                "consensus_votes": g.votes,
                "threshold": g.threshold,
                "threshold_met": g.threshold_met(),
                "missing_required_signers": g.missing_required,
                "signers": signers,
                "artifacts": artifacts,
            })
        })
        .collect();
    let doc = json!({
        "schema": JSON_SCHEMA,
        "passed": meta.passed,
        "at": meta.at,
        "keys_loaded": meta.keys_loaded,
        "problems": meta.problems,
        "warnings": meta.warnings,
        "releases": releases,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The original gverify's output: `<signer>: OK|MISMATCH|BAD SIGNATURE` with a blank line,
/// and `missing result at` / `missing signature at` lines. With several releases, each is
/// introduced by a `--- <release> ---` line.
pub fn gverify(groups: &[GroupReport], markup: bool, verbose: bool) -> String {
    let (bold, reset) = if markup { ("\x1b[1m", "\x1b[0m") } else { ("", "") };
    let mut out = String::new();
    for g in groups {
        if groups.len() > 1 {
            let group = if g.group.is_empty() { String::new() } else { format!(" {}", g.group) };
            out.push_str(&format!("--- {}{group} ---\n", g.release));
        }
        for (row, verdict) in g.rows.iter().zip(&g.verdicts) {
            let signer = clean(&row.signer);
            let dir = format!("{}/{}/{}/{}", g.ledger, g.release, signer, row.file);
            if row.status == RowStatus::NoSignature {
                out.push_str(&format!("missing signature at {dir}.sig\n"));
                continue;
            }
            if row.status == RowStatus::NoData {
                out.push_str(&format!("missing result at {dir}\n"));
                continue;
            }
            if verbose {
                out.push_str(&format!(
                    "gpg: {} signature by {}\n",
                    row.status,
                    dash(row.signing_key_fingerprint.as_deref().or(row.key_fingerprint.as_deref()))
                ));
                if let Some(p) = row_problem(row) {
                    out.push_str(&format!("note: {p}\n"));
                }
            }
            let word = match verdict {
                Verdict::Ok => "OK",
                Verdict::Mismatch | Verdict::NoConsensus => "MISMATCH",
                _ => "BAD SIGNATURE",
            };
            if word == "OK" {
                out.push_str(&format!("{signer}: OK\n\n"));
            } else {
                out.push_str(&format!("{bold}{signer}: {word}{reset}\n\n"));
            }
            if verbose
                && *verdict == Verdict::Mismatch
                && let (Some(c), Some(m)) = (&g.consensus, &row.manifest)
            {
                for (old, new) in c.entries.iter().zip(&m.entries) {
                    if old != new {
                        out.push_str(&format!(
                            "- {}  {}\n+ {}  {}\n",
                            old.hash, old.path, new.hash, new.path
                        ));
                    }
                }
            }
        }
    }
    out
}

fn short_key(k: Option<&str>) -> String {
    match k {
        Some(k) if k.len() > 16 => k[k.len() - 16..].to_string(),
        Some(k) => k.to_string(),
        None => "-".to_string(),
    }
}

/// The human report: per release a signer table (key, key file, signature status, manifest
/// group, verdict), a consensus line, and an artifact x signer grid. `width`: the terminal's
/// columns (None: the table asks the terminal itself, and does not wrap when there is none).
pub fn table(groups: &[GroupReport], meta: &Meta, width: Option<u16>) -> String {
    let mut out = String::new();
    for g in groups {
        let group = if g.group.is_empty() { String::new() } else { format!(" {}", g.group) };
        let one_file = g.rows.iter().all(|r| r.file == g.rows[0].file);
        let file = if one_file { format!(", {}", clean(&g.rows[0].file)) } else { String::new() };
        out.push_str(&format!(
            "release {}{group} ({}{file}, ledger {})\n",
            clean(&g.release),
            g.layout.as_str(),
            clean(&g.ledger)
        ));
        let mut t = Table::new();
        let mut header =
            vec!["#", "signer", "file", "key", "key file", "signature", "manifest", "verdict"];
        if one_file {
            header.remove(2);
        }
        t.load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if let Some(w) = width {
            t.set_width(w);
        }
        t.set_header(header);
        for (i, row) in g.rows.iter().enumerate() {
            let manifest = match (g.manifest_group[i], &row.manifest) {
                (Some(n), _) => format!("#{n}"),
                (None, Some(_)) => "empty".to_string(),
                (None, None) => "-".to_string(),
            };
            let mut verdict = g.verdicts[i].as_str().to_string();
            if let Some(p) = row_problem(row) {
                verdict.push_str(": ");
                verdict.push_str(&clean(&p));
            }
            let mut cells = vec![
                TCell::new(i + 1),
                TCell::new(clean(&row.signer)),
                TCell::new(clean(&row.file)),
                TCell::new(short_key(row.key_fingerprint.as_deref())),
                TCell::new(clean(row.key_origin.as_deref().unwrap_or("-"))),
                TCell::new(&row.status),
                TCell::new(manifest),
                TCell::new(verdict),
            ];
            if one_file {
                cells.remove(2);
            }
            t.add_row(cells);
        }
        out.push_str(&t.to_string());
        out.push('\n');
        let threshold = if g.threshold > 0 {
            format!(
                ", threshold {} {}",
                g.threshold,
                if g.threshold_met() { "met" } else { "NOT met" }
            )
        } else {
            String::new()
        };
        match &g.consensus {
            Some(c) => out.push_str(&format!(
                "consensus: manifest #1 ({} files) held by {} distinct key(s){threshold}\n",
                c.entries.len(),
                g.votes
            )),
            None => out.push_str(&format!("consensus: NONE (no manifest has more good signatures than every other){threshold}\n")),
        }
        if !g.missing_required.is_empty() {
            out.push_str(&format!(
                "required signers not agreeing: {}\n",
                g.missing_required.join(", ")
            ));
        }
        out.push_str(&grid(g, width));
        out.push_str(if g.passed() { "result: OK\n\n" } else { "result: FAILED\n\n" });
    }
    for p in &meta.problems {
        out.push_str(&format!("problem: {}\n", clean(p)));
    }
    for w in &meta.warnings {
        out.push_str(&format!("warning: {}\n", clean(w)));
    }
    out
}

fn grid(g: &GroupReport, width: Option<u16>) -> String {
    if g.artifacts.is_empty() {
        return String::new();
    }
    let all_agree = g.artifacts.iter().all(|a| {
        a.cells
            .iter()
            .zip(&g.rows)
            .all(|(c, r)| matches!(c, Cell::Agrees) || (r.manifest.is_none()))
    });
    if all_agree {
        return format!("artifacts: all {} agree for every signer\n", g.artifacts.len());
    }
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = width {
        t.set_width(w);
    }
    let mut header = vec!["artifact".to_string(), "consensus".to_string()];
    header.extend((1..=g.rows.len()).map(|i| i.to_string()));
    t.set_header(header);
    for a in &g.artifacts {
        let mut cells = vec![
            clean(&a.name),
            a.consensus.as_deref().map_or("none".into(), |h| h[..h.len().min(12)].to_string()),
        ];
        cells.extend(a.cells.iter().map(|c| {
            match c {
                Cell::Agrees => "=",
                Cell::Differs => "X",
                Cell::Absent => "-",
                Cell::Unchecked => "?",
                Cell::Undecided => "~",
            }
            .to_string()
        }));
        t.add_row(cells);
    }
    format!(
        "artifacts (columns are the signers numbered above; = agrees, X differs, - absent, ? signature does not count, ~ no consensus):\n{t}\n"
    )
}
