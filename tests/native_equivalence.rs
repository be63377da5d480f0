//! The native evaluator must decide exactly as the CEL interpreter does:
//! every decision of the demo bundle, on random requests of all three
//! decision types, compared between the two (all but the decision id).
//! And beyond the demo's expressions: a bundle generated from the fact
//! declarations themselves reads every declared fact (conditions, `has()`,
//! map keys, rendered values), so a fact added to a table is compared
//! between the two evaluators without anyone writing a rule for it.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use proptest::prelude::*;
use tollgate::{
    bundle::{
        self, BundleFiles, CompiledBundle,
        facts::{Context, Table, Ty, item},
        types::{payment::facts as payment_facts, plan_change::facts as plan_change_facts},
    },
    domain::{
        AutoCharge, BillingInput, ChargeFunding, ChargeFundingInput, HealthIndex, MethodInput,
        PaymentLink, PaymentLinkInput, PlanChange, PlanChangeInput, WalletInput,
    },
    engine,
    reload::BundleSource,
};

fn demo() -> CompiledBundle {
    let files = BundleSource::Embedded.read().expect("demo files");
    bundle::compile(&files).expect("demo compiles")
}

fn bundles() -> &'static (CompiledBundle, CompiledBundle) {
    static BUNDLES: std::sync::OnceLock<(CompiledBundle, CompiledBundle)> =
        std::sync::OnceLock::new();
    BUNDLES.get_or_init(|| (demo(), demo().interpreted()))
}

/// A condition and a rendered value that read `path`, by its type.
fn reads(path: &str, ty: Ty) -> [(String, String); 2] {
    let (when, shown) = match ty {
        Ty::Bool => (path.to_owned(), format!("{{{path}}}")),
        Ty::Int => (
            format!("{path} % 2 == 0 || {path} > 1000"),
            format!("{{{path} + 1}}"),
        ),
        Ty::Double => (format!("{path} >= 2.5"), format!("{{{path} * 2.0}}")),
        Ty::Str => (
            format!("{path} == 'free' || size({path}) > 5"),
            format!("{{{path} + '!'}}"),
        ),
        Ty::Timestamp => (format!("int({path}) > 1750000000"), format!("{{{path}}}")),
        Ty::StrList => (
            format!("'m0' in {path} || size({path}) > 1"),
            format!("{{{path}}}"),
        ),
        Ty::Records => (
            format!("size({path}) > 0 && {path}[0].type == 'CREDIT_CARD'"),
            format!("{{size({path}) > 0 ? {path}[0].id + {path}[0].status : 'none'}}"),
        ),
        Ty::Metrics => (
            format!("'users' in {path} && {path}.users > 3.0 || has({path}.api_calls)"),
            format!("{{size({path})}} {{{path}.users}}"),
        ),
        Ty::Strings => (
            format!("has({path}.channel) && {path}.channel == 'web'"),
            format!("{{size({path})}}"),
        ),
        Ty::Data if path.ends_with("attributes") && !path.starts_with("merchant") => (
            format!("{path}.contract_only == true"),
            format!("{{{path}.contract_only}}"),
        ),
        Ty::Data => (format!("has({path}.tier)"), format!("{{size({path})}}")),
    };
    [
        (when.clone(), shown),
        (format!("!({when})"), format!("{{{when}}}")),
    ]
}

/// Deny rules reading every fact of `table`; `has()` for optional ones.
fn rules_for<C: Context>(table: Table<C>, prefix: &str, deny: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut rule = |when: &str, message: &str| {
        n += 1;
        let when = when.replace('"', "\\\"");
        let message = message.replace('"', "\\\"");
        out.push_str(&format!(
            "  - {{ id: {prefix}-{n}, effect: {deny}, when: \"{when}\", reason: {{ code: R{n}, message: {{ en: \"{message}\", ja: \"{message}\" }} }} }}\n"
        ));
    };
    for fact in table.iter() {
        for (when, shown) in reads(fact.path, fact.ty) {
            rule(&when, &shown);
        }
        if fact.optional {
            rule(
                &format!("has({})", fact.path),
                &format!("{{has({})}}", fact.path),
            );
        }
    }
    out
}

