# Warden: build the binary (and the dashboard bundle) and ship it on a slim Debian.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm cmake pkg-config libopus-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin warden

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libopus0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/warden warden \
    && mkdir -p /var/lib/warden && chown warden /var/lib/warden
COPY --from=build /src/target/release/warden /usr/local/bin/warden
USER warden
WORKDIR /var/lib/warden
# SIP, HTTP API, RTP. The media plane pins io_uring buffers in locked memory: run with
# `--ulimit memlock=-1` (or at least 8 MiB per media core).
EXPOSE 5060/udp 5060/tcp 9000/tcp 10000-20000/udp
ENTRYPOINT ["warden"]
CMD ["run"]
