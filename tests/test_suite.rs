//! Guards of the test suite itself: every test file runs, test modules share fixtures only
//! through `tests/common/`, and a test that does not run by default says why.

use std::path::PathBuf;

use crate::common::root;

/// `tests/test_*.rs`, by module name.
fn test_modules() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("tests"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with("test_") && n.ends_with(".rs"))
        .map(|n| n.trim_end_matches(".rs").to_string())
        .collect();
    out.sort();
    out
}

fn test_file(module: &str) -> PathBuf {
    root().join("tests").join(format!("{module}.rs"))
}

/// A file that is not a `mod` of tests/runner.rs compiles into nothing and its tests never
/// run, silently.
#[test]
fn test_suite_every_test_file_is_in_the_runner() {
    let runner = std::fs::read_to_string(root().join("tests/runner.rs")).unwrap();
    let listed: Vec<&str> =
        runner.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
    let missing: Vec<String> =
        test_modules().into_iter().filter(|m| !listed.contains(&m.as_str())).collect();
    assert!(missing.is_empty(), "not in tests/runner.rs (never run): {missing:?}");
}

/// Test modules do not import each other: shared fixtures live in tests/common/.
#[test]
fn test_suite_test_modules_share_only_common() {
    // Spelled in two pieces so that this file does not match itself.
    let needles = [["crate::", "test_"].concat(), ["super::", "test_"].concat()];
    let mut found = Vec::new();
    for module in test_modules() {
        let text = std::fs::read_to_string(test_file(&module)).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|n| code.contains(n.as_str())) {
                found.push(format!("tests/{module}.rs:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "move the shared part to tests/common/:\n{}", found.join("\n"));
}

/// `#[ignore]` without a reason hides a test silently; `#[ignore = "why"]` says why (and
/// `.ci/run` runs the ones CI must).
#[test]
fn test_suite_every_ignored_test_says_why() {
    let mut found = Vec::new();
    for module in test_modules() {
        let text = std::fs::read_to_string(test_file(&module)).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim() == "#[ignore]" {
                found.push(format!("tests/{module}.rs:{}", i + 1));
            }
        }
    }
    assert!(found.is_empty(), "#[ignore] without a reason at:\n{}", found.join("\n"));
}

/// A skip written with `eprintln!` is hidden by the harness when the test passes: skips go
/// through `common::skip` (fails in CI) or `common::not_applicable`, which print past it.
#[test]
fn test_suite_skips_are_visible() {
    // Spelled in two pieces so that this file does not match itself.
    let needle = ["eprintln!(\"", "skip"].concat();
    let mut found = Vec::new();
    for module in test_modules() {
        let text = std::fs::read_to_string(test_file(&module)).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.to_lowercase().contains(&needle) {
                found.push(format!("tests/{module}.rs:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "skips the harness hides:\n{}", found.join("\n"));
}
