//! The payment part of a bundle: merchant settings as data, the variables
//! payment rules read, link and funding effects, and payment test requests.

use std::sync::Arc;

use jiff::Timestamp;
use serde_saphyr::Spanned;

mod charge;
pub mod facts;
mod merchants;
pub mod wallet;

pub(crate) use merchants::merchants;

use crate::bundle::{
    Effect, Location,
    facts::declared,
    model::{
        ChargeFundingWant, FundingStrategy, LinkPayload, PaymentLinkWant, Rule, TestRequest, TopUp,
        WantKind,
    },
    problems::Problems,
    rules::{self, Common},
    schema::{AutoChargeDoc, ChargeFundingDoc, MethodDoc, PaymentLinkDoc, RuleDoc, WantDoc},
    vars::Vars,
};
use crate::domain::{
    AutoCharge, ChargeFunding, ChargeFundingInput, FundingOutcome, FundingSource, FundingStep,
    HealthIndex, Languages, LinkOutcome, MethodInput, PaymentLink, PaymentLinkInput,
    RequiredAction, RuleId, WalletInput,
};

/// The variables a payment rule may read; `funding` adds the charge.
pub fn vars(funding: bool) -> Vars {
    Vars::of(
        declared(if funding { facts::FUNDING } else { facts::LINK }),
        &[],
    )
}

fn payment_only(p: &mut Problems, file: &str, id: &RuleId, section: &str, d: &RuleDoc) {
    rules::forbid(
        p,
        file,
        id,
        section,
        "from_plans",
        d.from_plans.first().map(Into::into),
    );
    rules::forbid(
        p,
        file,
        id,
        section,
        "to_plans",
        d.to_plans.first().map(Into::into),
    );
    rules::forbid(
        p,
        file,
        id,
        section,
        "requesters",
        d.requesters.first().map(Into::into),
    );
    rules::forbid(
        p,
        file,
        id,
        section,
        "for_each",
        d.for_each.as_ref().map(Into::into),
    );
    rules::forbid(
        p,
        file,
        id,
        section,
        "timing",
        d.timing.as_ref().map(Into::into),
    );
    rules::forbid(
        p,
        file,
        id,
        section,
        "schedule",
        d.schedule.as_ref().map(Into::into),
    );
}

pub(crate) fn link_rule(
    p: &mut Problems,
    env: &rules::Compiler<'_>,
    file: &Arc<str>,
    doc: &Spanned<RuleDoc>,
    common: Common,
) -> Option<Rule<LinkPayload>> {
    let d = &doc.value;
    let id = &common.id;
    payment_only(p, file, id, "payment_link_rules", d);
    rules::forbid_top_up(p, file, id, "payment_link_rules", d);
    rules::forbid(
        p,
        file,
        id,
        "payment_link_rules",
        "funding",
        d.funding.as_ref().map(Into::into),
    );
    let effect = rules::effect(
        p,
        file,
        id,
        d,
        "deny",
        &["link", "require_action"],
        |p, word| match (word, &d.actions) {
            ("link", None) => Some(LinkPayload::Link),
            ("link", Some(a)) => {
                p.at(
                    file,
                    a.into(),
                    format!("rule `{id}`: actions: only `require_action` has actions"),
                );
                None
            }
            (_, None) => {
                p.at(
                    file,
                    (&d.effect).into(),
                    format!("rule `{id}`: `require_action` needs `actions`"),
                );
                None
            }
            (_, Some(a)) => actions(p, file, id, a).map(LinkPayload::RequireAction),
        },
    )?;
    if matches!(effect, Effect::Deny) {
        rules::forbid(
            p,
            file,
            id,
            "a deny rule",
            "actions",
            d.actions.as_ref().map(Into::into),
        );
    }
    let parts = rules::condition_and_reason(p, env, file, id, d, &env.vars.payment_link)?;
    Some(rules::assemble(file, doc, common, parts, None, effect))
}

fn actions(
    p: &mut Problems,
    file: &str,
    id: &RuleId,
    a: &Spanned<Vec<String>>,
) -> Option<Vec<RequiredAction>> {
    let mut out = Vec::new();
    for name in &a.value {
        match RequiredAction::parse(name) {
            Some(action) if !out.contains(&action) => out.push(action),
            Some(_) => p.at(
                file,
                a.into(),
                format!("rule `{id}`: actions: `{name}` is listed twice"),
            ),
            None => p.at(
                file,
                a.into(),
                format!("rule `{id}`: actions: `{name}` is not a required action"),
            ),
        }
    }
    if out.is_empty() {
        p.at(
            file,
            a.into(),
            format!("rule `{id}`: actions: list at least one action"),
        );
        return None;
    }
    (out.len() == a.value.len()).then_some(out)
}

