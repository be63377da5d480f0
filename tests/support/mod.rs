//! Helpers shared by the tests that run the `tollgate` binary as a process.

use std::{
    fs,
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

/// Environment variables that would change what the binary does.
const AMBIENT: &[&str] = &[
    "RUST_LOG",
    "TOLLGATE_LOG_FORMAT",
    "TOLLGATE_LISTEN",
    "TOLLGATE_BUNDLE",
    "TOLLGATE_POLL_INTERVAL",
    "TOLLGATE_CONFIG",
    "TOLLGATE_REQUEST_TIMEOUT",
    "TOLLGATE_MAX_METHODS",
];

/// The built binary, run from the crate root with no ambient configuration.
pub fn tollgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for var in AMBIENT {
        cmd.env_remove(var);
    }
    cmd
}

/// A finished run, with its output as text.
pub struct Run {
    /// The exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Runs `cmd` to completion.
    pub fn of(cmd: &mut Command) -> Self {
        Self::from(cmd.output().expect("the tollgate binary runs"))
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `tollgate ARGS`, run to completion.
pub fn run(args: &[&str]) -> Run {
    Run::of(tollgate().args(args))
}

/// A (temporary) path as the `&str` an argument list takes.
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// A path inside the crate.
pub fn crate_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Copies the demo bundle's files into `to` (created if needed).
pub fn copy_demo(to: &Path) {
    fs::create_dir_all(to).expect("create bundle dir");
    for entry in fs::read_dir(crate_path("bundles/demo")).expect("list bundles/demo") {
        let entry = entry.expect("list bundles/demo");
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy a demo file");
    }
}

/// A copy of the demo bundle whose `standard` plan allows 40 users, not
/// 50: a change that flips every decision sending 41 to 50 users there.
pub fn demo_with_fewer_standard_users() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plans.yaml"),
        "limits: { users: 50, storage_gb: 100 }",
        "limits: { users: 40, storage_gb: 100 }",
    );
    tmp
}

/// A copy of the demo bundle that does not compile: a condition of
/// `plan_change.yaml` reads an undeclared fact.
pub fn demo_that_does_not_compile() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plan_change.yaml"),
        "when: change.same_plan",
        "when: change.same_plna",
    );
    tmp
}

/// Packs the demo bundle into `archive` (`.tar.gz`) under a folder, as
/// `tar czf demo.tar.gz demo/` makes it: files are read by base name.
pub fn pack_demo(archive: &Path) {
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(archive).expect("create archive"),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("demo", crate_path("bundles/demo"))
        .expect("add the demo bundle");
    tar.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip");
}

/// Replaces the one occurrence of `old` in `file` with `new`.
pub fn edit(file: &Path, old: &str, new: &str) {
    let text = fs::read_to_string(file).expect("read a bundle file");
    assert_eq!(
        text.matches(old).count(),
        1,
        "`{old}` must occur once in {}",
        file.display()
    );
    fs::write(file, text.replacen(old, new, 1)).expect("write a bundle file");
}

/// A `tollgate serve` process, killed when dropped (a failing test must
/// not leave servers behind).
pub struct Serve(pub std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `tollgate serve` process on free loopback ports, with its admin port,
/// its output discarded; killed when dropped.
pub struct ServeWithAdmin {
    /// The process.
    pub serve: Serve,
    /// The gRPC port.
    pub port: u16,
    /// The admin port's address.
    pub admin: std::net::SocketAddr,
}

/// Starts `tollgate serve` with `extra` arguments on free ports, gRPC and
/// admin.
pub fn serve_with_admin(extra: &[&str]) -> ServeWithAdmin {
    let port = free_port();
    let admin_port = free_port();
    let serve = Serve(
        tollgate()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-listen", &format!("127.0.0.1:{admin_port}")])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tollgate serve"),
    );
    ServeWithAdmin {
        serve,
        port,
        admin: ([127, 0, 0, 1], admin_port).into(),
    }
}

/// A single-threaded tokio runtime for a test without `#[tokio::test]`.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A port that was free a moment ago, for a server started as a process.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local address").port()
}

