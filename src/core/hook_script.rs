//! Our block inside a git hook file, between marker lines, so that the rest of a user's hook
//! survives both install and uninstall. Pure text in, text out: the file system is `ops::hooks`.

use std::fmt;

/// First line of our block.
pub const BEGIN: &str = "# >>> git-gitian >>>";
/// Last line of our block.
pub const END: &str = "# <<< git-gitian <<<";
/// The first line of a hook file we create from nothing.
pub const SHEBANG: &str = "#!/bin/sh\n";

/// What an install or uninstall does to one hook file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The file already is what it should be.
    Unchanged,
    /// Write this text.
    Write(String),
    /// Delete the file: nothing but our block was in it.
    Remove,
}

/// Why a hook file cannot be edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookScriptError {
    /// A begin marker without its end marker (or the other way round, or twice).
    BrokenMarkers,
    /// The hook is written in a language our shell block cannot go into.
    NotShell {
        /// The hook's `#!` line.
        shebang: String,
    },
    /// The template has no block.
    NoBlockInTemplate,
}

impl fmt::Display for HookScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BrokenMarkers => {
                write!(f, "the git-gitian marker lines are unbalanced ('{BEGIN}' ... '{END}')")
            }
            Self::NotShell { shebang } => write!(f, "not a shell script ({shebang})"),
            Self::NoBlockInTemplate => write!(f, "hook template has no git-gitian block"),
        }
    }
}

impl std::error::Error for HookScriptError {}

/// Line span `[start, end)` of our block (marker lines included) in `lines`, if any.
fn find_block(lines: &[&str]) -> Result<Option<(usize, usize)>, HookScriptError> {
    let begins: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].trim_end() == BEGIN).collect();
    let ends: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].trim_end() == END).collect();
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => Ok(None),
        ([b], [e]) if b < e => Ok(Some((*b, *e + 1))),
        _ => Err(HookScriptError::BrokenMarkers),
    }
}

/// Lines of `text`, each keeping its `\n` (the last one may lack it).
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Our block out of a hook template (`hooks/pre-push`), markers included, ending in `\n`.
pub fn block_of(template: &str) -> Result<String, HookScriptError> {
    let lines = split_lines(template);
    let (b, e) = find_block(&lines)?.ok_or(HookScriptError::NoBlockInTemplate)?;
    let mut block: String = lines[b..e].concat();
    if !block.ends_with('\n') {
        block.push('\n');
    }
    Ok(block)
}

/// Whether a `#!` line names a POSIX-ish shell our block can run in.
fn is_shell(shebang: &str) -> bool {
    let mut words = shebang.trim_start_matches("#!").split_whitespace();
    let Some(mut program) = words.next() else { return false };
    if program.rsplit('/').next() == Some("env") {
        program = words.find(|w| !w.starts_with('-')).unwrap_or("");
    }
    matches!(program.rsplit('/').next(), Some("sh" | "bash" | "dash" | "ash" | "ksh" | "zsh"))
}

/// The hook text with `block` in it: created (`#!/bin/sh` + block) when there is no file,
/// replaced in place when a block is already there, else inserted right after the `#!` line so
/// that it runs before the user's own commands (which may `exit`).
pub fn install(existing: Option<&str>, block: &str) -> Result<Edit, HookScriptError> {
    let Some(text) = existing else {
        return Ok(Edit::Write(format!("{SHEBANG}{block}")));
    };
    let lines = split_lines(text);
    let new = if let Some((b, e)) = find_block(&lines)? {
        format!("{}{block}{}", lines[..b].concat(), lines[e..].concat())
    } else {
        match lines.first() {
            Some(first) if first.starts_with("#!") => {
                if !is_shell(first) {
                    return Err(HookScriptError::NotShell { shebang: first.trim_end().into() });
                }
                let first =
                    if first.ends_with('\n') { first.to_string() } else { format!("{first}\n") };
                format!("{first}{block}{}", lines[1..].concat())
            }
            // No `#!`: git runs such a hook with the shell.
            _ => format!("{block}{text}"),
        }
    };
    Ok(if new == text { Edit::Unchanged } else { Edit::Write(new) })
}

