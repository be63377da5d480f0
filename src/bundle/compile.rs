//! Validation and compilation of a whole bundle. Every problem is collected
//! (not just the first), located by file and line, and sorted.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use serde_saphyr::Spanned;

use super::{
    BundleError, BundleErrors, BundleFiles, Location, ScopeIndex, expr, is_yaml,
    model::{
        Catalog, CompiledBundle, Effect, Merchants, Plan, ReasonTemplate, Rule, Scope, TestCase,
        Want,
    },
    payment, plan_change,
    schema::{FileDoc, PlanDoc, RuleDoc, TestDoc, WantDoc},
    template::Template,
};
use crate::domain::{ReasonCode, RequesterRole, RuleId};

/// Collects the problems of one compilation, attributing them to files.
pub(super) struct Problems {
    pub errors: BundleErrors,
}

impl Problems {
    pub fn at(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.errors.push(BundleError::at(file, at, message));
    }
}

pub(super) struct Parsed {
    pub file: Arc<str>,
    pub doc: FileDoc,
}

pub(super) fn compile(files: &BundleFiles) -> Result<CompiledBundle, BundleErrors> {
    let mut p = Problems {
        errors: BundleErrors::default(),
    };
    let mut parsed = Vec::new();
    for (name, content) in files.iter().filter(|(n, _)| is_yaml(n)) {
        match parse_file(content) {
            Ok(doc) => parsed.push(Parsed {
                file: Arc::from(name),
                doc,
            }),
            Err((at, message)) => p.at(name, at, message),
        }
    }
    if parsed.is_empty() && p.errors.is_empty() {
        p.errors.push(BundleError::whole("", "no `.yaml` files"));
        return Err(p.errors);
    }
    // A file that does not parse would make every rule reading its contents
    // look wrong too; report the parse errors alone.
    if !p.errors.is_empty() {
        return Err(p.errors.sorted());
    }
    let (name, revision, description) = header(&mut p, files, &parsed);

    let env = Arc::new(cel::Env::stdlib());
    let catalog = catalog(&mut p, &parsed);
    let merchants = payment::merchants(&mut p, &parsed);
    let mut rule_ids: HashMap<RuleId, (Arc<str>, Location)> = HashMap::new();
    let mut plan_change_rules = Vec::new();
    for f in &parsed {
        for doc in &f.doc.plan_change_rules {
            let Some(common) = common(&mut p, &f.file, doc, &catalog, &merchants, &mut rule_ids)
            else {
                continue;
            };
            if let Some(rule) = plan_change::rule(&mut p, &env, &catalog, &f.file, doc, common) {
                plan_change_rules.push(rule);
            }
        }
    }
    let mut payment_link_rules = Vec::new();
    let mut charge_funding_rules = Vec::new();
    for f in &parsed {
        for doc in &f.doc.payment_link_rules {
            let Some(common) = common(&mut p, &f.file, doc, &catalog, &merchants, &mut rule_ids)
            else {
                continue;
            };
            if let Some(rule) = payment::link_rule(&mut p, &env, &f.file, doc, common) {
                payment_link_rules.push(rule);
            }
        }
        for doc in &f.doc.charge_funding_rules {
            let Some(common) = common(&mut p, &f.file, doc, &catalog, &merchants, &mut rule_ids)
            else {
                continue;
            };
            if let Some(rule) = payment::funding_rule(&mut p, &env, &f.file, doc, common) {
                charge_funding_rules.push(rule);
            }
        }
    }
    let mut tests = Vec::new();
    for f in &parsed {
        for doc in &f.doc.tests {
            if let Some(t) = test(&mut p, &f.file, doc) {
                tests.push(t);
            }
        }
    }
    p.errors.into_result(CompiledBundle {
        name: Arc::from(name),
        revision: Arc::from(revision),
        description,
        digest: Arc::from(files.digest()),
        catalog,
        plan_change_index: ScopeIndex::build(
            plan_change_rules
                .iter()
                .map(|r| r.scope.from_plans.as_slice()),
        ),
        payment_link_index: ScopeIndex::build(
            payment_link_rules
                .iter()
                .map(|r| r.scope.merchants.as_slice()),
        ),
        charge_funding_index: ScopeIndex::build(
            charge_funding_rules
                .iter()
                .map(|r| r.scope.merchants.as_slice()),
        ),
        plan_change_rules,
        merchants,
        payment_link_rules,
        charge_funding_rules,
        tests,
        env,
    })
}

