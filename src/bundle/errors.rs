//! Bundle problems, each with the file and line it comes from.

use std::fmt;

/// One problem in a bundle, located as precisely as the format allows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BundleError {
    /// The file within the bundle (`rules.yaml`); empty for the bundle as a whole.
    pub file: String,
    /// 1-based line; 0 when unknown.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
    /// What is wrong, in the style `rule `x`: condition: ...`.
    pub message: String,
}

impl BundleError {
    /// A problem at a place in a file.
    pub fn at(file: &str, at: Location, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }

    /// A problem with the bundle as a whole or a whole file.
    pub fn whole(file: &str, message: impl Into<String>) -> Self {
        Self::at(file, Location::default(), message)
    }
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.line, self.column) {
            (true, _, _) => write!(f, "bundle: {}", self.message),
            (false, 0, _) => write!(f, "{}: {}", self.file, self.message),
            (false, line, 0) => write!(f, "{}:{line}: {}", self.file, self.message),
            (false, line, column) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
        }
    }
}

/// Something a bundle says that is allowed but probably not meant (a
/// merchant without a health threshold, a schedule already past): located
/// and printed like an error, but the bundle still loads. `tollgate check`
/// prints each one as
/// `warning: <file>:<line>:<column>: <message>` and exits 0.
pub type BundleWarning = BundleError;

/// Which step of making a bundle found its problems.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// A file is not valid YAML (or not UTF-8): nothing else was checked.
    Parse,
    /// The YAML parsed but does not validate or compile.
    #[default]
    Compile,
    /// It compiled, but its own tests failed.
    Test,
    /// Verification keys are set and its `.signatures.json` is missing,
    /// does not verify, or does not match its files: nothing else was
    /// checked.
    Signature,
}

impl Phase {
    /// The label value (`parse`, `compile`, `test`, `signature`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parse => "parse",
            Self::Compile => "compile",
            Self::Test => "test",
            Self::Signature => "signature",
        }
    }
}

/// Every problem found in a bundle, sorted by file and line, and the step
/// that found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleErrors(Vec<BundleError>, Phase);

impl BundleErrors {
    /// No problems yet, found while `phase`.
    pub fn in_phase(phase: Phase) -> Self {
        Self(Vec::new(), phase)
    }

    /// The step that found these problems.
    pub fn phase(&self) -> Phase {
        self.1
    }

    /// Records a problem.
    pub fn push(&mut self, error: BundleError) {
        self.0.push(error);
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &BundleError> {
        self.0.iter()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems sorted by file and line, without repeats.
    pub fn sorted(mut self) -> Self {
        self.0.sort();
        self.0.dedup();
        self
    }

    /// Sorts and returns `Err(self)` when anything was recorded.
    pub fn into_result<T>(self, value: T) -> Result<T, BundleErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.sorted())
        }
    }
}

impl From<BundleError> for BundleErrors {
    fn from(error: BundleError) -> Self {
        Self(vec![error], Phase::default())
    }
}

impl fmt::Display for BundleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BundleErrors {}

/// A place in a bundle file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// 1-based line; 0 when unknown.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
}

impl<T> From<&serde_saphyr::Spanned<T>> for Location {
    fn from(s: &serde_saphyr::Spanned<T>) -> Self {
        Self {
            line: s.referenced.line(),
            column: s.referenced.column(),
        }
    }
}
