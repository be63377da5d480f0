//! Prometheus's own checker on a real scrape: `tollgate serve` (the built
//! binary, embedded demo bundle, admin port) answers a decision of every
//! type and a refused call, then `/metrics` is scraped as Prometheus scrapes
//! it without OpenMetrics (`text/plain; version=0.0.4`) and piped to
//! `promtool check metrics`, which must report nothing: the text format,
//! and every name, unit suffix, help text and label per Prometheus's
//! conventions (promtool's linter).
//!
//! The OpenMetrics exposition, served only to a scraper that asks for it,
//! is read by Prometheus's Python client's strict OpenMetrics parser
//! (`prometheus_client.openmetrics.parser`, PyPI `prometheus-client`):
//! `promtool check metrics` reads the text format alone (it rejects
//! OpenMetrics' `info` type).
//!
//! Without `promtool` on `PATH`, or python3's `prometheus_client`, the
//! trials are ignored, with the reason (`apt-get install prometheus` and
//! `pip install prometheus-client` install them; `.ci/run` does), never
//! passed; under `TOLLGATE_CI_REQUIRE_TOOLS=1` (set by `.ci/run`) they fail.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the exposition reader is for other test binaries")]
#[path = "e2e/http.rs"]
mod http;
#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    io::Write as _,
    path::Path,
    process::{Command, Stdio},
};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use support::{free_to_standard, missing_tool, on_path, runtime, serve_with_admin};
use tollgate::grpc::pb::{self, RequesterRole, decision_service_client::DecisionServiceClient};

const INSTALL: &str = "apt-get install prometheus";

fn main() {
    let args = Arguments::from_args();
    let promtool = on_path("promtool");
    let trials = vec![
        Trial::ignorable_test("promtool accepts a real scrape of /metrics", {
            let promtool = promtool.clone();
            move || match promtool {
                Some(promtool) => {
                    let scrape = scrape(None)?;
                    check_text(&promtool, &scrape).map(|()| Completion::Completed)
                }
                None => missing_tool(&format!("promtool is not on PATH; `{INSTALL}` installs it")),
            }
        }),
        Trial::ignorable_test(
            "the OpenMetrics scrape reads in prometheus_client's OpenMetrics parser",
            || {
                let available = Command::new("python3")
                    .args(["-c", "import prometheus_client.openmetrics.parser"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !available {
                    return missing_tool(
                        "python3 with prometheus_client is not available \
                         (python3 -m pip install prometheus-client)",
                    );
                }
                let scrape = scrape(Some("application/openmetrics-text; version=1.0.0"))?;
                check_openmetrics(&scrape).map(|()| Completion::Completed)
            },
        ),
        Trial::ignorable_test("promtool is live: it rejects a counter without _total", {
            move || match promtool {
                Some(promtool) => rejects_a_bad_exposition(&promtool),
                None => missing_tool(&format!("promtool is not on PATH; `{INSTALL}` installs it")),
            }
        }),
    ];
    libtest_mimic::run(&args, trials).exit();
}

/// `promtool check metrics` on `text`: its exit status and what it printed.
fn promtool_check(promtool: &Path, text: &str) -> (bool, String) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("wait for promtool");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

fn rejects_a_bad_exposition(promtool: &Path) -> Result<Completion, Failed> {
    let bad = "# HELP app_calls Calls.\n# TYPE app_calls counter\napp_calls 1\n";
    let (ok, printed) = promtool_check(promtool, bad);
    if ok || !printed.contains("_total") {
        return Err(format!("promtool accepted a counter without `_total`: {printed}").into());
    }
    Ok(Completion::Completed)
}

/// A scrape of `/metrics` (with `accept`, if given) from a real server
/// that has answered a decision of every type, with a shadow bundle (the
/// demo again) so the shadow series are there too.
fn scrape(accept: Option<&str>) -> Result<http::Answer, Failed> {
    let server = serve_with_admin(&["--shadow-bundle", "bundles/demo"]);
    let (port, admin) = (server.port, server.admin);
    let answer = runtime().block_on(async {
        let mut client = DecisionServiceClient::new(support::connect(port).await);
        // Every series family gets samples: each decision type, a reason, a
        // histogram, and a refused (invalid) call.
        client
            .decide_plan_change(free_to_standard("t1", RequesterRole::Tenant))
            .await
            .expect("a plan change");
        let mut same = free_to_standard("t1", RequesterRole::Tenant);
        same.to_plan = "free".to_owned();
        client.decide_plan_change(same).await.expect("a deny");
        let _ = client
            .decide_payment_link(pb::PaymentLinkRequest::default())
            .await;
        let _ = client
            .decide_charge_funding(pb::ChargeFundingRequest::default())
            .await;
        http::get_accepting(admin, "/metrics", accept).await
    })?;
    if !answer.body.contains("tollgate_decisions_total{") {
        return Err(format!("no decisions counted:\n{}", answer.body).into());
    }
    if !answer.body.contains("tollgate_shadow_decisions_total{") {
        return Err(format!("no shadow series:\n{}", answer.body).into());
    }
    Ok(answer)
}

fn check_text(promtool: &Path, scrape: &http::Answer) -> Result<(), Failed> {
    if scrape.content_type != "text/plain; version=0.0.4; charset=utf-8" {
        return Err(format!("content type `{}`", scrape.content_type).into());
    }
    let (ok, printed) = promtool_check(promtool, &scrape.body);
    if !ok || !printed.trim().is_empty() {
        return Err(format!(
            "promtool check metrics (ok: {ok}) says:\n{printed}\non:\n{}",
            scrape.body
        )
        .into());
    }
    Ok(())
}

/// Parses the scrape with the strict OpenMetrics parser; it raises on any
/// breach of the format (a missing `# EOF`, a sample outside its family, a
/// counter without `_total`, ...).
fn check_openmetrics(scrape: &http::Answer) -> Result<(), Failed> {
    if !scrape
        .content_type
        .starts_with("application/openmetrics-text; version=1.0.0")
    {
        return Err(format!("content type `{}`", scrape.content_type).into());
    }
    let script = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        for f in text_string_to_metric_families(sys.stdin.read()):\n    print(f.type, f.name)\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scrape.body.as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("wait for python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the OpenMetrics parser refused the scrape: {}\non:\n{}",
            String::from_utf8_lossy(&out.stderr),
            scrape.body
        )
        .into());
    }
    for family in [
        "info tollgate_bundle",
        "counter tollgate_decisions",
        "histogram tollgate_decision_duration_seconds",
    ] {
        if !stdout.lines().any(|l| l == family) {
            return Err(format!("`{family}` not parsed:\n{stdout}").into());
        }
    }
    Ok(())
}
