//! A CEL expression as a rule's condition and reason template, compiled at
//! load and decided over generated facts by the native evaluator and by
//! the CEL interpreter: both decide alike, or both fail alike (an
//! evaluation error fails closed in both). Never a panic, never a stack
//! overflow.
//!
//! The input is text, a NUL byte, then the bytes the facts are drawn from.
//! The text's first line is the condition; its second, when present, the
//! reason message (a template, `{expr}` holes, the same in both of the
//! bundle's locales), else `{condition}`. The rule is the only rule of the
//! decision type the first fact byte picks, in a bundle of the demo's
//! catalogue (its `bundle.yaml`, plans and merchants): compiling the demo's
//! own rules twice per input held the target to a few inputs a second, and
//! the demo's expressions are compared by `tests/native_equivalence.rs`.
//! A rule that must compile (`when: "true"`) is compiled first, so a
//! scaffold that stops compiling fails the run at once instead of leaving
//! every input unchecked.

#![no_main]

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tollgate::{
    bundle::{self, BundleFiles, CompiledBundle},
    domain::{
        Answer, AutoCharge, BillingInput, ChargeFunding, ChargeFundingInput, HealthIndex,
        Languages, MethodInput, PaymentLink, PaymentLinkInput, PlanChange, PlanChangeInput,
        WalletInput,
    },
    engine::{ChargeFundingType, DecisionType, PaymentLinkType, PlanChangeType},
};

/// The demo's catalogue: every file but its rules and tests.
const CATALOGUE: &[(&str, &str)] = &[
    (
        "bundle.yaml",
        include_str!("../../bundles/demo/bundle.yaml"),
    ),
    ("plans.yaml", include_str!("../../bundles/demo/plans.yaml")),
    (
        "merchants.yaml",
        include_str!("../../bundles/demo/merchants.yaml"),
    ),
];
const PLANS: &[&str] = &["free", "standard", "premium", "enterprise", "platinum"];
const ROLES: &[&str] = &["TENANT", "RESELLER", "PROVIDER", "OPERATOR", "NOBODY"];
const METRICS: &[&str] = &["users", "storage_gb", "devices", "api_calls", "prints"];
const KEYS: &[&str] = &["channel", "migration", "tier", "contract_only"];
const MERCHANTS: &[&str] = &[
    "video-stream",
    "ride-share",
    "bookshop",
    "meal-kit",
    "nowhere",
];
const TYPES: &[&str] = &[
    "BALANCE",
    "CREDIT_CARD",
    "DEBIT_CARD",
    "BANK_ACCOUNT",
    "POSTPAID",
    "POINTS",
];
const STATUSES: &[&str] = &["ACTIVE", "SUSPENDED", "EXPIRED"];
const LOCALES: &[&str] = &["", "en", "ja", "ja-JP", "fr", "en-US", "not a tag"];
const ACCEPT: &[&str] = &["", "ja", "en;q=0.5, ja;q=0.9", "fr, *", "*;q=0", "x;q=2"];
const CURRENCIES: &[&str] = &["JPY", "USD", "EUR", "BHD"];
/// 2026-12-01T00:00:00Z, the server clock of every input.
const NOW: i64 = 1_795_996_800;

fn pick<'a>(u: &mut Unstructured, from: &[&'a str]) -> Result<&'a str> {
    u.choose(from).copied()
}

fn instant(u: &mut Unstructured) -> Result<Option<jiff::Timestamp>> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => None,
        // Around now, to the second.
        1 | 2 => jiff::Timestamp::from_second(
            NOW + i64::from(u.int_in_range(-100_000_000..=100_000_000)?),
        )
        .ok(),
        // Anywhere a protobuf Timestamp may be.
        _ => jiff::Timestamp::from_second(u.int_in_range(-62_135_596_800..=253_402_300_799)?).ok(),
    })
}

