//! The one-shot bundle tools: `check`, `test`, `eval` and `sign`.

use std::io::{Read as _, Write as _};

use super::{
    Exit, coverage_report, lint_report,
    proto_json::{self, DecideJson},
    revision, test_report,
};
use crate::{
    bundle::{
        BundleError, BundleErrors, BundleFiles, CompiledBundle, is_yaml,
        signature::{self, SigningKey, TrustedKeys},
    },
    config::{self, CheckArgs, EvalArgs, SignArgs, TestArgs, TestFormat},
    engine::{self, ChargeFundingType, PaymentLinkType, PlanChangeType, coverage},
    grpc::convert::Wire,
    reload::BundleSource,
};
use anyhow::Context as _;

pub(super) fn check(args: &CheckArgs, keys: Option<&TrustedKeys>) -> Exit {
    let source = config::source(args.path.as_ref());
    let verified = read(&source).and_then(|files| {
        let signed_by = verify_signature(&files, keys)?;
        engine::verify(&files).map(|(bundle, report)| (bundle, report, signed_by))
    });
    let (bundle, mut warnings) = match verified {
        Ok((bundle, report, signed_by)) => {
            // Warnings do not fail the check: the bundle would load.
            let warnings = bundle.warnings_at(jiff::Timestamp::now());
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            // Lint's deny set fails the check; its warnings are lint's to show.
            let denied = lint_report::denied(&bundle);
            if denied > 0 {
                eprintln!(
                    "{source}: {denied} lint finding(s) at deny level (`tollgate lint` lists them)"
                );
                return Exit::Failed;
            }
            let (native, total) = bundle.native_coverage();
            let signed = signed_by
                .map(|id| format!("; signed by key `{id}`"))
                .unwrap_or_default();
            println!(
                "ok: bundle `{}` revision `{}`: {} rules, {} tests passed; {native} of {total} expressions run natively{signed}",
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

pub(super) fn test(args: &TestArgs, keys: Option<&TrustedKeys>) -> anyhow::Result<Exit> {
    let source = config::source(args.path.as_ref());
    let compiled = read(&source).and_then(|files| {
        verify_signature(&files, keys)?;
        crate::bundle::compile(&files)
    });
    let bundle = match compiled {
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
                TestFormat::Text => {
                    println!("0 passed, 0 failed: the bundle does not verify or compile");
                }
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
    let coverage = args.wants_coverage().then(|| match &args.filter {
        Some(pattern) => coverage::coverage(&bundle, |name| name.contains(pattern.as_str())),
        None => coverage::coverage(&bundle, |_| true),
    });
    match args.format {
        TestFormat::Text => {
            print!("{}", test_report::text(&report));
            if let Some(c) = &coverage {
                print!("{}", coverage_report::text(c));
            }
        }
        TestFormat::Json => {
            let mut doc = test_report::json(&bundle, &report);
            if let (Some(c), Some(map)) = (&coverage, doc.as_object_mut()) {
                map.insert("coverage".to_owned(), coverage_report::json(c));
            }
            println!("{doc:#}");
        }
    }
    if let (Some(pattern), true) = (&args.filter, report.outcomes.is_empty()) {
        eprintln!("tollgate: no test name contains `{pattern}`");
        return Ok(Exit::Failed);
    }
    let mut exit = if report.failed() == 0 {
        Exit::Ok
    } else {
        Exit::Failed
    };
    if let Some(c) = &coverage {
        if let Some(path) = &args.coverage_out {
            std::fs::write(path, coverage_report::lcov(c, &source))
                .with_context(|| format!("cannot write the LCOV file `{}`", path.display()))?;
        }
        for (flag, min, got, what) in [
            (
                "--min-coverage",
                args.min_coverage,
                c.rules_covered(),
                "rules",
            ),
            (
                "--min-branch-coverage",
                args.min_branch_coverage,
                c.branches_covered(),
                "branch outcomes",
            ),
        ] {
            let pct = coverage::percent(got);
            if let Some(min) = min
                && pct < min
            {
                eprintln!(
                    "tollgate: {flag} {min}: {pct:.1}% of {what} covered ({} of {})",
                    got.0, got.1
                );
                exit = Exit::Failed;
            }
        }
    }
    Ok(exit)
}

pub(super) fn eval(args: &EvalArgs) -> anyhow::Result<Exit> {
    let source = config::source(args.path.as_ref());
    let Some(bundle) = compile_or_report(&source) else {
        return Ok(Exit::Failed);
    };
    let pool = proto_json::pool()?;
    let eval = DecideJson {
        pool: &pool,
        bundle: &bundle,
        now: jiff::Timestamp::now(),
    };
    if let Some(path) = &args.plan_change {
        eval_file::<PlanChangeType>(&eval, path)
    } else if let Some(path) = &args.payment_link {
        eval_file::<PaymentLinkType>(&eval, path)
    } else if let Some(path) = &args.charge_funding {
        eval_file::<ChargeFundingType>(&eval, path)
    } else {
        anyhow::bail!("give one of --plan-change, --payment-link, --charge-funding");
    }
}

/// One `tollgate eval`: the request in `path` (`-`: stdin) decided and its
/// decision printed; bad input, or a request lacking a fact the deciding
/// rule needs, is exit 1 with a message.
fn eval_file<T: Wire>(eval: &DecideJson<'_>, path: &std::path::Path) -> anyhow::Result<Exit> {
    let text = read_input(path)?;
    let json = match eval.decide::<T>(&text) {
        Ok(json) => json,
        Err(undecided) => {
            eprintln!("{}", undecided.message(&path.display().to_string()));
            return Ok(Exit::Failed);
        }
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{json}") {
        // A reader that stops early (`| head`) is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(Exit::Ok),
    }
}

/// With keys, the id of the key whose signature verifies `files`.
fn verify_signature(
    files: &BundleFiles,
    keys: Option<&TrustedKeys>,
) -> Result<Option<String>, BundleErrors> {
    keys.map(|keys| keys.verify(files).map(|v| v.key_id))
        .transpose()
}

/// `tollgate sign`: writes `.signatures.json` into a bundle directory. An
/// archive is refused rather than rewritten: the directory it was packed
/// from is the thing to sign, and packing it again keeps one way to make a
/// signed archive. Bad flags are bad configuration (exit 64); a bundle that
/// cannot be read is exit 1.
pub(super) fn sign(args: &SignArgs) -> anyhow::Result<Exit> {
    let invalid = |message: String| anyhow::Error::new(config::ConfigError::Invalid(message));
    let shown = args.path.display();
    if !std::fs::metadata(&args.path).is_ok_and(|m| m.is_dir()) {
        return Err(invalid(format!(
            "`{shown}` is not a bundle directory: sign the directory a bundle is packed from, then pack it (`tar -C DIR -czf bundle.tar.gz .`); an archive is not rewritten"
        )));
    }
    let key_shown = args.signing_key.display();
    let pem = std::fs::read(&args.signing_key)
        .map_err(|e| invalid(format!("--signing-key `{key_shown}`: {e}")))?;
    let key = SigningKey::from_pem(&pem)
        .map_err(|e| invalid(format!("--signing-key `{key_shown}`: {e}")))?;
    if args.key_id.as_deref() == Some("") {
        return Err(invalid("--key-id: the key id is empty".to_owned()));
    }
    let source = BundleSource::Path(args.path.clone());
    let files = match read(&source) {
        Ok(files) => files,
        Err(errors) => {
            report(&source, &errors);
            return Ok(Exit::Failed);
        }
    };
    let text = match signature::sign(&files, &key, args.key_id.as_deref()) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("tollgate: `{shown}`: {e}");
            return Ok(Exit::Failed);
        }
    };
    let target = args.path.join(signature::SIGNATURES_FILE);
    // Through a temporary file and a rename: a watching server never reads
    // half a signature.
    let temp = args.path.join(format!(
        "{}.{}.tmp",
        signature::SIGNATURES_FILE,
        std::process::id()
    ));
    std::fs::write(&temp, &text)
        .and_then(|()| std::fs::rename(&temp, &target))
        .with_context(|| format!("cannot write `{}`", target.display()))?;
    let count = files.iter().filter(|(n, _)| is_yaml(n)).count();
    let kid = args
        .key_id
        .as_deref()
        .map(|id| format!(" as key `{id}`"))
        .unwrap_or_default();
    println!(
        "signed: `{shown}`: {count} files with {:?}{kid}; wrote `{}`",
        key.algorithm(),
        target.display()
    );
    Ok(Exit::Ok)
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
pub(super) fn compile_or_report(source: &BundleSource) -> Option<CompiledBundle> {
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
