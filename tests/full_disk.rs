//! The decision log on a full file system: `tollgate serve` (the built
//! binary) logs to a 64 KiB tmpfs, mostly taken by a filler file, and fills
//! it with decisions. What reached the disk is counted as written and
//! nothing else (read from `/metrics`), every line on disk parses (a line
//! cut short is removed), and logging resumes once the filler is deleted,
//! without a restart.
//!
//! Mounting a tmpfs needs root: without it the trial is ignored, with the
//! reason, never passed; under `TOLLGATE_CI_REQUIRE_TOOLS=1` (set by
//! `.ci/run`, which runs as root) it fails.

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
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;
use support::{free_to_standard, missing_tool, path_str, runtime, serve_with_admin};
use tempfile::TempDir;
use tollgate::grpc::pb::{RequesterRole, decision_service_client::DecisionServiceClient};

fn main() {
    let args = Arguments::from_args();
    let trials = vec![Trial::ignorable_test(
        "a full disk counts what was written, leaves no partial line and recovers",
        || match Tmpfs::mount("64k") {
            Ok(fs) => full_disk(&fs).map(|()| Completion::Completed),
            Err(why) => missing_tool(&why),
        },
    )];
    libtest_mimic::run(&args, trials).exit();
}

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size`, or says why it cannot.
    fn mount(size: &str) -> Result<Self, String> {
        let dir = TempDir::new().expect("temp dir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Ok(Self { dir }),
            Ok(out) => Err(format!(
                "cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run `mount`: {e}")),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Every line of the log, each parsed; fails on a line that does not parse
/// or a last line without its newline.
fn lines(path: &PathBuf) -> Result<Vec<Value>, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read the log: {e}"))?;
    if !(text.is_empty() || text.ends_with('\n')) {
        let tail = text.get(text.len().saturating_sub(80)..);
        return Err(format!("the log ends in a partial line: {tail:?}").into());
    }
    text.lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{e}: {l}").into()))
        .collect()
}

/// The decision log's counters from `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    written: u64,
    failed: u64,
    dropped: u64,
}

async fn counts(admin: SocketAddr) -> Result<Counts, String> {
    let text = http::get(admin, "/metrics").await?.body;
    let read = |result: &str| {
        http::value(
            &text,
            "tollgate_decision_log_events_total",
            &[("result", result)],
        )
        .map(|v| v as u64)
        .ok_or_else(|| format!("no {result} sample in the scrape"))
    };
    Ok(Counts {
        written: read("written")?,
        failed: read("failed")?,
        dropped: read("dropped")?,
    })
}

/// Waits (within a bound against hanging, not a speed requirement) until
/// the log has accounted for `sent` events, as written or failed.
async fn settled(admin: SocketAddr, sent: u64) -> Result<Counts, Failed> {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let last = counts(admin).await;
        if let Ok(c) = last
            && c.written + c.failed == sent
        {
            return Ok(c);
        }
        if Instant::now() > give_up {
            return Err(format!("{sent} events never written or failed: {last:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn full_disk(fs: &Tmpfs) -> Result<(), Failed> {
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![0u8; 40 * 1024]).expect("write the filler");
    let path = fs.path().join("decisions.jsonl");
    let server = serve_with_admin(&["--decision-log", path_str(&path)]);
    let (port, admin) = (server.port, server.admin);
    runtime().block_on(async {
        let mut client = DecisionServiceClient::new(support::connect(port).await);
        let mut decide = async || {
            client
                .decide_plan_change(free_to_standard("t1", RequesterRole::Tenant))
                .await
                .map(|_| ())
                .map_err(|s| Failed::from(format!("a decision failed: {s:?}")))
        };

        let mut sent = 0;
        let mut stats = settled(admin, 0).await?;
        while stats.failed == 0 {
            if sent >= 500 {
                return Err(format!("the file system never filled: {stats:?}").into());
            }
            decide().await?;
            sent += 1;
            stats = settled(admin, sent).await?;
        }
        if stats.written == 0 || stats.dropped != 0 {
            return Err(format!("nothing written before the disk filled: {stats:?}").into());
        }
        let on_disk = lines(&path)?.len() as u64;
        if on_disk != stats.written {
            return Err(format!("{on_disk} lines on disk, counted {stats:?}").into());
        }

        // Room again: logging resumes without a restart.
        std::fs::remove_file(&filler).expect("remove the filler");
        let before = stats;
        for _ in 0..10 {
            decide().await?;
        }
        sent += 10;
        let after = settled(admin, sent).await?;
        if after.failed != before.failed || after.written != before.written + 10 {
            return Err(format!("logging did not resume: {before:?} then {after:?}").into());
        }
        let logged = lines(&path)?;
        if logged.len() as u64 != after.written {
            return Err(format!("{} lines on disk, counted {after:?}", logged.len()).into());
        }
        if !logged
            .iter()
            .all(|e| e["decisionId"].as_str().is_some_and(|id| !id.is_empty()))
        {
            return Err("a line on disk is not a whole event".into());
        }
        Ok::<(), Failed>(())
    })?;
    // The server lets go of the file before the tmpfs is unmounted.
    drop(server);
    Ok(())
}
