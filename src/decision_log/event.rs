//! One decision-log event: what the handler hands over (cheap: the domain
//! request and decision, moved, not copied) and the JSON line the writer
//! makes of it, off the request path.

use std::{collections::BTreeMap, time::Duration};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::mask::{ErasePath, Masker};
use crate::domain::{
    ChargeFunding, ChargeFundingDecision, DecisionMeta, PaymentLink, PaymentLinkDecision,
    PlanChange, PlanChangeDecision, Reason, Wallet,
};

/// A decision as the handler answered it, with the request the rules saw.
#[derive(Debug)]
pub enum Decided {
    /// `DecidePlanChange`.
    PlanChange(Box<(PlanChange, PlanChangeDecision)>),
    /// One item of a `DecidePlanChanges` stream, with its index.
    PlanChangeBatch(u64, Box<(PlanChange, PlanChangeDecision)>),
    /// `DecidePaymentLink`.
    PaymentLink(Box<(PaymentLink, PaymentLinkDecision)>),
    /// `DecideChargeFunding`.
    ChargeFunding(Box<(ChargeFunding, ChargeFundingDecision)>),
}

impl Decided {
    /// The decision's provenance.
    pub fn meta(&self) -> &DecisionMeta {
        match self {
            Self::PlanChange(b) | Self::PlanChangeBatch(_, b) => &b.1.meta,
            Self::PaymentLink(b) => &b.1.meta,
            Self::ChargeFunding(b) => &b.1.meta,
        }
    }
}

/// Facts about the call, not the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    /// The W3C trace id of the caller's `traceparent`, if valid.
    pub trace_id: Option<String>,
    /// The caller's identity (the mTLS subject); `None` without mTLS.
    pub caller: Option<String>,
}

/// Everything one log line is made of.
#[derive(Debug)]
pub struct Record {
    /// The request and its decision.
    pub decided: Decided,
    /// When the request was decided (wall clock).
    pub timestamp: Timestamp,
    /// Time spent in the engine.
    pub eval: Duration,
    /// Trace id and caller.
    pub context: CallContext,
}

#[derive(Serialize)]
struct Event<'a> {
    decision_id: String,
    timestamp: String,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_index: Option<u64>,
    input: Value,
    outcome: &'static str,
    #[serde(flatten)]
    detail: Value,
    reason_codes: Vec<&'a str>,
    matched_rules: Vec<&'a str>,
    bundle: Bundle<'a>,
    eval_us: u64,
    caller: Option<&'a str>,
    trace_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Bundle<'a> {
    name: &'a str,
    revision: &'a str,
    digest: &'a str,
}

/// Writes `record` as one JSON line (with the newline) into `out`.
pub fn write_line(
    out: &mut Vec<u8>,
    record: &Record,
    masker: &Masker,
    erase: &[ErasePath],
) -> serde_json::Result<()> {
    let (decision, batch_index, mut input, outcome, detail, reasons) = match &record.decided {
        Decided::PlanChange(b) => plan_change("plan_change", None, b, masker),
        Decided::PlanChangeBatch(i, b) => plan_change("plan_change_batch", Some(*i), b, masker),
        Decided::PaymentLink(b) => {
            let (req, d) = (&b.0, &b.1);
            let input = json!({
                "wallet": wallet(&req.wallet, masker),
                "health": { "score": req.health.score, "signals": req.health.signals },
            });
            let actions: Vec<&str> = d.required_actions.iter().map(|a| a.as_str()).collect();
            let detail = json!({ "required_actions": actions });
            (
                "payment_link",
                None,
                input,
                d.outcome.as_str(),
                detail,
                &d.reasons,
            )
        }
        Decided::ChargeFunding(b) => {
            let (req, d) = (&b.0, &b.1);
            let input = json!({
                "wallet": wallet(&req.wallet, masker),
                "amount": { "currency": req.amount.currency_code(), "minor": req.amount.minor() },
                "balance_minor": req.balance_minor,
            });
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
            let detail = json!({ "steps": steps, "currency": d.currency.as_str() });
            (
                "charge_funding",
                None,
                input,
                d.outcome.as_str(),
                detail,
                &d.reasons,
            )
        }
    };
    for path in erase {
        path.erase(&mut input);
    }
    let meta = record.decided.meta();
    let event = Event {
        decision_id: meta.decision_id.to_string(),
        timestamp: record.timestamp.to_string(),
        decision,
        batch_index,
        input,
        outcome,
        detail,
        reason_codes: reasons.iter().map(|r| r.code.as_str()).collect(),
        matched_rules: matched_rules(reasons),
        bundle: Bundle {
            name: &meta.bundle_name,
            revision: &meta.bundle_revision,
            digest: &meta.bundle_digest,
        },
        eval_us: u64::try_from(record.eval.as_micros()).unwrap_or(u64::MAX),
        caller: record.context.caller.as_deref(),
        trace_id: record.context.trace_id.as_deref(),
    };
    serde_json::to_writer(&mut *out, &event)?;
    out.push(b'\n');
    Ok(())
}

type Parts<'a> = (
    &'static str,
    Option<u64>,
    Value,
    &'static str,
    Value,
    &'a Vec<Reason>,
);

fn plan_change<'a>(
    kind: &'static str,
    index: Option<u64>,
    b: &'a (PlanChange, PlanChangeDecision),
    masker: &Masker,
) -> Parts<'a> {
    let (req, d) = (&b.0, &b.1);
    let billing = &req.billing;
    let input = json!({
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
    });
    let detail = json!({
        "timing": d.timing.map(|t| t.as_str()),
        "effective_at": d.effective_at.map(|t| t.to_string()),
    });
    (kind, index, input, d.verdict.as_str(), detail, &d.reasons)
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

/// The rule ids behind the reasons, each once, in reason order.
fn matched_rules(reasons: &[Reason]) -> Vec<&str> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for id in reasons.iter().filter_map(|r| r.rule_id.as_ref()) {
        if seen.insert(id.as_str(), ()).is_none() {
            out.push(id.as_str());
        }
    }
    out
}

/// The trace id of a W3C `traceparent` value
/// (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), if valid.
pub fn trace_id(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = hex(version, 2)
        && version != "ff"
        // Version 00 has exactly four fields; later versions may add more.
        && (version != "00" || parts.next().is_none())
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && hex(flags, 2);
    valid.then(|| trace.to_owned())
}

#[cfg(test)]
mod tests {
    use super::trace_id;

    #[test]
    fn traceparent_is_parsed_per_w3c() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(
            trace_id(&format!("00-{id}-00f067aa0ba902b7-01")).as_deref(),
            Some(id)
        );
        assert_eq!(
            trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id(&format!("ff-{id}-00f067aa0ba902b7-01")), None);
        assert_eq!(trace_id(&format!("00-{id}-0000000000000000-01")), None);
        assert_eq!(
            trace_id(&format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase())),
            None
        );
        assert_eq!(trace_id("garbage"), None);
    }
}
