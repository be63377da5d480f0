//! Helpers shared by the tests that run the `tollgate` binary as a process.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
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
