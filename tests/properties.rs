//! Invariants of plan-change decisions, for any valid request: the engine
//! never panics, a DENY carries no timing, an ALLOW always says when (never
//! before `as_of`), an unknown plan is always denied, and with no allow rule
//! nothing is ever allowed. And of payment decisions: a funding plan's
//! payment steps sum exactly to the charge, every step is positive, a
//! top-up comes first and is max(shortfall, auto-charge amount), a decline
//! has no steps; a link prompts actions exactly when it requires action.
//! Runs on a fixed seed so the suite is deterministic; `PROPTEST_RNG_SEED`
//! and `PROPTEST_CASES` explore further.

// Test code fails by panicking, helpers outside `#[test]` functions included
// (clippy.toml only exempts the functions themselves). An `allow`, not an
// `expect`: which of these a helper needs changes with every edit.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::{collections::BTreeMap, fs, sync::LazyLock};

use jiff::{SignedDuration, Timestamp, ToSpan as _};
use proptest::{
    prelude::*,
    test_runner::{Config, RngSeed},
};
use tollgate::{
    bundle::{BundleFiles, CompiledBundle, MetricKind},
    domain::{
        AutoCharge, BillingField, BillingInput, ChargeFunding, ChargeFundingInput, EffectiveTiming,
        FundingOutcome, FundingSource, HealthIndex, LinkOutcome, MethodInput, MethodStatus,
        MethodType, PaymentLink, PaymentLinkInput, PlanChange, PlanChangeDecision, PlanChangeInput,
        Reason, Verdict, WalletInput,
    },
    engine::{self, DecideError, codes},
    reload::BundleSource,
};

const KNOWN_PLANS: &[&str] = &["free", "standard", "premium", "enterprise"];
const ROLES: &[&str] = &[
    "TENANT",
    "RESELLER",
    "PROVIDER",
    "OPERATOR",
    "REQUESTER_ROLE_TENANT",
    "REQUESTER_ROLE_RESELLER",
    "REQUESTER_ROLE_PROVIDER",
    "REQUESTER_ROLE_OPERATOR",
];
/// Metrics the demo limits, one it only meters, and ones it never mentions.
const METRICS: &[&str] = &["users", "storage_gb", "api_calls", "seats", "devices"];
/// Zones with odd offsets and daylight saving changes at midnight
/// (Havana, Santiago), where "00:00 local" does not exist on some days.
const ZONES: &[&str] = &[
    "",
    "UTC",
    "Asia/Tokyo",
    "America/New_York",
    "Europe/Berlin",
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
];

fn config() -> Config {
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x7011_6a7e);
    }
    config
}

// --- bundles -----------------------------------------------------------

fn compile(files: &BundleFiles) -> CompiledBundle {
    tollgate::bundle::compile(files).unwrap_or_else(|e| panic!("bundle does not compile:\n{e}"))
}

static DEMO: LazyLock<CompiledBundle> = LazyLock::new(|| {
    compile(
        &BundleSource::Embedded
            .read()
            .expect("read the embedded demo"),
    )
});

/// The demo with its plan-change rules filtered by `keep` and its own tests
/// dropped, written to a temporary directory and read back as any bundle
/// on disk is. The files are rewritten as JSON, which is YAML too.
fn demo_with_rules(keep: impl Fn(&serde_json::Value) -> bool) -> CompiledBundle {
    let demo = BundleSource::Embedded
        .read()
        .expect("read the embedded demo");
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in demo.iter() {
        let text = std::str::from_utf8(content).expect("UTF-8 bundle file");
        let mut doc: serde_json::Value = serde_saphyr::from_str(text).expect("demo YAML");
        if let Some(map) = doc.as_object_mut() {
            map.remove("tests");
            if let Some(serde_json::Value::Array(rules)) = map.get_mut("plan_change_rules") {
                rules.retain(|r| keep(r));
            }
        }
        fs::write(dir.path().join(name), doc.to_string()).expect("write a bundle file");
    }
    let files = BundleSource::Path(dir.path().to_owned())
        .read()
        .expect("read the bundle back");
    compile(&files)
}

static DENY_ONLY: LazyLock<CompiledBundle> = LazyLock::new(|| {
    let bundle = demo_with_rules(|rule| rule["effect"] != "allow");
    assert!(
        !bundle.plan_change.rules.is_empty(),
        "the demo has deny rules"
    );
    bundle
});

static NO_RULES: LazyLock<CompiledBundle> = LazyLock::new(|| {
    let bundle = demo_with_rules(|_| false);
    assert_eq!(bundle.plan_change.rules.len(), 0);
    bundle
});

// --- requests ----------------------------------------------------------

fn plan_id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KNOWN_PLANS).prop_map(str::to_owned),
        1 => "[a-z][a-z0-9_-]{0,11}",
    ]
}

fn unknown_plan_id() -> impl Strategy<Value = String> {
    // Known plan ids never contain `~`.
    "[a-z]{1,8}~[a-z0-9]{0,4}"
}

fn amount() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        (0u32..2_000).prop_map(f64::from),
        0.0..1e7,
        Just(f64::MAX),
    ]
}

