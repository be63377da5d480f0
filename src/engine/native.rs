//! Evaluating a native expression tree against a decision's facts, with
//! CEL's semantics: `&&` and `||` absorb an error when the other side
//! decides, numbers compare across types, arithmetic overflow is an error.
//! The recursion is bounded whatever the tree: past [`MAX_EVAL_DEPTH`] it
//! is an error, which fails closed.

use std::{borrow::Cow, cmp::Ordering};

use super::error::EvalError;
use crate::bundle::{
    ArithOp, CmpOp, Conv, Lit, Node,
    facts::{List, Lookup, V},
    limits::MAX_DEPTH,
};

/// The deepest tree the evaluator follows: twice the depth a bundle's
/// expressions are held to, so no compiled bundle reaches it, and far
/// inside any thread's stack.
pub const MAX_EVAL_DEPTH: usize = 2 * MAX_DEPTH;

/// Evaluates `node`; an error becomes a `POLICY_EVALUATION_ERROR` reason.
pub fn eval<'a, L: Lookup + ?Sized>(node: &'a Node, facts: &'a L) -> Result<V<'a>, EvalError> {
    eval_at(node, facts, 1)
}

/// Evaluates `node` as a condition: its bool, [`EvalError::NotABool`] for
/// any other value, [`EvalError::Condition`] for an error. The same as
/// [`eval`] and a match on its value, without building a value for the
/// boolean structure (`&&`, `||`, `!`, comparisons, bool facts).
pub fn condition<'a, L: Lookup + ?Sized>(node: &'a Node, facts: &'a L) -> Result<bool, EvalError> {
    match test_at(node, facts, 1) {
        Ok(b) => Ok(b),
        Err(Fail::NotBool(v)) => Err(EvalError::NotABool(v.type_name().to_owned())),
        Err(Fail::Error(e)) => Err(EvalError::Condition(Box::new(e))),
    }
}

/// Why a node tested as a condition gave no bool.
enum Fail<'a> {
    /// It evaluated to another value.
    NotBool(V<'a>),
    /// It failed.
    Error(EvalError),
}

impl From<EvalError> for Fail<'_> {
    fn from(e: EvalError) -> Self {
        Self::Error(e)
    }
}

/// [`eval_at`] of a node whose value a condition tests: the bool it gives,
/// or its other value, or its error; exactly as [`eval_at`] would, node
/// for node (the same depth, the same errors, the same operands evaluated).
fn test_at<'a, L: Lookup + ?Sized>(
    node: &'a Node,
    facts: &'a L,
    depth: usize,
) -> Result<bool, Fail<'a>> {
    if depth > MAX_EVAL_DEPTH {
        return Err(too_deep().into());
    }
    let test = |n: &'a Node| test_at(n, facts, depth + 1);
    let ev = |n: &'a Node| eval_at(n, facts, depth + 1);
    match node {
        Node::Field(f) => match facts.fact(*f) {
            Some(V::Bool(b)) => Ok(b),
            Some(other) => Err(Fail::NotBool(other)),
            None => Err(EvalError::NoSuchKey(facts.name(*f).to_owned()).into()),
        },
        Node::HasField(f) => Ok(facts.fact(*f).is_some()),
        Node::Not(x) => match test(x) {
            Ok(b) => Ok(!b),
            Err(Fail::NotBool(other)) => Err(overload("!_", &[&other]).into()),
            Err(e) => Err(e),
        },
        Node::And(a, b) => Ok(logic(test(a), || test(b), false)?),
        Node::Or(a, b) => Ok(logic(test(a), || test(b), true)?),
        Node::Cond(c, a, b) => match test(c) {
            Ok(true) => test(a),
            Ok(false) => test(b),
            Err(Fail::NotBool(other)) => Err(overload("_?_:_", &[&other]).into()),
            Err(e) => Err(e),
        },
        Node::Cmp(op, a, b) => {
            let a = ev(a)?;
            Ok(compare(*op, &a, &ev(b)?)?)
        }
        Node::In(x, coll) => {
            let x = ev(x)?;
            Ok(contains(&x, ev(coll)?)?)
        }
        Node::HasKey(map, key) => Ok(has_key(ev(map)?, key)?),
        // The same depth: the mark is not a level of the tree as written.
        Node::Shared(slot, x) => {
            if let Some(answer) = facts.recall(*slot) {
                return Ok(answer);
            }
            let answer = test_at(x, facts, depth);
            if let Ok(b) = answer {
                facts.keep(*slot, b);
            }
            answer
        }
        other => match eval_at(other, facts, depth)? {
            V::Bool(b) => Ok(b),
            other => Err(Fail::NotBool(other)),
        },
    }
}

