//! The quoting rules against Psych's and libyaml's choices.
use super::*;

#[test]
fn the_issues_examples() {
    for plain in ["Y", "N", "1_", "1__0", "1.0_1", "_1.7", "2024-01-010", "0.21.0-linux", "é"] {
        assert_eq!(style(plain), Style::Plain, "{plain:?}");
    }
    for single in ["08a", "09-", "0.10", "25.0", "true", "123", "2021-01-11", "1.e+5", "", "<<"] {
        assert_eq!(style(single), Style::Single, "{single:?}");
    }
    for double in ["y", "n", "-x", ".", "a\tb\nc", "a\n\n", "-x\n", "😀"] {
        assert_eq!(style(double), Style::Double, "{double:?}");
    }
    assert_eq!(style("a\nb"), Style::Literal);
    assert_eq!(style("2024-02-30"), Style::Plain);
    assert_eq!(style("2024-02-31T12:00:00"), Style::Single);
    assert_eq!(style("2024-01-01T25:00:00"), Style::Plain);
    assert_eq!(style("null\n"), Style::Single);
}

#[test]
fn literal_headers_and_escapes() {
    assert_eq!(literal_header("  a\nb"), "|2-");
    assert_eq!(literal_header("a\n\nb\n\n"), "|+");
    assert_eq!(literal_header("a\nb\n"), "|");
    assert_eq!(double_quoted("x\u{85}y\"😀"), "\"x\\Ny\\\"\\U0001F600\"");
}

#[test]
fn word_start_is_psychs_pattern() {
    // A first character in the class, or any first character but a digit or `.:-`
    // before one in the class.
    for word in ["a", "a1", "_", " x", "+a", "é"] {
        assert!(looks_like_word(word), "{word:?}");
    }
    for not in ["", "1", "1a", ".a", ":a", "-a", "12", "+1"] {
        assert!(!looks_like_word(not), "{not:?}");
    }
}

#[test]
fn dates_match_psychs_pattern_then_the_calendar() {
    let cases = [
        ("2024-04-30", Some(true)),
        ("2024-04-31", Some(false)),
        ("2024-06-30", Some(true)),
        ("2024-09-31", Some(false)),
        ("2024-11-30", Some(true)),
        ("2024-12-31", Some(true)),
        ("2024-10-31", Some(true)),
        ("2024-02-29", Some(true)),
        ("2024-02-30", Some(false)),
        ("2023-02-29", Some(false)),
        ("2023-02-28", Some(true)),
        ("1900-02-29", Some(false)),
        ("2000-02-29", Some(true)),
        ("2024-1-5", Some(true)),
        ("2024-01-3", Some(true)),
        ("2024-00-01", Some(false)),
        ("2024-01-00", Some(false)),
        ("2024-13-01", None),
        ("2024-01-32", None),
        ("2024-01-40", None),
        ("2024-011-01", None),
        ("2024-x-01", None),
        ("2024-01-y", None),
        ("202-01-01", None),
        ("2o24-01-01", None),
        ("2024-01-01-01", None),
        ("2024-01", None),
    ];
    for (s, want) in cases {
        assert_eq!(date_valid(s), want, "{s:?}");
    }
}

#[test]
fn times_match_psychs_pattern_then_rubys_range() {
    let cases = [
        ("2024-01-01T12:00:00", Some(true)),
        ("2024-01-01t12:00:00", Some(true)),
        ("2024-01-01 12:00:00", Some(true)),
        ("2024-01-01 \t 12:00:00", Some(true)),
        ("-2024-01-01T12:00:00", Some(true)),
        ("2024-01-01T1:00:00", Some(true)),
        ("2024-01-01T24:00:00", Some(true)),
        ("2024-01-01T24:00:01", Some(false)),
        ("2024-01-01T24:01:00", Some(false)),
        ("2024-01-01T25:00:00", Some(false)),
        ("2024-01-01T23:59:60", Some(true)),
        ("2024-01-01T12:60:00", Some(false)),
        ("2024-01-01T12:00:61", Some(false)),
        ("2024-13-01T00:00:00", Some(false)),
        ("2024-00-01T00:00:00", Some(false)),
        ("2024-01-32T00:00:00", Some(false)),
        ("2024-01-00T00:00:00", Some(false)),
        ("2024-01-01T12:00:00.123", Some(true)),
        ("2024-01-01T12:00:00.5Z", Some(true)),
        ("2024-01-01T12:00:00Z", Some(true)),
        ("2024-01-01T12:00:00 Z", Some(true)),
        ("2024-01-01T12:00:00+01:00", Some(true)),
        ("2024-01-01T12:00:00 -0530", Some(true)),
        ("2024-01-01T12:00:00+1", Some(true)),
        ("2024-01-01T12:00:00+23:59", Some(true)),
        ("2024-01-01T12:00:00+24:00", Some(false)),
        ("2024-01-01T12:00:00-2400", Some(false)),
        ("2024-01-01T12:00:00+1:5", None),
        ("2024-01-01T12:00:00+", None),
        ("2024-01-01T12:00:00X", None),
        ("2024-01-01T12:00:00+01:00x", None),
        ("2024-01-01T123:00:00", None),
        ("2024-01-01T12:0:00", None),
        ("2024-01-01T12:00:0", None),
        ("2024-01-01T12:00", None),
        ("2024-01-01T12:00:00:00", None),
        ("2024-01-01T12:a0:00", None),
        ("2024-01-01 ", None),
        ("2024-01-01X12:00:00", None),
        ("2024-01-01", None),
        ("202-01-01T00:00:00", None),
        ("2o24-01-01T00:00:00", None),
        ("2024-01-01-01T00:00:00", None),
        ("2024-001-01T00:00:00", None),
        ("2024-01-001T00:00:00", None),
        ("2024-01T00:00:00", None),
    ];
    for (s, want) in cases {
        assert_eq!(time_parts(s), want, "{s:?}");
    }
}

