//! The YAML shape of bundle files, as serde structs. Every file may hold any
//! section; `name` and `revision` belong in `bundle.yaml`. The same structs
//! give the bundle files' JSON Schema ([`json_schema`]), so it cannot drift
//! from what the loader reads.

use std::collections::BTreeMap;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// The JSON Schema (draft 7, which editors' YAML support reads) of every
/// bundle file: what [`FileDoc`] deserializes. It checks shapes (keys,
/// types, required fields); the loader checks the rest (CEL, references
/// between plans, metrics and rules, effects per decision type).
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<FileDoc>();
    schema.insert("title".to_owned(), "Tollgate bundle file".into());
    schema.into()
}

/// The request structs of bundle tests accept each snake_case field in its
/// proto JSON spelling too (`#[serde(alias = "asOf")]`), as grpcurl and the
/// decision log write them. schemars does not carry serde aliases into the
/// schema, so this adds the camelCase spelling of each snake_case property
/// of such a struct. A struct gets it only when every one of its snake_case
/// fields has the alias; `tests/bundle_schema.rs` holds the two to each
/// other with a test file that uses every camelCase name the schema knows.
fn camel_case_aliases(schema: &mut schemars::Schema) {
    let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let aliases: Vec<(String, serde_json::Value)> = properties
        .iter()
        .filter(|(name, _)| name.contains('_'))
        .map(|(name, property)| (camel_case(name), property.clone()))
        .collect();
    properties.extend(aliases);
}

/// `source_method_id` → `sourceMethodId`.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// One YAML file of a bundle.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDoc {
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub revision: Option<Spanned<String>>,
    pub description: Option<String>,
    /// The locales every reason message is written in (`bundle.yaml`).
    #[schemars(with = "Option<Vec<String>>")]
    pub locales: Option<Spanned<Vec<Spanned<String>>>>,
    /// Which of `locales` answers a caller who names none, or none of them.
    #[schemars(with = "Option<String>")]
    pub default_locale: Option<Spanned<String>>,
    /// Attributes every plan has, with their defaults.
    #[serde(default)]
    pub plan_attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    #[schemars(with = "Vec<PlanDoc>")]
    pub plans: Vec<Spanned<PlanDoc>>,
    /// The metrics plans limit and requests report, each declared once.
    #[serde(default)]
    #[schemars(with = "Vec<MetricDoc>")]
    pub metrics: Vec<Spanned<MetricDoc>>,
    /// The terms of each reseller: the plans it may sell.
    #[serde(default)]
    #[schemars(with = "Vec<ResellerDoc>")]
    pub resellers: Vec<Spanned<ResellerDoc>>,
    #[serde(default)]
    #[schemars(with = "Vec<RuleDoc>")]
    pub plan_change_rules: Vec<Spanned<RuleDoc>>,
    #[serde(default)]
    #[schemars(with = "Vec<MerchantDoc>")]
    pub merchants: Vec<Spanned<MerchantDoc>>,
    /// The profile of merchants not listed; without it they are refused.
    #[schemars(with = "Option<MerchantDoc>")]
    pub default_merchant: Option<Spanned<MerchantDoc>>,
    /// Payment settings of the bundle as a whole (the defaults merchants take).
    #[schemars(with = "Option<PaymentsDoc>")]
    pub payments: Option<Spanned<PaymentsDoc>>,
    #[serde(default)]
    #[schemars(with = "Vec<RuleDoc>")]
    pub payment_link_rules: Vec<Spanned<RuleDoc>>,
    #[serde(default)]
    #[schemars(with = "Vec<RuleDoc>")]
    pub charge_funding_rules: Vec<Spanned<RuleDoc>>,
    /// What every test of this file takes when it does not say.
    pub test_defaults: Option<TestDefaultsDoc>,
    #[serde(default)]
    #[schemars(with = "Vec<TestDoc>")]
    pub tests: Vec<Spanned<TestDoc>>,
    /// Lint severities (`bundle.yaml`): check ids to fail on, and to skip.
    #[schemars(with = "Option<LintDoc>")]
    pub lint: Option<Spanned<LintDoc>>,
}

/// The defaults of a file's tests.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestDefaultsDoc {
    /// The evaluation instant of every test whose request gives none.
    #[schemars(with = "String")]
    pub as_of: Timestamp,
}

