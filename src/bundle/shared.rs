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
    native::{Answers, Node, Slot},
};

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
    let mut tests: HashMap<String, usize> = HashMap::new();
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
    let slots: HashMap<String, Slot> = order
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

/// The text that identifies a sub-expression: two are the same test when
/// their trees print the same.
fn key(node: &Node) -> String {
    format!("{node:?}")
}

/// `node` rebuilt with its shared sub-conditions marked.
fn marked(node: &Node, slots: &HashMap<String, Slot>) -> Node {
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
