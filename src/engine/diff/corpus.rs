//! The requests a diff decides beside the bundles' tests, generated from
//! what the bundles declare so that it follows them: the values each rule
//! can compare against (limits, quotas, criteria, thresholds) come from the
//! catalogue and the merchant settings of both bundles, and each is probed
//! just below, at and just above.
//!
//! Its size is bounded by the declarations, not by chance:
//!
//! - plan changes: every (source, target) pair of the plans of either
//!   bundle × every requester (tenant, provider, operator, each declared
//!   reseller or one unknown reseller) × (usage not reported, every metric
//!   at zero, and each limit or quota value −1, at, +1 with the others at
//!   zero) × (within a commitment term, or none);
//! - payment links: every merchant of either bundle (and one unlisted
//!   merchant when either bundle has a default profile) × balance active
//!   or suspended × (no second method, or every other method type active
//!   or suspended, with auto-charge off, or on from it with the amount and
//!   the threshold each −1, at, +1 of every criterion) × health not
//!   reported or −1, at, +1 of every minimum;
//! - charges: the same wallets × a balance that covers the charge, one
//!   short of it, or empty.
//!
//! The demo bundle against itself yields 6 922 requests (4 640 plan
//! changes, 2 282 payment links and charges).

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};

use crate::{
    bundle::{CompiledBundle, Merchant, TestRequest},
    domain::{
        AutoCharge, BillingInput, ChargeFundingInput, EnumInput, HealthIndex, MethodInput,
        MethodStatus, MethodType, PaymentLinkInput, PlanChangeInput, RequesterRole, WalletInput,
    },
};

/// The charge every generated funding request asks for, in minor units.
const CHARGE_MINOR: i64 = 5000;

/// The id of the merchant that stands for those a bundle does not list.
pub const UNLISTED_MERCHANT: &str = "unlisted-merchant";

/// Every generated request with how a report shows it, in a stable order.
pub fn generate(bundles: &[&CompiledBundle], now: Timestamp) -> Vec<(TestRequest, String)> {
    let mut out = plan_changes(bundles, now);
    out.extend(payments(bundles, now));
    out
}

/// `-1, at, +1` of `v`, never negative.
fn around(v: f64) -> [f64; 3] {
    [(v - 1.0).max(0.0), v, v + 1.0]
}

