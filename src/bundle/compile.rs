//! Validation and compilation of a whole bundle. Every problem is collected
//! (not just the first), located by file and line, and sorted.

use std::{collections::HashMap, sync::Arc};

use super::{
    BundleError, BundleErrors, BundleFiles, Location, Phase, catalog, is_yaml, lint_config,
    locales::Locales,
    model::{CompiledBundle, RuleSet},
    parse::{Parsed, parse_file},
    problems::Problems,
    programs::{Parser, Programs},
    rules, shared, test_cases,
    types::{payment, plan_change},
};
use crate::domain::RuleId;

/// Compiles `files`, reusing the parsed programs of `previous` (the
/// programs of the bundle this one replaces) where a source is unchanged.
pub(super) fn compile(
    files: &BundleFiles,
    previous: Option<&Programs>,
) -> Result<CompiledBundle, BundleErrors> {
    let mut p = Problems {
        errors: BundleErrors::in_phase(Phase::Parse),
        warnings: Vec::new(),
    };
    let env = Arc::new(cel::Env::stdlib());
    let mut parser = Parser::new(&env, previous);
    let mut parsed = Vec::new();
    for (name, content) in files.iter().filter(|(n, _)| is_yaml(n)) {
        match parser.file(content, parse_file) {
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
    p.errors = BundleErrors::in_phase(Phase::Compile);
    let (name, revision, description) = header(&mut p, files, &parsed);

    // Only when ICU4X's compiled data lacks English, which it never does.
    let Some(mut locales) = declared_locales(&mut p, &parsed) else {
        return Err(p.errors.sorted());
    };
    let catalog = catalog::catalog(&mut p, &parsed);
    let merchants = payment::merchants(&mut p, &parsed);
    let currencies = merchants.by_id.values().chain(&merchants.default);
    locales.prepare(currencies.map(|m| m.currency));
    let vars = rules::RuleVars {
        plan_change: parser.kind(plan_change::vars(&catalog, false)),
        plan_change_for_each: parser.kind(plan_change::vars(&catalog, true)),
        payment_link: parser.kind(payment::vars(false)),
        charge_funding: parser.kind(payment::vars(true)),
    };
    let compiler = rules::Compiler {
        parser: &parser,
        locales: &locales,
        vars: &vars,
    };
    let mut rule_ids: HashMap<RuleId, (Arc<str>, Location)> = HashMap::new();
    let mut plan_change_rules = Vec::new();
    for f in &parsed {
        for doc in &f.doc.plan_change_rules {
            let Some(common) =
                rules::common(&mut p, &f.file, doc, &catalog, &merchants, &mut rule_ids)
            else {
                continue;
            };
            if let Some(rule) = plan_change::rule(&mut p, &compiler, &f.file, doc, common) {
                plan_change_rules.push(rule);
            }
        }
    }
    let mut payment_link_rules = Vec::new();
    let mut charge_funding_rules = Vec::new();
    for f in &parsed {
        for doc in &f.doc.payment_link_rules {
            let Some(common) =
                rules::common(&mut p, &f.file, doc, &catalog, &merchants, &mut rule_ids)
            else {
                continue;
            };
            if let Some(rule) = payment::link_rule(&mut p, &compiler, &f.file, doc, common) {
                payment_link_rules.push(rule);
            }
        }
        for doc in &f.doc.charge_funding_rules {
            let Some(common) =
                rules::common(&mut p, &f.file, doc, &catalog, &merchants, &mut rule_ids)
            else {
                continue;
            };
            if let Some(rule) = payment::funding_rule(&mut p, &compiler, &f.file, doc, common) {
                charge_funding_rules.push(rule);
            }
        }
    }
    let mut tests = Vec::new();
    for f in &parsed {
        for doc in &f.doc.tests {
            if let Some(t) = test_cases::test(&mut p, &f.file, doc, f.doc.test_defaults.as_ref()) {
                tests.push(t);
            }
        }
    }
    shared::mark(&mut plan_change_rules);
    shared::mark(&mut payment_link_rules);
    shared::mark(&mut charge_funding_rules);
    let lint = lint_config::lint_config(&mut p, parsed.iter().map(|f| (&*f.file, &*f.doc)));
    let programs = parser.finish();
    let mut warnings = p.warnings;
    warnings.sort();
    warnings.dedup();
    p.errors.into_result(CompiledBundle {
        name: Arc::from(name),
        revision: Arc::from(revision),
        description,
        digest: Arc::from(files.digest()),
        catalog,
        plan_change: RuleSet::new(plan_change_rules, |s| &s.from_plans),
        merchants,
        payment_link: RuleSet::new(payment_link_rules, |s| &s.merchants),
        charge_funding: RuleSet::new(charge_funding_rules, |s| &s.merchants),
        tests,
        env,
        programs,
        locales,
        warnings,
        lint,
    })
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

/// The locales `bundle.yaml` declares (`locales`, `default_locale`), or
/// English alone when it declares none. Each is a BCP 47 tag, listed once;
/// the default is one of them (the first when not given). A problem is
/// reported and the valid tags kept, so that rules are still checked.
fn declared_locales(p: &mut Problems, parsed: &[Parsed]) -> Option<Locales> {
    let mut tags: Vec<icu_locale::Locale> = Vec::new();
    let mut default = None;
    for f in parsed {
        let is_header = &*f.file == "bundle.yaml";
        for (key, at) in [
            ("locales", f.doc.locales.as_ref().map(Location::from)),
            (
                "default_locale",
                f.doc.default_locale.as_ref().map(Location::from),
            ),
        ] {
            if let (Some(at), false) = (at, is_header) {
                p.at(&f.file, at, format!("`{key}` belongs in `bundle.yaml`"));
            }
        }
        if !is_header {
            continue;
        }
        if let Some(list) = &f.doc.locales {
            if list.value.is_empty() {
                p.at(
                    &f.file,
                    list.into(),
                    "`locales` is empty: list at least one locale",
                );
            }
            for tag in &list.value {
                match tag.value.parse::<icu_locale::Locale>() {
                    Ok(l) if tags.contains(&l) => {
                        p.at(
                            &f.file,
                            tag.into(),
                            format!("locales: `{l}` is listed twice"),
                        );
                    }
                    Ok(l) => tags.push(l),
                    Err(_) => p.at(
                        &f.file,
                        tag.into(),
                        format!("locales: `{}` is not a BCP 47 language tag", tag.value),
                    ),
                }
            }
        }
        if let Some(d) = &f.doc.default_locale {
            let found = d
                .value
                .parse::<icu_locale::Locale>()
                .ok()
                .and_then(|l| tags.iter().position(|t| *t == l));
            match found {
                Some(i) => default = Some(i),
                None if f.doc.locales.is_none() => p.at(
                    &f.file,
                    d.into(),
                    "`default_locale` needs `locales`, the list it is one of",
                ),
                None => p.at(
                    &f.file,
                    d.into(),
                    format!("`default_locale`: `{}` is not one of `locales`", d.value),
                ),
            }
        }
    }
    if !tags.is_empty() {
        match Locales::new(&tags, default.unwrap_or(0)) {
            Ok(l) => return Some(l),
            Err(e) => p
                .errors
                .push(BundleError::whole("bundle.yaml", format!("locales: {e}"))),
        }
    }
    match Locales::english() {
        Ok(l) => Some(l),
        Err(e) => {
            p.errors
                .push(BundleError::whole("", format!("locales: {e}")));
            None
        }
    }
}
