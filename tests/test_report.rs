//! verify's reports: every renderer's whole output on one fixed input (three signers, two
//! releases) at 80 and 200 columns, compared with the files in `tests/fixtures/report/`
//! (`GOLDEN_UPDATE=1` rewrites them; review the diff); then the real command on real ledgers:
//! reasons, summaries, widths, colour, the JSON schema, and the HTML page in Chromium.

use git_gitian::core::consensus::{self, GroupReport, Layout, Row};
use git_gitian::core::manifest::Manifest;
use git_gitian::core::report::{self, Absent, Charset, Meta, Options};
use git_gitian::core::status::{RowStatus, SigStatus};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::ledger::World;
use crate::common::*;

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
        manifest: m.map(|m| Manifest::parse(&m)),
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

/// Compares `actual` with `tests/fixtures/report/<name>`, or writes it with GOLDEN_UPDATE=1.
fn golden(name: &str, actual: &str) {
    let path = root().join("tests/fixtures/report").join(name);
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (GOLDEN_UPDATE=1 writes it)", path.display()));
    if want != actual {
        let diff: Vec<String> = want
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (w, a))| w != a)
            .take(5)
            .map(|(i, (w, a))| format!("line {}:\n  want: {w}\n  got:  {a}", i + 1))
            .collect();
        panic!(
            "{name} differs from {} ({} vs {} lines):\n{}\n--- whole output ---\n{actual}",
            path.display(),
            want.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

/// Every line fits `width` columns (escape sequences aside).
fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        let plain = strip_ansi(line);
        let w = report::text::width(&plain);
        assert!(w <= width, "{w} > {width} columns: {line:?}\n{text}");
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
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
            r.manifest = Some(Manifest::parse(&manifest('7', false)));
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

// ---- The real command on real ledgers ----

const GOOD: &str = "1111111111111111111111111111111111111111111111111111111111111111  hello-1.0.tar.gz\n2222222222222222222222222222222222222222222222222222222222222222  hello-1.0.zip\n";
const EVIL: &str = "1111111111111111111111111111111111111111111111111111111111111111  hello-1.0.tar.gz\n6666666666666666666666666666666666666666666666666666666666666666  hello-1.0.zip\n";

fn assert_text(release: &str, name: &str, manifest: &str) -> String {
    use git_gitian::core::assertion::{BuildResult, Document, to_assert};
    let r = BuildResult {
        out_manifest: manifest.to_string(),
        in_manifest: format!("{}  {name}-desc.yml\ngit:{} src", "d".repeat(64), "a".repeat(40)),
        ..Default::default()
    };
    let doc = Document::parse(&r.render()).unwrap();
    to_assert(&doc, release, name, None).render()
}

/// A ledger signed with real keys: release 1.0 by alice, bob and carol (agreeing), dave
/// (mallory's key, in builder-keys/dave.asc; another zip) and frank (a key nobody has);
/// release 2.0 by alice and bob, and dave and erin both signed by mallory's key.
struct Signed {
    w: World,
}

impl Signed {
    fn new() -> Self {
        let w = World::new(&["alice", "bob", "carol", "mallory", "frank"]);
        let s = Self { w };
        let keys = s.dir().join("builder-keys");
        std::fs::create_dir_all(&keys).unwrap();
        for who in ["alice", "bob", "carol"] {
            std::fs::write(keys.join(format!("{who}.asc")), s.w.public_key(who)).unwrap();
        }
        std::fs::write(keys.join("dave.asc"), s.w.public_key("mallory")).unwrap();
        for who in ["alice", "bob", "carol"] {
            s.attest("1.0", who, who, GOOD);
        }
        s.attest("1.0", "dave", "mallory", EVIL);
        s.attest("1.0", "frank", "frank", GOOD);
        for (who, key) in
            [("alice", "alice"), ("bob", "bob"), ("dave", "mallory"), ("erin", "mallory")]
        {
            s.attest("2.0", who, key, GOOD);
        }
        s
    }

    fn dir(&self) -> PathBuf {
        self.w.path("sigs")
    }

    fn attest(&self, release: &str, signer: &str, key: &str, manifest: &str) {
        let d = self.dir().join(release).join(signer);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("hello-build.assert");
        std::fs::write(&f, assert_text(release, "hello", manifest)).unwrap();
        let out = self
            .w
            .cmd("gpg")
            .args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(["-u", &format!("{key}@example.invalid"), "--detach-sign", "-o"])
            .arg(d.join("hello-build.assert.sig"))
            .arg(&f)
            .output()
            .unwrap();
        assert!(out.status.success(), "gpg: {}", stderr(&out));
    }

    /// `git-gitian verify -d <ledger> --at AT args`, with `env` set (COLUMNS, LANG, NO_COLOR
    /// and TERM unset unless given).
    fn verify(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.w.cmd(bin());
        c.args(["verify", "-d"]).arg(self.dir()).arg("--no-cache").args(args);
        for k in ["COLUMNS", "LANG", "LC_ALL", "LC_CTYPE", "NO_COLOR", "TERM"] {
            c.env_remove(k);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }
}

const UTF8_80: [(&str, &str); 2] = [("COLUMNS", "80"), ("LANG", "C.UTF-8")];

#[test]
fn test_report_cli_every_signer_not_ok_says_why_in_every_format() {
    let l = Signed::new();
    let out = l.verify(&[], &UTF8_80);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert_fits(&table, 80);
    for why in [
        "manifest #2 differs from the consensus on 1 of 2 artifacts: hello-1.0.zip",
        "which is in no key file that was read (no_pubkey); add frank's public key to",
        "also signed erin in this release: one key is one vote",
        "also signed dave in this release",
    ] {
        assert!(
            table.contains(why) || table.replace("\n     ", " ").contains(why),
            "{why}:\n{table}"
        );
    }
    // The run ends with its summary: two releases, the worse cause of each.
    assert_eq!(
        table.lines().last().unwrap(),
        "2 releases: 0 OK, 2 FAILED (1 with a mismatch, 1 with a shared key)",
        "{table}"
    );
    assert!(table.contains("result: FAILED: 1 of 5 signatures does not count (frank: no_pubkey); 1 of 5 differs from the consensus (dave)")
        || table.replace("\n  ", " ").contains("result: FAILED: 1 of 5 signatures does not count (frank: no_pubkey); 1 of 5 differs from the consensus (dave)"), "{table}");

    let json = l.verify(&["--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    for r in doc["releases"].as_array().unwrap() {
        for s in r["signers"].as_array().unwrap() {
            assert_eq!(s["problem"].is_null(), s["verdict"] == "OK", "{s:#}");
        }
    }
    assert_eq!(doc["summary"]["causes"], serde_json::json!({"mismatch": 1, "shared_key": 1}));

    let gv = stdout(&l.verify(&["--format", "gverify", "--no-markup", "-r", "1.0"], &[]));
    assert!(gv.contains("frank: BAD SIGNATURE\nnote: signed by key "), "{gv}");
    assert!(gv.contains("alice: OK\n\n"), "{gv}");
    let gv = stdout(&l.verify(&["--format", "gverify", "--no-markup", "-r", "2.0"], &[]));
    assert!(gv.contains("erin: BAD SIGNATURE\nnote: key "), "{gv}");

    let md = stdout(&l.verify(&["--format", "markdown"], &[]));
    assert!(
        md.contains("| 4 | dave | builder-keys/dave.asc | good | MISMATCH | manifest \\#2 differs"),
        "{md}"
    );
    assert!(
        md.contains("6666666666666666666666666666666666666666666666666666666666666666"),
        "{md}"
    );
}

#[test]
fn test_report_cli_no_keys_is_said_loudly_on_stderr() {
    let l = Signed::new();
    std::fs::remove_dir_all(l.dir().join("builder-keys")).unwrap();
    for format in ["table", "json", "gverify", "tsv"] {
        let out = l.verify(&["--format", format, "-r", "1.0"], &[]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains(
                "warning: no public key was loaded: none of the 5 signatures can be verified"
            ),
            "{format}: {err}"
        );
        assert!(err.contains("hint: pass --keys PATH"), "{format}: {err}");
        assert!(!stdout(&out).contains("warning:"), "{format}: warnings belong on stderr");
    }
    let out = l.verify(&["--format", "json", "-r", "1.0"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["warnings"][0],
        "no public key was loaded: none of the 5 signatures can be verified"
    );
    assert_eq!(doc["summary"]["causes"], serde_json::json!({"no_keys": 1}));
    // A key file that is not a key: a warning on stderr, never in the report.
    std::fs::create_dir_all(l.dir().join("builder-keys")).unwrap();
    std::fs::write(l.dir().join("builder-keys/broken.asc"), "not a key").unwrap();
    let out = l.verify(&["--format", "gverify", "-r", "1.0"], &[]);
    assert!(
        stderr(&out).contains("warning: key file builder-keys/broken.asc skipped"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("broken.asc"));
}

#[test]
fn test_report_cli_compare_to_name_and_verbose() {
    let l = Signed::new();
    // -c pins the reference: against dave's manifest, the honest signers differ.
    let out = l.verify(&["-r", "1.0", "-c", "dave", "--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<(&str, &str)> = doc["releases"][0]["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["signer"].as_str().unwrap(), s["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("alice", "MISMATCH"),
            ("bob", "MISMATCH"),
            ("carol", "MISMATCH"),
            ("dave", "OK"),
            ("frank", "UNVERIFIED")
        ]
    );
    // A signer that does not exist is an error, not a run without consensus.
    let out = l.verify(&["-r", "1.0", "-c", "nobody"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: --compare-to 'nobody': no such signer"),
        "{}",
        stderr(&out)
    );
    // --name selects the attestation; a directory without it is `missing result at`, as
    // gverify says.
    std::fs::create_dir_all(l.dir().join("1.0/gina")).unwrap();
    std::fs::write(l.dir().join("1.0/gina/other-build.assert"), "x").unwrap();
    let out =
        l.verify(&["-r", "1.0", "--name", "hello", "--format", "gverify", "--no-markup"], &[]);
    let gv = stdout(&out);
    assert!(
        gv.contains(&format!(
            "missing result at {}/1.0/gina/hello-build.assert\n",
            l.dir().display()
        )),
        "{gv}"
    );
    assert!(!gv.contains("other-build"), "{gv}");
    let out = l.verify(&["-r", "1.0", "--name", "nothing"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // -v: the differing hash in full, with its signer, in the table.
    let plain = stdout(&l.verify(&["-r", "1.0"], &UTF8_80));
    let out = stdout(&l.verify(&["-r", "1.0", "-v"], &UTF8_80));
    assert!(!plain.contains(&"6".repeat(64)), "{plain}");
    assert!(out.contains(&format!("4 dave     {}", "6".repeat(64))), "{out}");
    assert!(out.contains(&format!("consensus  {}", "2".repeat(64))), "{out}");
    assert_fits(&out, 80);
}

#[test]
fn test_report_cli_width_colour_and_ascii() {
    let l = Signed::new();
    // A pipe without COLUMNS, or COLUMNS=0: nothing shortened.
    for env in [&[][..], &[("COLUMNS", "0")][..]] {
        let out = stdout(&l.verify(&["-r", "1.0"], env));
        assert!(out.lines().any(|line| line.chars().count() > 80), "{out}");
        assert!(!out.contains("..."), "{out}");
    }
    let narrow = stdout(&l.verify(&["-r", "1.0"], &[("COLUMNS", "60"), ("LANG", "C.UTF-8")]));
    assert_fits(&narrow, 60);
    // LANG=C: plain ASCII.
    let ascii = stdout(&l.verify(&["-r", "1.0"], &[("COLUMNS", "80"), ("LANG", "C")]));
    assert!(ascii.is_ascii(), "{ascii}");
    let dumb = stdout(&l.verify(&["-r", "1.0"], &[("LANG", "C.UTF-8"), ("TERM", "dumb")]));
    assert!(dumb.is_ascii(), "{dumb}");
    // Colour when asked, never into a pipe otherwise, never with --color never.
    let always = stdout(&l.verify(&["-r", "1.0", "--color", "always"], &UTF8_80));
    assert!(
        always.contains("\x1b[32mOK\x1b[0m") && always.contains("\x1b[31mMISMATCH\x1b[0m"),
        "{always}"
    );
    assert!(always.contains("\x1b[33mUNVERIFIED\x1b[0m"), "{always}");
    assert_fits(&always, 80);
    for args in [&["-r", "1.0"][..], &["-r", "1.0", "--color", "never"][..]] {
        let out = stdout(&l.verify(args, &[("NO_COLOR", "1"), ("COLUMNS", "80")]));
        assert!(!out.contains('\x1b'), "{out}");
    }
    // The git config gitian.color stands in for --color, which overrides it.
    let config = l.w.home().join(".gitconfig");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[gitian]\n\tcolor = always\n");
    std::fs::write(&config, text).unwrap();
    assert!(stdout(&l.verify(&["-r", "1.0"], &UTF8_80)).contains("\x1b[32mOK\x1b[0m"));
    let never = stdout(&l.verify(&["-r", "1.0", "--color", "never"], &UTF8_80));
    assert!(!never.contains('\x1b'), "{never}");
}

#[test]
fn test_report_cli_unreadable_attestation_marks_its_signer_invalid() {
    let l = Signed::new();
    git(&l.dir(), &["init", "-q", "-b", "main"]);
    git(&l.dir(), &["add", "-A"]);
    git(&l.dir(), &["commit", "-q", "-m", "ledger"]);
    // The blob of dave's attestation (the only one with its bytes) goes missing from the
    // object store.
    let blob = git(&l.dir(), &["rev-parse", "HEAD:1.0/dave/hello-build.assert"]);
    std::fs::remove_file(l.dir().join(format!(".git/objects/{}/{}", &blob[..2], &blob[2..])))
        .unwrap();
    let out = l.verify(&["-r", "1.0", "--rev", "main", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1), "the run goes on: {}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dave = doc["releases"][0]["signers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["signer"] == "dave")
        .unwrap()
        .clone();
    assert_eq!(dave["verdict"], "INVALID", "{dave:#}");
    let why = dave["problem"].as_str().unwrap();
    assert!(
        why.starts_with("1.0/dave/hello-build.assert: cannot be read: object not found"),
        "{why}"
    );
    let alice = doc["releases"][0]["signers"][0].clone();
    assert_eq!(alice["verdict"], "OK", "{alice:#}");
    // The header says what was read.
    let table = stdout(&l.verify(&["-r", "1.0", "--rev", "main"], &[]));
    assert!(
        table.starts_with(&format!("read: {}: git objects at main (", l.dir().display())),
        "{table}"
    );
    std::fs::write(l.dir().join("1.0/alice/notes.txt"), "x").unwrap();
    let table = stdout(&l.verify(&["-r", "2.0"], &[]));
    assert!(table.lines().next().unwrap().ends_with("with uncommitted changes"), "{table}");
}

fn schema() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/verify-v1.schema.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn test_report_json_validates_against_the_shipped_schema() {
    let s = schema();
    // The golden document (every key of every object, in order) and real output.
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/report/verify.json")).unwrap(),
    )
    .unwrap();
    let errors = crate::common::schema::validate(&s, &golden);
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator fails on what the schema forbids.
    let mut broken = golden.clone();
    broken["releases"][0]["signers"][2]["problem"] = serde_json::Value::Null;
    broken["releases"][0]["extra"] = serde_json::json!(1);
    let errors = crate::common::schema::validate(&s, &broken);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let l = Signed::new();
    let doc: serde_json::Value =
        serde_json::from_slice(&l.verify(&["--format", "json"], &[]).stdout).unwrap();
    let errors = crate::common::schema::validate(&s, &doc);
    assert!(errors.is_empty(), "{errors:#?}");
    let c = corpus();
    let out = Command::new(bin())
        .args(["verify", "--no-cache", "--format", "json", "--at", AT, "-d"])
        .arg(c.join("gitian.sigs"))
        .arg("-d")
        .arg(c.join("guix.sigs"))
        .arg("--keys")
        .arg(c.join("keys"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = crate::common::schema::validate(&s, &doc);
    assert!(errors.is_empty(), "{errors:#?}");
}

/// Runs headless Chromium on `page` with `args` (as root: no sandbox), in a fresh profile.
fn chromium(page: &Path, args: &[String], profile: &Path) -> Output {
    let out = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is not installed: scripts/install-deps installs it");
    assert!(out.status.success(), "chromium: {}", stderr(&out));
    out
}

/// Pixels of the colour `td.disagrees` paints (#ff3b30) in a screenshot of `page`.
fn highlighted_pixels(page: &Path, shot: &Path) -> usize {
    let profile = tempfile::tempdir().unwrap();
    let args = [format!("--screenshot={}", shot.display()), "--window-size=1400,1600".to_string()];
    chromium(page, &args, profile.path());
    let img = crate::common::png::decode(&std::fs::read(shot).unwrap());
    assert_eq!((img.width, img.height), (1400, 1600));
    img.pixels.iter().filter(|p| p[..3] == [0xff, 0x3b, 0x30]).count()
}

#[test]
fn test_report_html_renders_in_chromium_with_the_disagreeing_cell_highlighted() {
    let l = Signed::new();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test_report");
    std::fs::create_dir_all(&out_dir).unwrap();
    let page = out_dir.join("verify-1.0.html");
    let out = l.verify(&["-r", "1.0", "--format", "html"], &[]);
    assert_eq!(out.status.code(), Some(1));
    std::fs::write(&page, &out.stdout).unwrap();
    let html = stdout(&out);
    // Self-contained: nothing is fetched from anywhere.
    for external in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(!html.contains(external), "{external} in the page");
    }
    // Chromium parses it into the document we wrote: the tables, dave's differing zip cell.
    let profile = tempfile::tempdir().unwrap();
    let dom = stdout(&chromium(&page, &["--dump-dom".to_string()], profile.path()));
    assert!(dom.contains("<h1>git gitian verify</h1>"), "{dom}");
    let cell =
        format!("<td class=\"cell differs disagrees\" title=\"dave: {}\">X</td>", "6".repeat(64));
    assert!(dom.contains(&cell), "{dom}");
    assert_eq!(dom.matches("disagrees\"").count(), 1, "only dave's zip disagrees: {dom}");
    assert!(dom.contains("manifest #2 differs from the consensus on 1 of 2 artifacts"), "{dom}");
    // Rendered: the highlight is on screen (a cell's worth of red pixels), and a page where
    // everyone agrees has none.
    let red = highlighted_pixels(&page, &out_dir.join("verify-1.0.png"));
    assert!(red > 200, "{red} highlighted pixels in {}", out_dir.join("verify-1.0.png").display());
    let agreeing = out_dir.join("verify-2.0.html");
    std::fs::write(&agreeing, l.verify(&["-r", "2.0", "--format", "html"], &[]).stdout).unwrap();
    assert_eq!(highlighted_pixels(&agreeing, &out_dir.join("verify-2.0.png")), 0);
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
fn test_report_cli_gverify_words_for_what_gverify_saw() {
    let l = Signed::new();
    // Release 3.0: alice and dave tie (one key each), and carol signed inline into a .gpg
    // (a whole signed message), which gverify never reads.
    l.attest("3.0", "alice", "alice", GOOD);
    l.attest("3.0", "dave", "mallory", EVIL);
    let d = l.dir().join("3.0/carol");
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join("hello-build.assert");
    std::fs::write(&f, assert_text("3.0", "hello", GOOD)).unwrap();
    let out =
        l.w.cmd("gpg")
            .args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(["-u", "carol@example.invalid", "--sign", "-o"])
            .arg(d.join("hello-build.assert.gpg"))
            .arg(&f)
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = l.verify(&["-r", "3.0", "--format", "gverify", "--no-markup"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let sigs = l.dir().display().to_string();
    let tie = "note: no consensus: manifests #1 (alice) and #2 (dave) tie with 1 key each";
    // Without a consensus, gverify's rule: the first directory's manifest is the reference.
    let want = format!(
        "alice: OK\n{tie}\n\n\
         missing signature at {sigs}/3.0/carol/hello-build.assert.sig\n\
         note: carol: 3.0/carol/hello-build.assert.gpg is a whole signed message, not a detached signature of hello-build.assert (inline:good); gverify reads only hello-build.assert.sig\n\
         dave: MISMATCH\n{tie}\n\n"
    );
    assert_eq!(stdout(&out), want);
    // Markup: every status bold, OK too, as gverify did.
    let out = stdout(&l.verify(&["-r", "1.0", "--format", "gverify"], &[]));
    assert!(out.contains("\x1b[1malice: OK\x1b[0m\n\n"), "{out}");
    assert!(out.contains("\x1b[1mdave: MISMATCH\x1b[0m\nnote: "), "{out}");
    assert!(out.contains("\x1b[1mfrank: BAD SIGNATURE\x1b[0m\nnote: signed by key "), "{out}");
}
