//! The one place where proto meets domain: requests are validated into
//! domain types (naming every bad field), decisions are encoded back.

use jiff::Timestamp;

use super::pb;
use crate::{
    domain::{
        BillingInput, DecisionMeta, EffectiveTiming, PlanChange, PlanChangeDecision,
        PlanChangeInput, Reason, RuleTrace, Verdict, Violations,
    },
    reload::{Active, ReloadStatus},
};

/// Converts a proto timestamp, recording a violation when out of range.
fn timestamp(
    bad: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<Timestamp> {
    let ts = ts?;
    match Timestamp::new(ts.seconds, ts.nanos) {
        Ok(t) => Some(t),
        Err(_) => {
            bad.push(
                field,
                format!("`{}s {}ns` is not a valid timestamp", ts.seconds, ts.nanos),
            );
            None
        }
    }
}

/// Encodes an instant.
pub fn to_proto_timestamp(ts: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ts.as_second(),
        nanos: ts.subsec_nanosecond(),
    }
}

/// Validates a plan-change request; `now` stands in for a missing `as_of`.
pub fn plan_change(req: pb::PlanChangeRequest, now: Timestamp) -> Result<PlanChange, Violations> {
    let mut bad = Violations::default();
    let requester = req.requester.unwrap_or_default();
    let role = match pb::RequesterRole::try_from(requester.role) {
        Ok(pb::RequesterRole::Unspecified) => None,
        Ok(role) => Some(role.as_str_name().to_owned()),
        Err(_) => Some(format!("REQUESTER_ROLE_{}", requester.role)),
    };
    let billing = req.billing.unwrap_or_default();
    let input = PlanChangeInput {
        tenant_id: req.tenant_id,
        from_plan: req.from_plan,
        to_plan: req.to_plan,
        requester_role: role,
        requester_id: requester.id,
        usage: req.usage.into_iter().collect(),
        period_usage: req.period_usage.into_iter().collect(),
        billing: BillingInput {
            current_period_start: timestamp(
                &mut bad,
                "billing.current_period_start",
                billing.current_period_start.as_ref(),
            ),
            current_period_end: timestamp(
                &mut bad,
                "billing.current_period_end",
                billing.current_period_end.as_ref(),
            ),
            commitment_end: timestamp(
                &mut bad,
                "billing.commitment_end",
                billing.commitment_end.as_ref(),
            ),
            anchor_day: billing.anchor_day,
            time_zone: billing.time_zone,
        },
        attributes: req.attributes.into_iter().collect(),
        as_of: timestamp(&mut bad, "as_of", req.as_of.as_ref()),
        explain: req.explain,
    };
    match PlanChange::parse(input, now) {
        Ok(parsed) if bad.is_empty() => Ok(parsed),
        Ok(_) => Err(bad),
        Err(more) => {
            for v in more.iter() {
                bad.push(v.field.clone(), v.description.clone());
            }
            Err(bad)
        }
    }
}

impl From<&PlanChangeDecision> for pb::PlanChangeDecision {
    fn from(d: &PlanChangeDecision) -> Self {
        Self {
            verdict: match d.verdict {
                Verdict::Allow => pb::Verdict::Allow,
                Verdict::Deny => pb::Verdict::Deny,
            } as i32,
            timing: d.timing.map_or(pb::EffectiveTiming::Unspecified, timing) as i32,
            effective_at: d.effective_at.map(to_proto_timestamp),
            reasons: d.reasons.iter().map(reason).collect(),
            meta: Some(meta(&d.meta)),
        }
    }
}

fn timing(t: EffectiveTiming) -> pb::EffectiveTiming {
    match t {
        EffectiveTiming::Immediate => pb::EffectiveTiming::Immediate,
        EffectiveTiming::NextBillingCycle => pb::EffectiveTiming::NextBillingCycle,
        EffectiveTiming::EndOfTerm => pb::EffectiveTiming::EndOfTerm,
        EffectiveTiming::Scheduled => pb::EffectiveTiming::Scheduled,
    }
}

fn reason(r: &Reason) -> pb::Reason {
    pb::Reason {
        code: r.code.to_string(),
        message: r.message.clone(),
        rule_id: r
            .rule_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        details: r
            .details
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

fn meta(m: &DecisionMeta) -> pb::DecisionMeta {
    pb::DecisionMeta {
        decision_id: m.decision_id.to_string(),
        bundle_revision: m.bundle_revision.clone(),
        bundle_digest: m.bundle_digest.clone(),
        trace: m.trace.iter().map(trace).collect(),
        bundle_name: m.bundle_name.clone(),
        evaluated_at: Some(to_proto_timestamp(m.evaluated_at)),
    }
}

fn trace(t: &RuleTrace) -> pb::RuleTrace {
    pb::RuleTrace {
        rule_id: t.rule_id.to_string(),
        matched: t.matched,
        effect: t.effect.to_owned(),
        note: t.note.clone(),
        decisive: t.decisive,
    }
}

/// Encodes the bundle status.
pub fn bundle_status(active: Option<&Active>, status: &ReloadStatus) -> pb::BundleStatus {
    let mut out = pb::BundleStatus {
        last_reload_error: status.last_error.clone(),
        last_reload_attempt_at: status.last_attempt_at.map(to_proto_timestamp),
        ..Default::default()
    };
    if let Some(a) = active {
        out.name = a.bundle.name.clone();
        out.revision = a.bundle.revision.clone();
        out.digest = a.bundle.digest.clone();
        out.loaded_at = Some(to_proto_timestamp(a.loaded_at));
        out.source = a.source.clone();
        out.rule_count = u32::try_from(a.bundle.rule_count()).unwrap_or(u32::MAX);
        out.test_count = u32::try_from(a.test_count).unwrap_or(u32::MAX);
    }
    out
}