/// Metrics of `METRICS` a request may send in the map of `kind`: all but
/// those the demo declares of the other kind.
fn metrics(kind: MetricKind) -> impl Strategy<Value = BTreeMap<String, f64>> {
    let names: Vec<&str> = METRICS
        .iter()
        .copied()
        .filter(|m| DEMO.catalog.metrics.get(m).is_none_or(|d| d.kind == kind))
        .collect();
    let most = names.len();
    proptest::collection::btree_map(
        proptest::sample::select(names).prop_map(str::to_owned),
        amount(),
        0..=most,
    )
}

/// Requester ids: none, the demo's two resellers, one it does not know.
const REQUESTER_IDS: &[&str] = &["", "reseller-7", "reseller-9", "reseller-404"];

/// 2000-01-01 to 2100-01-01.
fn instant() -> impl Strategy<Value = Timestamp> {
    (946_684_800i64..4_102_444_800, 0i32..1_000_000_000)
        .prop_map(|(s, ns)| Timestamp::new(s, ns).expect("in range"))
}

/// An instant within about two years either side of `as_of`, or `as_of`.
fn near(as_of: Timestamp) -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        Just(as_of),
        (-60_000_000i64..60_000_000).prop_map(move |s| {
            as_of
                .checked_add(SignedDuration::from_secs(s))
                .expect("in range")
        }),
    ]
}

fn billing(as_of: Timestamp) -> impl Strategy<Value = BillingInput> {
    (
        proptest::option::of(near(as_of)),
        proptest::option::of(near(as_of)),
        proptest::option::of(1i64..10_000_000),
        prop_oneof![Just(0u32), 1u32..=31],
        proptest::sample::select(ZONES),
    )
        .prop_map(
            move |(commitment_end, period_end, period_len, anchor_day, zone)| {
                // A period starts before it ends, and by `as_of`, as a valid
                // request requires.
                let period_start = period_end.zip(period_len).map(|(end, len)| {
                    end.checked_sub(SignedDuration::from_secs(len))
                        .expect("in range")
                        .min(as_of)
                });
                BillingInput {
                    current_period_start: period_start,
                    current_period_end: period_end,
                    commitment_end,
                    anchor_day,
                    time_zone: zone.to_owned(),
                }
            },
        )
}

/// Any valid request between `from` and `to`.
fn request_between(
    from: impl Strategy<Value = String>,
    to: impl Strategy<Value = String>,
) -> impl Strategy<Value = PlanChangeInput> {
    (from, to, instant()).prop_flat_map(|(from_plan, to_plan, as_of)| {
        (
            (
                proptest::sample::select(ROLES),
                proptest::sample::select(REQUESTER_IDS),
            ),
            metrics(MetricKind::Stock),
            metrics(MetricKind::Period),
            billing(as_of),
            any::<bool>(),
        )
            .prop_map(move |((role, id), usage, period_usage, billing, explain)| {
                PlanChangeInput {
                    tenant_id: "t1".to_owned(),
                    from_plan: from_plan.clone(),
                    to_plan: to_plan.clone(),
                    requester_role: Some(role.to_owned()).into(),
                    requester_id: id.to_owned(),
                    usage,
                    period_usage,
                    billing,
                    attributes: BTreeMap::new(),
                    as_of: Some(as_of),
                    explain,
                    locale: String::new(),
                    accept_language: Default::default(),
                }
            })
    })
}

fn request() -> impl Strategy<Value = PlanChangeInput> {
    request_between(plan_id(), plan_id())
}

/// A downgrade between two demo plans whose usage fits the target's limits,
/// asked by a requester the contract-only rule does not stop: the timing
/// rules decide. Quotas may or may not be exceeded.
fn fitting_downgrade() -> impl Strategy<Value = PlanChangeInput> {
    let plans = &DEMO.catalog.plans;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for from in plans.values() {
        for to in plans.values().filter(|to| to.rank < from.rank) {
            pairs.push((from.id.clone(), to.id.clone()));
        }
    }
    pairs.sort();
    (
        proptest::sample::select(pairs),
        instant(),
        proptest::sample::select(&["TENANT", "PROVIDER", "OPERATOR"][..]),
    )
        .prop_flat_map(|((from_plan, to_plan), as_of, role)| {
            // Only the provider or an operator moves a tenant into or out of
            // a contract-only plan; a tenant asking is denied, so it asks as
            // the provider here.
            let contract_only = |id: &str| {
                DEMO.catalog.plans[id].attributes.get("contract_only")
                    == Some(&serde_json::Value::Bool(true))
            };
            let role = if role == "TENANT" && (contract_only(&from_plan) || contract_only(&to_plan))
            {
                "PROVIDER"
            } else {
                role
            };
            let target = &DEMO.catalog.plans[&to_plan];
            let within = |m: &BTreeMap<String, f64>, factor: f64| {
                m.iter()
                    .map(|(metric, limit)| (Just(metric.clone()), 0.0..=limit * factor))
                    .collect::<Vec<_>>()
            };
            (
                within(&target.limits, 1.0),
                within(&target.quotas, 2.0),
                billing(as_of),
            )
                .prop_map(move |(usage, period_usage, billing)| PlanChangeInput {
                    tenant_id: "t1".to_owned(),
                    from_plan: from_plan.clone(),
                    to_plan: to_plan.clone(),
                    requester_role: Some(role.to_owned()).into(),
                    requester_id: String::new(),
                    usage: usage.into_iter().collect(),
                    period_usage: period_usage.into_iter().collect(),
                    billing,
                    attributes: BTreeMap::new(),
                    as_of: Some(as_of),
                    explain: false,
                    locale: String::new(),
                    accept_language: Default::default(),
                })
        })
}

