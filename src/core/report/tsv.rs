//! The corpus TSV: one line per signature (and per lone file or signature), the columns of the
//! corpus's `expected.tsv`, sorted as there.

use super::super::consensus::GroupReport;
use super::dash;
use super::text::clean;

const TSV_HEADER: &str = "ledger\trelease\tfile\tsigner\tsignature_status\tkey_fingerprint\tmanifest_matches_majority\tsigning_key_fingerprint\tmanifest_id\tsig_path";

/// The TSV document, header first.
pub fn render(groups: &[GroupReport]) -> String {
    let mut lines: Vec<(Vec<String>, String)> = Vec::new();
    for g in groups {
        for (i, row) in g.rows.iter().enumerate() {
            let cols = [
                row.layout.as_str().to_string(),
                row.release.clone(),
                row.file.clone(),
                row.signer.clone(),
                row.status.to_string(),
                dash(row.key_fingerprint.as_deref()).to_string(),
                if g.majority[i] { "yes" } else { "no" }.to_string(),
                dash(row.signing_key_fingerprint.as_deref()).to_string(),
                row.manifest_id.clone(),
                dash(row.sig_path.as_deref()).to_string(),
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