/// `&&` (`decides` false) and `||` (`decides` true) on tested operands,
/// absorbing an error on one side when the other side decides, as CEL
/// does. An operand that is not a bool is CEL's overload error, so the
/// result is a bool or an error, never another value: [`eval_at`] uses it
/// too.
fn logic<'a>(
    a: Result<bool, Fail<'a>>,
    b: impl FnOnce() -> Result<bool, Fail<'a>>,
    decides: bool,
) -> Result<bool, EvalError> {
    let name = if decides { "_||_" } else { "_&&_" };
    match a {
        Ok(x) if x == decides => Ok(decides),
        Ok(_) => match b() {
            Ok(y) => Ok(y),
            Err(Fail::NotBool(other)) => Err(overload(name, &[&V::Bool(!decides), &other])),
            Err(Fail::Error(e)) => Err(e),
        },
        Err(Fail::NotBool(other)) => Err(overload(name, &[&other])),
        Err(Fail::Error(e)) => match b() {
            Ok(y) if y == decides => Ok(decides),
            _ => Err(e),
        },
    }
}

/// Evaluates `node`, `depth` levels down the tree.
fn eval_at<'a, L: Lookup + ?Sized>(
    node: &'a Node,
    facts: &'a L,
    depth: usize,
) -> Result<V<'a>, EvalError> {
    if depth > MAX_EVAL_DEPTH {
        return Err(too_deep());
    }
    let ev = |n: &'a Node| eval_at(n, facts, depth + 1);
    let test = |n: &'a Node| test_at(n, facts, depth + 1);
    Ok(match node {
        Node::Lit(lit) => match lit {
            Lit::Null => V::Null,
            Lit::Bool(b) => V::Bool(*b),
            Lit::Int(i) => V::Int(*i),
            Lit::UInt(u) => V::UInt(*u),
            Lit::Float(f) => V::Float(*f),
            Lit::Str(s) => V::Str(Cow::Borrowed(s)),
        },
        Node::Field(f) => facts
            .fact(*f)
            .ok_or_else(|| EvalError::NoSuchKey(facts.name(*f).to_owned()))?,
        Node::HasField(f) => V::Bool(facts.fact(*f).is_some()),
        Node::Key(map, key) => match ev(map)? {
            V::Map(m) => m
                .get(key)
                .ok_or_else(|| EvalError::NoSuchKey(key.to_string()))?,
            other => {
                return Err(EvalError::KeyOfNonMap {
                    key: key.clone(),
                    found: other.type_name(),
                });
            }
        },
        Node::HasKey(map, key) => V::Bool(has_key(ev(map)?, key)?),
        Node::Index(target, index) => index_of(ev(target)?, &ev(index)?)?,
        Node::Not(x) => match ev(x)? {
            V::Bool(b) => V::Bool(!b),
            other => return Err(overload("!_", &[&other])),
        },
        Node::Neg(x) => match ev(x)? {
            V::Int(i) => V::Int(i.checked_neg().ok_or(EvalError::NegationOverflow)?),
            V::Float(f) => V::Float(-f),
            other => return Err(overload("-_", &[&other])),
        },
        Node::And(a, b) => V::Bool(logic(test(a), || test(b), false)?),
        Node::Or(a, b) => V::Bool(logic(test(a), || test(b), true)?),
        Node::Cond(c, a, b) => match ev(c)? {
            V::Bool(true) => ev(a)?,
            V::Bool(false) => ev(b)?,
            other => return Err(overload("_?_:_", &[&other])),
        },
        Node::Cmp(op, a, b) => {
            let a = ev(a)?;
            V::Bool(compare(*op, &a, &ev(b)?)?)
        }
        Node::Arith(op, a, b) => arith(*op, ev(a)?, ev(b)?)?,
        Node::In(x, coll) => {
            let x = ev(x)?;
            V::Bool(contains(&x, ev(coll)?)?)
        }
        Node::Size(x) => match ev(x)? {
            V::Str(s) => V::Int(len(s.chars().count())),
            V::List(items) => V::Int(len(items.len())),
            V::Map(m) => V::Int(len(m.len())),
            other => return Err(overload("size", &[&other])),
        },
        Node::Conv(conv, x) => convert(*conv, ev(x)?)?,
        Node::List(items) => V::List(List::Owned(items.iter().map(ev).collect::<Result<_, _>>()?)),
        Node::Shared(_, x) => eval_at(x, facts, depth)?,
    })
}

