//! Identifier newtypes that can only hold valid values.

use std::{fmt, sync::Arc};

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A rule id that is empty.
    #[error("rule id is empty")]
    EmptyRuleId,
    /// A rule id with a character outside `[A-Za-z0-9_.-]`.
    #[error("rule id `{id}` contains `{bad}`: use letters, digits, `_`, `-`, `.`")]
    RuleIdCharacter {
        /// The id as written.
        id: String,
        /// The first character not allowed.
        bad: char,
    },
    /// A reason code that is not `UPPER_SNAKE_CASE`.
    #[error("reason code `{0}` is not UPPER_SNAKE_CASE")]
    ReasonCode(String),
}

/// The id of a rule in a bundle: non-empty, `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(Arc<str>);

impl RuleId {
    /// Parses a rule id, or says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::EmptyRuleId);
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(IdError::RuleIdCharacter {
                id: s.to_owned(),
                bad,
            });
        }
        Ok(Self(Arc::from(s)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A machine-readable reason code: `UPPER_SNAKE_CASE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReasonCode(Arc<str>);

impl ReasonCode {
    /// Parses a reason code, or says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Self(Arc::from(s)))
        } else {
            Err(IdError::ReasonCode(s.to_owned()))
        }
    }

    /// A code the engine itself emits; the caller guarantees its shape.
    pub(crate) fn engine(s: &'static str) -> Self {
        Self(Arc::from(s))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
