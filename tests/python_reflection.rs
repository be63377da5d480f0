//! The reference Python client (grpcio-reflection) against `tollgate serve`
//! (the built binary, embedded demo bundle) on a loopback port: it lists
//! every service through reflection and resolves
//! `tollgate.v1.PlanChangeRequest`, as `grpcurl`-style tools do
//! (`tests/python_reflection/list_services.py`).
//!
//! Without python3's `grpcio` and `grpcio-reflection` the trial is reported
//! as ignored, with the reason, never passed; under
//! `TOLLGATE_CI_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs them) it
//! fails.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::process::{Command, Stdio};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use support::{Serve, crate_path, free_port, missing_tool, tollgate};

const SERVICES: [&str; 3] = [
    "tollgate.v1.DecisionService",
    "tollgate.v1.BundleService",
    "grpc.health.v1.Health",
];

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::ignorable_test("python reflection client lists every service", || {
        let available = Command::new("python3")
            .args(["-c", "import grpc, grpc_reflection"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            return missing_tool(
                "python3 with grpcio and grpcio-reflection is not available \
                 (python3 -m pip install grpcio grpcio-reflection)",
            );
        }
        list_services().map(|()| Completion::Completed)
    });
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn list_services() -> Result<(), Failed> {
    let port = free_port();
    let _server = Serve(
        tollgate()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-listen", "off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tollgate serve"),
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(support::connect(port));
    let output = Command::new("python3")
        .arg(crate_path("tests/python_reflection/list_services.py"))
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "python reflection client failed ({}):\n{stdout}\n{stderr}",
            output.status
        )
        .into());
    }
    for want in SERVICES {
        if !stdout.lines().any(|l| l == want) {
            return Err(format!("{want} missing:\n{stdout}").into());
        }
    }
    if !stdout.contains("resolved tollgate.v1.PlanChangeRequest") {
        return Err(format!("PlanChangeRequest not resolved:\n{stdout}").into());
    }
    Ok(())
}
