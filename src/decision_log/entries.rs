//! What the decision log writes of each decision type: the request the
//! rules saw ([`LoggedRequest`]) and the decision's own fields
//! ([`LoggedDecision`]), one implementation each per type. Kind, outcome,
//! reasons and provenance come from the decision's [`Answer`], once.

use std::fmt;

use serde_json::{Value, json};

use super::{event::Logged, mask::Masker};
use crate::domain::{
    Answer, ChargeFunding, ChargeFundingDecision, DecisionKind, DecisionMeta, PaymentLink,
    PaymentLinkDecision, PlanChange, PlanChangeDecision, Reason, Wallet,
};

/// What the log keeps of a request.
pub trait LoggedRequest {
    /// The request the rules saw, ids masked.
    fn input(&self, masker: &Masker) -> Value;
}

/// What the log keeps of a decision beyond its [`Answer`].
pub trait LoggedDecision: Answer {
    /// The decision's own fields (timing, actions, steps), ids masked.
    fn detail(&self, masker: &Masker) -> Value;
}

impl<R, D> Logged for (R, D)
where
    R: LoggedRequest + fmt::Debug + Send,
    D: LoggedDecision + fmt::Debug + Send,
{
    fn kind(&self) -> DecisionKind {
        D::KIND
    }

    fn meta(&self) -> &DecisionMeta {
        self.1.meta()
    }

    fn outcome(&self) -> &'static str {
        self.1.outcome()
    }

    fn reasons(&self) -> &[Reason] {
        self.1.reasons()
    }

    fn input(&self, masker: &Masker) -> Value {
        self.0.input(masker)
    }

    fn detail(&self, masker: &Masker) -> Value {
        self.1.detail(masker)
    }
}

impl LoggedRequest for PlanChange {
    fn input(&self, masker: &Masker) -> Value {
        let billing = &self.billing;
        json!({
            "tenant_id": masker.id(&self.tenant_id),
            "from_plan": self.from_plan,
            "to_plan": self.to_plan,
            "requester": { "role": self.requester.role.as_str(), "id": masker.id(&self.requester.id) },
            "usage": self.usage,
            "period_usage": self.period_usage,
            "billing": {
                "current_period_start": billing.current_period_start.map(|t| t.to_string()),
                "current_period_end": billing.current_period_end.map(|t| t.to_string()),
                "commitment_end": billing.commitment_end.map(|t| t.to_string()),
                "anchor_day": billing.anchor_day.map(|a| a.get()),
                "time_zone": billing.time_zone_name,
            },
            "attributes": self.attributes,
            "as_of": self.as_of.to_string(),
            "explain": self.explain,
        })
    }
}

impl LoggedDecision for PlanChangeDecision {
    fn detail(&self, _masker: &Masker) -> Value {
        json!({
            "timing": self.timing.map(|t| t.as_str()),
            "effective_at": self.effective_at.map(|t| t.to_string()),
            "unknown_metrics": self.unknown_metrics,
        })
    }
}

impl LoggedRequest for PaymentLink {
    fn input(&self, masker: &Masker) -> Value {
        json!({
            "wallet": wallet(&self.wallet, masker),
            "health": { "score": self.health.score, "signals": self.health.signals },
        })
    }
}

impl LoggedDecision for PaymentLinkDecision {
    fn detail(&self, _masker: &Masker) -> Value {
        let actions: Vec<&str> = self.required_actions.iter().map(|a| a.as_str()).collect();
        json!({ "required_actions": actions })
    }
}

impl LoggedRequest for ChargeFunding {
    fn input(&self, masker: &Masker) -> Value {
        json!({
            "wallet": wallet(&self.wallet, masker),
            "amount": { "currency": self.amount.currency_code(), "minor": self.amount.minor() },
            "balance_minor": self.balance_minor,
        })
    }
}

impl LoggedDecision for ChargeFundingDecision {
    fn detail(&self, masker: &Masker) -> Value {
        let steps: Vec<Value> = self
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
        json!({ "steps": steps, "currency": self.currency.as_str() })
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