fn parse(input: PlanChangeInput) -> Result<PlanChange, TestCaseError> {
    PlanChange::parse(input, Timestamp::UNIX_EPOCH)
        .map_err(|v| TestCaseError::fail(format!("a valid request was refused: {v}")))
}

/// `req` decided by `bundle`: a decision, or, when the deciding rule's
/// timing needs a billing date the request lacks, a failure that names it
/// rightly (and then `None`).
fn decide(
    bundle: &CompiledBundle,
    req: &PlanChange,
) -> Result<Option<PlanChangeDecision>, TestCaseError> {
    match engine::decide_plan_change(bundle, req) {
        Ok(d) => Ok(Some(d)),
        Err(e) => {
            missing_fact_is_right(&e, req)?;
            Ok(None)
        }
    }
}

/// `req` decided by `bundle`, where no timing can lack a date.
fn decided(bundle: &CompiledBundle, req: &PlanChange) -> Result<PlanChangeDecision, TestCaseError> {
    engine::decide_plan_change(bundle, req)
        .map_err(|e| TestCaseError::fail(format!("no decision: {e}")))
}

/// A precondition failure names a field the request really lacks, and the
/// rule that needs it.
fn missing_fact_is_right(e: &DecideError, req: &PlanChange) -> Result<(), TestCaseError> {
    let DecideError::MissingFact {
        subject,
        rule,
        description,
    } = e
    else {
        return Err(TestCaseError::fail(format!("not a missing fact: {e}")));
    };
    let b = &req.billing;
    prop_assert_eq!(e.kind(), "MISSING_BILLING_FACT");
    prop_assert!(description.contains(&format!("rule `{rule}`")), "{e:?}");
    let no_cycle =
        b.anchor_day.is_none() && b.current_period_end.is_none_or(|end| end <= req.as_of);
    match BillingField::parse(subject) {
        Some(BillingField::CurrentPeriodEnd) => {
            prop_assert!(no_cycle && b.current_period_end.is_none(), "{e:?}");
        }
        Some(BillingField::AnchorDay) => {
            prop_assert!(no_cycle && b.current_period_end.is_some(), "{e:?}");
        }
        Some(BillingField::CommitmentEnd) => prop_assert!(b.commitment_end.is_none(), "{e:?}"),
        None => return Err(TestCaseError::fail(format!("an unknown subject: {e:?}"))),
    }
    Ok(())
}

