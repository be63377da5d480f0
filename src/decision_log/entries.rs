//! What the decision log writes of each decision type: one [`Logged`]
//! implementation per type, for its request and decision.

use serde_json::{Value, json};

use super::{event::Logged, mask::Masker};
use crate::domain::{
    ChargeFunding, ChargeFundingDecision, DecisionKind, DecisionMeta, PaymentLink,
    PaymentLinkDecision, PlanChange, PlanChangeDecision, Reason, Wallet,
};

impl Logged for (PlanChange, PlanChangeDecision) {
    fn kind(&self) -> DecisionKind {
        DecisionKind::PlanChange
    }

    fn meta(&self) -> &DecisionMeta {
        &self.1.meta
    }

    fn outcome(&self) -> &'static str {
        self.1.verdict.as_str()
    }

    fn reasons(&self) -> &[Reason] {
        &self.1.reasons
    }

    fn input(&self, masker: &Masker) -> Value {
        let req = &self.0;
        let billing = &req.billing;
        json!({
            "tenant_id": masker.id(&req.tenant_id),
            "from_plan": req.from_plan,
            "to_plan": req.to_plan,
            "requester": { "role": req.requester.role.as_str(), "id": masker.id(&req.requester.id) },
            "usage": req.usage,
            "period_usage": req.period_usage,
            "billing": {
                "current_period_start": billing.current_period_start.map(|t| t.to_string()),
                "current_period_end": billing.current_period_end.map(|t| t.to_string()),
                "commitment_end": billing.commitment_end.map(|t| t.to_string()),
                "anchor_day": billing.anchor_day.map(|a| a.get()),
                "time_zone": billing.time_zone_name,
            },
            "attributes": req.attributes,
            "as_of": req.as_of.to_string(),
            "explain": req.explain,
        })
    }

    fn detail(&self, _masker: &Masker) -> Value {
        let d = &self.1;
        json!({
            "timing": d.timing.map(|t| t.as_str()),
            "effective_at": d.effective_at.map(|t| t.to_string()),
        })
    }
}

impl Logged for (PaymentLink, PaymentLinkDecision) {
    fn kind(&self) -> DecisionKind {
        DecisionKind::PaymentLink
    }

    fn meta(&self) -> &DecisionMeta {
        &self.1.meta
    }

    fn outcome(&self) -> &'static str {
        self.1.outcome.as_str()
    }

    fn reasons(&self) -> &[Reason] {
        &self.1.reasons
    }

    fn input(&self, masker: &Masker) -> Value {
        let req = &self.0;
        json!({
            "wallet": wallet(&req.wallet, masker),
            "health": { "score": req.health.score, "signals": req.health.signals },
        })
    }

    fn detail(&self, _masker: &Masker) -> Value {
        let actions: Vec<&str> = self.1.required_actions.iter().map(|a| a.as_str()).collect();
        json!({ "required_actions": actions })
    }
}

impl Logged for (ChargeFunding, ChargeFundingDecision) {
    fn kind(&self) -> DecisionKind {
        DecisionKind::ChargeFunding
    }

    fn meta(&self) -> &DecisionMeta {
        &self.1.meta
    }

    fn outcome(&self) -> &'static str {
        self.1.outcome.as_str()
    }

    fn reasons(&self) -> &[Reason] {
        &self.1.reasons
    }

    fn input(&self, masker: &Masker) -> Value {
        let req = &self.0;
        json!({
            "wallet": wallet(&req.wallet, masker),
            "amount": { "currency": req.amount.currency_code(), "minor": req.amount.minor() },
            "balance_minor": req.balance_minor,
        })
    }

    fn detail(&self, masker: &Masker) -> Value {
        let d = &self.1;
        let steps: Vec<Value> = d
            .steps
            .iter()
            .map(|s| {
                json!({
                    "source": s.source.as_str(),
                    "method_id": masker.id(&s.method_id),
                    "amount_minor": s.amount_minor,
                })
            })
            .collect();
        json!({ "steps": steps, "currency": d.currency.as_str() })
    }
}

fn wallet(w: &Wallet, masker: &Masker) -> Value {
    let methods: Vec<Value> = w
        .methods
        .iter()
        .map(|m| {
            json!({
                "id": masker.id(&m.id),
                "type": m.kind.as_str(),
                "status": m.status.as_str(),
                "fallback_rank": m.fallback_rank,
            })
        })
        .collect();
    let ac = &w.auto_charge;
    json!({
        "user_id": masker.id(&w.user_id),
        "merchant_id": w.merchant_id,
        "methods": methods,
        "auto_charge": {
            "enabled": ac.enabled,
            "source_method_id": masker.id(&ac.source_method_id),
            "threshold_minor": ac.threshold_minor,
            "amount_minor": ac.amount_minor,
        },
        "attributes": w.attributes,
        "as_of": w.as_of.to_string(),
        "explain": w.explain,
    })
}
