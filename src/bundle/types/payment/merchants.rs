//! Merchant settings (加盟店情報) as a bundle states them: each merchant, the
//! default profile, and the bundle-wide `payments:` defaults they take.

use serde_saphyr::Spanned;

use crate::{
    bundle::{
        Location,
        model::{AutoChargeCriterion, IdMap, Merchant, Merchants},
        parse::Parsed,
        problems::Problems,
        schema::MerchantDoc,
    },
    domain::{Currency, MethodType},
};

/// Reads every merchant and the default profile.
pub(crate) fn merchants(p: &mut Problems, parsed: &[Parsed]) -> Merchants {
    let defaults = payments(p, parsed);
    let mut by_id = IdMap::default();
    let mut default = None;
    for f in parsed {
        for doc in &f.doc.merchants {
            let Some(id) = doc.value.id.clone().filter(|id| !id.trim().is_empty()) else {
                p.at(&f.file, doc.into(), "merchant: `id` is required");
                continue;
            };
            if let Some(m) = merchant(p, &f.file, doc, &id, &defaults)
                && by_id.insert(id.clone(), m).is_some()
            {
                p.at(
                    &f.file,
                    doc.into(),
                    format!("merchant `{id}` is defined twice"),
                );
            }
        }
        if let Some(doc) = &f.doc.default_merchant {
            if doc.value.id.is_some() {
                p.at(&f.file, doc.into(), "default_merchant: has no `id`");
            } else if default.is_some() {
                p.at(&f.file, doc.into(), "default_merchant: is defined twice");
            } else {
                default = merchant(p, &f.file, doc, "", &defaults);
            }
        }
    }
    Merchants { by_id, default }
}

/// What merchants take when they do not say (`payments:`, once per bundle).
#[derive(Default)]
struct Defaults {
    min_health_score: Option<u32>,
}

fn payments(p: &mut Problems, parsed: &[Parsed]) -> Defaults {
    let mut out = Defaults::default();
    let mut seen = false;
    for f in parsed {
        let Some(doc) = &f.doc.payments else {
            continue;
        };
        if std::mem::replace(&mut seen, true) {
            p.at(&f.file, doc.into(), "payments: is defined twice");
            continue;
        }
        if let Some(score) = &doc.value.default_min_health_score {
            if score.value > 100 {
                p.at(
                    &f.file,
                    score.into(),
                    format!(
                        "payments: default_min_health_score: `{}` is outside 0-100",
                        score.value
                    ),
                );
            } else {
                out.min_health_score = Some(score.value);
            }
        }
    }
    out
}

fn merchant(
    p: &mut Problems,
    file: &str,
    doc: &Spanned<MerchantDoc>,
    id: &str,
    defaults: &Defaults,
) -> Option<Merchant> {
    let d = &doc.value;
    let at = Location::from(doc);
    let label = if id.is_empty() {
        "default_merchant".to_owned()
    } else {
        format!("merchant `{id}`")
    };
    let before = p.errors.len();
    let currency = Currency::parse(&d.currency);
    if currency.is_none() {
        p.at(
            file,
            at,
            format!(
                "{label}: currency: `{}` is not an ISO 4217 code",
                d.currency
            ),
        );
    }
    let mut accepted = Vec::new();
    for name in &d.accepted_methods {
        match MethodType::parse(name) {
            Some(MethodType::Balance) => p.at(
                file,
                at,
                format!(
                    "{label}: accepted_methods: the balance is always accepted; list other methods"
                ),
            ),
            Some(t) => accepted.push(t),
            None => p.at(
                file,
                at,
                format!("{label}: accepted_methods: `{name}` is not a payment method type"),
            ),
        }
    }
    let min_health_score = match &d.min_health_score {
        Some(s) if s.value > 100 => {
            p.at(
                file,
                s.into(),
                format!("{label}: min_health_score: `{}` is outside 0-100", s.value),
            );
            None
        }
        Some(s) => Some(s.value),
        None => {
            if defaults.min_health_score.is_none() {
                p.warn(
                    file,
                    at,
                    format!(
                        "{label}: no `min_health_score` and no `payments.default_min_health_score`: \
                         rules reading `merchant.min_health_score` fail closed for it"
                    ),
                );
            }
            defaults.min_health_score
        }
    };
    if d.auto_charge.min_amount_minor < 0 || d.auto_charge.min_threshold_minor < 0 {
        p.at(
            file,
            at,
            format!("{label}: auto_charge: minimums must be >= 0"),
        );
    }
    let source_types = source_types(p, file, &label, d.auto_charge.source_types.as_ref());
    if p.errors.len() > before {
        return None;
    }
    Some(Merchant {
        id: id.to_owned(),
        file: file.into(),
        at,
        description: d.description.clone().unwrap_or_default(),
        currency: currency?,
        accepted,
        min_health_score,
        auto_charge: AutoChargeCriterion {
            min_amount_minor: d.auto_charge.min_amount_minor,
            min_threshold_minor: d.auto_charge.min_threshold_minor,
            source_types,
        },
        allow_split: d.allow_split,
        attributes: d.attributes.clone(),
    })
}

/// The method types a merchant's auto-charge may draw on: as listed, or
/// every type but BALANCE when not listed. Auto-charge tops up the balance,
/// so it cannot draw on the balance itself.
fn source_types(
    p: &mut Problems,
    file: &str,
    label: &str,
    doc: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Vec<MethodType> {
    let Some(list) = doc else {
        return MethodType::ALL
            .into_iter()
            .filter(|t| *t != MethodType::Balance)
            .collect();
    };
    if list.value.is_empty() {
        p.at(
            file,
            list.into(),
            format!("{label}: auto_charge: source_types: list at least one type, or leave it out to accept any but BALANCE"),
        );
    }
    let mut out = Vec::new();
    for name in &list.value {
        let problem = match MethodType::parse(&name.value) {
            Some(MethodType::Balance) => {
                "`BALANCE` cannot be a source: auto-charge tops up the balance".to_owned()
            }
            Some(t) if out.contains(&t) => format!("`{}` is listed twice", name.value),
            Some(t) => {
                out.push(t);
                continue;
            }
            None => format!("`{}` is not a payment method type", name.value),
        };
        p.at(
            file,
            name.into(),
            format!("{label}: auto_charge: source_types: {problem}"),
        );
    }
    out
}
