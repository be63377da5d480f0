//! The Prometheus text format 0.0.4 (`text/plain; version=0.0.4`), written
//! from the Prometheus data model (`io.prometheus.client.MetricFamily`) that
//! `prometheus-client` encodes a registry into. It is what a scraper gets
//! unless it asks for OpenMetrics: no `# UNIT` or `# EOF` lines, an info
//! metric is a `_info` gauge of 1, and a counter's `# TYPE` names the
//! `_total` series itself.

use std::fmt::{self, Write as _};

use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::{
    Bucket, LabelPair, Metric, MetricFamily, MetricType,
};

/// The content type of [`write`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Appends `families` to `out` in the text format 0.0.4.
pub fn write(out: &mut String, families: &[MetricFamily]) -> fmt::Result {
    for family in families {
        let kind = match family.r#type() {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Summary => "summary",
            MetricType::Histogram | MetricType::GaugeHistogram => "histogram",
            MetricType::Untyped => "untyped",
        };
        let name = &family.name;
        writeln!(out, "# HELP {name} {}", escape_help(&family.help))?;
        writeln!(out, "# TYPE {name} {kind}")?;
        for metric in &family.metric {
            samples(out, name, metric)?;
        }
    }
    Ok(())
}

/// The samples of one metric: one line, or a histogram's or a summary's
/// several.
fn samples(out: &mut String, name: &str, m: &Metric) -> fmt::Result {
    let labels = &m.label;
    if let Some(c) = &m.counter {
        return sample(out, name, labels, None, c.value);
    }
    if let Some(g) = &m.gauge {
        return sample(out, name, labels, None, g.value);
    }
    if let Some(u) = &m.untyped {
        return sample(out, name, labels, None, u.value);
    }
    if let Some(h) = &m.histogram {
        let bucket = format!("{name}_bucket");
        let mut has_inf = false;
        for Bucket {
            upper_bound,
            cumulative_count,
            ..
        } in &h.bucket
        {
            has_inf |= upper_bound.is_infinite();
            let le = ("le", number(*upper_bound));
            sample(out, &bucket, labels, Some(le), *cumulative_count as f64)?;
        }
        // The text format requires the `+Inf` bucket; it is the count.
        if !has_inf {
            let le = ("le", "+Inf".to_owned());
            sample(out, &bucket, labels, Some(le), h.sample_count as f64)?;
        }
        sample(out, &format!("{name}_sum"), labels, None, h.sample_sum)?;
        return sample(
            out,
            &format!("{name}_count"),
            labels,
            None,
            h.sample_count as f64,
        );
    }
    if let Some(s) = &m.summary {
        for q in &s.quantile {
            let quantile = ("quantile", number(q.quantile));
            sample(out, name, labels, Some(quantile), q.value)?;
        }
        sample(out, &format!("{name}_sum"), labels, None, s.sample_sum)?;
        return sample(
            out,
            &format!("{name}_count"),
            labels,
            None,
            s.sample_count as f64,
        );
    }
    Ok(())
}

fn sample(
    out: &mut String,
    name: &str,
    labels: &[LabelPair],
    extra: Option<(&str, String)>,
    value: f64,
) -> fmt::Result {
    out.push_str(name);
    let pairs = labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .chain(extra.as_ref().map(|(k, v)| (*k, v.as_str())));
    let mut first = true;
    for (key, value) in pairs {
        out.push(if first { '{' } else { ',' });
        first = false;
        write!(out, "{key}=\"{}\"", escape_label(value))?;
    }
    if !first {
        out.push('}');
    }
    writeln!(out, " {}", number(value))
}

/// A sample value or bound as Prometheus writes it (`+Inf`, `NaN`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        v.to_string()
    }
}

/// `# HELP` text: backslash and line feed escaped.
fn escape_help(s: &str) -> String {
    s.replace('\\', r"\\").replace('\n', r"\n")
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use prometheus_client::{
        encoding::prometheus_protobuf,
        metrics::{counter::Counter, family::Family, histogram::Histogram, info::Info},
        registry::{Registry, Unit},
    };

    use super::*;

    fn text(registry: &Registry) -> String {
        let families = prometheus_protobuf::encode(registry).expect("encode");
        let mut out = String::new();
        write(&mut out, &families).expect("write");
        out
    }

    #[test]
    fn counters_info_and_histograms_as_the_text_format_spells_them() {
        let mut registry = Registry::default();
        let calls = Family::<Vec<(String, String)>, Counter>::default();
        calls
            .get_or_create(&vec![("rpc".to_owned(), "a\"b\\c\nd".to_owned())])
            .inc_by(3);
        registry.register("app_calls", "Calls, by RPC\nsecond line", calls);
        registry.register(
            "app_build",
            "The build",
            Info::new(vec![("version".to_owned(), "1.2".to_owned())]),
        );
        let latency = Histogram::new([0.5, 1.0]);
        latency.observe(0.7);
        registry.register_with_unit("app_latency", "Latency", Unit::Seconds, latency);
        assert_eq!(
            text(&registry),
            "# HELP app_calls_total Calls, by RPC\\nsecond line.\n\
             # TYPE app_calls_total counter\n\
             app_calls_total{rpc=\"a\\\"b\\\\c\\nd\"} 3\n\
             # HELP app_build_info The build.\n\
             # TYPE app_build_info gauge\n\
             app_build_info{version=\"1.2\"} 1\n\
             # HELP app_latency_seconds Latency.\n\
             # TYPE app_latency_seconds histogram\n\
             app_latency_seconds_bucket{le=\"0.5\"} 0\n\
             app_latency_seconds_bucket{le=\"1\"} 1\n\
             app_latency_seconds_bucket{le=\"+Inf\"} 1\n\
             app_latency_seconds_sum 0.7\n\
             app_latency_seconds_count 1\n"
        );
    }
}
