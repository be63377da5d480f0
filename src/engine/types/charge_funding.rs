//! The charge-funding decision: how a charge is paid when the balance is
//! short, without asking the user. Rules pick a strategy; the money
//! arithmetic is done here, in integer minor units, and checked: the
//! payment steps (BALANCE, PAYMENT_METHOD) sum exactly to the charge, no
//! step is zero or negative, and an AUTO_CHARGE top-up precedes them.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::payment::{self, unknown_merchant, unknown_merchant_trace};
use crate::{
    bundle::{
        ChargeFundingWant, CompiledBundle, Effect, FundingStrategy, Merchant, RuleSet, Scope,
        TestCase, TestRequest, TopUp, WantKind,
        facts::Table,
        types::payment::{
            facts::{self, Charge, PaymentCtx, PaymentFacts},
            wallet::WalletView,
        },
    },
    domain::{
        ChargeFunding, ChargeFundingDecision, ChargeFundingInput, FundingOutcome, FundingSource,
        FundingStep, Reason, ReasonCode, Violations,
    },
    engine::{DecideError, DecisionType, codes, combine, env::Decision, meta, verify::steps_text},
};

/// How is this charge funded when the balance is short?
pub struct ChargeFundingType;

impl DecisionType for ChargeFundingType {
    type Ctx = PaymentFacts;
    type Payload = FundingStrategy;
    type Request = ChargeFunding;
    type Decision = ChargeFundingDecision;

    fn rules(bundle: &CompiledBundle) -> &RuleSet<FundingStrategy> {
        &bundle.charge_funding
    }

    fn table() -> Table<PaymentFacts> {
        facts::FUNDING
    }

    fn in_scope(ctx: &PaymentCtx<'_>, scope: &Scope) -> bool {
        payment::in_scope(scope, &ctx.wallet.merchant_id)
    }

    type Input = ChargeFundingInput;
    type Want = ChargeFundingWant;

    fn test_case(test: &TestCase) -> Option<(&ChargeFundingInput, &ChargeFundingWant)> {
        match (&test.request, &test.want.kind) {
            (TestRequest::ChargeFunding(input), WantKind::ChargeFunding(want)) => {
                Some((input, want))
            }
            _ => None,
        }
    }

    fn parse(input: ChargeFundingInput, now: Timestamp) -> Result<ChargeFunding, Violations> {
        ChargeFunding::parse(input, now)
    }

    fn compare(d: &ChargeFundingDecision, want: &ChargeFundingWant) -> (String, Option<String>) {
        let summary = format!("{} [{}]", d.outcome.as_str(), steps_text(&d.steps));
        let mismatch = if d.outcome != want.outcome {
            Some(format!("want outcome {}", want.outcome.as_str()))
        } else {
            match &want.steps {
                Some(w) if *w != d.steps => Some(format!("want steps [{}]", steps_text(w))),
                _ => None,
            }
        };
        (summary, mismatch)
    }

    fn explain(req: &mut ChargeFunding) {
        req.wallet.explain = true;
    }

    fn decide(
        bundle: &CompiledBundle,
        req: &ChargeFunding,
    ) -> Result<ChargeFundingDecision, DecideError> {
        Ok(decide_charge_funding(bundle, req))
    }
}

