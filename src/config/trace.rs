//! The tracing flags: span export over OTLP.

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TraceArgs {
    /// Export a span per call to this OpenTelemetry collector over OTLP/gRPC
    /// (`http://otel-collector:4317`); off when absent. The exporter also
    /// reads the standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout).
    #[arg(long, value_name = "URL", value_parser = otlp_endpoint, env = "TOLLGATE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of exported spans; without it `OTEL_SERVICE_NAME`,
    /// then `tollgate`.
    #[arg(long, value_name = "NAME", env = "TOLLGATE_OTLP_SERVICE_NAME")]
    pub otlp_service_name: Option<String>,
}

/// Accepts a plaintext `http://host:port` collector address. TLS to the
/// collector is not built in (a sidecar or node-local collector is the
/// usual set-up), so `https` is refused here rather than failing at the
/// first export.
fn otlp_endpoint(s: &str) -> Result<String, String> {
    let uri: http::Uri = s
        .parse()
        .map_err(|_| format!("`{s}` is not a URL such as `http://otel-collector:4317`"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http"), Some(_)) => Ok(s.to_owned()),
        (Some("https"), _) => Err(format!(
            "`{s}`: https is not supported; use a plaintext `http://` collector address"
        )),
        _ => Err(format!(
            "`{s}` is not a URL such as `http://otel-collector:4317`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::otlp_endpoint;

    #[test]
    fn endpoints() {
        for good in ["http://otel-collector:4317", "http://127.0.0.1:4317/"] {
            assert_eq!(otlp_endpoint(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            "otel-collector:4317",
            "https://collector:4317",
            "ftp://x",
            "http://",
        ] {
            assert!(otlp_endpoint(bad).is_err(), "`{bad}`");
        }
    }
}