/// `a op b`.
fn compare(op: CmpOp, a: &V<'_>, b: &V<'_>) -> Result<bool, EvalError> {
    Ok(match op {
        CmpOp::Eq => a.equals(b),
        CmpOp::Ne => !a.equals(b),
        _ => {
            let ord = a
                .compare(b)
                .ok_or_else(|| overload(cmp_name(op), &[a, b]))?;
            match op {
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    })
}

/// `x in coll`.
fn contains(x: &V<'_>, coll: V<'_>) -> Result<bool, EvalError> {
    match coll {
        V::List(items) => Ok(items.iter().any(|i| i.equals(x))),
        V::Map(m) => Ok(match x {
            V::Str(k) => m.get(k).is_some(),
            _ => false,
        }),
        other => Err(overload("@in", &[x, &other])),
    }
}

/// `has(map.key)`.
fn has_key(map: V<'_>, key: &str) -> Result<bool, EvalError> {
    match map {
        V::Map(m) => Ok(m.get(key).is_some()),
        other => Err(EvalError::HasOfNonMap(other.type_name())),
    }
}

/// The error past [`MAX_EVAL_DEPTH`]; out of line, so that the check costs
/// the common path only a comparison.
#[cold]
#[inline(never)]
fn too_deep() -> EvalError {
    EvalError::TooDeep(MAX_EVAL_DEPTH)
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn index_of<'a>(target: V<'a>, index: &V<'_>) -> Result<V<'a>, EvalError> {
    match (target, index) {
        (V::List(items), V::Int(_) | V::UInt(_)) => {
            let i = match index {
                V::Int(i) => usize::try_from(*i).ok(),
                V::UInt(u) => usize::try_from(*u).ok(),
                _ => None,
            };
            let n = items.len();
            i.and_then(|i| items.into_nth(i))
                .ok_or_else(|| EvalError::IndexOutOfBounds {
                    index: render_one(index),
                    len: n,
                })
        }
        (V::Map(m), V::Str(k)) => m.get(k).ok_or_else(|| EvalError::NoSuchKey(k.to_string())),
        (t, i) => Err(overload("_[_]", &[&t, i])),
    }
}

/// `x op y` on integers of one type, `None` on overflow; division and
/// modulus by zero return the CEL error from the enclosing function.
macro_rules! checked {
    ($op:expr, $x:expr, $y:expr) => {
        match $op {
            ArithOp::Add => $x.checked_add($y),
            ArithOp::Sub => $x.checked_sub($y),
            ArithOp::Mul => $x.checked_mul($y),
            ArithOp::Div if $y == 0 => return Err(EvalError::DivisionByZero),
            ArithOp::Div => $x.checked_div($y),
            ArithOp::Rem if $y == 0 => return Err(EvalError::ModulusByZero),
            ArithOp::Rem => $x.checked_rem($y),
        }
    };
}

fn arith<'a>(op: ArithOp, a: V<'a>, b: V<'a>) -> Result<V<'a>, EvalError> {
    let name = arith_name(op);
    let overflow = || EvalError::ArithmeticOverflow(name);
    Ok(match (a, b) {
        (V::Int(x), V::Int(y)) => V::Int(checked!(op, x, y).ok_or_else(overflow)?),
        (V::UInt(x), V::UInt(y)) => V::UInt(checked!(op, x, y).ok_or_else(overflow)?),
        (V::Float(x), V::Float(y)) => V::Float(match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            ArithOp::Div => x / y,
            ArithOp::Rem => return Err(overload(name, &[&V::Float(x), &V::Float(y)])),
        }),
        (V::Str(x), V::Str(y)) if op == ArithOp::Add => {
            // One allocation of the final length (or the left side's own
            // string grown); `format!` went through the formatter and grew
            // its buffer as it wrote.
            let mut joined = match x {
                Cow::Owned(x) => x,
                Cow::Borrowed(x) => {
                    let mut s = String::with_capacity(x.len() + y.len());
                    s.push_str(x);
                    s
                }
            };
            joined.push_str(&y);
            V::Str(Cow::Owned(joined))
        }
        (V::List(x), V::List(y)) if op == ArithOp::Add => {
            let mut x = x.into_vec();
            x.extend(y.iter());
            V::List(List::Owned(x))
        }
        (a, b) => return Err(overload(name, &[&a, &b])),
    })
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "CEL's int(double) truncates toward zero"
)]
fn convert(conv: Conv, x: V<'_>) -> Result<V<'_>, EvalError> {
    Ok(match (conv, x) {
        (Conv::String, V::Str(s)) => V::Str(s),
        (Conv::String, x @ (V::Int(_) | V::UInt(_) | V::Float(_) | V::Bool(_) | V::Ts(_))) => {
            V::Str(Cow::Owned(render_one(&x)))
        }
        (Conv::Int, V::Int(i)) => V::Int(i),
        (Conv::Int, V::UInt(u)) => V::Int(i64::try_from(u).map_err(|_| EvalError::IntOverflow)?),
        (Conv::Int, V::Float(f)) if f.is_finite() && f.abs() < 9.2e18 => V::Int(f.trunc() as i64),
        (Conv::Int, V::Str(s)) => V::Int(
            s.parse()
                .map_err(|_| EvalError::NotAnInteger(s.to_string()))?,
        ),
        (Conv::Int, V::Ts(t)) => V::Int(t.as_second()),
        (Conv::Double, V::Float(f)) => V::Float(f),
        #[expect(clippy::cast_precision_loss, reason = "CEL's double(int)")]
        (Conv::Double, V::Int(i)) => V::Float(i as f64),
        #[expect(clippy::cast_precision_loss, reason = "CEL's double(uint)")]
        (Conv::Double, V::UInt(u)) => V::Float(u as f64),
        (Conv::Double, V::Str(s)) => V::Float(
            s.parse()
                .map_err(|_| EvalError::NotANumber(s.to_string()))?,
        ),
        (conv, x) => {
            let name = match conv {
                Conv::String => "string",
                Conv::Int => "int",
                Conv::Double => "double",
            };
            return Err(overload(name, &[&x]));
        }
    })
}

fn render_one(v: &V<'_>) -> String {
    let mut s = String::new();
    v.render(&mut s);
    s
}

fn overload(function: &'static str, args: &[&V<'_>]) -> EvalError {
    EvalError::NoMatchingOverload {
        function,
        args: args.iter().map(|a| a.type_name()).collect(),
    }
}

fn cmp_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "_==_",
        CmpOp::Ne => "_!=_",
        CmpOp::Lt => "_<_",
        CmpOp::Le => "_<=_",
        CmpOp::Gt => "_>_",
        CmpOp::Ge => "_>=_",
    }
}