/// A merchant's settings: data a billing team edits without touching rules.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantDoc {
    /// Required in `merchants`, absent in `default_merchant`.
    pub id: Option<String>,
    pub description: Option<String>,
    /// ISO 4217 currency of charges and of the auto-charge criterion.
    pub currency: String,
    /// Non-balance method types accepted as a second method or fallback.
    #[serde(default)]
    pub accepted_methods: Vec<String>,
    /// Minimum health score (0-100) to link; absent: the bundle's
    /// `payments.default_min_health_score`.
    #[schemars(with = "Option<u32>")]
    pub min_health_score: Option<Spanned<u32>>,
    /// What an auto-charge setting must meet.
    #[serde(default)]
    pub auto_charge: AutoChargeCriterionDoc,
    /// Whether a charge may be split between balance and a fallback method.
    #[serde(default)]
    pub allow_split: bool,
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// The auto-charge criterion of a merchant.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AutoChargeCriterionDoc {
    /// Minimum top-up amount, minor units.
    pub min_amount_minor: i64,
    /// Minimum top-up threshold, minor units.
    pub min_threshold_minor: i64,
    /// The method types auto-charge may draw on; absent: any but BALANCE.
    #[schemars(with = "Option<Vec<String>>")]
    pub source_types: Option<Spanned<Vec<Spanned<String>>>>,
}

/// Payment settings of the bundle as a whole.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentsDoc {
    /// The health threshold of a merchant that sets none.
    #[schemars(with = "Option<u32>")]
    pub default_min_health_score: Option<Spanned<u32>>,
}

/// A plan in the catalogue.
#[derive(Debug, Deserialize, JsonSchema)]
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

/// A metric of the catalogue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricDoc {
    pub id: String,
    /// `stock` (what the tenant has now, reported in `usage`) or `period`
    /// (counted per billing period, reported in `period_usage`).
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// The unit, for people (`GB`, `calls`); empty when none.
    #[serde(default)]
    pub unit: String,
    /// The name a screen shows: one string, or one per locale tag.
    pub display_name: Option<DisplayNameDoc>,
}

/// A display name: one string, or a map from locale tag to string.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DisplayNameDoc {
    /// The same name in every locale.
    One(String),
    /// A name per locale tag (`en`, `ja`).
    ByLocale(BTreeMap<String, String>),
}

/// A reseller's terms with the provider (seed 000 §0005).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResellerDoc {
    pub id: String,
    pub description: Option<String>,
    /// The plans it may move a tenant to.
    #[schemars(with = "Vec<String>")]
    pub plans: Vec<Spanned<String>>,
    /// Per plan, the directions (`upgrade`, `downgrade`, `lateral`) in
    /// which it may move a tenant to that plan; a plan not named: any.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub directions: BTreeMap<String, Spanned<Vec<String>>>,
}

/// A rule of one decision type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub description: Option<String>,
    /// Structural scope: the rule applies only to these source plans.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub from_plans: Vec<Spanned<String>>,
    /// Structural scope: the rule applies only to these target plans.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub to_plans: Vec<Spanned<String>>,
    /// Structural scope: the rule applies only to these requester roles.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub requesters: Vec<Spanned<String>>,
    /// Structural scope (payments): the rule applies only to these merchants.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub merchants: Vec<Spanned<String>>,
    /// CEL condition; absent means always.
    #[schemars(with = "Option<String>")]
    pub when: Option<Spanned<String>>,
    /// Evaluate `when` once per item of this collection (`target.limits`, ...).
    #[schemars(with = "Option<String>")]
    pub for_each: Option<Spanned<String>>,
    /// `deny`/`allow` (plan change), `deny`/`link`/`require_action`
    /// (payment link), `decline`/`approve` (charge funding).
    #[schemars(with = "String")]
    pub effect: Spanned<String>,
    /// For `require_action`: what to prompt, in order.
    #[schemars(with = "Option<Vec<String>>")]
    pub actions: Option<Spanned<Vec<String>>>,
    /// For `approve`: `balance`, `auto_charge` or `fallback`.
    #[schemars(with = "Option<String>")]
    pub funding: Option<Spanned<String>>,
    /// For `funding: auto_charge`: how the user's preset amount applies
    /// (`preset`, the default, or `preset_multiples`).
    #[schemars(with = "Option<String>")]
    pub top_up: Option<Spanned<String>>,
    /// For `top_up: preset_multiples`: the most one top-up may be.
    #[schemars(with = "Option<i64>")]
    pub max_top_up_minor: Option<Spanned<i64>>,
    /// For `allow`: when the change takes effect.
    #[schemars(with = "Option<String>")]
    pub timing: Option<Spanned<String>>,
    /// For `timing: scheduled`.
    #[schemars(with = "Option<ScheduleDoc>")]
    pub schedule: Option<Spanned<ScheduleDoc>>,
    #[schemars(with = "ReasonDoc")]
    pub reason: Spanned<ReasonDoc>,
}

