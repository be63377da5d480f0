//! The plan-change question: may a tenant move from one plan to another?

use std::collections::BTreeMap;

use jiff::{Timestamp, tz::TimeZone};

use super::{EnumInput, Languages, Violations};

/// Who asks for a plan change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequesterRole {
    /// The tenant itself.
    Tenant,
    /// A reseller acting for the tenant.
    Reseller,
    /// The service provider.
    Provider,
    /// An operator of the billing platform.
    Operator,
}

impl RequesterRole {
    /// The short upper-case name rules compare against (`RESELLER`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "TENANT",
            Self::Reseller => "RESELLER",
            Self::Provider => "PROVIDER",
            Self::Operator => "OPERATOR",
        }
    }

    /// Parses `RESELLER` or `REQUESTER_ROLE_RESELLER`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("REQUESTER_ROLE_").unwrap_or(s) {
            "TENANT" => Some(Self::Tenant),
            "RESELLER" => Some(Self::Reseller),
            "PROVIDER" => Some(Self::Provider),
            "OPERATOR" => Some(Self::Operator),
            _ => None,
        }
    }
}

/// The requester of a plan change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// The requester's role.
    pub role: RequesterRole,
    /// The requester's own id; may be empty.
    pub id: String,
}

/// A billing anchor day: 1 to 31, clamped to the month's last day when used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchorDay(u8);

impl AnchorDay {
    /// Parses an anchor day in 1..=31.
    pub fn new(day: u32) -> Option<Self> {
        u8::try_from(day)
            .ok()
            .filter(|d| (1..=31).contains(d))
            .map(Self)
    }

    /// The day of month, 1 to 31.
    pub fn get(self) -> i8 {
        // 1..=31 always fits in an i8.
        i8::try_from(self.0).unwrap_or(1)
    }
}

/// A billing-calendar field that an effective instant may need and a
/// request may lack: the subject of a missing-fact precondition failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingField {
    /// `billing.current_period_end`.
    CurrentPeriodEnd,
    /// `billing.anchor_day`.
    AnchorDay,
    /// `billing.commitment_end`.
    CommitmentEnd,
}

impl BillingField {
    /// Every field, in declaration order.
    pub const ALL: [Self; 3] = [Self::CurrentPeriodEnd, Self::AnchorDay, Self::CommitmentEnd];

    /// The field's path in proto field names (`billing.current_period_end`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CurrentPeriodEnd => "billing.current_period_end",
            Self::AnchorDay => "billing.anchor_day",
            Self::CommitmentEnd => "billing.commitment_end",
        }
    }

    /// Parses a field path (`billing.anchor_day`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The tenant's billing calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Billing {
    /// Start of the current billing period.
    pub current_period_start: Option<Timestamp>,
    /// End of the current billing period.
    pub current_period_end: Option<Timestamp>,
    /// End of the contract's commitment term.
    pub commitment_end: Option<Timestamp>,
    /// Day of month on which periods start.
    pub anchor_day: Option<AnchorDay>,
    /// The billing calendar's time zone.
    pub time_zone: TimeZone,
    /// The IANA name the caller gave (`UTC` when none).
    pub time_zone_name: String,
}

/// A plan-change request as the caller sent it, before validation.
#[derive(Debug, Clone, Default)]
pub struct PlanChangeInput {
    /// Tenant id.
    pub tenant_id: String,
    /// Source plan id.
    pub from_plan: String,
    /// Target plan id.
    pub to_plan: String,
    /// Requester role: typed, or the short or long enum name; unset when
    /// not given.
    pub requester_role: EnumInput<RequesterRole>,
    /// Requester id.
    pub requester_id: String,
    /// Stock usage per metric.
    pub usage: BTreeMap<String, f64>,
    /// Metered usage per metric in the current period.
    pub period_usage: BTreeMap<String, f64>,
    /// Billing calendar, unvalidated.
    pub billing: BillingInput,
    /// Free-form facts.
    pub attributes: BTreeMap<String, String>,
    /// Evaluation instant.
    pub as_of: Option<Timestamp>,
    /// Whether to trace every rule.
    pub explain: bool,
    /// The request's `locale` field: a BCP 47 tag, or empty.
    pub locale: String,
    /// The call's `accept-language`, used when `locale` is empty.
    pub accept_language: Languages,
}

/// A billing calendar as the caller sent it.
#[derive(Debug, Clone, Default)]
pub struct BillingInput {
    /// Start of the current billing period.
    pub current_period_start: Option<Timestamp>,
    /// End of the current billing period.
    pub current_period_end: Option<Timestamp>,
    /// End of the commitment term.
    pub commitment_end: Option<Timestamp>,
    /// 0 when not given.
    pub anchor_day: u32,
    /// IANA name; empty means UTC.
    pub time_zone: String,
}

