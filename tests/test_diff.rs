//! `git gitian diff` and `git gitian normalize` on real archives made by the real tools (tar,
//! gzip, zip, ar, dpkg-deb, gcc): pairs that differ in exactly one attribute, nested archives,
//! a member on one side only, a member larger than what travels in memory, result files; and
//! normalisation round trips that must end byte-identical with unchanged contents.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::diff::{nodes, what};
use crate::common::*;

/// Runs a bash script in `dir` with UTC and the C locale; panics when it fails.
fn sh(dir: &Path, script: &str) {
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .expect("run bash");
    assert!(out.status.success(), "{script}\n{}", stderr(&out));
}

fn diff_json(dir: &Path, a: &str, b: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["diff", "--format", "json", a, b];
    args.extend_from_slice(extra);
    let out = run_in(dir, &args);
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
    (code, v)
}

/// A tree with a text file, a script, a directory and a symlink, all dated 2020-01-01.
fn tree(dir: &Path) {
    sh(
        dir,
        "mkdir -p src/sub && printf 'one\\ntwo\\nthree\\n' > src/a.txt && printf '#!/bin/sh\\n' > src/run.sh \
         && chmod 755 src/run.sh && printf 'data\\n' > src/sub/b.dat && ln -s a.txt src/link \
         && find src -exec touch -h -d '2020-01-01 00:00:00' {} +",
    );
}

const TAR: &str = "tar --sort=name --owner=0 --group=0 --numeric-owner --format=gnu";

#[test]
fn test_diff_tar_pairs_differing_in_one_attribute() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    tree(d);
    sh(d, &format!("{TAR} -cf base.tar src && gzip -n -c base.tar > base.tar.gz"));
    // Each case: how B is made from the same tree, and the one change expected on `entry`.
    let cases: &[(&str, &str, &str)] = &[
        ("mtime", "touch -h -d '2021-01-01' src/a.txt", "src/a.txt"),
        ("mode", "chmod 600 src/sub/b.dat", "src/sub/b.dat"),
        (
            "link target",
            "ln -sfn run.sh src/link && touch -h -d '2020-01-01' src/link src",
            "src/link",
        ),
        ("owner", "true; OWNER=--owner=7", "src/sub/b.dat"),
    ];
    for (want, change, entry) in cases {
        let case = d.join(want.replace(' ', "_"));
        std::fs::create_dir(&case).unwrap();
        tree(&case);
        let owner = if change.contains("OWNER") { "--owner=7" } else { "" };
        sh(
            &case,
            &format!("{change} && {TAR} {owner} -cf b.tar src && gzip -n -c b.tar > b.tar.gz"),
        );
        let (code, v) = diff_json(d, "base.tar.gz", &format!("{}/b.tar.gz", case.display()), &[]);
        assert_eq!(code, 1, "{want}: {v}");
        let found = nodes(&v);
        let node = found
            .iter()
            .find(|(p, _)| p == &format!("base.tar.gz!/{entry}"))
            .unwrap_or_else(|| panic!("{want}: {v:#}"));
        if *want == "owner" {
            // every member has another owner; each names only that
            assert!(found[1..].iter().all(|(_, n)| what(n) == ["owner"]), "{v:#}");
        } else {
            assert_eq!(what(&node.1), [*want], "{want}: {v:#}");
            assert_eq!(found.len(), 2, "{want}: only the archive and the member differ: {v:#}");
        }
    }
}

