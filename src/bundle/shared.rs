//! Sub-conditions that several rules of one decision type test: the demo's
//! funding rules test `request.amount.currency == merchant.currency` in
//! five rules and `size(wallet.fallbacks) == 0` in five. Found once at
//! load, each gets a slot, and the tree the engine evaluates marks it
//! ([`Node::Shared`]), so a decision works it out once and later rules
//! read the kept answer. Only bools are kept ([`Answers`]): a sub-condition
//! that fails is evaluated again, with the same error, by the next rule.

use std::collections::HashMap;

use super::{
    facts::FactRef,
    model::Rule,
    native::{Answers, Lit, Node, Slot},
};

/// Sub-conditions by [`key`].
type ByKey<V> = HashMap<Vec<u8>, V, foldhash::fast::RandomState>;

/// Marks the sub-conditions shared by `rules` (one decision type's) in
/// each condition's [`Expr::memo`](super::Expr) tree. A sub-condition is
/// shared when it is tested twice or more in all: by two rules, twice in
/// one, or once in a `for_each` rule (tested again for every item). Only
/// what a condition tests as a bool is marked (a condition, an operand of
/// `&&`, `||`, `!`, a `?:`'s parts), never a bare fact or literal or its
/// negation (reading it costs no more than reading the kept answer) and
/// never what reads a `for_each` item (its answer differs from item to
/// item).
pub(super) fn mark<A>(rules: &mut [Rule<A>]) {
    let mut tests: ByKey<usize> = ByKey::default();
    let mut order = Vec::new();
    for rule in rules.iter() {
        let Some(node) = rule.condition.as_ref().and_then(|c| c.native.as_ref()) else {
            continue;
        };
        let times = if rule.for_each.is_some() { 2 } else { 1 };
        tested(node, &mut |n| {
            let key = key(n);
            let count = tests.entry(key.clone()).or_default();
            if *count == 0 {
                order.push(key);
            }
            *count += times;
        });
    }
    let slots: ByKey<Slot> = order
        .into_iter()
        .filter(|key| tests.get(key).is_some_and(|n| *n > 1))
        .take(Answers::SLOTS)
        .zip(0..)
        .collect();
    if slots.is_empty() {
        return;
    }
    for rule in rules {
        if let Some(condition) = &mut rule.condition
            && let Some(node) = &condition.native
        {
            let marked = marked(node, &slots);
            condition.memo = (marked != *node).then_some(marked);
        }
    }
}

/// The sub-expressions of `node` a condition tests as bools and that may
/// be shared, `node` itself first, each passed to `found`.
fn tested<'n>(node: &'n Node, found: &mut impl FnMut(&'n Node)) {
    if may_share(node) {
        found(node);
    }
    for child in as_bools(node) {
        tested(child, found);
    }
}

/// The operands of `node` that the evaluator tests as bools.
fn as_bools(node: &Node) -> Vec<&Node> {
    match node {
        Node::And(a, b) | Node::Or(a, b) => vec![a, b],
        Node::Not(x) => vec![x],
        Node::Cond(c, a, b) => vec![c, a, b],
        _ => Vec::new(),
    }
}

/// Whether a decision could keep `node`'s answer and gain by it: it reads
/// no `for_each` item, and it is more than a fact, a literal or the
/// negation of one (three nodes at least: reading the kept answer costs
/// about what those cost to work out).
fn may_share(node: &Node) -> bool {
    size(node) >= 3 && !reads_item(node)
}

fn size(node: &Node) -> usize {
    1 + node.children().into_iter().map(size).sum::<usize>()
}

fn reads_item(node: &Node) -> bool {
    match node {
        Node::Field(FactRef::Item(_)) | Node::HasField(FactRef::Item(_)) => true,
        _ => node.children().into_iter().any(reads_item),
    }
}

/// The bytes that identify a sub-expression: two are the same test when
/// their trees are, literal for literal (a float by its bits, so `0.0` and
/// `-0.0`, which divide differently, are two tests).
fn key(node: &Node) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    encode(node, &mut out);
    out
}

