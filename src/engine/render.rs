//! Rendering reasons: message templates and detail values as text.

use std::collections::BTreeMap;

use super::combine::Env;
use crate::{
    bundle::{Part, Rule, Template},
    domain::Reason,
};

/// Renders `rule`'s reason in `env`, adding `details` first.
pub fn reason<A>(
    rule: &Rule<A>,
    env: &Env<'_>,
    mut details: BTreeMap<String, String>,
) -> Result<Reason, String> {
    let message = template(&rule.reason.message, env).map_err(|e| format!("message {e}"))?;
    for (key, t) in &rule.reason.details {
        let value = template(t, env).map_err(|e| format!("details `{key}` {e}"))?;
        details.insert(key.clone(), value);
    }
    Ok(Reason {
        code: rule.reason.code.clone(),
        message,
        rule_id: Some(rule.id.clone()),
        details,
    })
}

fn template(t: &Template, env: &Env<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(96);
    for part in &t.parts {
        match part {
            Part::Text(s) => out.push_str(s),
            Part::Hole(e) => env
                .text(e, &mut out)
                .map_err(|err| format!("`{{{}}}`: {err}", e.source))?,
        }
    }
    Ok(out)
}

/// CEL's messages start with a capital ("No such key"); ours do not.
pub fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A number as people write it: `12`, not `12.0`; `0.5` stays `0.5`.
pub fn number(n: f64) -> String {
    let mut s = String::new();
    write_number(&mut s, n);
    s
}

/// [`number`], appended to `out`.
pub fn write_number(out: &mut String, n: f64) {
    use std::fmt::Write as _;
    let _ = if n.fract() == 0.0 && n.abs() < 1e15 {
        // Whole numbers print as integers: far cheaper than float formatting.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a whole number below 1e15 fits an i64"
        )]
        let whole = n as i64;
        write!(out, "{whole}")
    } else {
        write!(out, "{n}")
    };
}

/// A CEL value as text for messages.
pub fn value(v: &cel::Value) -> String {
    match v {
        cel::Value::Int(i) => i.to_string(),
        cel::Value::UInt(u) => u.to_string(),
        cel::Value::Float(f) => number(*f),
        cel::Value::String(s) => s.to_string(),
        cel::Value::Bool(b) => b.to_string(),
        cel::Value::Null => "null".to_owned(),
        // Rendered as the native evaluator renders instants, so a message
        // reads the same whichever evaluator ran.
        cel::Value::Timestamp(t) => jiff::Timestamp::new(
            t.timestamp(),
            i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        )
        .map_or_else(|_| t.to_rfc3339(), |ts| ts.to_string()),
        cel::Value::Duration(d) => format!("{}s", d.num_seconds()),
        cel::Value::List(items) => {
            let inner: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", inner.join(", "))
        }
        other => format!("{other:?}"),
    }
}