fn plan_changes(bundles: &[&CompiledBundle], now: Timestamp) -> Vec<(TestRequest, String)> {
    // Plans by (rank in the first bundle that has them, id).
    let mut plans: BTreeMap<String, i64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    let mut quotas: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    let mut resellers = BTreeSet::new();
    for b in bundles {
        for plan in b.catalog.plans.values() {
            plans.entry(plan.id.clone()).or_insert(plan.rank);
            for (m, v) in &plan.limits {
                limits.entry(m).or_default().insert(v.to_bits());
            }
            for (m, v) in &plan.quotas {
                quotas.entry(m).or_default().insert(v.to_bits());
            }
        }
        resellers.extend(b.catalog.resellers.keys().cloned());
    }
    let mut plans: Vec<(i64, String)> = plans.into_iter().map(|(id, r)| (r, id)).collect();
    plans.sort();

    // Usage points: nothing reported; everything at zero; one metric moved.
    let zero = |metrics: &BTreeMap<&str, BTreeSet<u64>>| -> BTreeMap<String, f64> {
        metrics.keys().map(|m| ((*m).to_owned(), 0.0)).collect()
    };
    let (zero_usage, zero_period) = (zero(&limits), zero(&quotas));
    let mut points = vec![
        (BTreeMap::new(), BTreeMap::new()),
        (zero_usage.clone(), zero_period.clone()),
    ];
    let mut moved = |metrics: &BTreeMap<&str, BTreeSet<u64>>, stock: bool| {
        for (m, values) in metrics {
            let probes: BTreeSet<u64> = values
                .iter()
                .flat_map(|v| around(f64::from_bits(*v)))
                .map(f64::to_bits)
                .collect();
            for p in probes {
                let (mut usage, mut period) = (zero_usage.clone(), zero_period.clone());
                let map = if stock { &mut usage } else { &mut period };
                map.insert((*m).to_owned(), f64::from_bits(p));
                points.push((usage, period));
            }
        }
    };
    moved(&limits, true);
    moved(&quotas, false);

    let mut requesters = vec![
        (RequesterRole::Tenant, String::new()),
        (RequesterRole::Provider, String::new()),
        (RequesterRole::Operator, String::new()),
    ];
    if resellers.is_empty() {
        resellers.insert("unknown-reseller".to_owned());
    }
    requesters.extend(resellers.into_iter().map(|r| (RequesterRole::Reseller, r)));

    let day = |d: i64| {
        now.saturating_add(SignedDuration::from_hours(24 * d))
            .unwrap_or(now)
    };
    let mut out = Vec::new();
    for (_, from) in &plans {
        for (_, to) in &plans {
            for (role, id) in &requesters {
                for (usage, period_usage) in &points {
                    for committed in [false, true] {
                        let input = PlanChangeInput {
                            tenant_id: "tenant-1".to_owned(),
                            from_plan: from.clone(),
                            to_plan: to.clone(),
                            requester_role: EnumInput::Typed(*role),
                            requester_id: id.clone(),
                            usage: usage.clone(),
                            period_usage: period_usage.clone(),
                            billing: BillingInput {
                                current_period_start: Some(day(-10)),
                                current_period_end: Some(day(20)),
                                commitment_end: committed.then(|| day(90)),
                                anchor_day: 1,
                                time_zone: String::new(),
                            },
                            as_of: Some(now),
                            ..PlanChangeInput::default()
                        };
                        let who = if id.is_empty() {
                            role.as_str().to_owned()
                        } else {
                            format!("{} `{id}`", role.as_str())
                        };
                        let shown = format!(
                            "plan_change {from} → {to} by {who}, usage {}, period_usage {}{}",
                            map_text(usage),
                            map_text(period_usage),
                            if committed { ", in commitment" } else { "" }
                        );
                        out.push((TestRequest::PlanChange(input), shown));
                    }
                }
            }
        }
    }
    out
}

fn map_text(m: &BTreeMap<String, f64>) -> String {
    let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", items.join(", "))
}

/// What a merchant's rules can compare against, from every bundle that
/// knows it.
#[derive(Default)]
struct Probes {
    currency: Option<String>,
    health: BTreeSet<u32>,
    amounts: BTreeSet<i64>,
    thresholds: BTreeSet<i64>,
}

impl Probes {
    fn add(&mut self, m: &Merchant) {
        self.currency.get_or_insert_with(|| m.currency.to_string());
        self.health.extend(m.min_health_score);
        self.amounts.insert(m.auto_charge.min_amount_minor);
        self.thresholds.insert(m.auto_charge.min_threshold_minor);
    }
}

/// One wallet of the corpus: its methods, its auto-charge and how a report
/// shows them.
struct WalletCase {
    methods: Vec<MethodInput>,
    auto_charge: Option<AutoCharge>,
    shown: String,
}

fn method(id: &str, kind: MethodType, status: MethodStatus, rank: u32) -> MethodInput {
    MethodInput {
        id: id.to_owned(),
        kind: EnumInput::Typed(kind),
        status: EnumInput::Typed(status),
        fallback_rank: rank,
    }
}

