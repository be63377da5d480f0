//! The compiled, immutable form of a bundle that the engine evaluates.

use std::{collections::BTreeMap, sync::Arc};

use jiff::{Timestamp, civil::Date};

use super::{
    BundleWarning, Location, ScopeIndex,
    expr::Expr,
    locales::Locales,
    metrics::Metrics,
    programs::Programs,
    resellers::Reseller,
    template::{Part, Template},
};
use crate::domain::{
    ChargeFundingInput, Currency, EffectiveTiming, FundingOutcome, FundingStep, LinkOutcome,
    MethodType, PaymentLinkInput, PlanChangeInput, ReasonCode, RequesterRole, RequiredAction,
    RuleId, Verdict,
};

/// A bundle that parsed, validated and compiled. Shared read-only by every
/// request; a reload builds a new one and swaps it in whole.
pub struct CompiledBundle {
    /// `name` from `bundle.yaml`.
    pub name: Arc<str>,
    /// `revision` from `bundle.yaml`.
    pub revision: Arc<str>,
    /// `description` from `bundle.yaml`, if any.
    pub description: String,
    /// sha256 over the bundle's files in name order, hex.
    pub digest: Arc<str>,
    /// The plan catalogue.
    pub catalog: Catalog,
    /// Plan-change rules.
    pub plan_change: RuleSet<TimingSpec>,
    /// Merchant settings.
    pub merchants: Merchants,
    /// Payment-link rules.
    pub payment_link: RuleSet<LinkPayload>,
    /// Charge-funding rules.
    pub charge_funding: RuleSet<FundingStrategy>,
    /// The bundle's own tests.
    pub tests: Vec<TestCase>,
    /// The CEL environment every condition was compiled with.
    pub env: Arc<cel::Env>,
    /// Every expression's parsed program, by source: what the bundle
    /// compiled after this one may reuse.
    pub programs: Programs,
    /// The locales reason messages are written in.
    pub locales: Locales,
    /// What the bundle may not mean, sorted by file and line; it loaded
    /// all the same (`tollgate check` prints them, with those that depend
    /// on the clock: [`CompiledBundle::warnings_at`]).
    pub warnings: Vec<BundleWarning>,
    /// The lint severities `bundle.yaml` sets.
    pub lint: super::lint_config::LintConfig,
}

impl CompiledBundle {
    /// Every decision type's rules, for what is the same for all of them.
    pub fn rule_sets(&self) -> [&dyn AnyRuleSet; 3] {
        [&self.plan_change, &self.payment_link, &self.charge_funding]
    }

    /// The same bundle with every expression left to the CEL interpreter:
    /// the baseline the native evaluator is measured and checked against.
    pub fn interpreted(mut self) -> Self {
        self.plan_change.interpret();
        self.payment_link.interpret();
        self.charge_funding.interpret();
        self
    }

    /// How many expressions (conditions and template holes) there are, and
    /// how many of them the native evaluator runs.
    pub fn native_coverage(&self) -> (usize, usize) {
        let (mut native, mut total) = (0, 0);
        for set in self.rule_sets() {
            let (n, t) = set.native_coverage();
            native += n;
            total += t;
        }
        (native, total)
    }

    /// Number of rules across all decision types.
    pub fn rule_count(&self) -> usize {
        self.rule_sets().iter().map(|s| s.len()).sum()
    }
}

/// The rules of one decision type, in evaluation order, and their index.
pub struct RuleSet<A> {
    /// The rules, in evaluation order (files by name, rules in file order).
    pub rules: Vec<Rule<A>>,
    /// Rule positions by their keyed scope (source plan, or merchant).
    pub index: ScopeIndex,
}

impl<A> RuleSet<A> {
    /// `rules`, indexed by the scope key `key` picks from each.
    pub fn new(rules: Vec<Rule<A>>, key: impl Fn(&Scope) -> &[String]) -> Self {
        let index = ScopeIndex::build(rules.iter().map(|r| key(&r.scope)));
        Self { rules, index }
    }

    fn interpret(&mut self) {
        for rule in &mut self.rules {
            for e in rule.expressions_mut() {
                e.native = None;
                e.memo = None;
            }
        }
    }
}

