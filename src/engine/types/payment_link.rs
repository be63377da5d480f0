//! The payment-link decision: may this wallet link to this merchant, or what
//! must the user do first?

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::payment::{self, unknown_merchant, unknown_merchant_trace};
use crate::{
    bundle::{
        CompiledBundle, Effect, LinkPayload, PaymentLinkWant, RuleSet, Scope, TestCase,
        TestRequest, WantKind,
        facts::Table,
        types::payment::facts::{self, PaymentCtx, PaymentFacts},
    },
    domain::{
        LinkOutcome, PaymentLink, PaymentLinkDecision, PaymentLinkInput, Reason, ReasonCode,
        RequiredAction, Violations,
    },
    engine::{
        DecideError, DecisionType, codes, combine,
        coverage::{NoObserver, Observe},
        env::Decision,
        meta,
    },
};

/// May this wallet link to this merchant, or what must the user do first?
pub struct PaymentLinkType;

impl DecisionType for PaymentLinkType {
    type Ctx = PaymentFacts;
    type Payload = LinkPayload;
    type Request = PaymentLink;
    type Decision = PaymentLinkDecision;

    fn rules(bundle: &CompiledBundle) -> &RuleSet<LinkPayload> {
        &bundle.payment_link
    }

    fn table() -> Table<PaymentFacts> {
        facts::LINK
    }

    fn in_scope(ctx: &PaymentCtx<'_>, scope: &Scope) -> bool {
        payment::in_scope(scope, &ctx.wallet.merchant_id)
    }

    type Input = PaymentLinkInput;
    type Want = PaymentLinkWant;

    fn test_case(test: &TestCase) -> Option<(&PaymentLinkInput, &PaymentLinkWant)> {
        match (&test.request, &test.want.kind) {
            (TestRequest::PaymentLink(input), WantKind::PaymentLink(want)) => Some((input, want)),
            _ => None,
        }
    }

    fn parse(input: PaymentLinkInput, now: Timestamp) -> Result<PaymentLink, Violations> {
        PaymentLink::parse(input, now)
    }

    fn summary(d: &PaymentLinkDecision) -> String {
        format!(
            "{} {:?}",
            d.outcome.as_str(),
            action_names(&d.required_actions)
        )
    }

    fn compare(d: &PaymentLinkDecision, want: &PaymentLinkWant) -> (String, Option<String>) {
        let names = action_names;
        let summary = Self::summary(d);
        let mismatch = if d.outcome != want.outcome {
            Some(format!("want outcome {}", want.outcome.as_str()))
        } else {
            match &want.required_actions {
                Some(w) if *w != d.required_actions => {
                    Some(format!("want required_actions {:?}", names(w)))
                }
                _ => None,
            }
        };
        (summary, mismatch)
    }

    fn explain(req: &mut PaymentLink) {
        req.wallet.explain = true;
    }

    fn decide_observed<O: Observe>(
        bundle: &CompiledBundle,
        req: &PaymentLink,
        obs: &mut O,
    ) -> Result<PaymentLinkDecision, DecideError> {
        Ok(decide_payment_link_observed(bundle, req, obs))
    }
}

/// Decides whether `req`'s wallet may link to its merchant under `bundle`.
pub fn decide_payment_link(bundle: &CompiledBundle, req: &PaymentLink) -> PaymentLinkDecision {
    decide_payment_link_observed(bundle, req, &mut NoObserver)
}

/// [`decide_payment_link`], with `obs` shown every condition evaluated.
pub fn decide_payment_link_observed<O: Observe>(
    bundle: &CompiledBundle,
    req: &PaymentLink,
    obs: &mut O,
) -> PaymentLinkDecision {
    let wallet = &req.wallet;
    let locale = bundle.locales.pick(&wallet.languages);
    let Some((merchant, default_profile)) = bundle.merchants.get(&wallet.merchant_id) else {
        return PaymentLinkDecision {
            outcome: LinkOutcome::Deny,
            required_actions: Vec::new(),
            reasons: vec![unknown_merchant(&wallet.merchant_id)],
            meta: meta::meta(
                bundle,
                wallet.as_of,
                unknown_merchant_trace(&bundle.payment_link.rules, wallet.explain),
                locale,
            ),
        };
    };
    let mut ctx = PaymentCtx::new(wallet, merchant, default_profile);
    ctx.health = Some((&req.health, req.health_reported));
    let facts = Decision::new(facts::LINK, &ctx, &bundle.env, locale);
    let combined = combine::combine::<PaymentLinkType, O>(
        &bundle.payment_link,
        &wallet.merchant_id,
        &facts,
        wallet.explain,
        obs,
    );
    let meta = meta::meta(bundle, wallet.as_of, combined.trace, locale);
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

fn action_names(actions: &[RequiredAction]) -> Vec<&'static str> {
    actions.iter().map(|a| a.as_str()).collect()
}
