//! `never-matches` and `preempted-allow`, decided only where a condition is
//! a `&&` chain of comparisons of one fact with constants (`x > 3`,
//! `x == 'a'`, a bool fact or its negation): such a chain is a box of
//! values per fact, and whether a box is empty, or one lies inside another,
//! is decidable. Anything else is "unknown" and reported as a count, never
//! guessed.

use std::sync::Arc;

use super::Raw;
use crate::{
    bundle::{CmpOp, CompiledBundle, Effect, Lit, Node, Rule, Scope, facts::FactRef},
    engine::DecisionType,
};

/// What a comparison reads: a fact, or a key of a map fact.
#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Fact(FactRef),
    Key(FactRef, Arc<str>),
}

/// A constant compared with.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Num(f64),
    Str(Arc<str>),
    Bool(bool),
}

/// `subject op value`.
#[derive(Debug, Clone)]
struct Atom {
    subject: Subject,
    op: CmpOp,
    value: Value,
}

/// A condition as a list of atoms, when it is one; `Some(None)`: always
/// false (a literal `false` in the chain).
fn atoms(node: Option<&Node>) -> Option<Option<Vec<Atom>>> {
    let Some(node) = node else {
        return Some(Some(Vec::new()));
    };
    let mut out = Vec::new();
    let mut operands = Vec::new();
    chain(node, &mut operands);
    for n in operands {
        match n {
            Node::Lit(Lit::Bool(true)) => {}
            Node::Lit(Lit::Bool(false)) => return Some(None),
            _ => out.push(atom(n)?),
        }
    }
    Some(Some(out))
}

fn chain<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    if let Node::And(a, b) = node {
        chain(a, out);
        chain(b, out);
    } else {
        out.push(node);
    }
}

fn subject(node: &Node) -> Option<Subject> {
    match node {
        Node::Field(f) => Some(Subject::Fact(*f)),
        Node::Key(map, k) => match &**map {
            Node::Field(f) => Some(Subject::Key(*f, k.clone())),
            _ => None,
        },
        _ => None,
    }
}

