//! Which style Gitian's Ruby writes a string in: the decision of Psych 4.0 (`visit_String` and
//! its scalar scanner) followed by libyaml 0.2.5's veto (its scalar analyser), for a value in
//! block context. This is what makes an assert written here byte-identical to gsign's for every
//! name gsign accepts (`tests/test_cli.rs` compares it with the real Ruby when it is installed).
//!
//! Psych first asks for a style:
//! - a literal block when a line break is followed by more than a final line break;
//! - double quotes for `y` and `n` (lowercase only in 4.0), and for any string whose first
//!   character (of any line) is not a word character and that has no `"`;
//! - single quotes when its scalar scanner would read the string back as something else
//!   (null, a boolean, an integer, a float, a time, a date, a symbol), or when it starts like an
//!   octal number with an 8 or 9 in it (`08a`);
//! - plain otherwise.
//!
//! libyaml then refuses what the text cannot hold: no plain scalar with leading or trailing
//! blanks, breaks, `: `, ` #` or an indicator first; no single quotes around a space before a
//! break or a character it cannot print; no block for trailing spaces or unprintable text. A
//! refused style falls to single, then double quotes.

/// The style a string value is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// As it is.
    Plain,
    /// `'...'`.
    Single,
    /// `"..."` with escapes.
    Double,
    /// A `|` block.
    Literal,
}

/// The style Psych 4 / libyaml 0.2.5 write `s` in, as a mapping or sequence value.
pub fn style(s: &str) -> Style {
    let a = Analysis::of(s);
    match psych_request(s) {
        Style::Literal if a.block_allowed => Style::Literal,
        Style::Literal | Style::Double => Style::Double,
        Style::Plain if a.block_plain_allowed => Style::Plain,
        Style::Plain | Style::Single if a.single_allowed => Style::Single,
        Style::Plain | Style::Single => Style::Double,
    }
}

/// The header of a literal block: `|`, then `2` when the text starts with a space or a break,
/// then `-` (no final break) or `+` (more than one) as libyaml's chomping hints.
pub fn literal_header(s: &str) -> String {
    let mut h = String::from("|");
    if s.starts_with(' ') || s.starts_with(is_break) {
        h.push('2');
    }
    let mut rev = s.chars().rev();
    match (rev.next(), rev.next()) {
        (Some(c), _) if !is_break(c) => h.push('-'),
        (None, _) => h.push('-'),
        (Some(_), None) => h.push('+'),
        (Some(_), Some(c)) if is_break(c) => h.push('+'),
        _ => {}
    }
    h
}

/// Whether Psych tags the string explicitly (`!!str '<<'`: a plain `<<` is a merge key).
pub fn needs_str_tag(s: &str) -> bool {
    s == "<<"
}

