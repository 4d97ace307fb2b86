//! Character rules and small value checks: Gitian's classes for names, URLs and packages,
//! dates, YAML 1.1 booleans and timestamps, and how a value is shown in a message.

/// Gitian's `[\w.-]` (Ruby's `\w` is ASCII-only).
pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}
pub(super) const NAME_CHARS: &str = "letters, digits, '_', '.' and '-'";

/// Gitian's URL class `[A-Za-z0-9_@/.:+-]` (also the rule for output paths).
pub(super) fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '/' | '.' | ':' | '+' | '-')
}
pub(super) const URL_CHARS: &str = "letters, digits, '_', '@', '/', '.', ':', '+' and '-'";

/// Debian package names, with `=version`, `:arch` and `/release` suffixes.
pub(super) fn is_package_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | ':' | '=' | '~' | '_' | '/')
}
pub(super) const PACKAGE_CHARS: &str = "letters, digits, '.', '+', '-', ':', '=', '~', '_' and '/'";

/// A value shown in a message: escaped, and cut when long.
pub(super) fn shown(value: &str) -> String {
    let escaped: String = value.escape_debug().collect();
    if escaped.chars().count() > 72 {
        format!("{}...", escaped.chars().take(69).collect::<String>())
    } else {
        escaped
    }
}

/// The edit distance between two short strings (for "did you mean").
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `YYYY-MM-DD HH:MM:SS` with a real date and time.
pub(super) fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 19
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        });
    shape && chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
}

/// The booleans Psych (YAML 1.1) resolves, in any case, from plain scalars that a YAML 1.2
/// reader keeps as strings (`yes`, `off`, `tRuE`...); Psych reads `y` and `n` as strings.
pub(super) fn yaml11_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Whether Psych (YAML 1.1) resolves this plain scalar to a Date or Time: `YYYY-M[M]-D[D]`,
/// optionally followed by `T` or blanks and `H[H]:MM:SS` (Psych's pattern then allows a
/// fraction and a zone, which do not change the answer).
pub(super) fn is_yaml11_timestamp(s: &str) -> bool {
    fn digits(s: &str, min: usize, max: usize) -> Option<&str> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (min..=max).contains(&n).then(|| &s[n..])
    }
    let s = s.strip_prefix('-').unwrap_or(s);
    let date = || -> Option<&str> {
        let rest = digits(s, 4, 4)?.strip_prefix('-')?;
        digits(digits(rest, 1, 2)?.strip_prefix('-')?, 1, 2)
    };
    let Some(rest) = date() else { return false };
    if rest.is_empty() {
        return true;
    }
    let time = match rest.strip_prefix(['T', 't']) {
        Some(t) => t,
        None if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        None => return false,
    };
    let time = || -> Option<&str> {
        let rest = digits(time, 1, 2)?.strip_prefix(':')?;
        digits(digits(rest, 2, 2)?.strip_prefix(':')?, 2, 2)
    };
    time().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_shown_escaped_and_cut_after_72_characters() {
        let at_limit = "é".repeat(72);
        assert_eq!(shown(&at_limit), at_limit);
        assert_eq!(shown(&"a".repeat(73)), format!("{}...", "a".repeat(69)));
        assert_eq!(shown("a\tb\"c"), "a\\tb\\\"c");
    }

    #[test]
    fn the_edit_distance_counts_insertions_deletions_and_substitutions() {
        let cases = [
            ("suite", "suites", 1),
            ("kitten", "sitting", 3),
            ("flaw", "lawn", 2),
            ("", "abc", 3),
            ("abc", "", 3),
            ("remotes", "remotes", 0),
            ("pakcages", "packages", 2),
        ];
        for (a, b, d) in cases {
            assert_eq!(distance(a, b), d, "{a} {b}");
        }
    }

    #[test]
    fn a_reference_datetime_has_exactly_two_digits_for_each_field() {
        assert!(is_datetime("2020-01-01 00:00:00"));
        assert!(is_datetime("2020-02-29 23:59:59"));
        for no in [
            "2020-01-01 00:00:0",
            "2020-01-01 00:0:00",
            "2021-02-29 00:00:00",
            "2020-01-01 00:00:000",
        ] {
            assert!(!is_datetime(no), "{no}");
        }
    }

    #[test]
    fn psych_timestamps_need_their_digit_counts() {
        for yes in [
            "-2013-06-01",
            "2013-06-01\t00:00:00",
            "2013-06-01  9:00:00",
            "2013-06-01T0:00:00",
            "2013-6-01",
        ] {
            assert!(is_yaml11_timestamp(yes), "{yes}");
        }
        for no in [
            "13-06-01",
            "20133-06-01",
            "2013-123-01",
            "2013-06-123",
            "2013-06-01 000:00:00",
            "2013-06-01 00:0:00",
            "2013-06-01 00:00:0",
            "2013-06-01 00:00",
            "2013-06-01x00:00:00",
        ] {
            assert!(!is_yaml11_timestamp(no), "{no}");
        }
    }
}