fn wallets(p: &Probes) -> Vec<WalletCase> {
    let statuses = [MethodStatus::Active, MethodStatus::Suspended];
    // Auto-charge settings: off, or each criterion probed with the other met.
    let most = |s: &BTreeSet<i64>| s.last().copied().unwrap_or(0);
    let mut autos: Vec<Option<(i64, i64)>> = vec![None];
    let mut seen = BTreeSet::new();
    for a in &p.amounts {
        for amount in [a - 1, *a, a + 1] {
            if amount >= 0 && seen.insert((amount, most(&p.thresholds))) {
                autos.push(Some((amount, most(&p.thresholds))));
            }
        }
    }
    for t in &p.thresholds {
        for threshold in [t - 1, *t, t + 1] {
            if threshold >= 0 && seen.insert((most(&p.amounts), threshold)) {
                autos.push(Some((most(&p.amounts), threshold)));
            }
        }
    }
    let mut out = Vec::new();
    for balance in statuses {
        let base = method("balance", MethodType::Balance, balance, 0);
        out.push(WalletCase {
            methods: vec![base.clone()],
            auto_charge: None,
            shown: format!("balance {}", balance.as_str()),
        });
        for kind in MethodType::ALL
            .into_iter()
            .filter(|t| *t != MethodType::Balance)
        {
            for status in statuses {
                for auto in &autos {
                    let second = method("second", kind, status, 1);
                    let auto_charge = auto.map(|(amount, threshold)| AutoCharge {
                        enabled: true,
                        source_method_id: "second".to_owned(),
                        threshold_minor: threshold,
                        amount_minor: amount,
                    });
                    let auto_shown = auto.map_or(", auto-charge off".to_owned(), |(a, t)| {
                        format!(", auto-charge {a} below {t}")
                    });
                    out.push(WalletCase {
                        methods: vec![base.clone(), second],
                        auto_charge,
                        shown: format!(
                            "balance {}, {} {} (fallback 1){auto_shown}",
                            balance.as_str(),
                            kind.as_str(),
                            status.as_str()
                        ),
                    });
                }
            }
        }
    }
    out
}

/// The payment part of [`generate`]: for every merchant, its link
/// requests and its charge requests. `tollgate lint` reads what one bundle
/// reaches over them (its payment gaps).
pub fn payments(bundles: &[&CompiledBundle], now: Timestamp) -> Vec<(TestRequest, String)> {
    let mut merchants: BTreeMap<String, Probes> = BTreeMap::new();
    for b in bundles {
        for (id, m) in &b.merchants.by_id {
            merchants.entry(id.clone()).or_default().add(m);
        }
        if let Some(m) = &b.merchants.default {
            merchants
                .entry(UNLISTED_MERCHANT.to_owned())
                .or_default()
                .add(m);
        }
    }
    let mut out = Vec::new();
    for (id, probes) in &merchants {
        let currency = probes.currency.clone().unwrap_or_else(|| "JPY".to_owned());
        let mut health: Vec<Option<u32>> = vec![None];
        let scores: BTreeSet<u32> = probes
            .health
            .iter()
            .flat_map(|h| [h.saturating_sub(1), *h, (h + 1).min(100)])
            .collect();
        health.extend(scores.into_iter().map(Some));
        for w in wallets(probes) {
            let wallet = WalletInput {
                user_id: "user-1".to_owned(),
                merchant_id: id.clone(),
                methods: w.methods.clone(),
                auto_charge: w.auto_charge.clone(),
                as_of: Some(now),
                ..WalletInput::default()
            };
            for score in &health {
                let input = PaymentLinkInput {
                    wallet: wallet.clone(),
                    health: score.map(|score| HealthIndex {
                        score,
                        signals: BTreeMap::new(),
                    }),
                };
                let h = score.map_or("not reported".to_owned(), |s| s.to_string());
                let shown = format!("payment_link `{id}`: {}, health {h}", w.shown);
                out.push((TestRequest::PaymentLink(input), shown));
            }
            for balance in [CHARGE_MINOR, CHARGE_MINOR - 1, 0] {
                let input = ChargeFundingInput {
                    wallet: wallet.clone(),
                    currency: Some(currency.clone()),
                    amount_minor: CHARGE_MINOR,
                    balance_minor: balance,
                };
                let shown = format!(
                    "charge_funding `{id}` {CHARGE_MINOR} {currency}: {}, balance {balance}",
                    w.shown
                );
                out.push((TestRequest::ChargeFunding(input), shown));
            }
        }
    }
    out
}
