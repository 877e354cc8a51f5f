# The `guanxi` server as a container image.
#
# This file cannot be built on the development machines (they have no Docker) and
# nothing depends on it: CI does not build it, no test uses it. It is here for whoever
# deploys Guanxi in a container; expect to adjust it the first time it is really built.
#
#   docker build -t guanxi .
#   docker run -p 8080:8080 -v guanxi-data:/data guanxi                  # embedded SQLite in /data
#   docker run -p 8080:8080 -e GUANXI_DATABASE_URL=postgres://... \
#       -e GUANXI_JWT_SECRET=... guanxi                                  # PostgreSQL
#   docker run -v guanxi-data:/data guanxi migrate                       # any other subcommand

# ---- build ----------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src

# Dependencies first, with stub sources for the workspace's own crates, so this layer is
# rebuilt only when a manifest or Cargo.lock changes, not on every code change.
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY vendor vendor
COPY crates/guanxi-domain/Cargo.toml crates/guanxi-domain/
COPY crates/guanxi-store/Cargo.toml crates/guanxi-store/
COPY crates/guanxi-gateway/Cargo.toml crates/guanxi-gateway/
COPY migrations/Cargo.toml migrations/
RUN for dir in crates/guanxi-domain crates/guanxi-store crates/guanxi-gateway migrations; do \
        mkdir -p "$dir/src" && touch "$dir/src/lib.rs"; \
    done \
    && echo 'fn main() {}' > crates/guanxi-gateway/src/main.rs \
    && cargo build --release --locked --no-default-features -p guanxi-gateway --bin guanxi

# Then the whole (filtered, see .dockerignore) source tree, in case code includes a file
# from outside its crate. COPY keeps the files' modification times, which can be older
# than the stub build above; touching them makes cargo rebuild the workspace crates.
COPY . .
RUN find crates migrations -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --no-default-features -p guanxi-gateway --bin guanxi \
    && cp target/release/guanxi /usr/local/bin/guanxi

# ---- run ------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 guanxi \
    && useradd --system --uid 10001 --gid guanxi --home-dir /data --shell /usr/sbin/nologin guanxi \
    && mkdir -p /data \
    && chown guanxi:guanxi /data

COPY --from=builder /usr/local/bin/guanxi /usr/local/bin/guanxi

# The embedded SQLite database (guanxi.db) and the generated JWT key (jwt.key) live in the
# data dir; on PostgreSQL, set GUANXI_DATABASE_URL and GUANXI_JWT_SECRET instead.
ENV GUANXI_DATA_DIR=/data
WORKDIR /data
VOLUME ["/data"]
USER guanxi:guanxi

EXPOSE 8080
ENTRYPOINT ["guanxi"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
