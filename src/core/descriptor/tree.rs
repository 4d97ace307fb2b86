//! The YAML tree a descriptor is read into: serde_yaml_ng through a visitor that counts every
//! node it is handed, aliases included, so a YAML alias bomb stops once it has produced more
//! nodes than the text has bytes instead of filling the memory; and, before that, a linear
//! check of the flow nesting depth (see [`super::depth`]).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// A YAML node as read, keys in document order, duplicates kept.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Null,
    Bool(bool),
    /// A number, as printed back by serde.
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// "a string", "a list", ... for messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::Null => "empty",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::Str(_) => "a string",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }
}

/// Reads a YAML document into a [`Node`], counting nodes against a budget shared across the
/// whole document (aliases are expanded by serde_yaml_ng, so they count every time).
#[derive(Clone, Copy)]
struct Reader<'a> {
    budget: &'a Cell<usize>,
    /// Our own message for an error we raise (serde's message would add its path).
    message: &'a Cell<Option<&'static str>>,
}

pub(super) const TOO_MANY_NODES: &str =
    "the YAML expands to too many values (an alias bomb?); descriptors need no aliases";
pub(super) const TAGS_UNSUPPORTED: &str = "YAML tags (like !foo) are not supported in descriptors";

impl Reader<'_> {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(self.fail(TOO_MANY_NODES)),
        }
    }

    fn fail<E: de::Error>(&self, message: &'static str) -> E {
        self.message.set(Some(message));
        E::custom(message)
    }
}

impl<'de> DeserializeSeed<'de> for Reader<'_> {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reader<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Number(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.spend()?;
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.spend()?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(self)? {
            let value = map.next_value_seed(self)?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // serde_yaml_ng hands tagged nodes over as enums; the non-specific tag `!` (Psych
        // writes `! 'text'`) only says "a string", any other tag is refused.
        use de::VariantAccess as _;
        let (tag, variant) = data.variant::<String>()?;
        if tag == "!" {
            return variant.newtype_variant_seed(self);
        }
        Err(self.fail(TAGS_UNSUPPORTED))
    }
}

/// Parses `text` into a tree; a YAML or budget error comes back with its 1-based line and
/// column.
pub(super) fn read_tree(text: &str) -> Result<Node, (String, Option<(usize, usize)>)> {
    if let Some(line) = super::depth::too_deep(text) {
        return Err((super::depth::TOO_DEEP.to_owned(), Some((line, 1))));
    }
    // Without aliases a node takes at least one byte of text (`{a,b}`: two keys, two nulls),
    // so this budget only stops documents that expand.
    let budget = Cell::new(text.len() + 1024);
    let message = Cell::new(None);
    let reader = Reader { budget: &budget, message: &message };
    reader.deserialize(serde_yaml_ng::Deserializer::from_str(text)).map_err(|e| {
        let at = e.location().map(|l| (l.line(), l.column()));
        let text = match message.get() {
            Some(ours) => ours.to_owned(),
            None => yaml_message(&e.to_string(), at),
        };
        (text, at)
    })
}

/// serde_yaml_ng's message without the position we print in front anyway.
fn yaml_message(message: &str, at: Option<(usize, usize)>) -> String {
    let mut message = message.to_owned();
    if let Some((line, column)) = at {
        message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
    }
    if message.starts_with("deserializing from YAML containing more than one document") {
        return "more than one YAML document (a second '---')".to_owned();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a: &a [x, ...]` (50 items) and `b:` listing it `m` times, and how many nodes that
    /// expands to: the mapping, two keys, two lists, 50 items, and 51 more per alias.
    fn aliased(m: usize) -> (String, usize) {
        let text =
            format!("a: &a [{}]\nb: [{}]\n", vec!["x"; 50].join(","), vec!["*a"; m].join(","));
        (text, 5 + 50 + m * 51)
    }

    /// The budget is one node per byte of text plus 1024: the most aliases that stay within it
    /// are read, one alias (51 nodes) more is refused.
    #[test]
    fn aliases_may_expand_to_the_texts_length_plus_1024_nodes() {
        let m = (1..).find(|&m| aliased(m).1 > aliased(m).0.len() + 1024).unwrap();
        let (within, _) = aliased(m - 1);
        let Ok(Node::Map(entries)) = read_tree(&within) else { panic!("{within}") };
        assert_eq!(
            entries[1].1,
            Node::Seq(vec![Node::Seq(vec![Node::Str("x".into()); 50]); m - 1])
        );
        let (over, _) = aliased(m);
        assert_eq!(read_tree(&over).unwrap_err().0, TOO_MANY_NODES);
    }
}
