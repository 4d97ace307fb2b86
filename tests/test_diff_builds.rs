//! `git gitian diff` of whole builds, and a descriptor's `normalize:` (issue 15): real builds
//! on the sandbox backend whose archives differ only in metadata, normalised before hashing,
//! signed as gsign signs them; build folders of the shapes `git gitian check` keeps
//! (`var/check/<build-name>/`); and the bounds of a report (text lines, the --deep timeout).

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::diff::{nodes, what};
use crate::common::guests::{base, base_dir};
use crate::common::ledger::World;
use crate::common::{bin, gitian_build_cmd, run_in, stderr, stdout};

/// Runs a bash script in `dir` with UTC and the C locale; returns its stdout; panics when it
/// fails.
fn sh(dir: &Path, script: &str) -> String {
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .expect("run bash");
    assert!(out.status.success(), "{script}\n{}", stderr(&out));
    stdout(&out)
}

fn diff_json(dir: &Path, a: &str, b: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["diff", "--format", "json", a, b];
    args.extend_from_slice(extra);
    let out = run_in(dir, &args);
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap_or(-1), v)
}

/// A tarball (tar | gzip -9, members dated when the script runs) and a gzip that stores its
/// file's name and time: two builds a second apart differ in both.
const SCRIPT: &str = "mkdir -p pkg/bin pkg/doc
printf '#!/bin/sh\\necho hi\\n' > pkg/bin/hi
chmod 755 pkg/bin/hi
printf 'read me\\n' > pkg/doc/README
tar -cf - pkg | gzip -9 > $OUTDIR/pkg.tar.gz
printf 'notes\\n' > notes.txt
gzip -c notes.txt > $OUTDIR/notes.txt.gz
printf 'plain\\n' > $OUTDIR/plain.txt
";

fn descriptor(extra: &str) -> String {
    let mut d = format!(
        "---\nname: normed\ndistro: debian\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\nreference_datetime: \"2021-01-01 00:00:00\"\nremotes: []\nfiles: []\n{extra}script: |\n"
    );
    for line in SCRIPT.lines() {
        d.push_str(&format!("  {line}\n"));
    }
    d
}

/// Builds `desc` in `dir` on the sandbox backend.
fn build(dir: &Path, desc: &str) -> Output {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("desc.yml"), desc).unwrap();
    let out = gitian_build_cmd(dir, &["build", "--backend", "sandbox", "desc.yml"], &base_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build in {} failed:\n{}\n{}",
        dir.display(),
        stderr(&out),
        fs::read_to_string(dir.join("var/build.log")).unwrap_or_default()
    );
    out
}

fn result(dir: &Path) -> String {
    fs::read_to_string(dir.join("result/normed-res.yml")).unwrap()
}

fn out_manifest(dir: &Path) -> String {
    let r = result(dir);
    r[..r.find("- in_manifest:").unwrap()].to_string()
}

