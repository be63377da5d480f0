//! The one-shot bundle tools: `check`, `test` and `eval`.

use std::io::{Read as _, Write as _};

use anyhow::Context as _;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use super::{Exit, revision, test_report};
use crate::{
    bundle::{BundleError, BundleErrors, BundleFiles, CompiledBundle},
    config::{self, CheckArgs, EvalArgs, TestArgs, TestFormat},
    engine::{self, ChargeFundingType, PaymentLinkType, PlanChangeType},
    grpc::{convert::Wire, pb},
    reload::BundleSource,
};

pub(super) fn check(args: &CheckArgs) -> Exit {
    let source = config::source(args.path.as_ref());
    let (bundle, mut warnings) = match read(&source).and_then(|files| engine::verify(&files)) {
        Ok((bundle, report)) => {
            // Warnings do not fail the check: the bundle would load.
            let warnings = bundle.warnings_at(jiff::Timestamp::now());
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let (native, total) = bundle.native_coverage();
            println!(
                "ok: bundle `{}` revision `{}`: {} rules, {} tests passed; {native} of {total} expressions run natively",
                bundle.name,
                bundle.revision,
                bundle.rule_count(),
                report.passed()
            );
            (bundle, warnings.len())
        }
        Err(errors) => {
            report(&source, &errors);
            return Exit::Failed;
        }
    };
    let known = [
        args.against.as_deref().map(revision::on_server),
        args.cache.as_deref().map(revision::in_cache),
    ];
    let mut exit = Exit::Ok;
    for found in known.into_iter().flatten() {
        match found.map(|known| known.compare(&bundle)) {
            Ok(revision::Comparison::Note(note)) => println!("{note}"),
            Ok(revision::Comparison::Warning(warning)) => {
                eprintln!("warning: {warning}");
                warnings += 1;
                if args.strict {
                    exit = Exit::Failed;
                }
            }
            Err(e) => {
                eprintln!("tollgate: {e:#}");
                exit = Exit::Failed;
            }
        }
    }
    if warnings > 0 {
        eprintln!("{source}: {warnings} warning(s)");
    }
    exit
}

pub(super) fn test(args: &TestArgs) -> anyhow::Result<Exit> {
    let source = config::source(args.path.as_ref());
    let bundle = match read(&source).and_then(|files| crate::bundle::compile(&files)) {
        Ok(bundle) => bundle,
        Err(errors) => {
            report(&source, &errors);
            if let Some(path) = &args.junit {
                test_report::write_junit(
                    path,
                    &test_report::invalid_junit(&source.to_string(), &errors),
                )?;
            }
            match args.format {
                TestFormat::Text => println!("0 passed, 0 failed: the bundle does not compile"),
                TestFormat::Json => println!("{:#}", test_report::invalid_json(&errors)),
            }
            return Ok(Exit::Invalid);
        }
    };
    let report = match &args.filter {
        Some(pattern) => engine::run_selected(&bundle, |name| name.contains(pattern.as_str())),
        None => engine::run_tests(&bundle),
    };
    if let Some(path) = &args.junit {
        test_report::write_junit(path, &test_report::junit(&bundle, &report))?;
    }
    match args.format {
        TestFormat::Text => print!("{}", test_report::text(&report)),
        TestFormat::Json => println!("{:#}", test_report::json(&bundle, &report)),
    }
    if let (Some(pattern), true) = (&args.filter, report.outcomes.is_empty()) {
        eprintln!("tollgate: no test name contains `{pattern}`");
        return Ok(Exit::Failed);
    }
    Ok(if report.failed() == 0 {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

pub(super) fn eval(args: &EvalArgs) -> anyhow::Result<Exit> {
    let source = config::source(args.path.as_ref());
    let Some(bundle) = compile_or_report(&source) else {
        return Ok(Exit::Failed);
    };
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).context("descriptor set")?;
    let now = jiff::Timestamp::now();
    let eval = DecideJson {
        pool: &pool,
        bundle: &bundle,
        now,
    };
    if let Some(path) = &args.plan_change {
        eval.run::<PlanChangeType>(path)
    } else if let Some(path) = &args.payment_link {
        eval.run::<PaymentLinkType>(path)
    } else if let Some(path) = &args.charge_funding {
        eval.run::<ChargeFundingType>(path)
    } else {
        anyhow::bail!("give one of --plan-change, --payment-link, --charge-funding");
    }
}

/// One `tollgate eval`: a request in proto JSON, its decision printed.
struct DecideJson<'a> {
    pool: &'a DescriptorPool,
    bundle: &'a CompiledBundle,
    now: jiff::Timestamp,
}

impl DecideJson<'_> {
    /// Reads `tollgate.v1.{NAME}Request` from `path`, decides, prints
    /// `tollgate.v1.{NAME}Decision`; bad input, or a request lacking a fact
    /// the deciding rule needs, is exit 1 with a message.
    fn run<T: Wire>(&self, path: &std::path::Path) -> anyhow::Result<Exit> {
        let request_type = format!("tollgate.v1.{}Request", T::NAME);
        let request = match from_json::<T::PbRequest>(self.pool, &request_type, path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("tollgate: {e:#}");
                return Ok(Exit::Failed);
            }
        };
        let req = match T::convert(request, self.now) {
            Ok(req) => req,
            Err(violations) => return Ok(invalid(&violations)),
        };
        let decision = match T::decide(self.bundle, &req) {
            Ok(decision) => T::PbDecision::from(&decision),
            Err(engine::DecideError::Invalid(violations)) => return Ok(invalid(&violations)),
            Err(failure) => return Ok(failed_precondition(&failure)),
        };
        let json = to_json(
            self.pool,
            &format!("tollgate.v1.{}Decision", T::NAME),
            &decision,
        )?;
        let mut out = std::io::stdout().lock();
        match writeln!(out, "{json}") {
            // A reader that stops early (`| head`) is not a failure.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(Exit::Ok),
        }
    }
}