/// Decides how `req`'s charge is funded under `bundle`.
pub fn decide_charge_funding(
    bundle: &CompiledBundle,
    req: &ChargeFunding,
) -> ChargeFundingDecision {
    let wallet = &req.wallet;
    let decline = |reasons, meta| ChargeFundingDecision {
        outcome: FundingOutcome::Decline,
        steps: Vec::new(),
        currency: req.amount.currency(),
        reasons,
        meta,
    };
    let Some((merchant, default_profile)) = bundle.merchants.get(&wallet.merchant_id) else {
        let trace = unknown_merchant_trace(&bundle.charge_funding.rules, wallet.explain);
        let meta = meta::meta(bundle, wallet.as_of, trace);
        return decline(vec![unknown_merchant(&wallet.merchant_id)], meta);
    };
    let mut ctx = PaymentCtx::new(wallet, merchant, default_profile);
    let charge = Charge::new(req, ctx.view.balance_usable);
    let shortfall = charge.shortfall;
    ctx.charge = Some(charge);
    let facts = Decision::new(facts::FUNDING, &ctx, &bundle.env);
    let combined = combine::combine::<ChargeFundingType>(
        &bundle.charge_funding,
        &wallet.merchant_id,
        &facts,
        wallet.explain,
    );
    let meta = meta::meta(bundle, wallet.as_of, combined.trace);
    // Which fallbacks could not serve is worth saying only when the balance
    // is short in the merchant's own currency: across currencies there is no
    // shortfall to cover.
    let same_currency = req.amount.currency() == merchant.currency;
    let mut skipped = if shortfall > 0 && same_currency {
        payment::skipped_reasons(&ctx.view)
    } else {
        Vec::new()
    };
    if !combined.denies.is_empty() {
        let mut reasons = combined.denies;
        reasons.append(&mut skipped);
        return decline(reasons, meta);
    }
    let Some((rule, mut reasons)) = combined.decided else {
        let mut reasons = vec![Reason {
            code: ReasonCode::engine(codes::NO_MATCHING_RULE),
            message: format!(
                "no rule funds a charge of {} for merchant `{}`",
                req.amount, wallet.merchant_id
            ),
            rule_id: None,
            details: BTreeMap::new(),
        }];
        reasons.append(&mut skipped);
        return decline(reasons, meta);
    };
    let Effect::Allow(strategy) = &rule.effect else {
        return decline(
            vec![combine::error_reason(rule, "a decline rule decided")],
            meta,
        );
    };
    let Some(charge) = &ctx.charge else {
        return decline(
            vec![combine::error_reason(rule, "the charge is missing")],
            meta,
        );
    };
    match plan(*strategy, charge, merchant, &ctx.view) {
        Ok(steps) => {
            // Which methods could not serve matters when a fallback was
            // looked for: not when a top-up alone paid.
            let fallback_paid = steps
                .iter()
                .any(|s| s.source == FundingSource::PaymentMethod);
            if !matches!(strategy, FundingStrategy::AutoCharge(_)) || fallback_paid {
                reasons.append(&mut skipped);
            }
            ChargeFundingDecision {
                outcome: FundingOutcome::Approve,
                steps,
                currency: req.amount.currency(),
                reasons,
                meta,
            }
        }
        Err(why) => {
            let mut reasons = vec![Reason {
                code: ReasonCode::engine(codes::FUNDING_PLAN_UNAVAILABLE),
                message: format!(
                    "rule `{}` approves the charge but no funding plan exists: {why}",
                    rule.id
                ),
                rule_id: Some(rule.id.clone()),
                details: BTreeMap::new(),
            }];
            reasons.append(&mut skipped);
            decline(reasons, meta)
        }
    }
}

/// The steps of `strategy` for `req`, checked against the funding invariants.
pub fn plan(
    strategy: FundingStrategy,
    charge: &Charge<'_>,
    merchant: &Merchant,
    view: &WalletView<'_>,
) -> Result<Vec<FundingStep>, String> {
    let req = charge.req;
    let amount = req.amount.minor();
    let balance = charge.usable_balance;
    let shortfall = charge.shortfall;
    let balance_id = view.balance_method.map_or(String::new(), |m| m.id.clone());
    let frozen = || {
        let status = view.balance_method.map_or("", |m| m.status.as_str());
        format!("the balance `{balance_id}` is {status}: it is neither drawn from nor topped up")
    };
    let step = |source, method_id: &str, amount_minor| FundingStep {
        source,
        method_id: method_id.to_owned(),
        amount_minor,
    };
    let steps = match strategy {
        FundingStrategy::Balance => {
            if !view.balance_usable {
                return Err(frozen());
            }
            if shortfall > 0 {
                return Err(format!("the balance lacks {shortfall}"));
            }
            vec![step(FundingSource::Balance, &balance_id, amount)]
        }
        FundingStrategy::AutoCharge(mode) => {
            if !view.balance_usable {
                return Err(frozen());
            }
            if !view.auto_charge_ok {
                return Err("auto-charge does not meet the merchant's criterion".to_owned());
            }
            if shortfall == 0 {
                return checked(
                    vec![step(FundingSource::Balance, &balance_id, amount)],
                    amount,
                );
            }
            let ac = &req.wallet.auto_charge;
            let top_up = top_up_amount(mode, ac.amount_minor, shortfall);
            if top_up <= 0 {
                return Err(format!(
                    "the cap on top-ups is below the user's preset of {}",
                    ac.amount_minor
                ));
            }
            let top = step(FundingSource::AutoCharge, &ac.source_method_id, top_up);
            let remaining = shortfall.saturating_sub(top_up).max(0);
            if remaining == 0 {
                vec![top, step(FundingSource::Balance, &balance_id, amount)]
            } else {
                let fallback = view.fallbacks.first().filter(|_| merchant.allow_split);
                let Some(method) = fallback else {
                    return Err(format!(
                        "the user's preset top-up of {top_up} leaves {remaining} unpaid, \
                         and no preset fallback the merchant accepts may pay it in a split"
                    ));
                };
                let from_balance = amount.saturating_sub(remaining);
                vec![
                    top,
                    step(FundingSource::Balance, &balance_id, from_balance),
                    step(FundingSource::PaymentMethod, &method.id, remaining),
                ]
            }
        }
        FundingStrategy::Fallback => {
            let Some(method) = view.fallbacks.first() else {
                return Err("no preset, active fallback method the merchant accepts".to_owned());
            };
            if merchant.allow_split {
                let from_balance = balance.min(amount);
                vec![
                    step(FundingSource::Balance, &balance_id, from_balance),
                    step(
                        FundingSource::PaymentMethod,
                        &method.id,
                        amount - from_balance,
                    ),
                ]
                .into_iter()
                .filter(|s| s.amount_minor > 0)
                .collect()
            } else {
                vec![step(FundingSource::PaymentMethod, &method.id, amount)]
            }
        }
    };
    checked(steps, amount)
}

