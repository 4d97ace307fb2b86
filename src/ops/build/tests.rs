//! build's pure helpers and its lock.

use super::*;

#[test]
fn deb_manifests_merge_sorted_and_deduplicated() {
    let base = "aa  b_1.deb\ncc  a_1.deb\n";
    let fetched = "aa  b_1.deb\ndd  Z_2.deb\n";
    assert_eq!(merge_deb_manifests(base, fetched), "dd  Z_2.deb\ncc  a_1.deb\naa  b_1.deb\n");
}

#[test]
fn second_lock_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let first = lock(t.path()).unwrap();
    let e = lock(t.path()).unwrap_err();
    assert!(matches!(e, BuildError::Locked { .. }), "{e}");
    assert!(e.to_string().contains(&format!("pid {}", std::process::id())), "{e}");
    drop(first);
    lock(t.path()).unwrap();
}
