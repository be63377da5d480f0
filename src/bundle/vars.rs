//! The names an expression may read and their shapes, derived from a
//! decision type's fact declarations: `request` is a record, `request.usage`
//! a map of data, `request.tenant_id` a value.

use std::collections::BTreeMap;

use super::facts::{Declared, FactRef, Keys, item};

/// The shape of a variable: which fields it has.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A single value (number, string, bool, timestamp, list): no fields.
    Value(FactRef),
    /// A map keyed by data; `Some(keys)` limits the keys a bundle may name.
    Map(FactRef, Option<Vec<String>>),
    /// A record with these fields only.
    Record(BTreeMap<String, Shape>),
}

/// The variables an expression may reference, with their shapes.
#[derive(Debug, Clone, Default)]
pub struct Vars(BTreeMap<String, Shape>, Option<Kind>);

/// Which of a compile's sets of variables these are
/// ([`Parser::kind`](super::programs::Parser::kind)): the key, with an
/// expression's source, of the expressions it checked.
pub(crate) type Kind = u8;

/// Two sets of variables are equal when they have the same names and
/// shapes, whichever compile registered them.
impl PartialEq for Vars {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Vars {
    /// The variables of a decision type's declared facts; `plan_attributes`
    /// are the keys of maps declared with [`Keys::PlanAttributes`].
    pub fn of(facts: impl IntoIterator<Item = Declared>, plan_attributes: &[String]) -> Self {
        let mut root = BTreeMap::new();
        for d in facts {
            let leaf = if d.ty.is_map() {
                let keys = match d.keys {
                    Keys::Free => None,
                    Keys::PlanAttributes => Some(plan_attributes.to_vec()),
                };
                Shape::Map(d.fact, keys)
            } else {
                Shape::Value(d.fact)
            };
            let path: Vec<&str> = d.path.split('.').collect();
            insert(&mut root, &path, leaf);
        }
        Self(root, None)
    }

    /// These variables plus a `for_each` item's (`metric`, `limit`, ...).
    pub fn with_item(mut self) -> Self {
        for (i, fact) in item::FACTS.iter().enumerate() {
            let i = u8::try_from(i).unwrap_or(u8::MAX);
            self.0
                .insert(fact.path.to_owned(), Shape::Value(FactRef::Item(i)));
        }
        self
    }

    /// The shape of a variable.
    pub fn get(&self, name: &str) -> Option<&Shape> {
        self.0.get(name)
    }

    /// The kind a compile registered these variables as, if it did.
    pub(crate) fn kind(&self) -> Option<Kind> {
        self.1
    }

    /// Registers these variables as `kind` (by the compile's parser).
    pub(super) fn set_kind(&mut self, kind: Kind) {
        self.1 = Some(kind);
    }

    /// Whether a variable of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

fn insert(fields: &mut BTreeMap<String, Shape>, path: &[&str], leaf: Shape) {
    match path {
        [] => {}
        [last] => {
            fields.insert((*last).to_owned(), leaf);
        }
        [first, rest @ ..] => {
            let slot = fields
                .entry((*first).to_owned())
                .or_insert_with(|| Shape::Record(BTreeMap::new()));
            if let Shape::Record(children) = slot {
                insert(children, rest, leaf);
            }
        }
    }
}
