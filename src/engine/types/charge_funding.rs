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
    engine::{
        DecideError, DecisionType, codes, combine,
        coverage::{NoObserver, Observe},
        env::Decision,
        meta,
        verify::steps_text,
    },
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

    fn summary(d: &ChargeFundingDecision) -> String {
        format!("{} [{}]", d.outcome.as_str(), steps_text(&d.steps))
    }

    fn compare(d: &ChargeFundingDecision, want: &ChargeFundingWant) -> (String, Option<String>) {
        let summary = Self::summary(d);
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

    fn decide_observed<O: Observe>(
        bundle: &CompiledBundle,
        req: &ChargeFunding,
        obs: &mut O,
    ) -> Result<ChargeFundingDecision, DecideError> {
        Ok(decide_charge_funding_observed(bundle, req, obs))
    }
}

/// Decides how `req`'s charge is funded under `bundle`.
pub fn decide_charge_funding(
    bundle: &CompiledBundle,
    req: &ChargeFunding,
) -> ChargeFundingDecision {
    decide_charge_funding_observed(bundle, req, &mut NoObserver)
}

/// [`decide_charge_funding`], with `obs` shown every condition evaluated.
pub fn decide_charge_funding_observed<O: Observe>(
    bundle: &CompiledBundle,
    req: &ChargeFunding,
    obs: &mut O,
) -> ChargeFundingDecision {
    let wallet = &req.wallet;
    let locale = bundle.locales.pick(&wallet.languages);
    let decline = |reasons, meta| ChargeFundingDecision {
        outcome: FundingOutcome::Decline,
        steps: Vec::new(),
        currency: req.amount.currency(),
        reasons,
        meta,
    };
    let Some((merchant, default_profile)) = bundle.merchants.get(&wallet.merchant_id) else {
        let trace = unknown_merchant_trace(&bundle.charge_funding.rules, wallet.explain);
        let meta = meta::meta(bundle, wallet.as_of, trace, locale);
        return decline(vec![unknown_merchant(&wallet.merchant_id)], meta);
    };
    let mut ctx = PaymentCtx::new(wallet, merchant, default_profile);
    let charge = Charge::new(req, ctx.view.balance_usable);
    let shortfall = charge.shortfall;
    ctx.charge = Some(charge);
    let facts = Decision::new(facts::FUNDING, &ctx, &bundle.env, locale);
    let combined = combine::combine::<ChargeFundingType, O>(
        &bundle.charge_funding,
        &wallet.merchant_id,
        &facts,
        wallet.explain,
        obs,
    );
    let meta = meta::meta(bundle, wallet.as_of, combined.trace, locale);
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
            if !view.auto_charge.enabled {
                return Err("auto-charge is off".to_owned());
            }
            // A source that is not ACTIVE or not of a type the merchant
            // accepts is never topped up from, whatever the rule says.
            if let Some(why) = view.auto_charge.source_problem(merchant) {
                return Err(why);
            }
            if !view.auto_charge.meets_criterion() {
                return Err(
                    "auto-charge is below the merchant's minimum amount or threshold".to_owned(),
                );
            }
            if shortfall == 0 {
                return checked(
                    vec![step(FundingSource::Balance, &balance_id, amount)],
                    amount,
                );
            }
            let ac = &req.wallet.auto_charge;
            // What the balance can still hold: a top-up never takes it
            // past int64 (one preset always fits: the request's validation).
            let headroom = i64::MAX.checked_sub(balance).unwrap_or(0);
            let top_up = top_up_amount(mode, ac.amount_minor, shortfall, headroom);
            if top_up <= 0 {
                return Err(format!(
                    "the cap on top-ups is below the user's preset of {}",
                    ac.amount_minor
                ));
            }
            let top = step(FundingSource::AutoCharge, &ac.source_method_id, top_up);
            let remaining = shortfall.checked_sub(top_up).ok_or(OVERFLOW)?.max(0);
            if remaining == 0 {
                vec![top, step(FundingSource::Balance, &balance_id, amount)]
            } else {
                let fallback = view.fallbacks().first().filter(|_| merchant.allow_split);
                let Some(method) = fallback else {
                    return Err(format!(
                        "the user's preset top-up of {top_up} leaves {remaining} unpaid, \
                         and no preset fallback the merchant accepts may pay it in a split"
                    ));
                };
                let from_balance = amount.checked_sub(remaining).ok_or(OVERFLOW)?;
                vec![
                    top,
                    step(FundingSource::Balance, &balance_id, from_balance),
                    step(FundingSource::PaymentMethod, &method.id, remaining),
                ]
            }
        }
        FundingStrategy::Fallback => {
            let Some(method) = view.fallbacks().first() else {
                return Err("no preset, active fallback method the merchant accepts".to_owned());
            };
            if merchant.allow_split {
                let from_balance = balance.min(amount);
                let rest = amount.checked_sub(from_balance).ok_or(OVERFLOW)?;
                vec![
                    step(FundingSource::Balance, &balance_id, from_balance),
                    step(FundingSource::PaymentMethod, &method.id, rest),
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

/// Why a plan fails when a difference of minor units leaves int64: never
/// reached, since every operand is in range (the charge > 0, the balance,
/// top-up and shortfall >= 0), but checked rather than wrapped.
const OVERFLOW: &str = "a step's amount overflows int64";

/// `steps`, once they meet the funding invariants.
fn checked(steps: Vec<FundingStep>, amount: i64) -> Result<Vec<FundingStep>, String> {
    check(&steps, amount)?;
    Ok(steps)
}

/// What one auto-charge tops up for `shortfall` given the user's `preset`:
/// never more than the preset allows, and never more than `headroom`, what
/// the balance can hold before it leaves int64 (whole presets, so several
/// presets stop at the last one that fits; a single preset always fits, the
/// request's validation sees to that).
pub fn top_up_amount(mode: TopUp, preset: i64, shortfall: i64, headroom: i64) -> i64 {
    match mode {
        TopUp::Preset => preset,
        TopUp::PresetMultiples { max_minor } => {
            if preset <= 0 {
                return 0;
            }
            // Whole presets: as many as cover the shortfall, within the cap
            // and the headroom. `needed * preset` is then at most the
            // smaller of the two, so the product cannot overflow.
            let needed = shortfall / preset + i64::from(shortfall % preset != 0);
            let allowed = max_minor.min(headroom.max(0)) / preset;
            needed.min(allowed).checked_mul(preset).unwrap_or(0)
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
    use jiff::Timestamp;

    use super::{TopUp, decide_charge_funding, top_up_amount};
    use crate::{
        bundle::{BundleFiles, compile},
        domain::{AutoCharge, ChargeFunding, ChargeFundingInput, FundingOutcome, MethodInput},
    };

    /// A rule that always funds by auto-charge: the engine, not the rule,
    /// keeps a top-up from drawing on a source the criterion refuses.
    const ALWAYS_TOP_UP: &str = r#"
merchants:
  - { id: shop, currency: JPY, min_health_score: 0, auto_charge: { source_types: [CREDIT_CARD] } }
charge_funding_rules:
  - id: always-top-up
    effect: approve
    funding: auto_charge
    reason: { code: TOP_UP, message: "top up" }
"#;

    fn top_up_from(kind: &str, status: &str) -> (FundingOutcome, Vec<String>) {
        let mut files = BundleFiles::default();
        files.insert("bundle.yaml", b"name: t\nrevision: \"1\"\n".to_vec());
        files.insert("rules.yaml", ALWAYS_TOP_UP.as_bytes().to_vec());
        let bundle = compile(&files).expect("the bundle compiles");
        let mut input = ChargeFundingInput {
            currency: Some("JPY".to_owned()),
            amount_minor: 3000,
            balance_minor: 500,
            ..Default::default()
        };
        input.wallet.user_id = "u1".to_owned();
        input.wallet.merchant_id = "shop".to_owned();
        input.wallet.methods = vec![MethodInput {
            id: "m1".to_owned(),
            kind: Some(kind.to_owned()).into(),
            status: Some(status.to_owned()).into(),
            fallback_rank: 0,
        }];
        input.wallet.auto_charge = Some(AutoCharge {
            enabled: true,
            source_method_id: "m1".to_owned(),
            threshold_minor: 0,
            amount_minor: 5000,
        });
        let req = ChargeFunding::parse(input, Timestamp::UNIX_EPOCH).expect("a valid request");
        let d = decide_charge_funding(&bundle, &req);
        // The plan's reason first; the skipped fallbacks follow it.
        let first = d.reasons.first().map(|r| r.message.clone());
        (d.outcome, first.into_iter().collect())
    }

    #[test]
    fn a_rule_never_tops_up_from_a_source_the_criterion_refuses() {
        let (outcome, _) = top_up_from("CREDIT_CARD", "ACTIVE");
        assert_eq!(outcome, FundingOutcome::Approve);
        let (outcome, messages) = top_up_from("CREDIT_CARD", "SUSPENDED");
        assert_eq!(outcome, FundingOutcome::Decline);
        assert_eq!(
            messages,
            [
                "rule `always-top-up` approves the charge but no funding plan exists: \
              the auto-charge source `m1` is SUSPENDED"
            ]
        );
        let (outcome, messages) = top_up_from("POSTPAID", "ACTIVE");
        assert_eq!(outcome, FundingOutcome::Decline);
        assert_eq!(
            messages,
            [
                "rule `always-top-up` approves the charge but no funding plan exists: \
              the auto-charge source `m1` is a POSTPAID, not one of the types the merchant \
              accepts as a source (CREDIT_CARD)"
            ]
        );
    }

    #[test]
    fn a_top_up_never_exceeds_what_the_preset_allows() {
        // Headroom enough for every case that is not about headroom.
        const H: i64 = i64::MAX;
        // One preset, whatever the shortfall.
        assert_eq!(top_up_amount(TopUp::Preset, 1000, 48_000, H), 1000);
        assert_eq!(top_up_amount(TopUp::Preset, 5000, 1, H), 5000);
        // Whole presets that cover the shortfall, within the cap.
        let multiples = |max_minor| TopUp::PresetMultiples { max_minor };
        assert_eq!(top_up_amount(multiples(10_000), 1000, 2500, H), 3000);
        assert_eq!(top_up_amount(multiples(10_000), 1000, 3000, H), 3000);
        assert_eq!(top_up_amount(multiples(10_000), 1000, 48_000, H), 10_000);
        // A cap that is not a whole number of presets rounds down.
        assert_eq!(top_up_amount(multiples(2500), 1000, 48_000, H), 2000);
        // A cap below one preset tops up nothing (the plan fails closed).
        assert_eq!(top_up_amount(multiples(500), 1000, 48_000, H), 0);
        // No overflow near the int64 limit.
        let max = i64::MAX;
        assert_eq!(top_up_amount(multiples(max), 1, max, max), max);
        // The balance never leaves int64: whole presets up to the headroom.
        assert_eq!(top_up_amount(multiples(max), 1000, 48_000, 2500), 2000);
        assert_eq!(top_up_amount(multiples(max), 3, max, max), max / 3 * 3);
        assert_eq!(top_up_amount(multiples(max), 1000, 48_000, 999), 0);
    }
}