/// What is the same for every decision type's rules.
pub trait AnyRuleSet {
    /// Number of rules.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// How many expressions run natively, of how many.
    fn native_coverage(&self) -> (usize, usize);
}

impl<A> AnyRuleSet for RuleSet<A> {
    fn len(&self) -> usize {
        self.rules.len()
    }

    fn native_coverage(&self) -> (usize, usize) {
        let (mut native, mut total) = (0, 0);
        for rule in &self.rules {
            for e in rule.expressions() {
                total += 1;
                native += usize::from(e.native.is_some());
            }
        }
        (native, total)
    }
}

impl<A> Rule<A> {
    /// The condition and every template hole.
    pub fn expressions(&self) -> impl Iterator<Item = &Expr> {
        let holes = self
            .reason
            .message
            .iter()
            .chain(self.reason.details.iter().map(|(_, t)| t))
            .flat_map(|t| &t.parts)
            .flat_map(|p| match p {
                Part::Hole(e) => [Some(e), None],
                Part::Money { amount, currency } => [Some(amount), Some(currency)],
                Part::Text(_) => [None, None],
            })
            .flatten();
        self.condition.iter().chain(holes)
    }

    fn expressions_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        let holes = self
            .reason
            .message
            .iter_mut()
            .chain(self.reason.details.iter_mut().map(|(_, t)| t))
            .flat_map(|t| &mut t.parts)
            .flat_map(|p| match p {
                Part::Hole(e) => [Some(e), None],
                Part::Money { amount, currency } => [Some(amount), Some(currency)],
                Part::Text(_) => [None, None],
            })
            .flatten();
        self.condition.iter_mut().chain(holes)
    }
}

/// The plan catalogue.
pub struct Catalog {
    /// Plans by id.
    pub plans: IdMap<Plan>,
    /// Declared plan attributes with their defaults.
    pub attribute_defaults: BTreeMap<String, serde_json::Value>,
    /// Declared metrics (none when the bundle has no `metrics:` section).
    pub metrics: Metrics,
    /// Resellers' terms by reseller id.
    pub resellers: IdMap<Reseller>,
}

/// One plan of the catalogue.
pub struct Plan {
    /// Plan id.
    pub id: String,
    /// What the plan is, for people.
    pub description: String,
    /// Rank: a higher rank is an upgrade.
    pub rank: i64,
    /// Stock limits by metric.
    pub limits: BTreeMap<String, f64>,
    /// Per-period quotas by metric.
    pub quotas: BTreeMap<String, f64>,
    /// Attributes with defaults filled in.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// A rule of one decision type; `A` is what an allowing rule decides.
pub struct Rule<A> {
    /// Unique id within the bundle.
    pub id: RuleId,
    /// File the rule is written in.
    pub file: Arc<str>,
    /// Where in that file.
    pub at: Location,
    /// What the rule is for, for people.
    pub description: String,
    /// Structural scope, checked before the condition.
    pub scope: Scope,
    /// CEL condition; `None` means always.
    pub condition: Option<Expr>,
    /// Where the condition (`when`) is written; `None` when it has none.
    pub condition_at: Option<Location>,
    /// Evaluate the condition once per item of a collection.
    pub for_each: Option<ForEach>,
    /// Deny, or allow with a decision payload.
    pub effect: Effect<A>,
    /// The effect as the bundle wrote it (`deny`, `allow`, `link`, ...).
    pub effect_label: String,
    /// The reason given when the rule matches.
    pub reason: ReasonTemplate,
}

/// Bundle entries (plans, resellers, merchants) by id, looked up once or
/// twice per decision by the ids a request names: hashed with foldhash,
/// several times cheaper than SipHash on short ids, and seeded per process.
pub type IdMap<V> = std::collections::HashMap<String, V, foldhash::fast::RandomState>;

/// Which requests a rule applies to at all; empty lists mean any.
#[derive(Debug, Default)]
pub struct Scope {
    /// Source plan ids.
    pub from_plans: Vec<String>,
    /// Target plan ids.
    pub to_plans: Vec<String>,
    /// Requester roles.
    pub requesters: Vec<RequesterRole>,
    /// Merchant ids (payment decisions).
    pub merchants: Vec<String>,
}

impl Scope {
    /// Whether every list is empty: the rule applies to every request.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.from_plans.is_empty()
            && self.to_plans.is_empty()
            && self.requesters.is_empty()
            && self.merchants.is_empty()
    }
}