pub(crate) fn funding_rule(
    p: &mut Problems,
    env: &rules::Compiler<'_>,
    file: &Arc<str>,
    doc: &Spanned<RuleDoc>,
    common: Common,
) -> Option<Rule<FundingStrategy>> {
    let d = &doc.value;
    let id = &common.id;
    payment_only(p, file, id, "charge_funding_rules", d);
    rules::forbid(
        p,
        file,
        id,
        "charge_funding_rules",
        "actions",
        d.actions.as_ref().map(Into::into),
    );
    let effect = rules::effect(p, file, id, d, "decline", &["approve"], |p, _| {
        let Some(f) = &d.funding else {
            p.at(
                file,
                (&d.effect).into(),
                format!("rule `{id}`: `approve` needs `funding`"),
            );
            return None;
        };
        match f.value.as_str() {
            "balance" => Some(FundingStrategy::Balance),
            "auto_charge" => top_up(p, file, id, d).map(FundingStrategy::AutoCharge),
            "fallback" => Some(FundingStrategy::Fallback),
            other => {
                p.at(
                    file,
                    f.into(),
                    format!("rule `{id}`: funding: `{other}` is not one of `balance`, `auto_charge`, `fallback`"),
                );
                None
            }
        }
    })?;
    if !matches!(effect, Effect::Allow(FundingStrategy::AutoCharge(_))) {
        rules::forbid_top_up(p, file, id, "a rule that does not fund by auto-charge", d);
    }
    if matches!(effect, Effect::Deny) {
        rules::forbid(
            p,
            file,
            id,
            "a decline rule",
            "funding",
            d.funding.as_ref().map(Into::into),
        );
    }
    let parts = rules::condition_and_reason(p, env, file, id, d, &env.vars.charge_funding)?;
    Some(rules::assemble(file, doc, common, parts, None, effect))
}

/// How an `auto_charge` rule applies the user's preset.
fn top_up(p: &mut Problems, file: &str, id: &RuleId, d: &RuleDoc) -> Option<TopUp> {
    let max = d.max_top_up_minor.as_ref();
    match (d.top_up.as_ref().map(|t| t.value.as_str()), max) {
        (None | Some("preset"), None) => Some(TopUp::Preset),
        (Some("preset_multiples"), Some(m)) if m.value > 0 => {
            Some(TopUp::PresetMultiples { max_minor: m.value })
        }
        (Some("preset_multiples"), Some(m)) => {
            p.at(
                file,
                m.into(),
                format!("rule `{id}`: max_top_up_minor: `{}` must be > 0", m.value),
            );
            None
        }
        (Some("preset_multiples"), None) => {
            let at = d.top_up.as_ref().map(Into::into).unwrap_or_default();
            p.at(
                file,
                at,
                format!("rule `{id}`: top_up `preset_multiples` needs `max_top_up_minor`"),
            );
            None
        }
        (None | Some("preset"), Some(m)) => {
            p.at(
                file,
                m.into(),
                format!("rule `{id}`: max_top_up_minor: only `top_up: preset_multiples` has a cap"),
            );
            None
        }
        (Some(other), _) => {
            let at = d.top_up.as_ref().map(Into::into).unwrap_or_default();
            p.at(
                file,
                at,
                format!(
                    "rule `{id}`: top_up: `{other}` is not one of `preset`, `preset_multiples`"
                ),
            );
            None
        }
    }
}

fn methods(docs: &[MethodDoc]) -> Vec<MethodInput> {
    docs.iter()
        .map(|m| MethodInput {
            id: m.id.clone(),
            kind: m.kind.clone().into(),
            status: m.status.clone().into(),
            fallback_rank: m.fallback_rank,
        })
        .collect()
}

fn auto_charge(doc: Option<&AutoChargeDoc>) -> Option<AutoCharge> {
    doc.map(|a| AutoCharge {
        enabled: a.enabled,
        source_method_id: a.source_method_id.clone(),
        threshold_minor: a.threshold_minor,
        amount_minor: a.amount_minor,
    })
}

/// Turns a test's link request into the domain's unvalidated input.
pub fn link_input(doc: &PaymentLinkDoc) -> PaymentLinkInput {
    PaymentLinkInput {
        wallet: WalletInput {
            user_id: doc.user_id.clone(),
            merchant_id: doc.merchant_id.clone(),
            methods: methods(&doc.methods),
            auto_charge: auto_charge(doc.auto_charge.as_ref()),
            attributes: doc.attributes.clone(),
            as_of: doc.as_of,
            explain: doc.explain,
            locale: doc.locale.clone(),
            accept_language: Languages::default(),
        },
        health: doc.health.as_ref().map(|h| HealthIndex {
            score: h.score,
            signals: h.signals.clone(),
        }),
    }
}

