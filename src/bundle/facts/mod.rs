//! The facts a rule can read, each declared once: its path (`request.usage`),
//! its type, whether it may be absent, and how it is read from a decision's
//! context. Everything else is derived from that one declaration: the
//! names and shapes the bundle compiler checks expressions against
//! ([`Vars::of`](super::vars::Vars)), the native evaluator's lookups
//! ([`Lookup`]), and the CEL activation the interpreter runs on
//! ([`cel::activation`]). Adding a fact is one [`Fact`] in its decision
//! type's table, plus, for a derived fact, the function that computes it
//! once per decision when the context is built.

pub mod cel;
pub mod item;
pub mod value;

pub use value::{List, MapRef, V};

use super::{Answers, Slot};

/// A family of decision contexts, one type per borrow of the request
/// (`PlanChangeCtx<'a>`): what a decision type's facts are read from.
pub trait Context: 'static {
    /// The context of one decision, borrowing its request and bundle.
    type Of<'a>;
}

/// Reads a fact from a decision's context; `None` when the request did not
/// give an optional fact.
pub type Read<C> = for<'a, 'b> fn(&'a <C as Context>::Of<'b>) -> Option<V<'a>>;

/// What kind of value a fact is; drives generated requests in the
/// property tests and the fact reference in `docs/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `true` or `false`.
    Bool,
    /// A signed integer (`int`).
    Int,
    /// A double.
    Double,
    /// A string.
    Str,
    /// A timestamp.
    Timestamp,
    /// A list of strings (method ids, type names).
    StrList,
    /// A list of records (payment methods).
    Records,
    /// A map of doubles keyed by metric.
    Metrics,
    /// A map of strings.
    Strings,
    /// A map of bundle data (plan or merchant attributes).
    Data,
}

impl Ty {
    /// Whether values of this type are maps read by key.
    pub fn is_map(self) -> bool {
        matches!(self, Self::Metrics | Self::Strings | Self::Data)
    }

    /// The CEL type name.
    pub fn cel_name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Double => "double",
            Self::Str => "string",
            Self::Timestamp => "timestamp",
            Self::StrList => "list(string)",
            Self::Records => "list(map)",
            Self::Metrics => "map(string, double)",
            Self::Strings => "map(string, string)",
            Self::Data => "map(string, dyn)",
        }
    }
}

/// Which keys of a map fact a bundle may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Any key: the keys are data (metrics, request attributes).
    Free,
    /// Only the plan attributes the catalogue declares.
    PlanAttributes,
}

/// One fact a rule can read.
pub struct Fact<C: Context> {
    /// Its dotted path in CEL (`request.billing.anchor_day`).
    pub path: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Whether a request may leave it out (`has(...)` tells).
    pub optional: bool,
    /// Which keys a bundle may name, for maps.
    pub keys: Keys,
    /// What it is, for people.
    pub doc: &'static str,
    /// How it is read.
    pub read: Read<C>,
}

impl<C: Context> Clone for Fact<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Context> Copy for Fact<C> {}

impl<C: Context> Fact<C> {
    /// The last segment of the path, for "no such key" messages.
    pub fn name(&self) -> &'static str {
        self.path.rsplit('.').next().unwrap_or(self.path)
    }
}

/// A decision type's facts, in one flat list: a [`FactRef::Decision`] is
/// its position, so reading a fact is one index. A table is declared as
/// groups read from one context (two payment decisions share the wallet's),
/// joined at compile time by [`Table::join`].
pub struct Table<C: Context>(pub &'static [Fact<C>]);

impl<C: Context> Table<C> {
    /// The dotted path of `fact` (a fact of this table or a `for_each`
    /// item's), as expressions write it.
    pub fn path(&self, fact: FactRef) -> &'static str {
        match fact {
            FactRef::Decision(i) => self.get(usize::from(i)).map_or("fact", |f| f.path),
            FactRef::Item(i) => item::FACTS.get(usize::from(i)).map_or("fact", |f| f.path),
        }
    }

    /// The fact at position `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'static Fact<C>> {
        self.0.get(i)
    }

    /// Every fact, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'static Fact<C>> + use<C> {
        self.0.iter()
    }

    /// `groups` joined into one array of `N` facts, in order, at compile
    /// time: `N` must be the sum of the groups' lengths, else the constant
    /// that calls this does not compile.
    #[expect(
        clippy::indexing_slicing,
        reason = "evaluated at compile time: an index out of range is a compile error"
    )]
    pub const fn join<const N: usize>(groups: &[&[Fact<C>]]) -> [Fact<C>; N] {
        let mut out = [groups[0][0]; N];
        let (mut g, mut at) = (0, 0);
        while g < groups.len() {
            let mut i = 0;
            while i < groups[g].len() {
                out[at] = groups[g][i];
                at += 1;
                i += 1;
            }
            g += 1;
        }
        assert!(at == N, "N is not the number of facts in the groups");
        out
    }
}