/// What a matching rule does.
#[derive(Debug, Clone)]
pub enum Effect<A> {
    /// Deny, contributing the rule's reasons.
    Deny,
    /// Allow; the first matching allow decides with this payload.
    Allow(A),
}

/// The collections a rule can iterate over, binding `metric`, `limit` and
/// `current` for each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForEach {
    /// `source.limits`, current from `request.usage`.
    SourceLimits,
    /// `source.quotas`, current from `request.period_usage`.
    SourceQuotas,
    /// `target.limits`, current from `request.usage`.
    TargetLimits,
    /// `target.quotas`, current from `request.period_usage`.
    TargetQuotas,
}

impl ForEach {
    /// Parses the bundle spelling (`target.limits`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "source.limits" => Some(Self::SourceLimits),
            "source.quotas" => Some(Self::SourceQuotas),
            "target.limits" => Some(Self::TargetLimits),
            "target.quotas" => Some(Self::TargetQuotas),
            _ => None,
        }
    }
}

/// When an allowing plan-change rule makes the change take effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimingSpec {
    /// At `as_of`.
    Immediate,
    /// At the end of the current period, or the next anchor-day boundary.
    NextBillingCycle,
    /// At `billing.commitment_end`.
    EndOfTerm,
    /// On a date, at 00:00 in the billing time zone.
    ScheduledOn(Date),
    /// At a fixed instant.
    ScheduledAt(Timestamp),
    /// A number of days after `as_of`, at 00:00 in the billing time zone.
    ScheduledAfterDays(u32),
}

impl TimingSpec {
    /// The timing reported to the caller.
    pub fn timing(&self) -> EffectiveTiming {
        match self {
            Self::Immediate => EffectiveTiming::Immediate,
            Self::NextBillingCycle => EffectiveTiming::NextBillingCycle,
            Self::EndOfTerm => EffectiveTiming::EndOfTerm,
            Self::ScheduledOn(_) | Self::ScheduledAt(_) | Self::ScheduledAfterDays(_) => {
                EffectiveTiming::Scheduled
            }
        }
    }
}

/// A rule's reason: a code and templates for the message and details.
pub struct ReasonTemplate {
    /// Stable code.
    pub code: ReasonCode,
    /// The message template in each declared locale, in declaration order.
    pub message: Vec<Template>,
    /// Extra detail templates, by key.
    pub details: Vec<(String, Template)>,
}

/// A bundle test case.
pub struct TestCase {
    /// The test's name.
    pub name: String,
    /// File it is written in.
    pub file: Arc<str>,
    /// Where in that file.
    pub at: Location,
    /// The request.
    pub request: TestRequest,
    /// The expected decision.
    pub want: Want,
}

/// The request of a bundle test.
pub enum TestRequest {
    /// A plan-change request.
    PlanChange(PlanChangeInput),
    /// A payment-link request.
    PaymentLink(PaymentLinkInput),
    /// A charge-funding request.
    ChargeFunding(ChargeFundingInput),
}

impl TestRequest {
    /// The request's evaluation instant, as written.
    pub fn as_of_mut(&mut self) -> &mut Option<Timestamp> {
        match self {
            Self::PlanChange(r) => &mut r.as_of,
            Self::PaymentLink(r) => &mut r.wallet.as_of,
            Self::ChargeFunding(r) => &mut r.wallet.as_of,
        }
    }
}

/// What a bundle test expects.
pub struct Want {
    /// The decision-specific expectations.
    pub kind: WantKind,
    /// The reason codes in order, when checked.
    pub reasons: Option<Vec<String>>,
    /// The reason messages in order, when checked.
    pub messages: Option<Vec<String>>,
}

/// The decision-specific part of a test's expectations.
pub enum WantKind {
    /// A plan-change decision.
    PlanChange(PlanChangeWant),
    /// A payment-link decision.
    PaymentLink(PaymentLinkWant),
    /// A charge-funding decision.
    ChargeFunding(ChargeFundingWant),
}

