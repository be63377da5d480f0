//! The combining rule, written once for every decision type: scope, deny
//! overrides, first allow decides, default deny, errors fail closed.

use std::collections::BTreeMap;

use super::{codes, native::Lookup, render, value::V};
use crate::{
    bundle::{Candidates, Effect, Expr, Field, ForEach, Rule, Scope},
    domain::{Reason, ReasonCode, RuleTrace},
};

/// One item of a `for_each` collection.
pub struct Item<'a> {
    /// Metric name.
    pub metric: &'a str,
    /// The plan's limit or quota.
    pub limit: f64,
    /// The request's value, when reported.
    pub current: Option<f64>,
}

/// The items of a `for_each` collection: a plan's limits or quotas, each
/// with the request's value. Iterated in place, never collected.
pub struct Items<'a> {
    limits: std::collections::btree_map::Iter<'a, String, f64>,
    values: Option<&'a BTreeMap<String, f64>>,
}

impl<'a> Items<'a> {
    /// `limits`, each paired with its value in `values`.
    pub fn new(limits: &'a BTreeMap<String, f64>, values: &'a BTreeMap<String, f64>) -> Self {
        Self {
            limits: limits.iter(),
            values: Some(values),
        }
    }

    /// No items.
    pub fn none() -> Self {
        static EMPTY: BTreeMap<String, f64> = BTreeMap::new();
        Self {
            limits: EMPTY.iter(),
            values: None,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let (metric, limit) = self.limits.next()?;
        Some(Item {
            metric,
            limit: *limit,
            current: self.values.and_then(|v| v.get(metric).copied()),
        })
    }
}

/// What a decision type supplies to the combining rule.
pub trait Facts: Lookup {
    /// Whether a rule's structural scope covers this request.
    fn in_scope(&self, scope: &Scope) -> bool;
    /// The items of a `for_each` collection.
    fn items(&self, for_each: ForEach) -> Items<'_>;
    /// The CEL context for expressions the native evaluator does not cover;
    /// built on first use, so most decisions never build one.
    fn context(&self) -> &cel::Context<'static, 'static>;
}

/// The facts of one evaluation: the decision's, plus the current `for_each` item.
pub struct Env<'a> {
    facts: &'a dyn Facts,
    item: Option<&'a Item<'a>>,
}

impl Lookup for Env<'_> {
    fn field(&self, field: Field) -> Option<V<'_>> {
        match (field, self.item) {
            (Field::Metric, Some(i)) => Some(V::str(i.metric)),
            (Field::Limit, Some(i)) => Some(V::Float(i.limit)),
            (Field::Current, Some(i)) => Some(i.current.map_or(V::Null, V::Float)),
            (Field::Reported, Some(i)) => Some(V::Bool(i.current.is_some())),
            _ => self.facts.field(field),
        }
    }
}

impl Env<'_> {
    /// Evaluates a condition to a bool.
    pub fn condition(&self, expr: &Expr) -> Result<bool, String> {
        if let Some(node) = &expr.native {
            return match super::native::eval(node, self) {
                Ok(V::Bool(b)) => Ok(b),
                Ok(other) => Err(format!(
                    "condition returned `{}`, not a bool",
                    other.type_name()
                )),
                Err(e) => Err(format!("condition: {e}")),
            };
        }
        match self.interpret(expr) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "condition returned `{}`, not a bool",
                other.type_of()
            )),
            Err(e) => Err(format!(
                "condition: {}",
                render::lowercase_first(&e.to_string())
            )),
        }
    }

    /// Evaluates a template hole to text.
    pub fn text(&self, expr: &Expr, out: &mut String) -> Result<(), String> {
        if let Some(node) = &expr.native {
            super::native::eval(node, self)?.render(out);
            return Ok(());
        }
        let v = self
            .interpret(expr)
            .map_err(|e| render::lowercase_first(&e.to_string()))?;
        out.push_str(&render::value(&v));
        Ok(())
    }

    fn interpret(&self, expr: &Expr) -> Result<cel::Value, cel::ExecutionError> {
        let ctx = self.facts.context();
        let Some(item) = self.item else {
            return expr.program.execute(ctx);
        };
        let mut scope = ctx.new_inner_scope();
        scope.add_variable_from_value("metric", item.metric.to_owned());
        scope.add_variable_from_value("limit", cel::Value::Float(item.limit));
        scope.add_variable_from_value(
            "current",
            item.current.map_or(cel::Value::Null, cel::Value::Float),
        );
        scope.add_variable_from_value("reported", cel::Value::Bool(item.current.is_some()));
        expr.program.execute(&scope)
    }
}

/// The combined result of evaluating a rule list.
pub struct Combined<'r, A> {
    /// Deny reasons, including evaluation errors; non-empty means DENY.
    pub denies: Vec<Reason>,
    /// The first matching allow rule and its reasons.
    pub decided: Option<(&'r Rule<A>, Vec<Reason>)>,
    /// One entry per rule when explaining.
    pub trace: Vec<RuleTrace>,
}