impl<C: Context> Clone for Table<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Context> Copy for Table<C> {}

/// A reference to a declared fact, resolved when an expression compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactRef {
    /// The decision type's fact at this position of its table.
    Decision(u16),
    /// A `for_each` item's fact ([`item::FACTS`]).
    Item(u8),
}

/// Supplies the values a rule reads.
pub trait Lookup {
    /// The value of `fact`; `None` when the request did not give it.
    fn fact(&self, fact: FactRef) -> Option<V<'_>>;
    /// The fact's name, for messages.
    fn name(&self, fact: FactRef) -> &'static str;
    /// The answer this decision already gave the shared sub-condition at
    /// `slot` ([`Node::Shared`](super::Node::Shared)), if it kept one.
    fn recall(&self, _slot: Slot) -> Option<bool> {
        None
    }
    /// Keeps `answer` to the shared sub-condition at `slot` for the
    /// decision's later rules.
    fn keep(&self, _slot: Slot, _answer: bool) {}
}

/// The facts of one decision: its type's table read against its context,
/// plus the current `for_each` item.
pub struct Facts<'a, 'b, C: Context> {
    /// The decision type's fact table.
    pub table: Table<C>,
    /// The decision's context.
    pub ctx: &'a C::Of<'b>,
    /// The `for_each` item being evaluated, if any.
    pub item: Option<&'a item::Item<'a>>,
    /// The decision's answers to shared sub-conditions (which never read
    /// an item), kept across its rules and items.
    pub answers: &'a Answers,
}

impl<C: Context> Lookup for Facts<'_, '_, C> {
    fn fact(&self, fact: FactRef) -> Option<V<'_>> {
        match fact {
            FactRef::Decision(i) => (self.table.get(usize::from(i))?.read)(self.ctx),
            FactRef::Item(i) => (item::FACTS.get(usize::from(i))?.read)(self.item?),
        }
    }

    fn name(&self, fact: FactRef) -> &'static str {
        match fact {
            FactRef::Decision(i) => self.table.get(usize::from(i)).map_or("fact", Fact::name),
            FactRef::Item(i) => item::FACTS.get(usize::from(i)).map_or("fact", |f| f.path),
        }
    }

    fn recall(&self, slot: Slot) -> Option<bool> {
        self.answers.get(slot)
    }

    fn keep(&self, slot: Slot, answer: bool) {
        self.answers.set(slot, answer);
    }
}

/// What the bundle compiler needs of a fact: its path, reference and shape.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    /// Its dotted path.
    pub path: &'static str,
    /// How expressions refer to it.
    pub fact: FactRef,
    /// Its type.
    pub ty: Ty,
    /// Which keys a bundle may name, for maps.
    pub keys: Keys,
}

/// The declarations of a fact table, for the compiler.
pub fn declared<C: Context>(table: Table<C>) -> impl Iterator<Item = Declared> {
    table.iter().enumerate().map(|(i, f)| Declared {
        path: f.path,
        fact: FactRef::Decision(u16::try_from(i).unwrap_or(u16::MAX)),
        ty: f.ty,
        keys: f.keys,
    })
}

impl<C: Context> Fact<C> {
    /// A fact every request has, with free keys if it is a map.
    pub const fn new(path: &'static str, ty: Ty, doc: &'static str, read: Read<C>) -> Self {
        Self {
            path,
            ty,
            optional: false,
            keys: Keys::Free,
            doc,
            read,
        }
    }

    /// The same fact, which a request may leave out.
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// The same map fact, whose keys a bundle may name only from `keys`.
    pub const fn keys(mut self, keys: Keys) -> Self {
        self.keys = keys;
        self
    }
}
