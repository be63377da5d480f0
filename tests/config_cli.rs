//! The server config file, run as a process: `serve --config` layered under
//! the environment and the flags, `--check-config`, and bad configuration
//! refused with exit code 64 and `file:line:column` before anything binds.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    fs,
    path::{Path, PathBuf},
};

use support::{Run, json_log_until, tollgate};

/// Writes `yaml` to `tollgate.yaml` in `dir`.
fn config(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("tollgate.yaml");
    fs::write(&path, yaml).expect("write the config file");
    path
}

fn check_config(path: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tollgate();
    cmd.args(["serve", "--config"])
        .arg(path)
        .arg("--check-config")
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::of(&mut cmd)
}

/// The `key: value  # source` line of `key` in `--check-config` output.
fn line<'a>(out: &'a Run, key: &str) -> &'a str {
    let prefix = format!("{key}: ");
    out.stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{out}"))
}

#[test]
fn flags_beat_the_environment_which_beats_the_file_which_beats_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = config(
        dir.path(),
        "request-timeout: 5s\nmax-methods: 8\nmax_map_entries: 12\n",
    );
    let out = check_config(
        &path,
        &["--max-methods", "9"],
        &[("TOLLGATE_REQUEST_TIMEOUT", "7s")],
    );
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(line(&out, "max-methods"), r#"max-methods: "9"  # flag"#);
    assert_eq!(
        line(&out, "request-timeout"),
        r#"request-timeout: "7s"  # environment"#
    );
    assert_eq!(
        line(&out, "max-map-entries"),
        r#"max-map-entries: "12"  # config file"#
    );
    assert_eq!(
        line(&out, "shutdown-grace"),
        r#"shutdown-grace: "10s"  # default"#
    );
    assert!(out.stdout.contains("# bundle: (not set)"), "{out}");
}

#[test]
fn check_config_redacts_secrets_and_prints_a_config_it_accepts_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = config(
        dir.path(),
        "decision-log: stdout\ndecision-log-hash-key: hunter2\n\
         decision-log-erase: [input.attributes.email, input.attributes.phone]\n\
         decision-log-unmasked: true\nlog-format: json\n",
    );
    let out = check_config(&path, &[], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(!out.stdout.contains("hunter2"), "the key leaked:\n{out}");
    assert_eq!(
        line(&out, "decision-log-hash-key"),
        r#"decision-log-hash-key: "<redacted>"  # config file"#
    );
    assert_eq!(
        line(&out, "decision-log-erase"),
        r#"decision-log-erase: ["input.attributes.email", "input.attributes.phone"]  # config file"#
    );
    assert_eq!(
        line(&out, "decision-log-unmasked"),
        r#"decision-log-unmasked: "true"  # config file"#
    );
    // The printed configuration is itself a config file the server takes
    // (with the redacted key put back).
    let again = config(dir.path(), &out.stdout.replace("<redacted>", "hunter2"));
    let round = check_config(&again, &[], &[]);
    assert_eq!(round.code, Some(0), "{round}");
    let values = |run: &Run| -> Vec<String> {
        run.stdout
            .lines()
            .map(|l| l.split("  # ").next().unwrap_or(l).to_owned())
            .collect()
    };
    assert_eq!(values(&round), values(&out));
    assert_eq!(
        line(&out, "log-format"),
        r#"log-format: "json"  # config file"#
    );
}

#[test]
fn bad_settings_exit_64_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (yaml, want) in [
        (
            "listen: 127.0.0.1:0\nrequest-timeout: 5x\n",
            "tollgate.yaml:2:18: `request-timeout`: invalid value '5x'",
        ),
        (
            "max-methods: 0\n",
            "tollgate.yaml:1:14: `max-methods`: invalid value '0'",
        ),
        (
            "listen: 127.0.0.1:0\nlisten_on: x\n",
            "tollgate.yaml:2:12: `listen_on`: not a setting of `tollgate serve`",
        ),
        (
            "listen: [a, b]\n",
            "tollgate.yaml:1:9: `listen`: takes one value, not a list",
        ),
        (
            "decision-log-unmasked: yes please\n",
            "`decision-log-unmasked`: expects `true` or `false`",
        ),
        ("listen: : :\n", "tollgate.yaml:1:9: "),
        (
            "listen: {host: a}\n",
            "tollgate.yaml:1:9: `listen`: takes a value or a list of values",
        ),
        (
            "callers:\n  - identity: billing\n    rpcs: [tollgate.v1.DecisionService/Nope]\n",
            "tollgate.yaml:3:12: ",
        ),
        (
            // A policy names client-certificate identities: without mutual
            // TLS there are none.
            "callers:\n  - identity: billing\n    rpcs: [tollgate.v1.BundleService/*]\n",
            "a caller policy needs --client-ca",
        ),
        ("config: other.yaml\n", "`config`: not a setting"),
    ] {
        let path = config(dir.path(), yaml);
        let mut cmd = tollgate();
        let out = Run::of(cmd.args(["serve", "--config"]).arg(&path));
        assert_eq!(out.code, Some(64), "{yaml}: {out}");
        assert!(
            out.stderr.contains(want),
            "{yaml}: want `{want}` in:\n{out}"
        );
    }
    let missing = dir.path().join("missing.yaml");
    let out = Run::of(tollgate().args(["serve", "--config"]).arg(&missing));
    assert_eq!(out.code, Some(64), "{out}");
    assert!(out.stderr.contains("cannot read the config file"), "{out}");
}

#[test]
fn an_empty_hash_key_file_is_bad_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key");
    fs::write(&key, "\n").expect("write the key file");
    let out = Run::of(
        tollgate()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:1",
                "--decision-log",
                "stdout",
            ])
            .arg("--decision-log-hash-key-file")
            .arg(&key),
    );
    assert_eq!(out.code, Some(64), "{out}");
    assert!(out.stderr.contains("the file is empty"), "{out}");
}

#[test]
fn serve_listens_where_the_config_file_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Port 0: the address actually bound is logged, and differs from the
    // default (50051), which proves the file's `listen` was used.
    let path = config(
        dir.path(),
        "listen: 127.0.0.1:0\nadmin-listen: 127.0.0.1:0\nlog-format: json\n",
    );
    let events = json_log_until(
        tollgate().args(["serve", "--config"]).arg(&path),
        "serving gRPC",
    );
    // `log-format: json` from the file: every line is a JSON object.
    let serving = events.last().and_then(|e| e["fields"]["addr"].as_str());
    let addr = serving.expect("the server logged its address");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_ne!(addr, "127.0.0.1:50051");
}

#[test]
fn the_container_images_command_is_a_valid_configuration() {
    // No container engine here: check that what the image runs parses.
    let dockerfile =
        fs::read_to_string(support::crate_path("Dockerfile")).expect("read the Dockerfile");
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("a CMD line");
    let args: Vec<String> = serde_json::from_str(cmd).expect("CMD in exec (JSON) form");
    let out = Run::of(tollgate().args(&args).arg("--check-config"));
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(line(&out, "listen"), r#"listen: "0.0.0.0:50051"  # flag"#);
    assert_eq!(
        line(&out, "admin-listen"),
        r#"admin-listen: "0.0.0.0:9464"  # flag"#
    );
}
