//! The diff report as a table (one row per thing that differs, then the text and diffoscope
//! blocks) and as JSON (schema `git-gitian/diff/v1`, documented in docs/diff.md).

use comfy_table::{ContentArrangement, Table, presets};

use super::{Change, Content, Node, Presence, Report};

/// Control characters from hostile names never reach the terminal raw.
fn clean(s: &str) -> String {
    if s.chars().any(|c| c.is_control() && c != '\n') {
        s.escape_default().to_string()
    } else {
        s.to_string()
    }
}

fn content(c: &Content) -> String {
    format!("{} bytes\nblake3 {}", c.size, &c.blake3[..c.blake3.len().min(12)])
}

fn size(s: Option<u64>) -> String {
    s.map_or_else(|| "absent".into(), |s| format!("{s} bytes"))
}

/// The table rows of one change: (what, a, b).
fn rows(change: &Change) -> Vec<[String; 3]> {
    match change {
        Change::Content { a, b } => vec![["content".into(), content(a), content(b)]],
        Change::Attribute { name, a, b } => vec![[name.clone(), clean(a), clean(b)]],
        Change::Order { position, a, b } => {
            vec![[
                "member order".into(),
                format!("#{position}: {}", clean(a)),
                format!("#{position}: {}", clean(b)),
            ]]
        }
        Change::Compression { layer, same_contents, fields } => {
            let same = if *same_contents { " (same contents)" } else { "" };
            if fields.is_empty() {
                return vec![[
                    format!("{layer} stream only{same}"),
                    "compression level or tool differs".into(),
                    String::new(),
                ]];
            }
            let names: Vec<&str> = fields.iter().map(|f| f.0.as_str()).collect();
            let what = format!(
                "{layer} header{}: {}",
                if *same_contents { " only" } else { "" },
                names.join(" and ")
            );
            let a = fields
                .iter()
                .map(|f| format!("{}: {}", f.0, clean(&f.1)))
                .collect::<Vec<_>>()
                .join("\n");
            let b = fields
                .iter()
                .map(|f| format!("{}: {}", f.0, clean(&f.2)))
                .collect::<Vec<_>>()
                .join("\n");
            vec![[format!("{what}{same}"), a, b]]
        }
        Change::Sections { sections } if sections.is_empty() => {
            vec![[
                "ELF".into(),
                "sections identical; headers or padding differ".into(),
                String::new(),
            ]]
        }
        Change::Sections { sections } => sections
            .iter()
            .map(|s| {
                let at = s
                    .first_difference
                    .map_or(String::new(), |o| format!("\nfirst differs at +{o:#x}"));
                [
                    format!("section {}", clean(&s.name)),
                    size(s.size_a),
                    format!("{}{at}", size(s.size_b)),
                ]
            })
            .collect(),
        Change::Text { omitted_lines, .. } => {
            let more = if *omitted_lines > 0 {
                format!(" ({omitted_lines} more lines not shown)")
            } else {
                String::new()
            };
            vec![["text".into(), format!("line diff below{more}"), String::new()]]
        }
        Change::Binary { first_difference } => {
            vec![[
                "binary".into(),
                format!("first difference at byte {first_difference}"),
                String::new(),
            ]]
        }
        Change::Deep { timed_out, .. } => {
            let t = if *timed_out { " (stopped at the timeout)" } else { "" };
            vec![["diffoscope".into(), format!("output below{t}"), String::new()]]
        }
        Change::Note { text } => vec![["note".into(), clean(text), String::new()]],
    }
}

fn walk<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    out.push(node);
    for c in &node.children {
        walk(c, out);
    }
}

fn presence_row(n: &Node) -> Option<[String; 3]> {
    match n.presence {
        Presence::Both => None,
        Presence::OnlyInA => Some(["only in A".into(), "present".into(), "absent".into()]),
        Presence::OnlyInB => Some(["only in B".into(), "absent".into(), "present".into()]),
    }
}