fn parse_file(content: &[u8]) -> Result<FileDoc, (Location, String)> {
    let text = std::str::from_utf8(content)
        .map_err(|e| (Location::default(), format!("not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Ok(FileDoc::default());
    }
    // The crate's default budget (250,000 nodes) is for configuration files;
    // a merchant table of 10,000 merchants is larger. Still bounded.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 4_000_000;
    budget.max_events = 16_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<FileDoc>(text, options).map_err(|e| {
        let at = e
            .location()
            .map(|l| Location {
                line: l.line(),
                column: l.column(),
            })
            .unwrap_or_default();
        (at, yaml_message(&e))
    })
}

/// The first line of a YAML error, without the source snippet the crate renders.
pub(crate) fn yaml_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // Some messages lead with "line L column C: "; we print the place ourselves.
    let first = match first.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") && place.contains(" column ") => rest,
        _ => first,
    };
    // The crate appends " at line L, column C"; we print the place ourselves.
    let first = match first.rfind(" at line ") {
        Some(i) => first.get(..i).unwrap_or(first),
        None => first,
    };
    // Advice about the crate's own options means nothing to a bundle author.
    let first = match first.find(", set ") {
        Some(i) if first.contains("Options") => first.get(..i).unwrap_or(first),
        _ => first,
    };
    first.to_owned()
}

fn header(p: &mut Problems, files: &BundleFiles, parsed: &[Parsed]) -> (String, String, String) {
    let (mut name, mut revision, mut description) = (String::new(), String::new(), String::new());
    if !files.contains("bundle.yaml") {
        p.errors.push(BundleError::whole(
            "",
            "no `bundle.yaml` with `name` and `revision`",
        ));
    }
    for f in parsed {
        let is_header = &*f.file == "bundle.yaml";
        for (key, value, slot) in [
            ("name", &f.doc.name, &mut name),
            ("revision", &f.doc.revision, &mut revision),
        ] {
            match (value, is_header) {
                (Some(v), true) if v.value.trim().is_empty() => {
                    p.at(&f.file, v.into(), format!("`{key}` is empty"))
                }
                (Some(v), true) => *slot = v.value.clone(),
                (Some(v), false) => p.at(
                    &f.file,
                    v.into(),
                    format!("`{key}` belongs in `bundle.yaml`"),
                ),
                (None, true) => p.at(&f.file, Location::default(), format!("`{key}` is required")),
                (None, false) => {}
            }
        }
        if is_header {
            description = f.doc.description.clone().unwrap_or_default();
        }
    }
    (name, revision, description)
}

fn catalog(p: &mut Problems, parsed: &[Parsed]) -> Catalog {
    let mut defaults: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for f in parsed {
        for (key, value) in &f.doc.plan_attributes {
            if defaults.insert(key.clone(), value.clone()).is_some() {
                p.at(
                    &f.file,
                    Location::default(),
                    format!("plan attribute `{key}` is declared twice"),
                );
            }
        }
    }
    let mut plans: HashMap<String, Plan> = HashMap::new();
    for f in parsed {
        for doc in &f.doc.plans {
            if let Some(plan) = plan(p, &f.file, doc, &defaults) {
                if plans.contains_key(&plan.id) {
                    p.at(
                        &f.file,
                        doc.into(),
                        format!("plan `{}` is defined twice", plan.id),
                    );
                } else {
                    plans.insert(plan.id.clone(), plan);
                }
            }
        }
    }
    let unknown_attributes = json_map_to_cel(&defaults);
    Catalog {
        plans,
        attribute_defaults: defaults,
        unknown_attributes,
    }
}

fn plan(
    p: &mut Problems,
    file: &str,
    doc: &Spanned<PlanDoc>,
    defaults: &BTreeMap<String, serde_json::Value>,
) -> Option<Plan> {
    let at = Location::from(doc);
    let d = &doc.value;
    let before = p.errors.len();
    if d.id.trim().is_empty() {
        p.at(file, at, "plan id is empty");
    }
    for (kind, metrics) in [("limits", &d.limits), ("quotas", &d.quotas)] {
        for (metric, value) in metrics {
            if !value.is_finite() || *value < 0.0 {
                p.at(
                    file,
                    at,
                    format!(
                        "plan `{}`: {kind}: `{metric}` must be a finite number >= 0",
                        d.id
                    ),
                );
            }
        }
    }
    let mut attributes = defaults.clone();
    for (key, value) in &d.attributes {
        match defaults.get(key) {
            None => p.at(
                file,
                at,
                format!(
                    "plan `{}`: attribute `{key}` is not declared in `plan_attributes`",
                    d.id
                ),
            ),
            Some(default) if std::mem::discriminant(default) != std::mem::discriminant(value) => p
                .at(
                    file,
                    at,
                    format!(
                        "plan `{}`: attribute `{key}` has a different type than its default",
                        d.id
                    ),
                ),
            Some(_) => {
                attributes.insert(key.clone(), value.clone());
            }
        }
    }
    if p.errors.len() > before {
        return None;
    }
    let metric_map = |m: &BTreeMap<String, f64>| {
        cel::Value::from(
            m.iter()
                .map(|(k, v)| (k.clone(), cel::Value::Float(*v)))
                .collect::<HashMap<_, _>>(),
        )
    };
    let cel = cel::Value::from(HashMap::from([
        ("id".to_owned(), cel::Value::from(d.id.clone())),
        ("known".to_owned(), cel::Value::Bool(true)),
        ("rank".to_owned(), cel::Value::Int(d.rank)),
        ("limits".to_owned(), metric_map(&d.limits)),
        ("quotas".to_owned(), metric_map(&d.quotas)),
        ("attributes".to_owned(), json_map_to_cel(&attributes)),
    ]));
    Some(Plan {
        id: d.id.clone(),
        description: d.description.clone().unwrap_or_default(),
        rank: d.rank,
        limits: d.limits.clone(),
        quotas: d.quotas.clone(),
        attributes,
        cel,
    })
}

