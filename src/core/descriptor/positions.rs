//! Where each node of a descriptor is (line and column), for messages.
//!
//! serde_yaml_ng values carry no positions, but its errors do, and an error raised by a visitor
//! on a scalar leaves the reader just past that scalar, so it can go on. [`Positions::index`]
//! reads the text once with a visitor that raises such an error on every scalar (keys and
//! values), catches it, and keeps the position: one extra parse for the whole document,
//! however many problems there are (one parse per problem was quadratic: 4,000 unknown keys
//! took seconds). A mapping or list is placed at its first scalar (the same line in block
//! style; one column further in flow style), an empty one at its key.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path into the tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Seg {
    /// The `n`-th (0-based) occurrence of a string key in a mapping.
    Key(String, usize),
    /// A list item.
    Index(usize),
}

/// 1-based line and column.
pub(super) type At = (usize, usize);

/// One node as indexed: where its key and its value are, and where its subtree ends.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// The position of the key naming it (mapping values only).
    key: Option<At>,
    /// The position of the value, when it is a scalar.
    value: Option<At>,
    /// One past the index of its last descendant (entries are in document order).
    end: usize,
    /// Its parent entry (the root is its own parent).
    parent: usize,
}

/// Every node's position, found by one parse.
#[derive(Debug, Default)]
pub(super) struct Positions {
    entries: Vec<Entry>,
    children: HashMap<(usize, Seg), usize>,
    /// Stop indexing once this top-level key is indexed (see [`Positions::index_to`]).
    stop: Option<Seg>,
}

/// Marker message of the deliberate error the indexing visitor raises on each scalar.
const FOUND: &str = "\u{1}located\u{1}";

/// Marker message of the error that ends a partial index.
const STOP: &str = "\u{1}enough\u{1}";

impl Positions {
    /// Indexes `text` (which [`super::tree::read_tree`] has read without error). A document
    /// the reader cannot walk gives an empty index: every lookup then falls back.
    pub(super) fn index(text: &str) -> Self {
        Self::index_with(text, None)
    }

    /// The positions up to the first top-level `key` and its value, and no further: what a
    /// question about one top-level value needs (is it quoted?) on a descriptor with no
    /// problem, without indexing what follows it.
    pub(super) fn index_to(text: &str, key: &str) -> Self {
        Self::index_with(text, Some(Seg::Key(key.to_owned(), 0)))
    }

    fn index_with(text: &str, stop: Option<Seg>) -> Self {
        let index = RefCell::new(Positions { stop, ..Positions::default() });
        index.borrow_mut().entries.push(Entry::default());
        let root = Indexer { index: &index, node: 0 };
        let ok = match root.deserialize(serde_yaml_ng::Deserializer::from_str(text)) {
            Ok(()) => true,
            Err(e) => e.to_string().contains(STOP),
        };
        let mut index = index.into_inner();
        if !ok {
            index = Positions::default();
        } else {
            let end = index.entries.len();
            index.entries[0].end = end;
        }
        index
    }

    fn find(&self, path: &[Seg]) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        let mut node = 0;
        for seg in path {
            node = *self.children.get(&(node, seg.clone()))?;
        }
        Some(node)
    }

    /// Where the node at `path` starts (its key when `at_key` and it has one), or `None` when
    /// the path does not exist.
    pub(super) fn locate(&self, path: &[Seg], at_key: bool) -> Option<At> {
        let node = self.find(path)?;
        match self.entries[node].key {
            Some(key) if at_key => Some(key),
            _ => self.start(node),
        }
    }

    /// A node's own position, else its first descendant's, else its key's, else its parent's.
    fn start(&self, mut node: usize) -> Option<At> {
        loop {
            let e = &self.entries[node];
            let first = || self.entries[node + 1..e.end].iter().find_map(|d| d.key.or(d.value));
            if let Some(at) = e.value.or_else(first).or(e.key) {
                return Some(at);
            }
            if node == 0 {
                return None;
            }
            node = e.parent;
        }
    }

    /// Where the scalar at `path` starts, only when it is a scalar.
    pub(super) fn scalar(&self, path: &[Seg]) -> Option<At> {
        self.entries[self.find(path)?].value
    }

    fn child(&mut self, parent: usize, seg: Seg, key: Option<At>) -> usize {
        let node = self.entries.len();
        self.entries.push(Entry { key, value: None, end: node + 1, parent });
        self.children.entry((parent, seg)).or_insert(node);
        node
    }
}

