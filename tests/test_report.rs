//! verify's reports, the pure part: every renderer's whole output on one fixed input (three
//! signers, two releases) at 80 and 200 columns, compared with the files in
//! `tests/fixtures/report/` (`GOLDEN_UPDATE=1` rewrites them; review the diff), and the
//! reasons and summaries. `test_report_cli` runs the real command.

use git_gitian::core::consensus::{self, GroupReport, Layout, Row};
use git_gitian::core::manifest::Manifest;
use git_gitian::core::report::{self, Absent, Charset, Meta, Options};
use git_gitian::core::status::{RowStatus, SigStatus};

use crate::common::report::assert_fits;

const AT: &str = "2026-11-28T00:00:00Z";
const CAROL: &str = "carol-the-careful-builder-of-hello";

fn h(c: char) -> String {
    c.to_string().repeat(64)
}

fn manifest(zip: char, extra: bool) -> String {
    let mut m = format!(
        "{}  hello-1.0-x86_64-linux-gnu.tar.gz\n{}  hello-1.0-x86_64-linux-gnu-debug.tar.gz\n{}  hello-1.0.zip\n",
        h('1'),
        h('3'),
        h(zip)
    );
    if extra {
        m.push_str(&format!("{}  hello-1.0-extra.txt\n", h('9')));
    }
    m
}

fn fpr(c: char) -> String {
    format!(
        "{}{}",
        "0123456789ABCDEF0123456789ABCDEF".chars().take(24).collect::<String>(),
        c.to_string().repeat(16)
    )
}

fn row(release: &str, signer: &str, status: RowStatus, key: char, m: Option<String>) -> Row {
    let counts = status == RowStatus::Signature(SigStatus::Good);
    let known = counts || matches!(status, RowStatus::Signature(SigStatus::Bad));
    let has_sig = status != RowStatus::NoSignature;
    Row {
        layout: Layout::Gitian,
        ledger: "sigs".into(),
        release: release.into(),
        group: String::new(),
        file: "hello-build.assert".into(),
        signer: signer.into(),
        sig_path: has_sig.then(|| format!("{release}/{signer}/hello-build.assert.sig")),
        counts,
        key_fingerprint: has_sig.then(|| fpr(key)),
        signing_key_fingerprint: known.then(|| fpr(key)),
        key_origin: known.then(|| format!("builder-keys/{signer}.asc")),
        manifest_id: if m.is_some() { "0a1b2c3d4e5f".into() } else { "-".into() },
        manifest: m.map(|m| Manifest::parse(&m).into()),
        status,
        file_error: None,
        field_error: None,
        revs: Vec::new(),
        conflict: None,
    }
}

/// Release 1.0: alice and bob agree, carol differs on one artifact and has one more; release
/// 2.0: alice good, bob's key was not loaded, carol did not sign.
fn fixture() -> (Vec<GroupReport>, Meta) {
    let good = RowStatus::Signature(SigStatus::Good);
    let rows = vec![
        row("1.0", "alice", good.clone(), 'A', Some(manifest('2', false))),
        row("1.0", "bob", good.clone(), 'B', Some(manifest('2', false))),
        row("1.0", CAROL, good.clone(), 'C', Some(manifest('6', true))),
        row("2.0", "alice", good.clone(), 'A', Some(manifest('2', false))),
        row(
            "2.0",
            "bob",
            RowStatus::Signature(SigStatus::NoPubkey),
            'B',
            Some(manifest('2', false)),
        ),
        row("2.0", CAROL, RowStatus::NoSignature, 'C', Some(manifest('2', false))),
    ];
    let groups =
        consensus::compute(rows, &consensus::Options { threshold: 2, ..Default::default() });
    let meta = Meta {
        at: AT.into(),
        checked: AT.into(),
        sources: vec!["sigs: work tree at 0123456789ab, no uncommitted changes".into()],
        passed: false,
        problems: Vec::new(),
        warnings: vec!["key file builder-keys/broken.asc skipped: no OpenPGP data".into()],
        keys_loaded: 3,
        absent: vec![Absent {
            ledger: "sigs".into(),
            release: "2.0".into(),
            signer: "dave".into(),
            file: "hello-build.assert".into(),
        }],
    };
    (groups, meta)
}