/// What a plan-change test expects.
pub enum PlanChangeWant {
    /// A decision.
    Decided(PlanChangeDecisionWant),
    /// No decision: the request lacks this field (`billing.anchor_day`),
    /// which the deciding rule's timing needs (`want: { precondition: ... }`).
    MissingFact(String),
    /// No decision: the request contradicts the bundle's declarations;
    /// these fields are refused, in order (`want: { invalid: [...] }`).
    Invalid(Vec<String>),
}

/// The plan-change decision a test expects.
pub struct PlanChangeDecisionWant {
    /// The verdict.
    pub verdict: Verdict,
    /// The timing, when checked.
    pub timing: Option<EffectiveTiming>,
    /// The effective instant, when checked.
    pub effective_at: Option<Timestamp>,
    /// The undeclared metrics the request reports, when checked.
    pub unknown_metrics: Option<Vec<String>>,
}

/// What a payment-link test expects.
pub struct PaymentLinkWant {
    /// The outcome.
    pub outcome: LinkOutcome,
    /// The actions in order, when checked.
    pub required_actions: Option<Vec<RequiredAction>>,
}

/// What a charge-funding test expects.
pub struct ChargeFundingWant {
    /// The outcome.
    pub outcome: FundingOutcome,
    /// The steps in order, when checked.
    pub steps: Option<Vec<FundingStep>>,
}

/// Merchant settings: listed merchants and the optional default profile.
pub struct Merchants {
    /// Merchants by id.
    pub by_id: IdMap<Merchant>,
    /// The profile of merchants not listed; `None` refuses them.
    pub default: Option<Merchant>,
}

impl Merchants {
    /// The settings that apply to `id`, and whether they are the default profile.
    pub fn get(&self, id: &str) -> Option<(&Merchant, bool)> {
        match self.by_id.get(id) {
            Some(m) => Some((m, false)),
            None => self.default.as_ref().map(|m| (m, true)),
        }
    }
}

/// One merchant's settings.
pub struct Merchant {
    /// Merchant id (empty for the default profile).
    pub id: String,
    /// The file the merchant (or `default_merchant`) is written in.
    pub file: Arc<str>,
    /// Where in that file.
    pub at: Location,
    /// What the merchant is, for people.
    pub description: String,
    /// Currency of charges and of the auto-charge criterion.
    pub currency: Currency,
    /// Non-balance method types accepted as a second method or fallback.
    pub accepted: Vec<MethodType>,
    /// Minimum health score to link: the merchant's own, else the bundle's
    /// `payments.default_min_health_score`; `None` when neither is set
    /// (rules reading it fail closed, and `check` warns).
    pub min_health_score: Option<u32>,
    /// What an auto-charge setting must meet.
    pub auto_charge: AutoChargeCriterion,
    /// Whether a charge may be split between balance and a fallback method.
    pub allow_split: bool,
    /// Free-form settings rules may read.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// The auto-charge criterion of a merchant (seed 004 §0006), in its
/// currency's minor units.
#[derive(Debug, Clone, Default)]
pub struct AutoChargeCriterion {
    /// Minimum top-up amount.
    pub min_amount_minor: i64,
    /// Minimum top-up threshold.
    pub min_threshold_minor: i64,
    /// The method types auto-charge may draw on (never BALANCE); every
    /// other type when the bundle does not say.
    pub source_types: Vec<MethodType>,
}

/// What an allowing payment-link rule decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPayload {
    /// Link now.
    Link,
    /// Prompt these actions first.
    RequireAction(Vec<RequiredAction>),
}

/// How the user's preset auto-charge amount applies to a shortfall: never
/// more than the preset allows, so nothing is topped up without the user's
/// say-so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopUp {
    /// One top-up of the preset amount.
    Preset,
    /// As many preset amounts as the shortfall needs, at most `max_minor`
    /// in all (rounded down to whole presets).
    PresetMultiples {
        /// The most one charge may top up.
        max_minor: i64,
    },
}

/// How an approving charge-funding rule funds the charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingStrategy {
    /// Pay the whole charge from the balance.
    Balance,
    /// Top up the balance by auto-charge as the user's preset allows, then
    /// pay from it; what the top-up leaves unpaid goes to the lowest-ranked
    /// usable fallback where the merchant allows a split.
    AutoCharge(TopUp),
    /// Pay with the lowest-ranked usable fallback method (split with the
    /// balance when the merchant allows).
    Fallback,
}
