//! `unguarded-optional`: a condition that reads an optional request fact, a key of
//! a map of data (`request.attributes.promo`, `request.usage.users`) or a
//! `for_each` item's `current`, where nothing on the way to the read makes
//! sure it is there: `has(...)`, `'key' in map`, or `reported` for
//! `current`, as an operand before it in a `&&` chain, negated before it in
//! a `||` chain, or as the condition of the `?:` branch it is in.

use std::sync::Arc;

use super::Raw;
use crate::{
    bundle::{
        CompiledBundle, Lit, Node,
        facts::{FactRef, Keys, item},
    },
    engine::DecisionType,
};

/// What a guard makes sure of.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Present {
    Fact(FactRef),
    Key(FactRef, Arc<str>),
}

pub(super) fn check<T: DecisionType>(bundle: &CompiledBundle, out: &mut Vec<Raw>) {
    let table = T::table();
    let path = |f| table.path(f);
    // A merchant setting is present or not by the bundle's own data, not
    // by the request: a merchant lacking it is `compile-warning`'s finding
    // (a merchant without a health threshold), once per merchant.
    let optional = |f: FactRef| match f {
        FactRef::Decision(i) => table
            .get(usize::from(i))
            .is_some_and(|f| f.optional && !f.path.starts_with("merchant.")),
        FactRef::Item(_) => Some(f) == current(),
    };
    let free_map = |f: FactRef| match f {
        FactRef::Decision(i) => table
            .get(usize::from(i))
            .is_some_and(|f| f.ty.is_map() && f.keys == Keys::Free),
        FactRef::Item(_) => false,
    };
    for rule in &T::rules(bundle).rules {
        let Some(node) = rule.condition.as_ref().and_then(|c| c.native.as_ref()) else {
            continue;
        };
        let mut reads = Vec::new();
        walk(node, &mut Vec::new(), &optional, &free_map, &mut reads);
        let line = rule
            .condition_at
            .as_ref()
            .map_or(rule.at.line, |at| at.line);
        for read in reads {
            let (text, guard) = match &read {
                Present::Fact(f) if Some(*f) == current() => {
                    ("current".to_owned(), "`reported && ...`".to_owned())
                }
                Present::Fact(f) => (path(*f).to_owned(), format!("`has({})`", path(*f))),
                Present::Key(f, k) => (
                    format!("{}.{k}", path(*f)),
                    format!("`has({}.{k})` or `'{k}' in {}`", path(*f), path(*f)),
                ),
            };
            out.push(Raw {
                file: rule.file.to_string(),
                line,
                check: "unguarded-optional",
                message: format!(
                    "rule `{}`: condition reads `{text}` without a guard ({guard} before it): a request without it fails closed with POLICY_EVALUATION_ERROR",
                    rule.id
                ),
            });
        }
    }
}

/// The item fact `current` (null when the request did not report the metric).
fn current() -> Option<FactRef> {
    let i = item::FACTS.iter().position(|f| f.path == "current")?;
    u8::try_from(i).ok().map(FactRef::Item)
}

fn reported() -> Option<FactRef> {
    let i = item::FACTS.iter().position(|f| f.path == "reported")?;
    u8::try_from(i).ok().map(FactRef::Item)
}

/// What `node` being true makes sure of.
fn when_true(node: &Node, out: &mut Vec<Present>) {
    match node {
        Node::HasField(f) => out.push(Present::Fact(*f)),
        Node::HasKey(map, k) => {
            if let Node::Field(m) = &**map {
                out.push(Present::Key(*m, k.clone()));
            }
        }
        Node::In(key, map) => {
            if let (Node::Lit(Lit::Str(k)), Node::Field(m)) = (&**key, &**map) {
                out.push(Present::Key(*m, k.clone()));
            }
        }
        Node::Field(f) if Some(*f) == reported() => {
            if let Some(c) = current() {
                out.push(Present::Fact(c));
            }
        }
        Node::And(a, b) => {
            when_true(a, out);
            when_true(b, out);
        }
        Node::Not(x) => when_false(x, out),
        _ => {}
    }
}

/// What `node` being false makes sure of.
fn when_false(node: &Node, out: &mut Vec<Present>) {
    match node {
        Node::Not(x) => when_true(x, out),
        Node::Or(a, b) => {
            when_false(a, out);
            when_false(b, out);
        }
        _ => {}
    }
}

fn walk(
    node: &Node,
    guards: &mut Vec<Present>,
    optional: &dyn Fn(FactRef) -> bool,
    free_map: &dyn Fn(FactRef) -> bool,
    reads: &mut Vec<Present>,
) {
    let mut sub = |n: &Node, guards: &mut Vec<Present>| walk(n, guards, optional, free_map, reads);
    match node {
        Node::Field(f) if optional(*f) && !guards.contains(&Present::Fact(*f)) => {
            reads.push(Present::Fact(*f));
        }
        Node::Key(map, k) if free(map, free_map) => {
            if let Node::Field(m) = &**map {
                read_key(*m, k.clone(), guards, reads);
            }
        }
        Node::Index(map, index) if free(map, free_map) => {
            if let (Node::Field(m), Node::Lit(Lit::Str(k))) = (&**map, &**index) {
                read_key(*m, k.clone(), guards, reads);
            }
        }
        Node::And(a, b) | Node::Or(a, b) => {
            let and = matches!(node, Node::And(..));
            let before = guards.len();
            sub(a, guards);
            if and {
                when_true(a, guards);
            } else {
                when_false(a, guards);
            }
            sub(b, guards);
            guards.truncate(before);
        }
        Node::Cond(c, a, b) => {
            sub(c, guards);
            let before = guards.len();
            when_true(c, guards);
            sub(a, guards);
            guards.truncate(before);
            when_false(c, guards);
            sub(b, guards);
            guards.truncate(before);
        }
        Node::Key(n, _)
        | Node::Not(n)
        | Node::Neg(n)
        | Node::Size(n)
        | Node::Conv(_, n)
        | Node::Shared(_, n) => {
            sub(n, guards);
        }
        Node::Index(a, b) | Node::Cmp(_, a, b) | Node::Arith(_, a, b) | Node::In(a, b) => {
            sub(a, guards);
            sub(b, guards);
        }
        Node::List(items) => {
            for n in items {
                sub(n, guards);
            }
        }
        Node::HasKey(n, _) => sub(n, guards),
        Node::Lit(_) | Node::Field(_) | Node::HasField(_) => {}
    }
}

fn free(map: &Node, free_map: &dyn Fn(FactRef) -> bool) -> bool {
    matches!(map, Node::Field(m) if free_map(*m))
}

fn read_key(m: FactRef, key: Arc<str>, guards: &[Present], reads: &mut Vec<Present>) {
    let read = Present::Key(m, key);
    if !guards.contains(&read) {
        reads.push(read);
    }
}
