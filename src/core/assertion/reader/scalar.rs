//! Scalars as libyaml scans them: quoted (flow) scalars with their escapes and folding, and
//! the folding of `>` blocks.

/// The lines of a folded block joined as libyaml joins them: between two lines that do not
/// start with a blank, one break is a space and each empty line between them a break; next to
/// a more-indented line every break is kept.
pub(super) fn fold_block(body: &[&str]) -> String {
    let mut text = String::new();
    // Whether the last non-empty line starts with a blank; the empty lines since.
    let (mut last_more, mut empties) = (None, 0);
    for line in body {
        if line.is_empty() {
            empties += 1;
            continue;
        }
        let more = line.starts_with([' ', '\t']);
        if last_more.is_some() && (last_more == Some(true) || more) {
            text.push('\n');
        } else if last_more.is_some() && empties == 0 {
            text.push(' ');
        }
        text.extend(std::iter::repeat_n('\n', empties));
        (last_more, empties) = (Some(more), 0);
        text.push_str(line);
    }
    text
}

/// A line break at `i` of `b`: its length in bytes (CRLF is two, NEL two, LS and PS three),
/// or 0. libyaml's breaks: LF, CR, CRLF and NEL read as `\n`, LS and PS as themselves.
fn break_len(b: &[u8], i: usize) -> usize {
    match b.get(i..).unwrap_or_default() {
        [b'\r', b'\n', ..] | [0xC2, 0x85, ..] => 2,
        [b'\n' | b'\r', ..] => 1,
        [0xE2, 0x80, 0xA8 | 0xA9, ..] => 3,
        _ => 0,
    }
}

/// Whether a line break ends just before `i` (a line starts at `i`).
fn after_break(b: &[u8], i: usize) -> bool {
    (1..=3).any(|n| i >= n && break_len(b, i - n) == n)
}

fn is_blank_or_break(b: &[u8], i: usize) -> bool {
    matches!(b.get(i), Some(b' ' | b'\t')) || break_len(b, i) > 0
}

/// Scans a quoted scalar whose opening quote is at byte `start` of `text`, as libyaml's flow
/// scalar scanner does: runs of text, escapes (double-quoted) or `''` (single-quoted); between
/// them, white space and line breaks folded (one break is a space, each further break a
/// newline, an escaped break joins without a space, white space before a break is dropped and
/// at the start of a continuation line skipped, escaped white space always kept). Returns the
/// value and the byte offset just past the closing quote, or (offset, message).
pub(super) fn scan_flow_scalar(
    text: &str,
    start: usize,
) -> Result<(String, usize), (usize, String)> {
    let b = text.as_bytes();
    let single = b[start] == b'\'';
    let quote = b[start];
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        // A document marker at the start of a line ends the stream inside the scalar.
        if after_break(b, i)
            && (b[i..].starts_with(b"---") || b[i..].starts_with(b"..."))
            && matches!(b.get(i + 3), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
        {
            return Err((i, "a document marker inside a quoted string".into()));
        }
        let mut leading_blanks = false;
        // Non-blank characters.
        while i < b.len() && !is_blank_or_break(b, i) {
            match b[i] {
                b'\'' if single && b.get(i + 1) == Some(&b'\'') => {
                    out.push('\'');
                    i += 2;
                }
                c if c == quote => break,
                b'\\' if !single && break_len(b, i + 1) > 0 => {
                    i += 1 + break_len(b, i + 1);
                    leading_blanks = true;
                    break;
                }
                b'\\' if !single => i = escape(text, i, &mut out)?,
                _ => {
                    // A run up to the next special byte, copied whole (UTF-8 intact). A
                    // backslash is special only in double quotes: in single quotes it is text
                    // (stopping at it there made an empty run and an endless loop).
                    let run = (i..b.len())
                        .find(|&j| {
                            is_blank_or_break(b, j) || (b[j] == b'\\' && !single) || b[j] == quote
                        })
                        .unwrap_or(b.len());
                    out.push_str(&text[i..run]);
                    i = run;
                }
            }
        }
        if i >= b.len() {
            return Err((b.len().saturating_sub(1), "unterminated quoted string".into()));
        }
        if b[i] == quote && !leading_blanks {
            return Ok((out, i + 1));
        }
        // White space and line breaks.
        i = fold_blanks(b, i, leading_blanks, &mut out);
    }
}

/// The white space and line breaks at `i` of a quoted scalar, folded into `out`: after a
/// break (or an escaped one, `leading_blanks`) one `\n` break is a space and each further break
/// itself (LS and PS are always kept); white space before a break is dropped. Returns the
/// offset after them.
fn fold_blanks(b: &[u8], mut i: usize, mut leading_blanks: bool, out: &mut String) -> usize {
    let mut whitespace = String::new();
    let mut leading_break = None;
    let mut trailing_breaks = String::new();
    while i < b.len() && is_blank_or_break(b, i) {
        let n = break_len(b, i);
        if n == 0 {
            if !leading_blanks {
                whitespace.push(b[i] as char);
            }
            i += 1;
            continue;
        }
        // LS and PS (three bytes) are kept; the other breaks read as `\n`.
        let read =
            if n == 3 { if b[i + 2] == 0xA8 { '\u{2028}' } else { '\u{2029}' } } else { '\n' };
        if !leading_blanks {
            whitespace.clear();
            leading_break = Some(read);
            leading_blanks = true;
        } else {
            trailing_breaks.push(read);
        }
        i += n;
    }
    if leading_blanks {
        match leading_break {
            Some('\n') if trailing_breaks.is_empty() => out.push(' '),
            Some('\n') | None => out.push_str(&trailing_breaks),
            Some(kept) => {
                out.push(kept);
                out.push_str(&trailing_breaks);
            }
        }
    } else {
        out.push_str(&whitespace);
    }
    i
}

/// One escape sequence at `i` (the backslash) into `out`; returns the offset after it.
fn escape(text: &str, i: usize, out: &mut String) -> Result<usize, (usize, String)> {
    let Some(e) = text[i + 1..].chars().next() else {
        return Err((i, "unterminated quoted string".into()));
    };
    let simple = match e {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c);
        return Ok(i + 1 + e.len_utf8());
    }
    let n = match e {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return Err((i, format!("unknown escape '\\{}'", e.escape_debug()))),
    };
    let hex = text.get(i + 2..i + 2 + n).filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
    match hex.and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32) {
        Some(c) => {
            out.push(c);
            Ok(i + 2 + n)
        }
        None => Err((i, "bad escape in double-quoted string".into())),
    }
}