/// The demo's catalogue and merchants with rules generated from every
/// declared fact, compiled natively and for the interpreter.
fn every_fact() -> &'static (CompiledBundle, CompiledBundle) {
    static BUNDLES: std::sync::OnceLock<(CompiledBundle, CompiledBundle)> =
        std::sync::OnceLock::new();
    BUNDLES.get_or_init(|| {
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/demo");
        let mut files = BundleFiles::default();
        for name in ["bundle.yaml", "plans.yaml", "merchants.yaml"] {
            files.insert(name, std::fs::read(demo.join(name)).expect("demo file"));
        }
        let mut items = String::new();
        for fact in item::FACTS {
            let [(when, shown), _] = reads(fact.path, fact.ty);
            items.push_str(&format!(
                "  - {{ id: item-{}, for_each: target.limits, effect: deny, when: \"{when}\", reason: {{ code: ITEM, message: {{ en: \"{shown}\", ja: \"{shown}\" }} }} }}\n",
                fact.path
            ));
        }
        let rules = format!(
            "plan_change_rules:\n{}{items}payment_link_rules:\n{}charge_funding_rules:\n{}",
            rules_for(plan_change_facts::TABLE, "plan", "deny"),
            rules_for(payment_facts::LINK, "link", "deny"),
            rules_for(payment_facts::FUNDING, "funding", "decline"),
        );
        files.insert("rules.yaml", rules.into_bytes());
        let native = bundle::compile(&files).unwrap_or_else(|e| panic!("generated bundle: {e:?}"));
        let (ran_natively, total) = native.native_coverage();
        assert_eq!(ran_natively, total, "every generated expression has a native form");
        let interpreted = bundle::compile(&files).expect("compiles").interpreted();
        assert_eq!(interpreted.native_coverage().0, 0);
        (native, interpreted)
    })
}

fn instant(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).expect("in range")
}

const PLANS: &[&str] = &["free", "standard", "premium", "enterprise", "platinum"];
const ROLES: &[&str] = &["TENANT", "RESELLER", "PROVIDER", "OPERATOR"];
const MERCHANTS: &[&str] = &["video-stream", "ride-share", "bookshop", "meal-kit"];
const TYPES: &[&str] = &[
    "BALANCE",
    "CREDIT_CARD",
    "DEBIT_CARD",
    "BANK_ACCOUNT",
    "POSTPAID",
    "POINTS",
];
const STATUSES: &[&str] = &["ACTIVE", "SUSPENDED", "EXPIRED"];

fn metric_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        (0u32..2_000_000).prop_map(|v| Some(f64::from(v) / 4.0))
    ]
}

prop_compose! {
    fn plan_change()(
        from in 0..PLANS.len(), to in 0..PLANS.len(), role in 0..ROLES.len(),
        // The demo's resellers (one with per-plan directions), one it does
        // not know, and none.
        requester in prop::sample::select(vec!["", "reseller-7", "reseller-9", "reseller-404"]),
        users in metric_value(), storage in metric_value(), calls in metric_value(),
        typo in any::<bool>(),
        as_of in 1_600_000_000i64..1_900_000_000, commitment in prop::option::of(1_600_000_000i64..1_900_000_000),
        period_end in prop::option::of(1_600_000_000i64..1_900_000_000), anchor in 0u32..32,
        zone in prop::sample::select(vec!["", "UTC", "Asia/Tokyo", "America/New_York"]),
    ) -> PlanChangeInput {
        let mut usage = std::collections::BTreeMap::new();
        if let Some(u) = users { usage.insert("users".to_owned(), u); }
        if let Some(s) = storage { usage.insert("storage_gb".to_owned(), s); }
        // A metric the demo does not declare: `request.unknown_metrics`.
        if typo { usage.insert("user".to_owned(), 1.0); }
        let mut period_usage = std::collections::BTreeMap::new();
        if let Some(c) = calls { period_usage.insert("api_calls".to_owned(), c * 4.0); }
        PlanChangeInput {
            tenant_id: "t1".to_owned(),
            from_plan: PLANS[from].to_owned(),
            to_plan: PLANS[to].to_owned(),
            requester_role: Some(ROLES[role].to_owned()).into(),
            requester_id: requester.to_owned(),
            usage,
            period_usage,
            billing: BillingInput {
                commitment_end: commitment.map(instant),
                current_period_end: period_end.filter(|e| *e > as_of).map(instant),
                anchor_day: anchor,
                time_zone: zone.to_owned(),
                ..BillingInput::default()
            },
            as_of: Some(instant(as_of)),
            explain: true,
            ..PlanChangeInput::default()
        }
    }
}