#[test]
fn literal_header_of_a_lone_break_keeps_it() {
    assert_eq!(literal_header("\n"), "|2+");
    assert_eq!(literal_header(" a\n"), "|2");
    assert_eq!(literal_header(""), "|-");
}

#[test]
fn sexagesimal_numbers() {
    for yes in ["1:30", "1:5", "-1_0:30:59", "+1:30.5", "1:30.1_2", "1:30."] {
        assert!(sexagesimal(yes), "{yes:?}");
    }
    for no in ["1", "1:60", "1:2:3:4", "_1:30", "a:30", "1:30.x", "1:3a", "1:030"] {
        assert!(!sexagesimal(no), "{no:?}");
    }
}

#[test]
fn what_libyaml_allows_each_scalar() {
    // (text, block plain, single quoted, block)
    let cases = [
        ("a", true, true, true),
        ("a: b", false, true, true),
        ("a:b", true, true, true),
        ("a #b", false, true, true),
        ("a#b", true, true, true),
        ("a \nb", false, false, false),
        ("a\n b", false, false, true),
        ("a\nb", false, true, true),
        ("a\u{7}", false, false, false),
        ("a ", false, true, false),
        (" a", false, true, true),
        ("- a", false, true, true),
        ("-a", true, true, true),
        ("--- a", false, true, true),
    ];
    for (s, plain, single, block) in cases {
        let a = Analysis::of(s);
        assert_eq!(
            (a.block_plain_allowed, a.single_allowed, a.block_allowed),
            (plain, single, block),
            "{s:?}"
        );
    }
}

/// Ruby 3.1 (Psych 4.0.3, libyaml 0.2.5) writes each of these with the same escapes.
#[test]
fn double_quotes_escape_breaks_and_unprintables_in_their_shortest_form() {
    assert_eq!(double_quoted("-a\n"), r#""-a\n""#);
    assert_eq!(double_quoted("-\u{2028}\u{2029}\r\t\\"), r#""-\L\P\r\t\\""#);
    assert_eq!(double_quoted("\u{1}\u{7f}\u{9f}"), r#""\x01\x7F\x9F""#);
    assert_eq!(double_quoted("\u{fffe}\u{feff}\u{10ffff}"), r#""\uFFFE\uFEFF\U0010FFFF""#);
}

/// Ruby: `'a.\n\n  '`, `"\""`, `"\"a"`, `':ab"'`, `"a\a"`, `'false'`, `'FALSE'`, `'Off'`.
#[test]
fn styles_of_quotes_symbols_final_breaks_and_five_letter_booleans() {
    let cases = [
        ("a.\n", Style::Single),
        ("\"", Style::Double),
        ("\"a", Style::Double),
        (":ab\"", Style::Single),
        ("a\u{7}", Style::Double),
        ("false", Style::Single),
        ("FALSE", Style::Single),
        ("Off", Style::Single),
    ];
    for (s, want) in cases {
        assert_eq!(style(s), want, "{s:?}");
    }
}

/// `Psych::ScalarScanner#tokenize` in Ruby: a String for `false\n` (longer than five
/// characters), `ab\n`, `:`; not for `yes\n`, `no\n` (booleans: `^`/`$` match at line ends) or
/// `:ab"` (a symbol).
#[test]
fn the_scanner_reads_what_psych_reads() {
    for (s, string) in [
        ("false\n", true),
        ("ab\n", true),
        (":", true),
        ("yes\n", false),
        ("no\n", false),
        (":ab\"", false),
    ] {
        assert_eq!(scans_as_string(s), string, "{s:?}");
    }
}

/// Ruby: `+23:59` is an offset (the time is quoted), `+23:60`, `+2360` and `-23:99` are a
/// day or more (the text stays plain).
#[test]
fn zone_minutes_count_toward_a_whole_day() {
    for (s, valid) in [
        ("2024-01-01T12:00:00+23:59", true),
        ("2024-01-01T12:00:00+23:60", false),
        ("2024-01-01T12:00:00+2360", false),
        ("2024-01-01T12:00:00-23:99", false),
    ] {
        assert_eq!(time_parts(s), Some(valid), "{s:?}");
        let want = if valid { Style::Single } else { Style::Plain };
        assert_eq!(style(s), want, "{s:?}");
    }
}

/// Ruby: `1,0.5`, `1_000.5` and `1.5e+5` are floats (quoted); `1a.5` and `1.5e5` (an exponent
/// needs its sign) are text.
#[test]
fn floats_take_digits_commas_and_underscores_before_the_point() {
    for (s, want) in [
        ("1,0.5", Style::Single),
        ("1_000.5", Style::Single),
        ("1.5e+5", Style::Single),
        ("1a.5", Style::Plain),
        ("1.5e5", Style::Plain),
    ] {
        assert_eq!(style(s), want, "{s:?}");
    }
}

/// Ruby quotes each of these integers (binary, hexadecimal, octal, decimal with `_` or `,`
/// between digits); `123,4x` is text.
#[test]
fn integers_in_every_base_are_quoted() {
    let ints = ["0b101", "0b1,0", "0x1F", "0x1_F", "0x1,F", "0", "00", "0_7", "1_000", "1,000"];
    for s in ints.into_iter().chain(["12,345"]) {
        assert_eq!(style(s), Style::Single, "{s:?}");
    }
    assert_eq!(style("123,4x"), Style::Plain);
}