fn codes_of(d: &PlanChangeDecision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// The shape every decision has, whatever the bundle.
fn well_formed(d: &PlanChangeDecision, req: &PlanChange) -> Result<(), TestCaseError> {
    prop_assert!(!d.reasons.is_empty(), "a decision without reasons: {d:?}");
    prop_assert_eq!(d.meta.evaluated_at, req.as_of);
    match d.verdict {
        Verdict::Deny => {
            prop_assert_eq!(d.timing, None, "a DENY with a timing: {:?}", d);
            prop_assert_eq!(d.effective_at, None, "a DENY with an instant: {:?}", d);
        }
        Verdict::Allow => {
            prop_assert!(d.timing.is_some(), "an ALLOW without timing: {d:?}");
            let at = d.effective_at;
            prop_assert!(
                at.is_some_and(|at| at >= req.as_of),
                "an ALLOW effective at {at:?}, before as_of {}: {d:?}",
                req.as_of
            );
        }
    }
    for r in &d.reasons {
        prop_assert!(!r.message.is_empty(), "a reason without message: {r:?}");
    }
    // Every reported metric the catalogue does not declare, once, sorted.
    let mut unknown: Vec<&String> = req
        .usage
        .keys()
        .chain(req.period_usage.keys())
        .filter(|m| DEMO.catalog.metrics.get(m).is_none())
        .collect();
    unknown.sort();
    unknown.dedup();
    prop_assert_eq!(d.unknown_metrics.iter().collect::<Vec<_>>(), unknown);
    if let (Some(timing), Some(at)) = (d.timing, d.effective_at) {
        effective_instant_is_right(timing, at, req)?;
    }
    Ok(())
}

/// Checks an allow's instant against the calendar, independently of how the
/// engine computes it.
fn effective_instant_is_right(
    timing: EffectiveTiming,
    at: Timestamp,
    req: &PlanChange,
) -> Result<(), TestCaseError> {
    let b = &req.billing;
    match timing {
        EffectiveTiming::Immediate => prop_assert_eq!(at, req.as_of),
        EffectiveTiming::EndOfTerm => {
            let end = b.commitment_end;
            prop_assert!(end.is_some(), "END_OF_TERM without a commitment end");
            prop_assert_eq!(Some(at), end.map(|e| e.max(req.as_of)));
        }
        EffectiveTiming::NextBillingCycle => match b.current_period_end {
            Some(end) if end > req.as_of => prop_assert_eq!(at, end),
            _ => {
                let Some(anchor) = b.anchor_day else {
                    return Err(TestCaseError::fail("NEXT_BILLING_CYCLE without a calendar"));
                };
                prop_assert!(at > req.as_of, "the next cycle starts after as_of");
                let tz = &b.time_zone;
                let local = at.to_zoned(tz.clone());
                let date = local.date();
                prop_assert_eq!(date.day(), anchor.get().min(date.days_in_month()));
                // The first instant of that local day (midnight, or the end
                // of a gap that swallowed it).
                let before = at
                    .checked_sub(SignedDuration::from_nanos(1))
                    .expect("in range")
                    .to_zoned(tz.clone());
                prop_assert!(before.date() < date, "{local} is not the start of its day");
                // And the first such boundary: the one a month earlier is not
                // after as_of.
                let month = date
                    .first_of_month()
                    .checked_sub(1.month())
                    .expect("in range");
                let day = anchor.get().min(month.days_in_month());
                let previous = month
                    .with()
                    .day(day)
                    .build()
                    .expect("a valid date")
                    .to_zoned(tz.clone())
                    .expect("a local day start")
                    .timestamp();
                prop_assert!(previous <= req.as_of, "skipped a boundary at {previous}");
            }
        },
        EffectiveTiming::Scheduled => {}
    }
    Ok(())
}

/// Codes the engine writes itself, in English whatever the locale.
const ENGINE_CODES: &[&str] = &[
    codes::NO_MATCHING_RULE,
    codes::POLICY_EVALUATION_ERROR,
    codes::EFFECTIVE_TIME_UNAVAILABLE,
    codes::FUNDING_PLAN_UNAVAILABLE,
    codes::UNKNOWN_MERCHANT,
    codes::FALLBACK_METHOD_SKIPPED,
];

/// The same reasons in two locales: equal codes, rules and details; the
/// rules' own messages differ (the demo writes every one in `en` and `ja`).
fn alike_but_messages(en: &[Reason], ja: &[Reason]) -> Result<(), TestCaseError> {
    prop_assert_eq!(en.len(), ja.len(), "{:?} / {:?}", en, ja);
    for (e, j) in en.iter().zip(ja) {
        prop_assert_eq!(
            (&e.code, &e.rule_id, &e.details),
            (&j.code, &j.rule_id, &j.details)
        );
        if e.rule_id.is_some() && !ENGINE_CODES.contains(&e.code.as_str()) {
            prop_assert_ne!(&e.message, &j.message);
        }
    }
    Ok(())
}

/// `input` decided by `decide` asked in British English and in Japanese
/// (`set` puts a tag in its `locale`); `None` when the request is refused
/// (the generators may build amounts whose sum overflows), in both alike.
fn in_two_locales<I: Clone, D>(
    input: I,
    set: impl Fn(&mut I, &str),
    decide: impl Fn(I) -> Result<D, tollgate::domain::Violations>,
) -> Result<Option<(D, D)>, TestCaseError> {
    let ask = |tag: &str| {
        let mut input = input.clone();
        set(&mut input, tag);
        decide(input)
    };
    match (ask("en-GB"), ask("ja-JP")) {
        (Ok(en), Ok(ja)) => Ok(Some((en, ja))),
        (Err(en), Err(ja)) if en == ja => Ok(None),
        (en, ja) => Err(TestCaseError::fail(format!(
            "refused in one locale only: {:?} / {:?}",
            en.err(),
            ja.err()
        ))),
    }
}

// --- properties --------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn demo_decisions_are_well_formed(input in request()) {
        let req = parse(input)?;
        let Some(d) = decide(&DEMO, &req)? else {
            return Ok(());
        };
        well_formed(&d, &req)?;
        // The demo's rules are total: no condition or message fails at run time.
        prop_assert!(
            !codes_of(&d).contains(&codes::POLICY_EVALUATION_ERROR),
            "{d:?}"
        );
        prop_assert_eq!(&d.meta.bundle_name, &DEMO.name);
        prop_assert_eq!(d.meta.trace.is_empty(), !req.explain);
    }

    #[test]
    fn a_fitting_downgrade_is_allowed_or_lacks_a_calendar(input in fitting_downgrade()) {
        let req = parse(input)?;
        // Only a next-cycle downgrade with no usable calendar gets no
        // decision (`decide` checks the field it names); none is denied.
        if let Some(d) = decide(&DEMO, &req)? {
            well_formed(&d, &req)?;
            prop_assert_eq!(d.verdict, Verdict::Allow, "{:?}", d);
        }
    }

    #[test]
    fn the_locale_changes_only_the_messages_of_a_plan_change(input in request()) {
        let (mut en, mut ja) = (input.clone(), input);
        en.locale = "en-US".to_owned();
        ja.locale = "ja-JP".to_owned();
        let (en, ja) = match (decide(&DEMO, &parse(en)?)?, decide(&DEMO, &parse(ja)?)?) {
            (Some(en), Some(ja)) => (en, ja),
            (None, None) => return Ok(()),
            other => return Err(TestCaseError::fail(format!("decided once: {other:?}"))),
        };
        prop_assert_eq!((&*en.meta.locale, &*ja.meta.locale), ("en", "ja"));
        prop_assert_eq!(
            (en.verdict, en.timing, en.effective_at),
            (ja.verdict, ja.timing, ja.effective_at)
        );
        alike_but_messages(&en.reasons, &ja.reasons)?;
    }

    #[test]
    fn a_declared_metric_in_the_other_map_is_refused_naming_it(
        input in request(),
        metric in proptest::sample::select(METRICS),
        value in amount(),
    ) {
        let Some(declared) = DEMO.catalog.metrics.get(metric) else {
            return Ok(());
        };
        let mut input = input;
        let field = match declared.kind {
            MetricKind::Stock => {
                input.period_usage.insert(metric.to_owned(), value);
                format!("period_usage[\"{metric}\"]")
            }
            MetricKind::Period => {
                input.usage.insert(metric.to_owned(), value);
                format!("usage[\"{metric}\"]")
            }
        };
        let req = parse(input)?;
        match engine::decide_plan_change(&DEMO, &req) {
            Err(DecideError::Invalid(v)) => {
                let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
                prop_assert_eq!(fields, [field.as_str()]);
            }
            other => return Err(TestCaseError::fail(format!("not refused: {other:?}"))),
        }
    }

    #[test]
    fn demo_decisions_are_deterministic(input in request()) {
        let req = parse(input)?;
        let (a, b) = match (decide(&DEMO, &req)?, decide(&DEMO, &req)?) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => return Ok(()),
            other => return Err(TestCaseError::fail(format!("decided once: {other:?}"))),
        };
        prop_assert_ne!(&a.meta.decision_id, &b.meta.decision_id);
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert_eq!(a.timing, b.timing);
        prop_assert_eq!(a.effective_at, b.effective_at);
        prop_assert_eq!(&a.reasons, &b.reasons);
        prop_assert_eq!(&a.meta.trace, &b.meta.trace);
    }

    #[test]
    fn an_unknown_plan_is_always_denied(
        input in prop_oneof![
            request_between(unknown_plan_id(), plan_id()),
            request_between(plan_id(), unknown_plan_id()),
        ]
    ) {
        let req = parse(input)?;
        let d = decided(&DEMO, &req)?;
        well_formed(&d, &req)?;
        prop_assert_eq!(d.verdict, Verdict::Deny, "{:?}", d);
        prop_assert!(codes_of(&d).contains(&"UNKNOWN_PLAN"), "{d:?}");
    }

    #[test]
    fn without_allow_rules_everything_is_denied(input in request()) {
        let req = parse(input)?;
        let d = decided(&DENY_ONLY, &req)?;
        well_formed(&d, &req)?;
        prop_assert_eq!(d.verdict, Verdict::Deny, "{:?}", d);
        // The same deny rules match as in the demo; where none does,
        // nothing matches and the default deny says so. (A demo allow
        // whose timing lacks a date matched no deny either.)
        let demo = decide(&DEMO, &req)?;
        let engine_codes = [codes::NO_MATCHING_RULE, codes::EFFECTIVE_TIME_UNAVAILABLE];
        let demo_denies: Vec<&str> = match &demo {
            Some(demo) if demo.verdict == Verdict::Deny => codes_of(demo)
                .into_iter()
                .filter(|c| !engine_codes.contains(c))
                .collect(),
            _ => Vec::new(),
        };
        if demo_denies.is_empty() {
            prop_assert_eq!(codes_of(&d), [codes::NO_MATCHING_RULE]);
        } else {
            prop_assert_eq!(codes_of(&d), demo_denies);
        }
    }

    #[test]
    fn with_no_rules_nothing_matches(input in request()) {
        let req = parse(input)?;
        let d = decided(&NO_RULES, &req)?;
        well_formed(&d, &req)?;
        prop_assert_eq!(d.verdict, Verdict::Deny);
        prop_assert_eq!(d.reasons.len(), 1);
        let reason = &d.reasons[0];
        prop_assert_eq!(reason.code.as_str(), codes::NO_MATCHING_RULE);
        prop_assert_eq!(reason.rule_id.as_ref(), None);
        prop_assert_eq!(
            &reason.message,
            &format!("no rule allows a change from `{}` to `{}`", req.from_plan, req.to_plan)
        );
    }
}

