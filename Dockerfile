FROM rust:1.95-bookworm AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY migration/ migration/
COPY seed/ seed/
COPY src/ src/
RUN cargo build --release --locked --bin itsms

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system itsms \
    && useradd --system --gid itsms --home-dir /var/lib/itsms --shell /usr/sbin/nologin itsms \
    && install -d -o itsms -g itsms -m 0750 /var/lib/itsms
COPY --from=builder /build/target/release/itsms /usr/local/bin/itsms
USER itsms
WORKDIR /var/lib/itsms
ENV ITSMS__SERVER__HOST=0.0.0.0 \
    ITSMS__SERVER__DATA_DIR=/var/lib/itsms
EXPOSE 8080
ENTRYPOINT ["itsms"]
CMD ["serve"]
