//! Branch coverage of a native condition tree: its decision points (a
//! chain of `&&`, a chain of `||`, a `?:`), which operands a request
//! evaluated and to what. Walked beside the real evaluation, only when
//! coverage is asked for: the evaluator itself is not instrumented.

use std::collections::HashMap;

use crate::{
    bundle::{
        ArithOp, CmpOp, Conv, Lit, Node,
        facts::{FactRef, Lookup, V},
    },
    engine::native,
};

/// How often an operand (keyed by its node's address in the compiled
/// bundle) was seen true and false.
pub type Seen = HashMap<usize, [usize; 2]>;

/// One decision point of a condition.
#[derive(Debug, Clone)]
pub struct Point {
    /// `&&`, `||` or `?:`.
    pub op: &'static str,
    /// The operands whose outcome is counted: every operand of a chain,
    /// the condition of a `?:`.
    pub operands: Vec<Operand>,
}

/// One operand of a decision point and its outcomes.
#[derive(Debug, Clone)]
pub struct Operand {
    /// The operand, written back as CEL.
    pub text: String,
    /// Evaluations in which it was true.
    pub when_true: usize,
    /// Evaluations in which it was false.
    pub when_false: usize,
}

fn key(node: &Node) -> usize {
    std::ptr::from_ref(node).addr()
}

/// The operands of the chain of `node` (`a && b && c` is one point with
/// three operands), or `None` when `node` is not a `&&` or `||`.
fn chain(node: &Node) -> Option<(&'static str, Vec<&Node>)> {
    fn collect<'n>(node: &'n Node, and: bool, out: &mut Vec<&'n Node>) {
        match (node, and) {
            (Node::And(a, b), true) | (Node::Or(a, b), false) => {
                collect(a, and, out);
                collect(b, and, out);
            }
            _ => out.push(node),
        }
    }
    let and = match node {
        Node::And(..) => true,
        Node::Or(..) => false,
        _ => return None,
    };
    let mut out = Vec::new();
    collect(node, and, &mut out);
    Some((if and { "&&" } else { "||" }, out))
}

/// Records, for one evaluation of `node` on `facts`, the outcome of every
/// operand the evaluator reaches: a chain's operands left to right up to
/// the first that decides it (as CEL's `&&` and `||` do, an error does
/// not stop the chain), a `?:`'s condition and then the branch it picks.
pub fn walk(node: &Node, facts: &dyn Lookup, seen: &mut Seen) {
    if let Some((op, operands)) = chain(node) {
        let decides = op == "||";
        for operand in operands {
            let value = record(operand, facts, seen);
            walk(operand, facts, seen);
            if value == Some(decides) {
                break;
            }
        }
        return;
    }
    if let Node::Cond(c, a, b) = node {
        let value = record(c, facts, seen);
        walk(c, facts, seen);
        match value {
            Some(true) => walk(a, facts, seen),
            Some(false) => walk(b, facts, seen),
            None => {}
        }
        return;
    }
    for child in node.children() {
        walk(child, facts, seen);
    }
}

/// Evaluates `operand`, counting a bool outcome.
fn record(operand: &Node, facts: &dyn Lookup, seen: &mut Seen) -> Option<bool> {
    let value = match native::eval(operand, facts) {
        Ok(V::Bool(b)) => b,
        _ => return None,
    };
    let counts = seen.entry(key(operand)).or_default();
    if let Some(n) = counts.get_mut(usize::from(!value)) {
        *n += 1;
    }
    Some(value)
}

/// Every decision point of `node` in source order, with the outcomes
/// `seen` counted; `name` spells a fact.
pub fn points(node: &Node, seen: &Seen, name: &dyn Fn(FactRef) -> &'static str) -> Vec<Point> {
    let mut out = Vec::new();
    collect_points(node, seen, name, &mut out);
    out
}

fn collect_points(
    node: &Node,
    seen: &Seen,
    name: &dyn Fn(FactRef) -> &'static str,
    out: &mut Vec<Point>,
) {
    let operand = |n: &Node| {
        let [when_true, when_false] = seen.get(&key(n)).copied().unwrap_or_default();
        Operand {
            text: cel(n, name),
            when_true,
            when_false,
        }
    };
    if let Some((op, operands)) = chain(node) {
        out.push(Point {
            op,
            operands: operands.iter().map(|n| operand(n)).collect(),
        });
        for n in operands {
            collect_points(n, seen, name, out);
        }
        return;
    }
    if let Node::Cond(c, ..) = node {
        out.push(Point {
            op: "?:",
            operands: vec![operand(c)],
        });
    }
    for child in node.children() {
        collect_points(child, seen, name, out);
    }
}

/// `node` written back as CEL, parenthesised wherever an operator is
/// nested in another.
pub fn cel(node: &Node, name: &dyn Fn(FactRef) -> &'static str) -> String {
    let inner = |n: &Node| match n {
        Node::And(..) | Node::Or(..) | Node::Cond(..) | Node::Cmp(..) | Node::Arith(..) => {
            format!("({})", cel(n, name))
        }
        Node::In(..) => format!("({})", cel(n, name)),
        _ => cel(n, name),
    };
    match node {
        Node::Lit(lit) => match lit {
            Lit::Null => "null".to_owned(),
            Lit::Bool(b) => b.to_string(),
            Lit::Int(i) => i.to_string(),
            Lit::UInt(u) => format!("{u}u"),
            Lit::Float(f) => format!("{f:?}"),
            Lit::Str(s) => format!("{s:?}"),
        },
        Node::Field(f) => name(*f).to_owned(),
        Node::Key(n, k) => format!("{}.{k}", cel(n, name)),
        Node::HasKey(n, k) => format!("has({}.{k})", cel(n, name)),
        Node::HasField(f) => format!("has({})", name(*f)),
        Node::Index(a, b) => format!("{}[{}]", inner(a), cel(b, name)),
        Node::Not(n) => format!("!{}", inner(n)),
        Node::Neg(n) => format!("-{}", inner(n)),
        Node::And(a, b) => format!("{} && {}", inner(a), inner(b)),
        Node::Or(a, b) => format!("{} || {}", inner(a), inner(b)),
        Node::Cond(c, a, b) => format!("{} ? {} : {}", inner(c), inner(a), inner(b)),
        Node::Cmp(op, a, b) => format!("{} {} {}", inner(a), cmp(*op), inner(b)),
        Node::Arith(op, a, b) => format!("{} {} {}", inner(a), arith(*op), inner(b)),
        Node::In(a, b) => format!("{} in {}", inner(a), inner(b)),
        Node::Size(n) => format!("size({})", cel(n, name)),
        Node::Conv(conv, n) => {
            let f = match conv {
                Conv::String => "string",
                Conv::Int => "int",
                Conv::Double => "double",
            };
            format!("{f}({})", cel(n, name))
        }
        Node::List(items) => {
            let items: Vec<String> = items.iter().map(|n| cel(n, name)).collect();
            format!("[{}]", items.join(", "))
        }
        // Only in the engine's evaluation trees, which coverage never reads.
        Node::Shared(_, n) => cel(n, name),
    }
}

fn cmp(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn arith(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "+",
        ArithOp::Sub => "-",
        ArithOp::Mul => "*",
        ArithOp::Div => "/",
        ArithOp::Rem => "%",
    }
}
