//! Tracing: the subscriber, W3C `traceparent` and OTLP span export.
