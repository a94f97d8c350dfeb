# instagram-gateway container image.
#
#   docker build -t ghcr.io/example/instagram-gateway:0.1.0 .
#
# Stage 1 builds with the same `cargo build --release --locked` as everywhere else; stage 2 is a
# distroless runtime holding only the binary and config/. The build stage needs no extra system
# packages: rustls uses aws-lc-rs, and aws-lc-sys builds with its `cc` builder (plain gcc, which
# the slim image ships) from pregenerated bindings, so neither cmake nor clang is needed;
# utoipa-swagger-ui uses its `vendored` feature, so build.rs downloads nothing.

# Debian 12 (bookworm) on both sides: the binary links against glibc, so the builder's glibc must
# not be newer than the runtime's (distroless cc-debian12).
FROM rust:1.95.0-slim-bookworm AS builder
WORKDIR /build

# Dependency layer: only the manifests, with stub sources, so this (slow) layer is rebuilt only
# when Cargo.toml or Cargo.lock change, not on every source edit.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources. COPY keeps the files' old modification times, which can be older than the
# stub build's outputs: touch them so cargo rebuilds the crate itself (dependencies stay cached).
COPY src ./src
COPY config ./config
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked

# glibc + libgcc, no shell, no package manager; the :nonroot tag runs as uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=builder /build/target/release/instagram-gateway /app/instagram-gateway
COPY --from=builder /build/config /app/config
# config/ is read relative to the working directory; IGW_CONFIG_DIR makes that independent of it.
# One glibc malloc arena for all threads: each actix worker would otherwise keep an arena of its
# own holding what building its route table left free (~4.7 MB each); the per-thread caches keep
# allocation uncontended (docs/operations.md, "Memory").
ENV IGW_ENV=production \
    IGW_CONFIG_DIR=/app/config \
    MALLOC_ARENA_MAX=1
EXPOSE 8080
# Numeric form of distroless's `nonroot` user, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/app/instagram-gateway"]
