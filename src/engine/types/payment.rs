//! What both payment decisions share beyond their facts: the scope of a
//! payment rule, the refusal of an unknown merchant, and the reasons for
//! fallback methods that could not serve.

use std::collections::BTreeMap;

use crate::{
    bundle::{Rule, Scope, types::payment::wallet::WalletView},
    domain::{DetailKey, Reason, ReasonCode, RuleTrace},
    engine::combine,
};

/// Reason code for a fallback candidate that could not be used.
pub const FALLBACK_METHOD_SKIPPED: &str = "FALLBACK_METHOD_SKIPPED";
/// Reason code for a merchant the bundle does not know (and no default profile).
pub const UNKNOWN_MERCHANT: &str = "UNKNOWN_MERCHANT";

/// Whether a payment rule's scope covers `merchant_id`.
pub fn in_scope(scope: &Scope, merchant_id: &str) -> bool {
    scope.from_plans.is_empty()
        && scope.to_plans.is_empty()
        && scope.requesters.is_empty()
        && (scope.merchants.is_empty() || scope.merchants.iter().any(|m| m == merchant_id))
}

/// One reason per fallback candidate of `view` that could not be used.
pub fn skipped_reasons(view: &WalletView<'_>) -> Vec<Reason> {
    view.skipped
        .iter()
        .map(|(m, why)| {
            let (id, kind, why_text) = (m.id.as_str(), m.kind.as_str(), why.message());
            // Joined into one allocation, and the details inserted one by
            // one: `format!` and `BTreeMap::from` of an array cost several
            // times as much per skipped method.
            let message = [
                "`",
                id,
                "` (",
                kind,
                ") was not used as a fallback: ",
                why_text,
            ]
            .concat();
            let mut details = BTreeMap::new();
            details.insert(DetailKey::Borrowed("method_id"), id.to_owned());
            details.insert(DetailKey::Borrowed("type"), kind.to_owned());
            details.insert(DetailKey::Borrowed("why"), why.as_str().to_owned());
            Reason {
                code: ReasonCode::engine(FALLBACK_METHOD_SKIPPED),
                message,
                rule_id: None,
                details,
            }
        })
        .collect()
}

/// The trace of a decision refused for an unknown merchant: no rule ran.
pub fn unknown_merchant_trace<A>(rules: &[Rule<A>], explain: bool) -> Vec<RuleTrace> {
    if explain {
        combine::not_evaluated(rules, "not evaluated: unknown merchant")
    } else {
        Vec::new()
    }
}

/// The reason for a merchant the bundle does not know.
pub fn unknown_merchant(id: &str) -> Reason {
    Reason {
        code: ReasonCode::engine(UNKNOWN_MERCHANT),
        message: format!(
            "merchant `{id}` is not in the bundle and there is no default merchant profile"
        ),
        rule_id: None,
        details: BTreeMap::from([("merchant_id".into(), id.to_owned())]),
    }
}