/// The files at `source`. One that cannot be read is reported as the
/// bundle's one problem, in the same `bundle: ...` line and count as an
/// invalid bundle.
fn read(source: &BundleSource) -> Result<BundleFiles, BundleErrors> {
    source
        .read()
        .map_err(|e| BundleError::whole("", e.to_string()).into())
}

/// The compiled bundle at `source`, or `None` after printing every problem.
fn compile_or_report(source: &BundleSource) -> Option<CompiledBundle> {
    match read(source).and_then(|files| crate::bundle::compile(&files)) {
        Ok(bundle) => Some(bundle),
        Err(errors) => {
            report(source, &errors);
            None
        }
    }
}

fn report(source: &BundleSource, errors: &BundleErrors) {
    for e in errors.iter() {
        eprintln!("{e}");
    }
    eprintln!("{source}: {} problem(s)", errors.len());
}

fn invalid(violations: &crate::domain::Violations) -> Exit {
    for v in violations.iter() {
        eprintln!("invalid request: {}: {}", v.field, v.description);
    }
    Exit::Failed
}

/// No decision: what the request lacks, as the server's
/// `FAILED_PRECONDITION` says it.
fn failed_precondition(failure: &engine::DecideError) -> Exit {
    eprintln!("failed precondition: {failure}");
    Exit::Failed
}

fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
    }
}

fn from_json<T: prost::Message + Default>(
    pool: &DescriptorPool,
    name: &str,
    path: &std::path::Path,
) -> anyhow::Result<T> {
    let text = read_input(path)?;
    let desc = pool
        .get_message_by_name(name)
        .with_context(|| format!("no message `{name}`"))?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let shown = path.display();
    let message = DynamicMessage::deserialize(desc, &mut de)
        .with_context(|| format!("`{shown}`: not a valid `{name}` in proto JSON"))?;
    de.end()
        .with_context(|| format!("`{shown}`: trailing characters after the JSON"))?;
    Ok(message.transcode_to::<T>()?)
}

fn to_json<T: prost::Message>(
    pool: &DescriptorPool,
    name: &str,
    message: &T,
) -> anyhow::Result<String> {
    let desc = pool
        .get_message_by_name(name)
        .with_context(|| format!("no message `{name}`"))?;
    let mut dynamic = DynamicMessage::new(desc);
    dynamic.transcode_from(message)?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut out);
    dynamic.serialize_with_options(
        &mut ser,
        &SerializeOptions::new().use_proto_field_name(true),
    )?;
    Ok(String::from_utf8(out)?)
}