#[test]
fn test_diff_content_order_presence_and_gzip_header() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    tree(d);
    sh(
        d,
        &format!(
            "{TAR} -cf a.tar src && gzip -c a.tar > named.tar.gz && sleep 1 && touch a.tar && gzip -n -c a.tar > plain.tar.gz \
             && cp -a src src2 && printf 'one\\nTWO\\nthree\\n' > src/a.txt && touch -d 2020-01-01 src/a.txt \
             && echo new > src/sub/new && touch -d 2020-01-01 src/sub/new src/sub \
             && {TAR} -cf b.tar src && gzip -n -c b.tar > b.tar.gz \
             && tar --owner=0 --group=0 --numeric-owner --format=gnu --no-recursion -cf order.tar src2/sub src2/a.txt src2/run.sh src2/link src2 \
             && tar --owner=0 --group=0 --numeric-owner --format=gnu --no-recursion -cf order2.tar src2/a.txt src2/sub src2/run.sh src2/link src2"
        ),
    );
    // content of a text member: a bounded unified diff; a member only in B
    let (code, v) = diff_json(d, "plain.tar.gz", "b.tar.gz", &[]);
    assert_eq!(code, 1);
    let found = nodes(&v);
    let text = &found.iter().find(|(p, _)| p == "plain.tar.gz!/src/a.txt").unwrap().1;
    assert_eq!(what(text), ["content", "text"], "{v:#}");
    assert!(text["changes"][1]["unified"].as_str().unwrap().contains("-two\n+TWO\n"), "{v:#}");
    let new = &found.iter().find(|(p, _)| p == "plain.tar.gz!/src/sub/new").unwrap().1;
    assert_eq!(new["presence"], "only_in_b");
    // the same tar compressed with and without a stored name: the gzip header only
    let (code, v) = diff_json(d, "named.tar.gz", "plain.tar.gz", &[]);
    assert_eq!(code, 1);
    let c = &v["differences"][0]["changes"][1];
    assert_eq!(
        (c["kind"].as_str(), c["same_contents"].as_bool()),
        (Some("compression"), Some(true)),
        "{v:#}"
    );
    let fields: Vec<&str> =
        c["fields"].as_array().unwrap().iter().map(|f| f[0].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "mtime"], "{v:#}");
    assert!(v["differences"][0].get("children").is_none(), "{v:#}");
    // the same members in another order
    let (code, v) = diff_json(d, "order.tar", "order2.tar", &[]);
    assert_eq!(code, 1);
    let c = &v["differences"][0]["changes"][1];
    assert_eq!(c["kind"], "order", "{v:#}");
    assert_eq!((c["a"].as_str(), c["b"].as_str()), (Some("src2/sub/"), Some("src2/a.txt")));
    let table = stdout(&run_in(d, &["diff", "named.tar.gz", "plain.tar.gz"]));
    assert!(table.contains("gzip header only: name and mtime (same contents)"), "{table}");
}

/// A shared library whose f() returns `n`.
fn library(dir: &Path, name: &str, n: u32) {
    sh(
        dir,
        &format!(
            "printf 'int f(void) {{ return {n}; }}\\n' > {name}.c && gcc -O2 -shared -fPIC -Wl,--build-id=none -o {name} {name}.c && rm {name}.c"
        ),
    );
}

#[test]
fn test_diff_nested_deb_tar_zip_and_elf_sections() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for (side, n) in [("a", 1), ("b", 2)] {
        let pkg = d.join(side).join("pkg");
        std::fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(pkg.join("usr/lib")).unwrap();
        library(&pkg.join("usr/lib"), "libf.so", n);
        sh(
            &pkg,
            &format!(
                "printf 'Package: f\\nVersion: 1\\nArchitecture: amd64\\nMaintainer: t <t@t>\\nDescription: t\\n' > DEBIAN/control \
                 && mkdir -p z && printf 'v={n}\\n' > z/conf.txt && touch -d 2020-01-01 z/conf.txt && (cd z && zip -q -X ../usr/lib/bundle.zip conf.txt) && rm -r z \
                 && find . -exec touch -h -d 2020-01-01 {{}} + && SOURCE_DATE_EPOCH=1577836800 dpkg-deb --root-owner-group -Zgzip --build . ../f.deb >/dev/null"
            ),
        );
    }
    let (code, v) = diff_json(d, "a/f.deb", "b/f.deb", &[]);
    assert_eq!(code, 1, "{v:#}");
    let found = nodes(&v);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "f.deb",
            "f.deb!/data.tar.gz",
            "f.deb!/data.tar.gz!/./usr/lib/bundle.zip",
            "f.deb!/data.tar.gz!/./usr/lib/bundle.zip!/conf.txt",
            "f.deb!/data.tar.gz!/./usr/lib/libf.so",
        ],
        "{v:#}"
    );
    let elf = &found[4].1;
    assert_eq!(elf["format"], "elf");
    let sections: Vec<&str> = elf["changes"][1]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(sections, [".text"], "{v:#}");
    assert_eq!(found[3].1["changes"][1]["kind"], "text");
    // a depth limit stops the descent with a message
    let (_, v) = diff_json(d, "a/f.deb", "b/f.deb", &["--max-depth", "2"]);
    let zip = nodes(&v).into_iter().find(|(p, _)| p.ends_with("bundle.zip")).unwrap().1;
    let note =
        zip["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "note").expect("a note");
    assert!(note["text"].as_str().unwrap().contains("--max-depth"), "{zip:#}");
}