/// Compares `actual` with `tests/fixtures/report/<name>` (GOLDEN_UPDATE=1 writes it).
fn golden(name: &str, actual: &str) {
    crate::common::report::golden(&format!("report/{name}"), actual);
}

fn opts(width: usize) -> Options {
    Options { width: Some(width), ..Options::default() }
}

#[test]
fn test_report_table_whole_output_at_80_and_200() {
    let (groups, meta) = fixture();
    for w in [80, 200] {
        let out = report::table::render(&groups, &meta, &opts(w));
        assert_fits(&out, w);
        golden(&format!("table-{w}.txt"), &out);
    }
    // Nothing shortened without a width: the pipe case.
    let out = report::table::render(&groups, &meta, &Options::default());
    assert!(out.contains(&format!("builder-keys/{CAROL}.asc")), "{out}");
}

#[test]
fn test_report_table_ascii_colour_verbose_all() {
    let (groups, meta) = fixture();
    let o = Options { charset: Charset::Ascii, color: true, verbose: true, all: true, ..opts(80) };
    let out = report::table::render(&groups, &meta, &o);
    assert_fits(&out, 80);
    assert!(out.is_ascii(), "{out}");
    assert!(out.contains("\x1b[32mOK\x1b[0m") && out.contains("\x1b[31mMISMATCH\x1b[0m"));
    golden("table-80-ascii-color-verbose-all.txt", &out);
    let o = Options { verbose: true, ..opts(200) };
    let out = report::table::render(&groups, &meta, &o);
    // -v: the differing hash in full, with who has it.
    assert!(out.contains(&format!("3 {CAROL}  {}", h('6'))), "{out}");
    golden("table-200-verbose.txt", &out);
}

#[test]
fn test_report_narrow_terminal_transposes_the_grid_and_breaks_no_word() {
    let good = RowStatus::Signature(SigStatus::Good);
    let mut rows: Vec<Row> = (0..30)
        .map(|i| {
            row("1.0", &format!("builder{i:02}"), good.clone(), 'A', Some(manifest('2', false)))
        })
        .collect();
    for (i, r) in rows.iter_mut().enumerate() {
        r.key_fingerprint = Some(format!("{:040X}", i + 1));
        if i % 3 == 0 {
            r.manifest = Some(Manifest::parse(&manifest('7', false)).into());
        }
    }
    let groups = consensus::compute(rows, &consensus::Options::default());
    // 30 signer columns do not fit 60 columns; 3 artifact columns do.
    let o = Options { all: true, ..opts(60) };
    let out = report::table::render(&groups, &Meta::default(), &o);
    assert_fits(&out, 60);
    assert!(out.contains("a3 hello-1.0.zip (consensus 222222222222)"), "{out}");
    golden("table-60-transposed.txt", &out);
}

#[test]
fn test_report_json_tsv_gverify_markdown_html_whole_output() {
    let (groups, meta) = fixture();
    for w in [80, 200] {
        let o = opts(w);
        golden("verify.json", &report::json::render(&groups, &meta));
        golden("verify.tsv", &report::tsv::render(&groups));
        golden("gverify.txt", &report::gverify::render(&groups, &meta, false, false));
        golden("gverify-markup-v.txt", &report::gverify::render(&groups, &meta, true, true));
        golden("verify.md", &report::markdown::render(&groups, &meta, &o));
        golden("verify.html", &report::html::render(&groups, &meta));
    }
}

#[test]
fn test_report_summary_counts_releases_by_cause() {
    let (groups, _) = fixture();
    let s = report::reason::Summary::of(&groups);
    assert_eq!(s.text(), "2 releases: 0 OK, 2 FAILED (1 with a mismatch, 1 without enough keys)");
}

