//! Rendering helm/tollgate through `scripts/render_chart.py` (Helm's own Go
//! code from the PyPI package helm-python-sdk) and reading the objects.

use std::{path::Path, process::Command, sync::OnceLock};

use serde_json::Value;

/// The chart's CI values files, by file name under `helm/tollgate/ci/`.
pub const CI_FILES: [&str; 6] = [
    "configmap-bundle-values.yaml",
    "existing-configmap-values.yaml",
    "hpa-networkpolicy-values.yaml",
    "monitoring-values.yaml",
    "remote-bundle-values.yaml",
    "tls-values.yaml",
];

/// The API a ServiceMonitor needs.
pub const MONITORING_API: &str = "monitoring.coreos.com/v1";

/// Why the chart cannot be rendered here, if it cannot: python3 cannot
/// import the SDK and PyPI's YAML parser.
pub fn unavailable() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import helm_python, yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    (!ok).then_some(
        "the Helm chart tests need python3 with helm-python-sdk and PyYAML \
         (python3 -m pip install helm-python-sdk kubernetes-validate); .ci/run installs them",
    )
}

/// A CI values file's path as `render_chart.py` takes it.
pub fn ci(file: &str) -> String {
    crate_path(&format!("helm/tollgate/ci/{file}"))
}

/// A path under the crate root.
pub fn crate_path(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

/// Renders the chart with `render_chart.py` arguments (`-f FILE`,
/// `--set K=V`, `--set-json`, `--set-file`, `--api-versions`); the objects,
/// or the script's error output when the values or templates are refused.
pub fn try_render(args: &[&str]) -> Result<Vec<Value>, String> {
    let output = Command::new("python3")
        .arg(crate_path("scripts/render_chart.py"))
        .args(args)
        .output()
        .expect("run python3 scripts/render_chart.py");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    match serde_json::from_slice(&output.stdout).expect("render_chart.py prints JSON") {
        Value::Array(objects) => Ok(objects),
        other => panic!("render_chart.py printed {other}"),
    }
}

/// Renders the chart and fails the test when it is refused.
pub fn render(args: &[&str]) -> Rendered {
    Rendered(try_render(args).unwrap_or_else(|e| panic!("render {args:?}: {e}")))
}

/// The default values and every CI values file (the ServiceMonitor API
/// present, as check-chart.py renders them), rendered once per test binary.
pub fn every_case() -> &'static [(String, Rendered)] {
    static CASES: OnceLock<Vec<(String, Rendered)>> = OnceLock::new();
    CASES.get_or_init(|| {
        let mut cases = vec![("default values".to_owned(), render(&[]))];
        for file in CI_FILES {
            let path = ci(file);
            let rendered = render(&["-f", &path, "--api-versions", MONITORING_API]);
            cases.push((file.to_owned(), rendered));
        }
        cases
    })
}

/// The objects of one render.
#[derive(Debug)]
pub struct Rendered(pub Vec<Value>);

impl Rendered {
    /// Every object of a kind.
    pub fn all(&self, kind: &str) -> Vec<&Value> {
        self.0.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The one object of a kind, if rendered.
    pub fn find(&self, kind: &str) -> Option<&Value> {
        let mut found = self.all(kind).into_iter();
        let first = found.next();
        assert!(found.next().is_none(), "more than one {kind}");
        first
    }

    /// The one object of a kind.
    pub fn get(&self, kind: &str) -> &Value {
        self.find(kind)
            .unwrap_or_else(|| panic!("no {kind} rendered"))
    }

    /// The object of a kind with a name.
    pub fn named(&self, kind: &str, name: &str) -> Option<&Value> {
        self.all(kind)
            .into_iter()
            .find(|o| o["metadata"]["name"] == name)
    }

    /// The pod spec of the Deployment.
    pub fn pod(&self) -> &Value {
        &self.get("Deployment")["spec"]["template"]["spec"]
    }

    /// The tollgate container.
    pub fn container(&self) -> &Value {
        &self.pod()["containers"][0]
    }

    /// The checksum/config annotation of the pod template.
    pub fn checksum(&self) -> &str {
        self.get("Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .as_str()
            .expect("a checksum/config annotation")
    }

    /// The server config file's text, from the ConfigMap the container's
    /// `--config` path is mounted from.
    pub fn config_text(&self) -> &str {
        let args = self.container()["args"].as_array().expect("args");
        assert_eq!(
            args[..3],
            ["serve", "--config", "/etc/tollgate/config/tollgate.yaml"]
        );
        let (_, volume) = self
            .mount_for("/etc/tollgate/config/tollgate.yaml")
            .expect("the config file is mounted");
        let name = volume["configMap"]["name"].as_str().expect("a ConfigMap");
        self.named("ConfigMap", name).expect("the config ConfigMap")["data"]["tollgate.yaml"]
            .as_str()
            .expect("tollgate.yaml in the ConfigMap")
    }

    /// The server config, parsed.
    pub fn config(&self) -> Value {
        serde_saphyr::from_str(self.config_text()).expect("the server config is YAML")
    }

    /// The volume mount whose directory holds `path`, and its volume.
    pub fn mount_for(&self, path: &str) -> Option<(&Value, &Value)> {
        let mounts = self.container()["volumeMounts"].as_array()?;
        let mount = mounts.iter().find(|m| {
            let dir = m["mountPath"].as_str().unwrap_or_default();
            path == dir || path.starts_with(&format!("{dir}/"))
        })?;
        let volumes = self.pod()["volumes"].as_array()?;
        let volume = volumes.iter().find(|v| v["name"] == mount["name"])?;
        Some((mount, volume))
    }
}

/// The port of a `HOST:PORT` listen address.
pub fn port_of(address: &Value) -> u64 {
    let address = address.as_str().expect("an address");
    let (_, port) = address.rsplit_once(':').expect("HOST:PORT");
    port.parse().expect("a port number")
}

/// A server duration (`500ms`, `10s`, `1m`) in whole seconds, rounded up.
pub fn seconds(duration: &Value) -> u64 {
    let text = duration.as_str().expect("a duration");
    let split = text.find(|c: char| !c.is_ascii_digit()).expect("a unit");
    let n: u64 = text[..split].parse().expect("a number");
    match &text[split..] {
        "ms" => n.div_ceil(1000),
        "s" => n,
        "m" => n * 60,
        unit => panic!("unit `{unit}`"),
    }
}