// --- payment requests --------------------------------------------------

/// The demo's merchants and one it does not list.
const MERCHANTS: &[&str] = &["video-stream", "ride-share", "bookshop", "meal-kit"];
/// The reason codes the demo's funding rules and the engine give.
const FUNDING_CODES: &[&str] = &[
    "CURRENCY_NOT_ACCEPTED",
    "BALANCE_UNAVAILABLE",
    "TOP_UP_BELOW_SHORTFALL",
    "BALANCE_COVERS",
    "AUTO_CHARGE_TOP_UP",
    "FALLBACK_METHOD_USED",
    "INSUFFICIENT_FUNDS",
    "AUTO_CHARGE_SOURCE_NOT_ACCEPTED",
    "AUTO_CHARGE_SOURCE_INACTIVE",
    codes::UNKNOWN_MERCHANT,
    codes::FALLBACK_METHOD_SKIPPED,
];

/// Minor units in `range`, now and then an edge of the type.
fn minor(range: std::ops::Range<i64>) -> impl Strategy<Value = i64> {
    let low = range.start;
    prop_oneof![
        12 => range,
        1 => Just(low),
        1 => Just(i64::MAX),
    ]
}

/// Any method type, mostly ones the demo's video-stream accepts.
fn method_type() -> impl Strategy<Value = MethodType> {
    prop_oneof![
        1 => Just(MethodType::Balance),
        3 => Just(MethodType::CreditCard),
        1 => Just(MethodType::DebitCard),
        3 => Just(MethodType::BankAccount),
        1 => Just(MethodType::Postpaid),
        1 => Just(MethodType::Points),
    ]
}

