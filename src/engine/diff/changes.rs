//! What changed between two bundles, in the bundle's own terms: plans,
//! limits and quotas, resellers, merchant settings, and rules (added,
//! removed, reordered, their scope, condition, effect, timing or reason).

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::{CompiledBundle, Effect, Merchant, Part, Plan, Rule, RuleSet, Template};

/// One change: what it is about, and what it was and is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed (`plan \`free\``, `rule \`same-plan\` (plan_change)`).
    pub subject: String,
    /// Which part of it (`added`, `limit users`, `condition`).
    pub what: String,
    /// The old value; empty when it was added.
    pub old: String,
    /// The new value; empty when it was removed.
    pub new: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.old.is_empty(), self.new.is_empty()) {
            (true, _) | (_, true) => write!(f, "{}: {}", self.subject, self.what),
            _ => write!(
                f,
                "{}: {}: {} → {}",
                self.subject, self.what, self.old, self.new
            ),
        }
    }
}

#[derive(Default)]
struct Changes(Vec<Change>);

impl Changes {
    fn push(&mut self, subject: &str, what: &str, old: String, new: String) {
        self.0.push(Change {
            subject: subject.to_owned(),
            what: what.to_owned(),
            old,
            new,
        });
    }

    fn differ<T: PartialEq + std::fmt::Debug>(
        &mut self,
        subject: &str,
        what: &str,
        old: T,
        new: T,
    ) {
        if old != new {
            self.push(subject, what, format!("{old:?}"), format!("{new:?}"));
        }
    }

    /// [`Changes::differ`] for text, shown as it is.
    fn text(&mut self, subject: &str, what: &str, old: String, new: String) {
        if old != new {
            self.push(subject, what, old, new);
        }
    }

    /// Each key of `old` and `new` whose value was added, removed or changed.
    fn maps<V: PartialEq + std::fmt::Debug>(
        &mut self,
        subject: &str,
        what: &str,
        old: &BTreeMap<String, V>,
        new: &BTreeMap<String, V>,
    ) {
        let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for k in keys {
            let shown = |v: Option<&V>| v.map_or("none".to_owned(), |v| format!("{v:?}"));
            let (o, n) = (old.get(k), new.get(k));
            if o != n {
                self.push(subject, &format!("{what} `{k}`"), shown(o), shown(n));
            }
        }
    }
}

/// Every change from `old` to `new`, plans first, then resellers,
/// merchants and each decision type's rules.
pub fn between(old: &CompiledBundle, new: &CompiledBundle) -> Vec<Change> {
    let mut c = Changes::default();
    let plan_ids: BTreeSet<&String> = old
        .catalog
        .plans
        .keys()
        .chain(new.catalog.plans.keys())
        .collect();
    for id in plan_ids {
        let subject = format!("plan `{id}`");
        match (old.catalog.plans.get(id), new.catalog.plans.get(id)) {
            (Some(_), None) => c.push(&subject, "removed", String::new(), String::new()),
            (None, Some(_)) => c.push(&subject, "added", String::new(), String::new()),
            (Some(o), Some(n)) => plan(&mut c, &subject, o, n),
            (None, None) => {}
        }
    }
    let reseller_ids: BTreeSet<&String> = old
        .catalog
        .resellers
        .keys()
        .chain(new.catalog.resellers.keys())
        .collect();
    for id in reseller_ids {
        let subject = format!("reseller `{id}`");
        match (old.catalog.resellers.get(id), new.catalog.resellers.get(id)) {
            (Some(_), None) => c.push(&subject, "removed", String::new(), String::new()),
            (None, Some(_)) => c.push(&subject, "added", String::new(), String::new()),
            (Some(o), Some(n)) => {
                c.differ(&subject, "plans", &o.plans, &n.plans);
                c.text(
                    &subject,
                    "directions",
                    format!("{:?}", o.directions),
                    format!("{:?}", n.directions),
                );
            }
            (None, None) => {}
        }
    }
    let merchant_ids: BTreeSet<&String> = old
        .merchants
        .by_id
        .keys()
        .chain(new.merchants.by_id.keys())
        .collect();
    for id in merchant_ids {
        let subject = format!("merchant `{id}`");
        merchant_pair(
            &mut c,
            &subject,
            old.merchants.by_id.get(id),
            new.merchants.by_id.get(id),
        );
    }
    merchant_pair(
        &mut c,
        "default merchant profile",
        old.merchants.default.as_ref(),
        new.merchants.default.as_ref(),
    );
    rules(&mut c, "plan_change", &old.plan_change, &new.plan_change);
    rules(&mut c, "payment_link", &old.payment_link, &new.payment_link);
    rules(
        &mut c,
        "charge_funding",
        &old.charge_funding,
        &new.charge_funding,
    );
    c.0
}

fn plan(c: &mut Changes, subject: &str, o: &Plan, n: &Plan) {
    c.differ(subject, "rank", o.rank, n.rank);
    c.maps(subject, "limit", &o.limits, &n.limits);
    c.maps(subject, "quota", &o.quotas, &n.quotas);
    c.maps(subject, "attribute", &o.attributes, &n.attributes);
}