/// libyaml's double-quoted form on one line (`core::assertion` breaks long ones).
pub fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let escape = !printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\';
        if !escape {
            out.push(c);
            continue;
        }
        out.push('\\');
        match c {
            '\0' => out.push('0'),
            '\u{7}' => out.push('a'),
            '\u{8}' => out.push('b'),
            '\t' => out.push('t'),
            '\n' => out.push('n'),
            '\u{B}' => out.push('v'),
            '\u{C}' => out.push('f'),
            '\r' => out.push('r'),
            '\u{1B}' => out.push('e'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '\u{85}' => out.push('N'),
            '\u{A0}' => out.push('_'),
            '\u{2028}' => out.push('L'),
            '\u{2029}' => out.push('P'),
            c if (c as u32) <= 0xFF => out.push_str(&format!("x{:02X}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("u{:04X}", c as u32)),
            c => out.push_str(&format!("U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// What Psych's `visit_String` asks the emitter for.
fn psych_request(s: &str) -> Style {
    if has_inner_break(s) {
        return Style::Literal;
    }
    if s == "<<" {
        return Style::Single;
    }
    if s == "y" || s == "n" {
        return Style::Double;
    }
    // `^[^[:word:]][^"]*$`: a line whose first character is not a word character (an empty
    // line's is its break) and whose rest holds no `"`.
    let line_starts = std::iter::once(0).chain(s.match_indices('\n').map(|(i, _)| i + 1));
    for start in line_starts {
        let Some(c) = s[start..].chars().next() else { continue };
        let rest = &s[start + c.len_utf8()..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        if !is_word(c) && !rest[..line_end].contains('"') {
            return Style::Double;
        }
    }
    if !scans_as_string(s) || octal_with_8_or_9(s) {
        return Style::Single;
    }
    Style::Plain
}

/// `/\n(?!\Z)/`: a line break followed by something other than one final line break.
fn has_inner_break(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len())
        .any(|i| b[i] == b'\n' && !(i + 1 == b.len() || (i + 2 == b.len() && b[i + 1] == b'\n')))
}

/// `/\A0[0-7]*[89]/`.
fn octal_with_8_or_9(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('0') else { return false };
    let rest = rest.trim_start_matches(|c: char| ('0'..='7').contains(&c));
    rest.starts_with(['8', '9'])
}

/// Ruby's `[[:word:]]`: letters, marks, numbers and `_` (approximated by Unicode alphanumerics).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Psych's scalar scanner: whether `s` reads back as a String.
fn scans_as_string(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    if looks_like_word(s) || s.contains('\n') {
        if s.chars().count() > 5 {
            return true;
        }
        // `^[^ytonf~]` at any line start (an empty line starts with its break): a string;
        // else null and the booleans, on any line.
        let line_starts = std::iter::once(0).chain(s.match_indices('\n').map(|(i, _)| i + 1));
        let mut firsts = line_starts.filter_map(|i| s[i..].chars().next());
        if firsts.any(|c| !"ytonfYTONF~".contains(c)) {
            return true;
        }
        let special = |l: &str| {
            let l = l.to_ascii_lowercase();
            matches!(l.as_str(), "null" | "yes" | "true" | "on" | "no" | "false" | "off")
        };
        return !(s == "~" || s.split('\n').any(special));
    }
    if let Some(t) = time_parts(s) {
        return !t;
    }
    if let Some(valid) = date_valid(s) {
        return !valid;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | "+.inf" | "-.inf" | ".nan") {
        return false;
    }
    if s.starts_with(':') && s.chars().count() > 1 {
        return false; // a symbol
    }
    if sexagesimal(s) {
        return false;
    }
    if float(s) {
        return matches!(s, "." | "+." | "-.");
    }
    !integer(s)
}

/// `^[^\d.:-]?[[:alpha:]_\s!@#$%^&*(){}<>|/\\~;=]+`, at the start of the first line.
fn looks_like_word(s: &str) -> bool {
    let in_class = |c: char| {
        c.is_alphabetic() || c.is_ascii_whitespace() || "_!@#$%^&*(){}<>|/\\~;=".contains(c)
    };
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(a), _) if in_class(a) => true,
        (Some(a), Some(b)) => !(a.is_ascii_digit() || ".:-".contains(a)) && in_class(b),
        _ => false,
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn strip_sign(s: &str) -> &str {
    s.strip_prefix(['+', '-']).unwrap_or(s)
}

/// Psych's TIME pattern: `Some(valid)` when it matches, `valid` when Ruby's `Time.utc` takes it.
fn time_parts(s: &str) -> Option<bool> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (date, rest) = body.split_at_checked(body.find(['T', 't', ' ', '\t'])?)?;
    let mut d = date.split('-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || y.len() != 4 || !digits(y) {
        return None;
    }
    let small = |x: &str| digits(x) && x.len() <= 2;
    if !small(m) || !small(day) {
        return None;
    }
    let rest = if let Some(r) = rest.strip_prefix(['T', 't']) {
        r
    } else {
        let r = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if r.len() == rest.len() {
            return None;
        }
        r
    };
    let clock_end = rest.find(|c: char| !(c.is_ascii_digit() || c == ':')).unwrap_or(rest.len());
    let (clock, mut tail) = rest.split_at(clock_end);
    let parts: Vec<&str> = clock.split(':').collect();
    let [h, mi, sec] = parts.as_slice() else { return None };
    if !small(h) || mi.len() != 2 || sec.len() != 2 {
        return None;
    }
    if let Some(t) = tail.strip_prefix('.') {
        tail = t.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let tail = tail.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let zone_ok = tail.is_empty() || tail == "Z" || {
        // `[-+]\d{1,2}:?(\d\d)?`
        tail.strip_prefix(['+', '-']).is_some_and(|z| {
            (1..=2).any(|n| {
                z.get(..n).is_some_and(digits) && {
                    let r = &z[n..];
                    let r = r.strip_prefix(':').unwrap_or(r);
                    r.is_empty() || (r.len() == 2 && digits(r))
                }
            })
        })
    };
    if !zone_ok {
        return None;
    }
    let n = |x: &str| x.parse::<u32>().unwrap_or(99);
    // Ruby reads the zone's hours greedily (two digits when there are), the rest as minutes,
    // and refuses an offset of a day or more.
    let zone = tail.trim_start_matches(['+', '-', 'Z']);
    let (zh, zm) = match zone.split_once(':') {
        Some((h, m)) => (h, m),
        None => zone.split_at(zone.len().min(2)),
    };
    let offset_ok =
        zone.is_empty() || n(zh) * 3600 + if zm.is_empty() { 0 } else { n(zm) * 60 } < 86_400;
    let valid = offset_ok
        && (1..=12).contains(&n(m))
        && (1..=31).contains(&n(day))
        && (n(h) < 24 || (n(h) == 24 && n(mi) == 0 && n(sec) == 0))
        && n(mi) <= 59
        && n(sec) <= 60;
    Some(valid)
}

/// Psych's date pattern `^\d{4}-(1[012]|0\d|\d)-([12]\d|3[01]|0\d|\d)$`: `Some(valid)` when it
/// matches, `valid` when it is a real calendar date (else Ruby's Date refuses it: a string).
fn date_valid(s: &str) -> Option<bool> {
    let mut d = s.split('-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || y.len() != 4 || !digits(y) {
        return None;
    }
    let month_ok = digits(m)
        && (m.len() == 1
            || (m.len() == 2 && (m.starts_with('0') || matches!(m, "10" | "11" | "12"))));
    let day_ok = digits(day)
        && (day.len() == 1
            || (day.len() == 2
                && (day.starts_with(['0', '1', '2']) || matches!(day, "30" | "31"))));
    if !month_ok || !day_ok {
        return None;
    }
    let (y, m, day): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, day.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    Some(day >= 1 && day <= days)
}

/// `^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}(\.[0-9_]*)?$`.
fn sexagesimal(s: &str) -> bool {
    let body = strip_sign(s);
    let (body, frac) = match body.split_once('.') {
        Some((b, f)) => (b, Some(f)),
        None => (body, None),
    };
    if frac.is_some_and(|f| !f.bytes().all(|b| b.is_ascii_digit() || b == b'_')) {
        return false;
    }
    let parts: Vec<&str> = body.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return false;
    }
    let first = parts[0];
    let first_ok = first.starts_with(|c: char| c.is_ascii_digit())
        && first.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let sixty = |p: &&str| match p.as_bytes() {
        [a] => a.is_ascii_digit(),
        [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
        _ => false,
    };
    first_ok && parts[1..].iter().all(sixty)
}

/// `^[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?$`.
fn float(s: &str) -> bool {
    let body = strip_sign(s);
    let Some((int, rest)) = body.split_once('.') else { return false };
    let int_ok = int.is_empty()
        || (int.starts_with(|c: char| c.is_ascii_digit())
            && int.bytes().all(|b| b.is_ascii_digit() || b == b'_' || b == b','));
    let frac_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let exp = &rest[frac_end..];
    let exp_ok = exp.is_empty()
        || exp
            .strip_prefix(['e', 'E'])
            .and_then(|e| e.strip_prefix(['+', '-']))
            .is_some_and(digits);
    int_ok && exp_ok
}

/// Psych's INTEGER pattern (binary, octal, decimal with `,`/`_` between digits, hex).
fn integer(s: &str) -> bool {
    let body = strip_sign(s);
    let all = |t: &str, ok: fn(u8) -> bool| !t.is_empty() && t.bytes().all(ok);
    if let Some(b) = body.strip_prefix("0b") {
        return all(b, |c| matches!(c, b'0' | b'1' | b'_' | b','));
    }
    if let Some(h) = body.strip_prefix("0x") {
        return all(h, |c| c.is_ascii_hexdigit() || c == b'_' || c == b',');
    }
    if let Some(o) = body.strip_prefix('0') {
        return o.is_empty() || all(o, |c| matches!(c, b'0'..=b'7' | b'_' | b','));
    }
    let b = body.as_bytes();
    if b.first().is_none_or(|c| !(b'1'..=b'9').contains(c)) {
        return false;
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_digit() => i += 1,
            b',' | b'_' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => i += 2,
            _ => return false,
        }
    }
    true
}

/// libyaml's printable set (with unicode output on, as Psych sets it).
fn printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// What libyaml's analyser allows for a string in block context.
struct Analysis {
    block_plain_allowed: bool,
    single_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    fn of(s: &str) -> Self {
        if s.is_empty() {
            return Self { block_plain_allowed: true, single_allowed: true, block_allowed: false };
        }
        let chars: Vec<char> = s.chars().collect();
        let blankz = |i: usize| chars.get(i).is_none_or(|&c| c == ' ' || is_break(c));
        let mut indicators = s.starts_with("---") || s.starts_with("...");
        let (mut special, mut breaks) = (false, false);
        let (mut space_break, mut break_space) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            let followed = blankz(i + 1);
            if i == 0 {
                indicators |=
                    "#,[]{}&*!|>'\"%@`".contains(c) || (matches!(c, '?' | ':' | '-') && followed);
            } else {
                indicators |= (c == ':' && followed) || (c == '#' && blankz(i - 1));
            }
            special |= !printable(c);
            breaks |= is_break(c);
            if i > 0 {
                let p = chars[i - 1];
                space_break |= p == ' ' && is_break(c);
                break_space |= is_break(p) && c == ' ';
            }
        }
        let (first, last) = (chars[0], chars[chars.len() - 1]);
        let edges = first == ' ' || is_break(first) || last == ' ' || is_break(last);
        let trailing_space = last == ' ';
        Self {
            block_plain_allowed: !(edges
                || break_space
                || space_break
                || special
                || breaks
                || indicators),
            single_allowed: !(break_space || space_break || special),
            block_allowed: !(trailing_space || space_break || special),
        }
    }
}

#[cfg(test)]
mod tests;
