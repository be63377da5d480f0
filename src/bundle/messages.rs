//! Reason messages in every locale a bundle declares: one string is the
//! default locale's, a map names each; a declared locale without a message,
//! or a message in a locale not declared, is a problem at its place.

use serde_saphyr::Spanned;

use super::{
    Location,
    locales::Locales,
    problems::Problems,
    rules::Compiler,
    schema::MessageDoc,
    template::{Formats, Template},
    vars::Vars,
};
use crate::domain::RuleId;

/// Compiles a reason message in every declared locale: one string is the
/// default locale's; a map names each locale. A declared locale without a
/// message, or a message in a locale not declared, is a problem.
pub(crate) fn compile(
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
        Template::compile(env.parser, source, vars, Formats::Message)
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
fn declared_list(locales: &Locales) -> String {
    locales
        .iter()
        .map(|d| format!("`{}`", d.tag))
        .collect::<Vec<_>>()
        .join(", ")
}
