# Build stage: compile the release binary (links libpq for PostgreSQL; SQLite is bundled).
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# .cargo/config.toml carries the flags SQLite is built with (STAT4 off).
COPY .cargo ./.cargo
COPY src ./src
COPY migrations ./migrations
COPY openapi ./openapi
RUN cargo build --release --locked

# Run stage: the binary and libpq only.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/slotwise slotwise \
    && mkdir -p /var/lib/slotwise && chown slotwise /var/lib/slotwise
COPY --from=build /src/target/release/slotwise /usr/local/bin/slotwise
USER slotwise
WORKDIR /var/lib/slotwise
ENV SLOTWISE_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["slotwise"]
CMD ["serve"]