#[test]
fn test_diff_member_larger_than_memory_is_read_again() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // 40 MiB (more than the 32 MiB a member may travel with) of incompressible bytes, one
    // differing byte near the end; the archive also holds a small member that is the same.
    sh(
        d,
        "mkdir -p a b && head -c 41943040 /dev/urandom > a/big.bin && cp a/big.bin b/big.bin \
         && printf '\\x00' | dd of=b/big.bin bs=1 seek=40000000 conv=notrunc status=none \
         && echo same > a/small && cp a/small b/small && touch -d 2020-01-01 a/* b/* a b \
         && tar --owner=0 --group=0 -C a -cf - . | gzip -1 -n > a.tgz && tar --owner=0 --group=0 -C b -cf - . | gzip -1 -n > b.tgz",
    );
    let (code, v) = diff_json(d, "a.tgz", "b.tgz", &[]);
    assert_eq!(code, 1);
    let found = nodes(&v);
    assert_eq!(found.len(), 2, "{v:#}");
    let big = &found[1].1;
    assert_eq!(found[1].0, "a.tgz!/./big.bin");
    let first =
        big["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "binary").expect("binary");
    assert_eq!(first["first_difference"], 40_000_000, "{big:#}");
    assert_eq!(v["compared"], 4, "the archive, ./, big.bin, small: {v:#}");
}

#[test]
fn test_diff_directories_results_and_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for side in ["a", "b"] {
        std::fs::create_dir(d.join(side)).unwrap();
        tree(&d.join(side));
    }
    let out = run_in(d, &["diff", "a", "b"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("same: "), "{}", stdout(&out));
    sh(d, "echo extra > b/src/only && chmod 700 b/src/run.sh");
    let (code, v) = diff_json(d, "a", "b", &[]);
    assert_eq!(code, 1);
    let found = nodes(&v);
    assert_eq!(
        found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["src/only", "src/run.sh"],
        "{v:#}"
    );
    assert_eq!(what(&found[1].1), ["mode"]);
    let out = run_in(d, &["diff", "a", "missing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: cannot read missing:"), "{}", stderr(&out));
    // two result files: their manifests, then the outputs in build/out beside them
    for (side, n) in [("ra", "1"), ("rb", "2")] {
        sh(
            d,
            &format!(
                "mkdir -p {side}/result {side}/build/out && printf 'v{n}\\n' > {side}/build/out/notes.txt \
                 && echo same > {side}/build/out/same.txt && h=$(cd {side}/build/out && sha256sum notes.txt same.txt) \
                 && printf -- '--- !!omap\\n- out_manifest: |\\n%s\\n- in_manifest: |\\n    x\\n' \"$(echo \"$h\" | sed 's/^/    /')\" > {side}/result/t-res.yml"
            ),
        );
    }
    let (code, v) = diff_json(d, "ra/result/t-res.yml", "rb/result/t-res.yml", &[]);
    assert_eq!(code, 1, "{v:#}");
    let found = nodes(&v);
    assert_eq!(found.len(), 1, "{v:#}");
    assert_eq!(what(&found[0].1), ["sha256 (manifest)", "content", "text"], "{v:#}");
}