/// A method status, mostly active so that auto-charge and fallbacks are
/// often usable.
fn method_status() -> impl Strategy<Value = MethodStatus> {
    prop_oneof![
        3 => Just(MethodStatus::Active),
        1 => Just(MethodStatus::Suspended),
        1 => Just(MethodStatus::Expired),
    ]
}

/// Up to six methods with unique ids and any type, status and rank; the
/// names short or long, as requests may send them.
fn methods() -> impl Strategy<Value = Vec<MethodInput>> {
    proptest::collection::vec(
        (
            method_type(),
            method_status(),
            prop_oneof![2 => Just(0u32), 3 => 1u32..4],
            any::<bool>(),
        ),
        0..=6,
    )
    .prop_map(|ms| {
        ms.into_iter()
            .enumerate()
            .map(|(i, (kind, status, fallback_rank, long))| {
                let (kind, status) = if long {
                    (
                        format!("PAYMENT_METHOD_TYPE_{}", kind.as_str()),
                        format!("PAYMENT_METHOD_STATUS_{}", status.as_str()),
                    )
                } else {
                    (kind.as_str().to_owned(), status.as_str().to_owned())
                };
                MethodInput {
                    id: format!("m{i}"),
                    kind: Some(kind).into(),
                    status: Some(status).into(),
                    fallback_rank,
                }
            })
            .collect()
    })
}

/// Methods, and auto-charge drawing on one of them (or absent, or off).
fn wallet_parts() -> impl Strategy<Value = (Vec<MethodInput>, Option<AutoCharge>)> {
    methods().prop_flat_map(|methods| {
        let ids: Vec<String> = methods.iter().map(|m| m.id.clone()).collect();
        let source = if ids.is_empty() {
            Just(String::new()).boxed()
        } else {
            proptest::sample::select(ids).boxed()
        };
        let enabled = proptest::bool::weighted(0.75);
        let auto_charge = (source, enabled, minor(0..10_000), minor(0..10_000_000)).prop_map(
            |(source_method_id, enabled, threshold_minor, amount_minor)| {
                let enabled = enabled && !source_method_id.is_empty();
                AutoCharge {
                    enabled,
                    source_method_id,
                    threshold_minor,
                    amount_minor,
                }
            },
        );
        (Just(methods), proptest::option::of(auto_charge))
    })
}

fn wallet_input() -> impl Strategy<Value = WalletInput> {
    (
        prop_oneof![
            4 => Just(MERCHANTS[0]),
            3 => Just(MERCHANTS[1]),
            1 => Just(MERCHANTS[2]),
            2 => Just(MERCHANTS[3]),
        ],
        wallet_parts(),
        instant(),
        any::<bool>(),
    )
        .prop_map(
            |(merchant, (methods, auto_charge), as_of, explain)| WalletInput {
                user_id: "u1".to_owned(),
                merchant_id: merchant.to_owned(),
                methods,
                auto_charge,
                attributes: BTreeMap::new(),
                as_of: Some(as_of),
                explain,
                locale: String::new(),
                accept_language: Default::default(),
            },
        )
}

/// Any valid funding request against the demo's merchants; the balance is
/// short of the charge more often than not.
fn funding_request() -> impl Strategy<Value = ChargeFundingInput> {
    let amount_and_balance = minor(1..10_000_000).prop_flat_map(|amount| {
        (
            Just(amount),
            prop_oneof![minor(0..10_000_000), 0..=amount, Just(amount - 1)],
        )
    });
    (
        wallet_input(),
        prop_oneof![8 => Just("JPY"), 1 => Just("USD")],
        amount_and_balance,
    )
        .prop_map(
            |(wallet, currency, (amount_minor, balance_minor))| ChargeFundingInput {
                wallet,
                currency: Some(currency.to_owned()),
                amount_minor,
                balance_minor,
            },
        )
}

/// Any valid link request against the demo's merchants.
fn link_request() -> impl Strategy<Value = PaymentLinkInput> {
    let health = (
        // Mostly healthy enough for both demo merchants, so the link rules decide.
        prop_oneof![3 => 60u32..=100, 1 => 0u32..=100],
        proptest::collection::btree_map("[a-z_]{1,12}", -1e6..1e6, 0..3),
    )
        .prop_map(|(score, signals)| HealthIndex { score, signals });
    (wallet_input(), proptest::option::weighted(0.9, health))
        .prop_map(|(wallet, health)| PaymentLinkInput { wallet, health })
}

