//! Helpers for the report tests: whether text fits a width, with colour escapes aside, and
//! whole outputs compared with their golden files.

/// Every line fits `width` columns (escape sequences aside).
pub fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        let w = git_gitian::core::report::text::width(&strip_ansi(line));
        assert!(w <= width, "{w} > {width} columns: {line:?}\n{text}");
    }
}

/// `s` without ANSI escape sequences.
pub fn strip_ansi(s: &str) -> String {
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

/// Compares `actual` with `tests/fixtures/<name>`, or writes it with GOLDEN_UPDATE=1: the
/// whole output of a renderer, pinned.
pub fn golden(name: &str, actual: &str) {
    let path = crate::common::root().join("tests/fixtures").join(name);
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
