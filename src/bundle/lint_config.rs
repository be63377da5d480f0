//! The lint checks: every check's stable id, default severity and why, and
//! the severities a bundle sets for them in `bundle.yaml`
//! (`lint: { deny: [...], allow: [...] }`). The checks themselves run in
//! the engine (`tollgate lint`); an unknown id here is a bundle error.

use super::{Location, problems::Problems, schema::FileDoc};

/// How a finding counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Not reported.
    Allow,
    /// Reported; `lint` still exits 0.
    Warn,
    /// Reported; `lint` and `check` exit 1.
    Deny,
}

impl Severity {
    /// `allow`, `warn`, `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Warn => "warn",
            Self::Deny => "deny",
        }
    }
}

/// One lint check.
#[derive(Debug)]
pub struct Check {
    /// Its stable id.
    pub id: &'static str,
    /// Its severity unless `bundle.yaml` says otherwise.
    pub default: Severity,
    /// Why it matters, in a line.
    pub why: &'static str,
}

/// Every lint check, in the order `tollgate lint` runs them.
pub const CHECKS: &[Check] = &[
    Check {
        id: "unguarded-optional",
        default: Severity::Deny,
        why: "a condition reads an optional value without `has(...)`, `in` or `reported`: every request without it fails closed with POLICY_EVALUATION_ERROR",
    },
    Check {
        id: "never-matches",
        default: Severity::Warn,
        why: "the rule's condition compares one fact with constants in ways no value satisfies",
    },
    Check {
        id: "preempted-allow",
        default: Severity::Warn,
        why: "an earlier allow with a scope at least as wide always matches when this one would, so this one never decides",
    },
    Check {
        id: "plan-change-gap",
        default: Severity::Warn,
        why: "for this pair of catalogue plans and requester role, some generated boundary requests fall through every rule to NO_MATCHING_RULE: the rules do not say what happens to them",
    },
    Check {
        id: "payment-gap",
        default: Severity::Warn,
        why: "for this merchant, some generated link or charge requests fall through every rule to NO_MATCHING_RULE: the rules do not say whether the user may link or how the charge is funded",
    },
    Check {
        id: "schedule-past",
        default: Severity::Warn,
        why: "a scheduled rule's date is already past: the change it allows takes effect at once",
    },
    Check {
        id: "compile-warning",
        default: Severity::Warn,
        why: "what `tollgate check` warns about while compiling (today: a merchant without a health threshold)",
    },
    Check {
        id: "metric-never-reported",
        default: Severity::Warn,
        why: "a plan limits the metric but no bundle test reports it, so no test exercises that limit",
    },
];

/// The severities a bundle sets.
#[derive(Debug, Clone, Default)]
pub struct LintConfig {
    overrides: Vec<(&'static str, Severity)>,
}

impl LintConfig {
    /// The severity of check `id` in this bundle.
    pub fn severity(&self, id: &str) -> Severity {
        if let Some((_, s)) = self.overrides.iter().rev().find(|(c, _)| *c == id) {
            return *s;
        }
        CHECKS
            .iter()
            .find(|c| c.id == id)
            .map_or(Severity::Warn, |c| c.default)
    }
}

/// Reads `lint:` from `bundle.yaml`; an id that is no check, or a `lint`
/// section in another file, is a problem at its place.
pub(crate) fn lint_config<'a>(
    p: &mut Problems,
    files: impl Iterator<Item = (&'a str, &'a FileDoc)>,
) -> LintConfig {
    let mut config = LintConfig::default();
    for (file, doc) in files {
        let Some(lint) = &doc.lint else {
            continue;
        };
        if file != "bundle.yaml" {
            p.at(file, lint.into(), "`lint` belongs in `bundle.yaml`");
            continue;
        }
        for (key, ids, severity) in [
            ("deny", &lint.value.deny, Severity::Deny),
            ("allow", &lint.value.allow, Severity::Allow),
        ] {
            for id in ids {
                match CHECKS.iter().find(|c| c.id == id.value) {
                    Some(c) => config.overrides.push((c.id, severity)),
                    None => p.at(
                        file,
                        Location::from(id),
                        format!(
                            "lint: {key}: `{}` is not a lint check ({})",
                            id.value,
                            CHECKS
                                .iter()
                                .map(|c| format!("`{}`", c.id))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
        }
    }
    config
}