/// Visits one node, recording it under `node`.
#[derive(Clone, Copy)]
struct Indexer<'a> {
    index: &'a RefCell<Positions>,
    node: usize,
}

impl<'de> DeserializeSeed<'de> for Indexer<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Indexer<'_> {
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }

    /// Runs `step` (which deserializes one value with `self`) and keeps the position of a
    /// scalar; a real error goes on up.
    fn step<E: de::Error>(self, node: usize, step: Result<(), E>) -> Result<(), E> {
        let Err(e) = step else { return Ok(()) };
        if !e.to_string().contains(FOUND) {
            return Err(e);
        }
        self.index.borrow_mut().entries[node].value = located(&e);
        Ok(())
    }

    fn close(self, node: usize) {
        let mut index = self.index.borrow_mut();
        let end = index.entries.len();
        index.entries[node].end = end;
    }
}

/// The position serde_yaml_ng attached to an error, read back from its message.
fn located<E: fmt::Display>(e: &E) -> Option<At> {
    // serde_yaml_ng appends " at line L column C" to a message with a position.
    let text = e.to_string();
    let rest = &text[text.rfind(" at line ")? + " at line ".len()..];
    let (line, rest) = rest.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse().ok()?, column.parse().ok()?))
}

impl<'de> Visitor<'de> for Indexer<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let node = self.index.borrow_mut().child(self.node, Seg::Index(i), None);
            let item = Indexer { index: self.index, node };
            match seq.next_element_seed(item) {
                Ok(None) => {
                    // The speculative entry is the last one: drop it.
                    let mut index = self.index.borrow_mut();
                    index.entries.pop();
                    index.children.remove(&(self.node, Seg::Index(i)));
                    break;
                }
                Ok(Some(())) => {}
                Err(e) => self.step(node, Err(e))?,
            }
            item.close(node);
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        loop {
            let key = KeyProbe::default();
            let (name, at) = match map.next_key_seed(&key) {
                Ok(None) => break,
                Ok(Some(())) => (None, None),
                Err(e) if e.to_string().contains(FOUND) => (key.0.take(), located(&e)),
                Err(e) => return Err(e),
            };
            let Some(name) = name else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let n = seen.entry(name.clone()).or_insert(0);
            let seg = Seg::Key(name, *n);
            *n += 1;
            let last = self.node == 0 && self.index.borrow().stop.as_ref() == Some(&seg);
            let node = self.index.borrow_mut().child(self.node, seg, at);
            let value = Indexer { index: self.index, node };
            let step = map.next_value_seed(value);
            self.step(node, step)?;
            value.close(node);
            if last {
                return Err(de::Error::custom(STOP));
            }
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use de::VariantAccess as _;
        let (_, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant_seed(self)
    }
}

/// Reads a mapping key: a string key is kept and reported by the deliberate error (so its
/// position comes with it); any other key is drained.
#[derive(Default)]
struct KeyProbe(std::cell::Cell<Option<String>>);

impl<'de> DeserializeSeed<'de> for &KeyProbe {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &KeyProbe {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.set(Some(v.to_owned()));
        Err(E::custom(FOUND))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(IgnoredAny).map(|_| ())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| ())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        IgnoredAny.visit_map(map).map(|_| ())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use de::VariantAccess as _;
        let (_, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant_seed(self)
    }
}

/// The first line that holds YAML content (`---` or the first key), skipping blank lines,
/// comments and directives: where "the document" starts for messages about absent keys.
pub(super) fn document_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            !(t.is_empty() || t.starts_with('#') || t.starts_with('%'))
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_after_a_complex_key_are_still_indexed() {
        let key = |k: &str| [Seg::Key(k.into(), 0)];
        for text in ["? [a, b]\n: x\nname: y\n", "? {a: b}\n: x\nname: y\n"] {
            let p = Positions::index(text);
            assert_eq!(p.locate(&key("name"), true), Some((3, 1)), "{text}");
            assert_eq!(p.scalar(&key("name")), Some((3, 7)), "{text}");
        }
        assert_eq!(document_line("\n# c\n%YAML 1.1\n---\na: 1\n"), 4);
        assert_eq!(document_line(""), 1);
    }
}