fn amount(u: &mut Unstructured) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => 0.0,
        1 => f64::from(u.arbitrary::<u32>()?) / 4.0,
        2 => f64::from(u.int_in_range(0u32..=200)?),
        _ => u.arbitrary::<f64>()?.abs(),
    })
}

fn strings(u: &mut Unstructured) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for _ in 0..u.int_in_range(0u8..=3)? {
        out.insert(pick(u, KEYS)?.to_owned(), u.arbitrary::<String>()?);
    }
    Ok(out)
}

fn metrics(u: &mut Unstructured) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for _ in 0..u.int_in_range(0u8..=4)? {
        out.insert(pick(u, METRICS)?.to_owned(), amount(u)?);
    }
    Ok(out)
}

fn plan_change(u: &mut Unstructured) -> Result<PlanChangeInput> {
    Ok(PlanChangeInput {
        tenant_id: "t1".to_owned(),
        from_plan: pick(u, PLANS)?.to_owned(),
        to_plan: pick(u, PLANS)?.to_owned(),
        requester_role: Some(pick(u, ROLES)?.to_owned()).into(),
        requester_id: String::new(),
        usage: metrics(u)?,
        period_usage: metrics(u)?,
        billing: BillingInput {
            current_period_start: instant(u)?,
            current_period_end: instant(u)?,
            commitment_end: instant(u)?,
            anchor_day: u.int_in_range(0..=32)?,
            time_zone: pick(u, &["", "UTC", "Asia/Tokyo", "America/New_York"])?.to_owned(),
        },
        attributes: strings(u)?,
        as_of: instant(u)?,
        explain: u.arbitrary()?,
        locale: pick(u, LOCALES)?.to_owned(),
        accept_language: Languages::accept_language(pick(u, ACCEPT)?).unwrap_or_default(),
    })
}

fn wallet(u: &mut Unstructured) -> Result<WalletInput> {
    let mut methods = Vec::new();
    for i in 0..u.int_in_range(0u8..=5)? {
        methods.push(MethodInput {
            id: format!("m{i}"),
            kind: Some(pick(u, TYPES)?.to_owned()).into(),
            status: Some(pick(u, STATUSES)?.to_owned()).into(),
            fallback_rank: u.int_in_range(0..=4)?,
        });
    }
    let auto_charge = if u.arbitrary()? {
        Some(AutoCharge {
            enabled: u.arbitrary()?,
            source_method_id: format!("m{}", u.int_in_range(0u8..=5)?),
            threshold_minor: u.arbitrary()?,
            amount_minor: u.arbitrary()?,
        })
    } else {
        None
    };
    Ok(WalletInput {
        user_id: "u1".to_owned(),
        merchant_id: pick(u, MERCHANTS)?.to_owned(),
        methods,
        auto_charge,
        attributes: strings(u)?,
        as_of: instant(u)?,
        explain: u.arbitrary()?,
        locale: pick(u, LOCALES)?.to_owned(),
        accept_language: Languages::accept_language(pick(u, ACCEPT)?).unwrap_or_default(),
    })
}

/// The demo's catalogue with `rule` the only rule of `section`, compiled
/// natively and for the interpreter; `None` when it does not compile.
fn bundles(section: &str, rule: &str) -> Option<(CompiledBundle, CompiledBundle)> {
    let files = scaffold(section, rule);
    let native = bundle::compile(&files).ok()?;
    let interpreted = bundle::compile(&files)
        .expect("compiled once")
        .interpreted();
    Some((native, interpreted))
}

/// The catalogue's files and `rules.yaml` holding `rule` alone in `section`.
fn scaffold(section: &str, rule: &str) -> BundleFiles {
    let mut files = BundleFiles::default();
    for (name, text) in CATALOGUE {
        files.insert(*name, text.as_bytes().to_vec());
    }
    files.insert("rules.yaml", format!("{section}:\n{rule}\n").into_bytes());
    files
}

