//! verify's reports from the real command on real ledgers signed with real keys: reasons in
//! every format, warnings on stderr, -c/--name/-v, width, colour and ASCII (in a pipe and on a
//! pseudo-terminal), an unreadable attestation, the JSON against the shipped schema, gverify's
//! words, and the HTML page in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::ledger::World;
use crate::common::report::{assert_fits, strip_ansi};
use crate::common::sigs::{EVIL, GOOD, assert_text};
use crate::common::*;

const AT: &str = "2026-11-28T00:00:00Z";

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
        self.w.gpg.sign(key, &f);
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
    let (gpg, file) = (d.join("hello-build.assert.gpg"), f.display().to_string());
    l.w.gpg.gpg(&["-u", "carol@example.invalid", "--sign", "-o", gpg.to_str().unwrap(), &file]);
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

#[test]
fn test_report_cli_on_a_terminal_takes_its_width_and_colours_unless_no_color() {
    let l = Signed::new();
    // `script` gives the command a pseudo-terminal of 70 columns.
    let on_tty = |no_color: bool| {
        let cmd = format!(
            "stty cols 70; {} verify -d {} -r 1.0 --no-cache",
            bin().display(),
            l.dir().display()
        );
        let mut c = l.w.cmd("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("COLUMNS").env("LANG", "C.UTF-8");
        c.env("TERM", "xterm");
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    let coloured = on_tty(false);
    assert!(coloured.contains("\x1b[32mOK\x1b[0m"), "{coloured}");
    assert_fits(&coloured, 70);
    assert!(
        coloured.lines().any(|l| git_gitian::core::report::text::width(&strip_ansi(l)) > 60),
        "{coloured}"
    );
    let plain = on_tty(true);
    assert!(!plain.contains("\x1b["), "{plain}");
    assert_fits(&plain, 70);
}