/// Four real builds, a second apart: two without `normalize:` differ (member mtimes, the gzip
/// header's time), two with `normalize: [tar, gzip]` are identical; the result records it;
/// `diff` of two build folders names what differs; `sign` carries the key into the assert
/// exactly as gsign does (Ruby's Psych run on the same result) and gpg accepts the signature.
#[test]
fn test_build_normalize_outputs_then_diff_and_sign_the_builds() {
    base();
    let w = World::new(&["alice", "bob"]);
    let d = w.root.path();
    let plain = descriptor("");
    let normed = descriptor("normalize: [tar, gzip]\n");
    for (dir, desc) in [("c", &plain), ("d", &plain), ("a", &normed), ("b", &normed)] {
        let out = build(&d.join(dir), desc);
        if dir == "a" {
            let err = stderr(&out);
            assert!(err.contains("Normalising build/out (tar, gzip)"), "{err}");
            assert!(err.contains("  pkg.tar.gz: ") && err.contains("  notes.txt.gz: "), "{err}");
        }
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let (a, b, c, dd) = (d.join("a"), d.join("b"), d.join("c"), d.join("d"));
    assert_ne!(out_manifest(&c), out_manifest(&dd), "the plain builds should differ");
    assert_eq!(out_manifest(&a), out_manifest(&b), "normalised builds differ");
    assert!(
        result(&a).ends_with("- cache_package_manifest: ''\n- normalized:\n  - tar\n  - gzip\n"),
        "{}",
        result(&a)
    );
    assert!(!result(&c).contains("normalized"), "{}", result(&c));

    // What normalisation did to the tarball: times capped, owners zeroed, contents kept.
    let listing = sh(&a, "tar -tvzf build/out/pkg.tar.gz");
    for line in listing.lines() {
        assert!(line.contains(" 0/0 ") && line.contains(" 2021-01-01 00:00 "), "{listing}");
    }
    sh(
        d,
        "mkdir xa xc && tar -C xa -xzf a/build/out/pkg.tar.gz && tar -C xc -xzf c/build/out/pkg.tar.gz \
         && diff -r xa xc && cmp <(zcat a/build/out/notes.txt.gz) <(zcat c/build/out/notes.txt.gz) \
         && cmp a/build/out/plain.txt c/build/out/plain.txt",
    );

    // diff of two build folders: what differs inside the plain builds' outputs, nothing in
    // the normalised ones'; the normalised against a plain one says so.
    let (code, v) = diff_json(d, "c", "d", &[]);
    assert_eq!(code, 1, "{v:#}");
    let found = nodes(&v);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"pkg.tar.gz!/pkg/doc/README"), "{v:#}");
    assert!(!paths.iter().any(|p| p.starts_with("result/") || p.starts_with("var/")), "{v:#}");
    let readme = &found.iter().find(|(p, _)| p == "pkg.tar.gz!/pkg/doc/README").unwrap().1;
    assert_eq!(what(readme), ["mtime"], "{v:#}");
    let notes = &found.iter().find(|(p, _)| p == "notes.txt.gz").unwrap().1;
    let header = notes["changes"].as_array().unwrap().last().unwrap();
    assert_eq!(header["kind"], "compression", "{v:#}");
    assert_eq!(header["same_contents"], true, "{v:#}");
    assert_eq!(header["fields"][0][0], "mtime", "{v:#}");
    let out = run_in(d, &["diff", "a", "b"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let (code, v) = diff_json(d, "a", "c", &[]);
    assert_eq!(code, 1);
    let norm = nodes(&v).into_iter().find(|(p, _)| p == "(normalized)").unwrap().1;
    assert_eq!(norm["changes"][0]["a"], "tar gzip", "{v:#}");
    assert_eq!(norm["changes"][0]["b"], "-", "{v:#}");

    // sign: the assert is gsign's bytes for this result, and gpg accepts its signature.
    w.gitian_ok(&a, &["sign", "-s", "alice", "-r", "1.0", "-d", "../sigs", "desc.yml"]);
    let assert_path = d.join("sigs/1.0/alice/normed-build.assert");
    let assert = fs::read_to_string(&assert_path).unwrap();
    assert_eq!(
        assert,
        format!("{}- release: '1.0'\n- name: normed\n- type: build\n- optionals:\n", result(&a))
    );
    let gsign = "require 'yaml'; r = YAML.unsafe_load_file(ARGV[0]); r['release'] = '1.0'; \
                 r['name'] = 'normed'; r['type'] = 'build'; r['optionals'] = nil; print r.to_yaml";
    let ruby = std::process::Command::new("ruby")
        .args(["-e", gsign])
        .arg(a.join("result/normed-res.yml"))
        .output();
    match ruby {
        Ok(out) if out.status.success() => assert_eq!(stdout(&out), assert),
        Ok(out) => panic!("ruby failed: {}", stderr(&out)),
        Err(_) => assert!(std::env::var_os("CI").is_none(), "ruby is missing in CI"),
    }
    let sig = d.join("sigs/1.0/alice/normed-build.assert.sig");
    let gpg = w.gpg_verify(&sig, &assert_path);
    assert!(gpg.status.success(), "{}", stderr(&gpg));
    // bob signs the other normalised build: verify finds the two in agreement
    w.gitian_ok(&b, &["sign", "-s", "bob", "-r", "1.0", "-d", "../sigs", "desc.yml"]);
    fs::create_dir_all(d.join("sigs/builder-keys")).unwrap();
    for who in ["alice", "bob"] {
        w.gpg.export_to(who, &d.join(format!("sigs/builder-keys/{who}.asc")));
    }
    let v =
        w.gitian(d, &["verify", "-d", "sigs", "-r", "1.0", "--format", "gverify", "--no-markup"]);
    let text = stdout(&v);
    assert_eq!(v.status.code(), Some(0), "{text}{}", stderr(&v));
    assert!(text.contains("alice: OK\n") && text.contains("bob: OK\n"), "{text}");
}

/// Build folders as `git gitian check` keeps them (`var/check/<build-name>/`): with
/// `result/*-res.yml` and `build/out`, their results' manifests are compared and then the
/// outputs beside them; with `out/` and its `manifest`, the `out/` folders. Logs and other
/// files around them are not compared. A folder of neither shape is compared file by file.
#[test]
fn test_diff_two_build_folders_of_check() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for (side, n) in [("one", "1"), ("two", "2")] {
        sh(
            d,
            &format!(
                "k=var/check/{side} && mkdir -p $k/result $k/build/out $k/var && printf 'v{n}\\n' > $k/build/out/notes.txt \
                 && echo same > $k/build/out/same.txt && echo log-{n} > $k/var/build.log \
                 && h=$(cd $k/build/out && sha256sum notes.txt same.txt) \
                 && printf -- '--- !!omap\\n- out_manifest: |\\n%s\\n- in_manifest: |\\n    x\\n' \"$(echo \"$h\" | sed 's/^/    /')\" > $k/result/t-res.yml"
            ),
        );
    }
    let (code, v) = diff_json(d, "var/check/one", "var/check/two", &[]);
    assert_eq!(code, 1, "{v:#}");
    let found = nodes(&v);
    assert_eq!(found.len(), 1, "{v:#}");
    assert_eq!(found[0].0, "notes.txt");
    assert_eq!(what(&found[0].1), ["sha256 (manifest)", "content", "text"], "{v:#}");
    // a result on one side only
    sh(d, "cp var/check/one/result/t-res.yml var/check/one/result/u-res.yml");
    let (code, v) = diff_json(d, "var/check/one", "var/check/two", &[]);
    assert_eq!(code, 1);
    let paths: Vec<String> = nodes(&v).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["result/t-res.yml!/notes.txt", "result/u-res.yml"], "{v:#}");
    assert_eq!(nodes(&v)[1].1["presence"], "only_in_a");
    // the same build twice: same, whatever its logs say
    sh(
        d,
        "rm var/check/one/result/u-res.yml && cp -a var/check/one var/check/three && echo other > var/check/three/var/build.log",
    );
    let out = run_in(d, &["diff", "var/check/one", "var/check/three"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // check's other layout: out/ beside its manifest, log and variations; only out/ counts
    sh(
        d,
        "for n in 1 2; do k=var/check/control-$n && mkdir -p $k/out/sub && echo same > $k/out/sub/s.txt \
         && echo v$n > $k/out/v.txt && echo log $n > $k/build.log && echo tz$n > $k/variations \
         && (cd $k/out && sha256sum sub/s.txt v.txt) > $k/manifest; done",
    );
    let (code, v) = diff_json(d, "var/check/control-1", "var/check/control-2", &[]);
    assert_eq!(code, 1);
    let paths: Vec<String> = nodes(&v).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["v.txt"], "{v:#}");
    sh(d, "echo v1 > var/check/control-2/out/v.txt");
    let out = run_in(d, &["diff", "var/check/control-1", "var/check/control-2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // without build/out it is a plain directory: every file is compared
    sh(d, "mv var/check/three/build var/check/three/b2");
    let (code, v) = diff_json(d, "var/check/one", "var/check/three", &[]);
    assert_eq!(code, 1);
    let paths: Vec<String> = nodes(&v).into_iter().map(|(p, _)| p).collect();
    assert!(paths.contains(&"b2".to_string()) && paths.contains(&"build".to_string()), "{v:#}");
}

/// An output that cannot be normalised (a gzip header over garbage) fails the build with the
/// file named, and leaves no result that could be signed.
#[test]
fn test_build_normalize_refuses_a_broken_archive() {
    base();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("w");
    fs::create_dir_all(&dir).unwrap();
    let desc = descriptor("normalize: [gzip]\n").replace(
        "script: |\n",
        "script: |\n  printf '\\037\\213\\010\\000\\000\\000\\000\\000\\000\\003garbage' > $OUTDIR/bad.gz\n",
    );
    fs::write(dir.join("desc.yml"), desc).unwrap();
    let out = gitian_build_cmd(&dir, &["build", "--backend", "sandbox", "desc.yml"], &base_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: cannot normalise ") && err.contains("build/out/bad.gz: "),
        "{err}"
    );
    assert!(!dir.join("result/normed-res.yml").exists());
    let left: Vec<_> = fs::read_dir(dir.join("build/out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".normalize-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// Text diffs are bounded (`--max-lines`, the rest counted in the table and the JSON), and
/// `--deep` stops diffoscope at its timeout, says so, and leaves no process behind.
#[test]
fn test_diff_text_bound_and_deep_timeout() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    sh(
        d,
        "mkdir a b && seq 1 300 > a/n.txt && seq 1 300 | sed 's/$/x/' > b/n.txt \
         && touch -d 2020-01-01 a/n.txt b/n.txt && tar -C a -cf a.tar n.txt && tar -C b -cf b.tar n.txt",
    );
    let (code, v) = diff_json(d, "a.tar", "b.tar", &["--max-lines", "20"]);
    assert_eq!(code, 1);
    let member = nodes(&v).into_iter().find(|(p, _)| p == "a.tar!/n.txt").unwrap().1;
    let text = member["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "text");
    let text = text.expect("a text change");
    assert_eq!(text["unified"].as_str().unwrap().lines().count(), 20, "{member:#}");
    // 2 header lines, 1 hunk header, 300 removed and 300 added lines; 20 shown
    assert_eq!(text["omitted_lines"], 603 - 20, "{member:#}");
    let table = stdout(&run_in(d, &["diff", "--max-lines", "20", "a.tar", "b.tar"]));
    assert!(table.contains("line diff below (583 more lines not shown)"), "{table}");
    assert!(table.contains("[583 more lines of diff not shown]\n"), "{table}");

    // A diffoscope that never finishes (and has a child of its own): stopped at the timeout,
    // with its whole process group. The real one is run by the test above when installed.
    let slow = d.join("slow-bin");
    std::fs::create_dir(&slow).unwrap();
    std::fs::write(slow.join("diffoscope"), "#!/bin/sh\necho started\nsleep 137 & wait\n").unwrap();
    sh(d, "chmod 755 slow-bin/diffoscope");
    let path = format!("{}:{}", slow.display(), std::env::var("PATH").unwrap());
    let deep = |format: &str| {
        let start = std::time::Instant::now();
        let out = std::process::Command::new(bin())
            .args(["diff", "--deep", "--deep-timeout", "1", "--format", format, "a.tar", "b.tar"])
            .current_dir(d)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(start.elapsed().as_secs() < 30, "the timeout did not stop it");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        stdout(&out)
    };
    let table = deep("table");
    assert!(table.contains("output below (stopped at the timeout)"), "{table}");
    assert!(table.contains("a.tar!/n.txt (diffoscope):\nstarted\n"), "{table}");
    let v: Value = serde_json::from_str(&deep("json")).unwrap();
    let member = nodes(&v).into_iter().find(|(p, _)| p == "a.tar!/n.txt").unwrap().1;
    let deep = member["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "deep");
    assert_eq!(deep.expect("a deep change")["timed_out"], true, "{member:#}");
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("sleep 137") || c.contains("slow-bin/diffoscope"))
        .collect();
    assert!(left.is_empty(), "left running after the timeout: {left:?}");
}