#[test]
fn test_diff_deep_runs_diffoscope_on_the_member_only() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    sh(
        d,
        "mkdir a b && printf 'x\\n' > a/f.txt && printf 'y\\n' > b/f.txt && tar -C a -cf a.tar f.txt && tar -C b -cf b.tar f.txt",
    );
    let (code, v) = diff_json(d, "a.tar", "b.tar", &["--deep", "--deep-timeout", "120"]);
    assert_eq!(code, 1);
    let member = nodes(&v).into_iter().find(|(p, _)| p.ends_with("f.txt")).unwrap().1;
    let last = member["changes"].as_array().unwrap().last().unwrap().clone();
    if which("diffoscope") {
        assert_eq!(last["kind"], "deep", "{member:#}");
        let out = last["output"].as_str().unwrap();
        assert!(out.contains("-x") && out.contains("+y") && !out.contains(".tar"), "{out}");
    } else {
        assert!(
            last["text"].as_str().unwrap().contains("diffoscope is not installed"),
            "{member:#}"
        );
        crate::common::not_applicable("no diffoscope here: only the note saying so was checked");
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn normalize(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["normalize", "--time", "2020-06-01 00:00:00"];
    all.extend_from_slice(args);
    run_in(dir, &all)
}

#[test]
fn test_normalize_tar_gz_round_trip_is_byte_identical() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    tree(d);
    // made at different times (both after the cap), in different orders, by different
    // owners, at different gzip levels; PAX format, whose records carry atime and ctime
    sh(
        d,
        "find src -exec touch -h {} + && tar --owner=1000 --group=1000 --format=pax -cf - src | gzip -9 > one.tar.gz \
         && sleep 1 && find src -exec touch -h {} + \
         && tar --owner=0 --group=0 --numeric-owner --format=pax --no-recursion -cf - src/sub src/sub/b.dat src/link src/run.sh src/a.txt src | gzip -1 > two.tar.gz \
         && cp one.tar.gz before.tar.gz && gzip -dc one.tar.gz | xz > one.tar.xz && gzip -dc two.tar.gz | xz -1 > two.tar.xz",
    );
    let out = normalize(d, &["--check", "one.tar.gz", "two.tar.gz"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("would normalise: one.tar.gz (tar.gz): "), "{}", stdout(&out));
    sh(d, "cmp one.tar.gz before.tar.gz");
    let out = normalize(d, &["one.tar.gz", "two.tar.gz", "one.tar.xz", "two.tar.xz"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    sh(d, "cmp one.tar.gz two.tar.gz && cmp one.tar.xz two.tar.xz");
    // contents unchanged: tar compares every member with the tree, whose times are now the cap
    sh(
        d,
        "find src -exec touch -h -d '2020-06-01 00:00:00' {} + && tar -dzf one.tar.gz && gzip -t one.tar.gz",
    );
    let out = normalize(d, &["--check", "one.tar.gz"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("already normal: one.tar.gz"), "{}", stdout(&out));
}

#[test]
fn test_normalize_hard_links_whichever_name_tar_met_first() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    sh(
        d,
        "mkdir src && echo data > src/b && ln src/b src/a && ln src/b src/c && touch -d 2020-01-01 src/* src \
         && tar --owner=0 --group=0 --numeric-owner --no-recursion -cf one.tar src/c src/b src/a src \
         && tar --owner=0 --group=0 --numeric-owner --no-recursion -cf two.tar src/b src/a src/c src \
         && [ \"$(tar -tvf one.tar | grep -c 'link to src/c')\" = 2 ]",
    );
    let out = normalize(d, &["one.tar", "two.tar"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("hard link roles"), "{}", stdout(&out));
    // src/a holds the data in both now, src/b and src/c link to it; contents unchanged
    sh(
        d,
        "cmp one.tar two.tar && [ \"$(tar -tvf one.tar | grep -c 'link to src/a')\" = 2 ] && tar -df one.tar",
    );
}

#[test]
fn test_normalize_zip_ar_and_gzip_round_trips() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    tree(d);
    sh(
        d,
        "find src -exec touch -h {} + && cd src && zip -q ../one.zip a.txt run.sh sub/b.dat && sleep 2 \
         && find . -exec touch -h {} + && chmod 775 run.sh && chown -R 1234:1234 . && zip -q ../two.zip sub/b.dat run.sh a.txt && cd .. \
         && printf 'int f(void){return 0;}\\n' > f.c && gcc -c f.c -o f.o && cp src/a.txt a.o \
         && ar rcU one.a f.o a.o && sleep 1 && touch f.o a.o && chown 1234 f.o && ar rcU two.a f.o a.o \
         && cp src/a.txt note.txt && gzip -9 -c note.txt > one.gz && sleep 1 && touch note.txt && gzip -9 -c note.txt > two.gz",
    );
    let out = normalize(d, &["one.zip", "two.zip", "one.a", "two.a", "one.gz", "two.gz"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    sh(
        d,
        "cmp one.zip two.zip && unzip -tq one.zip && cmp one.gz two.gz && gzip -t one.gz && ar t one.a > /dev/null",
    );
    // the ar members are unchanged
    sh(
        d,
        "[ \"$(ar t one.a | tr '\\n' ' ')\" = 'f.o a.o ' ] && ar p one.a a.o | cmp - src/a.txt && ar p one.a f.o | cmp - f.o",
    );
    // gzip alone: the deflate stream is not recompressed
    sh(d, "gzip -9 -n -c note.txt | tail -c +11 | cmp - <(tail -c +11 one.gz)");
    // a signed jar is left alone, with a warning
    sh(
        d,
        "mkdir -p j/META-INF && echo s > j/META-INF/A.SF && echo m > j/META-INF/MANIFEST.MF && (cd j && zip -q ../s.jar META-INF/A.SF META-INF/MANIFEST.MF) && cp s.jar s0.jar",
    );
    let out = normalize(d, &["s.jar"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("warning: s.jar (jar) left alone: a signed jar"),
        "{}",
        stderr(&out)
    );
    sh(d, "cmp s.jar s0.jar");
    // not an archive, or no time to cap at: exit 2 with a clear message
    let out = normalize(d, &["f.c"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: f.c: not an archive normalize handles"),
        "{}",
        stderr(&out)
    );
    let out = run_in(d, &["normalize", "one.zip"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no time to cap timestamps at"), "{}", stderr(&out));
}

#[test]
fn test_diff_xz_bzip2_zstd_layers_and_a_compressed_text() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    tree(d);
    sh(
        d,
        &format!(
            "{TAR} -cf a.tar src && printf 'one\\nTWO\\nthree\\n' > src/a.txt && touch -d 2020-01-01 src/a.txt && {TAR} -cf b.tar src \
             && for s in a b; do xz -k -c $s.tar > $s.tar.xz; bzip2 -k -c $s.tar > $s.tar.bz2; zstd -q -c $s.tar > $s.tar.zst; done \
             && printf 'x\\ny\\n' | xz -c > a.txt.xz && printf 'x\\nz\\n' | xz -c > b.txt.xz"
        ),
    );
    for ext in ["xz", "bz2", "zst"] {
        let (code, v) = diff_json(d, &format!("a.tar.{ext}"), &format!("b.tar.{ext}"), &[]);
        assert_eq!(code, 1);
        let found = nodes(&v);
        assert_eq!(found[0].1["format"], format!("tar.{ext}"), "{v:#}");
        assert_eq!(found.len(), 2, "{v:#}");
        assert_eq!(found[1].0, format!("a.tar.{ext}!/src/a.txt"));
        assert_eq!(what(&found[1].1), ["content", "text"], "{v:#}");
    }
    let (_, v) = diff_json(d, "a.txt.xz", "b.txt.xz", &[]);
    let found = nodes(&v);
    assert_eq!(found[1].0, "a.txt.xz!/a.txt", "{v:#}");
    assert!(found[1].1["changes"][1]["unified"].as_str().unwrap().contains("-y\n+z\n"), "{v:#}");
}

#[test]
fn test_normalize_interrupted_or_killed_leaves_the_file_and_no_leftovers() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    sh(
        d,
        "mkdir big && head -c 30000000 /dev/urandom > big/r && tar -cf - big | gzip -1 > big.tar.gz && cp big.tar.gz orig.tar.gz \
         && touch .normalize-999999999-stale",
    );
    let mut child = std::process::Command::new(bin())
        .args(["normalize", "--time", "1", "big.tar.gz"])
        .current_dir(d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted mid-write: once its temporary file is there (not after a guessed delay).
    let tmp = format!(".normalize-{}-", child.id());
    let start = std::time::Instant::now();
    while !std::fs::read_dir(d)
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(&tmp))
    {
        assert!(child.try_wait().unwrap().is_none(), "normalize ended before it wrote anything");
        assert!(start.elapsed() < std::time::Duration::from_secs(120), "no temporary file");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    sh(d, "cmp big.tar.gz orig.tar.gz");
    // the stale file of a killed run (its pid is gone) was swept; ours was removed
    let left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".normalize"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn test_normalize_overwrite_sets_every_time_and_capping_keeps_earlier_ones() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    tree(d);
    sh(d, "tar --format=gnu -cf capped.tar src && cp capped.tar set.tar");
    assert_eq!(normalize(d, &["capped.tar"]).status.code(), Some(0));
    assert_eq!(normalize(d, &["--overwrite", "set.tar"]).status.code(), Some(0));
    // the tree is dated 2020-01-01, before the time given (2020-06-01)
    sh(
        d,
        "[ \"$(tar -tvf capped.tar | grep -c ' 2020-01-01 00:00 ')\" = 6 ] \
         && [ \"$(tar -tvf set.tar | grep -c ' 2020-06-01 00:00 ')\" = 6 ]",
    );
}

/// The time to cap at comes from --time, else the descriptor's reference_datetime, else
/// SOURCE_DATE_EPOCH; a bad descriptor is named with its line.
#[test]
fn test_normalize_time_from_descriptor_or_source_date_epoch() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    tree(d);
    sh(
        d,
        &format!("touch -d '2024-05-05' src/a.txt && {TAR} -cf one.tar src && cp one.tar two.tar"),
    );
    std::fs::write(
        d.join("d.yml"),
        "---\nname: x\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\n\
         reference_datetime: \"2019-03-04 05:06:07\"\nremotes: []\nfiles: []\n",
    )
    .unwrap();
    let out = run_in(d, &["normalize", "--descriptor", "d.yml", "one.tar"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = |f: &str| sh_out(d, &format!("tar -tvf {f} | awk '{{print $4, $5, $6}}'"));
    // every member was later than the reference time: all capped to it
    let one = listing("one.tar");
    assert!(
        one.lines().count() == 6 && one.lines().all(|l| l.starts_with("2019-03-04 05:06 ")),
        "{one}"
    );
    let out = std::process::Command::new(bin())
        .args(["normalize", "two.tar"])
        .current_dir(d)
        .env("TZ", "UTC")
        .env("SOURCE_DATE_EPOCH", "1590969600")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // src/a.txt (2024) is capped at 2020-06-01; the rest (2020-01-01) are kept
    let two = listing("two.tar");
    assert!(two.contains("2020-06-01 00:00 src/a.txt"), "{two}");
    assert!(two.contains("2020-01-01 00:00 src/run.sh"), "{two}");
    // the descriptor's normalize: list chooses the formats, as in the build; --only overrides
    let zip_only = std::fs::read_to_string(d.join("d.yml")).unwrap() + "normalize: [zip]\n";
    std::fs::write(d.join("z.yml"), zip_only).unwrap();
    sh(
        d,
        &format!(
            "touch -d '2024-05-05' src/a.txt && {TAR} -cf three.tar src && cp three.tar before.tar"
        ),
    );
    let out = run_in(d, &["normalize", "--descriptor", "z.yml", "three.tar"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: three.tar: not an archive of the formats chosen (zip)\n"),
        "{}",
        stderr(&out)
    );
    sh(d, "cmp three.tar before.tar");
    let out = run_in(d, &["normalize", "--descriptor", "z.yml", "--only", "tar", "three.tar"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        listing("three.tar").contains("2019-03-04 05:06 src/a.txt"),
        "{}",
        listing("three.tar")
    );
    let bad = std::fs::read_to_string(d.join("d.yml")).unwrap().replace('"', "");
    std::fs::write(d.join("bad.yml"), bad).unwrap();
    let out = run_in(d, &["normalize", "--descriptor", "bad.yml", "one.tar"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .starts_with("error: descriptor bad.yml:6: 'reference_datetime' is an unquoted"),
        "{}",
        stderr(&out)
    );
}

fn sh_out(dir: &Path, script: &str) -> String {
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}\n{}", stderr(&out));
    stdout(&out)
}

/// One report with every kind of change, a member on one side only, a nested member and a
/// hostile name: the whole table at 100 columns and the whole JSON, compared with
/// `tests/fixtures/diff/` (`GOLDEN_UPDATE=1` rewrites them; review the diff).
#[test]
fn test_diff_table_and_json_whole_output() {
    use git_gitian::core::diff::elf::SectionChange;
    use git_gitian::core::diff::{Change, Content, Node, Presence, Report, render};
    let node = |path: &[&str], format: &str, presence: Presence, changes: Vec<Change>| Node {
        path: path.iter().map(|s| s.to_string()).collect(),
        format: format.into(),
        presence,
        changes,
        children: Vec::new(),
    };
    let content = |size: u64, c: char| Content { size, blake3: c.to_string().repeat(64) };
    let elf = node(
        &["out.tar.gz", "bin/hello"],
        "elf",
        Presence::Both,
        vec![
            Change::Content { a: content(16_384, 'a'), b: content(16_392, 'b') },
            Change::Sections {
                sections: vec![
                    SectionChange {
                        name: ".text".into(),
                        size_a: Some(4096),
                        size_b: Some(4104),
                        first_difference: Some(0x10),
                    },
                    SectionChange {
                        name: ".note.gnu.build-id".into(),
                        size_a: None,
                        size_b: Some(36),
                        first_difference: None,
                    },
                ],
            },
        ],
    );
    let mut tarball = node(
        &["out.tar.gz"],
        "tar.gz",
        Presence::Both,
        vec![
            Change::Compression {
                layer: "gzip".into(),
                same_contents: false,
                fields: vec![(
                    "mtime".into(),
                    "2024-01-01 00:00:00".into(),
                    "2024-01-02 00:00:00".into(),
                )],
            },
            Change::Order { position: 1, a: "bin/hello".into(), b: "share/doc".into() },
        ],
    );
    tarball.children = vec![
        elf,
        node(
            &["out.tar.gz", "share/doc"],
            "",
            Presence::Both,
            vec![Change::Attribute { name: "mtime".into(), a: "1".into(), b: "2".into() }],
        ),
        node(&["out.tar.gz", "share/new\u{1b}[31m"], "", Presence::OnlyInB, vec![]),
    ];
    let report = Report {
        a: "a/build/out".into(),
        b: "b/build/out".into(),
        compared: 12,
        differences: vec![
            tarball,
            node(
                &["notes.txt"],
                "text",
                Presence::Both,
                vec![Change::Text {
                    unified: "--- a\n+++ b\n@@ -1 +1 @@\n-one\n+two\n".into(),
                    omitted_lines: 3,
                }],
            ),
            node(&["blob.bin"], "", Presence::Both, vec![Change::Binary { first_difference: 7 }]),
            node(
                &["same.gz"],
                "gzip",
                Presence::Both,
                vec![Change::Compression {
                    layer: "gzip".into(),
                    same_contents: true,
                    fields: Vec::new(),
                }],
            ),
            node(
                &["lib.so"],
                "elf",
                Presence::Both,
                vec![
                    Change::Sections { sections: Vec::new() },
                    Change::Deep { output: "--- a/lib.so\n+++ b/lib.so".into(), timed_out: true },
                ],
            ),
            node(
                &["big.iso"],
                "",
                Presence::OnlyInA,
                vec![Change::Note { text: "not looked inside: iso".into() }],
            ),
        ],
    };
    let table = render::table(&report, Some(100));
    crate::common::report::assert_fits(&table, 100);
    assert!(!table.contains('\u{1b}'), "a raw escape reached the terminal:\n{table}");
    crate::common::report::golden("diff/table-100.txt", &table);
    crate::common::report::golden("diff/diff.json", &render::json(&report));
    let same = Report { compared: 1, ..Report::default() };
    assert_eq!(render::table(&same, Some(100)), "same: 1 entry compared\n");
}
