//! The stable JSON document, schema `git-gitian/verify/v1`: documented field by field in the
//! man page and in `docs/verify-v1.schema.json`. Keys come in a fixed, readable order (`schema`
//! first) because every object is a struct here; fields are only ever added.

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::consensus::{Cell, GroupReport};
use super::Meta;
use super::reason::{self, Summary};

/// The JSON schema identifier; bumped on any incompatible change.
pub const JSON_SCHEMA: &str = "git-gitian/verify/v1";

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    passed: bool,
    at: &'a str,
    keys_loaded: usize,
    sources: &'a [String],
    summary: SummaryDoc,
    problems: &'a [String],
    warnings: &'a [String],
    releases: Vec<Release<'a>>,
}

#[derive(Serialize)]
struct SummaryDoc {
    releases: usize,
    ok: usize,
    failed: usize,
    causes: BTreeMap<&'static str, usize>,
    text: String,
}

#[derive(Serialize)]
struct Release<'a> {
    ledger: &'a str,
    layout: &'static str,
    release: &'a str,
    group: &'a str,
    passed: bool,
    result: String,
    consensus_votes: usize,
    threshold: usize,
    threshold_met: bool,
    missing_required_signers: &'a [String],
    signers: Vec<Signer<'a>>,
    artifacts: Vec<Artifact<'a>>,
}

#[derive(Serialize)]
struct Signer<'a> {
    signer: &'a str,
    file: &'a str,
    sig_path: Option<&'a str>,
    signature_status: String,
    counts: bool,
    key_fingerprint: Option<&'a str>,
    signing_key_fingerprint: Option<&'a str>,
    key_file: Option<&'a str>,
    manifest_id: &'a str,
    manifest_group: Option<usize>,
    matches_majority: bool,
    verdict: &'static str,
    problem: Option<String>,
    shares_key_with: Vec<String>,
    revisions: &'a [String],
}

#[derive(Serialize)]
struct Artifact<'a> {
    name: &'a str,
    consensus_sha256: Option<&'a str>,
    votes: usize,
    signers: BTreeMap<&'a str, &'static str>,
}

/// The word of a grid cell in JSON.
pub fn cell_str(c: &Cell) -> &'static str {
    match c {
        Cell::Agrees => "agrees",
        Cell::Differs => "differs",
        Cell::Absent => "absent",
        Cell::Unchecked => "unchecked",
        Cell::Undecided => "undecided",
    }
}

fn release(g: &GroupReport) -> Release<'_> {
    let signers = g
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| Signer {
            signer: &r.signer,
            file: &r.file,
            sig_path: r.sig_path.as_deref(),
            signature_status: r.status.to_string(),
            counts: r.counts,
            key_fingerprint: r.key_fingerprint.as_deref(),
            signing_key_fingerprint: r.signing_key_fingerprint.as_deref(),
            key_file: r.key_origin.as_deref(),
            manifest_id: &r.manifest_id,
            manifest_group: g.manifest_group[i],
            matches_majority: g.majority[i],
            verdict: g.verdicts[i].as_str(),
            problem: reason::row_reason(g, i),
            shares_key_with: reason::sharing(g, i),
            revisions: &r.revs,
        })
        .collect();
    let artifacts = g
        .artifacts
        .iter()
        .map(|a| Artifact {
            name: &a.name,
            consensus_sha256: a.consensus.as_deref(),
            votes: a.votes,
            signers: g.rows.iter().zip(&a.cells).map(|(r, c)| (&*r.signer, cell_str(c))).collect(),
        })
        .collect();
    Release {
        ledger: &g.ledger,
        layout: g.layout.as_str(),
        release: &g.release,
        group: &g.group,
        passed: g.passed(),
        result: reason::result_line(g),
        consensus_votes: g.votes,
        threshold: g.threshold,
        threshold_met: g.threshold_met(),
        missing_required_signers: &g.missing_required,
        signers,
        artifacts,
    }
}

/// The JSON document, pretty-printed, with a final newline.
pub fn render(groups: &[GroupReport], meta: &Meta) -> String {
    let s = Summary::of(groups);
    let doc = Doc {
        schema: JSON_SCHEMA,
        passed: meta.passed,
        at: &meta.at,
        keys_loaded: meta.keys_loaded,
        sources: &meta.sources,
        summary: SummaryDoc {
            releases: s.releases,
            ok: s.ok,
            failed: s.failed,
            causes: s.causes.iter().map(|(c, n)| (c.id(), *n)).collect(),
            text: s.text(),
        },
        problems: &meta.problems,
        warnings: &meta.warnings,
        releases: groups.iter().map(release).collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