/// The instant a `scheduled` rule names.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDoc {
    /// A date (`2027-01-01`, at 00:00 in the billing time zone) or an RFC 3339 instant.
    pub at: Option<String>,
    /// Days after `as_of`, at 00:00 in the billing time zone.
    pub after_days: Option<u32>,
}

/// The reason a rule gives when it matches.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonDoc {
    #[schemars(with = "String")]
    pub code: Spanned<String>,
    /// Template: `{expr}` is a CEL expression over the rule's variables;
    /// one string (the default locale's), or one per locale.
    #[schemars(with = "MessageSchema")]
    pub message: Spanned<MessageDoc>,
    /// Extra details, each a template.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub details: BTreeMap<String, Spanned<String>>,
}

/// A reason message: one template, or one per locale (`{en: ..., ja: ...}`).
/// Its shape in the JSON Schema is [`MessageSchema`]'s.
#[derive(Debug)]
pub enum MessageDoc {
    /// The default locale's template.
    One(String),
    /// Templates by locale tag, in the order written.
    ByLocale(Vec<(String, Spanned<String>)>),
}

/// The shape [`MessageDoc`] reads, for the JSON Schema: `MessageDoc` keeps
/// the order locales are written in and a place for each, which a derived
/// schema cannot see through.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[expect(dead_code, reason = "only its JSON Schema is used")]
pub enum MessageSchema {
    /// The default locale's template.
    One(String),
    /// Templates by locale tag.
    ByLocale(BTreeMap<String, String>),
}

/// An int64 as test requests may write it: a number, or a string of
/// digits as proto3 JSON writes int64, for the JSON Schema.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[expect(dead_code, reason = "only its JSON Schema is used")]
pub enum Int64Schema {
    /// `3000`.
    Number(i64),
    /// `"3000"`.
    Text(String),
}

impl<'de> Deserialize<'de> for MessageDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = MessageDoc;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a message, or a map of messages by locale")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<MessageDoc, E> {
                Ok(MessageDoc::One(s.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MessageDoc, A::Error> {
                let mut by_locale = Vec::new();
                while let Some(tag) = map.next_key::<String>()? {
                    by_locale.push((tag, map.next_value::<Spanned<String>>()?));
                }
                Ok(MessageDoc::ByLocale(by_locale))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A bundle test: a request and what the decision must be.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestDoc {
    pub name: String,
    pub plan_change: Option<PlanChangeDoc>,
    pub payment_link: Option<PaymentLinkDoc>,
    pub charge_funding: Option<ChargeFundingDoc>,
    pub want: WantDoc,
}

/// A payment method in a test request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = camel_case_aliases)]
pub struct MethodDoc {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    #[serde(alias = "fallbackRank")]
    pub fallback_rank: u32,
}

/// Auto-charge settings in a test request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = camel_case_aliases)]
pub struct AutoChargeDoc {
    pub enabled: bool,
    #[serde(alias = "sourceMethodId")]
    pub source_method_id: String,
    #[schemars(with = "Int64Schema")]
    #[serde(alias = "thresholdMinor", deserialize_with = "int64")]
    pub threshold_minor: i64,
    #[schemars(with = "Int64Schema")]
    #[serde(alias = "amountMinor", deserialize_with = "int64")]
    pub amount_minor: i64,
}

/// A health index in a test request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthDoc {
    pub score: u32,
    pub signals: BTreeMap<String, f64>,
}

/// A link request in proto JSON field names.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = camel_case_aliases)]
pub struct PaymentLinkDoc {
    #[serde(alias = "userId")]
    pub user_id: String,
    #[serde(alias = "merchantId")]
    pub merchant_id: String,
    pub methods: Vec<MethodDoc>,
    #[serde(alias = "autoCharge")]
    pub auto_charge: Option<AutoChargeDoc>,
    pub health: Option<HealthDoc>,
    pub attributes: BTreeMap<String, String>,
    #[serde(alias = "asOf")]
    #[schemars(with = "Option<String>")]
    pub as_of: Option<Timestamp>,
    pub explain: bool,
    /// BCP 47 tag of the caller's language.
    pub locale: String,
}

/// Money in a test request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = camel_case_aliases)]
pub struct MoneyDoc {
    pub currency: String,
    #[schemars(with = "Int64Schema")]
    #[serde(alias = "amountMinor", deserialize_with = "int64")]
    pub amount_minor: i64,
}

/// A funding request in proto JSON field names.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = camel_case_aliases)]
pub struct ChargeFundingDoc {
    #[serde(alias = "userId")]
    pub user_id: String,
    #[serde(alias = "merchantId")]
    pub merchant_id: String,
    pub amount: Option<MoneyDoc>,
    #[schemars(with = "Int64Schema")]
    #[serde(alias = "balanceMinor", deserialize_with = "int64")]
    pub balance_minor: i64,
    pub methods: Vec<MethodDoc>,
    #[serde(alias = "autoCharge")]
    pub auto_charge: Option<AutoChargeDoc>,
    pub attributes: BTreeMap<String, String>,
    #[serde(alias = "asOf")]
    #[schemars(with = "Option<String>")]
    pub as_of: Option<Timestamp>,
    pub explain: bool,
    /// BCP 47 tag of the caller's language.
    pub locale: String,
}

/// A funding step a test expects.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    pub source: String,
    #[serde(default)]
    pub method_id: String,
    pub amount_minor: i64,
}

/// A plan-change request in proto JSON field names, either spelling
/// (`as_of` or `asOf`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = camel_case_aliases)]
pub struct PlanChangeDoc {
    #[serde(alias = "tenantId")]
    pub tenant_id: String,
    #[serde(alias = "fromPlan")]
    pub from_plan: String,
    #[serde(alias = "toPlan")]
    pub to_plan: String,
    pub requester: Option<RequesterDoc>,
    pub usage: BTreeMap<String, f64>,
    #[serde(alias = "periodUsage")]
    pub period_usage: BTreeMap<String, f64>,
    pub billing: BillingDoc,
    pub attributes: BTreeMap<String, String>,
    #[serde(alias = "asOf")]
    #[schemars(with = "Option<String>")]
    pub as_of: Option<Timestamp>,
    pub explain: bool,
    /// BCP 47 tag of the caller's language.
    pub locale: String,
}

/// The requester of a test request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RequesterDoc {
    pub role: Option<String>,
    pub id: String,
}

