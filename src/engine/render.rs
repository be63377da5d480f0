//! Rendering reasons: message templates and detail values as text.

use std::collections::BTreeMap;

use super::{env::Env, error::EvalError};
use crate::{
    bundle::{Part, Rule, Template, facts::Context},
    domain::Reason,
};

/// Renders `rule`'s reason in `env`, adding `details` first.
pub fn reason<A, C: Context>(
    rule: &Rule<A>,
    env: &Env<'_, '_, C>,
    mut details: BTreeMap<String, String>,
) -> Result<Reason, EvalError> {
    let index = env.locale().index;
    // Compiled with one template per declared locale, so always present.
    let message = match rule.reason.message.get(index) {
        Some(t) => template(t, env).map_err(|e| EvalError::Message(Box::new(e)))?,
        None => String::new(),
    };
    for (key, t) in &rule.reason.details {
        let value = template(t, env).map_err(|error| EvalError::Detail {
            key: key.clone(),
            error: Box::new(error),
        })?;
        details.insert(key.clone(), value);
    }
    Ok(Reason {
        code: rule.reason.code.clone(),
        message,
        rule_id: Some(rule.id.clone()),
        details,
    })
}

fn template<C: Context>(t: &Template, env: &Env<'_, '_, C>) -> Result<String, EvalError> {
    let mut out = String::with_capacity(96);
    for part in &t.parts {
        match part {
            Part::Text(s) => out.push_str(s),
            Part::Hole(e) => env.text(e, &mut out).map_err(|error| EvalError::Hole {
                hole: e.source.clone(),
                error: Box::new(error),
            })?,
            Part::Money { amount, currency } => {
                env.money(amount, currency, &mut out)
                    .map_err(|error| EvalError::Hole {
                        hole: format!("{} | money({})", amount.source, currency.source),
                        error: Box::new(error),
                    })?
            }
        }
    }
    Ok(out)
}
