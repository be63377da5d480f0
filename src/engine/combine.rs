//! The combining rule, written once for every decision type: scope, deny
//! overrides, first allow decides, default deny, errors fail closed.

use std::{collections::BTreeMap, fmt::Display};

use super::{
    codes,
    coverage::Observe,
    decision::DecisionType,
    env::{Decision, Env},
    error::EvalError,
    render,
};
use crate::{
    bundle::{Candidates, Effect, Rule, RuleSet, facts::Context, facts::value::number},
    domain::{DetailKey, Reason, ReasonCode, RuleTrace},
};

/// The combined result of evaluating a rule list.
pub struct Combined<'r, A> {
    /// Deny reasons, including evaluation errors; non-empty means DENY.
    pub denies: Vec<Reason>,
    /// The first matching allow rule and its reasons.
    pub decided: Option<(&'r Rule<A>, Vec<Reason>)>,
    /// One entry per rule when explaining.
    pub trace: Vec<RuleTrace>,
}

/// Applies the combining rule to `set`'s rules in order. Only the
/// candidates under `key` (the rules whose indexed scope can cover the request) are looked at,
/// unless explaining: then every rule appears in the trace. `obs` sees every
/// condition evaluated (serving passes [`NoObserver`](super::coverage::NoObserver),
/// which compiles to nothing).
pub fn combine<'r, T: DecisionType, O: Observe>(
    set: &'r RuleSet<T::Payload>,
    key: &str,
    facts: &Decision<'_, '_, T::Ctx>,
    explain: bool,
    obs: &mut O,
) -> Combined<'r, T::Payload> {
    let rules = set.rules.as_slice();
    let candidates = set.index.candidates(key);
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
        let pre_empted = match rule.effect {
            Effect::Allow(_) if !out.denies.is_empty() => {
                Some("not evaluated: a deny rule already matched")
            }
            Effect::Allow(_) if out.decided.is_some() => {
                Some("not evaluated: an earlier allow rule decided")
            }
            _ => None,
        };
        // Serving needs no note: a pre-empted allow is skipped before its
        // scope is looked at.
        if !explain && pre_empted.is_some() {
            continue;
        }
        let in_scope = rule.scope.is_empty() || T::in_scope(facts.ctx(), &rule.scope);
        let skip = if in_scope {
            pre_empted
        } else {
            Some("not applicable: outside the rule's scope")
        };
        if let Some(note) = skip {
            if explain {
                out.trace.push(trace(rule, false, note.to_owned(), false));
            }
            continue;
        }
        let (reasons, error) = evaluate::<T, O>(rule, facts, obs);
        let matched = !reasons.is_empty();
        if explain {
            let note = error.as_ref().map(ToString::to_string).unwrap_or_default();
            out.trace
                .push(trace(rule, matched, note, matched || error.is_some()));
        }
        if let Some(error) = error {
            out.denies.push(error_reason(rule, &error));
            continue;
        }
        if matched {
            match &rule.effect {
                // The first deny's reasons become the list: no second one.
                Effect::Deny if out.denies.is_empty() => out.denies = reasons,
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

/// The reason for a run-time failure of `rule`: an [`EvalError`], or why
/// a deciding rule's effect could not be carried out.
pub fn error_reason<A>(rule: &Rule<A>, error: impl Display) -> Reason {
    let error = error.to_string();
    Reason {
        code: ReasonCode::engine(codes::POLICY_EVALUATION_ERROR),
        message: format!("rule `{}` failed: {error}", rule.id),
        rule_id: Some(rule.id.clone()),
        details: BTreeMap::from([(DetailKey::Borrowed("error"), error)]),
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
fn evaluate<T: DecisionType, O: Observe>(
    rule: &Rule<T::Payload>,
    facts: &Decision<'_, '_, T::Ctx>,
    obs: &mut O,
) -> (Vec<Reason>, Option<EvalError>) {
    let Some(for_each) = rule.for_each else {
        let env = facts.at(None);
        let held = holds(rule, &env);
        obs.condition(&rule.id, rule.condition.as_ref(), env.lookup(), &held);
        return match held {
            Ok(false) => (Vec::new(), None),
            Ok(true) => match render::reason(rule, &env, BTreeMap::new()) {
                Ok(reason) => (vec![reason], None),
                Err(e) => (Vec::new(), Some(e)),
            },
            Err(e) => (Vec::new(), Some(e)),
        };
    };
    let mut reasons = Vec::new();
    for item in T::items(facts.ctx(), for_each) {
        let env = facts.at(Some(&item));
        let held = holds(rule, &env);
        obs.condition(&rule.id, rule.condition.as_ref(), env.lookup(), &held);
        let result = held.and_then(|matched| {
            if !matched {
                return Ok(None);
            }
            // Each number formatted once: the message copies it from here.
            // Inserted one by one: `BTreeMap::from` of an array sorts it
            // and builds in bulk, several times dearer for three keys.
            let mut details = BTreeMap::new();
            details.insert(DetailKey::Borrowed("metric"), item.metric.to_owned());
            details.insert(DetailKey::Borrowed("limit"), number(item.limit));
            if let Some(current) = item.current() {
                details.insert(DetailKey::Borrowed("current"), number(current));
            }
            render::reason(rule, &env, details).map(Some)
        });
        match result {
            Ok(Some(reason)) => reasons.push(reason),
            Ok(None) => {}
            Err(e) => {
                return (
                    Vec::new(),
                    Some(EvalError::ForMetric {
                        metric: item.metric.to_owned(),
                        error: Box::new(e),
                    }),
                );
            }
        }
    }
    (reasons, None)
}

fn holds<A, C: Context>(rule: &Rule<A>, env: &Env<'_, '_, C>) -> Result<bool, EvalError> {
    match &rule.condition {
        None => Ok(true),
        Some(condition) => env.condition(condition),
    }
}