/// A valid plan-change request.
#[derive(Debug, Clone)]
pub struct PlanChange {
    /// Tenant id, non-empty.
    pub tenant_id: String,
    /// Source plan id, non-empty (it may still be unknown to the catalogue).
    pub from_plan: String,
    /// Target plan id, non-empty.
    pub to_plan: String,
    /// Who asks.
    pub requester: Requester,
    /// Stock usage: finite and non-negative.
    pub usage: BTreeMap<String, f64>,
    /// Period usage: finite and non-negative.
    pub period_usage: BTreeMap<String, f64>,
    /// Billing calendar.
    pub billing: Billing,
    /// Free-form facts.
    pub attributes: BTreeMap<String, String>,
    /// The evaluation instant.
    pub as_of: Timestamp,
    /// Whether to trace every rule.
    pub explain: bool,
    /// The caller's languages, for reason messages.
    pub languages: Languages,
}

impl PlanChange {
    /// Validates a request, naming every bad field. `now` stands in for a
    /// missing `as_of`.
    pub fn parse(input: PlanChangeInput, now: Timestamp) -> Result<Self, Violations> {
        let mut bad = Violations::default();
        for (field, value) in [
            ("tenant_id", &input.tenant_id),
            ("from_plan", &input.from_plan),
            ("to_plan", &input.to_plan),
        ] {
            if value.trim().is_empty() {
                bad.push(field, "is required");
            }
        }
        let role = input.requester_role.resolve(
            &mut bad,
            "requester.role",
            "requester role",
            RequesterRole::parse,
        );
        check_metrics(&mut bad, "usage", &input.usage);
        check_metrics(&mut bad, "period_usage", &input.period_usage);
        let as_of = input.as_of.unwrap_or(now);
        let billing = parse_billing(&mut bad, input.billing, as_of);
        let languages =
            Languages::field(&mut bad, "locale", &input.locale).or(&input.accept_language);

        match (role, billing) {
            (Some(role), Some(billing)) if bad.is_empty() => Ok(Self {
                tenant_id: input.tenant_id,
                from_plan: input.from_plan,
                to_plan: input.to_plan,
                requester: Requester {
                    role,
                    id: input.requester_id,
                },
                usage: input.usage,
                period_usage: input.period_usage,
                billing,
                attributes: input.attributes,
                as_of,
                explain: input.explain,
                languages,
            }),
            _ => Err(bad),
        }
    }
}

fn check_metrics(bad: &mut Violations, field: &str, metrics: &BTreeMap<String, f64>) {
    for (name, value) in metrics {
        if name.is_empty() {
            bad.push(field, "metric name is empty");
        } else if !value.is_finite() {
            bad.push(
                format!("{field}[\"{name}\"]"),
                format!("`{value}` is not a finite number"),
            );
        } else if *value < 0.0 {
            bad.push(
                format!("{field}[\"{name}\"]"),
                format!("`{value}` is negative"),
            );
        }
    }
}

fn parse_billing(bad: &mut Violations, input: BillingInput, as_of: Timestamp) -> Option<Billing> {
    let anchor_day = match input.anchor_day {
        0 => None,
        day => {
            let anchor = AnchorDay::new(day);
            if anchor.is_none() {
                bad.push("billing.anchor_day", format!("`{day}` is outside 1-31"));
            }
            anchor
        }
    };
    let name = if input.time_zone.is_empty() {
        "UTC".to_owned()
    } else {
        input.time_zone
    };
    let time_zone = match jiff::tz::db().get(&name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            bad.push(
                "billing.time_zone",
                format!("`{name}` is not an IANA time zone"),
            );
            None
        }
    };
    check_period(
        bad,
        (input.current_period_start, input.current_period_end),
        as_of,
    );
    Some(Billing {
        current_period_start: input.current_period_start,
        current_period_end: input.current_period_end,
        commitment_end: input.commitment_end,
        anchor_day,
        time_zone: time_zone?,
        time_zone_name: name,
    })
}

/// The current period has begun by `as_of` and ends after it begins.
fn check_period(
    bad: &mut Violations,
    (start, end): (Option<Timestamp>, Option<Timestamp>),
    as_of: Timestamp,
) {
    const START: &str = "billing.current_period_start";
    if let Some(start) = start
        && start > as_of
    {
        bad.push(
            START,
            format!("`{start}` is after `as_of` (`{as_of}`): the current period has not begun"),
        );
    }
    match (start, end) {
        (Some(start), Some(end)) if start > end => bad.push(
            START,
            format!("`{start}` is after `billing.current_period_end` (`{end}`)"),
        ),
        (Some(start), Some(end)) if start == end => bad.push(
            "billing.current_period_end",
            "must be after `billing.current_period_start`",
        ),
        _ => {}
    }
}
