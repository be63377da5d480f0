//! Availability objects (PDB, HPA, spread, NetworkPolicy) and the values the
//! chart refuses, through its schema or its own checks.

use serde_json::json;

use crate::render::{ci, every_case, port_of, render, try_render};

/// By default: 2 replicas, a PodDisruptionBudget over the Deployment's pods,
/// spread over nodes and zones without blocking scheduling; no HPA, no
/// NetworkPolicy, no ServiceMonitor.
pub(crate) fn defaults_keep_two_spread_replicas_behind_a_budget() {
    let r = &every_case()[0].1;
    let deployment = r.get("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pdb = r.get("PodDisruptionBudget");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(pdb["spec"]["selector"], deployment["spec"]["selector"]);
    let spread = r.pod()["topologySpreadConstraints"]
        .as_array()
        .expect("spread");
    let keys: Vec<_> = spread.iter().map(|c| c["topologyKey"].clone()).collect();
    assert_eq!(
        keys,
        [
            json!("kubernetes.io/hostname"),
            json!("topology.kubernetes.io/zone")
        ]
    );
    for c in spread {
        assert_eq!(c["whenUnsatisfiable"], "ScheduleAnyway");
        assert_eq!(c["labelSelector"], deployment["spec"]["selector"]);
    }
    for kind in ["HorizontalPodAutoscaler", "NetworkPolicy", "ServiceMonitor"] {
        assert!(r.find(kind).is_none(), "{kind} is off by default");
    }
    let existing = render(&["-f", &ci("existing-configmap-values.yaml")]);
    let pdb = existing.get("PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert!(pdb["spec"].get("maxUnavailable").is_none());
}

/// The NetworkPolicy selects the Deployment's pods and admits the listed
/// clients to the gRPC port only, and Prometheus to the metrics port only;
/// with an HPA the Deployment leaves `replicas` to it.
pub(crate) fn network_policy_admits_clients_to_grpc_and_prometheus_to_metrics() {
    let r = render(&["-f", &ci("hpa-networkpolicy-values.yaml")]);
    let config = r.config();
    let policy = r.get("NetworkPolicy");
    let deployment = r.get("Deployment");
    assert_eq!(
        policy["spec"]["podSelector"],
        deployment["spec"]["selector"]
    );
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress"]));
    let [grpc, metrics] = policy["spec"]["ingress"]
        .as_array()
        .expect("ingress")
        .as_slice()
    else {
        panic!("two ingress rules: {policy}");
    };
    assert_eq!(
        grpc["ports"],
        json!([{"port": port_of(&config["listen"]), "protocol": "TCP"}])
    );
    assert_eq!(port_of(&config["listen"]), 8443);
    let clients = grpc["from"].as_array().expect("from");
    assert_eq!(clients.len(), 3);
    assert_eq!(
        clients[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "billing-platform"
    );
    assert_eq!(
        clients[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "billing"
    );
    assert!(
        clients[2].get("namespaceSelector").is_none(),
        "no namespace labels: this namespace only"
    );
    assert_eq!(
        metrics["ports"],
        json!([{"port": port_of(&config["admin-listen"]), "protocol": "TCP"}])
    );
    assert_eq!(
        metrics["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );

    let hpa = r.get("HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        60
    );
    assert!(
        deployment["spec"].get("replicas").is_none(),
        "the HPA owns replicas"
    );
}

/// Wrong types, unknown keys and values outside an enum fail at install,
/// naming the key.
pub(crate) fn the_schema_refuses_bad_values() {
    for (set, names) in [
        ("replicaCount=two", "/replicaCount"),
        ("server.logFormat=xml", "/server/logFormat"),
        ("server.requestTimeout=2 seconds", "/server/requestTimeout"),
        ("server.grpcPort=70000", "/server/grpcPort"),
        ("server.grpcPrt=50051", "grpcPrt"),
        ("bundle.url=ftp://bundles/b.tar.gz", "/bundle/url"),
        ("bundle.files.rules\\.json=x", "rules.json"),
        (
            "bundle.verification.keys[0]=../k.pem",
            "/bundle/verification/keys/0",
        ),
        ("decisionLog.overflow=queue", "/decisionLog/overflow"),
        ("decisionLog.sample=2", "/decisionLog/sample"),
        (
            "topologySpread.whenUnsatisfiable=Sometimes",
            "/topologySpread/whenUnsatisfiable",
        ),
        ("service.type=ExternalName", "/service/type"),
        ("replicas=3", "replicas"),
    ] {
        let err = try_render(&["--set", set]).expect_err(set);
        assert!(err.contains(names), "--set {set}: {err}");
    }
}

/// Combinations the schema cannot see are refused by the templates with a
/// message that says what to change.
pub(crate) fn inconsistent_values_are_refused() {
    for (args, says) in [
        (
            vec![
                "--set",
                "bundle.url=https://b/x.tar.gz",
                "--set",
                "bundle.existingConfigMap=x",
            ],
            "set only one of",
        ),
        (
            vec!["--set", "bundle.files.plans\\.yaml=plans: []"],
            "needs a `bundle.yaml`",
        ),
        (
            vec!["--set", "tls.enabled=true"],
            "tls.enabled needs tls.secretName",
        ),
        (vec!["--set", "tls.mtls=true"], "tls.mtls needs tls.enabled"),
        (
            vec![
                "--set-json",
                r#"callers=[{"identity":"a","rpcs":["tollgate.v1.BundleService/GetBundleStatus"]}]"#,
            ],
            "needs tls.mtls",
        ),
        (
            vec!["--set", "server.shutdownGrace=1m"],
            "must be longer than server.shutdownGrace",
        ),
        (
            vec!["--set", "networkPolicy.enabled=true"],
            "at least one networkPolicy.clients",
        ),
        (
            vec!["--set", "server.extraConfig.listen=0.0.0.0:1"],
            "`listen` is set by the chart",
        ),
        (
            vec!["--set", "bundle.verification.secretName=keys"],
            "the image's embedded demo bundle is not signed",
        ),
        (
            vec![
                "--set",
                "bundle.verification.secretName=keys",
                "--set",
                "bundle.url=https://b/x.tar.gz",
                "--set-json",
                "bundle.verification.keys=[]",
            ],
            "needs bundle.verification.keys",
        ),
    ] {
        let err = try_render(&args).expect_err(&format!("{args:?}"));
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