/// `steps`, once they meet the funding invariants.
fn checked(steps: Vec<FundingStep>, amount: i64) -> Result<Vec<FundingStep>, String> {
    check(&steps, amount)?;
    Ok(steps)
}

/// What one auto-charge tops up for `shortfall` given the user's `preset`:
/// never more than the preset allows.
pub fn top_up_amount(mode: TopUp, preset: i64, shortfall: i64) -> i64 {
    match mode {
        TopUp::Preset => preset,
        TopUp::PresetMultiples { max_minor } => {
            if preset <= 0 {
                return 0;
            }
            // Whole presets: as many as cover the shortfall, within the cap.
            let needed = shortfall / preset + i64::from(shortfall % preset != 0);
            let allowed = max_minor / preset;
            needed.min(allowed).saturating_mul(preset)
        }
    }
}

/// The funding invariants; a violation is a bug, reported and failed closed.
fn check(steps: &[FundingStep], amount: i64) -> Result<(), String> {
    if let Some(s) = steps.iter().find(|s| s.amount_minor <= 0) {
        return Err(format!(
            "a {} step of {} is not positive",
            s.source.as_str(),
            s.amount_minor
        ));
    }
    let paid = steps
        .iter()
        .filter(|s| s.source.is_payment())
        .try_fold(0i64, |sum, s| sum.checked_add(s.amount_minor))
        .ok_or("the payment steps overflow")?;
    if paid != amount {
        return Err(format!("the payment steps sum to {paid}, not {amount}"));
    }
    let first_payment = steps.iter().position(|s| s.source.is_payment());
    let last_top_up = steps.iter().rposition(|s| !s.source.is_payment());
    if let (Some(p), Some(t)) = (first_payment, last_top_up)
        && t > p
    {
        return Err("an auto-charge top-up comes after a payment".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{TopUp, top_up_amount};

    #[test]
    fn a_top_up_never_exceeds_what_the_preset_allows() {
        // One preset, whatever the shortfall.
        assert_eq!(top_up_amount(TopUp::Preset, 1000, 48_000), 1000);
        assert_eq!(top_up_amount(TopUp::Preset, 5000, 1), 5000);
        // Whole presets that cover the shortfall, within the cap.
        let multiples = |max_minor| TopUp::PresetMultiples { max_minor };
        assert_eq!(top_up_amount(multiples(10_000), 1000, 2500), 3000);
        assert_eq!(top_up_amount(multiples(10_000), 1000, 3000), 3000);
        assert_eq!(top_up_amount(multiples(10_000), 1000, 48_000), 10_000);
        // A cap that is not a whole number of presets rounds down.
        assert_eq!(top_up_amount(multiples(2500), 1000, 48_000), 2000);
        // A cap below one preset tops up nothing (the plan fails closed).
        assert_eq!(top_up_amount(multiples(500), 1000, 48_000), 0);
        // No overflow near the int64 limit.
        assert_eq!(top_up_amount(multiples(i64::MAX), 1, i64::MAX), i64::MAX);
    }
}
