//! `tollgate-bench`: a load generator that drives a running server over real
//! gRPC and reports throughput, latency percentiles (hdrhistogram), errors
//! by status code and CPU time per call.
//!
//! A binary of its own, apart from the `tollgate` service binary, so the
//! service does not carry the load generator, its histogram or its client
//! TLS. It uses the `tollgate` library for the request types and the
//! embedded demo bundle.
//!
//! The requests (varied, valid requests for the demo bundle, a few of them
//! refused) are encoded once, before the run; the hot loop sends those bytes
//! with a pass-through codec, so it allocates only what tonic itself needs.
//! `--rpc floor` drives the floor instead (`benches/floor`: a tonic server
//! that does no policy work) with messages of the same sizes, so a run
//! against each tells Tollgate's cost from the transport's.
//!
//! With `--tls-ca` (and `--tls-cert`/`--tls-key` for mutual TLS) it speaks
//! TLS to an `https://` target, each connection with its own full handshake.
//!
//! `scripts/bench.sh` runs both, pinned to separate cores, plus `h2load`.

mod args;
mod codec;
mod drive;
mod floor_pb;
mod report;
mod requests;
mod schedule;
mod tls;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;

use args::{BenchArgs, Rpc, Settings, Target};
use report::Report;
use schedule::{echo, frame, unframe};

// The same allocator as `tollgate serve`, so that measurements of the load
// generator's own CPU compare with earlier ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes: 0 when every measured call succeeded, 1 when some failed,
/// 64 (sysexits `EX_USAGE`) for a bad command line, 70 (`EX_SOFTWARE`) when
/// the run could not be made (no server, a bad TLS file).
fn main() -> ExitCode {
    let args = match BenchArgs::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.exit_code() == 0 { 0 } else { 64 });
        }
    };
    match command(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tollgate-bench: {e:#}");
            ExitCode::from(70)
        }
    }
}

/// Runs the command line; true when every measured call succeeded.
fn command(args: &BenchArgs) -> anyhow::Result<bool> {
    let first = args.mix.first().context("the mix is empty")?;
    if let Some(path) = &args.write_grpc_body {
        let body = first_request(first, args.rpc)?.context("no request to write")?;
        std::fs::write(path, frame(&body)?)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        return Ok(true);
    }
    if let Some(path) = &args.decode_grpc_response {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let message = unframe(&data).with_context(|| format!("`{}`", path.display()))?;
        println!("{}", schedule::describe(args.rpc, first, message)?);
        return Ok(true);
    }

    let settings = Settings::try_from(args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(run(&settings))?;
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        print!("{report}");
    }
    Ok(report.failed() == 0)
}

/// The encoded first request of `rpc`'s pool (an echo of its size for the
/// floor).
fn first_request(rpc: Rpc, target: Target) -> anyhow::Result<Option<bytes::Bytes>> {
    Ok(match target {
        Target::Decision => schedule::encoded(rpc).into_iter().next(),
        Target::Floor => schedule::sizes(rpc)?
            .into_iter()
            .next()
            .map(|(req, res)| bytes::Bytes::from(prost::Message::encode_to_vec(&echo(req, res)))),
    })
}

/// Drives `settings.target` as `settings` says and reports what it saw.
async fn run(settings: &Settings) -> anyhow::Result<Report> {
    let calls = schedule::calls(&settings.mix, settings.rpc)?;
    let request_bytes =
        calls.iter().map(|c| c.body.len()).sum::<usize>() as f64 / calls.len().max(1) as f64;
    let outcome = drive::drive(settings, calls).await?;
    Ok(Report::new(settings, &outcome, request_bytes))
}