/// The rule the fuzzed condition and message make, in YAML.
fn rule(for_each: &str, effect: &str, when: &str, message: &str) -> String {
    let quoted = |s: &str| serde_json::to_string(s).expect("a string");
    format!(
        "  - {{ id: fuzzed, {for_each}effect: {effect}, when: {}, reason: {{ code: FUZZED, message: {{ en: {m}, ja: {m} }} }} }}",
        quoted(when),
        m = quoted(message)
    )
}

/// Every section's scaffold compiles with a condition that must: else no
/// input would ever reach the comparison.
fn scaffold_compiles() {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    CHECKED.call_once(|| {
        for (section, effect) in [
            ("plan_change_rules", "deny"),
            ("payment_link_rules", "deny"),
            ("charge_funding_rules", "decline"),
        ] {
            let files = rule("", effect, "true", "{1 + 1}");
            if let Err(e) = bundle::compile(&scaffold(section, &files)) {
                panic!("the {section} scaffold does not compile: {e}");
            }
        }
    });
}

/// `req` decided by both bundles: the same decision (but its id), or the
/// same error.
fn agree<T: DecisionType>(native: &CompiledBundle, interpreted: &CompiledBundle, req: &T::Request)
where
    T::Decision: std::fmt::Debug,
{
    match (T::decide(native, req), T::decide(interpreted, req)) {
        (Ok(a), Ok(b)) => {
            let id = |d: &T::Decision| format!("{:?}", d.meta().decision_id);
            let a_shown = format!("{a:?}").replace(&id(&a), "ID");
            let b_shown = format!("{b:?}").replace(&id(&b), "ID");
            assert_eq!(a_shown, b_shown, "native and interpreted decisions differ");
        }
        (a, b) => assert_eq!(a.err(), b.err(), "one evaluator decided, the other did not"),
    }
}

fn run(text: &str, facts: &[u8]) -> Result<()> {
    let mut lines = text.splitn(3, '\n');
    let when = lines.next().unwrap_or_default();
    let message = match lines.next() {
        Some(m) => m.to_owned(),
        None => format!("{{{when}}}"),
    };
    let mut u = Unstructured::new(facts);
    let kind = u.int_in_range(0u8..=3)?;
    let (section, effect, for_each) = match kind {
        0 => ("plan_change_rules", "deny", ""),
        1 => ("plan_change_rules", "deny", "for_each: target.limits, "),
        2 => ("payment_link_rules", "deny", ""),
        _ => ("charge_funding_rules", "decline", ""),
    };
    let rule = rule(for_each, effect, when, &message);
    let Some((native, interpreted)) = bundles(section, &rule) else {
        return Ok(());
    };
    let now = jiff::Timestamp::from_second(NOW).expect("in range");
    match kind {
        0 | 1 => {
            let Ok(req) = PlanChange::parse(plan_change(&mut u)?, now) else {
                return Ok(());
            };
            agree::<PlanChangeType>(&native, &interpreted, &req);
        }
        2 => {
            let health = if u.arbitrary()? {
                Some(HealthIndex {
                    score: u.int_in_range(0..=120)?,
                    signals: metrics(&mut u)?,
                })
            } else {
                None
            };
            let input = PaymentLinkInput {
                wallet: wallet(&mut u)?,
                health,
            };
            let Ok(req) = PaymentLink::parse(input, now) else {
                return Ok(());
            };
            agree::<PaymentLinkType>(&native, &interpreted, &req);
        }
        _ => {
            let input = ChargeFundingInput {
                wallet: wallet(&mut u)?,
                currency: Some(pick(&mut u, CURRENCIES)?.to_owned()),
                amount_minor: u.arbitrary()?,
                balance_minor: u.arbitrary()?,
            };
            let Ok(req) = ChargeFunding::parse(input, now) else {
                return Ok(());
            };
            agree::<ChargeFundingType>(&native, &interpreted, &req);
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let (text, facts) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    scaffold_compiles();
    let _ = run(text, facts);
});
