//! Rendering reasons: message templates and detail values as text.

use std::collections::BTreeMap;

use super::{env::Env, error::EvalError};
use crate::{
    bundle::{
        Node, Part, Rule, Template,
        facts::{Context, FactRef, item},
    },
    domain::{DetailKey, Reason},
};

/// Renders `rule`'s reason in `env`, adding `details` first (the engine's
/// own: a `for_each` item's metric, limit and current value).
pub fn reason<A, C: Context>(
    rule: &Rule<A>,
    env: &Env<'_, '_, C>,
    mut details: BTreeMap<DetailKey, String>,
) -> Result<Reason, EvalError> {
    let index = env.locale().index;
    // Compiled with one template per declared locale, so always present.
    let message = match rule.reason.message.get(index) {
        Some(t) => template(t, env, &details).map_err(|e| EvalError::Message(Box::new(e)))?,
        None => String::new(),
    };
    for (key, t) in &rule.reason.details {
        // Not read from `details`: a bundle's key may replace the engine's.
        let value = template(t, env, &BTreeMap::new()).map_err(|error| EvalError::Detail {
            key: key.clone(),
            error: Box::new(error),
        })?;
        details.insert(DetailKey::Owned(key.clone()), value);
    }
    Ok(Reason {
        code: rule.reason.code.clone(),
        message,
        rule_id: Some(rule.id.clone()),
        details,
    })
}

/// Renders `t` into one string allocated once at about its final length.
/// A hole that reads an item fact already written in `written` (the
/// engine's details, by the fact's name) is copied from there, not
/// formatted a second time.
fn template<C: Context>(
    t: &Template,
    env: &Env<'_, '_, C>,
    written: &BTreeMap<DetailKey, String>,
) -> Result<String, EvalError> {
    let mut out = String::with_capacity(t.size_hint());
    for part in &t.parts {
        match part {
            Part::Text(s) => out.push_str(s),
            Part::Hole(e) => match written_item(e.native.as_ref(), written) {
                Some(text) => out.push_str(text),
                None => env.text(e, &mut out).map_err(|error| EvalError::Hole {
                    hole: e.source.clone(),
                    error: Box::new(error),
                })?,
            },
            Part::Money { amount, currency } => {
                env.money(amount, currency, &mut out)
                    .map_err(|error| EvalError::Hole {
                        hole: format!("{} | money({})", amount.source, currency.source),
                        error: Box::new(error),
                    })?
            }
        }
    }
    t.rendered(out.len());
    Ok(out)
}

/// The text of an item fact (`limit`) in `written`, when `node` reads
/// exactly that fact: what the native evaluator would render for it.
fn written_item<'w>(
    node: Option<&Node>,
    written: &'w BTreeMap<DetailKey, String>,
) -> Option<&'w str> {
    let Some(Node::Field(FactRef::Item(i))) = node else {
        return None;
    };
    let name = item::FACTS.get(usize::from(*i))?.path;
    written.get(name).map(String::as_str)
}
