//! The `tollgate` binary: parse the command line, start logging, run.

use std::{io::IsTerminal as _, process::ExitCode};

use tracing_subscriber::EnvFilter;

use tollgate::{
    app,
    config::{self, ConfigError, LogFormat},
};

// Decisions allocate small, short-lived strings and maps on every call;
// mimalloc's thread-local free lists serve them faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let loaded = match config::parse() {
        Ok(loaded) => loaded,
        Err(ConfigError::Usage(e)) if e.exit_code() == 0 => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(ConfigError::Usage(e)) => {
            let _ = e.print();
            return ExitCode::from(64);
        }
        Err(e) => {
            eprintln!("tollgate: {e}");
            return ExitCode::from(64);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match loaded.cli.log_format {
        LogFormat::Pretty => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match app::run(loaded) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            // 64 for bad configuration (sysexits EX_USAGE); 70 for an
            // internal or environment failure (EX_SOFTWARE).
            let config = e.downcast_ref::<ConfigError>().is_some();
            ExitCode::from(if config { 64 } else { 70 })
        }
    }
}