fn reason_codes(reasons: &[Reason]) -> Vec<&str> {
    reasons.iter().map(|r| r.code.as_str()).collect()
}

/// The usable fallback, worked out from the request and the merchant's
/// settings independently of the engine: preset, active, of a type the
/// merchant accepts, lowest rank, the first listed among equals.
fn expected_fallback<'a>(req: &'a ChargeFunding, accepted: &[MethodType]) -> Option<&'a str> {
    req.wallet
        .methods
        .iter()
        .filter(|m| {
            m.kind != MethodType::Balance
                && m.status == MethodStatus::Active
                && accepted.contains(&m.kind)
                && m.fallback_rank.is_some()
        })
        .min_by_key(|m| m.fallback_rank)
        .map(|m| m.id.as_str())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn funding_plans_pay_exactly_the_charge(input in funding_request()) {
        // The one sum of request fields that can leave int64: the balance
        // after one top-up. Such a request is refused naming both fields,
        // and every other one is decided.
        let overflows = input.wallet.auto_charge.as_ref().is_some_and(|ac| {
            ac.enabled && input.balance_minor.checked_add(ac.amount_minor).is_none()
        });
        let req = match ChargeFunding::parse(input, Timestamp::UNIX_EPOCH) {
            Ok(req) => req,
            Err(v) => {
                prop_assert!(overflows, "a valid request was refused: {v}");
                let fields: Vec<&str> = v.iter().map(|f| f.field.as_str()).collect();
                prop_assert_eq!(fields, ["balance_minor", "auto_charge.amount_minor"]);
                return Ok(());
            }
        };
        prop_assert!(!overflows, "a request whose top-up overflows was decided");
        let d = engine::decide_charge_funding(&DEMO, &req);
        let amount = req.amount.minor();
        // The balance is usable unless the BALANCE method listed (the first
        // active one, else the first) is suspended or expired.
        let balances = || req.wallet.methods.iter().filter(|m| m.kind == MethodType::Balance);
        let balance_usable = balances().next().is_none()
            || balances().any(|m| m.status == MethodStatus::Active);
        let usable = if balance_usable { req.balance_minor } else { 0 };
        let shortfall = amount.saturating_sub(usable).max(0);
        let got = reason_codes(&d.reasons);

        prop_assert!(!got.is_empty(), "a decision without reasons: {d:?}");
        for code in &got {
            // Never POLICY_EVALUATION_ERROR, FUNDING_PLAN_UNAVAILABLE or
            // NO_MATCHING_RULE: the demo's rules are total.
            prop_assert!(FUNDING_CODES.contains(code), "{code}: {d:?}");
        }
        prop_assert_eq!(d.currency, req.amount.currency());
        prop_assert_eq!(d.meta.evaluated_at, req.wallet.as_of);
        let merchant = DEMO.merchants.get(&req.wallet.merchant_id).map(|(m, _)| m);
        prop_assert_eq!(merchant.is_none(), got == [codes::UNKNOWN_MERCHANT], "{:?}", d);
        // Explaining traces every rule, as "not evaluated" for an unknown merchant.
        prop_assert_eq!(d.meta.trace.is_empty(), !req.wallet.explain, "{:?}", d);

        match d.outcome {
            FundingOutcome::Decline => prop_assert_eq!(&d.steps, &[], "{:?}", d),
            FundingOutcome::Approve => {
                prop_assert!(!d.steps.is_empty(), "{d:?}");
                let paid: i128 = d.steps.iter()
                    .filter(|s| s.source != FundingSource::AutoCharge)
                    .map(|s| i128::from(s.amount_minor))
                    .sum();
                prop_assert_eq!(paid, i128::from(amount), "payments sum to the charge: {:?}", d);
                for s in &d.steps {
                    prop_assert!(s.amount_minor > 0, "a step of {}: {d:?}", s.amount_minor);
                }
                let top_ups: Vec<usize> = (0..d.steps.len())
                    .filter(|&i| d.steps[i].source == FundingSource::AutoCharge)
                    .collect();
                prop_assert!(top_ups.is_empty() || top_ups == [0], "top-up first: {d:?}");
                // A frozen balance is never drawn from nor topped up.
                if !balance_usable {
                    prop_assert!(
                        d.steps.iter().all(|s| s.source == FundingSource::PaymentMethod),
                        "{d:?}"
                    );
                }
                let ac = &req.wallet.auto_charge;
                if let [top_up, ..] = d.steps.as_slice()
                    && top_up.source == FundingSource::AutoCharge
                {
                    prop_assert!(ac.enabled, "{d:?}");
                    // Never more than the user's preset (the demo tops up one preset).
                    prop_assert_eq!(top_up.amount_minor, ac.amount_minor, "{:?}", d);
                    prop_assert_eq!(&top_up.method_id, &ac.source_method_id);
                    // The balance after the top-up is in range.
                    prop_assert!(usable.checked_add(top_up.amount_minor).is_some(), "{d:?}");
                    // Only from an ACTIVE source of a type the merchant takes.
                    let source = req.wallet.methods.iter().find(|m| m.id == ac.source_method_id);
                    let m = merchant.expect("a top-up is for a known merchant");
                    prop_assert!(source.is_some_and(|s| s.status == MethodStatus::Active
                        && m.auto_charge.source_types.contains(&s.kind)), "{d:?}");
                    prop_assert_eq!(got.first().copied(), Some("AUTO_CHARGE_TOP_UP"));
                }
                // An approve is for a listed merchant, in its currency.
                let merchant = merchant.expect("an approve is for a known merchant");
                prop_assert_eq!(merchant.currency, req.amount.currency());
                // The first active balance method, else the first listed one.
                let balance_id = balances()
                    .find(|m| m.status == MethodStatus::Active)
                    .or_else(|| balances().next())
                    .map_or("", |m| m.id.as_str());
                for s in &d.steps {
                    match s.source {
                        FundingSource::Balance => prop_assert_eq!(s.method_id.as_str(), balance_id),
                        FundingSource::PaymentMethod => prop_assert_eq!(
                            Some(s.method_id.as_str()),
                            expected_fallback(&req, &merchant.accepted),
                            "{:?}", d
                        ),
                        FundingSource::AutoCharge => {}
                    }
                }
            }
        }
        // A covered charge in the merchant's currency is paid from the balance.
        if let Some(m) = merchant
            && m.currency == req.amount.currency()
            && shortfall == 0
        {
            prop_assert_eq!(d.outcome, FundingOutcome::Approve, "{:?}", d);
            prop_assert_eq!(d.steps.len(), 1, "{:?}", d);
            prop_assert_eq!(d.steps[0].source, FundingSource::Balance);
        }
    }

    #[test]
    fn the_locale_changes_only_the_messages_of_payments(
        link in link_request(),
        funding in funding_request(),
    ) {
        let link = in_two_locales(link, |r, tag| r.wallet.locale = tag.to_owned(), |r| {
            PaymentLink::parse(r, Timestamp::UNIX_EPOCH).map(|r| engine::decide_payment_link(&DEMO, &r))
        })?;
        if let Some((en, ja)) = link {
            prop_assert_eq!((&*en.meta.locale, &*ja.meta.locale), ("en", "ja"));
            prop_assert_eq!((en.outcome, &en.required_actions), (ja.outcome, &ja.required_actions));
            alike_but_messages(&en.reasons, &ja.reasons)?;
        }
        let funding = in_two_locales(funding, |r, tag| r.wallet.locale = tag.to_owned(), |r| {
            ChargeFunding::parse(r, Timestamp::UNIX_EPOCH).map(|r| engine::decide_charge_funding(&DEMO, &r))
        })?;
        if let Some((en, ja)) = funding {
            prop_assert_eq!((&*en.meta.locale, &*ja.meta.locale), ("en", "ja"));
            prop_assert_eq!((en.outcome, &en.steps, en.currency), (ja.outcome, &ja.steps, ja.currency));
            alike_but_messages(&en.reasons, &ja.reasons)?;
        }
    }

    #[test]
    fn link_decisions_prompt_actions_exactly_when_they_require_action(input in link_request()) {
        let req = PaymentLink::parse(input, Timestamp::UNIX_EPOCH)
            .map_err(|v| TestCaseError::fail(format!("a valid request was refused: {v}")))?;
        let d = engine::decide_payment_link(&DEMO, &req);
        let got = reason_codes(&d.reasons);
        prop_assert!(!got.is_empty(), "a decision without reasons: {d:?}");
        prop_assert!(!got.contains(&codes::POLICY_EVALUATION_ERROR), "{d:?}");
        prop_assert!(!got.contains(&codes::NO_MATCHING_RULE), "{d:?}");
        for r in &d.reasons {
            prop_assert!(!r.message.is_empty(), "a reason without message: {r:?}");
        }
        match d.outcome {
            LinkOutcome::RequireAction => {
                prop_assert!(!d.required_actions.is_empty(), "{d:?}");
                for (i, a) in d.required_actions.iter().enumerate() {
                    prop_assert!(!d.required_actions[..i].contains(a), "{a:?} twice: {d:?}");
                }
            }
            LinkOutcome::Link | LinkOutcome::Deny => {
                prop_assert_eq!(&d.required_actions, &[], "{:?}", d);
            }
        }
        prop_assert_eq!(d.meta.evaluated_at, req.wallet.as_of);
        match DEMO.merchants.get(&req.wallet.merchant_id) {
            None => prop_assert_eq!(
                (d.outcome, got),
                (LinkOutcome::Deny, vec![codes::UNKNOWN_MERCHANT])
            ),
            // Health not sent is not a score of 0: it is its own reason.
            Some(_) if !req.health_reported => prop_assert_eq!(
                (d.outcome, got),
                (LinkOutcome::Deny, vec!["HEALTH_NOT_REPORTED"])
            ),
            Some((m, _)) if m.min_health_score.is_some_and(|min| req.health.score < min) => prop_assert_eq!(
                (d.outcome, got),
                (LinkOutcome::Deny, vec!["HEALTH_SCORE_TOO_LOW"])
            ),
            // Healthy enough: never denied, one deciding reason.
            Some(_) => {
                prop_assert_ne!(d.outcome, LinkOutcome::Deny, "{:?}", d);
                prop_assert_eq!(d.reasons.len(), 1, "{:?}", d);
            }
        }
    }
}