/// The billing calendar of a test request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = camel_case_aliases)]
pub struct BillingDoc {
    #[serde(alias = "currentPeriodStart")]
    #[schemars(with = "Option<String>")]
    pub current_period_start: Option<Timestamp>,
    #[serde(alias = "currentPeriodEnd")]
    #[schemars(with = "Option<String>")]
    pub current_period_end: Option<Timestamp>,
    #[serde(alias = "commitmentEnd")]
    #[schemars(with = "Option<String>")]
    pub commitment_end: Option<Timestamp>,
    #[serde(alias = "anchorDay")]
    pub anchor_day: u32,
    #[serde(alias = "timeZone")]
    pub time_zone: String,
}

/// What a test expects.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WantDoc {
    /// Plan change: `ALLOW` or `DENY`.
    pub verdict: Option<String>,
    /// Payments: `LINK`, `REQUIRE_ACTION`, `DENY`, `APPROVE` or `DECLINE`.
    pub outcome: Option<String>,
    /// Payment link: the actions, in order.
    pub required_actions: Option<Vec<String>>,
    /// Charge funding: the steps, in order.
    pub steps: Option<Vec<StepDoc>>,
    pub timing: Option<String>,
    #[schemars(with = "Option<String>")]
    pub effective_at: Option<Timestamp>,
    /// Reason codes, in order; absent means not checked.
    pub reasons: Option<Vec<String>>,
    /// Reason messages, in order; absent means not checked.
    pub messages: Option<Vec<String>>,
    /// Plan change: no decision, because the request lacks this field
    /// (`billing.current_period_end`), which the deciding rule needs.
    pub precondition: Option<String>,
    /// Plan change: no decision, because the request contradicts the
    /// bundle's declarations; the fields refused, in order
    /// (`usage["api_calls"]`).
    pub invalid: Option<Vec<String>>,
    /// Plan change: the reported metrics the catalogue does not declare;
    /// absent means not checked.
    pub unknown_metrics: Option<Vec<String>>,
}

/// `lint: { deny: [...], allow: [...] }` in `bundle.yaml`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintDoc {
    /// Checks whose findings fail `lint` and `check`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub deny: Vec<Spanned<String>>,
    /// Checks not run.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub allow: Vec<Spanned<String>>,
}

/// A proto `int64` as proto JSON writes it, a string of digits (`"3000"`),
/// or as a number.
fn int64<'de, D: serde::Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int64 {
        Number(i64),
        Text(String),
    }
    match Int64::deserialize(de)? {
        Int64::Number(n) => Ok(n),
        Int64::Text(s) => s
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an int64"))),
    }
}