/// The hook text without our block; `Remove` when only the `#!/bin/sh` we created is left.
pub fn uninstall(existing: &str) -> Result<Edit, HookScriptError> {
    let lines = split_lines(existing);
    let Some((b, e)) = find_block(&lines)? else { return Ok(Edit::Unchanged) };
    let rest = format!("{}{}", lines[..b].concat(), lines[e..].concat());
    Ok(if rest.is_empty() || rest == SHEBANG { Edit::Remove } else { Edit::Write(rest) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "#!/bin/sh\n# >>> git-gitian >>>\ngit gitian hooks run pre-push \"$@\"\n# <<< git-gitian <<<\n";

    fn block() -> String {
        block_of(TEMPLATE).unwrap()
    }

    #[test]
    fn block_of_takes_markers_and_body() {
        assert_eq!(
            block(),
            "# >>> git-gitian >>>\ngit gitian hooks run pre-push \"$@\"\n# <<< git-gitian <<<\n"
        );
        assert_eq!(block_of("#!/bin/sh\necho\n"), Err(HookScriptError::NoBlockInTemplate));
    }

    #[test]
    fn install_creates_and_uninstall_removes() {
        let Edit::Write(text) = install(None, &block()).unwrap() else { panic!() };
        assert_eq!(text, TEMPLATE);
        assert_eq!(install(Some(&text), &block()).unwrap(), Edit::Unchanged);
        assert_eq!(uninstall(&text).unwrap(), Edit::Remove);
    }

    #[test]
    fn user_content_survives_install_and_uninstall() {
        let user = "#!/bin/bash\nset -e\necho mine\nexit 0\n";
        let Edit::Write(text) = install(Some(user), &block()).unwrap() else { panic!() };
        assert_eq!(text, format!("#!/bin/bash\n{}set -e\necho mine\nexit 0\n", block()));
        assert_eq!(install(Some(&text), &block()).unwrap(), Edit::Unchanged);
        assert_eq!(uninstall(&text).unwrap(), Edit::Write(user.to_string()));
        assert_eq!(uninstall(user).unwrap(), Edit::Unchanged);
    }

    #[test]
    fn install_replaces_an_old_block_in_place() {
        let old = format!("#!/bin/sh\necho a\n{BEGIN}\nold body\n{END}\necho b\n");
        let Edit::Write(text) = install(Some(&old), &block()).unwrap() else { panic!() };
        assert_eq!(text, format!("#!/bin/sh\necho a\n{}echo b\n", block()));
    }

    #[test]
    fn hook_without_shebang_or_final_newline() {
        let Edit::Write(text) = install(Some("echo x"), &block()).unwrap() else { panic!() };
        assert_eq!(text, format!("{}echo x", block()));
        assert_eq!(uninstall(&text).unwrap(), Edit::Write("echo x".into()));
        let Edit::Write(text) = install(Some("#!/bin/sh"), &block()).unwrap() else { panic!() };
        assert_eq!(text, format!("#!/bin/sh\n{}", block()));
    }

    #[test]
    fn refuses_other_languages_and_broken_markers() {
        for ok in ["#!/bin/sh", "#!/usr/bin/env bash", "#! /bin/dash -e", "#!/usr/bin/env -S zsh"] {
            assert!(is_shell(ok), "{ok}");
        }
        assert_eq!(
            install(Some("#!/usr/bin/env python3\nprint(1)\n"), &block()),
            Err(HookScriptError::NotShell { shebang: "#!/usr/bin/env python3".into() })
        );
        let broken = format!("#!/bin/sh\n{BEGIN}\necho\n");
        assert_eq!(install(Some(&broken), &block()), Err(HookScriptError::BrokenMarkers));
        assert_eq!(uninstall(&broken), Err(HookScriptError::BrokenMarkers));
        let reversed = format!("{END}\n{BEGIN}\n");
        assert_eq!(uninstall(&reversed), Err(HookScriptError::BrokenMarkers));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            HookScriptError::BrokenMarkers.to_string(),
            "the git-gitian marker lines are unbalanced \
             ('# >>> git-gitian >>>' ... '# <<< git-gitian <<<')"
        );
        let e = HookScriptError::NotShell { shebang: "#!/usr/bin/python3".into() };
        assert_eq!(e.to_string(), "not a shell script (#!/usr/bin/python3)");
        assert_eq!(
            HookScriptError::NoBlockInTemplate.to_string(),
            "hook template has no git-gitian block"
        );
    }

    #[test]
    fn shells_by_program_name_only() {
        for ok in
            ["#!/bin/ash", "#!/bin/ksh", "#!/usr/bin/zsh", "#!/usr/local/bin/bash -eu", "#!sh"]
        {
            assert!(is_shell(ok), "{ok}");
        }
        for not in [
            "#!",
            "#!/usr/bin/env",
            "#!/usr/bin/env -S",
            "#!/usr/bin/env -S python3",
            "#!/usr/bin/perl",
            "#!/bin/shell",
            "#!/usr/bin/fish",
        ] {
            assert!(!is_shell(not), "{not}");
        }
        assert_eq!(
            install(Some("#!/usr/bin/perl\n"), &block()),
            Err(HookScriptError::NotShell { shebang: "#!/usr/bin/perl".into() })
        );
    }

    #[test]
    fn markers_with_trailing_blanks_are_found() {
        let crlf =
            "#!/bin/sh\r\n# >>> git-gitian >>> \r\nold\r\n# <<< git-gitian <<<\t\r\necho me\r\n";
        assert_eq!(uninstall(crlf).unwrap(), Edit::Write("#!/bin/sh\r\necho me\r\n".into()));
        let Edit::Write(text) = install(Some(crlf), &block()).unwrap() else { panic!() };
        assert_eq!(text, format!("#!/bin/sh\r\n{}echo me\r\n", block()));
        // A marker inside a longer line is no marker.
        assert_eq!(uninstall("echo '# >>> git-gitian >>>'\n").unwrap(), Edit::Unchanged);
    }

    #[test]
    fn a_template_ending_on_its_end_marker_gets_a_newline() {
        let t = format!("#!/bin/sh\n{BEGIN}\nbody\n{END}");
        assert_eq!(block_of(&t).unwrap(), format!("{BEGIN}\nbody\n{END}\n"));
        let twice = format!("{BEGIN}\n{END}\n{BEGIN}\n{END}\n");
        assert_eq!(block_of(&twice), Err(HookScriptError::BrokenMarkers));
    }

    #[test]
    fn uninstall_removes_a_file_of_only_our_block_and_keeps_other_shebangs() {
        assert_eq!(uninstall(&block()).unwrap(), Edit::Remove);
        let bash = format!("#!/bin/bash\n{}", block());
        assert_eq!(uninstall(&bash).unwrap(), Edit::Write("#!/bin/bash\n".into()));
        // A changed block is replaced, an unchanged one left alone.
        let old = format!("#!/bin/sh\n{BEGIN}\nold\n{END}\n");
        assert_eq!(install(Some(&old), &block()).unwrap(), Edit::Write(TEMPLATE.into()));
        assert_eq!(install(Some(TEMPLATE), &block()).unwrap(), Edit::Unchanged);
    }
}
