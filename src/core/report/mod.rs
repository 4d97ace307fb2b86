//! Rendering verify reports, one small file per format: the terminal table ([`table`], with
//! the artifact grid of [`grid`]), the stable JSON ([`json`]), the corpus TSV ([`tsv`]), the
//! original gverify's lines ([`gverify`]), a Markdown comment ([`markdown`]) and a
//! self-contained HTML page ([`html`]). Every format says the same reasons ([`reason`]).
//!
//! Pure: rows in, text out. Nothing here asks the terminal anything: the caller resolves the
//! width, the colour and the character set and passes them in [`Options`].

pub mod grid;
pub mod gverify;
pub mod html;
pub mod json;
pub mod markdown;
pub mod reason;
pub mod table;
pub mod text;
pub mod tsv;

pub use json::JSON_SCHEMA;
pub use text::Charset;

/// Context shared by every renderer.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The time expiry was judged at (RFC 3339).
    pub at: String,
    /// When the check ran (RFC 3339); shown by the shared reports.
    pub checked: String,
    /// What was read, one line per ledger: a directory, a work tree (with uncommitted changes
    /// or not) or revisions of a repository.
    pub sources: Vec<String>,
    /// Whether the run passed.
    pub passed: bool,
    /// Run-level problems (fail the run).
    pub problems: Vec<String>,
    /// Run-level warnings.
    pub warnings: Vec<String>,
    /// Certificates loaded.
    pub keys_loaded: usize,
    /// Signer directories without the named attestation (gverify's `missing result at`).
    pub absent: Vec<Absent>,
}

/// A signer directory of a release that holds neither the named attestation nor its signature.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Absent {
    /// Ledger label.
    pub ledger: String,
    /// Release directory.
    pub release: String,
    /// Signer directory.
    pub signer: String,
    /// The file that was expected there.
    pub file: String,
}

/// How the human formats are drawn; resolved by the caller (terminal, flags, environment).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Columns available; `None`: no limit (a pipe).
    pub width: Option<usize>,
    /// ANSI colour.
    pub color: bool,
    /// Unicode or ASCII decorations.
    pub charset: Charset,
    /// The whole artifact grid, not only what disagrees.
    pub all: bool,
    /// The differing hashes, and gpg-style lines in gverify's format.
    pub verbose: bool,
}

/// The human report with the defaults of a terminal of `width` columns, no colour, and the
/// run's warnings at the end (for callers that print nothing else, like the pre-push hook).
pub fn table(
    groups: &[crate::core::consensus::GroupReport],
    meta: &Meta,
    width: Option<u16>,
) -> String {
    let opts = Options { width: width.map(usize::from).filter(|w| *w > 0), ..Options::default() };
    let mut out = table::render(groups, meta, &opts);
    for w in &meta.warnings {
        out.push_str(&format!("warning: {}\n", text::clean(w)));
    }
    out
}

fn dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// The last 16 hex digits of a fingerprint (the long key id), as tables show keys.
fn short_key(k: Option<&str>) -> String {
    match k {
        Some(k) if k.len() > 16 => k[k.len() - 16..].to_string(),
        Some(k) => k.to_string(),
        None => "-".to_string(),
    }
}

/// A row's manifest as shown: `#n`, `empty`, or `-` without a file.
fn manifest_label(g: &crate::core::consensus::GroupReport, i: usize) -> String {
    match (g.manifest_group[i], &g.rows[i].manifest) {
        (Some(n), _) => format!("#{n}"),
        (None, Some(_)) => "empty".to_string(),
        (None, None) => "-".to_string(),
    }
}

/// The release's title: `1.0 (gitian, hello-build.assert, ledger sigs)`.
fn title(g: &crate::core::consensus::GroupReport) -> String {
    let group = if g.group.is_empty() { String::new() } else { format!(" {}", g.group) };
    let one_file = g.rows.iter().all(|r| r.file == g.rows[0].file);
    let file = if one_file && !g.rows.is_empty() {
        format!(", {}", text::clean(&g.rows[0].file))
    } else {
        String::new()
    };
    format!(
        "{}{group} ({}{file}, ledger {})",
        text::clean(&g.release),
        g.layout.as_str(),
        text::clean(&g.ledger)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consensus::{Options, compute, tests::row};

    #[test]
    fn title_labels_and_keys_as_every_format_shows_them() {
        let rows = vec![row("a", "K1", "good", "h  f\n"), row("b", "K2", "good", "h  f\n")];
        let g = &compute(rows.clone(), &Options::default())[0];
        assert_eq!(title(g), "1.0 (gitian, x-build.assert, ledger l)");
        // A group is named; rows of several files name none.
        let mut other = rows.clone();
        other[1].file = "y-build.assert".into();
        for r in &mut other {
            r.group = "SHA256SUMS".into();
        }
        let g2 = &compute(other, &Options::default())[0];
        assert_eq!(title(g2), "1.0 SHA256SUMS (gitian, ledger l)");

        let mut three = rows;
        three.push(row("c", "K3", "good", ""));
        three[2].manifest = None;
        let g3 = &compute(three, &Options::default())[0];
        let labels: Vec<_> = (0..3).map(|i| manifest_label(g3, i)).collect();
        assert_eq!(labels, ["#1", "#1", "-"]);

        assert_eq!(short_key(Some("0123456789ABCDEF0123")), "456789ABCDEF0123");
        assert_eq!(short_key(Some("0123456789ABCDEF")), "0123456789ABCDEF");
        assert_eq!(short_key(None), "-");
        assert_eq!((dash(Some("x")), dash(None)), ("x", "-"));
    }

    #[test]
    fn table_appends_the_warnings() {
        let g = compute(vec![row("a", "K1", "good", "h  f\n")], &Options::default());
        let meta = Meta { warnings: vec!["careful".into()], ..Meta::default() };
        let out = table(&g, &meta, Some(0));
        assert!(out.ends_with("\nwarning: careful\n"), "{out}");
        assert!(out.contains("release 1.0 (gitian, x-build.assert, ledger l)"), "{out}");
        // A width is honoured (the release line alone is 47 columns).
        let narrow = table(&g, &meta, Some(40));
        assert!(narrow.lines().all(|l| l.chars().count() <= 40), "{narrow}");
    }
}
