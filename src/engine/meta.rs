//! Decision provenance, the same for every decision type.

use jiff::Timestamp;

use crate::{
    bundle::{BundleLocale, CompiledBundle},
    domain::{DecisionId, DecisionMeta, RuleTrace},
};

/// Provenance for a decision made now with `bundle`, its messages written
/// in `locale`.
pub fn meta(
    bundle: &CompiledBundle,
    evaluated_at: Timestamp,
    trace: Vec<RuleTrace>,
    locale: &BundleLocale,
) -> DecisionMeta {
    DecisionMeta {
        decision_id: DecisionId::generate(),
        bundle_name: bundle.name.clone(),
        bundle_revision: bundle.revision.clone(),
        bundle_digest: bundle.digest.clone(),
        evaluated_at,
        trace,
        locale: locale.tag.clone(),
    }
}
