//! The one-shot bundle tools' arguments: `check`, `test`, `eval` and `diff`.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::domain::{DecisionKind, RequesterRole};

/// `tollgate check`: the bundle, and where else its revision may be known.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
    pub path: Option<PathBuf>,
    /// Also ask the server at ADDR (`host:port`, plaintext gRPC) for its
    /// active bundle (`GetBundleStatus`), and warn when it has this
    /// bundle's revision with other content (another digest).
    #[arg(long, value_name = "ADDR")]
    pub against: Option<String>,
    /// Also compare with the bundle a server keeps in its `--bundle-cache`
    /// DIR, warning likewise.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Make those warnings failures (exit 1), for CI.
    #[arg(long)]
    pub strict: bool,
    /// The keys the bundle must be signed with.
    #[command(flatten)]
    pub verify: super::VerifyArgs,
}

/// `tollgate test`: which tests, and how to report them.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
    pub path: Option<PathBuf>,
    /// Run only the tests whose name contains PATTERN (a plain,
    /// case-sensitive substring; no globs). Selecting no test at all is a
    /// failure (exit 1).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// How to print the results on stdout.
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
    /// Also write the results as JUnit XML to FILE, for CI systems.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also measure what the tests exercise: rules matched, reason codes
    /// produced, each `&&`/`||`/`?:` operand seen true and false.
    #[arg(long)]
    pub coverage: bool,
    /// Fail (exit 1) when fewer than PCT percent of the rules are matched
    /// by some test; implies `--coverage`.
    #[arg(long, value_name = "PCT", value_parser = percentage)]
    pub min_coverage: Option<f64>,
    /// Fail (exit 1) when fewer than PCT percent of the branch outcomes
    /// (each operand true, each operand false) are seen; implies `--coverage`.
    #[arg(long, value_name = "PCT", value_parser = percentage)]
    pub min_branch_coverage: Option<f64>,
    /// Write the coverage as an LCOV tracefile over the bundle's YAML
    /// lines to FILE; implies `--coverage`.
    #[arg(long, value_name = "FILE.lcov")]
    pub coverage_out: Option<PathBuf>,
    /// The keys the bundle must be signed with.
    #[command(flatten)]
    pub verify: super::VerifyArgs,
}

impl TestArgs {
    /// Whether coverage is measured.
    pub fn wants_coverage(&self) -> bool {
        self.coverage
            || self.min_coverage.is_some()
            || self.min_branch_coverage.is_some()
            || self.coverage_out.is_some()
    }
}

/// Parses a percentage in 0..=100.
fn percentage(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a percentage between 0 and 100")),
    }
}

/// How `tollgate test` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// A line per test, the explain trace under each failure, a summary.
    Text,
    /// One JSON document.
    Json,
}

/// `tollgate lint`: the bundle, and how to print the findings.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
    pub path: Option<PathBuf>,
    /// How to print the findings on stdout.
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
}

/// `tollgate graph`: the bundle, which role, which format.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
    pub path: Option<PathBuf>,
    /// Draw only this requester role's edges (`TENANT`, `RESELLER`,
    /// `PROVIDER`, `OPERATOR`); every role when omitted.
    #[arg(long, value_name = "ROLE", value_parser = role)]
    pub role: Option<RequesterRole>,
    /// DOT for Graphviz, or SVG drawn without it.
    #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
    pub format: GraphFormat,
    /// Which picture: the plan graph, or the merchants and the outcomes
    /// their link or charge requests reach.
    #[arg(long, value_enum, default_value_t = GraphDecision::PlanChange)]
    pub decision: GraphDecision,
}

/// The decision type `tollgate graph` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphDecision {
    /// Plans as nodes, each change per requester role as an edge.
    PlanChange,
    /// Merchants and the payment-link outcomes they reach.
    PaymentLink,
    /// Merchants and the charge-funding outcomes they reach.
    ChargeFunding,
}

impl From<GraphDecision> for DecisionKind {
    fn from(d: GraphDecision) -> Self {
        match d {
            GraphDecision::PlanChange => Self::PlanChange,
            GraphDecision::PaymentLink => Self::PaymentLink,
            GraphDecision::ChargeFunding => Self::ChargeFunding,
        }
    }
}

fn role(s: &str) -> Result<RequesterRole, String> {
    RequesterRole::parse(s).ok_or_else(|| {
        format!("`{s}` is not a requester role (TENANT, RESELLER, PROVIDER, OPERATOR)")
    })
}

/// How `tollgate graph` prints the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// SVG.
    Svg,
}

/// `tollgate eval`: exactly one request.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("request").required(true).multiple(false)))]
pub struct EvalArgs {
    /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
    pub path: Option<PathBuf>,
    /// A `tollgate.v1.PlanChangeRequest` in proto JSON (`-` reads stdin).
    #[arg(long, value_name = "FILE.json", group = "request")]
    pub plan_change: Option<PathBuf>,
    /// A `tollgate.v1.PaymentLinkRequest` in proto JSON (`-` reads stdin).
    #[arg(long, value_name = "FILE.json", group = "request")]
    pub payment_link: Option<PathBuf>,
    /// A `tollgate.v1.ChargeFundingRequest` in proto JSON (`-` reads stdin).
    #[arg(long, value_name = "FILE.json", group = "request")]
    pub charge_funding: Option<PathBuf>,
}

/// `tollgate diff`: two bundles, and how to report what changes.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The bundle in service: a directory or `.tar.gz`.
    pub old: PathBuf,
    /// The candidate: a directory or `.tar.gz`.
    pub new: PathBuf,
    /// How to report.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// How `diff` and `replay` report the decisions that change.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// How to print the report on stdout.
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
    /// Exit 1 when any decision changes, for CI.
    #[arg(long)]
    pub fail_on_change: bool,
    /// Print at most N requests of each group of changed decisions (the
    /// counts are always whole); `replay` also keeps only N per group, and
    /// per reason a line could not be replayed.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub show: usize,
}

/// `tollgate replay`: a candidate bundle, a decision log, and what to
/// compare with.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The candidate bundle: a directory or `.tar.gz`.
    #[arg(long, value_name = "PATH")]
    pub bundle: PathBuf,
    /// The decision log: one JSON event per line (`-` reads stdin).
    #[arg(value_name = "LOG.jsonl")]
    pub log: PathBuf,
    /// Compare with this bundle's decisions on the same inputs, instead
    /// of with the outcomes and reason codes the log recorded.
    #[arg(long, value_name = "PATH")]
    pub against: Option<PathBuf>,
    /// How to report.
    #[command(flatten)]
    pub report: ReportArgs,
}