fn value(node: &Node) -> Option<Value> {
    match node {
        Node::Lit(Lit::Int(i)) => i.to_string().parse().ok().map(Value::Num),
        Node::Lit(Lit::UInt(u)) => u.to_string().parse().ok().map(Value::Num),
        Node::Lit(Lit::Float(f)) => Some(Value::Num(*f)),
        Node::Lit(Lit::Str(s)) => Some(Value::Str(s.clone())),
        Node::Lit(Lit::Bool(b)) => Some(Value::Bool(*b)),
        _ => None,
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

fn negate(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Le => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Ge => CmpOp::Lt,
    }
}

fn atom(node: &Node) -> Option<Atom> {
    match node {
        Node::Not(x) => {
            let subject = subject(x)?;
            Some(Atom {
                subject,
                op: CmpOp::Eq,
                value: Value::Bool(false),
            })
        }
        Node::Cmp(op, a, b) => match (subject(a), subject(b)) {
            (Some(subject), None) => Some(Atom {
                subject,
                op: *op,
                value: value(b)?,
            }),
            (None, Some(subject)) => Some(Atom {
                subject,
                op: flip(*op),
                value: value(a)?,
            }),
            _ => None,
        },
        _ => Some(Atom {
            subject: subject(node)?,
            op: CmpOp::Eq,
            value: Value::Bool(true),
        }),
    }
}

/// Whether some value satisfies every atom on one subject; `None` when the
/// atoms mix types (undecided).
fn satisfiable(atoms: &[&Atom]) -> Option<bool> {
    let (mut lo, mut hi) = ((f64::NEG_INFINITY, true), (f64::INFINITY, true));
    let mut eq: Option<&Value> = None;
    let mut ne: Vec<&Value> = Vec::new();
    let kind = |v: &Value| std::mem::discriminant(v);
    let first = atoms.first().map(|a| kind(&a.value))?;
    for a in atoms {
        if kind(&a.value) != first {
            return None;
        }
        match (a.op, &a.value) {
            (CmpOp::Eq, v) => {
                if eq.is_some_and(|e| e != v) {
                    return Some(false);
                }
                eq = Some(v);
            }
            (CmpOp::Ne, v) => ne.push(v),
            (op, Value::Num(n)) => match op {
                CmpOp::Gt | CmpOp::Ge => {
                    let incl = op == CmpOp::Ge;
                    if *n > lo.0 || (*n == lo.0 && !incl) {
                        lo = (*n, incl);
                    }
                }
                _ => {
                    let incl = op == CmpOp::Le;
                    if *n < hi.0 || (*n == hi.0 && !incl) {
                        hi = (*n, incl);
                    }
                }
            },
            // Ordering strings or bools: not decided here.
            _ => return None,
        }
    }
    let inside = |n: f64| (n > lo.0 || (n == lo.0 && lo.1)) && (n < hi.0 || (n == hi.0 && hi.1));
    if let Some(e) = eq {
        if ne.contains(&e) {
            return Some(false);
        }
        return Some(match e {
            Value::Num(n) => inside(*n),
            _ => true,
        });
    }
    if let Some(Value::Bool(_)) = atoms.first().map(|a| &a.value) {
        // Both bools excluded.
        return Some(ne.len() < 2 || ne.first() == ne.get(1));
    }
    if lo.0 > hi.0 || (lo.0 == hi.0 && !(lo.1 && hi.1)) {
        return Some(false);
    }
    if lo.0 == hi.0 && ne.contains(&&Value::Num(lo.0)) {
        return Some(false);
    }
    Some(true)
}

/// Whether the conjunction `atoms` is unsatisfiable: `Some(true)` proven
/// empty, `Some(false)` proven satisfiable per subject, `None` undecided.
fn empty(atoms: &[Atom]) -> Option<bool> {
    let mut undecided = false;
    let mut subjects: Vec<&Subject> = Vec::new();
    for a in atoms {
        if !subjects.contains(&&a.subject) {
            subjects.push(&a.subject);
        }
    }
    for s in subjects {
        let on: Vec<&Atom> = atoms.iter().filter(|a| a.subject == *s).collect();
        match satisfiable(&on) {
            Some(false) => return Some(true),
            Some(true) => {}
            None => undecided = true,
        }
    }
    if undecided { None } else { Some(false) }
}

/// Whether `wide` covers every request `narrow` covers.
fn covers(wide: &Scope, narrow: &Scope) -> bool {
    fn list<T: PartialEq>(w: &[T], n: &[T]) -> bool {
        w.is_empty() || (!n.is_empty() && n.iter().all(|x| w.contains(x)))
    }
    list(&wide.from_plans, &narrow.from_plans)
        && list(&wide.to_plans, &narrow.to_plans)
        && list(&wide.requesters, &narrow.requesters)
        && list(&wide.merchants, &narrow.merchants)
}

/// Runs both checks on `T`'s rules; returns how many rules stayed undecided.
pub(super) fn check<T: DecisionType>(bundle: &CompiledBundle, out: &mut Vec<Raw>) -> usize {
    let rules = &T::rules(bundle).rules;
    let mut undecided = 0;
    let of = |r: &Rule<T::Payload>| -> Option<Option<Vec<Atom>>> {
        match &r.condition {
            None => atoms(None),
            Some(c) => atoms(Some(c.native.as_ref()?)),
        }
    };
    for (i, rule) in rules.iter().enumerate() {
        let line = rule
            .condition_at
            .as_ref()
            .map_or(rule.at.line, |at| at.line);
        let mine = of(rule);
        match &mine {
            Some(None) => {
                out.push(never(rule, line));
                continue;
            }
            Some(Some(a)) if empty(a) == Some(true) => {
                out.push(never(rule, line));
                continue;
            }
            Some(Some(a)) if empty(a).is_none() => undecided += 1,
            Some(Some(_)) => {}
            None => undecided += 1,
        }
        if !matches!(rule.effect, Effect::Allow(_)) || rule.for_each.is_some() {
            continue;
        }
        let Some(Some(mine)) = mine else {
            continue;
        };
        let earlier = rules.iter().take(i).find(|e| {
            matches!(e.effect, Effect::Allow(_))
                && e.for_each.is_none()
                && covers(&e.scope, &rule.scope)
                && of(e).is_some_and(|theirs| {
                    theirs.is_some_and(|theirs| {
                        // Each of its atoms follows from mine: mine plus
                        // the atom negated is empty.
                        theirs.iter().all(|t| {
                            let mut with = mine.clone();
                            with.push(Atom {
                                op: negate(t.op),
                                ..t.clone()
                            });
                            empty(&with) == Some(true)
                        })
                    })
                })
        });
        if let Some(e) = earlier {
            out.push(Raw {
                file: rule.file.to_string(),
                line: rule.at.line,
                check: "preempted-allow",
                message: format!(
                    "rule `{}`: never decides: the earlier allow `{}` ({}:{}) covers its scope and holds whenever its condition does",
                    rule.id, e.id, e.file, e.at.line
                ),
            });
        }
    }
    undecided
}

fn never<A>(rule: &Rule<A>, line: u64) -> Raw {
    Raw {
        file: rule.file.to_string(),
        line,
        check: "never-matches",
        message: format!(
            "rule `{}`: condition `{}` never holds: it compares one fact with constants in ways no value satisfies",
            rule.id,
            rule.condition.as_ref().map_or("", |c| c.source.as_str())
        ),
    }
}
