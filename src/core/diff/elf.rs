//! Which sections of two ELF files differ, by comparing each section's bytes (sections are
//! paired by name and, for repeated names, by occurrence).

use object::{Object, ObjectSection};
use serde::Serialize;

/// One section that differs or is on one side only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SectionChange {
    /// Section name (`.text`, `.note.gnu.build-id`, ...).
    pub name: String,
    /// Its size in A (None: not in A).
    pub size_a: Option<u64>,
    /// Its size in B.
    pub size_b: Option<u64>,
    /// Offset inside the section of the first differing byte, when on both sides.
    pub first_difference: Option<u64>,
}

struct Section {
    name: String,
    size: u64,
    data: Vec<u8>,
}

fn sections(bytes: &[u8]) -> Result<Vec<Section>, String> {
    let file = object::File::parse(bytes).map_err(|e| format!("not a readable ELF file: {e}"))?;
    let mut out = Vec::new();
    for s in file.sections() {
        let name = s.name().unwrap_or("(unnamed)").to_string();
        if name.is_empty() {
            continue;
        }
        let data = s.data().map_err(|e| format!("section {name}: {e}"))?.to_vec();
        out.push(Section { name, size: s.size(), data });
    }
    Ok(out)
}

fn keyed(list: Vec<Section>) -> Vec<((String, usize), Section)> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    list.into_iter()
        .map(|s| {
            let n = seen.entry(s.name.clone()).or_default();
            *n += 1;
            ((s.name.clone(), *n), s)
        })
        .collect()
}

/// The sections that differ between two ELF files, in A's section order then B's extras.
/// An empty list with differing files means the difference is outside every section (ELF or
/// program headers, padding).
pub fn section_changes(a: &[u8], b: &[u8]) -> Result<Vec<SectionChange>, String> {
    let sa = keyed(sections(a)?);
    let sb = keyed(sections(b)?);
    let mut out = Vec::new();
    for (key, x) in &sa {
        match sb.iter().find(|(k, _)| k == key) {
            Some((_, y)) if x.data == y.data && x.size == y.size => {}
            Some((_, y)) => out.push(SectionChange {
                name: x.name.clone(),
                size_a: Some(x.size),
                size_b: Some(y.size),
                first_difference: Some(super::first_difference(&x.data, &y.data)),
            }),
            None => out.push(SectionChange {
                name: x.name.clone(),
                size_a: Some(x.size),
                size_b: None,
                first_difference: None,
            }),
        }
    }
    for (key, y) in &sb {
        if !sa.iter().any(|(k, _)| k == key) {
            out.push(SectionChange {
                name: y.name.clone(),
                size_a: None,
                size_b: Some(y.size),
                first_difference: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a.c` and `b.c` of tests/fixtures/elf compiled by gcc 12 (`gcc -c -O0
    /// -fno-asynchronous-unwind-tables -fno-ident`): `x` is 1 or 2, and b has a section
    /// `.extra` more.
    const A: &[u8] = include_bytes!("../../../tests/fixtures/elf/a.o");
    const B: &[u8] = include_bytes!("../../../tests/fixtures/elf/b.o");

    #[test]
    fn changed_and_added_sections_of_two_objects() {
        assert_eq!(section_changes(A, A).unwrap(), []);
        let changes = section_changes(A, B).unwrap();
        let summary: Vec<_> =
            changes.iter().map(|c| (c.name.as_str(), c.size_a, c.size_b)).collect();
        assert_eq!(
            summary,
            [
                (".data", Some(4), Some(4)),
                (".symtab", Some(0x60), Some(0x78)),
                (".strtab", Some(9), Some(11)),
                (".shstrtab", Some(0x44), Some(0x4b)),
                (".extra", None, Some(4)),
            ]
        );
        assert_eq!(changes[0].first_difference, Some(0));
        assert_eq!(changes[4].first_difference, None);
        // B first: its own section is in its place, on A's side missing.
        let back = section_changes(B, A).unwrap();
        let names: Vec<_> = back.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, [".data", ".extra", ".symtab", ".strtab", ".shstrtab"]);
        assert_eq!((back[1].size_a, back[1].size_b), (Some(4), None));
        let err = section_changes(A, b"not an elf").unwrap_err();
        assert!(err.starts_with("not a readable ELF file"), "{err}");
    }

    /// `dup-a.s` and `dup-b.s` of tests/fixtures/elf assembled by GNU as 2.40 (`as --64`): two
    /// sections named `.text.dup` (one per COMDAT group, so two `.group` sections too); the
    /// first holds 1 in A and 9 in B, the second 2 on both sides.
    const DUP_A: &[u8] = include_bytes!("../../../tests/fixtures/elf/dup-a.o");
    const DUP_B: &[u8] = include_bytes!("../../../tests/fixtures/elf/dup-b.o");

    #[test]
    fn sections_of_the_same_name_pair_by_occurrence() {
        assert_eq!(section_changes(DUP_A, DUP_A).unwrap(), []);
        let changes = section_changes(DUP_A, DUP_B).unwrap();
        let first = SectionChange {
            name: ".text.dup".into(),
            size_a: Some(1),
            size_b: Some(1),
            first_difference: Some(0),
        };
        assert_eq!(changes, [first]);
    }
}