/// `node` in prefix order: its tag, what it holds besides its children (an
/// operator, a literal, a fact, a key, a list's length), then its children.
/// Strings and lists carry their lengths, so no two trees write the same
/// bytes.
fn encode(node: &Node, out: &mut Vec<u8>) {
    out.push(tag(node));
    match node {
        Node::Lit(lit) => literal(lit, out),
        Node::Field(FactRef::Decision(i)) | Node::HasField(FactRef::Decision(i)) => {
            out.push(0);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Node::Field(FactRef::Item(i)) | Node::HasField(FactRef::Item(i)) => {
            out.extend_from_slice(&[1, *i]);
        }
        Node::Key(_, key) | Node::HasKey(_, key) => text(key, out),
        Node::Cmp(op, ..) => out.push(*op as u8),
        Node::Arith(op, ..) => out.push(*op as u8),
        Node::Conv(conv, _) => out.push(*conv as u8),
        Node::Shared(slot, _) => out.push(*slot),
        Node::List(items) => out.extend_from_slice(&(items.len() as u64).to_le_bytes()),
        Node::Index(..)
        | Node::Not(_)
        | Node::Neg(_)
        | Node::And(..)
        | Node::Or(..)
        | Node::Cond(..)
        | Node::In(..)
        | Node::Size(_) => {}
    }
    for child in node.children() {
        encode(child, out);
    }
}

fn tag(node: &Node) -> u8 {
    match node {
        Node::Lit(_) => 0,
        Node::Field(_) => 1,
        Node::HasField(_) => 2,
        Node::Key(..) => 3,
        Node::HasKey(..) => 4,
        Node::Index(..) => 5,
        Node::Not(_) => 6,
        Node::Neg(_) => 7,
        Node::And(..) => 8,
        Node::Or(..) => 9,
        Node::Cond(..) => 10,
        Node::Cmp(..) => 11,
        Node::Arith(..) => 12,
        Node::In(..) => 13,
        Node::Size(_) => 14,
        Node::Conv(..) => 15,
        Node::List(_) => 16,
        Node::Shared(..) => 17,
    }
}

fn literal(lit: &Lit, out: &mut Vec<u8>) {
    match lit {
        Lit::Null => out.push(0),
        Lit::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Lit::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Lit::UInt(u) => {
            out.push(3);
            out.extend_from_slice(&u.to_le_bytes());
        }
        Lit::Float(f) => {
            out.push(4);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Lit::Str(s) => {
            out.push(5);
            text(s, out);
        }
    }
}

fn text(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// `node` rebuilt with its shared sub-conditions marked.
fn marked(node: &Node, slots: &ByKey<Slot>) -> Node {
    let m = |n: &Node| Box::new(marked(n, slots));
    let rebuilt = match node {
        Node::And(a, b) => Node::And(m(a), m(b)),
        Node::Or(a, b) => Node::Or(m(a), m(b)),
        Node::Not(x) => Node::Not(m(x)),
        Node::Cond(c, a, b) => Node::Cond(m(c), m(a), m(b)),
        other => other.clone(),
    };
    match slots.get(&key(node)) {
        Some(&slot) => Node::Shared(slot, Box::new(rebuilt)),
        None => rebuilt,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::panic, reason = "test code")]

    use super::*;
    use crate::bundle::{CmpOp, Expr, demo};

    fn condition<'b, A>(rules: &'b [Rule<A>], id: &str) -> &'b Expr {
        rules
            .iter()
            .find(|r| r.id.as_str() == id)
            .and_then(|r| r.condition.as_ref())
            .expect("the demo's rule has a condition")
    }

    /// Every `Shared` node of `node`, outermost first.
    fn marks<'n>(node: &'n Node, out: &mut Vec<(Slot, &'n Node)>) {
        if let Node::Shared(slot, inner) = node {
            out.push((*slot, inner));
        }
        for child in node.children() {
            marks(child, out);
        }
    }

    #[test]
    fn two_sub_conditions_have_one_key_exactly_when_they_are_the_same_tree() {
        let bundle = demo();
        let mut nodes = Vec::new();
        let conditions = (bundle
            .plan_change
            .rules
            .iter()
            .map(|r| r.condition.as_ref()))
        .chain(
            bundle
                .payment_link
                .rules
                .iter()
                .map(|r| r.condition.as_ref()),
        )
        .chain(
            bundle
                .charge_funding
                .rules
                .iter()
                .map(|r| r.condition.as_ref()),
        );
        for node in conditions.flatten().filter_map(|c| c.native.as_ref()) {
            tested(node, &mut |n| nodes.push(n));
        }
        assert!(nodes.len() > 50, "{} sub-conditions", nodes.len());
        for a in &nodes {
            for b in &nodes {
                assert_eq!(key(a) == key(b), a == b, "{a:?} and {b:?}");
            }
        }
        // A float by its bits: `x / 0.0` and `x / -0.0` are two tests
        // (infinities of two signs), though the trees compare equal.
        let over = |f: f64| {
            Node::Arith(
                crate::bundle::ArithOp::Div,
                Box::new(Node::Field(FactRef::Decision(0))),
                Box::new(Node::Lit(Lit::Float(f))),
            )
        };
        assert_eq!(over(0.0), over(-0.0));
        assert_ne!(key(&over(0.0)), key(&over(-0.0)));
        // Lengths first: a key's text cannot run into the next node.
        let keyed = |k: &str, lit: &str| {
            Node::Cmp(
                CmpOp::Eq,
                Box::new(Node::Key(
                    Box::new(Node::Field(FactRef::Decision(1))),
                    k.into(),
                )),
                Box::new(Node::Lit(Lit::Str(lit.into()))),
            )
        };
        assert_ne!(key(&keyed("ab", "c")), key(&keyed("a", "bc")));
    }

    #[test]
    fn the_funding_rules_test_the_currency_once_per_decision() {
        let bundle = demo();
        let rules = &bundle.charge_funding.rules;
        let Some(Node::Cmp(CmpOp::Ne, a, b)) = &condition(rules, "currency-not-accepted").native
        else {
            panic!("the demo's currency rule compares with !=");
        };
        let same_currency = Node::Cmp(CmpOp::Eq, a.clone(), b.clone());
        let mut slots = Vec::new();
        for rule in rules {
            let mut found = Vec::new();
            if let Some(memo) = rule.condition.as_ref().and_then(|c| c.memo.as_ref()) {
                marks(memo, &mut found);
            }
            slots.extend(
                found
                    .iter()
                    .filter(|(_, n)| **n == same_currency)
                    .map(|(s, _)| *s),
            );
        }
        assert_eq!(slots.len(), 5, "five funding rules test the currency");
        assert!(
            slots.windows(2).all(|w| w[0] == w[1]),
            "one slot: {slots:?}"
        );
        // Tested by one rule only, as `!=`: nothing to share.
        assert!(condition(rules, "currency-not-accepted").memo.is_none());
        // A bare fact is read, not kept.
        assert!(condition(rules, "balance-covers").memo.is_none());
    }

    #[test]
    fn a_slot_is_one_sub_condition_and_none_reads_an_item() {
        let bundle = demo();
        let mut conditions: Vec<(&str, Option<&Expr>)> = Vec::new();
        conditions.extend(
            bundle
                .plan_change
                .rules
                .iter()
                .map(|r| ("plan_change", r.condition.as_ref())),
        );
        conditions.extend(
            bundle
                .payment_link
                .rules
                .iter()
                .map(|r| ("payment_link", r.condition.as_ref())),
        );
        conditions.extend(
            bundle
                .charge_funding
                .rules
                .iter()
                .map(|r| ("charge_funding", r.condition.as_ref())),
        );
        let mut by_slot: HashMap<(&str, Slot), &Node> = HashMap::new();
        let mut marked_rules = 0;
        for (ty, expr) in conditions {
            let Some(expr) = expr else { continue };
            let Some(memo) = &expr.memo else { continue };
            marked_rules += 1;
            let mut found = Vec::new();
            marks(memo, &mut found);
            assert!(!found.is_empty());
            for (slot, inner) in found {
                assert!(!reads_item(inner), "{inner:?} reads a for_each item");
                let first = *by_slot.entry((ty, slot)).or_insert(inner);
                assert_eq!(first, inner, "slot {slot} of {ty} holds two sub-conditions");
            }
        }
        // Each decision type of the demo shares something.
        for ty in ["plan_change", "payment_link", "charge_funding"] {
            assert!(by_slot.keys().any(|(t, _)| *t == ty), "{ty} shares nothing");
        }
        assert!(marked_rules >= 10, "{marked_rules} rules marked");
        // The interpreter's baseline keeps no evaluation tree.
        let interpreted = bundle.interpreted();
        assert!(
            interpreted
                .charge_funding
                .rules
                .iter()
                .all(|r| r.condition.as_ref().is_none_or(|c| c.memo.is_none()))
        );
    }
}
