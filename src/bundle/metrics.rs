//! The metrics of the catalogue, each declared once (`metrics:`): whether
//! it is a stock (reported in `usage`) or counted per period (reported in
//! `period_usage`), its unit and display names. The plans' limits and
//! quotas are checked against the declarations, and so is every request.
//!
//! A bundle without a `metrics:` section declares nothing: its plans may
//! limit any metric and requests are not checked (the behaviour of bundles
//! written before metrics were declared).

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Location,
    parse::Parsed,
    problems::Problems,
    schema::{DisplayNameDoc, PlanDoc},
};
use crate::domain::Violations;

/// How a metric is counted, which decides where a request reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// What the tenant has now (users, storage): `usage`, plans' `limits`.
    Stock,
    /// Counted per billing period (API calls): `period_usage`, plans' `quotas`.
    Period,
}

impl MetricKind {
    /// The bundle spelling (`stock`, `period`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stock => "stock",
            Self::Period => "period",
        }
    }
}

/// A metric's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayName {
    /// None declared: the id stands in.
    None,
    /// The same name in every locale.
    One(String),
    /// A name per locale tag, as declared (tags are not checked here).
    ByLocale(BTreeMap<String, String>),
}

/// One declared metric.
#[derive(Debug, Clone)]
pub struct Metric {
    /// Its id, the key requests and plans use.
    pub id: String,
    /// Stock or period.
    pub kind: MetricKind,
    /// Its unit, for people; may be empty.
    pub unit: String,
    /// The names a screen shows.
    pub display_name: DisplayName,
}

impl Metric {
    /// The display name in `locale` (an exact tag, then its language),
    /// else the one name, the `en` name, the first declared, or the id.
    pub fn display_name(&self, locale: &str) -> &str {
        match &self.display_name {
            DisplayName::None => &self.id,
            DisplayName::One(name) => name,
            DisplayName::ByLocale(names) => {
                let language = locale.split(['-', '_']).next().unwrap_or(locale);
                [locale, language, "en"]
                    .iter()
                    .find_map(|tag| names.get(*tag))
                    .or_else(|| names.values().next())
                    .map_or(&self.id, |n| n)
            }
        }
    }
}

/// The declared metrics; empty when the bundle has no `metrics:` section.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    by_id: BTreeMap<String, Metric>,
}

/// Where a request reports a metric, and what the bundle says of it.
pub struct RequestMetrics {
    /// A declared metric reported in the other map: the request is refused.
    pub misplaced: Violations,
    /// Reported metrics the catalogue does not declare, sorted, each once.
    pub unknown: Vec<String>,
}

impl Metrics {
    /// Whether the bundle declares its metrics at all.
    pub fn declared(&self) -> bool {
        !self.by_id.is_empty()
    }

    /// The declaration of `id`.
    pub fn get(&self, id: &str) -> Option<&Metric> {
        self.by_id.get(id)
    }

