//! The `tollgate` binary: parse the command line, start logging, run.

use std::process::ExitCode;

use tollgate::{
    app,
    config::{self, ConfigError},
    telemetry::trace,
};

// Decisions allocate small, short-lived strings and maps on every call;
// mimalloc's thread-local free lists serve them faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let loaded = match config::parse() {
        Ok(loaded) => loaded,
        Err(e) => return ExitCode::from(e.report()),
    };
    let telemetry = match trace::init(&app::trace_settings(&loaded.cli)) {
        Ok(telemetry) => telemetry,
        Err(e) => return ExitCode::from(ConfigError::Invalid(format!("{e:#}")).report()),
    };
    let result = app::run(loaded);
    // After the server has stopped, so its last spans are flushed too.
    telemetry.shutdown();
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => match e.downcast_ref::<ConfigError>() {
            Some(config) => ExitCode::from(config.report()),
            None => {
                eprintln!("tollgate: {e:#}");
                // An internal or environment failure (sysexits EX_SOFTWARE).
                ExitCode::from(70)
            }
        },
    }
}
