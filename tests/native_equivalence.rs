//! The native evaluator must decide exactly as the CEL interpreter does:
//! every decision of the demo bundle, on random requests of all three
//! decision types, compared between the two (all but the decision id).

#![allow(clippy::expect_used, clippy::indexing_slicing, reason = "test code")]

use proptest::prelude::*;
use tollgate::{
    bundle::{self, CompiledBundle},
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

fn instant(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).expect("in range")
}

const PLANS: &[&str] = &["free", "standard", "premium", "enterprise", "platinum"];
const ROLES: &[&str] = &["TENANT", "RESELLER", "PROVIDER", "OPERATOR"];
const MERCHANTS: &[&str] = &["video-stream", "ride-share", "bookshop"];
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
        users in metric_value(), storage in metric_value(), calls in metric_value(),
        as_of in 1_600_000_000i64..1_900_000_000, commitment in prop::option::of(1_600_000_000i64..1_900_000_000),
        period_end in prop::option::of(1_600_000_000i64..1_900_000_000), anchor in 0u32..32,
        zone in prop::sample::select(vec!["", "UTC", "Asia/Tokyo", "America/New_York"]),
    ) -> PlanChangeInput {
        let mut usage = std::collections::BTreeMap::new();
        if let Some(u) = users { usage.insert("users".to_owned(), u); }
        if let Some(s) = storage { usage.insert("storage_gb".to_owned(), s); }
        let mut period_usage = std::collections::BTreeMap::new();
        if let Some(c) = calls { period_usage.insert("api_calls".to_owned(), c * 4.0); }
        PlanChangeInput {
            tenant_id: "t1".to_owned(),
            from_plan: PLANS[from].to_owned(),
            to_plan: PLANS[to].to_owned(),
            requester_role: Some(ROLES[role].to_owned()),
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
            kind: Some(TYPES[*t].to_owned()),
            status: Some(STATUSES[*s].to_owned()),
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn plan_change_decisions_match_the_interpreter(input in plan_change()) {
        let (native, interpreted) = bundles();
        let req = PlanChange::parse(input, instant(0)).expect("valid");
        let mut a = engine::decide_plan_change(native, &req);
        let b = engine::decide_plan_change(interpreted, &req);
        a.meta.decision_id = b.meta.decision_id;
        prop_assert_eq!(a, b);
    }

    #[test]
    fn payment_link_decisions_match_the_interpreter(wallet in wallet(), score in prop::option::of(0u32..=100)) {
        let (native, interpreted) = bundles();
        let input = PaymentLinkInput { wallet, health: score.map(|score| HealthIndex { score, ..HealthIndex::default() }) };
        let req = PaymentLink::parse(input, instant(0)).expect("valid");
        let mut a = engine::decide_payment_link(native, &req);
        let b = engine::decide_payment_link(interpreted, &req);
        a.meta.decision_id = b.meta.decision_id;
        prop_assert_eq!(a, b);
    }

    #[test]
    fn charge_funding_decisions_match_the_interpreter(
        wallet in wallet(), amount in 1i64..20_000, balance in 0i64..20_000, usd in any::<bool>(),
    ) {
        let (native, interpreted) = bundles();
        let input = ChargeFundingInput {
            wallet,
            currency: Some(if usd { "USD" } else { "JPY" }.to_owned()),
            amount_minor: amount,
            balance_minor: balance,
        };
        let req = ChargeFunding::parse(input, instant(0)).expect("valid");
        let mut a = engine::decide_charge_funding(native, &req);
        let b = engine::decide_charge_funding(interpreted, &req);
        a.meta.decision_id = b.meta.decision_id;
        prop_assert_eq!(a, b);
    }
}
