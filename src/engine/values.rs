//! Building CEL values and decision provenance, shared by every decision type.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

use crate::{
    bundle::CompiledBundle,
    domain::{DecisionId, DecisionMeta, RuleTrace},
};

/// A CEL map from fixed keys.
pub fn map<const N: usize>(entries: [(&str, cel::Value); N]) -> cel::Value {
    cel::Value::from(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<HashMap<_, _>>(),
    )
}

/// A CEL map of doubles.
pub fn metrics(m: &BTreeMap<String, f64>) -> cel::Value {
    cel::Value::from(
        m.iter()
            .map(|(k, v)| (k.clone(), cel::Value::Float(*v)))
            .collect::<HashMap<_, _>>(),
    )
}

/// A CEL map of strings.
pub fn strings(m: &BTreeMap<String, String>) -> cel::Value {
    cel::Value::from(
        m.iter()
            .map(|(k, v)| (k.clone(), cel::Value::from(v.clone())))
            .collect::<HashMap<_, _>>(),
    )
}

/// A CEL list of strings.
pub fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> cel::Value {
    cel::Value::List(std::sync::Arc::new(
        items.into_iter().map(cel::Value::from).collect(),
    ))
}

/// A jiff instant as a CEL timestamp.
pub fn timestamp(ts: Timestamp) -> cel::Value {
    // jiff rounds toward zero; chrono wants non-negative nanos.
    let (mut seconds, mut nanos) = (ts.as_second(), ts.subsec_nanosecond());
    if nanos < 0 {
        seconds -= 1;
        nanos += 1_000_000_000;
    }
    let nanos = u32::try_from(nanos).unwrap_or(0);
    chrono::DateTime::from_timestamp(seconds, nanos).map_or(cel::Value::Null, |dt| {
        cel::Value::Timestamp(dt.fixed_offset())
    })
}

/// Provenance for a decision made now with `bundle`.
pub fn meta(
    bundle: &CompiledBundle,
    evaluated_at: Timestamp,
    trace: Vec<RuleTrace>,
) -> DecisionMeta {
    DecisionMeta {
        decision_id: DecisionId::generate(),
        bundle_name: bundle.name.clone(),
        bundle_revision: bundle.revision.clone(),
        bundle_digest: bundle.digest.clone(),
        evaluated_at,
        trace,
    }
}
