//! The Helm chart's properties, asserted on what Helm renders: the default
//! values and every `helm/tollgate/ci/*-values.yaml`. Rendering runs Helm's
//! own Go code offline through `scripts/render_chart.py` (PyPI:
//! helm-python-sdk); without those Python packages every trial is reported
//! as ignored, with the reason (a failure under `TOLLGATE_CI_REQUIRE_TOOLS=1`,
//! which `.ci/run` sets). `.ci/run` installs them, and
//! `scripts/check-chart.py` lints and validates the same renders against the
//! Kubernetes 1.29 schemas.

// Test code fails by panicking, helpers outside `#[test]` functions included.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod render;
mod rules;
#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
#[path = "../support/mod.rs"]
mod support;

use std::{fs, process::Command};

use libtest_mimic::{Arguments, Completion, Trial};
use render::{MONITORING_API, ci, every_case, port_of, render, seconds, unavailable};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Each property as a trial: run when Helm can render here, else ignored
/// with the reason (or failed, under `TOLLGATE_CI_REQUIRE_TOOLS=1`).
fn main() {
    let args = Arguments::from_args();
    let properties: [(&str, fn()); 15] = [
        (
            "probes_are_grpc_unless_tls_is_on",
            probes_are_grpc_unless_tls_is_on,
        ),
        ("pods_are_locked_down", pods_are_locked_down),
        (
            "ports_match_the_server_config",
            ports_match_the_server_config,
        ),
        (
            "the_bundle_mount_is_where_the_server_looks",
            the_bundle_mount_is_where_the_server_looks,
        ),
        (
            "files_named_in_the_config_come_from_mounted_secrets",
            files_named_in_the_config_come_from_mounted_secrets,
        ),
        (
            "the_checksum_follows_the_server_config_not_the_bundle",
            the_checksum_follows_the_server_config_not_the_bundle,
        ),
        (
            "the_ci_configmap_bundle_passes_tollgate_check",
            the_ci_configmap_bundle_passes_tollgate_check,
        ),
        (
            "shutdown_and_rollout_keep_capacity",
            shutdown_and_rollout_keep_capacity,
        ),
        (
            "service_monitor_needs_both_the_flag_and_the_api",
            service_monitor_needs_both_the_flag_and_the_api,
        ),
        (
            "the_rendered_server_config_is_accepted_by_tollgate",
            the_rendered_server_config_is_accepted_by_tollgate,
        ),
        (
            "the_playground_is_off_unless_asked_for",
            the_playground_is_off_unless_asked_for,
        ),
        (
            "rules::defaults_keep_two_spread_replicas_behind_a_budget",
            rules::defaults_keep_two_spread_replicas_behind_a_budget,
        ),
        (
            "rules::network_policy_admits_clients_to_grpc_and_prometheus_to_metrics",
            rules::network_policy_admits_clients_to_grpc_and_prometheus_to_metrics,
        ),
        (
            "rules::the_schema_refuses_bad_values",
            rules::the_schema_refuses_bad_values,
        ),
        (
            "rules::inconsistent_values_are_refused",
            rules::inconsistent_values_are_refused,
        ),
    ];
    // Listing the trials runs nothing, Python included.
    let unavailable = if args.list { None } else { unavailable() };
    let trials = properties
        .into_iter()
        .map(|(name, property)| {
            Trial::ignorable_test(name, move || match unavailable {
                Some(why) => support::missing_tool(why),
                None => {
                    property();
                    Ok(Completion::Completed)
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Native gRPC probes on the listen port without TLS; with TLS (the
/// kubelet's gRPC probe cannot speak it) the admin port's /readyz and
/// /healthz. Liveness leaves gRPC health when it can mean "stale bundle".
fn probes_are_grpc_unless_tls_is_on() {
    for (case, r) in every_case() {
        let config = r.config();
        let tls = config.get("tls-cert").is_some();
        let grpc = json!({"port": port_of(&config["listen"])});
        let c = r.container();
        for (probe, path) in [("startupProbe", "/readyz"), ("readinessProbe", "/readyz")] {
            if tls {
                assert_eq!(
                    c[probe]["httpGet"],
                    json!({"path": path, "port": "metrics"}),
                    "{case}: {probe}"
                );
                assert!(c[probe].get("grpc").is_none(), "{case}: {probe}");
            } else {
                assert_eq!(c[probe]["grpc"], grpc, "{case}: {probe}");
            }
        }
        // Liveness is the process, never the bundle: always /healthz, so a
        // bundle source that is down never has the kubelet restart replicas.
        let liveness = &c["livenessProbe"];
        assert_eq!(
            liveness["httpGet"],
            json!({"path": "/healthz", "port": "metrics"}),
            "{case}"
        );
        assert!(liveness.get("grpc").is_none(), "{case}: liveness");
    }
}

/// Non-root with a fixed UID, read-only root, no capabilities, seccomp
/// RuntimeDefault, no privilege escalation, no API token.
fn pods_are_locked_down() {
    for (case, r) in every_case() {
        let pod = r.pod();
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{case}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{case}"
        );
        assert_eq!(pod["automountServiceAccountToken"], false, "{case}");
        let sc = &r.container()["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true, "{case}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{case}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{case}");
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{case}");
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{case}");
        for sa in r.all("ServiceAccount") {
            assert_eq!(sa["automountServiceAccountToken"], false, "{case}");
        }
        let resources = &r.container()["resources"];
        assert!(
            resources["requests"]["cpu"].is_string() && resources["limits"]["memory"].is_string(),
            "{case}"
        );
    }
    let default = &every_case()[0].1;
    assert_eq!(default.pod()["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        default
            .find("ServiceAccount")
            .map(|sa| &sa["metadata"]["name"]),
        Some(&json!("tollgate"))
    );
}

/// The container's ports, the probes and the Service all follow `listen`
/// and `admin-listen` of the rendered server config; gRPC is appProtocol grpc.
fn ports_match_the_server_config() {
    for (case, r) in every_case() {
        let config = r.config();
        let ports = r.container()["ports"].as_array().expect("ports");
        let port = |name: &str| {
            ports
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| &p["containerPort"])
        };
        assert_eq!(
            port("grpc"),
            Some(&json!(port_of(&config["listen"]))),
            "{case}"
        );
        assert_eq!(
            port("metrics"),
            Some(&json!(port_of(&config["admin-listen"]))),
            "{case}"
        );
        assert!(
            config["listen"]
                .as_str()
                .is_some_and(|a| a.starts_with("0.0.0.0:")),
            "{case}"
        );
        for service in r.all("Service") {
            let grpc = service["spec"]["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .find(|p| p["name"] == "grpc");
            let grpc = grpc.unwrap_or_else(|| panic!("{case}: a grpc port"));
            assert_eq!(grpc["appProtocol"], "grpc", "{case}");
            assert_eq!(grpc["targetPort"], "grpc", "{case}");
            assert_eq!(
                service["spec"]["selector"],
                r.get("Deployment")["spec"]["selector"]["matchLabels"],
                "{case}"
            );
        }
        let main = r
            .all("Service")
            .into_iter()
            .find(|s| s["spec"]["clusterIP"] != "None")
            .expect("a Service");
        let metrics = main["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == "metrics");
        assert_eq!(
            metrics.map(|p| &p["targetPort"]),
            Some(&json!("metrics")),
            "{case}"
        );
    }
}

/// A ConfigMap bundle is mounted whole (no subPath, so updates reach the
/// pod) and read-only at the very path the server's `bundle` names; a URL
/// bundle gets its cache on an emptyDir; the demo needs no volume.
fn the_bundle_mount_is_where_the_server_looks() {
    for (case, r) in every_case() {
        let config = r.config();
        let bundle = config.get("bundle").and_then(Value::as_str);
        match bundle {
            Some(url) if url.contains("://") => {
                let cache = config["bundle-cache"].as_str().expect("bundle-cache");
                let (mount, volume) = r.mount_for(cache).expect("the cache is mounted");
                assert_eq!(mount["mountPath"], cache, "{case}");
                assert!(volume["emptyDir"].is_object(), "{case}");
            }
            Some(path) => {
                let (mount, volume) = r.mount_for(path).expect("the bundle is mounted");
                assert_eq!(mount["mountPath"], path, "{case}");
                assert!(
                    mount.get("subPath").is_none(),
                    "{case}: subPath stops ConfigMap updates"
                );
                assert_eq!(mount["readOnly"], true, "{case}");
                assert!(volume["configMap"]["name"].is_string(), "{case}");
            }
            None => assert!(
                r.pod()["volumes"]
                    .as_array()
                    .expect("volumes")
                    .iter()
                    .all(|v| v["name"] != "bundle"),
                "{case}"
            ),
        }
    }
    let existing = render(&["-f", &ci("existing-configmap-values.yaml")]);
    let (_, volume) = existing.mount_for("/srv/policy").expect("mounted");
    assert_eq!(volume["configMap"]["name"], "policy-bundle");
    assert!(existing.find("ServiceAccount").is_none());
    assert_eq!(existing.pod()["serviceAccountName"], "policy-reader");
}

/// Every file the server config names (TLS, client CA, bundle token, hash
/// key) lies in a read-only Secret volume mounted whole.
fn files_named_in_the_config_come_from_mounted_secrets() {
    let mut seen = 0;
    for (case, r) in every_case() {
        let config = r.config();
        let files = [
            "tls-cert",
            "tls-key",
            "client-ca",
            "bundle-token-file",
            "decision-log-hash-key-file",
        ]
        .into_iter()
        .filter_map(|key| Some((key, config.get(key)?.as_str()?)));
        // `verification-key` is a list: each key file counts.
        let keys = config
            .get("verification-key")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|path| ("verification-key", path));
        for (key, path) in files.chain(keys) {
            let (mount, volume) = r
                .mount_for(path)
                .unwrap_or_else(|| panic!("{case}: `{key}` {path} is not mounted"));
            assert!(volume["secret"]["secretName"].is_string(), "{case}: {key}");
            assert_eq!(mount["readOnly"], true, "{case}: {key}");
            assert!(
                mount.get("subPath").is_none(),
                "{case}: {key}: subPath stops rotations"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 7, "each option is on in one CI values file");
    let remote = render(&["-f", &ci("remote-bundle-values.yaml")]);
    assert_eq!(
        remote.config()["verification-key"],
        json!([
            "/etc/tollgate/secrets/bundle-verification/release-2026.pem",
            "/etc/tollgate/secrets/bundle-verification/release-2027.pem"
        ])
    );
    let (_, volume) = remote
        .mount_for("/etc/tollgate/secrets/bundle-verification/release-2026.pem")
        .expect("mounted");
    assert_eq!(volume["secret"]["secretName"], "bundle-keys");
    let tls = render(&["-f", &ci("tls-values.yaml")]);
    let config = tls.config();
    assert_eq!(config["tls-cert"], "/etc/tollgate/tls/tls.crt");
    assert_eq!(config["client-ca"], "/etc/tollgate/tls/ca.crt");
    let callers = &config["callers"];
    assert_eq!(
        callers[0]["identity"],
        "spiffe://cluster.local/ns/billing/sa/platform"
    );
    assert_eq!(
        callers[1]["rpcs"][1],
        "tollgate.v1.DecisionService/DecideChargeFunding"
    );
}

/// `checksum/config` is the sha256 of the rendered server config: it moves
/// when a server setting changes and not when a bundle file does.
fn the_checksum_follows_the_server_config_not_the_bundle() {
    let values = ci("configmap-bundle-values.yaml");
    let base = render(&["-f", &values]);
    let digest = hex(&Sha256::digest(base.config_text().trim_end_matches('\n')));
    assert_eq!(base.checksum(), digest);

    let dir = tempfile::tempdir().expect("tempdir");
    let plans = dir.path().join("plans.yaml");
    fs::write(
        &plans,
        "plans:\n  - { id: free, rank: 0 }\n  - { id: standard, rank: 1 }\n",
    )
    .expect("write");
    let set_file = format!("bundle.files.plans\\.yaml={}", plans.display());
    let new_bundle = render(&["-f", &values, "--set-file", &set_file]);
    let bundle_text = |r: &render::Rendered| {
        r.named("ConfigMap", "policy-bundle").expect("bundle")["data"]["plans.yaml"].clone()
    };
    assert_ne!(
        bundle_text(&new_bundle),
        bundle_text(&base),
        "--set-file reached the bundle"
    );
    assert_eq!(new_bundle.checksum(), base.checksum());

    let new_timeout = render(&["-f", &values, "--set", "server.requestTimeout=3s"]);
    assert_eq!(new_timeout.config()["request-timeout"], "3s");
    assert_ne!(new_timeout.checksum(), base.checksum());
}

/// The chart's admin port listens on every interface, so the playground,
/// which decides for whoever reaches that port, is off unless asked for.
fn the_playground_is_off_unless_asked_for() {
    assert_eq!(render(&[]).config()["playground"], "off");
    let on = render(&["--set", "server.playground=true"]);
    assert_eq!(on.config()["playground"], "on");
}

/// The bundle the CI values build into a ConfigMap is one `tollgate check`
/// accepts, so the example in the chart is a working bundle.
fn the_ci_configmap_bundle_passes_tollgate_check() {
    let r = render(&["-f", &ci("configmap-bundle-values.yaml")]);
    let data = r
        .named("ConfigMap", "policy-bundle")
        .expect("the bundle ConfigMap")["data"]
        .as_object()
        .expect("data");
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in data {
        fs::write(dir.path().join(name), text.as_str().expect("text")).expect("write");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("check")
        .arg(dir.path())
        .output()
        .expect("run tollgate");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `terminationGracePeriodSeconds` outlasts `shutdown-grace`, and a rollout
/// never takes a ready pod away first.
fn shutdown_and_rollout_keep_capacity() {
    for (case, r) in every_case() {
        let grace = seconds(&r.config()["shutdown-grace"]);
        let pod_grace = r.pod()["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("set");
        assert!(pod_grace > grace, "{case}: {pod_grace} <= {grace}");
        let strategy = &r.get("Deployment")["spec"]["strategy"];
        assert_eq!(strategy["rollingUpdate"]["maxUnavailable"], 0, "{case}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn service_monitor_needs_both_the_flag_and_the_api() {
    let values = ci("monitoring-values.yaml");
    let with_api = render(&["-f", &values, "--api-versions", MONITORING_API]);
    let monitor = with_api.get("ServiceMonitor");
    let service = with_api.get("Service");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("labels")
    {
        assert_eq!(
            &service["metadata"]["labels"][key], value,
            "the Service carries `{key}`"
        );
    }
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], "metrics");
    assert_eq!(endpoint["path"], "/metrics");
    assert!(
        service["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .any(|p| p["name"] == "metrics")
    );
    assert_eq!(
        monitor["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );

    assert!(
        render(&["-f", &values]).find("ServiceMonitor").is_none(),
        "no API, no ServiceMonitor"
    );
    assert!(
        render(&["--api-versions", MONITORING_API])
            .find("ServiceMonitor")
            .is_none(),
        "off by default"
    );
}

/// The server config the chart renders is one `tollgate serve` accepts:
/// every key a setting, every value one its parser takes (run through the
/// real binary's `--check-config`, which reads no files).
fn the_rendered_server_config_is_accepted_by_tollgate() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (case, r) in every_case() {
        let path = dir.path().join("tollgate.yaml");
        fs::write(&path, r.config_text()).expect("write the config");
        let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["serve", "--check-config", "--config"])
            .arg(&path)
            .env_remove("TOLLGATE_CONFIG")
            .output()
            .expect("run tollgate serve --check-config");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(0), "{case}: {stderr}");
        // Every key the chart set came from the file (not lost to a
        // default), except the inline caller policy, summarised apart.
        for key in r.config().as_object().expect("a mapping").keys() {
            if key == "callers" {
                assert!(stdout.contains("# callers: "), "{case}: {stdout}");
                continue;
            }
            let line = stdout
                .lines()
                .find(|l| l.starts_with(&format!("{key}: ")))
                .unwrap_or_else(|| panic!("{case}: no `{key}` in:\n{stdout}"));
            assert!(line.ends_with("# config file"), "{case}: {line}");
        }
    }
}

/// A `bundle.files` bundle carries its `.signatures.json` into the
/// ConfigMap the server reads, beside the YAML files.
#[test]
fn a_signed_configmap_bundle_carries_its_signatures() {
    if !available() {
        return;
    }
    let r = render(&[
        "--set",
        "bundle.files.bundle\\.yaml=name: b",
        "--set",
        "bundle.files.\\.signatures\\.json=signed",
        "--set",
        "bundle.verification.secretName=keys",
    ]);
    let bundle = r
        .all("ConfigMap")
        .into_iter()
        .find(|cm| cm["data"].get("bundle.yaml").is_some())
        .expect("the bundle ConfigMap");
    assert_eq!(bundle["data"][".signatures.json"], "signed\n");
    assert_eq!(
        r.config()["verification-key"],
        json!(["/etc/tollgate/secrets/bundle-verification/release.pem"])
    );
}
