//! A linear look at how deep a text's flow collections (`[`, `{`) nest, before the YAML reader
//! sees it. libyaml scans the whole text before serde_yaml_ng's recursion limit stops a deep
//! document, and slowly: 64,000 nested `[` took seconds to end in "recursion limit exceeded".
//! Refused here at the line that goes past [`MAX_DEPTH`], in one pass.
//!
//! Only flow context is counted; brackets in comments, quoted strings, block scalars (the
//! `script`) and plain scalars of block context are not, so the check errs toward letting a
//! document through (the reader's own limit still applies) and never refuses a document the
//! reader would accept: serde_yaml_ng refuses more than 128 levels anyway.

/// Deepest flow nesting accepted (serde_yaml_ng's recursion limit).
pub(super) const MAX_DEPTH: usize = 128;

/// The message for a document nested deeper than [`MAX_DEPTH`].
pub(super) const TOO_DEEP: &str = "the YAML nests deeper than 128 levels; descriptors need 3";

/// The scanner's place in the text.
#[derive(Default)]
struct Scan {
    /// Flow nesting depth.
    depth: usize,
    /// Inside a quoted scalar: its quote.
    quote: Option<char>,
    /// Inside a block scalar whose parent line had this indentation.
    block: Option<usize>,
}

/// The 1-based line where flow collections nest deeper than [`MAX_DEPTH`], if they do.
pub(super) fn too_deep(text: &str) -> Option<usize> {
    let mut scan = Scan::default();
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = scan.block {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            scan.block = None;
        }
        if scan.line(line, indent) {
            return Some(i + 1);
        }
    }
    None
}

impl Scan {
    /// Scans one line; true when the depth goes past the limit.
    fn line(&mut self, line: &str, indent: usize) -> bool {
        // In block context, a node starts where a value can start: at the indentation, or
        // after `- `, `? `, `: ` or `--- `.
        let mut value_start = true;
        let mut prev = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(q) = self.quote {
                match c {
                    '\\' if q == '"' => {
                        chars.next();
                    }
                    '\'' if q == '\'' && chars.peek() == Some(&'\'') => {
                        chars.next();
                    }
                    _ if c == q => self.quote = None,
                    _ => {}
                }
                prev = c;
                continue;
            }
            let token_start = prev.is_whitespace() || (self.depth > 0 && "[{,:".contains(prev));
            match c {
                '#' if prev.is_whitespace() => return false,
                '"' | '\'' if token_start && (self.depth > 0 || value_start) => {
                    self.quote = Some(c);
                }
                '[' | '{' if self.depth > 0 || value_start => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return true;
                    }
                }
                ']' | '}' if self.depth > 0 => self.depth -= 1,
                '|' | '>' if self.depth == 0 && value_start => {
                    self.block = Some(indent);
                    return false;
                }
                ' ' | '\t' => {}
                // `- ` and `? ` open a node only where one can start; `: ` after any key.
                '-' | '?' | ':'
                    if self.depth == 0
                        && (c == ':' || value_start)
                        && chars.peek().is_none_or(|n| *n == ' ') =>
                {
                    value_start = true;
                    prev = c;
                    continue;
                }
                _ => {}
            }
            if !c.is_whitespace() {
                value_start = false;
            }
            prev = c;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_found_at_its_line() {
        assert_eq!(too_deep(&"[".repeat(MAX_DEPTH)), None);
        assert_eq!(too_deep(&"[".repeat(MAX_DEPTH + 1)), Some(1));
        let text = format!("name: x\nlist: {}\n", "[\n".repeat(200));
        assert_eq!(too_deep(&text), Some(MAX_DEPTH + 2));
        assert_eq!(too_deep(&format!("a: {}", "{a: ".repeat(MAX_DEPTH + 1))), Some(1));
    }

    #[test]
    fn brackets_outside_flow_context_do_not_count() {
        let many = "[".repeat(MAX_DEPTH + 10);
        for text in [
            format!("script: |\n  echo {many}\n  [[ -e x ]]\nname: x\n"),
            format!("script: >-\n  {many}\n"),
            format!("name: a{many}\n"),
            format!("name: a - {many}\n"),
            format!("# {many}\nname: x\n"),
            format!("name: \"{many}\"\n"),
            format!("name: '{many}'\n"),
            format!("list: [\"{many}\", '{many}', a]\n"),
            format!("list: ['it''s {many}']\n"),
            format!("name: \"a \\\" {many}\"\n"),
            format!("name: \"multi\n  line {many}\"\n"),
        ] {
            assert_eq!(too_deep(&text), None, "{text}");
        }
    }

    #[test]
    fn an_apostrophe_inside_a_word_opens_no_quote() {
        let many = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&format!("list: [it's, {many}\n")), Some(1));
        assert_eq!(too_deep(&format!("name: don't\nlist: {many}\n")), Some(2));
        assert_eq!(too_deep(&format!("name: x\"y\nlist: {many}\n")), Some(2));
    }

    #[test]
    fn a_block_scalar_ends_at_a_line_indented_like_its_key() {
        let many = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&format!("script: |\n  echo\n\n  done\nlist: {many}\n")), Some(5));
        assert_eq!(too_deep(&format!("a:\n  script: |\n    x\n  list: {many}\n")), Some(4));
        let text = format!("script: |\n  make -j2 all install\nlist: {many}\n");
        assert_eq!(too_deep(&text), Some(3));
    }

    #[test]
    fn quoted_strings_in_flow_end_at_their_own_quote() {
        let many = "[".repeat(MAX_DEPTH + 1);
        // Closed: what follows counts.
        for text in [
            format!("list: ['a\\', {many}\n"),
            format!("list: [\"a'\", {many}\n"),
            format!("list: [\"it's\", {many}\n"),
            format!("list: ['say \"hi\"', {many}\n"),
            format!("list: [\"a\", {many}\n"),
            format!("name: 'quoted'\nlist: {many}\n"),
        ] {
            assert!(too_deep(&text).is_some(), "{text}");
        }
        // Still open: the brackets are text.
        for text in [format!("list: [\"a \\\" {many}\"]\n"), format!("list: ['it''s', '{many}']\n")]
        {
            assert_eq!(too_deep(&text), None, "{text}");
        }
    }

    #[test]
    fn a_comment_starts_only_after_a_blank_also_inside_flow() {
        let many = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&format!("list: [a, # {many}\n  b]\n")), None);
        assert_eq!(too_deep(&format!("list: [a#b, {many}\n")), Some(1));
    }

    #[test]
    fn a_quote_inside_a_plain_scalar_opens_no_string() {
        let many = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&format!("name: a 'b\nlist: {many}\n")), Some(2));
        assert_eq!(too_deep(&format!("name: a \"b\nlist: {many}\n")), Some(2));
    }

    #[test]
    fn a_bar_or_angle_inside_a_flow_collection_starts_no_block_scalar() {
        let many = "[".repeat(MAX_DEPTH + 1);
        for indicator in ["|", ">"] {
            let text = format!("list: [a,\n  {indicator}, {many}\n");
            assert_eq!(too_deep(&text), Some(2), "{text}");
        }
    }
}