/// A channel to the server on `port`, waiting (within a bound against
/// hanging, not a speed requirement) for it to listen.
pub async fn connect(port: u16) -> tonic::transport::Channel {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let endpoint = format!("http://127.0.0.1:{port}");
        if let Ok(channel) = tonic::transport::Channel::from_shared(endpoint)
            .expect("endpoint")
            .connect()
            .await
        {
            return channel;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "the server on {port} never listened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A plan change of tenant `tenant` from `free` to `standard`, asked as
/// `role`: an upgrade every demo bundle allows.
pub fn free_to_standard(
    tenant: &str,
    role: tollgate::grpc::pb::RequesterRole,
) -> tollgate::grpc::pb::PlanChangeRequest {
    tollgate::grpc::pb::PlanChangeRequest {
        tenant_id: tenant.to_owned(),
        from_plan: "free".to_owned(),
        to_plan: "standard".to_owned(),
        requester: Some(tollgate::grpc::pb::Requester {
            role: role.into(),
            id: String::new(),
        }),
        ..Default::default()
    }
}

/// Set (to `1`) by `.ci/run`: a test whose outside tool (promtool, grpcurl,
/// the Python packages) is missing then fails instead of being ignored, so
/// CI cannot pass without running it.
pub const REQUIRE_TOOLS: &str = "TOLLGATE_CI_REQUIRE_TOOLS";

/// Whether [`REQUIRE_TOOLS`] is set to `1`.
pub fn tools_required() -> bool {
    std::env::var(REQUIRE_TOOLS).is_ok_and(|v| v == "1")
}

/// The outcome of a trial whose tool is missing (`why`, with how to
/// install it): ignored with that reason, or, under [`REQUIRE_TOOLS`], a
/// failure saying so.
pub fn missing_tool(why: &str) -> Result<libtest_mimic::Completion, libtest_mimic::Failed> {
    if tools_required() {
        Err(format!("{why}, and {REQUIRE_TOOLS}=1 requires it").into())
    } else {
        Ok(libtest_mimic::Completion::ignored_with(why))
    }
}

/// The executable `name` on `PATH`, if any.
pub fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Starts `cmd`, a `tollgate serve` logging JSON (`--log-format json`),
/// reads its log events until one whose message is `until` (within 30 s, a
/// bound against hanging, not a speed requirement), stops it, and returns
/// every event read, `until`'s last.
pub fn json_log_until(cmd: &mut Command, until: &str) -> Vec<serde_json::Value> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tollgate serve");
    let stderr = child.stderr.take().expect("piped stderr");
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut events = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("read stderr");
        assert!(Instant::now() < give_up, "no `{until}` line: {events:?}");
        let event: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        let done = event["fields"]["message"] == until;
        events.push(event);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    events
}

/// The line of the demo's plan-change rule `id`, as traces and warnings
/// name it.
pub fn demo_rule_line(id: &str) -> usize {
    let text = fs::read_to_string(crate_path("bundles/demo/plan_change.yaml")).expect("read");
    let needle = format!("- id: {id}");
    1 + text
        .lines()
        .position(|l| l.trim_start() == needle)
        .expect("the rule")
}

// --- eval requests shared by the CLI tests ----------------------------

/// A balance and an expired card: the user must add a payment method.
pub const LINK_BALANCE_ONLY: &str = r#"{
  "user_id": "user-secret",
  "merchant_id": "video-stream",
  "methods": [
    { "id": "wallet", "type": "PAYMENT_METHOD_TYPE_BALANCE", "status": "PAYMENT_METHOD_STATUS_ACTIVE" },
    { "id": "card-1", "type": "PAYMENT_METHOD_TYPE_CREDIT_CARD", "status": "PAYMENT_METHOD_STATUS_EXPIRED" }
  ],
  "health": { "score": 72 },
  "as_of": "2026-03-10T09:00:00Z"
}"#;

/// A ¥3,000 charge with ¥1,000 in the balance: the preset bank account pays
/// the rest; a card that is not preset and a postpaid account the merchant
/// does not take are skipped.
pub const CHARGE_WITH_FALLBACK: &str = r#"{
  "user_id": "user-secret",
  "merchant_id": "video-stream",
  "amount": { "currency": "JPY", "amount_minor": 3000 },
  "balance_minor": 1000,
  "methods": [
    { "id": "wallet", "type": "PAYMENT_METHOD_TYPE_BALANCE", "status": "PAYMENT_METHOD_STATUS_ACTIVE" },
    { "id": "card-1", "type": "PAYMENT_METHOD_TYPE_CREDIT_CARD", "status": "PAYMENT_METHOD_STATUS_ACTIVE" },
    { "id": "bank-1", "type": "PAYMENT_METHOD_TYPE_BANK_ACCOUNT", "status": "PAYMENT_METHOD_STATUS_ACTIVE", "fallback_rank": 1 },
    { "id": "later-1", "type": "PAYMENT_METHOD_TYPE_POSTPAID", "status": "PAYMENT_METHOD_STATUS_ACTIVE", "fallback_rank": 2 }
  ],
  "as_of": "2026-03-10T09:00:00Z"
}"#;

/// A copy of the demo bundle with a plan `standard-eu` of `standard`'s
/// rank: a lateral change no plan-change rule answers (a gap).
pub fn demo_with_a_lateral_plan() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plans.yaml"),
        "  - id: premium\n",
        "  - id: standard-eu\n    rank: 1\n    limits: { users: 50, storage_gb: 100 }\n    quotas: { api_calls: 100000 }\n  - id: premium\n",
    );
    tmp
}

/// A copy of the demo bundle without its last payment-link rule
/// (`balance-only`) and the test of it: a balance-only wallet linking to
/// `ride-share` (which takes no second method) falls through every rule (a
/// payment gap), and every remaining test passes.
pub fn demo_with_a_payment_link_gap() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    let file = tmp.path().join("payment_link.yaml");
    let text = fs::read_to_string(&file).expect("read payment_link.yaml");
    let at = text
        .find("  - id: balance-only\n")
        .expect("rule balance-only");
    fs::write(&file, &text[..at]).expect("write payment_link.yaml");
    remove_item(
        &tmp.path().join("payment_tests.yaml"),
        "  - name: balance only asks for auto-charge where the merchant accepts no second method\n",
    );
    tmp
}

/// Removes from `file` the list item that starts with `first_line`, up to
/// the blank line that ends it.
pub fn remove_item(file: &Path, first_line: &str) {
    let text = fs::read_to_string(file).expect("read a bundle file");
    let start = text.find(first_line).expect("the item");
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |n| start + n + 2);
    fs::write(file, format!("{}{}", &text[..start], &text[end..])).expect("write a bundle file");
}

/// The line of `- id: MERCHANT` in the demo's `merchants.yaml`.
pub fn demo_merchant_line(merchant: &str) -> usize {
    let text = fs::read_to_string(crate_path("bundles/demo/merchants.yaml")).expect("read");
    let needle = format!("- id: {merchant}");
    1 + text
        .lines()
        .position(|l| l.trim_start() == needle)
        .expect("the merchant")
}
