//! The `tollgate` binary: parse the command line, start logging, run.

use std::process::ExitCode;

use clap::Parser as _;

use tollgate::{app, config::Cli, telemetry::trace};

// Decisions allocate small, short-lived strings and maps on every call;
// mimalloc's thread-local free lists serve them faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match trace::init(&cli) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            // 64: bad configuration (sysexits EX_USAGE).
            return ExitCode::from(64);
        }
    };
    let result = app::run(cli);
    // After the server has stopped, so its last spans are flushed too.
    telemetry.shutdown();
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            // 70: an internal or environment failure (sysexits EX_SOFTWARE).
            ExitCode::from(70)
        }
    }
}
