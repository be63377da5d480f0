//! Every value a rule can read, named at load time so the engine fetches it
//! natively (no per-request maps, no name lookups on the request path).

/// Which plan of a plan change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The source plan (`source`).
    Source,
    /// The target plan (`target`).
    Target,
}

/// A field of a plan (`source.rank`, `target.limits`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanField {
    /// `id`
    Id,
    /// `known`
    Known,
    /// `rank`
    Rank,
    /// `limits` (a map)
    Limits,
    /// `quotas` (a map)
    Quotas,
    /// `attributes` (a map of declared attributes)
    Attributes,
}

/// A value a condition or template reads. Which ones exist depends on the
/// decision type; the bundle only compiles paths its variables declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    // request, every decision type
    /// `request.attributes` (a map)
    Attributes,
    /// `request.as_of`
    AsOf,
    // request, plan change
    /// `request.tenant_id`
    TenantId,
    /// `request.from_plan`
    FromPlan,
    /// `request.to_plan`
    ToPlan,
    /// `request.requester.role`
    RequesterRole,
    /// `request.requester.id`
    RequesterId,
    /// `request.usage` (a map)
    Usage,
    /// `request.period_usage` (a map)
    PeriodUsage,
    /// `request.billing.current_period_start` (optional)
    PeriodStart,
    /// `request.billing.current_period_end` (optional)
    PeriodEnd,
    /// `request.billing.commitment_end` (optional)
    CommitmentEnd,
    /// `request.billing.anchor_day` (optional)
    AnchorDay,
    /// `request.billing.time_zone`
    TimeZone,
    /// `source.*` and `target.*`
    Plan(Side, PlanField),
    /// `change.same_plan`
    SamePlan,
    /// `change.upgrade`
    Upgrade,
    /// `change.downgrade`
    Downgrade,
    /// `change.lateral`
    Lateral,
    /// `change.rank_delta`
    RankDelta,
    /// `change.in_commitment`
    InCommitment,
    /// `metric` (in a `for_each` rule)
    Metric,
    /// `limit` (in a `for_each` rule)
    Limit,
    /// `current` (in a `for_each` rule; null when not reported)
    Current,
    /// `reported` (in a `for_each` rule)
    Reported,
    // request, payments
    /// `request.user_id`
    UserId,
    /// `request.merchant_id`
    MerchantId,
    /// `request.methods` (a list of records: interpreted by CEL)
    Methods,
    /// `request.auto_charge.enabled`
    AutoChargeEnabled,
    /// `request.auto_charge.source_method_id`
    AutoChargeSource,
    /// `request.auto_charge.threshold_minor`
    AutoChargeThreshold,
    /// `request.auto_charge.amount_minor`
    AutoChargeAmount,
    /// `request.health.score`
    HealthScore,
    /// `request.health.signals` (a map)
    HealthSignals,
    /// `request.amount.currency`
    AmountCurrency,
    /// `request.amount.amount_minor`
    AmountMinor,
    /// `request.balance_minor`
    BalanceMinor,
    // merchant settings
    /// `merchant.id`
    MerchantProfileId,
    /// `merchant.default_profile`
    DefaultProfile,
    /// `merchant.currency`
    MerchantCurrency,
    /// `merchant.accepted_methods` (a list of type names)
    AcceptedTypes,
    /// `merchant.accepts_second_methods`
    AcceptsSecondMethods,
    /// `merchant.min_health_score`
    MinHealthScore,
    /// `merchant.auto_charge.min_amount_minor`
    MinAutoChargeAmount,
    /// `merchant.auto_charge.min_threshold_minor`
    MinAutoChargeThreshold,
    /// `merchant.allow_split`
    AllowSplit,
    /// `merchant.attributes` (a map)
    MerchantAttributes,
    // wallet view
    /// `wallet.balance_method`
    BalanceMethod,
    /// `wallet.active` (ids)
    ActiveMethods,
    /// `wallet.accepted` (ids)
    AcceptedMethods,
    /// `wallet.inactive` (ids)
    InactiveMethods,
    /// `wallet.fallbacks` (ids, lowest rank first)
    Fallbacks,
    /// `wallet.auto_charge_ok`
    AutoChargeOk,
    // charge
    /// `charge.covered`
    Covered,
    /// `charge.shortfall_minor`
    Shortfall,
    /// `charge.top_up_minor`
    TopUp,
}