/// Applies the combining rule to `rules` in order. Only the `candidates`
/// (the rules whose indexed scope can cover the request) are looked at,
/// unless explaining: then every rule appears in the trace.
pub fn combine<'r, A>(
    rules: &'r [Rule<A>],
    candidates: Candidates<'_>,
    facts: &dyn Facts,
    explain: bool,
) -> Combined<'r, A> {
    let mut out = Combined {
        denies: Vec::new(),
        decided: None,
        trace: Vec::new(),
    };
    let order = if explain {
        Order::All(rules.iter())
    } else {
        Order::Candidates(rules, candidates)
    };
    for rule in order {
        let is_allow = matches!(rule.effect, Effect::Allow(_));
        let skip = if !facts.in_scope(&rule.scope) {
            Some("not applicable: outside the rule's scope")
        } else if is_allow && !out.denies.is_empty() {
            Some("not evaluated: a deny rule already matched")
        } else if is_allow && out.decided.is_some() {
            Some("not evaluated: an earlier allow rule decided")
        } else {
            None
        };
        if let Some(note) = skip {
            if explain {
                out.trace.push(trace(rule, false, note.to_owned(), false));
            }
            continue;
        }
        let (reasons, error) = evaluate(rule, facts);
        let matched = !reasons.is_empty();
        if explain {
            let note = error.clone().unwrap_or_default();
            out.trace
                .push(trace(rule, matched, note, matched || error.is_some()));
        }
        if let Some(error) = error {
            out.denies.push(error_reason(rule, &error));
            continue;
        }
        if matched {
            match &rule.effect {
                Effect::Deny => out.denies.extend(reasons),
                Effect::Allow(_) => out.decided = Some((rule, reasons)),
            }
        }
    }
    out
}

/// The rules to look at: all of them, or the indexed candidates.
enum Order<'r, 'c, A> {
    All(std::slice::Iter<'r, Rule<A>>),
    Candidates(&'r [Rule<A>], Candidates<'c>),
}

impl<'r, A> Iterator for Order<'r, '_, A> {
    type Item = &'r Rule<A>;

    fn next(&mut self) -> Option<&'r Rule<A>> {
        match self {
            Self::All(rules) => rules.next(),
            Self::Candidates(rules, candidates) => candidates.next().and_then(|i| rules.get(i)),
        }
    }
}

/// A trace of `rules` none of which ran, all for the same `note`.
pub fn not_evaluated<A>(rules: &[Rule<A>], note: &str) -> Vec<RuleTrace> {
    rules
        .iter()
        .map(|r| trace(r, false, note.to_owned(), false))
        .collect()
}

/// The reason for a run-time failure of `rule`.
pub fn error_reason<A>(rule: &Rule<A>, error: &str) -> Reason {
    Reason {
        code: ReasonCode::engine(codes::POLICY_EVALUATION_ERROR),
        message: format!("rule `{}` failed: {error}", rule.id),
        rule_id: Some(rule.id.clone()),
        details: BTreeMap::from([("error".to_owned(), error.to_owned())]),
    }
}

fn trace<A>(rule: &Rule<A>, matched: bool, note: String, decisive: bool) -> RuleTrace {
    RuleTrace {
        rule_id: rule.id.clone(),
        matched,
        effect: rule.effect_label.clone(),
        note,
        decisive,
    }
}

/// Evaluates one rule: its reasons when it matches, or the error that
/// stopped it.
fn evaluate<A>(rule: &Rule<A>, facts: &dyn Facts) -> (Vec<Reason>, Option<String>) {
    let Some(for_each) = rule.for_each else {
        let env = Env { facts, item: None };
        return match holds(rule, &env) {
            Ok(false) => (Vec::new(), None),
            Ok(true) => match render::reason(rule, &env, BTreeMap::new()) {
                Ok(reason) => (vec![reason], None),
                Err(e) => (Vec::new(), Some(e)),
            },
            Err(e) => (Vec::new(), Some(e)),
        };
    };
    let mut reasons = Vec::new();
    for item in facts.items(for_each) {
        let env = Env {
            facts,
            item: Some(&item),
        };
        let result = holds(rule, &env).and_then(|matched| {
            if !matched {
                return Ok(None);
            }
            let mut details = BTreeMap::from([
                ("metric".to_owned(), item.metric.to_owned()),
                ("limit".to_owned(), render::number(item.limit)),
            ]);
            if let Some(current) = item.current {
                details.insert("current".to_owned(), render::number(current));
            }
            render::reason(rule, &env, details).map(Some)
        });
        match result {
            Ok(Some(reason)) => reasons.push(reason),
            Ok(None) => {}
            Err(e) => {
                return (
                    Vec::new(),
                    Some(format!("for metric `{}`: {e}", item.metric)),
                );
            }
        }
    }
    (reasons, None)
}

fn holds<A>(rule: &Rule<A>, env: &Env<'_>) -> Result<bool, String> {
    match &rule.condition {
        None => Ok(true),
        Some(condition) => env.condition(condition),
    }
}
