//! Plan-change requests in, plan-change decisions out.

use jiff::Timestamp;

use super::{finish, meta, reason, timestamp, to_proto_timestamp};
use crate::{
    domain::{
        BillingInput, EffectiveTiming, EnumInput, Languages, PlanChange, PlanChangeDecision,
        PlanChangeInput, RequesterRole, Verdict, Violations,
    },
    grpc::pb,
};

/// Validates a plan-change request; `now` stands in for a missing `as_of`,
/// the call's `accept` languages for an empty `locale`.
pub fn plan_change(
    req: pb::PlanChangeRequest,
    now: Timestamp,
    accept: &Languages,
) -> Result<PlanChange, Violations> {
    let mut bad = Violations::default();
    let requester = req.requester.unwrap_or_default();
    let billing = req.billing.unwrap_or_default();
    let input = PlanChangeInput {
        tenant_id: req.tenant_id,
        from_plan: req.from_plan,
        to_plan: req.to_plan,
        requester_role: requester_role(requester.role),
        requester_id: requester.id,
        usage: req.usage,
        period_usage: req.period_usage,
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
        attributes: req.attributes,
        as_of: timestamp(&mut bad, "as_of", req.as_of.as_ref()),
        explain: req.explain,
        locale: req.locale,
        accept_language: accept.clone(),
    };
    finish(bad, PlanChange::parse(input, now))
}

/// The proto role as the domain's, without a detour through its name.
fn requester_role(value: i32) -> EnumInput<RequesterRole> {
    use pb::RequesterRole as P;
    EnumInput::Typed(match P::try_from(value) {
        Ok(P::Unspecified) => return EnumInput::Unset,
        Ok(P::Tenant) => RequesterRole::Tenant,
        Ok(P::Reseller) => RequesterRole::Reseller,
        Ok(P::Provider) => RequesterRole::Provider,
        Ok(P::Operator) => RequesterRole::Operator,
        // A number this build does not know, quoted as the proto would name it.
        Err(_) => return EnumInput::Text(format!("REQUESTER_ROLE_{value}")),
    })
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
            unknown_metrics: d.unknown_metrics.clone(),
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
