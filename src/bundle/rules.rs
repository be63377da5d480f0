//! What every rule has, whatever its decision type: id, scope, effect,
//! condition and reason, parsed and compiled with their problems located.

use std::{collections::HashMap, sync::Arc};

use serde_saphyr::Spanned;

use super::{
    Location, expr,
    locales::Locales,
    model::{Catalog, Effect, ForEach, Merchants, ReasonTemplate, Rule, Scope},
    problems::Problems,
    schema::MessageDoc,
    schema::RuleDoc,
    template::Formats,
    template::Template,
    vars::Vars,
};
use crate::domain::{ReasonCode, RequesterRole, RuleId};

/// The parts every rule has, whatever its decision type.
pub(crate) struct Common {
    pub id: RuleId,
    pub scope: Scope,
}

pub(crate) fn common(
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
            p.at(file, (&d.id).into(), e.to_string());
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
pub(crate) fn effect<A>(
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
pub(crate) fn forbid(
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

/// Reports the auto-charge settings (`top_up`, `max_top_up_minor`) on a
/// rule that does not fund a charge by auto-charge.
pub(crate) fn forbid_top_up(p: &mut Problems, file: &str, id: &RuleId, section: &str, d: &RuleDoc) {
    forbid(
        p,
        file,
        id,
        section,
        "top_up",
        d.top_up.as_ref().map(Into::into),
    );
    let max = d.max_top_up_minor.as_ref().map(Into::into);
    forbid(p, file, id, section, "max_top_up_minor", max);
}

/// What a rule's expressions and messages are compiled with.
pub(crate) struct Compiler<'a> {
    /// The CEL environment.
    pub cel: &'a cel::Env,
    /// The locales every message is written in.
    pub locales: &'a Locales,
}

/// Compiles a rule's condition and reason against its variables.
pub(crate) fn condition_and_reason(
    p: &mut Problems,
    env: &Compiler<'_>,
    file: &str,
    id: &RuleId,
    doc: &RuleDoc,
    vars: &Vars,
) -> Option<(Option<expr::Expr>, ReasonTemplate)> {
    let before = p.errors.len();
    let condition = doc
        .when
        .as_ref()
        .and_then(|w| match expr::compile(env.cel, &w.value, vars) {
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
    let message = messages(p, env, file, id, &r.message, vars);
    let mut details = Vec::new();
    for (key, template) in &r.details {
        match Template::compile(env.cel, &template.value, vars, Formats::Detail) {
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

/// Compiles a reason message in every declared locale: one string is the
/// default locale's; a map names each locale. A declared locale without a
/// message, or a message in a locale not declared, is a problem.
fn messages(
    p: &mut Problems,
    env: &Compiler<'_>,
    file: &str,
    id: &RuleId,
    doc: &Spanned<MessageDoc>,
    vars: &Vars,
) -> Option<Vec<Template>> {
    let locales = env.locales;
    let before = p.errors.len();
    let mut found: Vec<Option<Template>> = locales.iter().map(|_| None).collect();
    let compile = |p: &mut Problems, at: Location, label: &str, source: &str| {
        Template::compile(env.cel, source, vars, Formats::Message)
            .map_err(|e| p.at(file, at, format!("rule `{id}`: reason message{label}: {e}")))
            .ok()
    };
    match &doc.value {
        MessageDoc::One(source) => {
            let t = compile(p, doc.into(), "", source);
            if let Some(slot) = found.get_mut(locales.default_locale().index) {
                *slot = t;
            }
        }
        MessageDoc::ByLocale(by_locale) => {
            for (tag, source) in by_locale {
                let declared = tag
                    .parse::<icu_locale::Locale>()
                    .ok()
                    .and_then(|l| locales.iter().find(|d| *d.tag == *l.to_string()));
                match declared {
                    Some(d) if found.get(d.index).is_some_and(Option::is_some) => p.at(
                        file,
                        source.into(),
                        format!("rule `{id}`: reason message: `{}` is given twice", d.tag),
                    ),
                    Some(d) => {
                        let t = compile(p, source.into(), &format!(" `{tag}`"), &source.value);
                        if let Some(slot) = found.get_mut(d.index) {
                            *slot = t;
                        }
                    }
                    None => p.at(
                        file,
                        source.into(),
                        format!(
                            "rule `{id}`: reason message: `{tag}` is not a declared locale ({})",
                            declared_list(locales)
                        ),
                    ),
                }
            }
        }
    }
    if p.errors.len() > before {
        return None;
    }
    let mut out = Vec::new();
    for (d, template) in locales.iter().zip(found) {
        match template {
            Some(t) => out.push(t),
            None => p.at(
                file,
                doc.into(),
                format!(
                    "rule `{id}`: reason message: no `{}` message (the bundle declares {})",
                    d.tag,
                    declared_list(locales)
                ),
            ),
        }
    }
    (p.errors.len() == before).then_some(out)
}

/// The declared locales as a message lists them: `` `en`, `ja` ``.
pub(crate) fn declared_list(locales: &Locales) -> String {
    locales
        .iter()
        .map(|d| format!("`{}`", d.tag))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Assembles a rule from its validated parts.
pub(crate) fn assemble<A>(
    file: &Arc<str>,
    doc: &Spanned<RuleDoc>,
    common: Common,
    parts: (Option<expr::Expr>, ReasonTemplate),
    for_each: Option<ForEach>,
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