/// Turns a test's funding request into the domain's unvalidated input.
pub fn funding_input(doc: &ChargeFundingDoc) -> ChargeFundingInput {
    ChargeFundingInput {
        wallet: WalletInput {
            user_id: doc.user_id.clone(),
            merchant_id: doc.merchant_id.clone(),
            methods: methods(&doc.methods),
            auto_charge: auto_charge(doc.auto_charge.as_ref()),
            attributes: doc.attributes.clone(),
            as_of: doc.as_of,
            explain: doc.explain,
            locale: doc.locale.clone(),
            accept_language: Languages::default(),
        },
        currency: doc.amount.as_ref().map(|a| a.currency.clone()),
        amount_minor: doc.amount.as_ref().map_or(0, |a| a.amount_minor),
        balance_minor: doc.balance_minor,
    }
}

/// The expected outcome of a payment test, after checking that `want` names
/// no field of another decision type (`other` is the payment field that
/// belongs to the other payment decision, and whether it was given).
fn payment_outcome<O>(
    p: &mut Problems,
    (file, at, name): (&str, Location, &str),
    want: &WantDoc,
    other: (&str, bool),
    parse: fn(&str) -> Option<O>,
    choices: &str,
) -> Option<O> {
    if want.verdict.is_some() || want.timing.is_some() || want.effective_at.is_some() {
        p.at(
            file,
            at,
            format!("test `{name}`: want: a payment decision has an `outcome`, not `verdict`, `timing` or `effective_at`"),
        );
    }
    if want.invalid.is_some() {
        p.at(
            file,
            at,
            format!("test `{name}`: want: `invalid` is for plan-change tests"),
        );
    }
    if other.1 {
        p.at(
            file,
            at,
            format!("test `{name}`: want: this decision has no `{}`", other.0),
        );
    }
    let outcome = want.outcome.as_deref().and_then(parse);
    if outcome.is_none() {
        p.at(
            file,
            at,
            format!("test `{name}`: want: outcome: give {choices}"),
        );
    }
    outcome
}

pub(crate) fn link_test(
    p: &mut Problems,
    file: &Arc<str>,
    at: Location,
    name: &str,
    doc: &PaymentLinkDoc,
    want: &WantDoc,
) -> Option<(TestRequest, WantKind)> {
    let before = p.errors.len();
    let request = link_input(doc);
    if let Err(v) = PaymentLink::parse(request.clone(), Timestamp::UNIX_EPOCH) {
        p.at(file, at, format!("test `{name}`: payment_link: {v}"));
    }
    let outcome = payment_outcome(
        p,
        (file, at, name),
        want,
        ("steps", want.steps.is_some()),
        LinkOutcome::parse,
        "`LINK`, `REQUIRE_ACTION` or `DENY`",
    );
    let mut required_actions = None;
    if let Some(names) = &want.required_actions {
        let parsed: Vec<_> = names
            .iter()
            .filter_map(|n| RequiredAction::parse(n))
            .collect();
        if parsed.len() != names.len() {
            p.at(
                file,
                at,
                format!("test `{name}`: want: required_actions: unknown action in {names:?}"),
            );
        }
        required_actions = Some(parsed);
    }
    if p.errors.len() > before {
        return None;
    }
    Some((
        TestRequest::PaymentLink(request),
        WantKind::PaymentLink(PaymentLinkWant {
            outcome: outcome?,
            required_actions,
        }),
    ))
}

pub(crate) fn funding_test(
    p: &mut Problems,
    file: &Arc<str>,
    at: Location,
    name: &str,
    doc: &ChargeFundingDoc,
    want: &WantDoc,
) -> Option<(TestRequest, WantKind)> {
    let before = p.errors.len();
    let request = funding_input(doc);
    if let Err(v) = ChargeFunding::parse(request.clone(), Timestamp::UNIX_EPOCH) {
        p.at(file, at, format!("test `{name}`: charge_funding: {v}"));
    }
    let outcome = payment_outcome(
        p,
        (file, at, name),
        want,
        ("required_actions", want.required_actions.is_some()),
        FundingOutcome::parse,
        "`APPROVE` or `DECLINE`",
    );
    let mut steps = None;
    if let Some(docs) = &want.steps {
        let mut parsed = Vec::new();
        for s in docs {
            match FundingSource::parse(&s.source) {
                Some(source) => parsed.push(FundingStep {
                    source,
                    method_id: s.method_id.clone(),
                    amount_minor: s.amount_minor,
                }),
                None => p.at(
                    file,
                    at,
                    format!(
                        "test `{name}`: want: steps: `{}` is not a funding source",
                        s.source
                    ),
                ),
            }
        }
        steps = Some(parsed);
    }
    if p.errors.len() > before {
        return None;
    }
    Some((
        TestRequest::ChargeFunding(request),
        WantKind::ChargeFunding(ChargeFundingWant {
            outcome: outcome?,
            steps,
        }),
    ))
}
