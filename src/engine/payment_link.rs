//! The payment-link decision: may this wallet link to this merchant, or what
//! must the user do first?

use std::collections::BTreeMap;

use super::{
    codes, combine,
    payment::{self, PaymentFacts},
    values,
};
use crate::{
    bundle::{CompiledBundle, Effect, LinkPayload},
    domain::{LinkOutcome, PaymentLink, PaymentLinkDecision, Reason, ReasonCode},
};

/// Decides whether `req`'s wallet may link to its merchant under `bundle`.
pub fn decide_payment_link(bundle: &CompiledBundle, req: &PaymentLink) -> PaymentLinkDecision {
    let wallet = &req.wallet;
    let Some((merchant, default_profile)) = bundle.merchants.get(&wallet.merchant_id) else {
        return PaymentLinkDecision {
            outcome: LinkOutcome::Deny,
            required_actions: Vec::new(),
            reasons: vec![unknown_merchant(&wallet.merchant_id)],
            meta: values::meta(
                bundle,
                wallet.as_of,
                unknown_merchant_trace(&bundle.payment_link_rules, wallet.explain),
            ),
        };
    };
    let mut facts = PaymentFacts::new(bundle, wallet, merchant, default_profile);
    facts.health = Some(&req.health);
    let combined = combine::combine(
        &bundle.payment_link_rules,
        bundle.payment_link_index.candidates(&wallet.merchant_id),
        &facts,
        wallet.explain,
    );
    let meta = values::meta(bundle, wallet.as_of, combined.trace);
    let (outcome, required_actions, reasons) = if !combined.denies.is_empty() {
        (LinkOutcome::Deny, Vec::new(), combined.denies)
    } else {
        match combined.decided {
            Some((rule, reasons)) => match &rule.effect {
                Effect::Allow(LinkPayload::Link) => (LinkOutcome::Link, Vec::new(), reasons),
                Effect::Allow(LinkPayload::RequireAction(actions)) => {
                    (LinkOutcome::RequireAction, actions.clone(), reasons)
                }
                Effect::Deny => (
                    LinkOutcome::Deny,
                    Vec::new(),
                    vec![combine::error_reason(rule, "a deny rule decided")],
                ),
            },
            None => (
                LinkOutcome::Deny,
                Vec::new(),
                vec![Reason {
                    code: ReasonCode::engine(codes::NO_MATCHING_RULE),
                    message: format!(
                        "no rule decides a link to merchant `{}`",
                        wallet.merchant_id
                    ),
                    rule_id: None,
                    details: BTreeMap::new(),
                }],
            ),
        }
    };
    PaymentLinkDecision {
        outcome,
        required_actions,
        reasons,
        meta,
    }
}

/// The trace of a decision refused for an unknown merchant: no rule ran.
pub fn unknown_merchant_trace<A>(
    rules: &[crate::bundle::Rule<A>],
    explain: bool,
) -> Vec<crate::domain::RuleTrace> {
    if explain {
        combine::not_evaluated(rules, "not evaluated: unknown merchant")
    } else {
        Vec::new()
    }
}

/// The reason for a merchant the bundle does not know.
pub fn unknown_merchant(id: &str) -> Reason {
    Reason {
        code: ReasonCode::engine(payment::UNKNOWN_MERCHANT),
        message: format!(
            "merchant `{id}` is not in the bundle and there is no default merchant profile"
        ),
        rule_id: None,
        details: BTreeMap::from([("merchant_id".to_owned(), id.to_owned())]),
    }
}
