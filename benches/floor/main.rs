//! The floor of `tollgate-bench`: a minimal tonic server answering
//! `bench.v1.FloorService/Echo` with no policy work, so a load test can
//! compare Tollgate with what gRPC alone costs on the same machine.
//!
//! ```text
//! cargo bench --no-run --bench floor    # builds target/release/deps/floor-*
//! floor --listen 127.0.0.1:50061 [--nagle]   # serves until killed
//! tollgate-bench --rpc floor --target http://127.0.0.1:50061
//! ```

mod server;

use std::{net::SocketAddr, process::ExitCode};

use clap::Parser as _;

/// A gRPC server that does no work: the floor for `tollgate-bench`.
#[derive(Debug, clap::Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50061")]
    listen: SocketAddr,
    /// Keep Nagle's algorithm on accepted connections, as Tollgate's server
    /// does; by default they get TCP_NODELAY, as with tonic's `serve(addr)`.
    #[arg(long)]
    nagle: bool,
    /// Accepted and ignored: `cargo bench` passes `--bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

// The same allocator as `tollgate serve`, so the floor differs from it by
// the policy work only.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("floor: cannot listen on {}: {e}", args.listen);
            return ExitCode::from(70);
        }
    };
    eprintln!("floor: serving bench.v1.FloorService on {}", args.listen);
    match server::serve(listener, !args.nagle, std::future::pending()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::from(70)
        }
    }
}