fn arith_name(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "_+_",
        ArithOp::Sub => "_-_",
        ArithOp::Mul => "_*_",
        ArithOp::Div => "_/_",
        ArithOp::Rem => "_%_",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::facts::FactRef;

    /// A decision with no facts: the trees below read none.
    struct NoFacts;

    impl Lookup for NoFacts {
        fn fact(&self, _: FactRef) -> Option<V<'_>> {
            None
        }

        fn name(&self, _: FactRef) -> &'static str {
            "fact"
        }
    }

    /// One int fact (absent when `value` is `None`), counting its reads,
    /// with the answers of one decision.
    struct Counted {
        value: Option<i64>,
        reads: std::cell::Cell<usize>,
        answers: crate::bundle::Answers,
    }

    impl Counted {
        fn new(value: Option<i64>) -> Self {
            Self {
                value,
                reads: std::cell::Cell::new(0),
                answers: crate::bundle::Answers::default(),
            }
        }
    }

    impl Lookup for Counted {
        fn fact(&self, _: FactRef) -> Option<V<'_>> {
            self.reads.set(self.reads.get() + 1);
            self.value.map(V::Int)
        }

        fn name(&self, _: FactRef) -> &'static str {
            "request.quantity"
        }

        fn recall(&self, slot: crate::bundle::Slot) -> Option<bool> {
            self.answers.get(slot)
        }

        fn keep(&self, slot: crate::bundle::Slot, answer: bool) {
            self.answers.set(slot, answer);
        }
    }

    /// `request.quantity > 3`, marked shared at `slot`.
    fn shared_over_three(slot: crate::bundle::Slot) -> Node {
        Node::Shared(
            slot,
            Box::new(Node::Cmp(
                CmpOp::Gt,
                Box::new(Node::Field(FactRef::Decision(0))),
                Box::new(Node::Lit(Lit::Int(3))),
            )),
        )
    }

    #[test]
    fn a_shared_sub_condition_is_worked_out_once_per_decision() {
        for (value, answer) in [(5, true), (2, false)] {
            let facts = Counted::new(Some(value));
            let first = Node::And(
                Box::new(shared_over_three(7)),
                Box::new(Node::Lit(Lit::Bool(true))),
            );
            let second = Node::Not(Box::new(shared_over_three(7)));
            assert_eq!(condition(&first, &facts).ok(), Some(answer));
            assert_eq!(condition(&second, &facts).ok(), Some(!answer));
            assert_eq!(facts.reads.get(), 1, "the second rule read the kept answer");
            // Another slot is another sub-condition: worked out again.
            assert_eq!(condition(&shared_over_three(8), &facts).ok(), Some(answer));
            assert_eq!(facts.reads.get(), 2);
            // As a value (`(x > 3) == true`) the mark is transparent.
            let as_value = Node::Cmp(
                CmpOp::Eq,
                Box::new(shared_over_three(7)),
                Box::new(Node::Lit(Lit::Bool(answer))),
            );
            assert_eq!(condition(&as_value, &facts).ok(), Some(true));
        }
    }

    #[test]
    fn a_failing_shared_sub_condition_fails_every_rule_that_tests_it() {
        let facts = Counted::new(None);
        for reads in 1..=3 {
            let got = condition(&shared_over_three(0), &facts);
            assert!(
                matches!(&got, Err(EvalError::Condition(e)) if matches!(&**e, EvalError::NoSuchKey(k) if k == "request.quantity")),
                "{got:?}"
            );
            assert_eq!(facts.reads.get(), reads, "an error is not kept");
        }
        assert_eq!(facts.answers.get(0), None);
    }

    #[test]
    fn slots_past_the_last_keep_nothing() {
        let answers = crate::bundle::Answers::default();
        let last = crate::bundle::Slot::try_from(crate::bundle::Answers::SLOTS - 1).expect("fits");
        answers.set(last, true);
        answers.set(last + 1, true);
        answers.set(u8::MAX, false);
        assert_eq!(answers.get(last), Some(true));
        assert_eq!(answers.get(last + 1), None);
        assert_eq!(answers.get(u8::MAX), None);
        assert_eq!(answers.get(0), None);
    }

    /// `!!...!true` with `nots` negations: a tree `nots + 1` deep.
    fn negations(nots: usize) -> Node {
        (0..nots).fold(Node::Lit(Lit::Bool(true)), |n, _| Node::Not(Box::new(n)))
    }

    #[test]
    fn a_tree_as_deep_as_the_guard_evaluates() {
        let node = negations(MAX_EVAL_DEPTH - 1);
        let even = (MAX_EVAL_DEPTH - 1).is_multiple_of(2);
        let got = eval(&node, &NoFacts);
        assert!(matches!(got, Ok(V::Bool(b)) if b == even), "{got:?}");
    }

    #[test]
    fn a_deeper_tree_is_an_error_not_an_overflow() {
        // Far deeper than any stack would survive unguarded in a debug
        // build (several KiB a level), and still an ordinary error.
        let node = negations(50_000);
        assert!(matches!(
            eval(&node, &NoFacts),
            Err(EvalError::TooDeep(MAX_EVAL_DEPTH))
        ));
        assert_eq!(
            EvalError::TooDeep(MAX_EVAL_DEPTH).to_string(),
            "expression nests deeper than 128 levels"
        );
        // Dropping a box chain recurses too; unwind it a level at a time.
        let mut node = node;
        while let Node::Not(inner) = node {
            node = *inner;
        }
    }
}
