# The Tollgate server image: the release binary on distroless glibc, non-root.
#   docker build -t tollgate:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 tollgate:0.1.0   # serves the embedded demo bundle
# The build step is exactly the command the README and CI use: a Rust
# toolchain and Cargo.lock are all it needs (protos compile with protox, the
# time-zone database and the demo bundle are built into the binary).

# The toolchain CI builds with; Debian 12, like the runtime image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

# glibc, CA certificates and tzdata; no shell, no package manager; UID 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/tollgate /tollgate
USER 65532:65532
# No transparent huge pages for the allocator's arena, even on hosts whose
# THP setting is `always`: 2 MiB pages around a few MB of heap more than
# doubled idle memory (BENCHMARKS.md, "Idle RSS").
ENV MIMALLOC_ALLOW_THP=0
# gRPC, then the admin port (/metrics, /healthz, /readyz).
EXPOSE 50051 9464
ENTRYPOINT ["/tollgate"]
CMD ["serve", "--listen", "0.0.0.0:50051", "--admin-listen", "0.0.0.0:9464"]
