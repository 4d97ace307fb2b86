//! sign's own rules.

use super::commit::{COMMIT_ATTEMPTS, commit_again_if_moved};
use super::*;

const RES: &str = "--- !!omap\n- out_manifest: |\n    aaaa  demo-1.0.tar.gz\n    bbbb  src/demo-1.0-src.tar.gz\n- in_manifest: |-\n    cccc  demo-desc.yml\n    git:0123 demo\n- base_manifests: !!omap\n  - bookworm-amd64: |\n      dddd  base.deb\n      eeee  bash.deb\n- cache_common_manifest: ''\n- cache_package_manifest: ''\n";

#[test]
fn assert_is_gsign_bytes() {
    let doc = Document::parse(RES).unwrap();
    let info = DescriptorInfo { name: "demo-linux-1.0".into(), optionals: None };
    let out = String::from_utf8(assert_bytes(&doc, "v1", &info)).unwrap();
    assert_eq!(
        out,
        format!("{RES}- release: v1\n- name: demo-linux-1.0\n- type: build\n- optionals:\n")
    );
    let info =
        DescriptorInfo { name: "demo-linux-1.0".into(), optionals: Some(vec!["a.dmg".into()]) };
    let out = String::from_utf8(assert_bytes(&doc, "v1", &info)).unwrap();
    assert!(out.ends_with("- type: build\n- optionals:\n  - a.dmg\n"), "{out}");
}

#[test]
fn sums_use_base_names_sorted_without_duplicates() {
    let doc = Document::parse(RES).unwrap();
    let out = String::from_utf8(sums_bytes(&[doc.clone(), doc])).unwrap();
    // Bytewise by name: '-' sorts before '.'.
    assert_eq!(out, "bbbb  demo-1.0-src.tar.gz\naaaa  demo-1.0.tar.gz\n");
}

#[test]
fn descriptor_optionals_absent_or_list() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("d.yml");
    let base = "---\nname: demo\nsuites: [bookworm]\narchitectures: [amd64]\npackages: []\nreference_datetime: \"2020-01-01 00:00:00\"\nremotes: []\nfiles: []\n";
    std::fs::write(&p, base).unwrap();
    assert_eq!(read_descriptor(&p).unwrap().optionals, None);
    std::fs::write(&p, format!("{base}optionals:\n- a.dmg\n")).unwrap();
    assert_eq!(read_descriptor(&p).unwrap().optionals, Some(vec!["a.dmg".to_string()]));
    std::fs::write(&p, "suites: [x]\n").unwrap();
    let e = read_descriptor(&p).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:1: ", p.display())), "{e}");
}

fn git_error(code: git2::ErrorCode) -> RepoError {
    RepoError::Git { context: "cannot move refs/heads/main".into(), code, source: None }
}

/// A branch another writer moved is committed to again, a few times at most; any other
/// error is not retried.
#[test]
fn a_moved_branch_is_committed_to_again() {
    let mut calls = 0;
    let r = commit_again_if_moved(|| {
        calls += 1;
        if calls < 3 { Err(git_error(git2::ErrorCode::Modified)) } else { Ok(calls) }
    });
    assert_eq!(r.unwrap(), 3);
    let mut calls = 0;
    let r: Result<(), _> = commit_again_if_moved(|| {
        calls += 1;
        Err(git_error(git2::ErrorCode::Modified))
    });
    assert!(r.unwrap_err().is_moved());
    assert_eq!(calls, COMMIT_ATTEMPTS);
    let mut calls = 0;
    let r: Result<(), _> = commit_again_if_moved(|| {
        calls += 1;
        Err(git_error(git2::ErrorCode::Locked))
    });
    assert!(r.unwrap_err().is_locked());
    assert_eq!(calls, 1);
}
