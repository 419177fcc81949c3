# penex: multi-stage build; the runtime image holds the binary, config/ and migrations/ only,
# and runs as an unprivileged user.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY openapi ./openapi
RUN cargo build --release --locked --bin penex

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/penex --create-home penex
WORKDIR /opt/penex
COPY --from=build /src/target/release/penex /usr/local/bin/penex
COPY config ./config
COPY migrations ./migrations
USER penex
ENV PENEX_DATA_DIR=/var/lib/penex PENEX_LISTEN=0.0.0.0:8443 PENEX_LOG__FORMAT=json
EXPOSE 8443
ENTRYPOINT ["penex"]
CMD ["serve"]
