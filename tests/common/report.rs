//! Helpers for the report tests: whether text fits a width, with colour escapes aside.

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