prop_compose! {
    fn wallet()(
        merchant in 0..MERCHANTS.len(),
        methods in prop::collection::vec((0..TYPES.len(), 0..STATUSES.len(), 0u32..4), 0..5),
        auto in prop::option::of((any::<bool>(), 0usize..5, 0i64..5000, 0i64..6000)),
    ) -> WalletInput {
        let methods: Vec<MethodInput> = methods.iter().enumerate().map(|(i, (t, s, r))| MethodInput {
            id: format!("m{i}"),
            kind: Some(TYPES[*t].to_owned()).into(),
            status: Some(STATUSES[*s].to_owned()).into(),
            fallback_rank: *r,
        }).collect();
        let auto_charge = auto.map(|(enabled, src, threshold, amount)| AutoCharge {
            enabled: enabled && !methods.is_empty(),
            source_method_id: methods.get(src % methods.len().max(1)).map(|m| m.id.clone()).unwrap_or_default(),
            threshold_minor: threshold,
            amount_minor: amount,
        });
        WalletInput {
            user_id: "u1".to_owned(),
            merchant_id: MERCHANTS[merchant].to_owned(),
            methods,
            auto_charge,
            as_of: Some(instant(1_800_000_000)),
            explain: true,
            ..WalletInput::default()
        }
    }
}

/// The demo bundle and the bundle reading every declared fact, each
/// compiled natively and for the interpreter.
fn pairs() -> [&'static (CompiledBundle, CompiledBundle); 2] {
    [bundles(), every_fact()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn plan_change_decisions_match_the_interpreter(input in plan_change(), web in any::<bool>()) {
        let mut input = input;
        if web { input.attributes.insert("channel".to_owned(), "web".to_owned()); }
        let req = PlanChange::parse(input, instant(0)).expect("valid");
        for (native, interpreted) in pairs() {
            // A decision, or the same precondition failure.
            let mut a = engine::decide_plan_change(native, &req);
            let b = engine::decide_plan_change(interpreted, &req);
            if let (Ok(a), Ok(b)) = (&mut a, &b) {
                a.meta.decision_id = b.meta.decision_id;
            }
            prop_assert_eq!(a, b);
        }
        let generated = engine::decide_plan_change(&every_fact().0, &req);
        let reasons = generated.as_ref().map(|d| d.reasons.len()).unwrap_or_default();
        prop_assert!(reasons > 10, "the generated rules ran: {:?}", generated);
    }

    #[test]
    fn payment_link_decisions_match_the_interpreter(wallet in wallet(), score in prop::option::of(0u32..=100)) {
        let input = PaymentLinkInput { wallet, health: score.map(|score| HealthIndex { score, ..HealthIndex::default() }) };
        let req = PaymentLink::parse(input, instant(0)).expect("valid");
        for (native, interpreted) in pairs() {
            let mut a = engine::decide_payment_link(native, &req);
            let b = engine::decide_payment_link(interpreted, &req);
            a.meta.decision_id = b.meta.decision_id;
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn charge_funding_decisions_match_the_interpreter(
        wallet in wallet(), amount in 1i64..20_000, balance in 0i64..20_000, usd in any::<bool>(),
    ) {
        let input = ChargeFundingInput {
            wallet,
            currency: Some(if usd { "USD" } else { "JPY" }.to_owned()),
            amount_minor: amount,
            balance_minor: balance,
        };
        let req = ChargeFunding::parse(input, instant(0)).expect("valid");
        for (native, interpreted) in pairs() {
            let mut a = engine::decide_charge_funding(native, &req);
            let b = engine::decide_charge_funding(interpreted, &req);
            a.meta.decision_id = b.meta.decision_id;
            prop_assert_eq!(a, b);
        }
    }
}