    /// Every declared metric, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Metric> {
        self.by_id.values()
    }

    /// Checks a request's two maps against the declarations: a stock metric
    /// belongs in `usage`, a period metric in `period_usage`. Nothing is
    /// checked when the bundle declares no metrics.
    pub fn check(
        &self,
        usage: &BTreeMap<String, f64>,
        period_usage: &BTreeMap<String, f64>,
    ) -> RequestMetrics {
        let mut misplaced = Violations::default();
        let mut unknown = BTreeSet::new();
        if self.declared() {
            for (field, map, belongs) in [
                ("usage", usage, MetricKind::Stock),
                ("period_usage", period_usage, MetricKind::Period),
            ] {
                for name in map.keys() {
                    match self.by_id.get(name) {
                        None => {
                            unknown.insert(name);
                        }
                        Some(m) if m.kind != belongs => {
                            misplaced.push(format!("{field}[\"{name}\"]"), misplaced_text(m));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        RequestMetrics {
            misplaced,
            unknown: unknown.into_iter().cloned().collect(),
        }
    }
}

fn misplaced_text(m: &Metric) -> String {
    match m.kind {
        MetricKind::Period => format!("{} is counted per period; send it in period_usage", m.id),
        MetricKind::Stock => format!("{} is a stock metric; send it in usage", m.id),
    }
}

/// The `metrics:` sections of every file.
pub(super) fn metrics(p: &mut Problems, parsed: &[Parsed]) -> Metrics {
    let mut by_id = BTreeMap::new();
    for f in parsed {
        for doc in &f.doc.metrics {
            let at = Location::from(doc);
            let d = &doc.value;
            if d.id.trim().is_empty() {
                p.at(&f.file, at, "metric id is empty");
                continue;
            }
            let kind = match d.kind.value.as_str() {
                "stock" => MetricKind::Stock,
                "period" => MetricKind::Period,
                other => {
                    p.at(
                        &f.file,
                        (&d.kind).into(),
                        format!(
                            "metric `{}`: kind: `{other}` is not `stock` or `period`",
                            d.id
                        ),
                    );
                    continue;
                }
            };
            let display_name = match &d.display_name {
                None => DisplayName::None,
                Some(DisplayNameDoc::One(name)) => DisplayName::One(name.clone()),
                Some(DisplayNameDoc::ByLocale(names)) => DisplayName::ByLocale(names.clone()),
            };
            let metric = Metric {
                id: d.id.clone(),
                kind,
                unit: d.unit.clone(),
                display_name,
            };
            if by_id.insert(d.id.clone(), metric).is_some() {
                p.at(&f.file, at, format!("metric `{}` is declared twice", d.id));
            }
        }
    }
    Metrics { by_id }
}

/// A plan's limits name declared stock metrics and its quotas declared
/// period metrics, when the bundle declares metrics.
pub(super) fn check_plan(
    p: &mut Problems,
    file: &str,
    at: Location,
    plan: &PlanDoc,
    metrics: &Metrics,
) {
    if !metrics.declared() {
        return;
    }
    for (key, names, wanted) in [
        ("limits", &plan.limits, MetricKind::Stock),
        ("quotas", &plan.quotas, MetricKind::Period),
    ] {
        for name in names.keys() {
            let message = match metrics.get(name) {
                None => format!("undeclared metric `{name}` (declare it in `metrics`)"),
                Some(m) if m.kind != wanted => format!(
                    "`{name}` is a {} metric; {}",
                    m.kind.as_str(),
                    match m.kind {
                        MetricKind::Period => "limit it in `quotas`",
                        MetricKind::Stock => "limit it in `limits`",
                    }
                ),
                Some(_) => continue,
            };
            p.at(file, at, format!("plan `{}`: {key}: {message}", plan.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(display_name: DisplayName) -> Metric {
        Metric {
            id: "users".to_owned(),
            kind: MetricKind::Stock,
            unit: String::new(),
            display_name,
        }
    }

    #[test]
    fn a_display_name_is_picked_by_tag_then_language_then_en() {
        let names = [("en", "Users"), ("ja", "利用者数"), ("pt-BR", "Usuários")];
        let m = metric(DisplayName::ByLocale(
            names
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ));
        assert_eq!(m.display_name("ja"), "利用者数");
        assert_eq!(m.display_name("ja-JP"), "利用者数");
        assert_eq!(m.display_name("pt-BR"), "Usuários");
        assert_eq!(m.display_name("fr"), "Users");
        assert_eq!(m.display_name(""), "Users");
        assert_eq!(
            metric(DisplayName::One("Seats".to_owned())).display_name("ja"),
            "Seats"
        );
        assert_eq!(metric(DisplayName::None).display_name("en"), "users");
        let only_ja = [("ja".to_owned(), "利用者数".to_owned())].into();
        assert_eq!(
            metric(DisplayName::ByLocale(only_ja)).display_name("en"),
            "利用者数"
        );
    }

    #[test]
    fn nothing_is_checked_without_declarations() {
        let usage = [("api_calls".to_owned(), 1.0)].into();
        let checked = Metrics::default().check(&usage, &BTreeMap::new());
        assert!(checked.misplaced.is_empty());
        assert!(checked.unknown.is_empty());
    }
}
