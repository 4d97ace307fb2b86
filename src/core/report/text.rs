//! Measuring and fitting text for a terminal: display width, ellipsis, word wrap, padding.
//! A word is never cut in two: a cell too long is shortened with an ellipsis at a visible
//! place, and prose is wrapped between words.

use unicode_width::UnicodeWidthStr;

/// Which characters decorate the output: Unicode (box rule, ellipsis) or plain ASCII for a
/// `LANG=C` or `TERM=dumb` terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// `─`, `…`, `└`.
    #[default]
    Unicode,
    /// `-`, `...`, `` ` ``.
    Ascii,
}

impl Charset {
    /// The ellipsis.
    pub fn ellipsis(self) -> &'static str {
        match self {
            Self::Unicode => "…",
            Self::Ascii => "...",
        }
    }

    /// The character of a horizontal rule.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Unicode => "─",
            Self::Ascii => "-",
        }
    }
}

/// Columns the text takes on a terminal.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// The longest prefix of `s` that fits in `w` columns.
fn prefix(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw > w {
            return &s[..i];
        }
        used += cw;
    }
    s
}

/// The longest suffix of `s` that fits in `w` columns.
fn suffix(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw > w {
            return &s[i + c.len_utf8()..];
        }
        used += cw;
    }
    s
}

/// Where an ellipsis goes when a cell is shortened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Keep the beginning (names).
    End,
    /// Keep the end (paths: the file name matters most).
    Start,
    /// Keep both ends (artifact names: the project and the platform suffix).
    Middle,
    /// A path: its file name after `…/` when that fits, else the end of the file name.
    Path,
}

/// `s` in at most `w` columns, an ellipsis marking what was left out.
pub fn fit(s: &str, w: usize, cut: Cut, cs: Charset) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    let e = cs.ellipsis();
    let room = w.saturating_sub(width(e));
    if room == 0 {
        return prefix(e, w).to_string();
    }
    match cut {
        Cut::End => format!("{}{e}", prefix(s, room)),
        Cut::Start => format!("{e}{}", suffix(s, room)),
        Cut::Path => match s.rsplit_once('/') {
            Some((_, name)) if width(name) + width(e) < w => format!("{e}/{name}"),
            _ => format!("{e}{}", suffix(s, room)),
        },
        Cut::Middle => {
            let head = room.div_ceil(2);
            format!("{}{e}{}", prefix(s, head), suffix(s, room - head))
        }
    }
}

/// `s` padded with spaces to `w` columns.
pub fn pad(s: &str, w: usize) -> String {
    let n = w.saturating_sub(width(s));
    format!("{s}{}", " ".repeat(n))
}

/// Prose wrapped between words into lines of at most `w` columns (`None`: no limit), every
/// line after the first indented by `indent` spaces. A word longer than a whole line (a long
/// path) gets a line of its own, shortened at its start. Lines end without a newline.
pub fn wrap(
    text: &str,
    first_prefix: &str,
    indent: usize,
    w: Option<usize>,
    cs: Charset,
) -> Vec<String> {
    let Some(w) = w else { return vec![format!("{first_prefix}{text}")] };
    let mut lines = Vec::new();
    let mut line = first_prefix.to_string();
    let mut empty = true;
    let room = w.saturating_sub(indent.max(width(first_prefix))).max(1);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let word = fit(word, room, Cut::Start, cs);
        let word = word.as_str();
        if !empty && width(&line) + 1 + width(word) > w {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// Names joined with commas, at most `max` of them and then `and N more`.
pub fn list(names: &[String], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!("{}, and {} more", names[..max].join(", "), names.len() - max)
}

/// Control characters (tabs, newlines, escapes from hostile names) never reach the output raw.
pub fn clean(s: &str) -> String {
    if s.chars().any(char::is_control) { s.escape_default().to_string() } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_never_exceeds_the_width_and_marks_the_cut() {
        let s = "builder-keys/fanquake/fanquake.asc";
        assert_eq!(fit(s, 40, Cut::Start, Charset::Unicode), s);
        assert_eq!(fit(s, 14, Cut::Start, Charset::Unicode), "…/fanquake.asc");
        assert_eq!(fit(s, 14, Cut::End, Charset::Ascii), "builder-key...");
        assert_eq!(fit("abcdefghij", 5, Cut::Middle, Charset::Unicode), "ab…ij");
        assert_eq!(fit(s, 20, Cut::Path, Charset::Unicode), "…/fanquake.asc");
        assert_eq!(fit(s, 10, Cut::Path, Charset::Ascii), "...ake.asc");
        assert_eq!(fit("abcdefghij", 1, Cut::Middle, Charset::Unicode), "…");
        assert_eq!(fit("abcdefghij", 2, Cut::Middle, Charset::Ascii), "..");
        assert_eq!(width(&fit("日本語の名前です", 7, Cut::End, Charset::Unicode)), 7);
    }

    #[test]
    fn wrap_breaks_between_words_only() {
        let u = Charset::Unicode;
        let lines = wrap("signed by a key that is in no key file", "  └ ", 4, Some(20), u);
        assert_eq!(lines, ["  └ signed by a key", "    that is in no", "    key file"]);
        for l in &lines {
            assert!(width(l) <= 20);
        }
        // A word longer than a line has a line of its own, shortened at its start.
        let lines = wrap("see /a/long/path/to/key.asc now", "", 2, Some(12), u);
        assert_eq!(lines, ["see", "  …o/key.asc", "  now"]);
        assert_eq!(wrap("a b", "> ", 2, None, u), ["> a b"]);
    }

    #[test]
    fn list_caps_the_names() {
        let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(list(&names, 4), "a, b, c, d");
        assert_eq!(list(&names, 2), "a, b, and 2 more");
    }

    #[test]
    fn a_path_keeps_its_file_name_only_when_ellipsis_slash_and_name_fit() {
        let s = "builder-keys/fanquake.asc";
        // `…/fanquake.asc` is 14 columns: it fits 14, not 13 (the end of the name then).
        assert_eq!(fit(s, 14, Cut::Path, Charset::Unicode), "…/fanquake.asc");
        assert_eq!(fit(s, 13, Cut::Path, Charset::Unicode), "…fanquake.asc");
        assert_eq!(fit(s, 16, Cut::Path, Charset::Ascii), ".../fanquake.asc");
        assert_eq!(fit(s, 15, Cut::Path, Charset::Ascii), "...fanquake.asc");
    }

    #[test]
    fn wrapped_lines_fill_up_to_the_width_exactly() {
        let u = Charset::Unicode;
        // 4 + 1 + 5 = 10 columns: one line; 4 + 1 + 6 = 11: two.
        assert_eq!(wrap("aaaa bbbbb cc", "", 0, Some(10), u), ["aaaa bbbbb", "cc"]);
        assert_eq!(wrap("aaaa bbbbbb", "", 0, Some(10), u), ["aaaa", "bbbbbb"]);
        assert_eq!(wrap("a  b", "> ", 2, Some(5), u), ["> a b"]);
    }
}