/// Converts bundle attribute values (YAML scalars, lists, maps) to CEL.
pub fn json_to_cel(v: &serde_json::Value) -> cel::Value {
    match v {
        serde_json::Value::Null => cel::Value::Null,
        serde_json::Value::Bool(b) => cel::Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => cel::Value::from(s.clone()),
        serde_json::Value::Array(items) => {
            cel::Value::List(Arc::new(items.iter().map(json_to_cel).collect()))
        }
        serde_json::Value::Object(m) => cel::Value::from(
            m.iter()
                .map(|(k, v)| (k.clone(), json_to_cel(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

fn json_map_to_cel(m: &BTreeMap<String, serde_json::Value>) -> cel::Value {
    cel::Value::from(
        m.iter()
            .map(|(k, v)| (k.clone(), json_to_cel(v)))
            .collect::<HashMap<_, _>>(),
    )
}

/// The parts every rule has, whatever its decision type.
pub(super) struct Common {
    pub id: RuleId,
    pub scope: Scope,
}

fn common(
    p: &mut Problems,
    file: &Arc<str>,
    doc: &Spanned<RuleDoc>,
    catalog: &Catalog,
    merchants: &Merchants,
    seen: &mut HashMap<RuleId, (Arc<str>, Location)>,
) -> Option<Common> {
    let d = &doc.value;
    let id = match RuleId::parse(&d.id.value) {
        Ok(id) => id,
        Err(e) => {
            p.at(file, (&d.id).into(), e);
            return None;
        }
    };
    if let Some((first_file, first_at)) = seen.get(&id) {
        p.at(
            file,
            (&d.id).into(),
            format!(
                "rule `{id}`: duplicate rule id (first defined at {first_file}:{})",
                first_at.line
            ),
        );
        return None;
    }
    seen.insert(id.clone(), (file.clone(), (&d.id).into()));
    let before = p.errors.len();
    let mut scope = Scope::default();
    for (key, plans, out) in [
        ("from_plans", &d.from_plans, &mut scope.from_plans),
        ("to_plans", &d.to_plans, &mut scope.to_plans),
    ] {
        for plan in plans {
            if catalog.plans.contains_key(&plan.value) {
                out.push(plan.value.clone());
            } else {
                p.at(
                    file,
                    plan.into(),
                    format!("rule `{id}`: {key}: unknown plan `{}`", plan.value),
                );
            }
        }
    }
    for merchant in &d.merchants {
        if merchants.by_id.contains_key(&merchant.value) {
            scope.merchants.push(merchant.value.clone());
        } else {
            p.at(
                file,
                merchant.into(),
                format!(
                    "rule `{id}`: merchants: unknown merchant `{}`",
                    merchant.value
                ),
            );
        }
    }
    for role in &d.requesters {
        match RequesterRole::parse(&role.value) {
            Some(r) => scope.requesters.push(r),
            None => p.at(
                file,
                role.into(),
                format!(
                    "rule `{id}`: requesters: `{}` is not a requester role",
                    role.value
                ),
            ),
        }
    }
    (p.errors.len() == before).then_some(Common { id, scope })
}

/// Parses a rule's effect: `deny_word` denies; any other word in `words`
/// is turned into a payload by `decide`.
pub(super) fn effect<A>(
    p: &mut Problems,
    file: &str,
    id: &RuleId,
    doc: &RuleDoc,
    deny_word: &str,
    words: &[&str],
    decide: impl FnOnce(&mut Problems, &str) -> Option<A>,
) -> Option<Effect<A>> {
    let word = doc.effect.value.as_str();
    if word == deny_word {
        Some(Effect::Deny)
    } else if words.contains(&word) {
        decide(p, word).map(Effect::Allow)
    } else {
        let all: Vec<String> = std::iter::once(deny_word)
            .chain(words.iter().copied())
            .map(|w| format!("`{w}`"))
            .collect();
        p.at(
            file,
            (&doc.effect).into(),
            format!(
                "rule `{id}`: effect: `{word}` is not one of {}",
                all.join(", ")
            ),
        );
        None
    }
}

/// Reports a rule field that this decision type does not use.
pub(super) fn forbid(
    p: &mut Problems,
    file: &str,
    id: &RuleId,
    section: &str,
    field: &str,
    at: Option<Location>,
) {
    if let Some(at) = at {
        p.at(
            file,
            at,
            format!("rule `{id}`: `{field}` has no meaning in `{section}`"),
        );
    }
}

/// Compiles a rule's condition and reason against its variables.
pub(super) fn condition_and_reason(
    p: &mut Problems,
    env: &cel::Env,
    file: &str,
    id: &RuleId,
    doc: &RuleDoc,
    vars: &expr::Vars,
) -> Option<(Option<expr::Expr>, ReasonTemplate)> {
    let before = p.errors.len();
    let condition = doc
        .when
        .as_ref()
        .and_then(|w| match expr::compile(env, &w.value, vars) {
            Ok(e) => Some(e),
            Err(e) => {
                p.at(file, w.into(), format!("rule `{id}`: condition: {e}"));
                None
            }
        });
    let r = &doc.reason.value;
    let code = ReasonCode::parse(&r.code.value)
        .map_err(|e| p.at(file, (&r.code).into(), format!("rule `{id}`: reason: {e}")))
        .ok();
    let message = Template::compile(env, &r.message.value, vars)
        .map_err(|e| {
            p.at(
                file,
                (&r.message).into(),
                format!("rule `{id}`: reason message: {e}"),
            )
        })
        .ok();
    let mut details = Vec::new();
    for (key, template) in &r.details {
        match Template::compile(env, &template.value, vars) {
            Ok(t) => details.push((key.clone(), t)),
            Err(e) => p.at(
                file,
                template.into(),
                format!("rule `{id}`: reason details `{key}`: {e}"),
            ),
        }
    }
    if p.errors.len() > before {
        return None;
    }
    Some((
        condition,
        ReasonTemplate {
            code: code?,
            message: message?,
            details,
        },
    ))
}

/// Assembles a rule from its validated parts.
pub(super) fn assemble<A>(
    file: &Arc<str>,
    doc: &Spanned<RuleDoc>,
    common: Common,
    parts: (Option<expr::Expr>, ReasonTemplate),
    for_each: Option<super::ForEach>,
    effect: Effect<A>,
) -> Rule<A> {
    Rule {
        id: common.id,
        file: file.clone(),
        at: (&doc.value.id).into(),
        description: doc.value.description.clone().unwrap_or_default(),
        scope: common.scope,
        condition: parts.0,
        for_each,
        effect_label: doc.value.effect.value.clone(),
        effect,
        reason: parts.1,
    }
}

fn test(p: &mut Problems, file: &Arc<str>, doc: &Spanned<TestDoc>) -> Option<TestCase> {
    let d = &doc.value;
    let at = Location::from(doc);
    let (want, reasons) = (&d.want, want_reasons(p, file, at, &d.name, &d.want));
    let kind = match (&d.plan_change, &d.payment_link, &d.charge_funding) {
        (Some(request), None, None) => plan_change::test(p, file, at, &d.name, request, want),
        (None, Some(request), None) => payment::link_test(p, file, at, &d.name, request, want),
        (None, None, Some(request)) => payment::funding_test(p, file, at, &d.name, request, want),
        _ => {
            p.at(
                file,
                at,
                format!(
                    "test `{}`: give exactly one request: `plan_change`, `payment_link` or `charge_funding`",
                    d.name
                ),
            );
            None
        }
    };
    let (request, kind) = kind?;
    Some(TestCase {
        name: d.name.clone(),
        file: file.clone(),
        at,
        request,
        want: Want {
            kind,
            reasons: reasons?,
        },
    })
}

fn want_reasons(
    p: &mut Problems,
    file: &str,
    at: Location,
    name: &str,
    want: &WantDoc,
) -> Option<Option<Vec<String>>> {
    let mut ok = true;
    for code in want.reasons.iter().flatten() {
        if let Err(e) = ReasonCode::parse(code) {
            p.at(file, at, format!("test `{name}`: want: reasons: {e}"));
            ok = false;
        }
    }
    ok.then(|| want.reasons.clone())
}
