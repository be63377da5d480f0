//! What every rule has, whatever its decision type: id, scope, effect,
//! condition and reason, parsed and compiled with their problems located.

use std::{collections::HashMap, sync::Arc};

use serde_saphyr::Spanned;

use super::{
    Location, expr,
    locales::Locales,
    messages,
    model::{Catalog, Effect, ForEach, Merchants, ReasonTemplate, Rule, Scope},
    problems::Problems,
    programs::Parser,
    schema::RuleDoc,
    template::{Formats, Template},
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
    /// Parses CEL, reusing the programs of the bundle compiled before.
    pub parser: &'a Parser<'a>,
    /// The locales every message is written in.
    pub locales: &'a Locales,
    /// What each kind of rule may read.
    pub vars: &'a RuleVars,
}

/// The variables of each kind of rule. Every rule of a kind reads the same
/// ones, so a compile builds them once, not once per rule (building them
/// was a sixth of a reload's work).
pub(crate) struct RuleVars {
    /// A plan-change rule's.
    pub plan_change: Vars,
    /// A plan-change rule's with `for_each`: the item's too.
    pub plan_change_for_each: Vars,
    /// A payment-link rule's.
    pub payment_link: Vars,
    /// A charge-funding rule's.
    pub charge_funding: Vars,
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
    let condition =
        doc.when
            .as_ref()
            .and_then(|w| match expr::compile(env.parser, &w.value, vars) {
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
    let message = messages::compile(p, env, file, id, &r.message, vars);
    let mut details = Vec::new();
    for (key, template) in &r.details {
        match Template::compile(env.parser, &template.value, vars, Formats::Detail) {
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
        condition_at: doc.value.when.as_ref().map(Into::into),
        for_each,
        effect_label: doc.value.effect.value.clone(),
        effect,
        reason: parts.1,
    }
}