/// The table, followed by the line diffs and diffoscope outputs, then a summary line.
pub fn table(report: &Report, width: Option<u16>) -> String {
    let mut nodes = Vec::new();
    for n in &report.differences {
        walk(n, &mut nodes);
    }
    let mut out = String::new();
    if !nodes.is_empty() {
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if let Some(w) = width {
            t.set_width(w);
        }
        t.set_header(["entry", "what differs", "A", "B"]);
        for n in &nodes {
            let mut first = true;
            let mut all: Vec<[String; 3]> = presence_row(n).into_iter().collect();
            all.extend(n.changes.iter().flat_map(rows));
            for [what, a, b] in all {
                let entry = if first { clean(&n.display_path()) } else { String::new() };
                first = false;
                t.add_row([entry, what, a, b]);
            }
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    for n in &nodes {
        for c in &n.changes {
            match c {
                Change::Text { unified, omitted_lines } => {
                    out.push_str(&format!(
                        "\n{} (text):\n{}",
                        clean(&n.display_path()),
                        clean(unified)
                    ));
                    if *omitted_lines > 0 {
                        out.push_str(&format!("[{omitted_lines} more lines of diff not shown]\n"));
                    }
                }
                Change::Deep { output, .. } => {
                    out.push_str(&format!(
                        "\n{} (diffoscope):\n{}",
                        clean(&n.display_path()),
                        clean(output)
                    ));
                    if !output.ends_with('\n') {
                        out.push('\n');
                    }
                }
                _ => {}
            }
        }
    }
    out.push_str(&summary(report));
    out
}

/// One line: same, or how many entries differ.
pub fn summary(report: &Report) -> String {
    let entries = |n: u64| if n == 1 { "1 entry".to_string() } else { format!("{n} entries") };
    if report.same() {
        format!("same: {} compared\n", entries(report.compared))
    } else {
        format!(
            "differ: {} differ ({} compared)\n",
            entries(report.count() as u64),
            report.compared
        )
    }
}

/// The JSON document.
pub fn json(report: &Report) -> String {
    let v = serde_json::json!({
        "schema": super::JSON_SCHEMA,
        "a": report.a,
        "b": report.b,
        "same": report.same(),
        "compared": report.compared,
        "differences": report.differences,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::diff::elf::SectionChange;

    fn sample() -> Report {
        let member = Node {
            path: vec!["out.tar.gz".into(), "lib/libx.so".into()],
            format: "elf".into(),
            presence: Presence::Both,
            changes: vec![Change::Sections {
                sections: vec![SectionChange {
                    name: ".text".into(),
                    size_a: Some(64),
                    size_b: Some(64),
                    first_difference: Some(16),
                }],
            }],
            children: vec![],
        };
        let top = Node {
            path: vec!["out.tar.gz".into()],
            format: "tar.gz".into(),
            presence: Presence::Both,
            changes: vec![Change::Compression {
                layer: "gzip".into(),
                same_contents: false,
                fields: vec![(
                    "mtime".into(),
                    "2024-01-01 00:00:00".into(),
                    "2024-01-02 00:00:00".into(),
                )],
            }],
            children: vec![member],
        };
        Report { a: "a".into(), b: "b".into(), compared: 3, differences: vec![top] }
    }

    #[test]
    fn table_names_member_and_section() {
        let t = table(&sample(), Some(120));
        assert!(t.contains("out.tar.gz!/lib/libx.so"), "{t}");
        assert!(t.contains("section .text"), "{t}");
        assert!(t.contains("first differs at +0x10"), "{t}");
        assert!(t.contains("gzip header: mtime"), "{t}");
        assert!(t.ends_with("differ: 2 entries differ (3 compared)\n"), "{t}");
    }

    #[test]
    fn json_has_schema_and_tree() {
        let v: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(v["schema"], "git-gitian/diff/v1");
        assert_eq!(v["same"], false);
        let section = &v["differences"][0]["children"][0]["changes"][0];
        assert_eq!(section["kind"], "sections");
        assert_eq!(section["sections"][0]["name"], ".text");
    }

    /// docs/diff.md documents the JSON schema: every key the JSON has, for every kind of
    /// change, is in its table row (a new field or kind must be documented to pass).
    #[test]
    fn json_schema_is_the_documented_one() {
        let docs = include_str!("../../../docs/diff.md");
        let content = Content { size: 1, blake3: "00".into() };
        let every = [
            Change::Content { a: content.clone(), b: content },
            Change::Attribute { name: "mtime".into(), a: "1".into(), b: "2".into() },
            Change::Order { position: 0, a: "x".into(), b: "y".into() },
            Change::Compression { layer: "gzip".into(), same_contents: true, fields: vec![] },
            Change::Sections { sections: vec![] },
            Change::Text { unified: String::new(), omitted_lines: 0 },
            Change::Binary { first_difference: 0 },
            Change::Deep { output: String::new(), timed_out: false },
            Change::Note { text: String::new() },
        ];
        for c in every {
            let v = serde_json::to_value(&c).unwrap();
            let kind = v["kind"].as_str().unwrap();
            let row = docs.lines().find(|l| l.starts_with(&format!("| `{kind}` |")));
            let row = row.unwrap_or_else(|| panic!("kind {kind} is not documented"));
            for key in v.as_object().unwrap().keys().filter(|k| *k != "kind") {
                assert!(row.contains(&format!("`{key}`")), "{kind}.{key} is not documented");
            }
        }
        let v: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        for key in v.as_object().unwrap().keys() {
            assert!(docs.contains(&format!("\"{key}\":")), "top-level {key} is not documented");
        }
        let node = v["differences"][0].as_object().unwrap();
        for key in node.keys() {
            assert!(docs.contains(&format!("| `{key}` |")), "node key {key} is not documented");
        }
        let section = serde_json::to_value(SectionChange {
            name: String::new(),
            size_a: None,
            size_b: None,
            first_difference: None,
        })
        .unwrap();
        let row = docs.lines().find(|l| l.starts_with("| `sections` |")).unwrap();
        for key in section.as_object().unwrap().keys() {
            assert!(row.contains(&format!("\"{key}\"")), "section {key} is not documented");
        }
    }

    /// One node for each kind of change, a member only in A and one only in B.
    fn every_kind() -> Report {
        let node = |path: &[&str], changes: Vec<Change>| Node {
            path: path.iter().map(|p| p.to_string()).collect(),
            changes,
            ..Node::default()
        };
        let side = |size, blake3: &str| Content { size, blake3: blake3.into() };
        let attr = |name: &str, a: &str, b: &str| Change::Attribute {
            name: name.into(),
            a: a.into(),
            b: b.into(),
        };
        let gzip = |same_contents, fields: Vec<(String, String, String)>| Change::Compression {
            layer: "gzip".into(),
            same_contents,
            fields,
        };
        let field = |n: &str, a: &str, b: &str| (n.to_string(), a.to_string(), b.to_string());
        let mut only_a = node(&["t.tar", "gone"], vec![]);
        only_a.presence = Presence::OnlyInA;
        let mut only_b = node(&["t.tar", "new\u{1b}[31m"], vec![]);
        only_b.presence = Presence::OnlyInB;
        let mut tar = node(
            &["t.tar"],
            vec![
                Change::Order { position: 2, a: "x".into(), b: "y".into() },
                gzip(true, vec![field("name", "a.tar", "(none)"), field("mtime", "1", "2")]),
                gzip(false, vec![]),
                gzip(true, vec![]),
            ],
        );
        tar.children = vec![only_a, only_b];
        let differences = vec![
            node(
                &["c.bin"],
                vec![
                    Change::Content {
                        a: side(10, "0123456789abcdef"),
                        b: side(11, "fedcba9876543210"),
                    },
                    Change::Binary { first_difference: 7 },
                ],
            ),
            node(&["m.txt"], vec![attr("mode", "644", "755\u{7}")]),
            tar,
            node(
                &["e.o"],
                vec![
                    Change::Sections { sections: vec![] },
                    Change::Sections {
                        sections: vec![SectionChange {
                            name: ".extra".into(),
                            size_a: None,
                            size_b: Some(4),
                            first_difference: None,
                        }],
                    },
                ],
            ),
            node(&["x.txt"], vec![Change::Text { unified: "-a\n+b\n".into(), omitted_lines: 3 }]),
            node(&["y.txt"], vec![Change::Text { unified: "-c\n+d\n".into(), omitted_lines: 0 }]),
            node(&["z"], vec![Change::Deep { output: "deep".into(), timed_out: true }]),
            node(&["w"], vec![Change::Deep { output: "ok\n".into(), timed_out: false }]),
            node(&["n"], vec![Change::Note { text: "not read".into() }]),
        ];
        Report { a: "A".into(), b: "B".into(), compared: 20, differences }
    }

    #[test]
    fn table_of_every_kind_of_change_whole() {
        let want = r#"┌──────────────────────┬────────────────────────────┬──────────────────────────────────┬─────────────────────┐
│ entry                ┆ what differs               ┆ A                                ┆ B                   │
╞══════════════════════╪════════════════════════════╪══════════════════════════════════╪═════════════════════╡
│ c.bin                ┆ content                    ┆ 10 bytes                         ┆ 11 bytes            │
│                      ┆                            ┆ blake3 0123456789ab              ┆ blake3 fedcba987654 │
│                      ┆ binary                     ┆ first difference at byte 7       ┆                     │
│ m.txt                ┆ mode                       ┆ 644                              ┆ 755\u{7}            │
│ t.tar                ┆ member order               ┆ #2: x                            ┆ #2: y               │
│                      ┆ gzip header only: name and ┆ name: a.tar                      ┆ name: (none)        │
│                      ┆ mtime (same contents)      ┆ mtime: 1                         ┆ mtime: 2            │
│                      ┆ gzip stream only           ┆ compression level or tool        ┆                     │
│                      ┆                            ┆ differs                          ┆                     │
│                      ┆ gzip stream only (same     ┆ compression level or tool        ┆                     │
│                      ┆ contents)                  ┆ differs                          ┆                     │
│ t.tar!/gone          ┆ only in A                  ┆ present                          ┆ absent              │
│ t.tar!/new\u{1b}[31m ┆ only in B                  ┆ absent                           ┆ present             │
│ e.o                  ┆ ELF                        ┆ sections identical; headers or   ┆                     │
│                      ┆                            ┆ padding differ                   ┆                     │
│                      ┆ section .extra             ┆ absent                           ┆ 4 bytes             │
│ x.txt                ┆ text                       ┆ line diff below (3 more lines    ┆                     │
│                      ┆                            ┆ not shown)                       ┆                     │
│ y.txt                ┆ text                       ┆ line diff below                  ┆                     │
│ z                    ┆ diffoscope                 ┆ output below (stopped at the     ┆                     │
│                      ┆                            ┆ timeout)                         ┆                     │
│ w                    ┆ diffoscope                 ┆ output below                     ┆                     │
│ n                    ┆ note                       ┆ not read                         ┆                     │
└──────────────────────┴────────────────────────────┴──────────────────────────────────┴─────────────────────┘

x.txt (text):
-a
+b
[3 more lines of diff not shown]

y.txt (text):
-c
+d

z (diffoscope):
deep

w (diffoscope):
ok
differ: 11 entries differ (20 compared)
"#;
        let t = table(&every_kind(), Some(110));
        assert_eq!(t, want, "{t}");
    }

    #[test]
    fn summary_counts_entries_in_words() {
        let mut r = Report { compared: 1, ..Report::default() };
        assert_eq!(table(&r, Some(80)), "same: 1 entry compared\n");
        r.compared = 0;
        assert_eq!(summary(&r), "same: 0 entries compared\n");
        r.differences = vec![Node { path: vec!["f".into()], ..Node::default() }];
        assert_eq!(summary(&r), "differ: 1 entry differ (0 compared)\n");
    }
}
