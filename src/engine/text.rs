//! Error and value text shared by both evaluators, so a message reads the
//! same whichever one ran.

use crate::bundle::facts::value::number;

/// CEL's messages start with a capital ("No such key"); ours do not.
pub fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
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