#[test]
fn test_report_every_signer_not_ok_has_a_reason() {
    let (groups, _) = fixture();
    for g in &groups {
        for i in 0..g.rows.len() {
            let why = report::reason::row_reason(g, i);
            assert_eq!(why.is_none(), g.verdicts[i] == consensus::Verdict::Ok, "{why:?}");
        }
    }
    let line = report::reason::result_line(&groups[1]);
    assert_eq!(
        line,
        format!(
            "FAILED: 1 of 3 signatures does not count (bob: no_pubkey); 1 missing ({CAROL}: no_signature); threshold 2 NOT met (1 key agrees)"
        )
    );
}

#[test]
fn test_report_a_tie_names_the_manifests_and_a_shared_key_the_directories() {
    let good = RowStatus::Signature(SigStatus::Good);
    let rows = vec![
        row("1.0", "alice", good.clone(), 'A', Some(manifest('2', false))),
        row("1.0", "bob", good.clone(), 'B', Some(manifest('6', false))),
        row("1.0", "carol", good.clone(), 'C', Some(manifest('2', false))),
        row("1.0", "dave", good.clone(), 'D', Some(manifest('6', false))),
        row("1.0", "eve", good.clone(), 'D', Some(manifest('6', false))),
    ];
    let groups = consensus::compute(rows, &consensus::Options::default());
    let g = &groups[0];
    let tie =
        "no consensus: manifests #1 (alice, carol) and #2 (bob, dave, eve) tie with 2 keys each";
    assert_eq!(report::reason::row_reason(g, 0).unwrap(), tie);
    let shared = report::reason::row_reason(g, 3).unwrap();
    assert!(
        shared.starts_with(&format!("key {} also signed eve in this release", fpr('D'))),
        "{shared}"
    );
    assert_eq!(report::reason::sharing(g, 4), ["dave"]);
    assert_eq!(report::reason::result_line(g), format!("FAILED: 2 share a key (dave, eve); {tie}"));
}

#[test]
fn test_report_few_or_no_keys_are_warned_about() {
    let (groups, _) = fixture();
    let warn = |keys| report::reason::key_warnings(&groups, keys);
    assert_eq!(warn(0)[0].0, "no public key was loaded: none of the 5 signatures can be verified");
    assert!(warn(0)[0].1.starts_with("pass --keys PATH"));
    // One of five signatures by an unknown key: not few enough to warn about.
    assert!(warn(3).is_empty());
    let mut unknown = groups.clone();
    for g in &mut unknown {
        for r in &mut g.rows {
            if r.status.signature().is_some() {
                r.status = RowStatus::Signature(SigStatus::NoPubkey);
            }
        }
    }
    let w = report::reason::key_warnings(&unknown, 1);
    assert_eq!(
        w[0].0,
        "only 1 public key was loaded: 5 of 5 signatures are by keys in no key file"
    );
}

#[test]
fn test_report_hostile_names_cannot_inject_markup() {
    let good = RowStatus::Signature(SigStatus::Good);
    let evil = "<img src=x onerror=alert(1)>|`x`\x1b[31m";
    let rows = vec![
        row("1.0", "alice", good.clone(), 'A', Some(manifest('2', false))),
        row("1.0", evil, good.clone(), 'B', Some(manifest('6', false))),
        row("1.0", "carol", good, 'C', Some(manifest('2', false))),
    ];
    let groups = consensus::compute(rows, &consensus::Options::default());
    let meta = Meta::default();
    let html = report::html::render(&groups, &meta);
    assert!(
        !html.contains("<img") && html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    let md = report::markdown::render(&groups, &meta, &opts(80));
    assert!(md.contains("| &lt;img src=x onerror=alert(1)&gt;\\|\\`x\\`"), "{md}");
    // Raw only inside fenced blocks (the differing hashes), which render as text.
    let outside: String = md.split("```").step_by(2).collect();
    assert!(!outside.contains("<img"), "{md}");
    for out in [html, md, report::table::render(&groups, &meta, &opts(80))] {
        assert!(!out.contains('\x1b'), "a raw escape reached the output: {out}");
    }
}