fn merchant_pair(c: &mut Changes, subject: &str, o: Option<&Merchant>, n: Option<&Merchant>) {
    match (o, n) {
        (Some(_), None) => c.push(subject, "removed", String::new(), String::new()),
        (None, Some(_)) => c.push(subject, "added", String::new(), String::new()),
        (Some(o), Some(n)) => {
            c.text(
                subject,
                "currency",
                o.currency.to_string(),
                n.currency.to_string(),
            );
            c.differ(subject, "accepted_methods", &o.accepted, &n.accepted);
            c.differ(
                subject,
                "min_health_score",
                o.min_health_score,
                n.min_health_score,
            );
            let (oa, na) = (&o.auto_charge, &n.auto_charge);
            c.differ(
                subject,
                "auto_charge.min_amount_minor",
                oa.min_amount_minor,
                na.min_amount_minor,
            );
            c.differ(
                subject,
                "auto_charge.min_threshold_minor",
                oa.min_threshold_minor,
                na.min_threshold_minor,
            );
            c.differ(
                subject,
                "auto_charge.source_types",
                &oa.source_types,
                &na.source_types,
            );
            c.differ(subject, "allow_split", o.allow_split, n.allow_split);
            c.maps(subject, "attribute", &o.attributes, &n.attributes);
        }
        (None, None) => {}
    }
}

/// A template as the bundle wrote it, holes in braces.
fn template_text(t: &Template) -> String {
    t.parts
        .iter()
        .map(|p| match p {
            Part::Text(s) => s.clone(),
            Part::Hole(e) => format!("{{{}}}", e.source),
            Part::Money { amount, currency } => {
                format!("{{money({}, {})}}", amount.source, currency.source)
            }
        })
        .collect()
}

fn effect_text<A: std::fmt::Debug>(r: &Rule<A>) -> String {
    match &r.effect {
        Effect::Deny => r.effect_label.clone(),
        Effect::Allow(payload) => format!("{} {payload:?}", r.effect_label),
    }
}

fn rules<A: std::fmt::Debug>(c: &mut Changes, kind: &str, old: &RuleSet<A>, new: &RuleSet<A>) {
    let ids = |set: &RuleSet<A>| -> Vec<String> {
        set.rules.iter().map(|r| r.id.as_str().to_owned()).collect()
    };
    let (old_ids, new_ids) = (ids(old), ids(new));
    for r in &old.rules {
        if !new_ids.contains(&r.id.as_str().to_owned()) {
            let subject = format!("rule `{}` ({kind})", r.id.as_str());
            c.push(&subject, "removed", String::new(), String::new());
        }
    }
    for (at, r) in new.rules.iter().enumerate() {
        let subject = format!("rule `{}` ({kind})", r.id.as_str());
        let Some(o) = old.rules.iter().find(|o| o.id == r.id) else {
            let what = format!("added at position {} ({}:{})", at + 1, r.file, r.at.line);
            c.push(&subject, &what, String::new(), String::new());
            continue;
        };
        c.text(
            &subject,
            "scope",
            format!("{:?}", o.scope),
            format!("{:?}", r.scope),
        );
        let cond = |r: &Rule<A>| {
            r.condition
                .as_ref()
                .map_or("always".to_owned(), |e| e.source.clone())
        };
        c.text(&subject, "condition", cond(o), cond(r));
        c.differ(&subject, "for_each", o.for_each, r.for_each);
        c.text(&subject, "effect", effect_text(o), effect_text(r));
        c.text(
            &subject,
            "reason code",
            o.reason.code.as_str().to_owned(),
            r.reason.code.as_str().to_owned(),
        );
        let messages =
            |r: &Rule<A>| -> Vec<String> { r.reason.message.iter().map(template_text).collect() };
        c.differ(&subject, "message", messages(o), messages(r));
        let details = |r: &Rule<A>| -> Vec<(String, String)> {
            r.reason
                .details
                .iter()
                .map(|(k, t)| (k.clone(), template_text(t)))
                .collect()
        };
        c.differ(&subject, "details", details(o), details(r));
    }
    // The order of the rules both bundles have.
    let kept_old: Vec<&String> = old_ids.iter().filter(|id| new_ids.contains(id)).collect();
    let kept_new: Vec<&String> = new_ids.iter().filter(|id| old_ids.contains(id)).collect();
    // Each rule whose place among them moved, at its old and new place.
    let moved: Vec<(usize, usize, &String)> = kept_old
        .iter()
        .enumerate()
        .filter_map(|(was, id)| {
            let now = kept_new.iter().position(|n| n == id)?;
            (was != now).then_some((was + 1, now + 1, *id))
        })
        .collect();
    if !moved.is_empty() {
        let at = |pick: fn(&(usize, usize, &String)) -> usize| {
            moved
                .iter()
                .map(|m| format!("`{}` {}", m.2, pick(m)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        c.push(
            &format!("{kind} rules"),
            "reordered (place among the rules both have)",
            at(|m| m.0),
            at(|m| m.1),
        );
    }
}
