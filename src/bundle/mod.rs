//! What a bundle is: bytes in, `Result<CompiledBundle, BundleErrors>` out.
//! YAML is parsed into serde structs, validated, and every CEL expression is
//! compiled here, so nothing is parsed on the request path. Reading files
//! from disk is the `reload` module's job; this module never does I/O.

mod catalog;
mod compile;
mod errors;
mod expr;
pub mod facts;
mod index;
pub mod limits;
mod lint_config;
mod locales;
mod memo;
mod messages;
mod metrics;
mod model;
mod native;
mod number_format;
mod parse;
mod problems;
mod programs;
mod resellers;
mod rules;
mod schema;
mod shared;
pub mod signature;
mod template;
mod test_cases;
pub mod types;
mod vars;
mod warnings;

use sha2::{Digest as _, Sha256};

pub use errors::{BundleError, BundleErrors, BundleWarning, Location, Phase};
pub use expr::Expr;
pub use index::{Candidates, ScopeIndex};
pub use lint_config::{CHECKS as LINT_CHECKS, Check as LintCheck, LintConfig, Severity};
pub use locales::{BundleLocale, Locales};
pub use memo::Memo;
pub use metrics::{DisplayName, Metric, MetricKind, Metrics, RequestMetrics};
pub use model::{
    AnyRuleSet, AutoChargeCriterion, Catalog, ChargeFundingWant, CompiledBundle, Effect, ForEach,
    FundingStrategy, LinkPayload, Merchant, Merchants, PaymentLinkWant, Plan,
    PlanChangeDecisionWant, PlanChangeWant, ReasonTemplate, Rule, RuleSet, Scope, TestCase,
    TestRequest, TimingSpec, TopUp, Want, WantKind,
};
pub use native::{Answers, ArithOp, CmpOp, Conv, Lit, Node, Slot};
pub use parse::yaml_message;
pub use programs::Programs;
pub use resellers::{Direction, Reseller};
pub use schema::json_schema;
pub use template::{Formats, Part, Template};

/// The files of a bundle: names (no directories) and contents, and its
/// `.signatures.json` when it has one.
#[derive(Debug, Clone, Default)]
pub struct BundleFiles {
    files: Vec<(String, Vec<u8>)>,
    signatures: Option<Vec<u8>>,
    /// [`BundleFiles::digest`], worked out once: a reload compares it with
    /// the active bundle's and the compile records it.
    digest: std::sync::OnceLock<String>,
}

impl BundleFiles {
    /// Adds a file; the bundle reads files in name order.
    pub fn insert(&mut self, name: impl Into<String>, content: Vec<u8>) {
        self.files.push((name.into(), content));
        self.files.sort_by(|a, b| a.0.cmp(&b.0));
        self.digest = std::sync::OnceLock::new();
    }

    /// The files in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(n, c)| (n.as_str(), c.as_slice()))
    }

    /// The content of [`signature::SIGNATURES_FILE`], if the bundle has one.
    pub fn signatures(&self) -> Option<&[u8]> {
        self.signatures.as_deref()
    }

    /// Sets the content of [`signature::SIGNATURES_FILE`].
    pub fn set_signatures(&mut self, content: Vec<u8>) {
        self.signatures = Some(content);
    }

    /// Whether a file of that name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.files.iter().any(|(n, _)| n == name)
    }

    /// sha256 over every YAML file in name order (name, length, bytes), hex.
    pub fn digest(&self) -> String {
        self.digest.get_or_init(|| self.hash()).clone()
    }

    fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (name, content) in self.iter().filter(|(n, _)| is_yaml(n)) {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update((content.len() as u64).to_le_bytes());
            hasher.update(content);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Whether a file name is one the bundle reads.
pub fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Parses, validates and compiles a bundle, collecting every problem.
pub fn compile(files: &BundleFiles) -> Result<CompiledBundle, BundleErrors> {
    compile::compile(files, None)
}

/// The demo bundle, compiled from `bundles/demo` on disk, for unit tests
/// (the embedded copy belongs to `reload`, which `bundle` does not import).
#[cfg(test)]
#[allow(clippy::expect_used, reason = "test code")]
pub(crate) fn demo() -> CompiledBundle {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/demo");
    let mut files = BundleFiles::default();
    for entry in std::fs::read_dir(dir).expect("bundles/demo") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
        files.insert(name, std::fs::read(&path).expect("a demo file"));
    }
    compile(&files).expect("the demo compiles")
}

/// [`compile`], for a bundle that replaces `previous`: every expression
/// whose source `previous` also had reuses its parsed program (parsing is
/// most of a compile), so a new revision costs what it changed.
pub fn compile_after(
    files: &BundleFiles,
    previous: &CompiledBundle,
) -> Result<CompiledBundle, BundleErrors> {
    compile::compile(files, Some(&previous.programs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_follows_every_file_added_after_it_was_read() {
        let mut files = BundleFiles::default();
        files.insert("a.yaml", b"a: 1\n".to_vec());
        let one = files.digest();
        assert_eq!(files.digest(), one, "the same files, the same digest");
        files.insert("b.yaml", b"b: 2\n".to_vec());
        let two = files.digest();
        assert_ne!(two, one, "a file added after the first digest counts");
        let mut again = BundleFiles::default();
        again.insert("b.yaml", b"b: 2\n".to_vec());
        again.insert("a.yaml", b"a: 1\n".to_vec());
        assert_eq!(again.digest(), two, "name order, not insertion order");
        // Not a YAML file: not part of the bundle's digest.
        again.insert("README.md", b"notes".to_vec());
        assert_eq!(again.digest(), two);
    }
}
