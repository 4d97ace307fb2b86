//! A unified diff of two texts, bounded: at most `max_lines` lines of diff, the rest counted.

use std::time::Duration;

/// The unified diff (3 lines of context) of `a` and `b` with `---`/`+++` headers naming
/// `path`, cut after `max_lines` lines; returns it and how many lines were left out. The line
/// matching gives up after a second on pathological inputs (the diff is then coarser, never
/// wrong).
pub fn unified(path: &str, a: &str, b: &str, max_lines: usize) -> (String, usize) {
    let diff = similar::TextDiff::configure().timeout(Duration::from_secs(1)).diff_lines(a, b);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    let total = text.lines().count();
    if total <= max_lines {
        return (text, 0);
    }
    let mut out: String = text.lines().take(max_lines).flat_map(|l| [l, "\n"]).collect();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    (out, total - max_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_unified_diff() {
        let (d, rest) = unified("x.txt", "a\nb\nc\n", "a\nB\nc\n", 100);
        assert_eq!(d, "--- a/x.txt\n+++ b/x.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        assert_eq!(rest, 0);
        let a: String = (0..100).map(|i| format!("{i}\n")).collect();
        let (d, rest) = unified("y", &a, "", 10);
        assert_eq!(d.lines().count(), 10);
        assert_eq!(rest, 93);
    }

    #[test]
    fn the_bound_cuts_whole_lines_and_counts_the_rest() {
        let (whole, rest) = unified("x", "a\nb\nc\n", "a\nB\nc\n", 7);
        assert_eq!(rest, 0);
        assert_eq!(whole.lines().count(), 7);
        let (d, rest) = unified("x", "a\nb\nc\n", "a\nB\nc\n", 6);
        assert_eq!((d.as_str(), rest), ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n", 1));
        let (d, rest) = unified("x", "a\nb\nc\n", "a\nB\nc\n", 0);
        assert_eq!((d.as_str(), rest), ("\n", 7));
        assert_eq!(unified("x", "same\n", "same\n", 0), (String::new(), 0));
    }
}
