//! The YAML shape of bundle files, as serde structs. Every file may hold any
//! section; `name` and `revision` belong in `bundle.yaml`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// One YAML file of a bundle.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDoc {
    pub name: Option<Spanned<String>>,
    pub revision: Option<Spanned<String>>,
    pub description: Option<String>,
    /// Attributes every plan has, with their defaults.
    #[serde(default)]
    pub plan_attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub plans: Vec<Spanned<PlanDoc>>,
    #[serde(default)]
    pub plan_change_rules: Vec<Spanned<RuleDoc>>,
    #[serde(default)]
    pub tests: Vec<Spanned<TestDoc>>,
}

/// A plan in the catalogue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDoc {
    pub id: String,
    pub rank: i64,
    pub description: Option<String>,
    /// Stock metrics: usage must stay at or below these.
    #[serde(default)]
    pub limits: BTreeMap<String, f64>,
    /// Per-period metered metrics.
    #[serde(default)]
    pub quotas: BTreeMap<String, f64>,
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// A rule of one decision type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    pub id: Spanned<String>,
    pub description: Option<String>,
    /// Structural scope: the rule applies only to these source plans.
    #[serde(default)]
    pub from_plans: Vec<Spanned<String>>,
    /// Structural scope: the rule applies only to these target plans.
    #[serde(default)]
    pub to_plans: Vec<Spanned<String>>,
    /// Structural scope: the rule applies only to these requester roles.
    #[serde(default)]
    pub requesters: Vec<Spanned<String>>,
    /// CEL condition; absent means always.
    pub when: Option<Spanned<String>>,
    /// Evaluate `when` once per item of this collection (`target.limits`, ...).
    pub for_each: Option<Spanned<String>>,
    /// `deny` or `allow`.
    pub effect: Spanned<String>,
    /// For `allow`: when the change takes effect.
    pub timing: Option<Spanned<String>>,
    /// For `timing: scheduled`.
    pub schedule: Option<Spanned<ScheduleDoc>>,
    pub reason: Spanned<ReasonDoc>,
}

/// The instant a `scheduled` rule names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDoc {
    /// A date (`2027-01-01`, at 00:00 in the billing time zone) or an RFC 3339 instant.
    pub at: Option<String>,
    /// Days after `as_of`, at 00:00 in the billing time zone.
    pub after_days: Option<u32>,
}

/// The reason a rule gives when it matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonDoc {
    pub code: Spanned<String>,
    /// Template: `{expr}` is a CEL expression over the rule's variables.
    pub message: Spanned<String>,
    /// Extra details, each a template.
    #[serde(default)]
    pub details: BTreeMap<String, Spanned<String>>,
}

/// A bundle test: a request and what the decision must be.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDoc {
    pub name: String,
    pub plan_change: Option<PlanChangeDoc>,
    pub want: WantDoc,
}

/// A plan-change request in proto JSON field names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanChangeDoc {
    pub tenant_id: String,
    pub from_plan: String,
    pub to_plan: String,
    pub requester: Option<RequesterDoc>,
    pub usage: BTreeMap<String, f64>,
    pub period_usage: BTreeMap<String, f64>,
    pub billing: BillingDoc,
    pub attributes: BTreeMap<String, String>,
    pub as_of: Option<Timestamp>,
    pub explain: bool,
}

/// The requester of a test request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequesterDoc {
    pub role: Option<String>,
    pub id: String,
}

/// The billing calendar of a test request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingDoc {
    pub current_period_start: Option<Timestamp>,
    pub current_period_end: Option<Timestamp>,
    pub commitment_end: Option<Timestamp>,
    pub anchor_day: u32,
    pub time_zone: String,
}

/// What a test expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WantDoc {
    /// `ALLOW` or `DENY`.
    pub verdict: String,
    pub timing: Option<String>,
    pub effective_at: Option<Timestamp>,
    /// Reason codes, in order; absent means not checked.
    pub reasons: Option<Vec<String>>,
}
